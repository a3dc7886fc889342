/**
 * The level `ReplicaIndex`, in namespace `x/` of the data directory's database:
 *
 * - `x/k<key text>\0<sector>` → the replica record (JSON: ranges, healthy, reason, updatedAt), so the replicas of a
 *   key are one contiguous range ordered by sector name;
 * - `x/s<sector>\0<key text>` → empty, the per-sector index behind `keysInSector` (ordered by key text).
 *
 * Both rows of a replica are written in one batch. `addReplica`, `markUnhealthy` and `removeReplica` lock the
 * (key, sector) pair, so concurrent adds merge (the result is the union of their ranges). Timestamps come from the
 * Effect `Clock`. Writes are synchronous unless durability is `none`.
 *
 * @since 0.1.0
 */
import { BinaryKey, RangeSet, Span } from "@graviton/core"
import { ReplicaIndex, StorageError } from "@graviton/runtime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import * as Scan from "./internal/scan.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const SEP = Uint8Array.of(0)
const K = utf8.encode("k")
const S = utf8.encode("s")

const replicaPrefix = (keyText: string) => Keys.concat(Keys.REPLICAS.prefix, K, utf8.encode(keyText), SEP)
const replicaKey = (keyText: string, sector: string) => Keys.concat(replicaPrefix(keyText), utf8.encode(sector))
const sectorPrefix = (sector: string) => Keys.concat(Keys.REPLICAS.prefix, S, utf8.encode(sector), SEP)
const sectorKey = (sector: string, keyText: string) => Keys.concat(sectorPrefix(sector), utf8.encode(keyText))

const encodeReplica = (r: ReplicaIndex.Replica): Uint8Array =>
  utf8.encode(
    JSON.stringify({
      ranges: RangeSet.spans(r.ranges).map((s) => [s.start, s.end]),
      healthy: r.healthy,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      updatedAt: r.updatedAt
    })
  )

const decodeReplica = (sector: string, bytes: Uint8Array): ReplicaIndex.Replica | undefined => {
  let j: unknown
  try {
    j = JSON.parse(utf8Decoder.decode(bytes))
  } catch {
    return undefined
  }
  const o = j as { ranges?: unknown; healthy?: unknown; reason?: unknown; updatedAt?: unknown } | null
  if (o === null || typeof o !== "object" || !Array.isArray(o.ranges)) return undefined
  if (typeof o.healthy !== "boolean" || typeof o.updatedAt !== "number") return undefined
  if (o.reason !== undefined && typeof o.reason !== "string") return undefined
  const spans: Array<Span.Span> = []
  for (const pair of o.ranges) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined
    const [s, e] = pair as [unknown, unknown]
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || (s as number) < 0 || (e as number) <= (s as number)) {
      return undefined
    }
    spans.push(Span.unsafeMake(s as number, e as number))
  }
  return {
    sector,
    ranges: RangeSet.fromSpans(spans),
    healthy: o.healthy,
    ...(o.reason === undefined ? {} : { reason: o.reason }),
    updatedAt: o.updatedAt
  }
}

