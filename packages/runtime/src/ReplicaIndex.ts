/**
 * `ReplicaIndex`: where the replicas of each key live. A replicated `BlockStore` records every copy it writes to a
 * named **sector** (one `BlockStore` of the replication group), the byte ranges that copy holds, and whether it is
 * healthy; reads consult it to pick a replica, the scrub job to find under-replicated keys and what to repair.
 *
 * One replica record exists per (key, sector). Keys are core {@link BinaryKey.BinaryKey}s; the ranges of a record
 * are a {@link RangeSet.RangeSet} within `[0, key.size)` (a whole-block copy is `[0, size)`). Sector names are 1..128
 * characters `[A-Za-z0-9._:-]` starting with a letter or digit. Absence is not an error: an unknown key has no
 * replicas, an unknown sector no keys, and `markUnhealthy` / `removeReplica` of a missing replica return `false`.
 *
 * @since 0.1.0
 */
import { BinaryKey, RangeSet, type Span } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { compare, SortedKeys } from "./internal/sortedKeys.ts"
import * as StorageError from "./StorageError.ts"

/** Longest sector name. */
export const maxSectorLength = 128

/** Longest `markUnhealthy` reason, in characters. */
export const maxReasonLength = 1024

/** Largest replication target accepted by `status`. */
export const maxTarget = 1024

/** Schema of one replica record. The JSON form has `ranges` as `[{ start, end }, …]`. */
export const Replica = Schema.Struct({
  /** The sector holding this copy. */
  sector: Schema.String,
  /** The byte ranges of the key this copy holds. */
  ranges: RangeSet.RangeSet,
  /** False after `markUnhealthy`, true again after the next `addReplica`. */
  healthy: Schema.Boolean,
  /** Why the replica was marked unhealthy (absent while healthy). */
  reason: Schema.optional(Schema.String),
  /** Epoch milliseconds of the last `addReplica` or `markUnhealthy`. */
  updatedAt: Schema.Number
}).annotate({ identifier: "Replica" })

/** One replica of a key in one sector. */
export interface Replica extends Schema.Schema.Type<typeof Replica> {}

/** Schema of {@link ReplicationStatus}. */
export const ReplicationStatus = Schema.Struct({
  /** Replicas wanted. */
  target: Schema.Int,
  /** Replica records, healthy or not. */
  actual: Schema.Int,
  /** Healthy replicas. */
  healthy: Schema.Int,
  /** Parts of `[0, key.size)` that no healthy replica holds (empty when fully covered). */
  missingRanges: RangeSet.RangeSet
}).annotate({ identifier: "ReplicationStatus" })

/** How well a key is replicated against a target. */
export interface ReplicationStatus extends Schema.Schema.Type<typeof ReplicationStatus> {}

/** Whether a status meets its target: enough healthy replicas and no missing range. */
export const isSatisfied = (status: ReplicationStatus): boolean =>
  status.healthy >= status.target && RangeSet.isEmpty(status.missingRanges)

