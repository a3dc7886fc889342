/**
 * `GravitonApi`: the schema-first definition of the Graviton HTTP API (`effect/http-api`), shared by the server
 * ({@link GravitonServer}) and the typed client ({@link GravitonClient}); the OpenAPI document served at
 * `/api/v1/openapi.json` is derived from it.
 *
 * Every endpoint is declared here, including the streaming and tus ones. Endpoints whose body is raw bytes
 * (`POST /api/v1/blobs`, tus `PATCH`) declare an `HttpApiSchema.StreamUint8Array` payload for the document and
 * clients, and the server implements them with `handleRaw`: it reads the request stream itself (never buffered) and
 * answers with hand-built responses where HTTP semantics need headers and statuses a schema cannot express (206/304/
 * 416 downloads, tus `Upload-Offset`, …). Those responses and headers are described in each endpoint's OpenAPI
 * description.
 *
 * Groups: `blobs` (`/api/v1/blobs`), `uploads` (tus 1.0.0 at `/api/v1/uploads`), `admin` (`/api/v1/admin`: garbage
 * collection and upload-session management) and top-level `system` (`/health/live`, `/health/ready`, `/metrics`). Data endpoints carry the {@link Authorization} middleware (bearer
 * token; see `Auth`) and a {@link Capability} annotation naming what the token must allow.
 *
 * @since 0.1.0
 */
import { BlobStore, Gc, Uploads } from "@graviton/runtime"
import * as Context from "effect/Context"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import * as Schema from "effect/Schema"
import * as ApiError from "./ApiError.ts"

/** What a token may do: `read` blobs, `write` (upload), `delete` blobs, `admin` (metrics, listing uploads). */
export const Capabilities = ["read", "write", "delete", "admin"] as const
/** One of {@link Capabilities}. */
export type Capability = (typeof Capabilities)[number]

/**
 * The capability an endpoint requires, as an endpoint annotation; `public` endpoints need no token. Unannotated
 * endpoints behind {@link Authorization} require `admin`.
 */
export const Capability = Context.Reference<Capability | "public">("@graviton/http/GravitonApi/Capability", {
  defaultValue: () => "admin"
})

/**
 * Bearer-token authentication and capability check. With no tokens configured every request passes; otherwise a
 * missing or unknown token answers 401 (`WWW-Authenticate: Bearer`) and a token without the endpoint's
 * {@link Capability} answers 403.
 */
export class Authorization extends HttpApiMiddleware.Service<Authorization>()("@graviton/http/Authorization", {
  security: { bearer: HttpApiSecurity.bearer },
  error: [ApiError.Unauthorized, ApiError.Forbidden]
}) {}

const Limit = Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 1000 }))

/** A page of blobs; `cursor` is present when more may follow (pass it back as `?cursor=`). */
export const BlobPage = Schema.Struct({
  items: Schema.Array(BlobStore.BlobStat),
  cursor: Schema.optional(Schema.String)
}).annotate({ identifier: "BlobPage" })
/** Decoded {@link BlobPage}. */
export interface BlobPage extends Schema.Schema.Type<typeof BlobPage> {}

/** One block of a manifest page, keys as text. */
export const ManifestEntry = Schema.Struct({
  index: Schema.Number,
  blockKey: Schema.String,
  offset: Schema.Number,
  size: Schema.Number
}).annotate({ identifier: "ManifestEntryJson" })
/** Decoded {@link ManifestEntry}. */
export interface ManifestEntry extends Schema.Schema.Type<typeof ManifestEntry> {}

/** A page of a blob's manifest entries with the blob's summary. */
export const ManifestPage = Schema.Struct({
  key: Schema.String,
  size: Schema.Number,
  blockCount: Schema.Number,
  chunker: Schema.String,
  createdAt: Schema.Number,
  attributes: Schema.Record(Schema.String, Schema.String),
  entries: Schema.Array(ManifestEntry),
  cursor: Schema.optional(Schema.String)
}).annotate({ identifier: "ManifestPage" })
/** Decoded {@link ManifestPage}. */
export interface ManifestPage extends Schema.Schema.Type<typeof ManifestPage> {}

/** A resumable upload session as JSON. */
export const UploadInfo = Schema.Struct({
  id: Schema.String,
  state: Schema.Literals(["open", "committing", "committed"]),
  /** Contiguous bytes received from 0 (the tus `Upload-Offset`). */
  offset: Schema.Number,
  /** Declared total length, when known. */
  length: Schema.optional(Schema.Number),
  metadata: Schema.Record(Schema.String, Schema.String),
  createdAt: Schema.Number,
  expiresAt: Schema.Number,
  /** Key of the blob once committed. */
  blobKey: Schema.optional(Schema.String)
}).annotate({ identifier: "UploadInfo" })
/** Decoded {@link UploadInfo}. */
export interface UploadInfo extends Schema.Schema.Type<typeof UploadInfo> {}

