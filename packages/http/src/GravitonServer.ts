/**
 * `GravitonServer`: the Graviton HTTP gateway — {@link GravitonApi.Api} implemented over the runtime's services and
 * served by Node (`@effect/platform-node`).
 *
 * ```ts
 * // serve the in-memory runtime on 127.0.0.1:8081
 * Layer.launch(GravitonServer.layer({ port: 8081 }).pipe(Layer.provide(GravitonRuntime.layerMemory())))
 * // or read GRAVITON_PORT / GRAVITON_HOST / GRAVITON_AUTH_TOKENS / limits from the environment
 * Layer.launch(GravitonServer.layerConfig.pipe(Layer.provide(runtime)))
 * ```
 *
 * The layer requires the runtime's {@link Requirements} (what `GravitonRuntime.layer` provides) and outputs the
 * running `HttpServer` (its `address` gives the bound port, useful with `port: 0`). Closing the layer's scope stops
 * accepting connections and waits for in-flight requests (up to `gracefulShutdownTimeout`) before interrupting them.
 *
 * Protection: `maxHeaderSize` (Node answers 431 above it), `headersTimeout` (408 when the headers do not arrive in
 * time — slowloris), `idleTimeout` (sockets without traffic are closed), `keepAliveTimeout`, optional
 * `requestTimeout` (whole request; off by default so large uploads are not cut), and the body limit (`maxBodySize`,
 * default the runtime's `maxBlobSize`): a declared `Content-Length` above it answers 413 before any byte is read, a
 * chunked body is cut with 413 as soon as it passes it.
 *
 * Error responses are JSON `{ error, message }` (see {@link ApiError}); unexpected failures are logged and answer
 * 500 `internal` without details.
 *
 * @since 0.1.0
 */
import { createServer, type Server } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { BinaryKey, HttpRange, type Span } from "@graviton/core"
import {
  BlobStore,
  ConstraintPolicy,
  Graviton,
  KeyValueStore,
  ManifestStore,
  MetricsRegistry,
  StorageError,
  Uploads
} from "@graviton/runtime"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServer, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { HttpApiBuilder, HttpApiError } from "effect/http-api"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ApiError from "./ApiError.ts"
import * as Auth from "./Auth.ts"
import { Api, Authorization, Capability, openApiPath, type UploadInfo } from "./GravitonApi.ts"
import { partBody, readAhead } from "./internal/bytes.ts"
import * as H from "./internal/headers.ts"

/** The runtime services the server needs (all provided by `GravitonRuntime.layer`). */
export type Requirements =
  | BlobStore.BlobStore
  | Uploads.Uploads
  | ManifestStore.ManifestStore
  | KeyValueStore.KeyValueStore
  | MetricsRegistry.MetricsRegistry
  | ConstraintPolicy.ConstraintPolicy
  | Graviton.Graviton

/** Server options; every field has a default. */
export interface Options {
  /** TCP port (default 8081; 0 picks a free one). */
  readonly port?: number | undefined
  /** Interface to bind (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** Bearer tokens (default: none, auth off). */
  readonly tokens?: Auth.Tokens | undefined
  /** Largest request body in bytes (default: the runtime's `maxBlobSize`). */
  readonly maxBodySize?: number | undefined
  /** Largest request header block in bytes (default 16 KiB; Node answers 431 above it). */
  readonly maxHeaderSize?: number | undefined
  /** Time to receive the request headers (default 30 seconds; 408 after). */
  readonly headersTimeout?: Duration.Input | undefined
  /** Time to receive the whole request, body included (default 0 = off, so long uploads are not cut). */
  readonly requestTimeout?: Duration.Input | undefined
  /** Socket inactivity before it is closed (default 2 minutes). */
  readonly idleTimeout?: Duration.Input | undefined
  /** Idle keep-alive connections are closed after this (default 5 seconds). */
  readonly keepAliveTimeout?: Duration.Input | undefined
  /** On shutdown, how long in-flight requests may run before they are interrupted (default 20 seconds). */
  readonly gracefulShutdownTimeout?: Duration.Input | undefined
  /** Log one line per request (method, URL, status; never headers). Default false. */
  readonly logRequests?: boolean | undefined
  /** Log the listening address at startup (default false). */
  readonly logAddress?: boolean | undefined
}

/** The defaults of {@link Options}. */
export const defaults = {
  port: 8081,
  host: "127.0.0.1",
  maxHeaderSize: 16 * 1024,
  headersTimeout: Duration.seconds(30),
  requestTimeout: Duration.zero,
  idleTimeout: Duration.minutes(2),
  keepAliveTimeout: Duration.seconds(5),
  gracefulShutdownTimeout: Duration.seconds(20)
} as const

const BLOBS = "/api/v1/blobs"
const UPLOADS = "/api/v1/uploads"
const TUS_VERSION = "1.0.0"
const TUS_EXTENSIONS = "creation,creation-defer-length,termination,expiration,checksum"
const IMMUTABLE = "public, max-age=31536000, immutable"
/** Request bodies are handed to the engine in pieces of this size (smaller bodies: their own size). */
const COALESCE = 1024 * 1024
/** High-water mark of every request and response socket stream. */
const SOCKET_BUFFER = 1024 * 1024
/** Downloads larger than this read ahead of the socket. */
const READ_AHEAD_FROM = 1024 * 1024
const pieceSize = (declared: number | undefined): number =>
  declared === undefined ? COALESCE : Math.max(1, Math.min(COALESCE, declared))