export interface ReplicaIndex {
  /**
   * Records that `sector` holds `ranges` of `key`: creates the replica, or merges `ranges` into the existing one
   * (ranges only grow). Either way the replica is marked healthy (its unhealthy reason cleared) and `updatedAt` is
   * set; returns the resulting record. Idempotent. Concurrent adds to one replica all land (the result is the union).
   * Fails `InvalidArgument` on a malformed key or sector, or ranges that are not a normalized set within
   * `[0, key.size)`.
   */
  readonly addReplica: (
    key: BinaryKey.BinaryKey,
    sector: string,
    ranges: RangeSet.RangeSet
  ) => Effect.Effect<Replica, StorageError.StorageError>
  /** Every replica of `key`, ordered by sector name; empty when none. */
  readonly findReplicas: (key: BinaryKey.BinaryKey) => Effect.Effect<ReadonlyArray<Replica>, StorageError.StorageError>
  /**
   * Every key with a replica (healthy or not) in `sector`, ordered by key text, read page by page. Each key present
   * throughout the stream is emitted exactly once; keys added or removed meanwhile may or may not appear, never
   * twice. Empty for an unknown sector; fails `InvalidArgument` on a malformed sector name.
   */
  readonly keysInSector: (sector: string) => Stream.Stream<BinaryKey.BinaryKey, StorageError.StorageError>
  /**
   * Marks the replica of `key` in `sector` unhealthy with `reason` (1..{@link maxReasonLength} characters), keeping
   * its ranges, and returns `true`; returns `false` — and records nothing — when there is no such replica. Marking an
   * unhealthy replica again replaces the reason.
   */
  readonly markUnhealthy: (
    key: BinaryKey.BinaryKey,
    sector: string,
    reason: string
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /** Removes the replica of `key` in `sector`; `true` when it existed. */
  readonly removeReplica: (
    key: BinaryKey.BinaryKey,
    sector: string
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * The replication status of `key` against `target` replicas (an integer 1..{@link maxTarget}): counts of replica
   * records and healthy ones, and the parts of `[0, key.size)` no healthy replica holds. A key without replicas has
   * `actual` 0 and, unless empty, all of `[0, size)` missing.
   */
  readonly status: (
    key: BinaryKey.BinaryKey,
    target: number
  ) => Effect.Effect<ReplicationStatus, StorageError.StorageError>
}

export const ReplicaIndex: Context.Service<ReplicaIndex, ReplicaIndex> = Context.Service(
  "@graviton/runtime/ReplicaIndex"
)

// ---------------------------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------------------------

const isKey = Schema.is(BinaryKey.BinaryKey)
const isRangeSet = Schema.is(RangeSet.RangeSet)
const SECTOR_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/

/** Why `sector` is not a valid sector name, or `undefined` when it is one. */
export const sectorProblem = (sector: unknown): string | undefined => {
  if (typeof sector !== "string") return "a sector name must be a string"
  if (sector.length === 0 || sector.length > maxSectorLength) {
    return `a sector name must have 1..${maxSectorLength} characters, got ${sector.length}`
  }
  if (!SECTOR_RE.test(sector)) return "a sector name must be [A-Za-z0-9._:-] and start with a letter or digit"
  return undefined
}

const validateKey = (operation: string, key: unknown): Effect.Effect<BinaryKey.BinaryKey, StorageError.StorageError> =>
  isKey(key)
    ? Effect.succeed(key)
    : Effect.fail(StorageError.invalidArgument(operation, { message: "malformed key (expected a BinaryKey)" }))

const validateSector = (operation: string, key: string | undefined, sector: unknown) => {
  const p = sectorProblem(sector)
  return p === undefined
    ? Effect.succeed(sector as string)
    : Effect.fail(StorageError.invalidArgument(operation, { message: p, ...(key === undefined ? {} : { key }) }))
}

const validateRanges = (operation: string, key: BinaryKey.BinaryKey, ranges: unknown) => {
  const k = BinaryKey.format(key)
  if (!isRangeSet(ranges)) {
    return Effect.fail(
      StorageError.invalidArgument(operation, { key: k, message: "ranges is not a normalized range set" })
    )
  }
  const b = RangeSet.bounds(ranges)
  if (b !== undefined && b.end > key.size) {
    return Effect.fail(
      StorageError.invalidArgument(operation, {
        key: k,
        message: `ranges end at ${b.end}, beyond the key's size ${key.size}`
      })
    )
  }
  return Effect.succeed(ranges)
}

const whole = (key: BinaryKey.BinaryKey): Span.Span => ({ start: 0, end: key.size })

/** Computes the status of `key` from its replicas (what every backend reports). */
export const statusOf = (
  key: BinaryKey.BinaryKey,
  target: number,
  replicas: ReadonlyArray<Replica>
): ReplicationStatus => {
  let covered = RangeSet.empty
  let healthy = 0
  for (const r of replicas) {
    if (!r.healthy) continue
    healthy++
    covered = RangeSet.union(covered, r.ranges)
  }
  return { target, actual: replicas.length, healthy, missingRanges: RangeSet.complement(covered, whole(key)) }
}

// ---------------------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------------------

/** Page size used to stream `keysInSector`. */
export const sectorPageSize = 1000

/** What a backend implements; {@link make} validates every argument first and derives the rest. */
export interface Primitives {
  readonly addReplica: (
    key: BinaryKey.BinaryKey,
    sector: string,
    ranges: RangeSet.RangeSet
  ) => Effect.Effect<Replica, StorageError.StorageError>
  readonly findReplicas: (key: BinaryKey.BinaryKey) => Effect.Effect<ReadonlyArray<Replica>, StorageError.StorageError>
  /**
   * Up to `limit` keys with a replica in `sector` whose key text sorts strictly after `after` (when given), in key
   * text order, and whether more follow.
   */
  readonly sectorPage: (
    sector: string,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<
    { readonly keys: ReadonlyArray<BinaryKey.BinaryKey>; readonly more: boolean },
    StorageError.StorageError
  >
  readonly markUnhealthy: (
    key: BinaryKey.BinaryKey,
    sector: string,
    reason: string
  ) => Effect.Effect<boolean, StorageError.StorageError>
  readonly removeReplica: (
    key: BinaryKey.BinaryKey,
    sector: string
  ) => Effect.Effect<boolean, StorageError.StorageError>
}

/** Builds a {@link ReplicaIndex} from {@link Primitives}: validation, the paged `keysInSector` stream and `status`. */
export const make = (p: Primitives): ReplicaIndex =>
  ReplicaIndex.of({
    addReplica: (key, sector, ranges) =>
      Effect.gen(function* () {
        const op = "ReplicaIndex.addReplica"
        const k = yield* validateKey(op, key)
        const s = yield* validateSector(op, BinaryKey.format(k), sector)
        const r = yield* validateRanges(op, k, ranges)
        return yield* p.addReplica(k, s, r)
      }),
    findReplicas: (key) => Effect.flatMap(validateKey("ReplicaIndex.findReplicas", key), p.findReplicas),
    keysInSector: (sector) =>
      Stream.unwrap(
        Effect.map(validateSector("ReplicaIndex.keysInSector", undefined, sector), (s) =>
          Stream.paginate(undefined as string | undefined, (after) =>
            Effect.map(p.sectorPage(s, after, sectorPageSize), ({ keys, more }) => {
              const last = keys[keys.length - 1]
              return [
                keys,
                more && last !== undefined ? Option.some(BinaryKey.format(last)) : Option.none<string>()
              ] as const
            })
          )
        )
      ),
    markUnhealthy: (key, sector, reason) =>
      Effect.gen(function* () {
        const op = "ReplicaIndex.markUnhealthy"
        const k = yield* validateKey(op, key)
        const id = BinaryKey.format(k)
        const s = yield* validateSector(op, id, sector)
        if (typeof reason !== "string" || reason.length === 0 || reason.length > maxReasonLength) {
          return yield* StorageError.invalidArgument(op, {
            key: id,
            message: `reason must be a string of 1..${maxReasonLength} characters`
          })
        }
        return yield* p.markUnhealthy(k, s, reason)
      }),
    removeReplica: (key, sector) =>
      Effect.gen(function* () {
        const op = "ReplicaIndex.removeReplica"
        const k = yield* validateKey(op, key)
        const s = yield* validateSector(op, BinaryKey.format(k), sector)
        return yield* p.removeReplica(k, s)
      }),
    status: (key, target) =>
      Effect.gen(function* () {
        const op = "ReplicaIndex.status"
        const k = yield* validateKey(op, key)
        if (typeof target !== "number" || !Number.isInteger(target) || target < 1 || target > maxTarget) {
          return yield* StorageError.invalidArgument(op, {
            key: BinaryKey.format(k),
            message: `target must be an integer 1..${maxTarget}, got ${String(target)}`
          })
        }
        return statusOf(k, target, yield* p.findReplicas(k))
      })
  })

interface KeyEntry {
  readonly key: BinaryKey.BinaryKey
  /** sector → replica */
  readonly replicas: Map<string, Replica>
}

/**
 * An in-memory ReplicaIndex: replicas per key plus a sorted key index per sector. Every operation is one synchronous
 * step (timestamps from the `Clock`, read before the step), so concurrent updates never interleave.
 */
export const makeMemory = (): ReplicaIndex => {
  const byKey = new Map<string, KeyEntry>()
  const bySector = new Map<string, SortedKeys>()
  const sorted = (replicas: Map<string, Replica>) =>
    Array.from(replicas.values()).sort((a, b) => compare(a.sector, b.sector))
  return make({
    addReplica: (key, sector, ranges) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const id = BinaryKey.format(key)
        let entry = byKey.get(id)
        if (entry === undefined) {
          entry = { key, replicas: new Map() }
          byKey.set(id, entry)
        }
        const prev = entry.replicas.get(sector)
        const next: Replica = {
          sector,
          ranges: prev === undefined ? ranges : RangeSet.union(prev.ranges, ranges),
          healthy: true,
          updatedAt: now
        }
        entry.replicas.set(sector, next)
        let index = bySector.get(sector)
        if (index === undefined) {
          index = new SortedKeys()
          bySector.set(sector, index)
        }
        index.add(id)
        return next
      }),
    findReplicas: (key) =>
      Effect.sync(() => {
        const entry = byKey.get(BinaryKey.format(key))
        return entry === undefined ? [] : sorted(entry.replicas)
      }),
    sectorPage: (sector, after, limit) =>
      Effect.sync(() => {
        const index = bySector.get(sector)
        if (index === undefined) return { keys: [], more: false }
        const page = index.page({ after, limit })
        return { keys: page.keys.map((id) => byKey.get(id)!.key), more: page.more }
      }),
    markUnhealthy: (key, sector, reason) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = byKey.get(BinaryKey.format(key))
        const prev = entry?.replicas.get(sector)
        if (entry === undefined || prev === undefined) return false
        entry.replicas.set(sector, { sector, ranges: prev.ranges, healthy: false, reason, updatedAt: now })
        return true
      }),
    removeReplica: (key, sector) =>
      Effect.sync(() => {
        const id = BinaryKey.format(key)
        const entry = byKey.get(id)
        if (entry === undefined || !entry.replicas.delete(sector)) return false
        if (entry.replicas.size === 0) byKey.delete(id)
        const index = bySector.get(sector)
        if (index !== undefined) {
          index.remove(id)
          if (index.size === 0) bySector.delete(sector)
        }
        return true
      })
  })
}

/** A fresh in-memory ReplicaIndex per layer build. */
export const layerMemory: Layer.Layer<ReplicaIndex> = Layer.sync(ReplicaIndex, makeMemory)
