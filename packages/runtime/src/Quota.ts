/**
 * `Quota`: per-tenant byte accounting with a limit.
 *
 * Invariants (property-tested): for every tenant `0 <= used <= limit` at all times, whatever the interleaving of
 * concurrent `take`s and `release`s (given an `initialUsage` within the limits). `take` is atomic: the check and the update happen in one synchronous step, so
 * 100 fibers racing for the last bytes never overshoot.
 *
 * Byte counts must be non-negative finite numbers; anything else is a defect (a bug in the caller), not a typed
 * failure. A limit of `Infinity` means unlimited.
 *
 * The memory implementation keeps usage in process memory: it starts from `initialUsage` (e.g. computed from the
 * manifests at start-up) and is lost on restart. A persistent quota implements the same interface.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConstraintViolation from "./ConstraintViolation.ts"

/** Limits of the memory quota: a default, per-tenant overrides, and usage to start from. */
export interface QuotaConfig {
  /** Limit for tenants without an override, in bytes (`Infinity` for none). */
  readonly defaultLimit: number
  /** Per-tenant limits, in bytes. */
  readonly overrides?: Readonly<Record<string, number>> | undefined
  /**
   * Usage already accounted when the quota is created (e.g. summed from stored manifests). It is taken as given,
   * even above a limit — then every `take` fails until releases bring the tenant back under its limit.
   */
  readonly initialUsage?: Readonly<Record<string, number>> | undefined
}

/** Per-tenant byte accounting; see the module doc for the invariants. */
export interface Quota {
  /**
   * Adds `bytes` to the tenant's usage, or fails `ConstraintViolation` (`QuotaExceeded`, with limit, current use and
   * the request) when that would exceed its limit — atomically, leaving usage unchanged on failure.
   */
  readonly take: (tenant: string, bytes: number) => Effect.Effect<void, ConstraintViolation.ConstraintViolation>
  /** Subtracts `bytes` from the tenant's usage; usage never goes below zero (over-release is clamped). */
  readonly release: (tenant: string, bytes: number) => Effect.Effect<void>
  /** Bytes currently accounted to the tenant. */
  readonly used: (tenant: string) => Effect.Effect<number>
  /** `max(0, limit - used)`. */
  readonly remaining: (tenant: string) => Effect.Effect<number>
  /** The tenant's limit in bytes. */
  readonly limit: (tenant: string) => Effect.Effect<number>
}

/** The `Quota` service tag. */
export const Quota: Context.Service<Quota, Quota> = Context.Service("@graviton/runtime/Quota")

const checkBytes = (operation: string, bytes: number): Effect.Effect<void> =>
  Number.isFinite(bytes) && bytes >= 0
    ? Effect.void
    : Effect.die(new RangeError(`${operation}: byte count must be a non-negative finite number, got ${bytes}`))

/** An in-memory quota, safe under concurrency. */
export const makeMemory = (config: QuotaConfig): Quota => {
  const usage = new Map<string, number>(Object.entries(config.initialUsage ?? {}))
  const limitOf = (tenant: string): number => config.overrides?.[tenant] ?? config.defaultLimit
  const usedOf = (tenant: string): number => usage.get(tenant) ?? 0
  return Quota.of({
    take: (tenant, bytes) =>
      Effect.flatMap(checkBytes("Quota.take", bytes), () =>
        Effect.suspend(() => {
          const used = usedOf(tenant)
          const limit = limitOf(tenant)
          if (used + bytes > limit) return Effect.fail(ConstraintViolation.quotaExceeded(tenant, limit, used, bytes))
          usage.set(tenant, used + bytes)
          return Effect.void
        })
      ),
    release: (tenant, bytes) =>
      Effect.flatMap(checkBytes("Quota.release", bytes), () =>
        Effect.sync(() => {
          const next = usedOf(tenant) - bytes
          if (next > 0) usage.set(tenant, next)
          else usage.delete(tenant)
        })
      ),
    used: (tenant) => Effect.sync(() => usedOf(tenant)),
    remaining: (tenant) => Effect.sync(() => Math.max(0, limitOf(tenant) - usedOf(tenant))),
    limit: (tenant) => Effect.sync(() => limitOf(tenant))
  })
}

/** A fresh in-memory quota per layer build. */
export const layerMemory = (config: QuotaConfig): Layer.Layer<Quota> => Layer.sync(Quota, () => makeMemory(config))

/** A quota that never refuses (limit `Infinity`), still counting usage. */
export const unlimited: Layer.Layer<Quota> = layerMemory({ defaultLimit: Number.POSITIVE_INFINITY })
