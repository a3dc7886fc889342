/**
 * The level `MutableObjectStore` (and its `ImmutableObjectStore` view), in namespace `o/` of the data directory's
 * database. Multipart uploads are emulated.
 *
 * **Rows.**
 *
 * | row | value |
 * | --- | --- |
 * | `o/m<name>` | object metadata (JSON): segments `[[data id, size], …]`, size, ETag, content type, metadata, lastModified |
 * | `o/d<data id><chunk no>` | 1 MiB chunks of a data segment (ids and chunk numbers big-endian, so a segment is one range) |
 * | `o/u<upload id>`, `o/n<name>\0<upload id>` | a multipart upload in progress (by id; by name for `listMultipart`) |
 * | `o/p<upload id>\0<part no>` | an uploaded part: its data id, size and ETag |
 * | `o/w<data id>`, `o/t<data id>` | data being written / being discarded (cleaned up when the store opens) |
 *
 * **Writes** stage the body as a new data segment first (chunks of up to 8 MiB are kept in memory and written with
 * the publication; larger bodies are written in batches under an `o/w` marker), then publish under a lock on the
 * name with one synchronous batch: the metadata row, and tombstones for the segments it replaces. A body that
 * fails or is interrupted publishes nothing (its staged chunks are removed). Replaced data is cleared after the
 * publication; a crash in between is finished on the next open.
 *
 * **Reads** take a LevelDB snapshot when the download starts, so a download keeps reading the version it started
 * with while the object is replaced or deleted, and release it when the stream ends or is stopped.
 *
 * **Multipart** parts are segments of their own; completion publishes an object whose segments are the chosen parts
 * (no bytes are copied); parts not chosen are discarded. `putRange` rewrites the object into a new segment under the
 * name lock (O(object size): it serves staging, not bulk writes).
 *
 * Object bytes live in LevelDB rows (not in pack files): fine for staging parts and small assets; bulk content
 * belongs in the BlobStore.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import { ImmutableObjectStore, MutableObjectStore, StorageError } from "@graviton/runtime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import * as Scan from "./internal/scan.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

/** Bytes per data chunk row (also the largest chunk a download emits). */
export const chunkSize = 1024 * 1024
/** Staged bytes kept in memory before they are written ahead of the publication. */
const stageInMemory = 8 * 1024 * 1024

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const sub = (letter: string): Keys.Namespace => {
  const prefix = Keys.concat(Keys.OBJECTS.prefix, utf8.encode(letter))
  return { prefix, end: Keys.successor(prefix) }
}
const META = sub("m")
const DATA = sub("d")
const UPLOAD = sub("u")
const BY_NAME = sub("n")
const PART = sub("p")
const WRITING = sub("w")
const DISCARD = sub("t")

const SEP = Uint8Array.of(0)

const metaKey = (name: string) => Keys.textKey(META, name)
const chunkKey = (id: number, n: number) => Keys.idNumberKey(DATA, id, n)
const uploadKey = (uploadId: string) => Keys.textKey(UPLOAD, uploadId)
const byNameKey = (name: string, uploadId: string) =>
  Keys.concat(BY_NAME.prefix, utf8.encode(name), SEP, utf8.encode(uploadId))
const partPrefix = (uploadId: string) => Keys.concat(PART.prefix, utf8.encode(uploadId), SEP)
const partKey = (uploadId: string, n: number) => {
  const p = partPrefix(uploadId)
  const out = new Uint8Array(p.byteLength + 4)
  out.set(p, 0)
  Keys.writeU32(out, p.byteLength, n)
  return out
}

/** A data segment: `id` 0 is the empty segment, which has no rows. */
interface Segment {
  readonly id: number
  readonly size: number
}

interface Meta {
  readonly segments: ReadonlyArray<Segment>
  readonly size: number
  readonly etag: string
  readonly contentType?: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  readonly lastModified: number
}

interface UploadRow {
  readonly name: string
  readonly initiated: number
  readonly contentType?: string | undefined
  readonly metadata: Readonly<Record<string, string>>
}

interface PartRow {
  readonly id: number
  readonly size: number
  readonly etag: string
}

const json = (v: unknown): Uint8Array => utf8.encode(JSON.stringify(v))

