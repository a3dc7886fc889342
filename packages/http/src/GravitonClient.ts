/**
 * `GravitonClient`: a client for a Graviton server. `api` is the typed client derived from {@link GravitonApi.Api}
 * (`HttpApiClient.make`: every schema endpoint, decoded, errors as {@link ApiError} classes); the other members are
 * streaming helpers that never buffer a blob: {@link GravitonClient.upload} sends a `Stream` as the request body,
 * {@link GravitonClient.download} returns the body as a lazy `Stream` (optionally one byte range).
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const client = yield* GravitonClient.GravitonClient
 *   const { key } = yield* client.upload(Stream.make(new TextEncoder().encode("hello")), { size: 5 })
 *   const bytes = yield* Stream.runCollect(client.download(key, { range: { start: 1, end: 3 } }))
 *   const page = yield* client.api.blobs.list({ query: {} })
 *   const report = yield* client.gc({ apply: true, minAge: "1 hour" }) // admin
 * })
 * program.pipe(Effect.provide(GravitonClient.layerNode({ baseUrl: "http://127.0.0.1:8081", token })))
 * ```
 *
 * Failures are `ApiError.ApiError` (the server's JSON `{ error, message }` with its status), `HttpClientError`
 * (transport) or `SchemaError` (an answer that does not decode). A bearer token, when given, is sent on every request and never logged.
 *
 * @since 0.1.0
 */
import { NodeHttpClient } from "@effect/platform-node"
import { BinaryKey, HttpRange, type Span } from "@graviton/core"
import { BlobStore, type Gc, type Uploads } from "@graviton/runtime"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ApiError from "./ApiError.ts"
import { Api, type BlobPage, type ManifestPage, type UploadSessionPage } from "./GravitonApi.ts"
import * as H from "./internal/headers.ts"

/** Where the server is and how to authenticate. */
export interface Options {
  /** e.g. `http://127.0.0.1:8081` (no trailing path). */
  readonly baseUrl: string
  /** Bearer token, when the server has auth on. */
  readonly token?: string | Redacted.Redacted<string> | undefined
}

/** Failures of the client: the server's answer, the transport, or an answer that does not decode. */
export type ClientError = ApiError.ApiError | HttpClientError.HttpClientError | Schema.SchemaError

/** The typed client derived from the API definition. */
export type ApiClient = HttpApiClient.ForApi<typeof Api>

/** Options of {@link GravitonClient.upload}. */
export interface UploadOptions {
  /** Exact size in bytes, sent as `Content-Length` (without it the body is sent chunked). */
  readonly size?: number | undefined
  /** Stored as the blob's `content-type` attribute. */
  readonly contentType?: string | undefined
  /** The key the content must hash to (`X-Graviton-Expected-Key`); 409 on mismatch, nothing stored. */
  readonly expectedKey?: BinaryKey.BinaryKey | string | undefined
}

/** Options of {@link GravitonClient.gc}. */
export interface GcOptions {
  /** Delete the candidates (default false: dry run). */
  readonly apply?: boolean | undefined
  /** Spare blocks touched more recently than this (default: the server's GC minimum age). */
  readonly minAge?: Duration.Input | undefined
}

/** What a `HEAD` says about a blob. */
export interface RemoteStat {
  readonly key: BinaryKey.BinaryKey
  readonly size: number
  readonly contentType: string
  readonly etag: string
  readonly lastModified: number | undefined
}

/** An open download: the response metadata and its body. */
export interface Download {
  /** 200 (whole blob) or 206 (range). */
  readonly status: number
  /** The blob's total size. */
  readonly size: number
  /** The span being sent. */
  readonly span: Span.Span
  readonly contentType: string
  readonly body: Stream.Stream<Uint8Array, ClientError>
}

