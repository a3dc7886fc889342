/**
 * `ApiError`: the error responses of the Graviton HTTP API. Every error is JSON `{ "error": code, "message": text }`
 * with one status per class; `error` is a stable machine-readable code (`invalid_key`, `not_found`, …) and `message`
 * a human explanation written by Graviton itself — never a stack trace, a driver message or a `cause`.
 *
 * | status | class | typical codes |
 * | --- | --- | --- |
 * | 400 | {@link BadRequest} | `invalid_key`, `invalid_range`, `invalid_header`, `invalid_query`, `invalid_cursor`, `bad_request` |
 * | 401 | {@link Unauthorized} | `unauthorized` (missing or unknown bearer token) |
 * | 403 | {@link Forbidden} | `forbidden` (the token lacks the capability) |
 * | 404 | {@link NotFound} | `not_found`, `route_not_found` |
 * | 409 | {@link Conflict} | `conflict`, `expected_key_mismatch`, `offset_mismatch` |
 * | 411 | {@link LengthRequired} | `length_required` |
 * | 412 | {@link PreconditionFailed} | `precondition_failed`, `unsupported_tus_version` |
 * | 413 | {@link PayloadTooLarge} | `too_large` |
 * | 415 | {@link UnsupportedMediaType} | `unsupported_media_type` |
 * | 416 | {@link RangeNotSatisfiable} | `range_not_satisfiable` |
 * | 422 | {@link Unprocessable} | `inconsistent_request`, `incomplete_upload` |
 * | 429 | {@link TooManyRequests} | `rate_limited`, `concurrency_exceeded` |
 * | 460 | {@link ChecksumMismatch} | `checksum_mismatch` (tus checksum extension) |
 * | 500 | {@link Internal} | `corrupt`, `internal` |
 * | 501 | {@link NotImplemented} | `not_implemented` |
 * | 503 | {@link Unavailable} | `backend_unavailable`, `backend_timeout` |
 * | 507 | {@link InsufficientStorage} | `quota_exceeded` |
 *
 * {@link fromStorageError} and {@link fromConstraintViolation} are the one place where runtime failures become HTTP
 * statuses.
 *
 * @since 0.1.0
 */