/** A page of upload sessions. */
export const UploadPage = Schema.Struct({
  uploads: Schema.Array(UploadInfo),
  cursor: Schema.optional(Schema.String)
}).annotate({ identifier: "UploadPage" })
/** Decoded {@link UploadPage}. */
export interface UploadPage extends Schema.Schema.Type<typeof UploadPage> {}

/**
 * Body of `POST /api/v1/admin/gc` (every field optional: `{}`, or no body at all, is a dry run with the server's
 * minimum age).
 */
export const GcRequest = Schema.Struct({
  /** Delete the candidates (default false: report only). */
  apply: Schema.optional(Schema.Boolean),
  /** Only blocks untouched for at least this many milliseconds are candidates (default: the server's GC minimum age). */
  minAgeMillis: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
}).annotate({ identifier: "GcRequest" })
/** Decoded {@link GcRequest}. */
export interface GcRequest extends Schema.Schema.Type<typeof GcRequest> {}

/** A page of upload sessions as the runtime stores them (`Uploads.list`); `cursor` is present when more may follow. */
export const UploadSessionPage = Schema.Struct({
  sessions: Schema.Array(Uploads.UploadSession),
  cursor: Schema.optional(Schema.String)
}).annotate({ identifier: "UploadSessionPage" })
/** Decoded {@link UploadSessionPage}. */
export interface UploadSessionPage extends Schema.Schema.Type<typeof UploadSessionPage> {}

/** Liveness: the process answers. */
export const Liveness = Schema.Struct({ status: Schema.Literal("ok") }).annotate({ identifier: "Liveness" })

/** Readiness: each backend check and the overall status (503 when any check fails). */
export const Readiness = Schema.Struct({
  status: Schema.Literals(["ok", "unavailable"]),
  checks: Schema.Record(Schema.String, Schema.Literals(["ok", "failed"]))
}).annotate({ identifier: "Readiness" })
/** Decoded {@link Readiness}. */
export interface Readiness extends Schema.Schema.Type<typeof Readiness> {}

const doc = (description: string) => OpenApi.annotations({ description })
const errors = ApiError.all
const KeyParam = { key: Schema.String.annotate({ description: "Blob key text, `sha-256:<hex>:<size>`" }) }
const IdParam = { id: Schema.String }