const parse = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(utf8Decoder.decode(bytes))
  } catch {
    return undefined
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isStringRecord = (u: unknown): u is Record<string, string> =>
  isRecord(u) && Object.values(u).every((v) => typeof v === "string")
const isCount = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 0

const encodeMeta = (m: Meta): Uint8Array =>
  json({
    v: 1,
    segments: m.segments.map((s) => [s.id, s.size]),
    size: m.size,
    etag: m.etag,
    ...(m.contentType === undefined ? {} : { contentType: m.contentType }),
    metadata: m.metadata,
    lastModified: m.lastModified
  })

const decodeMeta = (bytes: Uint8Array): Meta | undefined => {
  const o = parse(bytes)
  if (!isRecord(o) || o.v !== 1 || !Array.isArray(o.segments) || !isCount(o.size) || typeof o.etag !== "string") {
    return undefined
  }
  if (!isStringRecord(o.metadata) || typeof o.lastModified !== "number") return undefined
  if (o.contentType !== undefined && typeof o.contentType !== "string") return undefined
  const segments: Array<Segment> = []
  let total = 0
  for (const s of o.segments) {
    if (!Array.isArray(s) || s.length !== 2 || !isCount(s[0]) || !isCount(s[1])) return undefined
    segments.push({ id: s[0], size: s[1] })
    total += s[1]
  }
  if (total !== o.size) return undefined
  return {
    segments,
    size: o.size,
    etag: o.etag,
    ...(o.contentType === undefined ? {} : { contentType: o.contentType }),
    metadata: { ...o.metadata },
    lastModified: o.lastModified
  }
}

const decodeUpload = (bytes: Uint8Array): UploadRow | undefined => {
  const o = parse(bytes)
  if (!isRecord(o) || typeof o.name !== "string" || typeof o.initiated !== "number" || !isStringRecord(o.metadata)) {
    return undefined
  }
  if (o.contentType !== undefined && typeof o.contentType !== "string") return undefined
  return {
    name: o.name,
    initiated: o.initiated,
    ...(o.contentType === undefined ? {} : { contentType: o.contentType }),
    metadata: { ...o.metadata }
  }
}

const decodePart = (bytes: Uint8Array): PartRow | undefined => {
  const o = parse(bytes)
  if (!isRecord(o) || !isCount(o.id) || !isCount(o.size) || typeof o.etag !== "string") return undefined
  return { id: o.id, size: o.size, etag: o.etag }
}

const infoOf = (name: string, m: Meta): ImmutableObjectStore.ObjectInfo => ({
  name,
  size: m.size,
  etag: m.etag,
  ...(m.contentType === undefined ? {} : { contentType: m.contentType }),
  lastModified: m.lastModified,
  metadata: { ...m.metadata }
})

/** Bytes staged as a new segment, not yet published. */
interface Staged {
  readonly segment: Segment
  readonly etag: string
  /** Rows not yet written (they go into the publication batch). */
  readonly rows: ReadonlyArray<LevelDatabase.Op>
  /** Whether part of the segment was written ahead (under an `o/w` marker the publication must remove). */
  readonly written: boolean
}

/** Removes the data of abandoned segments and their markers (run on open). */
const cleanUp = async (database: LevelDatabase.LevelDatabase): Promise<number> => {
  const { db } = database
  let maxId = 0
  for (const ns of [WRITING, DISCARD]) {
    const markers = await db.keys({ gte: ns.prefix, lt: ns.end }).all()
    for (const m of markers) {
      const id = Keys.readU48(m, ns.prefix.byteLength)
      const from = Keys.idKey(DATA, id)
      await db.clear({ gte: from, lt: Keys.successor(from) })
      await db.del(m)
      maxId = Math.max(maxId, id)
    }
  }
  const last = await db.keys({ gte: DATA.prefix, lt: DATA.end, reverse: true, limit: 1 }).all()
  if (last[0] !== undefined) maxId = Math.max(maxId, Keys.readU48(last[0], DATA.prefix.byteLength))
  return maxId + 1
}

/**
 * Builds the object store over the data directory's database, finishing any cleanup a crash interrupted. The
 * returned store is a `MutableObjectStore`; `MutableObjectStore.toImmutable` gives the read-only view.
 */
export const make = (
  database: LevelDatabase.LevelDatabase
): Effect.Effect<MutableObjectStore.MutableObjectStore, StorageError.StorageError> =>
  Effect.gen(function* () {
    const { db } = database
    const sync = database.syncMetadata
    let nextId = yield* database.use("LevelStore.open", () => cleanUp(database))
    const names = new KeyLocks()
    const uploads = new KeyLocks()
    const R = "ImmutableObjectStore"
    const W = "MutableObjectStore"

    const notFound = (operation: string, key: string, message: string) =>
      StorageError.notFound(operation, { key, message })
    const conflict = (operation: string, key: string, message: string) =>
      StorageError.conflict(operation, { key, message })
    const corrupt = (operation: string, key: string, what: string) =>
      StorageError.corrupt(operation, { key, message: `a stored ${what} does not decode` })

    const readMeta = (operation: string, name: string, snapshot?: unknown) =>
      Effect.flatMap(
        database.use(
          operation,
          () => (snapshot === undefined ? db.get(metaKey(name)) : db.get(metaKey(name), { snapshot } as never)),
          name
        ),
        (raw): Effect.Effect<Meta | undefined, StorageError.StorageError> => {
          if (raw === undefined) return Effect.succeed(undefined)
          const m = decodeMeta(raw)
          return m === undefined ? Effect.fail(corrupt(operation, name, "object record")) : Effect.succeed(m)
        }
      )

    const clearData = (operation: string, ids: ReadonlyArray<number>) =>
      Effect.forEach(
        ids.filter((id) => id > 0),
        (id) =>
          database.use(operation, () => {
            const from = Keys.idKey(DATA, id)
            return db.clear({ gte: from, lt: Keys.successor(from) })
          }),
        { discard: true }
      )

    /** Discards segments after they were unreferenced (their tombstones were written with the unreferencing). */
    const discard = (operation: string, ids: ReadonlyArray<number>) =>
      Effect.andThen(
        clearData(operation, ids),
        database.write(
          operation,
          "kv",
          ids.filter((id) => id > 0).map((id) => ({ type: "del" as const, key: Keys.idKey(DISCARD, id) })),
          false
        )
      ).pipe(Effect.ignore)

    const tombstones = (ids: ReadonlyArray<number>): Array<LevelDatabase.Op> =>
      ids.filter((id) => id > 0).map((id) => ({ type: "put", key: Keys.idKey(DISCARD, id), value: new Uint8Array(0) }))

    /**
     * Stages a byte stream as a new segment. Chunks are cut at 1 MiB; up to 8 MiB stay in memory (written by the
     * publication), beyond that rows are written ahead under an `o/w` marker. On failure or interruption the
     * written rows are removed.
     */
    const stage = <E, R>(
      operation: string,
      body: Stream.Stream<Uint8Array, E, R>
    ): Effect.Effect<Staged, StorageError.StorageError | E, R> =>
      Effect.suspend(() => {
        const id = nextId++
        const hash = createHash("md5")
        let rows: Array<LevelDatabase.Op> = []
        let pendingBytes = 0
        let written = false
        let size = 0
        let chunkNo = 0
        let current = new Uint8Array(chunkSize)
        let fill = 0
        const emit = (bytes: Uint8Array) => {
          rows.push({ type: "put", key: chunkKey(id, chunkNo++), value: bytes })
          pendingBytes += bytes.byteLength
        }
        const flush = Effect.suspend(() => {
          if (pendingBytes < stageInMemory) return Effect.void
          const batch = rows
          rows = []
          pendingBytes = 0
          if (!written) {
            written = true
            batch.push({ type: "put", key: Keys.idKey(WRITING, id), value: new Uint8Array(0) })
          }
          return database.write(operation, "kv", batch, false)
        })
        const run = Stream.runForEach(body, (chunk) =>
          Effect.suspend(() => {
            hash.update(chunk)
            size += chunk.byteLength
            let off = 0
            while (off < chunk.byteLength) {
              const n = Math.min(chunkSize - fill, chunk.byteLength - off)
              current.set(chunk.subarray(off, off + n), fill)
              fill += n
              off += n
              if (fill === chunkSize) {
                emit(current)
                current = new Uint8Array(chunkSize)
                fill = 0
              }
            }
            return flush
          })
        ).pipe(
          Effect.map((): Staged => {
            if (fill > 0) emit(current.slice(0, fill))
            return { segment: { id: size === 0 ? 0 : id, size }, etag: hash.digest("hex"), rows, written }
          })
        )
        return Effect.onExit(run, (exit) =>
          exit._tag === "Success" || !written
            ? Effect.void
            : clearData(operation, [id]).pipe(
                Effect.andThen(database.write(operation, "kv", [{ type: "del", key: Keys.idKey(WRITING, id) }], false)),
                Effect.ignore
              )
        )
      })

    /** Publication rows of staged segments (their rows and the removal of their `o/w` markers). */
    const stagedOps = (staged: ReadonlyArray<Staged>): Array<LevelDatabase.Op> => {
      const ops: Array<LevelDatabase.Op> = []
      for (const s of staged) {
        for (const r of s.rows) ops.push(r)
        if (s.written) ops.push({ type: "del", key: Keys.idKey(WRITING, s.segment.id) })
      }
      return ops
    }

    /** Takes staged data back after a publication did not happen. */
    const abandon = (operation: string, staged: Staged) =>
      staged.written
        ? clearData(operation, [staged.segment.id]).pipe(
            Effect.andThen(
              database.write(operation, "kv", [{ type: "del", key: Keys.idKey(WRITING, staged.segment.id) }], false)
            ),
            Effect.ignore
          )
        : Effect.void

    /** Publishes `meta` under `name` (caller holds the name lock); returns the ids it replaced. */
    const publish = (operation: string, name: string, meta: Meta, extra: ReadonlyArray<LevelDatabase.Op>) =>
      Effect.gen(function* () {
        const old = yield* readMeta(operation, name)
        const kept = new Set(meta.segments.map((s) => s.id))
        const replaced = (old?.segments ?? []).map((s) => s.id).filter((id) => !kept.has(id))
        yield* database.write(
          operation,
          "kv",
          [...extra, { type: "put", key: metaKey(name), value: encodeMeta(meta) }, ...tombstones(replaced)],
          sync
        )
        return replaced
      })

    const precondition = (operation: string, name: string, options: MutableObjectStore.PutOptions | undefined) =>
      Effect.flatMap(readMeta(operation, name), (existing): Effect.Effect<void, StorageError.StorageError> => {
        if (options?.ifNoneMatch === "*" && existing !== undefined) {
          return Effect.fail(conflict(operation, name, "the object exists (ifNoneMatch: *)"))
        }
        if (options?.ifMatch !== undefined) {
          if (existing === undefined)
            return Effect.fail(conflict(operation, name, "the object does not exist (ifMatch)"))
          if (existing.etag !== MutableObjectStore.normalizeEtag(options.ifMatch)) {
            return Effect.fail(conflict(operation, name, `the object's ETag is not ${options.ifMatch} (ifMatch)`))
          }
        }
        return Effect.void
      })

    /** The bytes `[start, end)` of a meta's segments, read from `snapshot`. */
    const content = (
      operation: string,
      name: string,
      meta: Meta,
      start: number,
      end: number,
      snapshot: unknown
    ): Stream.Stream<Uint8Array, StorageError.StorageError> => {
      const pieces: Array<{ readonly segment: Segment; readonly from: number; readonly to: number }> = []
      let base = 0
      for (const s of meta.segments) {
        const from = Math.max(start, base)
        const to = Math.min(end, base + s.size)
        if (from < to) pieces.push({ segment: s, from: from - base, to: to - base })
        base += s.size
      }
      return Stream.fromIterable(pieces).pipe(
        Stream.flatMap(({ segment, from, to }) => {
          const first = Math.floor(from / chunkSize)
          const last = Math.ceil(to / chunkSize)
          let expect = first
          return Scan.rows(
            database,
            operation,
            { gte: chunkKey(segment.id, first), lt: chunkKey(segment.id, last), snapshot },
            (k, v) => {
              const n = Keys.readU48(k, DATA.prefix.byteLength + 6)
              if (n !== expect) return undefined
              expect++
              const at = n * chunkSize
              const a = Math.max(from, at) - at
              const b = Math.min(to, at + v.byteLength) - at
              if (a >= b) return undefined
              return Keys.plain(a === 0 && b === v.byteLength ? v : v.subarray(a, b))
            },
            () => corrupt(operation, name, "object chunk"),
            8
          ).pipe(
            Stream.concat(
              Stream.fromEffect(
                Effect.suspend(() =>
                  expect === last ? Effect.void : Effect.fail(corrupt(operation, name, "object (chunks missing)"))
                )
              ).pipe(Stream.drain)
            )
          )
        })
      )
    }

    const withSnapshot = <A, E>(f: (snapshot: unknown) => Stream.Stream<A, E>) =>
      Stream.unwrap(
        Effect.map(
          Effect.acquireRelease(
            Effect.sync(() => db.snapshot()),
            (s) => Effect.promise(() => s.close().catch(() => undefined))
          ),
          f
        )
      )

    const copyStream = (operation: string, name: string, meta: Meta, snapshot: unknown) =>
      content(operation, name, meta, 0, meta.size, snapshot)

    return MutableObjectStore.make({
      head: (name) =>
        Effect.map(readMeta(`${R}.head`, name), (m) =>
          m === undefined ? Option.none() : Option.some(infoOf(name, m))
        ),

      list: (options) =>
        Effect.gen(function* () {
          const operation = `${R}.list`
          const { prefix, after, limit } = yield* ImmutableObjectStore.decodeListOptions(operation, options)
          const bounds = Keys.prefixRange(META, prefix)
          const a = after === undefined ? undefined : metaKey(after)
          const rows = yield* Scan.page(database, operation, {
            ...(a !== undefined && Buffer.compare(a, bounds.gte) >= 0 ? { gt: a } : { gte: bounds.gte }),
            lt: bounds.lt,
            limit: limit + 1
          })
          const objects: Array<ImmutableObjectStore.ObjectInfo> = []
          for (const [k, v] of rows.slice(0, limit)) {
            const name = Keys.textOf(META, k)
            const m = decodeMeta(v)
            if (m === undefined) return yield* Effect.fail(corrupt(operation, name, "object record"))
            objects.push(infoOf(name, m))
          }
          const last = objects[objects.length - 1]
          return rows.length > limit && last !== undefined
            ? { objects, cursor: ImmutableObjectStore.encodeCursor(last.name) }
            : { objects }
        }),

      get: (name, range) =>
        withSnapshot((snapshot) =>
          Stream.unwrap(
            Effect.gen(function* () {
              const operation = `${R}.get`
              const meta = yield* readMeta(operation, name, snapshot)
              if (meta === undefined) return yield* Effect.fail(notFound(operation, name, "no such object"))
              yield* ImmutableObjectStore.checkRangeWithin(operation, name, range, meta.size)
              const start = range?.start ?? 0
              const end = range?.end ?? meta.size
              return content(operation, name, meta, start, end, snapshot)
            })
          )
        ),

      put: (name, body, options) =>
        Effect.gen(function* () {
          const operation = `${W}.put`
          if (options?.ifNoneMatch !== undefined || options?.ifMatch !== undefined) {
            yield* precondition(operation, name, options)
          }
          const staged = yield* stage(operation, body)
          const replaced = yield* names
            .with(
              [name],
              "exclusive",
              Effect.uninterruptible(
                Effect.gen(function* () {
                  yield* precondition(operation, name, options)
                  const now = yield* Clock.currentTimeMillis
                  const meta: Meta = {
                    segments: staged.segment.id === 0 ? [] : [staged.segment],
                    size: staged.segment.size,
                    etag: staged.etag,
                    contentType: options?.contentType,
                    metadata: { ...options?.metadata },
                    lastModified: now
                  }
                  const replaced = yield* publish(operation, name, meta, stagedOps([staged]))
                  return { replaced, info: infoOf(name, meta) }
                })
              )
            )
            .pipe(Effect.onError(() => abandon(operation, staged)))
          yield* discard(operation, replaced.replaced)
          return replaced.info
        }),

      delete: (name) =>
        Effect.gen(function* () {
          const operation = `${W}.delete`
          const removed = yield* names.with(
            [name],
            "exclusive",
            Effect.uninterruptible(
              Effect.gen(function* () {
                const old = yield* readMeta(operation, name)
                if (old === undefined) return undefined
                const ids = old.segments.map((s) => s.id)
                yield* database.write(operation, "kv", [{ type: "del", key: metaKey(name) }, ...tombstones(ids)], sync)
                return ids
              })
            )
          )
          if (removed === undefined) return false
          yield* discard(operation, removed)
          return true
        }),

      copy: (from, to) =>
        Effect.gen(function* () {
          const operation = `${W}.copy`
          const snapshotted = yield* Effect.scoped(
            Effect.gen(function* () {
              const snapshot = yield* Effect.acquireRelease(
                Effect.sync(() => db.snapshot()),
                (s) => Effect.promise(() => s.close().catch(() => undefined))
              )
              const src = yield* readMeta(operation, from, snapshot)
              if (src === undefined) return yield* Effect.fail(notFound(operation, from, "no such source object"))
              const staged = yield* stage(operation, copyStream(operation, from, src, snapshot))
              return { src, staged }
            })
          )
          const { src, staged } = snapshotted
          const result = yield* names
            .with(
              [to],
              "exclusive",
              Effect.uninterruptible(
                Effect.gen(function* () {
                  const now = yield* Clock.currentTimeMillis
                  const meta: Meta = {
                    segments: staged.segment.id === 0 ? [] : [staged.segment],
                    size: staged.segment.size,
                    etag: src.etag,
                    contentType: src.contentType,
                    metadata: { ...src.metadata },
                    lastModified: now
                  }
                  const replaced = yield* publish(operation, to, meta, stagedOps([staged]))
                  return { replaced, info: infoOf(to, meta) }
                })
              )
            )
            .pipe(Effect.onError(() => abandon(operation, staged)))
          yield* discard(operation, result.replaced)
          return result.info
        }),

      putRange: (name, offset, bytes) =>
        Effect.gen(function* () {
          const operation = `${W}.putRange`
          const data = new Uint8Array(bytes)
          const replaced = yield* names.with(
            [name],
            "exclusive",
            Effect.uninterruptible(
              Effect.scoped(
                Effect.gen(function* () {
                  const snapshot = yield* Effect.acquireRelease(
                    Effect.sync(() => db.snapshot()),
                    (s) => Effect.promise(() => s.close().catch(() => undefined))
                  )
                  const old = yield* readMeta(operation, name, snapshot)
                  const oldSize = old?.size ?? 0
                  const end = offset + data.byteLength
                  const gap = Math.max(0, offset - oldSize)
                  const zeros = (n: number): Stream.Stream<Uint8Array> =>
                    n <= 0
                      ? Stream.empty
                      : Stream.fromIterable(
                          Array.from(
                            { length: Math.ceil(n / chunkSize) },
                            (_, i) => new Uint8Array(Math.min(chunkSize, n - i * chunkSize))
                          )
                        )
                  const before =
                    old === undefined
                      ? Stream.empty
                      : content(operation, name, old, 0, Math.min(offset, oldSize), snapshot)
                  const after =
                    old === undefined || end >= oldSize
                      ? Stream.empty
                      : content(operation, name, old, end, oldSize, snapshot)
                  const body = before.pipe(
                    Stream.concat(zeros(gap)),
                    Stream.concat(data.byteLength === 0 ? Stream.empty : Stream.succeed(data)),
                    Stream.concat(after)
                  )
                  const staged = yield* stage(operation, body)
                  const now = yield* Clock.currentTimeMillis
                  const meta: Meta = {
                    segments: staged.segment.id === 0 ? [] : [staged.segment],
                    size: staged.segment.size,
                    etag: staged.etag,
                    contentType: old?.contentType,
                    metadata: { ...old?.metadata },
                    lastModified: now
                  }
                  return yield* publish(operation, name, meta, stagedOps([staged])).pipe(
                    Effect.onError(() => abandon(operation, staged))
                  )
                })
              )
            )
          )
          yield* discard(operation, replaced)
        }),

      startMultipart: (name, options) =>
        Effect.gen(function* () {
          const operation = `${W}.startMultipart`
          const now = yield* Clock.currentTimeMillis
          const uploadId = randomUUID()
          const row: UploadRow = {
            name,
            initiated: now,
            ...(options?.contentType === undefined ? {} : { contentType: options.contentType }),
            metadata: { ...options?.metadata }
          }
          yield* database.write(
            operation,
            "kv",
            [
              { type: "put", key: uploadKey(uploadId), value: json(row) },
              { type: "put", key: byNameKey(name, uploadId), value: json(row) }
            ],
            sync
          )
          return uploadId
        }),

      uploadPart: (uploadId, partNumber, body) =>
        Effect.gen(function* () {
          const operation = `${W}.uploadPart`
          yield* validateUploadId(operation, uploadId)
          const readUpload = readUploadRow(operation, uploadId)
          if ((yield* readUpload) === undefined) {
            return yield* Effect.fail(notFound(operation, uploadId, "no such multipart upload"))
          }
          const staged = yield* stage(operation, Stream.succeed(new Uint8Array(body)))
          const replaced = yield* uploads
            .with(
              [uploadId],
              "shared",
              uploads.with(
                [`${uploadId}\u0000${partNumber}`],
                "exclusive",
                Effect.uninterruptible(
                  Effect.gen(function* () {
                    if ((yield* readUpload) === undefined) {
                      return yield* Effect.fail(notFound(operation, uploadId, "no such multipart upload"))
                    }
                    const old = yield* readPart(operation, uploadId, partNumber)
                    const part: PartRow = { id: staged.segment.id, size: staged.segment.size, etag: staged.etag }
                    const oldIds = old === undefined ? [] : [old.id]
                    yield* database.write(
                      operation,
                      "kv",
                      [
                        ...stagedOps([staged]),
                        { type: "put", key: partKey(uploadId, partNumber), value: json(part) },
                        ...tombstones(oldIds)
                      ],
                      sync
                    )
                    return oldIds
                  })
                )
              )
            )
            .pipe(Effect.onError(() => abandon(operation, staged)))
          yield* discard(operation, replaced)
          return { partNumber, etag: staged.etag, size: staged.segment.size }
        }),

      listParts: (uploadId) =>
        Effect.gen(function* () {
          const operation = `${W}.listParts`
          yield* validateUploadId(operation, uploadId)
          if ((yield* readUploadRow(operation, uploadId)) === undefined) {
            return yield* Effect.fail(notFound(operation, uploadId, "no such multipart upload"))
          }
          return (yield* readParts(operation, uploadId)).map(([partNumber, p]) => ({
            partNumber,
            etag: p.etag,
            size: p.size
          }))
        }),

      completeMultipart: (uploadId, parts) =>
        Effect.gen(function* () {
          const operation = `${W}.completeMultipart`
          yield* validateUploadId(operation, uploadId)
          const done = yield* uploads.with(
            [uploadId],
            "exclusive",
            Effect.gen(function* () {
              const upload = yield* readUploadRow(operation, uploadId)
              if (upload === undefined) {
                return yield* Effect.fail(notFound(operation, uploadId, "no such multipart upload"))
              }
              const all = new Map(yield* readParts(operation, uploadId))
              const chosen: Array<PartRow> = []
              for (const { partNumber, etag } of parts) {
                const p = all.get(partNumber)
                if (p === undefined) {
                  return yield* Effect.fail(conflict(operation, upload.name, `part ${partNumber} was not uploaded`))
                }
                if (p.etag !== MutableObjectStore.normalizeEtag(etag)) {
                  return yield* Effect.fail(
                    conflict(operation, upload.name, `part ${partNumber} has ETag ${p.etag}, not ${etag}`)
                  )
                }
                chosen.push(p)
              }
              const chosenIds = new Set(chosen.map((p) => p.id))
              const unused = [...all.values()].map((p) => p.id).filter((id) => !chosenIds.has(id))
              return yield* names.with(
                [upload.name],
                "exclusive",
                Effect.uninterruptible(
                  Effect.gen(function* () {
                    const now = yield* Clock.currentTimeMillis
                    const meta: Meta = {
                      segments: chosen.filter((p) => p.size > 0).map((p) => ({ id: p.id, size: p.size })),
                      size: chosen.reduce((n, p) => n + p.size, 0),
                      etag: MutableObjectStore.multipartEtagOf(chosen.map((p) => p.etag)),
                      contentType: upload.contentType,
                      metadata: upload.metadata,
                      lastModified: now
                    }
                    const cleanup: Array<LevelDatabase.Op> = [
                      { type: "del", key: uploadKey(uploadId) },
                      { type: "del", key: byNameKey(upload.name, uploadId) },
                      ...[...all.keys()].map((n) => ({ type: "del" as const, key: partKey(uploadId, n) })),
                      ...tombstones(unused)
                    ]
                    const replaced = yield* publish(operation, upload.name, meta, cleanup)
                    return { info: infoOf(upload.name, meta), discarded: [...replaced, ...unused] }
                  })
                )
              )
            })
          )
          yield* discard(operation, done.discarded)
          return done.info
        }),

      abortMultipart: (uploadId) =>
        Effect.gen(function* () {
          const operation = `${W}.abortMultipart`
          yield* validateUploadId(operation, uploadId)
          const ids = yield* uploads.with(
            [uploadId],
            "exclusive",
            Effect.uninterruptible(
              Effect.gen(function* () {
                const upload = yield* readUploadRow(operation, uploadId)
                if (upload === undefined) return undefined
                const all = yield* readParts(operation, uploadId)
                const ids = all.map(([, p]) => p.id)
                yield* database.write(
                  operation,
                  "kv",
                  [
                    { type: "del", key: uploadKey(uploadId) },
                    { type: "del", key: byNameKey(upload.name, uploadId) },
                    ...all.map(([n]) => ({ type: "del" as const, key: partKey(uploadId, n) })),
                    ...tombstones(ids)
                  ],
                  sync
                )
                return ids
              })
            )
          )
          if (ids === undefined) return false
          yield* discard(operation, ids)
          return true
        }),

      listMultipart: (options) =>
        Effect.gen(function* () {
          const operation = `${W}.listMultipart`
          const { prefix, after, limit } = yield* ImmutableObjectStore.decodeListOptions(operation, options)
          const bounds = Keys.prefixRange(BY_NAME, prefix)
          let a: Uint8Array | undefined
          if (after !== undefined) {
            const i = after.indexOf("\u0000")
            a = i < 0 ? Keys.textKey(BY_NAME, after) : byNameKey(after.slice(0, i), after.slice(i + 1))
          }
          const rows = yield* Scan.page(database, operation, {
            ...(a !== undefined && Buffer.compare(a, bounds.gte) >= 0 ? { gt: a } : { gte: bounds.gte }),
            lt: bounds.lt,
            limit: limit + 1
          })
          const out: Array<MutableObjectStore.MultipartUpload> = []
          for (const [k, v] of rows.slice(0, limit)) {
            const text = Keys.textOf(BY_NAME, k)
            const i = text.indexOf("\u0000")
            const u = decodeUpload(v)
            if (i < 0 || u === undefined) return yield* Effect.fail(corrupt(operation, text, "multipart upload"))
            out.push({ uploadId: text.slice(i + 1), name: u.name, initiated: u.initiated })
          }
          const last = out[out.length - 1]
          return rows.length > limit && last !== undefined
            ? { uploads: out, cursor: ImmutableObjectStore.encodeCursor(`${last.name}\u0000${last.uploadId}`) }
            : { uploads: out }
        })
    })

    function readUploadRow(operation: string, uploadId: string) {
      return Effect.flatMap(
        database.use(operation, () => db.get(uploadKey(uploadId)), uploadId),
        (raw): Effect.Effect<UploadRow | undefined, StorageError.StorageError> => {
          if (raw === undefined) return Effect.succeed(undefined)
          const u = decodeUpload(raw)
          return u === undefined ? Effect.fail(corrupt(operation, uploadId, "multipart upload")) : Effect.succeed(u)
        }
      )
    }

    function readPart(operation: string, uploadId: string, n: number) {
      return Effect.flatMap(
        database.use(operation, () => db.get(partKey(uploadId, n)), uploadId),
        (raw): Effect.Effect<PartRow | undefined, StorageError.StorageError> => {
          if (raw === undefined) return Effect.succeed(undefined)
          const p = decodePart(raw)
          return p === undefined ? Effect.fail(corrupt(operation, uploadId, "part record")) : Effect.succeed(p)
        }
      )
    }

    function readParts(operation: string, uploadId: string) {
      const prefix = partPrefix(uploadId)
      return Effect.flatMap(
        Scan.page(database, operation, { gte: prefix, lt: Keys.successor(prefix) }),
        (rows): Effect.Effect<Array<readonly [number, PartRow]>, StorageError.StorageError> => {
          const out: Array<readonly [number, PartRow]> = []
          for (const [k, v] of rows) {
            const p = decodePart(v)
            if (p === undefined || k.byteLength !== prefix.byteLength + 4) {
              return Effect.fail(corrupt(operation, uploadId, "part record"))
            }
            out.push([Keys.readU32(k, prefix.byteLength), p])
          }
          return Effect.succeed(out)
        }
      )
    }
  })

const validateUploadId = (operation: string, uploadId: string) =>
  typeof uploadId === "string" && uploadId.length > 0 && uploadId.length <= 4096
    ? Effect.void
    : Effect.fail(
        StorageError.invalidArgument(operation, {
          message: "an upload id must be a non-empty string of at most 4096 characters"
        })
      )
