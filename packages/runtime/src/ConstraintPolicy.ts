/**
 * `ConstraintPolicy`: the limits an upload must satisfy, checked **before** any byte is pulled and enforced while
 * bytes flow. Built on {@link Quota} (bytes per tenant), {@link SemaphoreLimit} (concurrent uploads per tenant) and
 * {@link Throttle} (bytes per second per tenant). Every rejection is a `ConstraintViolation`.
 *
 * **Quota accounting — failed uploads never consume quota.** Quota is charged in *logical* bytes (the blob size),
 * once per successful put. The intended flow, which {@link ConstraintPolicy.admit} packages in one call:
 *
 * 1. `checkUpload(tenant, declaredSize, attributes)` — fail fast: `TooLarge` when the declared size is over
 *    `maxBlobSize`, `QuotaExceeded` when it would not fit in the remaining quota.
 * 2. `acquirePermit(tenant)` (scoped) — `ConcurrencyExceeded` when `maxConcurrentUploads` are already running;
 *    released when the scope closes, including on interruption.
 * 3. With a declared size, `reserve(tenant, size)` (scoped) holds those bytes so concurrent uploads cannot
 *    overbook the quota. The body is piped through `limitStream` (cut off as soon as more bytes flow than allowed —
 *    essential for undeclared sizes) and `rateLimit`.
 * 4. Before the engine's final commit, `reservation.commit(actualBytes)` charges the actual size (taking more
 *    quota if needed, which may fail `QuotaExceeded`, or returning the surplus).
 * 5. When the scope closes: on **success** the committed charge stays; on failure or interruption — including a
 *    failure of the manifest commit after step 4 — everything reserved or committed is returned.
 *
 * `commitUsage` / `releaseUsage` adjust usage directly (e.g. `releaseUsage` when a blob is deleted).
 *
 * Rate limits apply per tenant: all of a tenant's concurrent uploads share one token bucket.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as ConstraintViolation from "./ConstraintViolation.ts"
import * as Bytes from "./internal/policyBytes.ts"
import * as Quota from "./Quota.ts"
import * as SemaphoreLimit from "./SemaphoreLimit.ts"
import * as Throttle from "./Throttle.ts"

/**
 * The limits. Decoding fills in defaults for missing keys: `maxBlobSize` 100 GiB, `maxConcurrentUploads` 10,
 * `quotaPerTenant` 1 TiB, no rate limit.
 */
export const ConstraintConfig = Schema.Struct({
  /** Largest blob accepted, in bytes. */
  maxBlobSize: Bytes.ByteCount.pipe(Schema.withDecodingDefaultKey(Effect.succeed(100 * Bytes.GiB))),
  /** Uploads one tenant may run at the same time (>= 1). */
  maxConcurrentUploads: Schema.Int.check(
    Schema.isGreaterThanOrEqualTo(1, { message: "maxConcurrentUploads must be at least 1" })
  ).pipe(Schema.withDecodingDefaultKey(Effect.succeed(10))),
  /** Logical bytes each tenant may store. */
  quotaPerTenant: Bytes.ByteCount.pipe(Schema.withDecodingDefaultKey(Effect.succeed(Bytes.TiB))),
  /** Upload bandwidth per tenant; absent means unthrottled. */
  rateLimit: Schema.optionalKey(Throttle.ThrottleConfig)
})
/** Decoded {@link ConstraintConfig}. */
export type ConstraintConfig = typeof ConstraintConfig.Type

/** The default limits (100 GiB blobs, 10 concurrent uploads, 1 TiB per tenant, no rate limit). */
export const defaults: ConstraintConfig = {
  maxBlobSize: 100 * Bytes.GiB,
  maxConcurrentUploads: 10,
  quotaPerTenant: Bytes.TiB
}

/** No limits at all (the `unlimited` layer). */
export const unlimitedConfig: ConstraintConfig = {
  maxBlobSize: Number.POSITIVE_INFINITY,
  maxConcurrentUploads: Number.POSITIVE_INFINITY,
  quotaPerTenant: Number.POSITIVE_INFINITY
}

/**
 * Reads {@link ConstraintConfig} from the environment: `MAX_BLOB_SIZE`, `MAX_CONCURRENT_UPLOADS`,
 * `QUOTA_PER_TENANT`, `RATE_LIMIT_BYTES_PER_SECOND`, `RATE_LIMIT_BURST_SIZE`. Byte values accept a plain integer or
 * a size with a unit (`64 MiB`, `1 TiB`). A missing value takes its default; the burst size defaults to one second
 * of the rate, and is ignored without a rate. Nest it under the caller's prefix, e.g.
 * `config.pipe(Config.nested("CONSTRAINTS"))` reads `CONSTRAINTS_MAX_BLOB_SIZE`.
 */