/** `/api/v1/blobs`: content-addressed blobs. */
export class BlobsGroup extends HttpApiGroup.make("blobs")
  .add(
    HttpApiEndpoint.post("upload", "/", {
      payload: HttpApiSchema.StreamUint8Array({ contentType: ["application/octet-stream", "*/*"] }),
      headers: {
        "content-type": Schema.optional(Schema.String),
        "x-graviton-expected-key": Schema.optional(Schema.String)
      },
      success: BlobStore.BlobWriteResult.pipe(HttpApiSchema.status(201)),
      error: errors
    })
      .annotate(Capability, "write")
      .annotateMerge(
        doc(
          "Stores the raw request body as a blob, streaming (never buffered whole). `Content-Length`, when sent, is " +
            "the exact size (413 above the maximum blob size, checked before reading); without it (chunked) the body " +
            "may be up to the maximum blob size. `X-Graviton-Expected-Key`: the key the content must hash to (409 " +
            "`expected_key_mismatch` and nothing stored on mismatch; 422 when its size contradicts Content-Length). " +
            "`Content-Type` is stored as the attribute `content-type`. Answers 201 with `Location`, `ETag` (the quoted " +
            "key) and the BlobWriteResult (`created: false` when the blob already existed)."
        )
      ),
    HttpApiEndpoint.get("list", "/", {
      query: {
        cursor: Schema.optional(Schema.String),
        limit: Schema.optional(Limit),
        prefix: Schema.optional(Schema.String)
      },
      success: BlobPage,
      error: errors
    })
      .annotate(Capability, "read")
      .annotateMerge(doc("Blobs ordered by key text, `limit` 1..1000 (default 100); resume with `cursor`.")),
    HttpApiEndpoint.get("download", "/:key", {
      params: KeyParam,
      headers: {
        range: Schema.optional(Schema.String),
        "if-none-match": Schema.optional(Schema.String),
        "if-match": Schema.optional(Schema.String),
        "if-range": Schema.optional(Schema.String)
      },
      success: HttpApiSchema.StreamUint8Array(),
      error: errors
    })
      .annotate(Capability, "read")
      .annotateMerge(
        doc(
          "Streams the blob. One `Range` (`bytes=a-b`, `a-`, `-n`) answers 206 with `Content-Range`; an " +
            "unsatisfiable one 416 with `Content-Range: bytes */size`; a malformed one 400; several ranges or another " +
            "unit are ignored (200). `If-None-Match` → 304, `If-Match` → 412, `If-Range` (ETag or date) gates the " +
            "range. Headers: `ETag` (the quoted key), `Cache-Control: public, max-age=31536000, immutable`, " +
            "`Accept-Ranges: bytes`, `Content-Type` (stored, default application/octet-stream), `Content-Length`, " +
            "`Last-Modified`."
        )
      ),
    HttpApiEndpoint.head("head", "/:key", {
      params: KeyParam,
      headers: {
        range: Schema.optional(Schema.String),
        "if-none-match": Schema.optional(Schema.String),
        "if-match": Schema.optional(Schema.String),
        "if-range": Schema.optional(Schema.String)
      },
      success: HttpApiSchema.Empty(200),
      error: errors
    })
      .annotate(Capability, "read")
      .annotateMerge(doc("The headers `GET` would send, without a body.")),
    HttpApiEndpoint.delete("delete", "/:key", { params: KeyParam, success: HttpApiSchema.NoContent, error: errors })
      .annotate(Capability, "delete")
      .annotateMerge(doc("Unpublishes the blob (204; 404 when absent). Its blocks are reclaimed by GC.")),
    HttpApiEndpoint.get("manifest", "/:key/manifest", {
      params: KeyParam,
      query: { cursor: Schema.optional(Schema.String), limit: Schema.optional(Limit) },
      success: ManifestPage,
      error: errors
    })
      .annotate(Capability, "read")
      .annotateMerge(doc("The blob's summary and one page of its block entries (`limit` 1..1000, default 100).")),
    HttpApiEndpoint.post("verify", "/:key/verify", {
      params: KeyParam,
      success: BlobStore.VerifyReport,
      error: errors
    })
      .annotate(Capability, "read")
      .annotateMerge(doc("Re-reads every block and re-hashes the content; the report says what is missing or corrupt."))
  )
  .middleware(Authorization)
  .prefix("/api/v1/blobs") {}

/** `/api/v1/uploads`: resumable uploads speaking tus 1.0.0. */
export class UploadsGroup extends HttpApiGroup.make("uploads")
  .add(
    HttpApiEndpoint.options("discover", "/", { success: HttpApiSchema.NoContent, error: errors })
      .annotate(Capability, "public")
      .annotateMerge(
        doc(
          "tus discovery: 204 with `Tus-Version: 1.0.0`, `Tus-Extension: creation,creation-defer-length," +
            "termination,expiration,checksum`, `Tus-Max-Size`, `Tus-Checksum-Algorithm: sha256`."
        )
      ),
    HttpApiEndpoint.post("create", "/", {
      headers: {
        "tus-resumable": Schema.optional(Schema.String),
        "upload-length": Schema.optional(Schema.String),
        "upload-defer-length": Schema.optional(Schema.String),
        "upload-metadata": Schema.optional(Schema.String),
        "x-graviton-expected-key": Schema.optional(Schema.String)
      },
      success: HttpApiSchema.Created,
      error: errors
    })
      .annotate(Capability, "write")
      .annotateMerge(
        doc(
          "tus creation: `Upload-Length` or `Upload-Defer-Length: 1`, optional `Upload-Metadata` (`key base64`, " +
            "comma separated; `filetype`/`content-type` becomes the blob's content type). 201 with `Location` and " +
            "`Upload-Expires`; a 0-length upload is committed at once (`X-Graviton-Blob-Key`)."
        )
      ),
    HttpApiEndpoint.get("list", "/", {
      query: { cursor: Schema.optional(Schema.String), limit: Schema.optional(Limit) },
      success: UploadPage,
      error: errors
    })
      .annotate(Capability, "admin")
      .annotateMerge(doc("Upload sessions ordered by id (admin).")),
    HttpApiEndpoint.get("status", "/:id", { params: IdParam, success: UploadInfo, error: errors })
      .annotate(Capability, "write")
      .annotateMerge(doc("An upload session as JSON (404 when unknown or expired).")),
    HttpApiEndpoint.head("head", "/:id", {
      params: IdParam,
      success: HttpApiSchema.Empty(200),
      error: errors
    })
      .annotate(Capability, "write")
      .annotateMerge(
        doc(
          "tus offset retrieval: `Upload-Offset`, `Upload-Length` or `Upload-Defer-Length: 1`, `Upload-Metadata`, " +
            "`Upload-Expires`, `Cache-Control: no-store`; `X-Graviton-Blob-Key` once committed."
        )
      ),
    HttpApiEndpoint.patch("patch", "/:id", {
      params: IdParam,
      headers: {
        "tus-resumable": Schema.optional(Schema.String),
        "upload-offset": Schema.optional(Schema.String),
        "upload-length": Schema.optional(Schema.String),
        "upload-checksum": Schema.optional(Schema.String)
      },
      payload: HttpApiSchema.StreamUint8Array({ contentType: "application/offset+octet-stream" }),
      success: HttpApiSchema.NoContent,
      error: errors
    })
      .annotate(Capability, "write")
      .annotateMerge(
        doc(
          "tus PATCH: `Content-Type: application/offset+octet-stream` (415 otherwise), `Upload-Offset` equal to the " +
            "current offset (409 otherwise), optional `Upload-Checksum: sha256 <base64>` (460 on mismatch). 204 with " +
            "the new `Upload-Offset`; when the offset reaches the length the upload is committed as a blob and " +
            "`X-Graviton-Blob-Key` names it."
        )
      ),
    HttpApiEndpoint.delete("terminate", "/:id", { params: IdParam, success: HttpApiSchema.NoContent, error: errors })
      .annotate(Capability, "write")
      .annotateMerge(doc("tus termination: deletes the session and its staged bytes (204; 404 when unknown)."))
  )
  .middleware(Authorization)
  .prefix("/api/v1/uploads") {}

