/**
 * The level `ManifestStore`.
 *
 * **Rows.** `m/<blob key text>` → the summary (JSON: manifest id, block count, chunker, created-at, attributes);
 * `e/<manifest id><offset>` → one entry (index, binary block key), both numbers big-endian so that the entries of a
 * manifest are contiguous and sorted by offset. `entries(key, range)` is therefore two index seeks — the last entry
 * starting at or before `range.start` (a reverse seek) and a forward scan that stops before `range.end` — never a
 * scan of the manifest. The empty blob has id 0 and no entry rows.
 *
 * **Commit** runs under an exclusive lock on the blob key: if the blob exists, the draft is still validated and the
 * stored receipt is returned (`created: false`); otherwise entries are validated as they stream in and accumulated
 * in one LevelDB batch. The block bytes the manifest references are made durable first (the block store's
 * `durablePoint`: a group-committed fdatasync of the packs), then the summary, the entries and the new durable
 * watermark are written in **one atomic, synchronous batch** — the commit point. A manifest of more than
 * `manifestBatchEntries` entries (default 65 536) is written in several batches under a `p/<id>` pending marker, with only
 * the last batch (summary included) making it visible; a failure, an interruption or a crash in between leaves
 * nothing visible, and the partial rows are removed (at once, or when the store is next opened). Memory stays
 * bounded by one batch however many entries a manifest has (up to 2^24).
 *
 * **Delete** removes the summary and writes a `t/<id>` tombstone in one synchronous batch, then clears the entry
 * rows and the tombstone (an interrupted clear is finished on the next open). `referencedBlocks` streams every
 * entry row — entries of a manifest being committed or deleted included, which only ever keeps more blocks alive.
 *
 * @since 0.1.0
 */