const ms = (d: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(d))

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------

const badRequest = (error: string, message: string) => new ApiError.BadRequest({ error, message })

const parseKey = (text: string, what = "key"): Effect.Effect<BinaryKey.BinaryKey, ApiError.BadRequest> => {
  const r = BinaryKey.parse(text)
  return Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(badRequest("invalid_key", `${what}: ${r.failure.message}`))
}

/** Maps every failure of `eff` to an API error. */
const api = <A, R>(eff: Effect.Effect<A, unknown, R>): Effect.Effect<A, ApiError.ApiError, R> =>
  Effect.mapError(eff, ApiError.fromUnknown)

/** A JSON error response with extra headers (for errors that need headers, e.g. 416, 401, 429). */
const errorResponse = (e: ApiError.ApiError, headers?: Readonly<Record<string, string>>) =>
  ApiError.toResponse(e, headers)

/** Converts a failure to a response carrying `Retry-After` when rate limited. */
const failWithHeaders = (u: unknown): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError.ApiError> => {
  const retry = ApiError.retryAfterSeconds(u)
  return retry === undefined
    ? Effect.fail(ApiError.fromUnknown(u))
    : Effect.succeed(errorResponse(ApiError.fromUnknown(u), { "retry-after": String(retry) }))
}

/**
 * Pulls the first chunk of a download before answering, so a missing or corrupt first block answers with a proper
 * error status instead of a cut connection. The rest streams lazily; the pull lives in the request scope.
 */
const prefetch = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    const first = yield* pull.pipe(Pull.catchDone(() => Effect.succeed(undefined)))
    if (first === undefined) return Stream.empty as Stream.Stream<Uint8Array, E>
    return Stream.concat(Stream.fromArray(first), Stream.fromPull(Effect.succeed(pull)))
  })

const contentTypeOf = (attributes: Readonly<Record<string, string>>): string => {
  const ct = attributes["content-type"]
  return ct !== undefined && ct.length > 0 ? ct : "application/octet-stream"
}

const encodeCursor = (offset: number): string => Buffer.from(`o${offset}`, "utf8").toString("base64url")

const decodeCursor = (cursor: string): number | undefined => {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(cursor)) return undefined
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  return text.startsWith("o") ? H.parseNonNegativeInt(text.slice(1)) : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// blobs
// ---------------------------------------------------------------------------------------------------------------

interface Limits {
  readonly maxBodySize: number
}

class ServerLimits extends Context.Service<ServerLimits, Limits>()("@graviton/http/GravitonServer/ServerLimits") {}