/** `/api/v1/admin`: maintenance operations; every endpoint requires `admin` when auth is on. */
export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    // an empty body is a dry run with the server's minimum age, like `{}`
    HttpApiEndpoint.post("gc", "/gc", { payload: [GcRequest, Schema.Null], success: Gc.Report, error: errors })
      .annotate(Capability, "admin")
      .annotateMerge(
        doc(
          "One garbage-collection pass over blocks no manifest references: a dry run unless `apply` is true. " +
            "`minAgeMillis` spares blocks touched more recently (default: the server's GC minimum age). Answers " +
            "the GcReport (`deleted` is 0 on a dry run)."
        )
      ),
    HttpApiEndpoint.get("listUploads", "/uploads", {
      query: { cursor: Schema.optional(Schema.String), limit: Schema.optional(Limit) },
      success: UploadSessionPage,
      error: errors
    })
      .annotate(Capability, "admin")
      .annotateMerge(
        doc("Upload sessions as stored, ordered by id, `limit` 1..1000 (default 100); resume with `cursor`.")
      ),
    HttpApiEndpoint.delete("cancelUpload", "/uploads/:id", {
      params: IdParam,
      success: HttpApiSchema.NoContent,
      error: errors
    })
      .annotate(Capability, "admin")
      .annotateMerge(doc("Cancels an upload session and deletes its staged bytes (204; 404 when unknown)."))
  )
  .middleware(Authorization)
  .prefix("/api/v1/admin") {}

/** Health and metrics. */
export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("live", "/health/live", { success: Liveness }).annotateMerge(
    doc("Liveness: 200 while the process serves requests (no auth).")
  ),
  HttpApiEndpoint.get("ready", "/health/ready", { success: Readiness, error: ApiError.Unavailable }).annotateMerge(
    doc("Readiness: checks the backends (a KeyValueStore read and a one-item blob listing); 503 when one fails.")
  ),
  HttpApiEndpoint.get("metrics", "/metrics", {
    success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4; charset=utf-8" })),
    error: errors
  })
    .middleware(Authorization)
    .annotate(Capability, "admin")
    .annotateMerge(doc("Prometheus text exposition; requires `admin` when auth is on."))
) {}

/** The whole API. */
export class Api extends HttpApi.make("graviton")
  .add(BlobsGroup)
  .add(UploadsGroup)
  .add(AdminGroup)
  .add(SystemGroup)
  .annotateMerge(
    OpenApi.annotations({
      title: "Graviton",
      version: "0.1.0",
      description:
        "Content-addressed, deduplicating blob storage. Errors are JSON `{ error, message }`. Auth (when " +
        "configured): `Authorization: Bearer <token>` with capabilities read, write, delete, admin."
    })
  ) {}

/** Where the OpenAPI document is served. */
export const openApiPath = "/api/v1/openapi.json" as const
