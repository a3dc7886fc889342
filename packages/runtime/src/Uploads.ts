/**
 * `Uploads`: resumable upload sessions that become blobs.
 *
 * A session is created (optionally with its total length, metadata and a TTL), receives **parts** at byte offsets —
 * in any order, retried idempotently, overlapping parts accepted only when the overlapping bytes are equal — and is
 * committed: its bytes are streamed, in order, through `BlobStore.put`, and the session remembers the result, so a
 * second commit returns the same receipt. Sessions that are not committed before they expire are swept.
 *
 * State lives in the backend, so several processes can serve one upload:
 * - session records in the {@link KeyValueStore.KeyValueStore} (`uploads/session/<id>`), changed only by
 *   compare-and-set (open → committing → committed);
 * - part bytes in the {@link MutableObjectStore.MutableObjectStore}, one object per part
 *   (`uploads/<id>/<uuid>`), written in full before the part counts;
 * - a record per accepted part in the KeyValueStore (`uploads/part/<id>/<start>-<uuid>`), and the union of their
 *   spans in the {@link RangeTracker.RangeTracker} (completed and pending spans).
 *
 * A part counts only once its bytes are stored, compared with any overlapping accepted part, and its record is
 * written; a part that fails midway leaves nothing that a commit would read.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { BinaryKey, Hashing, RangeSet, Span } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BlobStore from "./BlobStore.ts"
import type * as ConstraintViolation from "./ConstraintViolation.ts"
import * as KeyValueStore from "./KeyValueStore.ts"
import * as MutableObjectStore from "./MutableObjectStore.ts"
import * as RangeTracker from "./RangeTracker.ts"
import * as StorageError from "./StorageError.ts"

export const SessionState = Schema.Literals(["open", "committing", "committed"])
export type SessionState = typeof SessionState.Type

export const UploadSession = Schema.Struct({
  id: Schema.String,
  tenant: Schema.String,
  createdAt: Schema.Number,
  expiresAt: Schema.Number,
  /** Total length, when declared (at creation or later with `declareLength`). */
  length: Schema.optional(Schema.Number),
  metadata: Schema.Record(Schema.String, Schema.String),
  /** Key the committed content must hash to. */
  expectedKey: Schema.optional(BinaryKey.FromString),
  state: SessionState,
  /** When the current commit attempt started (state `committing`). */
  committingSince: Schema.optional(Schema.Number),
  /** The blob, once committed. */
  result: Schema.optional(BlobStore.BlobWriteResult)
}).annotate({ identifier: "UploadSession" })
export interface UploadSession extends Schema.Schema.Type<typeof UploadSession> {}

export const UploadStatus = Schema.Struct({
  session: UploadSession,
  /** Byte spans received. */
  completed: RangeSet.RangeSet,
  /** Spans still missing within the declared length (empty when the length is unknown). */
  pending: RangeSet.RangeSet,
  /** Length of the contiguous prefix received (the tus `Upload-Offset`). */
  offset: Schema.Number,
  /** Bytes received in total. */
  received: Schema.Number
}).annotate({ identifier: "UploadStatus" })
export interface UploadStatus extends Schema.Schema.Type<typeof UploadStatus> {}

/** A part's bytes did not match the checksum the client sent; the part was discarded. */
export class ChecksumMismatch extends Schema.TaggedError<ChecksumMismatch>(
  "@graviton/runtime/Uploads/ChecksumMismatch"
)("ChecksumMismatch", { id: Schema.String, algorithm: Schema.String, expected: Schema.String, actual: Schema.String }) {
  override get message(): string {
    return `part checksum mismatch (${this.algorithm}): expected ${this.expected}, got ${this.actual}`
  }
}

export interface CreateOptions {
  /** Total length in bytes, if known. */
  readonly length?: number | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** Time to live (default from the layer config, 24 hours). */
  readonly ttl?: Duration.Input | undefined
  readonly tenant?: string | undefined
  readonly expectedKey?: BinaryKey.BinaryKey | undefined
}

