/**
 * The level `SchemaStore`, in namespace `s/` of the data directory's database: one row per version,
 * `s/<namespace>\0<version, u32 big-endian>` → `[u32 header length][header JSON: contentType, digest, createdAt]
 * [schema bytes]`. Versions of a namespace are contiguous and ascending, so the latest version is one reverse
 * seek, and listing is a range scan in (namespace, version) order. Registration locks the namespace (atomic
 * "append unless the latest has this digest") and writes synchronously unless durability is `none`.
 *
 * Parsing, JSON Schema compilation and validator caching are the runtime's (`SchemaStore.make`).
 *
 * @since 0.1.0
 */
import { SchemaStore, StorageError } from "@graviton/runtime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import * as Scan from "./internal/scan.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const namespacePrefix = (namespace: string) =>
  Keys.concat(Keys.SCHEMAS.prefix, utf8.encode(namespace), Uint8Array.of(0))

const versionKey = (namespace: string, version: number) => {
  const p = namespacePrefix(namespace)
  const out = new Uint8Array(p.byteLength + 4)
  out.set(p, 0)
  Keys.writeU32(out, p.byteLength, version)
  return out
}

interface Stored {
  readonly namespace: string
  readonly version: number
  readonly contentType: SchemaStore.ContentType
  readonly digest: string
  readonly createdAt: number
  readonly schema: Uint8Array
}

const encodeValue = (contentType: string, digest: string, createdAt: number, schema: Uint8Array): Uint8Array => {
  const head = utf8.encode(JSON.stringify({ contentType, digest, createdAt }))
  const out = new Uint8Array(4 + head.byteLength + schema.byteLength)
  Keys.writeU32(out, 0, head.byteLength)
  out.set(head, 4)
  out.set(schema, 4 + head.byteLength)
  return out
}

const decodeRow = (key: Uint8Array, value: Uint8Array): Stored | undefined => {
  const p = Keys.SCHEMAS.prefix.byteLength
  const sep = key.indexOf(0, p)
  if (sep < 0 || key.byteLength !== sep + 5 || value.byteLength < 4) return undefined
  const n = Keys.readU32(value, 0)
  if (4 + n > value.byteLength) return undefined
  let head: unknown
  try {
    head = JSON.parse(utf8Decoder.decode(value.subarray(4, 4 + n)))
  } catch {
    return undefined
  }
  const h = head as { contentType?: unknown; digest?: unknown; createdAt?: unknown } | null
  if (h === null || typeof h !== "object" || typeof h.digest !== "string" || typeof h.createdAt !== "number") {
    return undefined
  }
  const contentType = SchemaStore.contentTypes.find((t) => t === h.contentType)
  if (contentType === undefined) return undefined
  return {
    namespace: utf8Decoder.decode(key.subarray(p, sep)),
    version: Keys.readU32(key, sep + 1),
    contentType,
    digest: h.digest,
    createdAt: h.createdAt,
    schema: value.slice(4 + n)
  }
}

/** A SchemaStore over the data directory's database. */
export const make = (database: LevelDatabase.LevelDatabase): SchemaStore.SchemaStore => {
  const locks = new KeyLocks()
  const corrupt = (operation: string, key: string) =>
    StorageError.corrupt(operation, { key, message: "a stored schema row does not decode" })

  const latest = (operation: string, namespace: string) => {
    const prefix = namespacePrefix(namespace)
    return Effect.flatMap(
      Scan.page(database, operation, { gte: prefix, lt: Keys.successor(prefix), reverse: true, limit: 1 }),
      (rows): Effect.Effect<Stored | undefined, StorageError.StorageError> => {
        const row = rows[0]
        if (row === undefined) return Effect.succeed(undefined)
        const s = decodeRow(row[0], row[1])
        return s === undefined ? Effect.fail(corrupt(operation, namespace)) : Effect.succeed(s)
      }
    )
  }

  const toRecord = (s: Stored): SchemaStore.SchemaRecord => ({
    namespace: s.namespace,
    version: s.version,
    contentType: s.contentType,
    schema: Uint8Array.from(s.schema),
    digest: s.digest,
    createdAt: s.createdAt
  })

  return SchemaStore.make({
    append: (r) =>
      locks.with(
        [r.namespace],
        "exclusive",
        Effect.uninterruptible(
          Effect.gen(function* () {
            const operation = "SchemaStore.register"
            const now = yield* Clock.currentTimeMillis
            const last = yield* latest(operation, r.namespace)
            if (last !== undefined && last.digest === r.digest && last.schema.byteLength === r.schema.byteLength) {
              return { version: last.version, created: false }
            }
            const version = (last?.version ?? 0) + 1
            yield* database.write(
              operation,
              "kv",
              [
                {
                  type: "put",
                  key: versionKey(r.namespace, version),
                  value: encodeValue(r.contentType, r.digest, now, r.schema)
                }
              ],
              database.syncMetadata
            )
            return { version, created: true }
          })
        )
      ),
    get: (namespace, version) => {
      const operation = "SchemaStore.get"
      if (version === undefined) {
        return Effect.map(latest(operation, namespace), (s) =>
          s === undefined ? Option.none() : Option.some(toRecord(s))
        )
      }
      if (version > 0xffffffff) return Effect.succeed(Option.none())
      const key = versionKey(namespace, version)
      return Effect.flatMap(
        database.use(operation, () => database.db.get(key), namespace),
        (raw): Effect.Effect<Option.Option<SchemaStore.SchemaRecord>, StorageError.StorageError> => {
          if (raw === undefined) return Effect.succeed(Option.none())
          const s = decodeRow(key, raw)
          return s === undefined ? Effect.fail(corrupt(operation, namespace)) : Effect.succeed(Option.some(toRecord(s)))
        }
      )
    },
    list: (namespace) => {
      const operation = "SchemaStore.list"
      const range =
        namespace === undefined
          ? { gte: Keys.SCHEMAS.prefix, lt: Keys.SCHEMAS.end }
          : { gte: namespacePrefix(namespace), lt: Keys.successor(namespacePrefix(namespace)) }
      return Effect.flatMap(Scan.page(database, operation, range), (rows) => {
        const out: Array<SchemaStore.SchemaSummary> = []
        for (const [k, v] of rows) {
          const s = decodeRow(k, v)
          if (s === undefined) return Effect.fail(corrupt(operation, namespace ?? ""))
          out.push({
            namespace: s.namespace,
            version: s.version,
            contentType: s.contentType,
            size: s.schema.byteLength,
            digest: s.digest,
            createdAt: s.createdAt
          })
        }
        return Effect.succeed(out)
      })
    }
  })
}
