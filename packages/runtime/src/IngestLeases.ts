/**
 * `IngestLeases`: how ingests and garbage collection stay out of each other's way.
 *
 * Every ingest holds a lease (its start time) from before it touches its first block until after its commit. A GC
 * sweep computes its cutoff as `min(now - minAge, oldest lease start - skew)` **before** its mark phase, and deletes
 * only blocks untouched since the cutoff (atomically, `BlockStore.delete(…, { ifUntouchedSince })`). So for any
 * ingest either its manifest is committed before the mark phase (its blocks are marked), or it held a lease when the
 * cutoff was taken (every block it touched is at or after the cutoff), or it started after the cutoff was taken (the
 * same) — a sweep never deletes a block an in-flight ingest relies on, whatever the timing.
 *
 * `layerMemory` serves one process; `layerKeyValue` keeps leases in a {@link KeyValueStore} so ingests and sweeps in
 * different processes coordinate (leases carry an expiry, refreshed by a heartbeat, so a crashed process cannot
 * hold back GC forever).
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as KeyValueStore from "./KeyValueStore.ts"
import type * as StorageError from "./StorageError.ts"

export interface IngestLeases {
  /** Holds a lease stamped with the current time for the life of the scope. */
  readonly acquire: Effect.Effect<void, StorageError.StorageError, Scope.Scope>
  /** Start time (epoch ms) of the oldest live lease, or `undefined` when none is held. */
  readonly oldest: Effect.Effect<number | undefined, StorageError.StorageError>
}

export const IngestLeases: Context.Service<IngestLeases, IngestLeases> = Context.Service(
  "@graviton/runtime/IngestLeases"
)

/** Process-local leases. */
export const makeMemory = (): IngestLeases => {
  const live = new Map<string, number>()
  return IngestLeases.of({
    acquire: Effect.acquireRelease(
      Effect.map(Clock.currentTimeMillis, (now) => {
        const id = randomUUID()
        live.set(id, now)
        return id
      }),
      (id) =>
        Effect.sync(() => {
          live.delete(id)
        })
    ).pipe(Effect.asVoid),
    oldest: Effect.sync(() => {
      let min: number | undefined
      for (const t of live.values()) if (min === undefined || t < min) min = t
      return min
    })
  })
}

export const layerMemory: Layer.Layer<IngestLeases> = Layer.sync(IngestLeases, makeMemory)

/** Default lease lifetime without a heartbeat. */
export const defaultTtl: Duration.Duration = Duration.minutes(10)

const LEASE_PREFIX = "graviton/leases/"

/**
 * Leases in a {@link KeyValueStore.KeyValueStore}, shared by every process using the same backend. A lease records
 * its start and an expiry that a heartbeat pushes forward every `ttl / 3` while the scope is open; expired leases
 * (their process died) are ignored by `oldest`, and deleted by it.
 */
export const makeKeyValue = (
  kv: KeyValueStore.KeyValueStore,
  options: { readonly ttl?: Duration.Input } = {}
): IngestLeases => {
  const ttl = Duration.toMillis(Duration.fromInputUnsafe(options.ttl ?? defaultTtl))
  const encode = (startedAt: number, expiresAt: number) =>
    new TextEncoder().encode(JSON.stringify({ startedAt, expiresAt }))
  const decode = (bytes: Uint8Array): { startedAt: number; expiresAt: number } | undefined => {
    try {
      const v = JSON.parse(new TextDecoder().decode(bytes)) as { startedAt?: unknown; expiresAt?: unknown }
      return typeof v.startedAt === "number" && typeof v.expiresAt === "number"
        ? { startedAt: v.startedAt, expiresAt: v.expiresAt }
        : undefined
    } catch {
      return undefined
    }
  }
  return IngestLeases.of({
    acquire: Effect.gen(function* () {
      const key = LEASE_PREFIX + randomUUID()
      const startedAt = yield* Clock.currentTimeMillis
      yield* Effect.acquireRelease(kv.put(key, encode(startedAt, startedAt + ttl)), () =>
        kv.delete(key).pipe(Effect.ignore)
      )
      yield* Effect.forkScoped(
        Effect.sleep(Duration.millis(Math.max(1, Math.floor(ttl / 3)))).pipe(
          Effect.andThen(Clock.currentTimeMillis),
          Effect.flatMap((now) => kv.put(key, encode(startedAt, now + ttl))),
          Effect.ignore,
          Effect.forever
        )
      )
    }),
    oldest: Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      let min: number | undefined
      for (const e of yield* KeyValueStore.listAll(kv, LEASE_PREFIX)) {
        const lease = decode(e.value)
        if (lease === undefined || lease.expiresAt < now) {
          yield* kv.compareAndSet(e.key, e.value, undefined)
          continue
        }
        if (min === undefined || lease.startedAt < min) min = lease.startedAt
      }
      return min
    })
  })
}

/** {@link makeKeyValue} over the KeyValueStore in context. */
export const layerKeyValue = (options?: {
  readonly ttl?: Duration.Input
}): Layer.Layer<IngestLeases, never, KeyValueStore.KeyValueStore> =>
  Layer.effect(
    IngestLeases,
    Effect.map(KeyValueStore.KeyValueStore, (kv: KeyValueStore.KeyValueStore) => makeKeyValue(kv, options))
  )
