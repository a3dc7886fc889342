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