/** A Graviton server seen from a client: the typed API client plus streaming helpers. */
export interface GravitonClient {
  /** The typed client for every schema endpoint (`api.blobs.list`, `api.blobs.verify`, `api.uploads.status`, …). */
  readonly api: ApiClient
  /** Streams `body` to `POST /api/v1/blobs`; the body is pulled once, as the connection accepts it. */
  readonly upload: <E>(
    body: Stream.Stream<Uint8Array, E>,
    options?: UploadOptions
  ) => Effect.Effect<BlobStore.BlobWriteResult, ClientError | E>
  /** Uploads a byte array. */
  readonly uploadBytes: (
    bytes: Uint8Array,
    options?: Omit<UploadOptions, "size">
  ) => Effect.Effect<BlobStore.BlobWriteResult, ClientError>
  /**
   * Opens a download (one request) and returns its metadata with the body stream; `range` is half-open. The body
   * must be consumed within the scope.
   */
  readonly open: (
    key: BinaryKey.BinaryKey | string,
    options?: { readonly range?: Span.Span | undefined }
  ) => Effect.Effect<Download, ClientError>
  /** The blob's bytes (or the half-open `range` of them) as a lazy stream: nothing is requested before it runs. */
  readonly download: (
    key: BinaryKey.BinaryKey | string,
    options?: { readonly range?: Span.Span | undefined }
  ) => Stream.Stream<Uint8Array, ClientError>
  /** `HEAD`: what the server knows about a blob, or `None` when absent. */
  readonly stat: (key: BinaryKey.BinaryKey | string) => Effect.Effect<Option.Option<RemoteStat>, ClientError>
  /** Deletes a blob; `true` when it existed. */
  readonly delete: (key: BinaryKey.BinaryKey | string) => Effect.Effect<boolean, ClientError>
  /** One page of blobs. */
  readonly list: (options?: {
    readonly cursor?: string | undefined
    readonly limit?: number | undefined
    readonly prefix?: string | undefined
  }) => Effect.Effect<BlobPage, ClientError>
  /** One page of a blob's manifest. */
  readonly manifest: (
    key: BinaryKey.BinaryKey | string,
    options?: { readonly cursor?: string | undefined; readonly limit?: number | undefined }
  ) => Effect.Effect<ManifestPage, ClientError>
  /** Re-verifies a blob on the server. */
  readonly verify: (key: BinaryKey.BinaryKey | string) => Effect.Effect<BlobStore.VerifyReport, ClientError>
  /** Runs one garbage-collection pass on the server (`POST /api/v1/admin/gc`; a dry run unless `apply`). Admin. */
  readonly gc: (options?: GcOptions) => Effect.Effect<Gc.Report, ClientError>
  /** One page of upload sessions, ordered by id (`GET /api/v1/admin/uploads`). Admin. */
  readonly listUploads: (options?: {
    readonly cursor?: string | undefined
    readonly limit?: number | undefined
  }) => Effect.Effect<UploadSessionPage, ClientError>
  /** Every upload session: {@link GravitonClient.listUploads} pages of 1000, following the cursor to the end. Admin. */
  readonly allUploads: Effect.Effect<ReadonlyArray<Uploads.UploadSession>, ClientError>
  /** Cancels an upload session and deletes its staged bytes; `true` when it existed. Admin. */
  readonly cancelUpload: (id: string) => Effect.Effect<boolean, ClientError>
}

/** The {@link GravitonClient} service tag. */
export const GravitonClient: Context.Service<GravitonClient, GravitonClient> = Context.Service(
  "@graviton/http/GravitonClient"
)

const keyText = (key: BinaryKey.BinaryKey | string): string => (typeof key === "string" ? key : BinaryKey.format(key))

const decodeWriteResult = Schema.decodeUnknownEffect(BlobStore.BlobWriteResult)

/** Reads an error response into its {@link ApiError}. */
const errorOf = (res: HttpClientResponse.HttpClientResponse): Effect.Effect<ApiError.ApiError> =>
  res.json.pipe(
    Effect.map((body) => {
      const b = body as { error?: unknown; message?: unknown }
      return ApiError.make(
        res.status,
        typeof b?.error === "string" ? b.error : "http_error",
        typeof b?.message === "string" ? b.message : `HTTP ${res.status}`
      )
    }),
    Effect.orElseSucceed(() => ApiError.make(res.status, "http_error", `HTTP ${res.status}`))
  )

const failFrom = (res: HttpClientResponse.HttpClientResponse): Effect.Effect<never, ApiError.ApiError> =>
  Effect.flatMap(errorOf(res), Effect.fail)