const BlobsHandlers = HttpApiBuilder.group(
  Api,
  "blobs",
  Effect.fnUntraced(function* (handlers) {
    const blobs = yield* BlobStore.BlobStore
    const manifests = yield* ManifestStore.ManifestStore
    const limits = yield* ServerLimits

    /** GET and HEAD share everything but the body. */
    const serve = (req: HttpServerRequest.HttpServerRequest, keyText: string, withBody: boolean) =>
      Effect.gen(function* () {
        const key = yield* parseKey(keyText)
        const stat = yield* api(blobs.stat(key))
        if (Option.isNone(stat)) return yield* new ApiError.NotFound({ error: "not_found", message: "no such blob" })
        const { size, createdAt, attributes } = stat.value
        const text = BinaryKey.format(key)
        const etag = H.etagOf(text)
        const common: Record<string, string> = {
          etag,
          "cache-control": IMMUTABLE,
          "accept-ranges": "bytes",
          "last-modified": H.httpDate(createdAt)
        }
        const h = req.headers
        const ifMatch = h["if-match"]
        if (ifMatch !== undefined && !H.ifMatchHolds(ifMatch, etag)) {
          return errorResponse(
            new ApiError.PreconditionFailed({ error: "precondition_failed", message: "If-Match does not match" }),
            common
          )
        }
        const ifNoneMatch = h["if-none-match"]
        if (ifNoneMatch !== undefined && H.noneMatchHits(ifNoneMatch, etag)) {
          return HttpServerResponse.empty({ status: 304, headers: common })
        }
        let span: Span.Span | undefined
        const rangeHeader = h.range
        const ifRange = h["if-range"]
        if (
          rangeHeader !== undefined &&
          size > 0 &&
          (ifRange === undefined || H.ifRangeHolds(ifRange, etag, createdAt))
        ) {
          const spec = HttpRange.parse(rangeHeader)
          if (Result.isFailure(spec)) {
            const reason = spec.failure.reason
            // RFC 9110 §14.2: other units and multi-range requests may be ignored (we send the whole blob)
            if (reason !== "UnsupportedUnit" && reason !== "MultipleRanges") {
              return yield* badRequest("invalid_range", spec.failure.message)
            }
          } else {
            const resolved = HttpRange.resolve(spec.success, size)
            if (Result.isFailure(resolved)) {
              return errorResponse(
                new ApiError.RangeNotSatisfiable({
                  error: "range_not_satisfiable",
                  message: resolved.failure.message
                }),
                { ...common, "content-range": HttpRange.formatUnsatisfied(size) }
              )
            }
            span = resolved.success
          }
        }
        const status = span === undefined ? 200 : 206
        const length = span === undefined ? size : span.end - span.start
        const headers =
          span === undefined ? common : { ...common, "content-range": HttpRange.formatContentRange(span, size) }
        const contentType = contentTypeOf(attributes)
        if (!withBody) {
          return HttpServerResponse.empty({
            status,
            headers: { ...headers, "content-type": contentType, "content-length": String(length) }
          })
        }
        const body = yield* api(prefetch(blobs.get(key, span)))
        // large bodies read ahead while the socket drains, so engine reads and socket writes overlap (8 blocks);
        // one block per write: the platform concatenates (copies) the blocks of a multi-block write, while the socket
        // queues single writes and flushes them with one writev
        return HttpServerResponse.stream(
          length > READ_AHEAD_FROM ? Stream.buffer(body, { capacity: 8 }).pipe(Stream.rechunk(1)) : body,
          {
            status,
            headers,
            contentType,
            contentLength: length
          }
        )
      })

    return handlers
      .handleRaw("upload", ({ request }) =>
        Effect.gen(function* () {
          const h = request.headers
          const clText = h["content-length"]
          const declared = H.parseNonNegativeInt(clText)
          if (clText !== undefined && declared === undefined) {
            return yield* badRequest("invalid_header", "Content-Length must be a non-negative integer")
          }
          if (declared === undefined && h["transfer-encoding"] === undefined) {
            return yield* new ApiError.LengthRequired({
              error: "length_required",
              message: "send Content-Length (or a chunked body)"
            })
          }
          if (declared !== undefined && declared > limits.maxBodySize) {
            return yield* new ApiError.PayloadTooLarge({
              error: "too_large",
              message: `the body exceeds the limit of ${limits.maxBodySize} bytes`
            })
          }
          const expectedText = h["x-graviton-expected-key"]
          const expectedKey =
            expectedText === undefined ? undefined : yield* parseKey(expectedText.trim(), "X-Graviton-Expected-Key")
          if (expectedKey !== undefined && declared !== undefined && expectedKey.size !== declared) {
            return yield* new ApiError.Unprocessable({
              error: "inconsistent_request",
              message: `X-Graviton-Expected-Key has size ${expectedKey.size} but Content-Length is ${declared}`
            })
          }
          const contentType = h["content-type"]?.trim()
          const attributes = contentType !== undefined && contentType.length > 0 ? { "content-type": contentType } : {}
          const bodyError = () =>
            new ApiError.BadRequest({ error: "bad_request", message: "the request body could not be read" })
          const raw = Stream.mapError(request.stream, bodyError).pipe(readAhead())
          const body =
            declared === undefined && Number.isFinite(limits.maxBodySize)
              ? Stream.limitBytes<ApiError.ApiError, never>(raw, limits.maxBodySize, () =>
                  Stream.fail(
                    new ApiError.PayloadTooLarge({
                      error: "too_large",
                      message: `the body exceeds the limit of ${limits.maxBodySize} bytes`
                    })
                  )
                )
              : raw
          const result = yield* blobs
            .put(body, {
              attributes,
              ...(expectedKey === undefined ? {} : { expectedKey }),
              ...(declared === undefined ? {} : { expectedSize: declared })
            })
            .pipe(
              Effect.catch((e) => {
                if (expectedKey !== undefined && StorageError.hasReason(e, "Conflict")) {
                  return Effect.fail(
                    new ApiError.Conflict({
                      error: "expected_key_mismatch",
                      message: "the content does not hash to X-Graviton-Expected-Key; nothing was stored"
                    })
                  )
                }
                return failWithHeaders(e)
              })
            )
          if (HttpServerResponse.isHttpServerResponse(result)) return result
          const text = BinaryKey.format(result.key)
          return yield* HttpServerResponse.json(
            { ...result, key: text },
            { status: 201, headers: { location: `${BLOBS}/${text}`, etag: H.etagOf(text) } }
          ).pipe(Effect.orDie)
        })
      )
      .handle("list", ({ query }) =>
        api(
          Effect.map(blobs.list({ cursor: query.cursor, limit: query.limit, prefix: query.prefix }), (page) =>
            page.cursor === undefined ? { items: page.items } : { items: page.items, cursor: page.cursor }
          )
        )
      )
      .handle("download", ({ params, request }) => serve(request, params.key, true))
      .handle("head", ({ params, request }) => serve(request, params.key, false))
      .handle("delete", ({ params }) =>
        Effect.gen(function* () {
          const key = yield* parseKey(params.key)
          const existed = yield* api(blobs.delete(key))
          if (!existed) return yield* new ApiError.NotFound({ error: "not_found", message: "no such blob" })
        })
      )
      .handle("manifest", ({ params, query }) =>
        Effect.gen(function* () {
          const key = yield* parseKey(params.key)
          const summary = yield* api(manifests.get(key))
          if (Option.isNone(summary))
            return yield* new ApiError.NotFound({ error: "not_found", message: "no such blob" })
          const s = summary.value
          const limit = query.limit ?? 100
          const from = query.cursor === undefined ? 0 : decodeCursor(query.cursor)
          if (from === undefined || from > s.size) {
            return yield* badRequest("invalid_cursor", "the cursor is not valid for this blob")
          }
          const entries =
            from >= s.size
              ? []
              : yield* api(
                  Stream.runCollect(Stream.take(manifests.entries(key, { start: from, end: s.size }), limit + 1))
                )
          const page = entries.slice(0, limit).map((e) => ({
            index: e.index,
            blockKey: BinaryKey.format(e.blockKey),
            offset: e.offset,
            size: e.size
          }))
          const next = entries.length > limit ? entries[limit] : undefined
          return {
            key: BinaryKey.format(s.blobKey),
            size: s.size,
            blockCount: s.blockCount,
            chunker: s.chunker,
            createdAt: s.createdAt,
            attributes: s.attributes,
            entries: page,
            ...(next === undefined ? {} : { cursor: encodeCursor(next.offset) })
          }
        })
      )
      .handle("verify", ({ params }) =>
        Effect.gen(function* () {
          const key = yield* parseKey(params.key)
          return yield* api(blobs.verify(key))
        })
      )
  })
)