export const config: Config.Config<ConstraintConfig> = Config.all({
  maxBlobSize: Bytes.config("MAX_BLOB_SIZE").pipe(Config.withDefault(defaults.maxBlobSize)),
  maxConcurrentUploads: Config.schema(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "must be at least 1" })),
    "MAX_CONCURRENT_UPLOADS"
  ).pipe(Config.withDefault(defaults.maxConcurrentUploads)),
  quotaPerTenant: Bytes.config("QUOTA_PER_TENANT").pipe(Config.withDefault(defaults.quotaPerTenant)),
  bytesPerSecond: Config.option(Bytes.configPositive("RATE_LIMIT_BYTES_PER_SECOND")),
  burstSize: Config.option(Bytes.configPositive("RATE_LIMIT_BURST_SIZE"))
}).pipe(
  Config.map(({ bytesPerSecond, burstSize, ...rest }): ConstraintConfig => {
    if (Option.isNone(bytesPerSecond)) return rest
    return {
      ...rest,
      rateLimit: {
        bytesPerSecond: bytesPerSecond.value,
        burstSize: Option.getOrElse(burstSize, () => bytesPerSecond.value)
      }
    }
  })
)

/** What the caller knows about an upload before reading it. */
export interface UploadRequest {
  /** Size announced by the client (e.g. `Content-Length`); absent for streamed uploads of unknown length. */
  readonly declaredSize?: number | undefined
  /** The blob's attributes (reserved for attribute-dependent limits; not used by the built-in rules). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
}

/** Quota held by an in-flight upload; see the module doc for its lifecycle. */
export interface Reservation {
  /** Bytes currently held (reserved or committed). */
  readonly held: Effect.Effect<number>
  /**
   * Charges exactly `bytes` for this upload: takes more quota when `bytes` exceeds what is held (failing
   * `QuotaExceeded` and leaving the charge unchanged when it does not fit) or returns the surplus. May be called
   * again to correct the amount (calls are serialized). The charge survives only if the reservation's scope closes
   * successfully.
   */
  readonly commit: (bytes: number) => Effect.Effect<void, ConstraintViolation.ConstraintViolation>
}

/** Everything an ingest needs from the policy, from {@link ConstraintPolicy.admit}. */
export interface Admission extends Reservation {
  readonly tenant: string
  /** The most bytes this upload may carry: the declared size, or the smaller of `maxBlobSize` and remaining quota. */
  readonly maxBytes: number
  /**
   * Wraps the upload body: fails `TooLarge` (or `QuotaExceeded`, when the remaining quota was the tighter bound) as
   * soon as more than `maxBytes` flow — the offending chunk is not emitted — then applies the tenant's rate limit.
   */
  readonly limit: <E, R>(
    body: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | ConstraintViolation.ConstraintViolation, R>
}

/** Upload limits per tenant; see the module doc for the accounting flow. */
export interface ConstraintPolicy {
  /** The limits in force. */
  readonly config: ConstraintConfig
  /**
   * Fails `TooLarge` when `declaredSize` is over `maxBlobSize`, `QuotaExceeded` when it would not fit in the
   * tenant's remaining quota; succeeds otherwise (and always, on size grounds, when the size is unknown). Changes
   * nothing. A negative or non-finite size is a defect.
   */
  readonly checkUpload: (
    tenant: string,
    declaredSize: number | undefined,
    attributes?: Readonly<Record<string, string>>
  ) => Effect.Effect<void, ConstraintViolation.ConstraintViolation>
  /** Bytes the tenant may still store. */
  readonly remainingQuota: (tenant: string) => Effect.Effect<number>
  /** Bytes accounted to the tenant. */
  readonly usedQuota: (tenant: string) => Effect.Effect<number>
  /**
   * One upload slot for the tenant, held until the scope closes (also on interruption); fails
   * `ConcurrencyExceeded` at once when `maxConcurrentUploads` are in use.
   */
  readonly acquirePermit: (tenant: string) => Effect.Effect<void, ConstraintViolation.ConstraintViolation, Scope.Scope>
  /** Paces a byte stream to the tenant's `rateLimit` (shared by all its streams); identity when none is set. */
  readonly rateLimit: (
    tenant: string
  ) => <E, R>(body: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E, R>
  /**
   * Fails `TooLarge { limit: maxBytes, actual }` as soon as more than `maxBytes` bytes have flowed (the chunk that
   * crosses the limit is not emitted; `actual` counts the bytes seen including it). Counting restarts per run.
   */
  readonly limitStream: (
    tenant: string,
    maxBytes: number
  ) => <E, R>(
    body: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Uint8Array, E | ConstraintViolation.ConstraintViolation, R>
  /** Holds `bytes` of quota until the scope closes (kept only if committed and the scope succeeds). */
  readonly reserve: (
    tenant: string,
    bytes: number
  ) => Effect.Effect<Reservation, ConstraintViolation.ConstraintViolation, Scope.Scope>
  /** Charges `bytes` permanently (fails `QuotaExceeded` and charges nothing when they do not fit). */
  readonly commitUsage: (tenant: string, bytes: number) => Effect.Effect<void, ConstraintViolation.ConstraintViolation>
  /** Returns `bytes` of usage (e.g. after a delete); usage never goes below zero. */
  readonly releaseUsage: (tenant: string, bytes: number) => Effect.Effect<void>
  /**
   * Steps 1–3 of the module doc in one scoped call: check, take a permit, reserve the declared size, and return the
   * body limiter and `commit`. Everything is released when the scope closes, except a committed charge on success.
   */
  readonly admit: (
    tenant: string,
    request?: UploadRequest
  ) => Effect.Effect<Admission, ConstraintViolation.ConstraintViolation, Scope.Scope>
}

/** The `ConstraintPolicy` service tag. */
export const ConstraintPolicy: Context.Service<ConstraintPolicy, ConstraintPolicy> = Context.Service(
  "@graviton/runtime/ConstraintPolicy"
)

/** Overrides of the primitives a policy is built on (e.g. a persistent {@link Quota.Quota}). */
export interface Parts {
  /** Defaults to an in-memory quota of `quotaPerTenant` per tenant. */
  readonly quota?: Quota.Quota | undefined
  /** Defaults to `maxConcurrentUploads` permits per tenant. */
  readonly limiter?: SemaphoreLimit.SemaphoreLimit | undefined
}

const checkSize = (operation: string, bytes: number): Effect.Effect<void> =>
  Number.isFinite(bytes) && bytes >= 0
    ? Effect.void
    : Effect.die(new RangeError(`${operation}: size must be a non-negative finite number, got ${bytes}`))

const limitWith =
  (maxBytes: number, onExceed: (seen: number) => ConstraintViolation.ConstraintViolation) =>
  <E, R>(
    body: Stream.Stream<Uint8Array, E, R>
  ): Stream.Stream<Uint8Array, E | ConstraintViolation.ConstraintViolation, R> =>
    Stream.suspend(() => {
      let seen = 0
      return Stream.mapEffect(body, (chunk) => {
        seen += chunk.byteLength
        return seen > maxBytes ? Effect.fail(onExceed(seen)) : Effect.succeed(chunk)
      })
    })

/** Builds a policy from limits, on an in-memory quota and limiter unless `parts` supplies them. */
export const make = (config: ConstraintConfig, parts: Parts = {}): ConstraintPolicy => {
  const quota = parts.quota ?? Quota.makeMemory({ defaultLimit: config.quotaPerTenant })
  const limiter = parts.limiter ?? SemaphoreLimit.make({ defaultLimit: config.maxConcurrentUploads })
  const throttles = new Map<string, Throttle.Throttle>()
  const rateLimitConfig = config.rateLimit

  const checkUpload = (
    tenant: string,
    declaredSize: number | undefined
  ): Effect.Effect<void, ConstraintViolation.ConstraintViolation> => {
    if (declaredSize === undefined) return Effect.void
    return Effect.andThen(checkSize("ConstraintPolicy.checkUpload", declaredSize), () => {
      if (declaredSize > config.maxBlobSize) {
        return Effect.fail(ConstraintViolation.tooLarge(tenant, config.maxBlobSize, declaredSize))
      }
      return Effect.flatMap(Effect.all([quota.used(tenant), quota.limit(tenant)]), ([used, limit]) =>
        used + declaredSize > limit
          ? Effect.fail(ConstraintViolation.quotaExceeded(tenant, limit, used, declaredSize))
          : Effect.void
      )
    })
  }

  const rateLimit =
    (tenant: string) =>
    <E, R>(body: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> => {
      if (rateLimitConfig === undefined) return body
      let throttle = throttles.get(tenant)
      if (throttle === undefined) {
        throttle = Throttle.make(rateLimitConfig)
        throttles.set(tenant, throttle)
      }
      return Throttle.throttleBytes(throttle)(body)
    }

  const reserve = (
    tenant: string,
    bytes: number
  ): Effect.Effect<Reservation, ConstraintViolation.ConstraintViolation, Scope.Scope> =>
    Effect.andThen(checkSize("ConstraintPolicy.reserve", bytes), () =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          yield* quota.take(tenant, bytes)
          let held = bytes
          let committed = false
          const lock = Semaphore.makeUnsafe(1)
          yield* Effect.addFinalizer((exit) =>
            Exit.isSuccess(exit) && committed ? Effect.void : quota.release(tenant, held)
          )
          const reservation: Reservation = {
            held: Effect.sync(() => held),
            commit: (actual) =>
              Effect.andThen(checkSize("Reservation.commit", actual), () =>
                lock.withPermit(
                  Effect.uninterruptible(
                    Effect.suspend(() => {
                      const delta = actual - held
                      const adjust = delta > 0 ? quota.take(tenant, delta) : quota.release(tenant, -delta)
                      return Effect.tap(adjust, () =>
                        Effect.sync(() => {
                          held = actual
                          committed = true
                        })
                      )
                    })
                  )
                )
              )
          }
          return reservation
        })
      )
    )