import { BinaryKey, Manifest } from "@graviton/core"
import { ManifestStore, StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import * as Scan from "./internal/scan.ts"
import type * as LevelBlockStore from "./LevelBlockStore.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

interface StoredSummary {
  readonly id: number
  readonly summary: Manifest.ManifestSummary
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const summaryKey = (text: string) => Keys.textKey(Keys.MANIFEST, text)

const encodeSummary = (id: number, s: Manifest.ManifestSummary): Uint8Array =>
  utf8.encode(
    JSON.stringify({
      v: 1,
      id,
      key: BinaryKey.format(s.blobKey),
      blockCount: s.blockCount,
      chunker: s.chunker,
      createdAt: s.createdAt,
      attributes: s.attributes
    })
  )

const isStringRecord = (u: unknown): u is Record<string, string> =>
  typeof u === "object" &&
  u !== null &&
  !Array.isArray(u) &&
  Object.values(u as Record<string, unknown>).every((v) => typeof v === "string")

const decodeSummary = (bytes: Uint8Array): StoredSummary | undefined => {
  let j: unknown
  try {
    j = JSON.parse(utf8Decoder.decode(bytes))
  } catch {
    return undefined
  }
  if (typeof j !== "object" || j === null) return undefined
  const o = j as Record<string, unknown>
  if (o.v !== 1 || typeof o.key !== "string" || typeof o.chunker !== "string") return undefined
  if (!Number.isSafeInteger(o.id) || !Number.isSafeInteger(o.blockCount) || !Number.isSafeInteger(o.createdAt)) {
    return undefined
  }
  if (!isStringRecord(o.attributes)) return undefined
  const key = BinaryKey.parse(o.key)
  if (key._tag === "Failure") return undefined
  return {
    id: o.id as number,
    summary: {
      blobKey: key.success,
      size: key.success.size,
      blockCount: o.blockCount as number,
      chunker: o.chunker,
      createdAt: o.createdAt as number,
      attributes: { ...o.attributes }
    }
  }
}

const entryValue = (e: Manifest.ManifestEntry): Uint8Array => {
  const out = new Uint8Array(4 + BinaryKey.encodedLength(e.blockKey))
  Keys.writeU32(out, 0, e.index)
  BinaryKey.encodeInto(e.blockKey, out, 4)
  return out
}

const decodeEntry = (key: Uint8Array, value: Uint8Array): Manifest.ManifestEntry | undefined => {
  const p = Keys.ENTRY.prefix.byteLength
  if (key.byteLength !== p + 12 || value.byteLength < 5) return undefined
  const k = BinaryKey.decodeAt(value, 4)
  if (k._tag === "Failure" || k.success.next !== value.byteLength) return undefined
  return {
    index: Keys.readU32(value, 0),
    blockKey: k.success.key,
    offset: Keys.readU48(key, p + 6),
    size: k.success.key.size
  }
}

const blockKeyOfEntry = (value: Uint8Array): BinaryKey.BinaryKey | undefined => {
  const k = BinaryKey.decodeAt(value, 4)
  return k._tag === "Failure" ? undefined : k.success.key
}

const notFound = (operation: string, key: BinaryKey.BinaryKey) =>
  StorageError.notFound(operation, { key: BinaryKey.format(key), message: "no such blob" })

const corruptRow = (operation: string, key: string, what: string) =>
  StorageError.corrupt(operation, { key, message: `a stored ${what} does not decode` })

/** Finishes deletes and discards partial commits interrupted by a crash; returns the next free manifest id. */
const cleanUp = async (database: LevelDatabase.LevelDatabase): Promise<number> => {
  const { db } = database
  let maxId = 0
  for (const ns of [Keys.PENDING, Keys.TOMBSTONE]) {
    const markers = await db.keys({ gte: ns.prefix, lt: ns.end }).all()
    for (const m of markers) {
      const id = Keys.readU48(m, ns.prefix.byteLength)
      const from = Keys.idKey(Keys.ENTRY, id)
      await db.clear({ gte: from, lt: Keys.successor(from) })
      await db.del(m, { sync: database.syncMetadata })
      maxId = Math.max(maxId, id)
    }
  }
  const last = await db.keys({ gte: Keys.ENTRY.prefix, lt: Keys.ENTRY.end, reverse: true, limit: 1 }).all()
  if (last[0] !== undefined) maxId = Math.max(maxId, Keys.readU48(last[0], Keys.ENTRY.prefix.byteLength))
  return maxId + 1
}

/**
 * Builds the ManifestStore over an open database. `blocks` provides the durable point that every commit reaches
 * before it publishes.
 */
export const make = (
  database: LevelDatabase.LevelDatabase,
  blocks: Pick<LevelBlockStore.LevelBlocks, "durablePoint">
): Effect.Effect<ManifestStore.ManifestStore, StorageError.StorageError> =>
  Effect.gen(function* () {
    const batchEntries = database.options.manifestBatchEntries
    let nextId = yield* database.use("LevelStore.open", () => cleanUp(database))
    const locks = new KeyLocks()

    const readSummary = (operation: string, key: BinaryKey.BinaryKey) =>
      Effect.flatMap(
        database.use(operation, () => database.db.get(summaryKey(BinaryKey.format(key)))),
        (raw): Effect.Effect<StoredSummary | undefined, StorageError.StorageError> => {
          if (raw === undefined) return Effect.succeed(undefined)
          const s = decodeSummary(raw)
          return s === undefined
            ? Effect.fail(corruptRow(operation, BinaryKey.format(key), "manifest summary"))
            : Effect.succeed(s)
        }
      )

    const clearEntries = (operation: string, id: number) =>
      database.use(operation, () => {
        const from = Keys.idKey(Keys.ENTRY, id)
        return database.db.clear({ gte: from, lt: Keys.successor(from) })
      })

    const commit: ManifestStore.ManifestStore["commit"] = (draft) =>
      Effect.gen(function* () {
        const operation = "ManifestStore.commit"
        yield* ManifestStore.validateDraft(draft)
        const text = BinaryKey.format(draft.blobKey)
        return yield* locks.with(
          [text],
          "exclusive",
          Effect.gen(function* () {
            const existing = yield* readSummary(operation, draft.blobKey)
            if (existing !== undefined) {
              yield* ManifestStore.consumeEntries(draft, () => Effect.void)
              return ManifestStore.receiptOf(existing.summary, false)
            }
            const id = draft.blockCount === 0 ? 0 : nextId++
            let ops: Array<LevelDatabase.Op> = []
            let pending = false
            const flush = Effect.suspend(() => {
              const batch = ops
              ops = []
              if (!pending) {
                pending = true
                batch.push({ type: "put", key: Keys.idKey(Keys.PENDING, id), value: new Uint8Array(0) })
              }
              return database.write(operation, "manifest", batch, false)
            })
            const summary: Manifest.ManifestSummary = {
              blobKey: draft.blobKey,
              size: draft.blobKey.size,
              blockCount: draft.blockCount,
              chunker: draft.chunker,
              createdAt: draft.createdAt,
              attributes: { ...draft.attributes }
            }
            const publish = Effect.gen(function* () {
              yield* ManifestStore.consumeEntries(draft, (arr) => {
                for (const e of arr) {
                  ops.push({ type: "put", key: Keys.idNumberKey(Keys.ENTRY, id, e.offset), value: entryValue(e) })
                }
                return ops.length >= batchEntries ? flush : Effect.void
              })
              const durable = yield* blocks.durablePoint
              const last: Array<LevelDatabase.Op> = [
                ...ops,
                ...durable,
                { type: "put", key: summaryKey(text), value: encodeSummary(id, summary) }
              ]
              if (pending) last.push({ type: "del", key: Keys.idKey(Keys.PENDING, id) })
              ops = []
              yield* Effect.uninterruptible(database.write(operation, "manifest", last, database.syncMetadata))
            })
            yield* publish.pipe(
              Effect.onExit((exit) =>
                exit._tag === "Success" || !pending
                  ? Effect.void
                  : // a large commit failed after some of its entry batches were written: take them back
                    clearEntries(operation, id).pipe(
                      Effect.andThen(
                        database.write(
                          operation,
                          "manifest",
                          [{ type: "del", key: Keys.idKey(Keys.PENDING, id) }],
                          false
                        )
                      ),
                      Effect.ignore
                    )
              )
            )
            return ManifestStore.receiptOf(summary, true)
          })
        )
      })

    const entries: ManifestStore.ManifestStore["entries"] = (key, range) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const operation = "ManifestStore.entries"
          const stored = yield* readSummary(operation, key)
          if (stored === undefined) return yield* Effect.fail(notFound(operation, key))
          const { id, summary } = stored
          if (summary.blockCount === 0) return Stream.empty
          const lo = range === undefined ? 0 : Math.max(0, range.start)
          const hi = range === undefined ? summary.size : Math.min(summary.size, range.end)
          if (!(lo < hi)) return Stream.empty
          // the entry containing `lo`: the last one starting at or before it (one reverse seek)
          let start = 0
          if (lo > 0) {
            const found = yield* Scan.page(database, operation, {
              gte: Keys.idNumberKey(Keys.ENTRY, id, 0),
              lte: Keys.idNumberKey(Keys.ENTRY, id, lo),
              reverse: true,
              limit: 1
            })
            const row = found[0]
            if (row === undefined) return yield* Effect.fail(notFound(operation, key))
            start = Keys.readU48(row[0], Keys.ENTRY.prefix.byteLength + 6)
          }
          const text = BinaryKey.format(key)
          // a concurrent delete may clear the rows under us: check the entries we read cover the range contiguously
          let expected = start
          const checked = Scan.rows(
            database,
            operation,
            { gte: Keys.idNumberKey(Keys.ENTRY, id, start), lt: Keys.idNumberKey(Keys.ENTRY, id, hi) },
            decodeEntry,
            () => corruptRow(operation, text, "manifest entry")
          ).pipe(
            Stream.mapArrayEffect((arr) => {
              for (const e of arr) {
                if (e.offset !== expected) return Effect.fail(notFound(operation, key))
                expected = e.offset + e.size
              }
              return Effect.succeed(arr)
            }),
            Stream.concat(
              Stream.fromEffect(
                Effect.suspend(() => (expected >= hi ? Effect.void : Effect.fail(notFound(operation, key))))
              ).pipe(Stream.drain)
            )
          )
          return checked
        })
      )

    const list: ManifestStore.ManifestStore["list"] = (options) =>
      Effect.gen(function* () {
        const operation = "ManifestStore.list"
        const { after, limit, prefix } = yield* ManifestStore.decodeListOptions(operation, options)
        const bounds = Keys.prefixRange(Keys.MANIFEST, prefix ?? "")
        const lowerIsAfter = after !== undefined && Buffer.compare(summaryKey(after), bounds.gte) >= 0
        const rows = yield* Scan.page(database, operation, {
          ...(lowerIsAfter ? { gt: summaryKey(after) } : { gte: bounds.gte }),
          lt: bounds.lt,
          limit: limit + 1
        })
        const items: Array<Manifest.ManifestSummary> = []
        for (const [k, v] of rows.slice(0, limit)) {
          const s = decodeSummary(v)
          if (s === undefined)
            return yield* Effect.fail(corruptRow(operation, Keys.textOf(Keys.MANIFEST, k), "manifest summary"))
          items.push(s.summary)
        }
        const last = items[items.length - 1]
        return rows.length > limit && last !== undefined
          ? { items, cursor: Buffer.from(BinaryKey.format(last.blobKey), "utf8").toString("base64url") }
          : { items }
      })

    const deleteManifest: ManifestStore.ManifestStore["delete"] = (key) =>
      Effect.gen(function* () {
        const operation = "ManifestStore.delete"
        const text = BinaryKey.format(key)
        return yield* locks.with(
          [text],
          "exclusive",
          Effect.uninterruptible(
            Effect.gen(function* () {
              const stored = yield* readSummary(operation, key)
              if (stored === undefined) return false
              if (stored.id === 0) {
                yield* database.write(
                  operation,
                  "manifest",
                  [{ type: "del", key: summaryKey(text) }],
                  database.syncMetadata
                )
                return true
              }
              const tomb = Keys.idKey(Keys.TOMBSTONE, stored.id)
              yield* database.write(
                operation,
                "manifest",
                [
                  { type: "del", key: summaryKey(text) },
                  { type: "put", key: tomb, value: new Uint8Array(0) }
                ],
                database.syncMetadata
              )
              yield* clearEntries(operation, stored.id)
              yield* database.write(operation, "manifest", [{ type: "del", key: tomb }], false)
              return true
            })
          )
        )
      })

    const updateAttributes: ManifestStore.ManifestStore["updateAttributes"] = (key, attributes, options) =>
      Effect.gen(function* () {
        const operation = "ManifestStore.updateAttributes"
        const text = BinaryKey.format(key)
        return yield* locks.with(
          [text],
          "exclusive",
          Effect.gen(function* () {
            const stored = yield* readSummary(operation, key)
            if (stored === undefined) return Option.none()
            const next = options?.merge === true ? { ...stored.summary.attributes, ...attributes } : { ...attributes }
            const check = Manifest.make({
              blobKey: BinaryKey.unsafeMake(key.algorithm, key.digest, 0),
              chunker: stored.summary.chunker,
              createdAt: stored.summary.createdAt,
              attributes: next,
              blocks: []
            })
            if (check._tag === "Failure") {
              return yield* Effect.fail(
                StorageError.invalidArgument(operation, {
                  key: text,
                  message: check.failure.message,
                  cause: check.failure
                })
              )
            }
            const summary = { ...stored.summary, attributes: next }
            yield* Effect.uninterruptible(
              database.write(
                operation,
                "manifest",
                [{ type: "put", key: summaryKey(text), value: encodeSummary(stored.id, summary) }],
                database.syncMetadata
              )
            )
            return Option.some(summary)
          })
        )
      })

    const referencedBlocks: ManifestStore.ManifestStore["referencedBlocks"] = Scan.rows(
      database,
      "ManifestStore.referencedBlocks",
      { gte: Keys.ENTRY.prefix, lt: Keys.ENTRY.end },
      (_, v) => blockKeyOfEntry(v),
      () => corruptRow("ManifestStore.referencedBlocks", "", "manifest entry"),
      4096
    )

    return ManifestStore.ManifestStore.of({
      commit,
      get: (key) =>
        Effect.map(readSummary("ManifestStore.get", key), (s) =>
          s === undefined ? Option.none() : Option.some(s.summary)
        ),
      entries,
      list,
      delete: deleteManifest,
      updateAttributes,
      referencedBlocks
    })
  })