// ---------------------------------------------------------------------------------------------------------------
// uploads (tus 1.0.0)
// ---------------------------------------------------------------------------------------------------------------

const tusHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
  "tus-resumable": TUS_VERSION,
  ...extra
})

const requireTus = (req: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse | undefined => {
  const v = req.headers["tus-resumable"]
  if (v === TUS_VERSION) return undefined
  return errorResponse(
    new ApiError.PreconditionFailed({
      error: "unsupported_tus_version",
      message: `Tus-Resumable must be ${TUS_VERSION}`
    }),
    { "tus-version": TUS_VERSION }
  )
}

const infoOf = (status: Uploads.UploadStatus): UploadInfo => {
  const s = status.session
  return {
    id: s.id,
    state: s.state,
    offset: status.offset,
    ...(s.length === undefined ? {} : { length: s.length }),
    metadata: s.metadata,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    ...(s.result === undefined ? {} : { blobKey: BinaryKey.format(s.result.key) })
  }
}

const noSuchUpload = () => new ApiError.NotFound({ error: "not_found", message: "no such upload (or it expired)" })

const UploadsHandlers = HttpApiBuilder.group(
  Api,
  "uploads",
  Effect.fnUntraced(function* (handlers) {
    const uploads = yield* Uploads.Uploads
    const limits = yield* ServerLimits

    const status = (id: string) =>
      uploads
        .status(id)
        .pipe(
          Effect.catch((e) => (StorageError.hasReason(e, "NotFound") ? Effect.fail(noSuchUpload()) : ApiError.fail(e)))
        )

    /** Commits a complete upload; maps an expected-key mismatch to 409. */
    const commit = (id: string) =>
      uploads.commit(id).pipe(
        Effect.catch((e) =>
          StorageError.hasReason(e, "Conflict") && e.reason.operation !== "Uploads.commit"
            ? Effect.fail(
                new ApiError.Conflict({
                  error: "expected_key_mismatch",
                  message: "the uploaded content does not hash to the expected key"
                })
              )
            : ApiError.fail(e)
        )
      )

    const maxSizeHeader = (): Record<string, string> =>
      Number.isFinite(limits.maxBodySize) ? { "tus-max-size": String(limits.maxBodySize) } : {}

    return handlers
      .handle("discover", () =>
        Effect.succeed(
          HttpServerResponse.empty({
            status: 204,
            headers: tusHeaders({
              "tus-version": TUS_VERSION,
              "tus-extension": TUS_EXTENSIONS,
              "tus-checksum-algorithm": "sha256",
              ...maxSizeHeader()
            })
          })
        )
      )
      .handle("create", ({ request }) =>
        Effect.gen(function* () {
          const bad = requireTus(request)
          if (bad !== undefined) return bad
          const h = request.headers
          const lengthText = h["upload-length"]
          const defer = h["upload-defer-length"]
          if (lengthText !== undefined && defer !== undefined) {
            return yield* badRequest("invalid_header", "send either Upload-Length or Upload-Defer-Length, not both")
          }
          if (lengthText === undefined && defer?.trim() !== "1") {
            return yield* badRequest("invalid_header", "Upload-Length or Upload-Defer-Length: 1 is required")
          }
          const length = H.parseNonNegativeInt(lengthText)
          if (lengthText !== undefined && length === undefined) {
            return yield* badRequest("invalid_header", "Upload-Length must be a non-negative integer")
          }
          if (length !== undefined && length > limits.maxBodySize) {
            return yield* new ApiError.PayloadTooLarge({
              error: "too_large",
              message: `Upload-Length exceeds Tus-Max-Size ${limits.maxBodySize}`
            })
          }
          const metadataText = h["upload-metadata"]
          const metadata = metadataText === undefined ? {} : H.parseUploadMetadata(metadataText)
          if (metadata === undefined) {
            return yield* badRequest("invalid_header", "Upload-Metadata must be comma-separated `key base64` pairs")
          }
          const type = metadata["content-type"] ?? metadata.filetype ?? metadata.contentType
          if (type !== undefined && type.length > 0) metadata["content-type"] = type
          const expectedText = h["x-graviton-expected-key"]
          const expectedKey =
            expectedText === undefined ? undefined : yield* parseKey(expectedText.trim(), "X-Graviton-Expected-Key")
          if (expectedKey !== undefined && length !== undefined && expectedKey.size !== length) {
            return yield* new ApiError.Unprocessable({
              error: "inconsistent_request",
              message: `X-Graviton-Expected-Key has size ${expectedKey.size} but Upload-Length is ${length}`
            })
          }
          const session = yield* api(
            uploads.create({
              metadata,
              ...(length === undefined ? {} : { length }),
              ...(expectedKey === undefined ? {} : { expectedKey })
            })
          )
          const headers = tusHeaders({
            location: `${UPLOADS}/${session.id}`,
            "upload-expires": H.httpDate(session.expiresAt)
          })
          if (length === 0) {
            const result = yield* commit(session.id)
            headers["x-graviton-blob-key"] = BinaryKey.format(result.key)
          }
          return HttpServerResponse.empty({ status: 201, headers })
        })
      )
      .handle("list", ({ query }) =>
        Effect.gen(function* () {
          const page = yield* api(uploads.list({ cursor: query.cursor, limit: query.limit }))
          const infos: Array<UploadInfo> = []
          for (const s of page.sessions) {
            const st = yield* Effect.option(uploads.status(s.id))
            if (Option.isSome(st)) infos.push(infoOf(st.value))
          }
          return page.cursor === undefined ? { uploads: infos } : { uploads: infos, cursor: page.cursor }
        })
      )
      .handle("status", ({ params }) => Effect.map(status(params.id), infoOf))
      .handle("head", ({ params, request }) =>
        Effect.gen(function* () {
          const bad = requireTus(request)
          if (bad !== undefined) return bad
          const st = yield* status(params.id)
          const s = st.session
          const headers = tusHeaders({
            "upload-offset": String(st.offset),
            "upload-expires": H.httpDate(s.expiresAt),
            "cache-control": "no-store"
          })
          if (s.length === undefined) headers["upload-defer-length"] = "1"
          else headers["upload-length"] = String(s.length)
          if (Object.keys(s.metadata).length > 0) headers["upload-metadata"] = H.formatUploadMetadata(s.metadata)
          if (s.result !== undefined) headers["x-graviton-blob-key"] = BinaryKey.format(s.result.key)
          return HttpServerResponse.empty({ status: 200, headers })
        })
      )
      .handleRaw(
        "patch",
        ({ params, request }) =>
          Effect.gen(function* () {
            const bad = requireTus(request)
            if (bad !== undefined) return bad
            const h = request.headers
            const mediaType = h["content-type"]?.split(";")[0]?.trim().toLowerCase()
            if (mediaType !== "application/offset+octet-stream") {
              return yield* new ApiError.UnsupportedMediaType({
                error: "unsupported_media_type",
                message: "PATCH requires Content-Type: application/offset+octet-stream"
              })
            }
            const offset = H.parseNonNegativeInt(h["upload-offset"])
            if (offset === undefined) {
              return yield* badRequest("invalid_header", "Upload-Offset must be a non-negative integer")
            }
            const clText = h["content-length"]
            const contentLength = H.parseNonNegativeInt(clText)
            if (clText !== undefined && contentLength === undefined) {
              return yield* badRequest("invalid_header", "Content-Length must be a non-negative integer")
            }
            const checksumText = h["upload-checksum"]
            const checksum = checksumText === undefined ? undefined : H.parseUploadChecksum(checksumText)
            if (checksumText !== undefined && checksum === undefined) {
              return yield* badRequest("invalid_header", "Upload-Checksum must be `<algorithm> <base64>`")
            }
            if (checksum !== undefined && checksum.algorithm !== "sha256" && checksum.algorithm !== "sha-256") {
              return yield* badRequest(
                "invalid_header",
                "unsupported checksum algorithm (Tus-Checksum-Algorithm: sha256)"
              )
            }
            const id = params.id
            let st = yield* status(id)
            if (st.session.state !== "open") {
              if (st.session.result !== undefined && offset === st.offset && (contentLength ?? 0) === 0) {
                return HttpServerResponse.empty({
                  status: 204,
                  headers: tusHeaders({
                    "upload-offset": String(st.offset),
                    "x-graviton-blob-key": BinaryKey.format(st.session.result.key)
                  })
                })
              }
              return yield* new ApiError.Conflict({ error: "conflict", message: `the upload is ${st.session.state}` })
            }
            if (offset !== st.offset) {
              return errorResponse(
                new ApiError.Conflict({
                  error: "offset_mismatch",
                  message: `Upload-Offset ${offset} does not match the current offset ${st.offset}`
                }),
                tusHeaders({ "upload-offset": String(st.offset) })
              )
            }
            const lengthText = h["upload-length"]
            if (lengthText !== undefined) {
              const declared = H.parseNonNegativeInt(lengthText)
              if (declared === undefined) {
                return yield* badRequest("invalid_header", "Upload-Length must be a non-negative integer")
              }
              if (declared > limits.maxBodySize) {
                return yield* new ApiError.PayloadTooLarge({
                  error: "too_large",
                  message: `Upload-Length exceeds Tus-Max-Size ${limits.maxBodySize}`
                })
              }
              if (st.session.length === undefined) {
                yield* api(uploads.declareLength(id, declared))
                st = yield* status(id)
              } else if (st.session.length !== declared) {
                return yield* badRequest("invalid_header", "Upload-Length differs from the declared length")
              }
            }
            const max = st.session.length ?? limits.maxBodySize
            if (contentLength !== undefined && offset + contentLength > max) {
              return yield* new ApiError.PayloadTooLarge({
                error: "too_large",
                message: `the part would end at ${offset + contentLength}, beyond the upload length ${max}`
              })
            }
            const bodyError = () =>
              new ApiError.BadRequest({ error: "bad_request", message: "the request body could not be read" })
            // Without a checksum, a body cut short (client gone, connection reset, idle timeout) still counts up to where
            // it stopped, as tus servers do, so the client resumes from there instead of re-sending the whole PATCH.
            const keepPrefix = checksum === undefined
            const received = Stream.mapError(request.stream, bodyError)
            const raw = (keepPrefix ? Stream.catch(received, () => Stream.empty) : received).pipe(
              partBody(pieceSize(contentLength))
            )
            const body =
              st.session.length === undefined && contentLength === undefined && Number.isFinite(max)
                ? Stream.limitBytes<ApiError.ApiError, never>(raw, max - offset, () =>
                    Stream.fail(
                      new ApiError.PayloadTooLarge({ error: "too_large", message: "the upload is too large" })
                    )
                  )
                : raw
            const after = yield* uploads
              .writePart(id, offset, body, {
                ...(checksum === undefined ? {} : { checksum }),
                ...(contentLength === undefined || keepPrefix ? {} : { length: contentLength })
              })
              .pipe(
                Effect.catch((e): Effect.Effect<never, ApiError.ApiError> => {
                  if (ApiError.isApiError(e)) return Effect.fail(e)
                  if (e instanceof Uploads.ChecksumMismatch) {
                    return Effect.fail(
                      new ApiError.ChecksumMismatch({
                        error: "checksum_mismatch",
                        message: "Upload-Checksum does not match the body; the part was discarded"
                      })
                    )
                  }
                  if (StorageError.isStorageError(e) && e.reason._tag === "NotFound") return Effect.fail(noSuchUpload())
                  if (StorageError.isStorageError(e) && e.reason._tag === "InvalidArgument") {
                    return Effect.fail(new ApiError.PayloadTooLarge({ error: "too_large", message: e.reason.message }))
                  }
                  return ApiError.fail(e)
                })
              )
            const headers = tusHeaders({
              "upload-offset": String(after.offset),
              "upload-expires": H.httpDate(after.session.expiresAt)
            })
            const length = after.session.length
            if (length !== undefined && after.offset === length) {
              const result = yield* commit(id)
              headers["x-graviton-blob-key"] = BinaryKey.format(result.key)
            }
            return HttpServerResponse.empty({ status: 204, headers })
          }),
        { uninterruptible: true }
      )
      .handle("terminate", ({ params, request }) =>
        Effect.gen(function* () {
          const bad = requireTus(request)
          if (bad !== undefined) return bad
          const existed = yield* api(uploads.cancel(params.id))
          if (!existed) return yield* noSuchUpload()
          return HttpServerResponse.empty({ status: 204, headers: tusHeaders() })
        })
      )
  })
)

// ---------------------------------------------------------------------------------------------------------------
// admin
// ---------------------------------------------------------------------------------------------------------------

const AdminHandlers = HttpApiBuilder.group(
  Api,
  "admin",
  Effect.fnUntraced(function* (handlers) {
    const graviton = yield* Graviton.Graviton
    return handlers
      .handle("gc", ({ payload }) =>
        // an absent minAgeMillis leaves `minAge` out, so the facade applies the configured GC minimum age
        api(
          graviton.gc({
            apply: payload?.apply === true,
            ...(payload?.minAgeMillis === undefined ? {} : { minAge: Duration.millis(payload.minAgeMillis) })
          })
        )
      )
      .handle("listUploads", ({ query }) =>
        api(
          Effect.map(graviton.uploads.list({ cursor: query.cursor, limit: query.limit }), (page) =>
            page.cursor === undefined ? { sessions: page.sessions } : { sessions: page.sessions, cursor: page.cursor }
          )
        )
      )
      .handle("cancelUpload", ({ params }) =>
        Effect.gen(function* () {
          // the tus termination's semantics, without the tus protocol headers
          const existed = yield* api(graviton.uploads.cancel(params.id))
          if (!existed) return yield* noSuchUpload()
        })
      )
  })
)

// ---------------------------------------------------------------------------------------------------------------
// system
// ---------------------------------------------------------------------------------------------------------------

const SystemHandlers = HttpApiBuilder.group(
  Api,
  "system",
  Effect.fnUntraced(function* (handlers) {
    const blobs = yield* BlobStore.BlobStore
    const kv = yield* KeyValueStore.KeyValueStore
    const registry = yield* MetricsRegistry.MetricsRegistry
    const check = (eff: Effect.Effect<unknown, unknown>) =>
      eff.pipe(
        Effect.timeout("5 seconds"),
        Effect.match({ onFailure: () => "failed" as const, onSuccess: () => "ok" as const })
      )
    return handlers
      .handle("live", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function* () {
          const [keyValue, blobStore] = yield* Effect.all(
            [check(kv.get("graviton/health/probe")), check(blobs.list({ limit: 1 }))],
            { concurrency: 2 }
          )
          const checks = { keyValueStore: keyValue, blobStore }
          if (keyValue === "ok" && blobStore === "ok") return { status: "ok" as const, checks }
          return HttpServerResponse.jsonUnsafe(
            {
              error: "not_ready",
              message: "a storage backend check failed",
              status: "unavailable",
              checks
            },
            { status: 503 }
          )
        })
      )
      .handle("metrics", () =>
        Effect.map(registry.prometheus, (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
        )
      )
  })
)

// ---------------------------------------------------------------------------------------------------------------
// auth and errors
// ---------------------------------------------------------------------------------------------------------------

/** The {@link Authorization} middleware over a token table. */
export const layerAuthorization = (tokens: Auth.Tokens): Layer.Layer<Authorization> =>
  Layer.succeed(Authorization)({
    bearer: (httpEffect, { credential, endpoint }) => {
      if (!tokens.enabled) return httpEffect
      const needed = Context.get(endpoint.annotations, Capability)
      if (needed === "public") return httpEffect
      const caps = tokens.lookup(Redacted.value(credential))
      if (caps === undefined) {
        return Effect.succeed(
          errorResponse(
            new ApiError.Unauthorized({ error: "unauthorized", message: "a valid bearer token is required" }),
            { "www-authenticate": 'Bearer realm="graviton"' }
          )
        )
      }
      if (!caps.has(needed)) {
        return Effect.succeed(
          errorResponse(
            new ApiError.Forbidden({ error: "forbidden", message: `the token lacks the "${needed}" capability` })
          )
        )
      }
      return httpEffect
    }
  })

/** Turns whatever escaped a handler (unknown routes, schema errors, defects) into a JSON error response. */
const ErrorMiddleware = HttpRouter.middleware(
  (httpEffect) =>
    Effect.catchCause(httpEffect, (cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      const reason = cause.reasons.find((r) => r._tag === "Fail" || r._tag === "Die")
      const u =
        reason === undefined
          ? undefined
          : reason._tag === "Fail"
            ? reason.error
            : reason._tag === "Die"
              ? reason.defect
              : undefined
      if (HttpServerResponse.isHttpServerResponse(u)) return Effect.succeed(u)
      if (HttpApiError.HttpApiSchemaError.is(u)) {
        if (u.kind === "Body" || u.kind === "ResponseHeaders") {
          return Effect.as(
            Effect.logError("response encoding failed", cause),
            errorResponse(new ApiError.Internal({ error: "internal", message: "internal server error" }))
          )
        }
        const what =
          u.kind === "Params" ? "path" : u.kind === "Query" ? "query" : u.kind === "Headers" ? "header" : "body"
        return Effect.succeed(
          errorResponse(
            badRequest(`invalid_${what === "path" ? "key" : what}`, `invalid request ${what}: ${u.cause.message}`)
          )
        )
      }
      if (HttpApiError.HttpApiPayloadTooLarge.is(u)) {
        return Effect.succeed(errorResponse(new ApiError.PayloadTooLarge({ error: "too_large", message: u.message })))
      }
      if (typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "HttpServerError") {
        const r = (u as { reason?: { _tag?: string; reason?: string } }).reason
        if (r?._tag === "RouteNotFound") {
          return Effect.succeed(
            errorResponse(new ApiError.NotFound({ error: "route_not_found", message: "no such route" }))
          )
        }
        if (r?._tag === "RequestParseError") {
          return Effect.succeed(
            errorResponse(
              r.reason === "BodyTooLarge"
                ? new ApiError.PayloadTooLarge({ error: "too_large", message: "the request body is too large" })
                : badRequest("bad_request", "the request could not be parsed")
            )
          )
        }
      }
      if (ApiError.isApiError(u)) return Effect.succeed(errorResponse(u))
      if (StorageError.isStorageError(u)) return Effect.succeed(errorResponse(ApiError.fromStorageError(u)))
      return Effect.as(
        Effect.logError("unexpected failure", cause),
        errorResponse(new ApiError.Internal({ error: "internal", message: "internal server error" }))
      )
    }),
  { global: true }
)

// ---------------------------------------------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------------------------------------------

/**
 * The base URL of the running server, e.g. `http://127.0.0.1:8081` (the wildcard hosts `0.0.0.0` / `::` are
 * reported as `127.0.0.1` / `[::1]`, which is where a local client can reach them).
 */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  if (address._tag === "UnixPathAddress") return HttpServer.formatAddress(address)
  const formatted = new URL(HttpServer.formatAddress(address))
  if (formatted.hostname === "0.0.0.0") formatted.hostname = "127.0.0.1"
  if (formatted.hostname === "[::]") formatted.hostname = "[::1]"
  return formatted.origin
})