  return ConstraintPolicy.of({
    config,
    checkUpload: (tenant, declaredSize) => checkUpload(tenant, declaredSize),
    remainingQuota: (tenant) => quota.remaining(tenant),
    usedQuota: (tenant) => quota.used(tenant),
    acquirePermit: (tenant) => limiter.tryAcquire(tenant),
    rateLimit,
    limitStream: (tenant, maxBytes) =>
      limitWith(maxBytes, (seen) => ConstraintViolation.tooLarge(tenant, maxBytes, seen)),
    reserve,
    commitUsage: (tenant, bytes) =>
      Effect.andThen(checkSize("ConstraintPolicy.commitUsage", bytes), quota.take(tenant, bytes)),
    releaseUsage: (tenant, bytes) => quota.release(tenant, bytes),
    admit: (tenant, request = {}) =>
      Effect.gen(function* () {
        const declared = request.declaredSize
        yield* checkUpload(tenant, declared)
        yield* limiter.tryAcquire(tenant)
        const reservation = yield* reserve(tenant, declared ?? 0)
        const [used, limit] = yield* Effect.all([quota.used(tenant), quota.limit(tenant)])
        const remaining = Math.max(0, limit - used)
        const quotaBound = declared === undefined && remaining < config.maxBlobSize
        const maxBytes = declared ?? Math.min(config.maxBlobSize, remaining)
        const onExceed = (seen: number) =>
          quotaBound
            ? ConstraintViolation.quotaExceeded(tenant, limit, used, seen)
            : ConstraintViolation.tooLarge(tenant, maxBytes, seen)
        const limiterFn = limitWith(maxBytes, onExceed)
        const admission: Admission = {
          ...reservation,
          tenant,
          maxBytes,
          limit: (body) => rateLimit(tenant)(limiterFn(body))
        }
        return admission
      })
  })
}

/** A policy with the given limits on in-memory primitives. */
export const layer = (config: ConstraintConfig = defaults): Layer.Layer<ConstraintPolicy> =>
  Layer.sync(ConstraintPolicy, () => make(config))

/** A policy with the given limits accounting usage in the {@link Quota.Quota} service (e.g. a persistent one). */
export const layerWithQuota = (
  config: ConstraintConfig = defaults
): Layer.Layer<ConstraintPolicy, never, Quota.Quota> =>
  Layer.effect(
    ConstraintPolicy,
    Effect.map(Quota.Quota, (quota) => make(config, { quota }))
  )

/** A policy whose limits are read with {@link config} (or the given config, e.g. a nested one). */
export const layerConfig = (
  source: Config.Config<ConstraintConfig> = config
): Layer.Layer<ConstraintPolicy, Config.ConfigError> =>
  Layer.effect(
    ConstraintPolicy,
    Effect.map(source, (c) => make(c))
  )

/** A policy that accepts everything (still counting usage). */
export const unlimited: Layer.Layer<ConstraintPolicy> = layer(unlimitedConfig)