export interface WritePartOptions {
  /** Digest the part's bytes must have: `sha256` (or `sha-256`) with a base64 or hex digest. */
  readonly checksum?: { readonly algorithm: string; readonly digest: string } | undefined
  /** Exact number of bytes the body must have (e.g. the request's Content-Length). */
  readonly length?: number | undefined
}

export interface ListPage {
  readonly sessions: ReadonlyArray<UploadSession>
  readonly cursor?: string | undefined
}

export interface SweepReport {
  readonly scanned: number
  readonly expired: number
  readonly purgedCommitted: number
}

export interface Uploads {
  /** Opens a session. Fails `InvalidArgument` on a bad length, metadata or TTL. */
  readonly create: (options?: CreateOptions) => Effect.Effect<UploadSession, StorageError.StorageError>
  /**
   * Received and pending spans of a session. Fails `NotFound` for an unknown, cancelled or expired session (a
   * committed session still answers, with its result).
   */
  readonly status: (id: string) => Effect.Effect<UploadStatus, StorageError.StorageError>
  /**
   * Stores `body` at `offset` and returns the new status. Parts may arrive in any order; re-sending a part is
   * idempotent; a part overlapping received bytes with different bytes fails `Conflict`, and bytes beyond the declared
   * length fail `InvalidArgument` — in both cases the part is discarded. Fails `NotFound` on an unknown or expired
   * session and `Conflict` once the session is committing or committed.
   */
  readonly writePart: <E, R>(
    id: string,
    offset: number,
    body: Stream.Stream<Uint8Array, E, R>,
    options?: WritePartOptions
  ) => Effect.Effect<UploadStatus, StorageError.StorageError | ChecksumMismatch | E, R>
  /** Declares the total length of a session created without one (tus `Upload-Defer-Length`). */
  readonly declareLength: (id: string, length: number) => Effect.Effect<UploadSession, StorageError.StorageError>
  /**
   * Streams the parts in order through `BlobStore.put` and publishes the blob. Idempotent: committing a committed
   * session returns its result. Fails `InvalidArgument` when bytes are missing or the length is unknown, `Conflict`
   * (retryable) while another commit of the same session runs, `NotFound` for unknown or expired sessions. A failed
   * commit leaves the session open.
   */
  readonly commit: (
    id: string
  ) => Effect.Effect<BlobStore.BlobWriteResult, StorageError.StorageError | ConstraintViolation.ConstraintViolation>
  /** Deletes a session and its staged bytes; `true` when it existed. */
  readonly cancel: (id: string) => Effect.Effect<boolean, StorageError.StorageError>
  /** Sessions ordered by id. */
  readonly list: (options?: {
    readonly cursor?: string | undefined
    readonly limit?: number | undefined
  }) => Effect.Effect<ListPage, StorageError.StorageError>
  /**
   * Removes sessions past their expiry that were not committed (with their staged bytes), and committed session
   * records older than `keepCommitted`.
   */
  readonly sweep: Effect.Effect<SweepReport, StorageError.StorageError>
}

export const Uploads: Context.Service<Uploads, Uploads> = Context.Service("@graviton/runtime/Uploads")

export interface Config {
  /** Default session TTL (24 hours). */
  readonly ttl?: Duration.Input | undefined
  /** Longest accepted TTL (30 days). */
  readonly maxTtl?: Duration.Input | undefined
  /** How long committed session records are kept for idempotent commit retries (24 hours). */
  readonly keepCommitted?: Duration.Input | undefined
  /** A commit attempt older than this is considered abandoned and may be taken over (10 minutes). */
  readonly commitTimeout?: Duration.Input | undefined
}

const SESSION = "uploads/session/"
const PART = "uploads/part/"
const OBJECT = "uploads/"
const TRACKER = "uploads/"
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/

const PartRecord = Schema.Struct({ start: Schema.Number, end: Schema.Number, object: Schema.String })
type PartRecord = typeof PartRecord.Type

const pad = (n: number) => n.toString().padStart(16, "0")