/** The API routes (with the OpenAPI document at `/api/v1/openapi.json`) and error handling, as router layers. */
export const layerRoutes = (options: {
  readonly tokens?: Auth.Tokens | undefined
  readonly maxBodySize?: number | undefined
}) => {
  const auth = layerAuthorization(options.tokens ?? Auth.disabled)
  const limits = Layer.effect(ServerLimits)(
    Effect.gen(function* () {
      const policy = yield* ConstraintPolicy.ConstraintPolicy
      return { maxBodySize: options.maxBodySize ?? policy.config.maxBlobSize }
    })
  )
  const handlers = Layer.mergeAll(BlobsHandlers, UploadsHandlers, AdminHandlers, SystemHandlers).pipe(
    Layer.provide(limits),
    Layer.provideMerge(auth)
  )
  return Layer.mergeAll(
    HttpApiBuilder.layer(Api, { openapiPath: openApiPath }).pipe(Layer.provide(handlers)),
    ErrorMiddleware
  )
}

/** The server layer: the API on a Node HTTP server bound to `host:port`. */
export const layer = (options: Options = {}): Layer.Layer<HttpServer.HttpServer, ServeError, Requirements> => {
  const headersTimeout = ms(options.headersTimeout ?? defaults.headersTimeout)
  const requestTimeout = ms(options.requestTimeout ?? defaults.requestTimeout)
  const idle = ms(options.idleTimeout ?? defaults.idleTimeout)
  let nodeServer: Server | undefined
  const server = () => {
    const s = createServer({
      // socket buffers of 1 MiB instead of 16 KiB: a streamed response writes 64 KiB blocks, and with the default
      // every write waited for a 'drain'; request bodies are read with fewer pause/resume cycles
      highWaterMark: SOCKET_BUFFER,
      maxHeaderSize: options.maxHeaderSize ?? defaults.maxHeaderSize,
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      requestTimeout,
      keepAliveTimeout: ms(options.keepAliveTimeout ?? defaults.keepAliveTimeout),
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 2)))
    })
    s.timeout = idle
    nodeServer = s
    return s
  }
  // Runs before the Node server's own finalizer (it is built after it): while `server.close()` waits for in-flight
  // requests, keep-alive connections that become idle are closed at once instead of after `keepAliveTimeout`.
  const drainIdle = Layer.effectDiscard(
    Effect.gen(function* () {
      yield* HttpServer.HttpServer
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          const s = nodeServer
          if (s === undefined) return
          s.closeIdleConnections()
          const timer = setInterval(() => s.closeIdleConnections(), 50)
          timer.unref()
          s.once("close", () => clearInterval(timer))
        })
      )
    })
  )
  return Layer.merge(
    HttpRouter.serve(layerRoutes(options), {
      disableLogger: options.logRequests !== true,
      disableListenLog: options.logAddress !== true
    }),
    drainIdle
  ).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(server, {
        port: options.port ?? defaults.port,
        host: options.host ?? defaults.host,
        gracefulShutdownTimeout: options.gracefulShutdownTimeout ?? defaults.gracefulShutdownTimeout
      })
    )
  )
}