/** A ReplicaIndex over the data directory's database. */
export const make = (database: LevelDatabase.LevelDatabase): ReplicaIndex.ReplicaIndex => {
  const locks = new KeyLocks()
  const sync = database.syncMetadata
  const corrupt = (operation: string, key: string) =>
    StorageError.corrupt(operation, { key, message: "a stored replica record does not decode" })

  const readOne = (operation: string, keyText: string, sector: string) =>
    Effect.flatMap(
      database.use(operation, () => database.db.get(replicaKey(keyText, sector)), keyText),
      (raw): Effect.Effect<ReplicaIndex.Replica | undefined, StorageError.StorageError> => {
        if (raw === undefined) return Effect.succeed(undefined)
        const r = decodeReplica(sector, raw)
        return r === undefined ? Effect.fail(corrupt(operation, keyText)) : Effect.succeed(r)
      }
    )

  const guarded = <A>(keyText: string, sector: string, effect: Effect.Effect<A, StorageError.StorageError>) =>
    locks.with([`${keyText}\u0000${sector}`], "exclusive", Effect.uninterruptible(effect))

  return ReplicaIndex.make({
    addReplica: (key, sector, ranges) => {
      const text = BinaryKey.format(key)
      return guarded(
        text,
        sector,
        Effect.gen(function* () {
          const operation = "ReplicaIndex.addReplica"
          const now = yield* Clock.currentTimeMillis
          const prev = yield* readOne(operation, text, sector)
          const next: ReplicaIndex.Replica = {
            sector,
            ranges: prev === undefined ? ranges : RangeSet.union(prev.ranges, ranges),
            healthy: true,
            updatedAt: now
          }
          yield* database.write(
            operation,
            "kv",
            [
              { type: "put", key: replicaKey(text, sector), value: encodeReplica(next) },
              { type: "put", key: sectorKey(sector, text), value: new Uint8Array(0) }
            ],
            sync
          )
          return next
        })
      )
    },
    findReplicas: (key) => {
      const text = BinaryKey.format(key)
      const prefix = replicaPrefix(text)
      return Effect.flatMap(
        Scan.page(database, "ReplicaIndex.findReplicas", { gte: prefix, lt: Keys.successor(prefix) }),
        (rows) => {
          const out: Array<ReplicaIndex.Replica> = []
          for (const [k, v] of rows) {
            const r = decodeReplica(utf8Decoder.decode(k.subarray(prefix.byteLength)), v)
            if (r === undefined) return Effect.fail(corrupt("ReplicaIndex.findReplicas", text))
            out.push(r)
          }
          return Effect.succeed(out)
        }
      )
    },
    sectorPage: (sector, after, limit) => {
      const prefix = sectorPrefix(sector)
      return Effect.flatMap(
        Scan.page(database, "ReplicaIndex.keysInSector", {
          ...(after === undefined ? { gte: prefix } : { gt: sectorKey(sector, after) }),
          lt: Keys.successor(prefix),
          limit: limit + 1
        }),
        (rows) => {
          const keys: Array<BinaryKey.BinaryKey> = []
          for (const [k] of rows.slice(0, limit)) {
            const text = utf8Decoder.decode(k.subarray(prefix.byteLength))
            const parsed = BinaryKey.parse(text)
            if (parsed._tag === "Failure") return Effect.fail(corrupt("ReplicaIndex.keysInSector", text))
            keys.push(parsed.success)
          }
          return Effect.succeed({ keys, more: rows.length > limit })
        }
      )
    },
    markUnhealthy: (key, sector, reason) => {
      const text = BinaryKey.format(key)
      return guarded(
        text,
        sector,
        Effect.gen(function* () {
          const operation = "ReplicaIndex.markUnhealthy"
          const now = yield* Clock.currentTimeMillis
          const prev = yield* readOne(operation, text, sector)
          if (prev === undefined) return false
          const next: ReplicaIndex.Replica = { sector, ranges: prev.ranges, healthy: false, reason, updatedAt: now }
          yield* database.write(
            operation,
            "kv",
            [{ type: "put", key: replicaKey(text, sector), value: encodeReplica(next) }],
            sync
          )
          return true
        })
      )
    },
    removeReplica: (key, sector) => {
      const text = BinaryKey.format(key)
      return guarded(
        text,
        sector,
        Effect.gen(function* () {
          const operation = "ReplicaIndex.removeReplica"
          const prev = yield* readOne(operation, text, sector)
          if (prev === undefined) return false
          yield* database.write(
            operation,
            "kv",
            [
              { type: "del", key: replicaKey(text, sector) },
              { type: "del", key: sectorKey(sector, text) }
            ],
            sync
          )
          return true
        })
      )
    }
  })
}