/** Builds the service over the stores in context. */
export const make = Effect.fnUntraced(function* (config: Config = {}) {
  const kv = yield* KeyValueStore.KeyValueStore
  const objects = yield* MutableObjectStore.MutableObjectStore
  const tracker = yield* RangeTracker.RangeTracker
  const blobs = yield* BlobStore.BlobStore
  const ttlDefault = Duration.toMillis(Duration.fromInputUnsafe(config.ttl ?? "24 hours"))
  const maxTtl = Duration.toMillis(Duration.fromInputUnsafe(config.maxTtl ?? "30 days"))
  const keepCommitted = Duration.toMillis(Duration.fromInputUnsafe(config.keepCommitted ?? "24 hours"))
  const commitTimeout = Duration.toMillis(Duration.fromInputUnsafe(config.commitTimeout ?? "10 minutes"))

  const invalid = (operation: string, message: string, key?: string) =>
    StorageError.invalidArgument(`Uploads.${operation}`, { message, key })
  const gone = (operation: string, id: string) =>
    StorageError.notFound(`Uploads.${operation}`, {
      key: id,
      message: "no such upload (unknown, cancelled or expired)"
    })

  const encodeSession = Schema.encodeSync(Schema.fromJsonString(Schema.toCodecJson(UploadSession)))
  const decodeSession = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.toCodecJson(UploadSession)))
  const bytesOf = (s: UploadSession) => new TextEncoder().encode(encodeSession(s))

  /** The raw stored record and its decoded session. */
  const load = (operation: string, id: string) =>
    Effect.gen(function* () {
      if (!ID_RE.test(id)) return yield* gone(operation, id)
      const raw = yield* kv.get(SESSION + id)
      if (Option.isNone(raw)) return yield* gone(operation, id)
      const session = yield* decodeSession(new TextDecoder().decode(raw.value)).pipe(
        Effect.mapError((cause) =>
          StorageError.corrupt(`Uploads.${operation}`, { key: id, message: "session record does not decode", cause })
        )
      )
      const now = yield* Clock.currentTimeMillis
      if (session.state !== "committed" && now >= session.expiresAt) return yield* gone(operation, id)
      return { raw: raw.value, session }
    })

  /** Compare-and-set transition; fails `Conflict` (retryable) when the record changed under us. */
  const transition = (operation: string, id: string, raw: Uint8Array, next: UploadSession) =>
    Effect.flatMap(kv.compareAndSet(SESSION + id, raw, bytesOf(next)), (ok) =>
      ok
        ? Effect.succeed(next)
        : Effect.fail(
            StorageError.conflict(`Uploads.${operation}`, {
              key: id,
              message: "the upload changed concurrently; retry",
              retryable: true
            })
          )
    )

  const partRecords = (id: string) =>
    Effect.gen(function* () {
      const entries = yield* KeyValueStore.listAll(kv, `${PART}${id}/`)
      const out: Array<PartRecord> = []
      for (const e of entries) {
        const decoded = Schema.decodeUnknownOption(Schema.fromJsonString(PartRecord))(new TextDecoder().decode(e.value))
        if (Option.isSome(decoded)) out.push(decoded.value)
      }
      return out.sort((a, b) => a.start - b.start || b.end - a.end)
    })

  const statusOf = (session: UploadSession) =>
    Effect.map(
      session.state === "committed"
        ? Effect.succeed(
            session.length === undefined || session.length === 0
              ? RangeSet.empty
              : RangeSet.of(Span.unsafeMake(0, session.length))
          )
        : tracker.getCompleted(TRACKER + session.id),
      (completed): UploadStatus => {
        const first = completed[0]
        const offset = first !== undefined && first.start === 0 ? first.end : 0
        const pending =
          session.length === undefined
            ? RangeSet.empty
            : RangeSet.complement(completed, Span.unsafeMake(0, session.length))
        return { session, completed, pending, offset, received: RangeSet.totalLength(completed) }
      }
    )

  const create: Uploads["create"] = (options) =>
    Effect.gen(function* () {
      const length = options?.length
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
        return yield* invalid("create", `invalid length ${length}`)
      }
      const ttl = Duration.toMillis(Duration.fromInputUnsafe(options?.ttl ?? ttlDefault))
      if (!(ttl > 0) || ttl > maxTtl) return yield* invalid("create", `ttl must be within (0, ${maxTtl}] ms`)
      const metadata = options?.metadata ?? {}
      const keys = Object.keys(metadata)
      if (keys.length > 64 || keys.some((k) => k.length === 0 || k.length > 256 || metadata[k]!.length > 4096)) {
        return yield* invalid("create", "metadata must have at most 64 keys of 1..256 chars with values up to 4096")
      }
      if (options?.expectedKey !== undefined && length !== undefined && options.expectedKey.size !== length) {
        return yield* invalid("create", "the expected key's size differs from the declared length")
      }
      const now = yield* Clock.currentTimeMillis
      const session: UploadSession = {
        id: randomUUID().replace(/-/g, ""),
        tenant: options?.tenant ?? "default",
        createdAt: now,
        expiresAt: now + ttl,
        metadata: { ...metadata },
        state: "open",
        ...(length === undefined ? {} : { length }),
        ...(options?.expectedKey === undefined ? {} : { expectedKey: options.expectedKey })
      }
      const ok = yield* kv.compareAndSet(SESSION + session.id, undefined, bytesOf(session))
      if (!ok)
        return yield* StorageError.conflict("Uploads.create", { message: "upload id collision", retryable: true })
      return session
    })

  /** Compares the overlapping bytes of a new part with the accepted parts it overlaps. */
  const sameBytes = (newObject: string, newStart: number, existing: PartRecord, span: Span.Span) =>
    Effect.gen(function* () {
      const window = 1024 * 1024
      for (let at = span.start; at < span.end; at += window) {
        const end = Math.min(span.end, at + window)
        const a = yield* objects.getRange(newObject, { start: at - newStart, end: end - newStart })
        const b = yield* objects.getRange(existing.object, { start: at - existing.start, end: end - existing.start })
        if (Buffer.compare(a, b) !== 0) return false
      }
      return true
    })

  const writePart: Uploads["writePart"] = (id, offset, body, options) =>
    Effect.gen(function* () {
      const { session } = yield* load("writePart", id)
      if (session.state !== "open") {
        return yield* StorageError.conflict("Uploads.writePart", { key: id, message: `upload is ${session.state}` })
      }
      if (!Number.isSafeInteger(offset) || offset < 0)
        return yield* invalid("writePart", `invalid offset ${offset}`, id)
      const limit = session.length === undefined ? undefined : session.length - offset
      if (limit !== undefined && limit < 0) {
        return yield* invalid("writePart", `offset ${offset} is beyond the declared length ${session.length}`, id)
      }
      const algorithm = options?.checksum?.algorithm.toLowerCase()
      if (algorithm !== undefined && algorithm !== "sha256" && algorithm !== "sha-256") {
        return yield* invalid("writePart", `unsupported checksum algorithm ${options?.checksum?.algorithm}`, id)
      }
      const hasher = algorithm === undefined ? undefined : Hashing.make("sha-256")
      let received = 0
      const object = `${OBJECT}${id}/${randomUUID()}`
      const tooLong = () =>
        invalid("writePart", `part extends beyond the declared length ${session.length} of the upload`, id)
      const counted = body.pipe(
        Stream.mapEffect((chunk) => {
          received += chunk.byteLength
          if (limit !== undefined && received > limit) return Effect.fail(tooLong())
          if (options?.length !== undefined && received > options.length) {
            return Effect.fail(invalid("writePart", `part is longer than the declared ${options.length} bytes`, id))
          }
          hasher?.update(chunk)
          return Effect.succeed(chunk)
        })
      )
      const discard = objects.delete(object).pipe(Effect.ignore)
      yield* objects.put(object, counted).pipe(Effect.onError(() => discard))
      const accept = Effect.gen(function* () {
        if (options?.length !== undefined && received !== options.length) {
          return yield* invalid("writePart", `part has ${received} bytes, expected ${options.length}`, id)
        }
        if (hasher !== undefined && options?.checksum !== undefined) {
          const digest = hasher.digest()
          const expected = options.checksum.digest
          const hex = Buffer.from(digest).toString("hex")
          const b64 = Buffer.from(digest).toString("base64")
          if (expected !== hex && expected !== b64) {
            return yield* new ChecksumMismatch({ id, algorithm: "sha256", expected, actual: b64 })
          }
        }
        if (received === 0) return
        const span = Span.unsafeMake(offset, offset + received)
        for (const p of yield* partRecords(id)) {
          const overlap = Span.intersect(span, Span.unsafeMake(p.start, p.end))
          if (overlap === undefined || Span.isEmpty(overlap)) continue
          if (!(yield* sameBytes(object, offset, p, overlap))) {
            return yield* StorageError.conflict("Uploads.writePart", {
              key: id,
              message: `bytes at [${overlap.start}, ${overlap.end}) differ from the bytes already received there`
            })
          }
        }
        const record: PartRecord = { start: span.start, end: span.end, object }
        yield* kv.putString(
          `${PART}${id}/${pad(span.start)}-${object.slice(object.lastIndexOf("/") + 1)}`,
          JSON.stringify(record)
        )
        yield* tracker.markComplete(TRACKER + id, span)
      })
      yield* accept.pipe(Effect.onError(() => discard))
      if (received === 0) yield* discard
      return yield* statusOf(session)
    })

  const declareLength: Uploads["declareLength"] = (id, length) =>
    Effect.gen(function* () {
      const { raw, session } = yield* load("declareLength", id)
      if (!Number.isSafeInteger(length) || length < 0)
        return yield* invalid("declareLength", `invalid length ${length}`, id)
      if (session.length !== undefined) {
        if (session.length === length) return session
        return yield* StorageError.conflict("Uploads.declareLength", { key: id, message: "length already declared" })
      }
      const completed = yield* tracker.getCompleted(TRACKER + id)
      const end = RangeSet.bounds(completed)?.end ?? 0
      if (end > length) {
        return yield* invalid("declareLength", `${end} bytes already received, more than the length ${length}`, id)
      }
      return yield* transition("declareLength", id, raw, { ...session, length })
    })

  const cleanup = (id: string) =>
    Effect.gen(function* () {
      for (const p of yield* partRecords(id)) yield* objects.delete(p.object).pipe(Effect.ignore)
      // staged objects whose part record was never written (a crash mid-part)
      let cursor: string | undefined
      do {
        const page: { objects: ReadonlyArray<{ name: string }>; cursor?: string | undefined } = yield* objects.list({
          prefix: `${OBJECT}${id}/`,
          cursor,
          limit: 1000
        })
        for (const o of page.objects) yield* objects.delete(o.name).pipe(Effect.ignore)
        cursor = page.cursor
      } while (cursor !== undefined)
      for (const e of yield* KeyValueStore.listAll(kv, `${PART}${id}/`)) yield* kv.delete(e.key)
      yield* tracker.delete(TRACKER + id)
    })

  const commit: Uploads["commit"] = (id) =>
    Effect.gen(function* () {
      const { raw, session } = yield* load("commit", id)
      if (session.state === "committed" && session.result !== undefined) return session.result
      const now = yield* Clock.currentTimeMillis
      if (session.state === "committing" && now - (session.committingSince ?? 0) < commitTimeout) {
        return yield* StorageError.conflict("Uploads.commit", {
          key: id,
          message: "a commit of this upload is in progress",
          retryable: true
        })
      }
      const completed = yield* tracker.getCompleted(TRACKER + id)
      const first = completed[0]
      const length =
        session.length ??
        (completed.length === 1 && first !== undefined && first.start === 0
          ? first.end
          : completed.length === 0
            ? 0
            : -1)
      if (length < 0)
        return yield* invalid("commit", "the upload's length is unknown and its bytes are not contiguous", id)
      const missing = RangeSet.complement(completed, Span.unsafeMake(0, length))
      if (!RangeSet.isEmpty(missing)) {
        return yield* invalid("commit", `bytes missing: ${RangeSet.format(missing)}`, id)
      }
      const committingRaw = bytesOf({ ...session, state: "committing", committingSince: now })
      const claimed = yield* kv.compareAndSet(SESSION + id, raw, committingRaw)
      if (!claimed) {
        return yield* StorageError.conflict("Uploads.commit", {
          key: id,
          message: "the upload changed concurrently; retry",
          retryable: true
        })
      }
      const parts = yield* partRecords(id)
      const content = Stream.suspend(() => {
        let cursor = 0
        const pieces: Array<{ readonly object: string; readonly start: number; readonly end: number }> = []
        for (const p of parts) {
          if (p.end <= cursor || cursor >= length) continue
          const from = Math.max(cursor, p.start)
          const to = Math.min(p.end, length)
          pieces.push({ object: p.object, start: from - p.start, end: to - p.start })
          cursor = to
        }
        return Stream.fromIterable(pieces).pipe(
          Stream.flatMap((piece) => objects.get(piece.object, { start: piece.start, end: piece.end }))
        )
      })
      const reopen = kv.compareAndSet(SESSION + id, committingRaw, raw).pipe(Effect.ignore)
      const result = yield* blobs
        .put(content, {
          expectedSize: length,
          attributes: session.metadata,
          tenant: session.tenant,
          ...(session.expectedKey === undefined ? {} : { expectedKey: session.expectedKey })
        })
        .pipe(Effect.onError(() => reopen))
      const done: UploadSession = {
        id: session.id,
        tenant: session.tenant,
        createdAt: session.createdAt,
        expiresAt: session.expiresAt,
        metadata: session.metadata,
        state: "committed",
        result,
        length,
        ...(session.expectedKey === undefined ? {} : { expectedKey: session.expectedKey })
      }
      yield* kv.compareAndSet(SESSION + id, committingRaw, bytesOf(done))
      yield* cleanup(id).pipe(Effect.ignore)
      return result
    })

  const cancel: Uploads["cancel"] = (id) =>
    Effect.gen(function* () {
      if (!ID_RE.test(id)) return false
      const raw = yield* kv.get(SESSION + id)
      if (Option.isNone(raw)) return false
      yield* cleanup(id)
      yield* kv.delete(SESSION + id)
      return true
    })

  const list: Uploads["list"] = (options) =>
    Effect.gen(function* () {
      const page = yield* kv.list({ prefix: SESSION, cursor: options?.cursor, limit: options?.limit ?? 100 })
      const sessions: Array<UploadSession> = []
      for (const e of page.entries) {
        const s = yield* Effect.option(decodeSession(new TextDecoder().decode(e.value)))
        if (Option.isSome(s)) sessions.push(s.value)
      }
      return page.cursor === undefined ? { sessions } : { sessions, cursor: page.cursor }
    })

  const sweep: Uploads["sweep"] = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    let scanned = 0
    let expired = 0
    let purgedCommitted = 0
    for (const e of yield* KeyValueStore.listAll(kv, SESSION)) {
      scanned++
      const s = yield* Effect.option(decodeSession(new TextDecoder().decode(e.value)))
      if (Option.isNone(s)) continue
      const session = s.value
      const id = session.id
      if (session.state === "committed") {
        if (now - session.createdAt >= keepCommitted && now >= session.expiresAt) {
          if (yield* kv.compareAndSet(e.key, e.value, undefined)) purgedCommitted++
        }
        continue
      }
      if (now < session.expiresAt) continue
      if (session.state === "committing" && now - (session.committingSince ?? 0) < commitTimeout) continue
      if (yield* kv.compareAndSet(e.key, e.value, undefined)) {
        yield* cleanup(id)
        expired++
      }
    }
    return { scanned, expired, purgedCommitted }
  })

  return Uploads.of({
    create,
    status: (id) => Effect.flatMap(load("status", id), ({ session }) => statusOf(session)),
    writePart,
    declareLength,
    commit,
    cancel,
    list,
    sweep
  })
})

/** The upload service over the KeyValueStore, MutableObjectStore, RangeTracker and BlobStore in context. */
export const layer = (
  config?: Config
): Layer.Layer<
  Uploads,
  never,
  KeyValueStore.KeyValueStore | MutableObjectStore.MutableObjectStore | RangeTracker.RangeTracker | BlobStore.BlobStore
> => Layer.effect(Uploads, make(config))