/** The options {@link config} reads (tokens still to be loaded, see `Auth.load`). */
export interface ConfigOptions extends Omit<Options, "tokens"> {
  readonly authTokens: Option.Option<Redacted.Redacted<string>>
  readonly authTokensFile: Option.Option<string>
}

/**
 * Reads the options from `GRAVITON_*` configuration: `PORT` (8081; 0 picks a free port), `HOST` (127.0.0.1), `AUTH_TOKENS` /
 * `AUTH_TOKENS_FILE` (see `Auth`), `HTTP_MAX_BODY_SIZE` (bytes; default the runtime's max blob size),
 * `HTTP_MAX_HEADER_SIZE` (16384), `HTTP_HEADERS_TIMEOUT` (30 seconds), `HTTP_REQUEST_TIMEOUT` (0 = off),
 * `HTTP_IDLE_TIMEOUT` (2 minutes), `HTTP_KEEP_ALIVE_TIMEOUT` (5 seconds), `HTTP_SHUTDOWN_TIMEOUT` (20 seconds),
 * `HTTP_LOG_REQUESTS` (false).
 */
export const config: Config.Config<ConfigOptions> = Config.all({
  port: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })), "PORT").pipe(
    Config.withDefault(defaults.port)
  ),
  host: Config.String("HOST").pipe(Config.withDefault(defaults.host)),
  authTokens: Config.option(Config.Redacted("AUTH_TOKENS")),
  authTokensFile: Config.option(Config.String("AUTH_TOKENS_FILE")),
  maxBodySize: Config.option(Config.Int("HTTP_MAX_BODY_SIZE")).pipe(Config.map(Option.getOrUndefined)),
  maxHeaderSize: Config.Int("HTTP_MAX_HEADER_SIZE").pipe(Config.withDefault(defaults.maxHeaderSize)),
  headersTimeout: Config.Duration("HTTP_HEADERS_TIMEOUT").pipe(Config.withDefault(defaults.headersTimeout)),
  requestTimeout: Config.Duration("HTTP_REQUEST_TIMEOUT").pipe(Config.withDefault(defaults.requestTimeout)),
  idleTimeout: Config.Duration("HTTP_IDLE_TIMEOUT").pipe(Config.withDefault(defaults.idleTimeout)),
  keepAliveTimeout: Config.Duration("HTTP_KEEP_ALIVE_TIMEOUT").pipe(Config.withDefault(defaults.keepAliveTimeout)),
  gracefulShutdownTimeout: Config.Duration("HTTP_SHUTDOWN_TIMEOUT").pipe(
    Config.withDefault(defaults.gracefulShutdownTimeout)
  ),
  logRequests: Config.Boolean("HTTP_LOG_REQUESTS").pipe(Config.withDefault(false))
}).pipe(Config.nested("GRAVITON"))

/** Reads {@link config} and loads the auth tokens it names into {@link Options}. */
export const loadOptions: Effect.Effect<Options, Config.ConfigError | Auth.AuthConfigError> = Effect.gen(function* () {
  const { authTokens, authTokensFile, ...rest } = yield* config
  const tokens = yield* Auth.load({
    tokens: Option.getOrUndefined(authTokens),
    file: Option.getOrUndefined(authTokensFile)
  })
  return { ...rest, tokens }
})

/** {@link layer} with options from {@link loadOptions} (`GRAVITON_*` environment). */
export const layerConfig: Layer.Layer<
  HttpServer.HttpServer,
  ServeError | Config.ConfigError | Auth.AuthConfigError,
  Requirements
> = Layer.unwrap(Effect.map(loadOptions, (options) => layer(options)))