import { ConstraintViolation, StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Schema from "effect/Schema"

const fields = {
  /** Stable machine-readable code, e.g. `invalid_key`. */
  error: Schema.String,
  /** Human-readable explanation. */
  message: Schema.String
}

/** 400: a malformed key, range, header, query parameter or cursor. */
export class BadRequest extends Schema.Error<BadRequest>("@graviton/http/ApiError/BadRequest")(fields, {
  httpApiStatus: 400
}) {
  readonly _tag = "BadRequest" as const
  static readonly status = 400
}

/** 401: authentication is on and the request has no known bearer token. */
export class Unauthorized extends Schema.Error<Unauthorized>("@graviton/http/ApiError/Unauthorized")(fields, {
  httpApiStatus: 401
}) {
  readonly _tag = "Unauthorized" as const
  static readonly status = 401
}

/** 403: the token is known but lacks the capability the endpoint needs. */
export class Forbidden extends Schema.Error<Forbidden>("@graviton/http/ApiError/Forbidden")(fields, {
  httpApiStatus: 403
}) {
  readonly _tag = "Forbidden" as const
  static readonly status = 403
}

/** 404: no such blob, upload or route. */
export class NotFound extends Schema.Error<NotFound>("@graviton/http/ApiError/NotFound")(fields, {
  httpApiStatus: 404
}) {
  readonly _tag = "NotFound" as const
  static readonly status = 404
}

/** 409: the content does not hash to the expected key, a tus offset is stale, or a concurrent change won. */
export class Conflict extends Schema.Error<Conflict>("@graviton/http/ApiError/Conflict")(fields, {
  httpApiStatus: 409
}) {
  readonly _tag = "Conflict" as const
  static readonly status = 409
}

/** 411: a `Content-Length` is required (tus PATCH). */
export class LengthRequired extends Schema.Error<LengthRequired>("@graviton/http/ApiError/LengthRequired")(fields, {
  httpApiStatus: 411
}) {
  readonly _tag = "LengthRequired" as const
  static readonly status = 411
}

/** 412: `If-Match` did not match, or an unsupported `Tus-Resumable` version. */
export class PreconditionFailed extends Schema.Error<PreconditionFailed>("@graviton/http/ApiError/PreconditionFailed")(
  fields,
  { httpApiStatus: 412 }
) {
  readonly _tag = "PreconditionFailed" as const
  static readonly status = 412
}

/** 413: the body (declared or streamed) exceeds the maximum blob size or the upload's declared length. */
export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("@graviton/http/ApiError/PayloadTooLarge")(fields, {
  httpApiStatus: 413
}) {
  readonly _tag = "PayloadTooLarge" as const
  static readonly status = 413
}

/** 415: a tus PATCH without `Content-Type: application/offset+octet-stream`. */
export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>(
  "@graviton/http/ApiError/UnsupportedMediaType"
)(fields, { httpApiStatus: 415 }) {
  readonly _tag = "UnsupportedMediaType" as const
  static readonly status = 415
}

/** 416: the `Range` selects no byte of the blob (the response carries `Content-Range: bytes *\/size`). */
export class RangeNotSatisfiable extends Schema.Error<RangeNotSatisfiable>(
  "@graviton/http/ApiError/RangeNotSatisfiable"
)(fields, { httpApiStatus: 416 }) {
  readonly _tag = "RangeNotSatisfiable" as const
  static readonly status = 416
}

/** 422: a well-formed request that contradicts itself (expected key size vs `Content-Length`, incomplete upload). */
export class Unprocessable extends Schema.Error<Unprocessable>("@graviton/http/ApiError/Unprocessable")(fields, {
  httpApiStatus: 422
}) {
  readonly _tag = "Unprocessable" as const
  static readonly status = 422
}

/** 429: rate limited or too many concurrent uploads; `Retry-After` says when to retry. */
export class TooManyRequests extends Schema.Error<TooManyRequests>("@graviton/http/ApiError/TooManyRequests")(fields, {
  httpApiStatus: 429
}) {
  readonly _tag = "TooManyRequests" as const
  static readonly status = 429
}

/** 460: a tus `Upload-Checksum` did not match the PATCH body (tus checksum extension); nothing was stored. */
export class ChecksumMismatch extends Schema.Error<ChecksumMismatch>("@graviton/http/ApiError/ChecksumMismatch")(
  fields,
  { httpApiStatus: 460 }
) {
  readonly _tag = "ChecksumMismatch" as const
  static readonly status = 460
}

/** 500: stored data failed verification (`corrupt`) or an unexpected failure (`internal`). */
export class Internal extends Schema.Error<Internal>("@graviton/http/ApiError/Internal")(fields, {
  httpApiStatus: 500
}) {
  readonly _tag = "Internal" as const
  static readonly status = 500
}

/** 501: the backend does not support the operation. */
export class NotImplemented extends Schema.Error<NotImplemented>("@graviton/http/ApiError/NotImplemented")(fields, {
  httpApiStatus: 501
}) {
  readonly _tag = "NotImplemented" as const
  static readonly status = 501
}

/** 503: the storage backend is unavailable or timed out; retry later. */
export class Unavailable extends Schema.Error<Unavailable>("@graviton/http/ApiError/Unavailable")(fields, {
  httpApiStatus: 503
}) {
  readonly _tag = "Unavailable" as const
  static readonly status = 503
}

/** 507: the tenant's quota (or the backend's space) is exhausted. */
export class InsufficientStorage extends Schema.Error<InsufficientStorage>(
  "@graviton/http/ApiError/InsufficientStorage"
)(fields, { httpApiStatus: 507 }) {
  readonly _tag = "InsufficientStorage" as const
  static readonly status = 507
}

/** Every API error. */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | LengthRequired
  | PreconditionFailed
  | PayloadTooLarge
  | UnsupportedMediaType
  | RangeNotSatisfiable
  | Unprocessable
  | TooManyRequests
  | ChecksumMismatch
  | Internal
  | NotImplemented
  | Unavailable
  | InsufficientStorage

/** The error schemas of the data endpoints (everything an endpoint may answer besides auth failures). */
export const all = [
  BadRequest,
  NotFound,
  Conflict,
  LengthRequired,
  PreconditionFailed,
  PayloadTooLarge,
  UnsupportedMediaType,
  RangeNotSatisfiable,
  Unprocessable,
  TooManyRequests,
  ChecksumMismatch,
  Internal,
  NotImplemented,
  Unavailable,
  InsufficientStorage
] as const

type Ctor = { new (args: { error: string; message: string }): ApiError; readonly status: number }

const byStatus: ReadonlyMap<number, Ctor> = new Map<number, Ctor>(
  [...all, Unauthorized, Forbidden].map((C) => [C.status, C as unknown as Ctor])
)

/** Builds the error class for `status` (500 for a status without a class). */
export const make = (status: number, error: string, message: string): ApiError => {
  const C = byStatus.get(status) ?? Internal
  return new C({ error, message })
}

/** Whether `u` is one of the API errors. */
export const isApiError = (u: unknown): u is ApiError =>
  typeof u === "object" && u !== null && [...byStatus.values()].some((C) => u instanceof C)

/** The HTTP status of an API error. */
export const statusOf = (e: ApiError): number => (e.constructor as unknown as Ctor).status

/**
 * The API error for a storage failure. 4xx answers keep Graviton's own message; 5xx answers use fixed texts, so a
 * driver's words never reach a client (the `cause` is never used).
 */
export const fromStorageError = (e: StorageError.StorageError): ApiError => {
  const r = e.reason
  switch (r._tag) {
    case "NotFound":
      return new NotFound({ error: "not_found", message: r.message })
    case "Conflict":
      return new Conflict({ error: "conflict", message: r.message })
    case "InvalidArgument":
      return new BadRequest({ error: "bad_request", message: r.message })
    case "Corrupt":
      return new Internal({ error: "corrupt", message: "stored data failed verification" })
    case "Unavailable":
      return new Unavailable({ error: "backend_unavailable", message: "the storage backend is unavailable" })
    case "Timeout":
      return new Unavailable({ error: "backend_timeout", message: "the storage backend did not answer in time" })
    case "QuotaExceeded":
      return new InsufficientStorage({ error: "quota_exceeded", message: "the storage backend is out of space" })
    case "Unsupported":
      return new NotImplemented({ error: "not_implemented", message: "the storage backend does not support this" })
    case "PermissionDenied":
    case "Unknown":
      return new Internal({ error: "internal", message: "internal server error" })
  }
}

/** The API error for a policy rejection: 413 too large, 507 quota, 429 rate/concurrency. */
export const fromConstraintViolation = (e: ConstraintViolation.ConstraintViolation): ApiError => {
  const r = e.reason
  switch (r._tag) {
    case "TooLarge":
      return new PayloadTooLarge({ error: "too_large", message: `the body exceeds the limit of ${r.limit} bytes` })
    case "QuotaExceeded":
      return new InsufficientStorage({ error: "quota_exceeded", message: e.message })
    case "RateLimited":
      return new TooManyRequests({ error: "rate_limited", message: e.message })
    case "ConcurrencyExceeded":
      return new TooManyRequests({ error: "concurrency_exceeded", message: e.message })
  }
}

/** Maps any runtime failure to an API error (unknown values become 500 `internal`). */
export const fromUnknown = (u: unknown): ApiError => {
  if (isApiError(u)) return u
  if (StorageError.isStorageError(u)) return fromStorageError(u)
  if (ConstraintViolation.isConstraintViolation(u)) return fromConstraintViolation(u)
  return new Internal({ error: "internal", message: "internal server error" })
}

/** `Retry-After` seconds for a 429: the rate limiter's wait, or 1 second when too many uploads run at once. */
export const retryAfterSeconds = (u: unknown): number | undefined => {
  if (!ConstraintViolation.isConstraintViolation(u)) return undefined
  if (u.reason._tag === "RateLimited") return Math.max(1, Math.ceil(u.reason.retryAfterMs / 1000))
  return u.reason._tag === "ConcurrencyExceeded" ? 1 : undefined
}

/** The JSON response of an API error, with extra headers. */
export const toResponse = (
  e: ApiError,
  headers?: Readonly<Record<string, string>>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(
    { error: e.error, message: e.message },
    { status: statusOf(e), ...(headers === undefined ? {} : { headers }) }
  )

/** Fails with the API error for `u` (helper for handlers). */
export const fail = (u: unknown): Effect.Effect<never, ApiError> => Effect.fail(fromUnknown(u))