/** Builds the client over the `HttpClient` in context. */
export const make = (options: Options): Effect.Effect<GravitonClient, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const base = options.baseUrl.replace(/\/+$/, "")
    const token =
      options.token === undefined
        ? undefined
        : Redacted.isRedacted(options.token)
          ? options.token
          : Redacted.make(options.token)
    const authorize = (req: HttpClientRequest.HttpClientRequest) =>
      token === undefined ? req : HttpClientRequest.bearerToken(req, Redacted.value(token))
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((req) => authorize(HttpClientRequest.prependUrl(req, base)))
    )
    const apiClient = yield* HttpApiClient.makeWith(Api, { httpClient: http })

    const upload: GravitonClient["upload"] = <E>(body: Stream.Stream<Uint8Array, E>, uploadOptions?: UploadOptions) =>
      Effect.gen(function* () {
        let bodyError: { readonly error: E } | undefined
        const tracked = Stream.tapError(body, (error) =>
          Effect.sync(() => {
            bodyError = { error }
          })
        )
        let req = HttpClientRequest.post("/api/v1/blobs").pipe(
          HttpClientRequest.bodyStream(tracked, {
            contentType: uploadOptions?.contentType ?? "application/octet-stream",
            ...(uploadOptions?.size === undefined ? {} : { contentLength: uploadOptions.size })
          })
        )
        if (uploadOptions?.expectedKey !== undefined) {
          req = HttpClientRequest.setHeader(req, "x-graviton-expected-key", keyText(uploadOptions.expectedKey))
        }
        const res = yield* http
          .execute(req)
          .pipe(
            Effect.catch(
              (e): Effect.Effect<never, ClientError | E> =>
                bodyError !== undefined ? Effect.fail(bodyError.error) : Effect.fail(e)
            )
          )
        if (res.status !== 201 && res.status !== 200) return yield* failFrom(res)
        const json = yield* res.json
        return yield* decodeWriteResult(json).pipe(
          Effect.mapError(() => ApiError.make(500, "invalid_response", "the server's answer did not decode"))
        )
      })

    const open: GravitonClient["open"] = (key, openOptions) =>
      Effect.gen(function* () {
        let req = HttpClientRequest.get(`/api/v1/blobs/${keyText(key)}`)
        const range = openOptions?.range
        if (range !== undefined) {
          const spec = HttpRange.fromSpan(range)
          if (spec === undefined) {
            return yield* ApiError.make(400, "invalid_range", "an empty range cannot be requested")
          }
          req = HttpClientRequest.setHeader(req, "range", HttpRange.format(spec))
        }
        const res = yield* http.execute(req)
        if (res.status !== 200 && res.status !== 206) return yield* failFrom(res)
        const length = H.parseNonNegativeInt(res.headers["content-length"]) ?? 0
        let size = length
        let span: Span.Span = { start: 0, end: length }
        if (res.status === 206) {
          const cr = HttpRange.parseContentRange(res.headers["content-range"] ?? "")
          if (Result.isSuccess(cr) && cr.success._tag === "PartialContent") {
            span = cr.success.span
            size = cr.success.size ?? span.end
          }
        }
        return {
          status: res.status,
          size,
          span,
          contentType: res.headers["content-type"] ?? "application/octet-stream",
          body: res.stream as Stream.Stream<Uint8Array, ClientError>
        }
      })

    const download: GravitonClient["download"] = (key, downloadOptions) =>
      Stream.unwrap(Effect.map(open(key, downloadOptions), (d) => d.body))

    const stat: GravitonClient["stat"] = (key) =>
      Effect.gen(function* () {
        const text = keyText(key)
        const parsed = BinaryKey.parse(text)
        if (Result.isFailure(parsed)) return yield* ApiError.make(400, "invalid_key", parsed.failure.message)
        const res = yield* http.execute(HttpClientRequest.head(`/api/v1/blobs/${text}`))
        if (res.status === 404) return Option.none()
        if (res.status !== 200) return yield* ApiError.make(res.status, "http_error", `HEAD answered ${res.status}`)
        const lm = res.headers["last-modified"]
        return Option.some({
          key: parsed.success,
          size: H.parseNonNegativeInt(res.headers["content-length"]) ?? parsed.success.size,
          contentType: res.headers["content-type"] ?? "application/octet-stream",
          etag: res.headers.etag ?? H.etagOf(text),
          lastModified: lm === undefined ? undefined : H.parseHttpDate(lm)
        })
      })

    const del: GravitonClient["delete"] = (key) =>
      Effect.gen(function* () {
        const res = yield* http.execute(HttpClientRequest.delete(`/api/v1/blobs/${keyText(key)}`))
        if (res.status === 204) return true
        if (res.status === 404) {
          const e = yield* errorOf(res)
          if (e.error === "not_found") return false
          return yield* Effect.fail(e)
        }
        return yield* failFrom(res)
      })

    const gc: GravitonClient["gc"] = (gcOptions) =>
      Effect.gen(function* () {
        let minAgeMillis: number | undefined
        if (gcOptions?.minAge !== undefined) {
          const d = Duration.fromInput(gcOptions.minAge)
          const millis = Option.isSome(d) ? Duration.toMillis(d.value) : Number.NaN
          if (!Number.isFinite(millis) || millis < 0) {
            return yield* ApiError.make(400, "invalid_argument", "minAge must be a finite, non-negative duration")
          }
          minAgeMillis = millis
        }
        return yield* apiClient.admin.gc({
          payload: {
            ...(gcOptions?.apply === undefined ? {} : { apply: gcOptions.apply }),
            ...(minAgeMillis === undefined ? {} : { minAgeMillis })
          }
        })
      })

    const listUploads: GravitonClient["listUploads"] = (o) =>
      apiClient.admin.listUploads({
        query: {
          ...(o?.cursor === undefined ? {} : { cursor: o.cursor }),
          ...(o?.limit === undefined ? {} : { limit: o.limit })
        }
      })

    const allUploads: GravitonClient["allUploads"] = Effect.gen(function* () {
      const out: Array<Uploads.UploadSession> = []
      let cursor: string | undefined
      do {
        const page: UploadSessionPage = yield* listUploads({ cursor, limit: 1000 })
        out.push(...page.sessions)
        cursor = page.cursor
      } while (cursor !== undefined)
      return out
    })

    const cancelUpload: GravitonClient["cancelUpload"] = (id) =>
      // no session has a dot-segment id, and such a path segment would not survive URL normalization
      id === "." || id === ".."
        ? Effect.succeed(false)
        : apiClient.admin.cancelUpload({ params: { id } }).pipe(
            Effect.as(true),
            Effect.catch((e) =>
              // a 404 for the session itself (not `route_not_found` from a server without the endpoint)
              e instanceof ApiError.NotFound && e.error === "not_found" ? Effect.succeed(false) : Effect.fail(e)
            )
          )

    return GravitonClient.of({
      api: apiClient,
      upload,
      uploadBytes: (bytes, o) => upload(Stream.succeed(bytes), { ...o, size: bytes.byteLength }),
      open,
      download,
      stat,
      delete: del,
      list: (o) =>
        apiClient.blobs.list({
          query: {
            ...(o?.cursor === undefined ? {} : { cursor: o.cursor }),
            ...(o?.limit === undefined ? {} : { limit: o.limit }),
            ...(o?.prefix === undefined ? {} : { prefix: o.prefix })
          }
        }),
      manifest: (key, o) =>
        apiClient.blobs.manifest({
          params: { key: keyText(key) },
          query: {
            ...(o?.cursor === undefined ? {} : { cursor: o.cursor }),
            ...(o?.limit === undefined ? {} : { limit: o.limit })
          }
        }),
      verify: (key) => apiClient.blobs.verify({ params: { key: keyText(key) } }),
      gc,
      listUploads,
      allUploads,
      cancelUpload
    })
  })

/** The client over the `HttpClient` in context. */
export const layer = (options: Options): Layer.Layer<GravitonClient, never, HttpClient.HttpClient> =>
  Layer.effect(GravitonClient)(make(options))

/** The client over Node's `http` module (keep-alive agent). */
export const layerNode = (options: Options): Layer.Layer<GravitonClient> =>
  layer(options).pipe(Layer.provide(NodeHttpClient.layerNodeHttp))
