/**
 * The level `KeyValueStore`: one row per key in its own namespace of the data directory's database
 * (`k/<utf8 key>`), so `list` is a LevelDB range scan in UTF-8 byte order — the order the port promises.
 *
 * `put`, `delete` and `compareAndSet` lock their key (one process owns the database, so an in-process lock makes
 * `compareAndSet` atomic) and write synchronously unless the store's durability is `none`: once they return, the
 * value survives a crash or power loss. `get` and `list` never lock.
 *
 * The same constructor serves other ports that keep their state in key/value form in a namespace of their own
 * (`RangeTracker` in `r/`).
 *
 * @since 0.1.0
 */
import { KeyValueStore, type StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import * as Scan from "./internal/scan.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

/** A KeyValueStore over the rows of namespace `ns` (default `k/`). */
export const make = (
  database: LevelDatabase.LevelDatabase,
  ns: Keys.Namespace = Keys.KEYVALUE
): KeyValueStore.KeyValueStore => {
  const locks = new KeyLocks()
  const sync = database.syncMetadata
  const rowKey = (key: string) => Keys.textKey(ns, key)
  const read = (operation: string, key: string) =>
    Effect.map(
      database.use(operation, () => database.db.get(rowKey(key)), key),
      (v): Option.Option<Uint8Array> => (v === undefined ? Option.none() : Option.some(Keys.plain(v)))
    )
  const write = (operation: string, ops: ReadonlyArray<LevelDatabase.Op>) =>
    Effect.uninterruptible(database.write(operation, "kv", ops, sync))

  return KeyValueStore.make({
    // LevelDB hands out a fresh buffer per read and copies values on write: isolation comes for free
    get: (key) => read("KeyValueStore.get", key),
    put: (key, value) =>
      locks.with([key], "exclusive", write("KeyValueStore.put", [{ type: "put", key: rowKey(key), value }])),
    delete: (key) =>
      locks.with(
        [key],
        "exclusive",
        Effect.flatMap(read("KeyValueStore.delete", key), (current) =>
          Option.isNone(current)
            ? Effect.succeed(false)
            : Effect.as(write("KeyValueStore.delete", [{ type: "del", key: rowKey(key) }]), true)
        )
      ),
    compareAndSet: (key, expected, next) =>
      locks.with(
        [key],
        "exclusive",
        Effect.flatMap(
          read("KeyValueStore.compareAndSet", key),
          (current): Effect.Effect<boolean, StorageError.StorageError> => {
            const matches =
              expected === undefined
                ? Option.isNone(current)
                : Option.isSome(current) && KeyValueStore.bytesEqual(current.value, expected)
            if (!matches) return Effect.succeed(false)
            if (next === undefined) {
              return Option.isNone(current)
                ? Effect.succeed(true)
                : Effect.as(write("KeyValueStore.compareAndSet", [{ type: "del", key: rowKey(key) }]), true)
            }
            return Effect.as(
              write("KeyValueStore.compareAndSet", [{ type: "put", key: rowKey(key), value: next }]),
              true
            )
          }
        )
      ),
    scan: (query) => {
      const bounds = Keys.prefixRange(ns, query.prefix)
      const after = query.after === undefined ? undefined : rowKey(query.after)
      return Effect.map(
        Scan.page(database, "KeyValueStore.list", {
          ...(after !== undefined && Buffer.compare(after, bounds.gte) >= 0 ? { gt: after } : { gte: bounds.gte }),
          lt: bounds.lt,
          limit: query.limit + 1
        }),
        (rows) => ({
          entries: rows.slice(0, query.limit).map(([k, v]) => ({ key: Keys.textOf(ns, k), value: Keys.plain(v) })),
          more: rows.length > query.limit
        })
      )
    }
  })
}
