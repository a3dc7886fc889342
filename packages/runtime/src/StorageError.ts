/**
 * The storage error family. Every port fails with {@link StorageError}, whose `reason` says what went wrong:
 *
 * | reason | meaning | retryable by default |
 * | --- | --- | --- |
 * | `NotFound` | the addressed thing does not exist (streaming reads; lookups return `Option` instead) | no |
 * | `Conflict` | a precondition failed: compare-and-set lost, create-only target exists, overlapping bytes differ | no |
 * | `Corrupt` | stored bytes fail verification (digest or size), or a stored record does not decode | no |
 * | `Unavailable` | the backend cannot be reached or is overloaded (connection refused, 5xx, throttling) | yes |
 * | `Timeout` | the operation did not finish in time | yes |
 * | `PermissionDenied` | the backend refused the credentials | no |
 * | `InvalidArgument` | the caller passed something the port cannot accept (bad key, range, size, name) | no |
 * | `QuotaExceeded` | the backend is out of space or over its own quota | no |
 * | `Unsupported` | the backend does not implement this operation or option | no |
 * | `Unknown` | anything else; the driver error is kept in `cause` | no |
 *
 * Each reason carries the `operation` (`"<Port>.<method>"`), the `key` it concerned when there is one, a
 * human-readable `message`, the original `cause`, and `retryable`. `withRetry` retries only retryable errors and
 * clears the flag when it gives up, so nested retries do not multiply. Errors are Schema classes: they round-trip
 * through JSON (the HTTP gateway relies on it); `cause` is carried as a defect (name and message only).
 *
 * Recover from one reason with `Effect.catchReason("StorageError", "NotFound", …)`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const reasonFields = (retryable: boolean) => ({
  /** `"<Port>.<method>"` that failed. */
  operation: Schema.String,
  /** The key, name or id the operation concerned, if any. */
  key: Schema.optional(Schema.String),
  /** A human-readable explanation. Never contains credentials. */
  message: Schema.String,
  /** Whether retrying the same operation may succeed. */
  retryable: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(retryable))),
  /** The underlying driver error, if any. */
  cause: Schema.optional(Schema.Defect())
})

export class NotFound extends Schema.TaggedError<NotFound>("@graviton/runtime/StorageError/NotFound")(
  "NotFound",
  reasonFields(false)
) {}
export class Conflict extends Schema.TaggedError<Conflict>("@graviton/runtime/StorageError/Conflict")(
  "Conflict",
  reasonFields(false)
) {}
export class Corrupt extends Schema.TaggedError<Corrupt>("@graviton/runtime/StorageError/Corrupt")(
  "Corrupt",
  reasonFields(false)
) {}
export class Unavailable extends Schema.TaggedError<Unavailable>("@graviton/runtime/StorageError/Unavailable")(
  "Unavailable",
  reasonFields(true)
) {}
export class Timeout extends Schema.TaggedError<Timeout>("@graviton/runtime/StorageError/Timeout")(
  "Timeout",
  reasonFields(true)
) {}
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>(
  "@graviton/runtime/StorageError/PermissionDenied"
)("PermissionDenied", reasonFields(false)) {}
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>(
  "@graviton/runtime/StorageError/InvalidArgument"
)("InvalidArgument", reasonFields(false)) {}
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>("@graviton/runtime/StorageError/QuotaExceeded")(
  "QuotaExceeded",
  reasonFields(false)
) {}
export class Unsupported extends Schema.TaggedError<Unsupported>("@graviton/runtime/StorageError/Unsupported")(
  "Unsupported",
  reasonFields(false)
) {}
export class Unknown extends Schema.TaggedError<Unknown>("@graviton/runtime/StorageError/Unknown")(
  "Unknown",
  reasonFields(false)
) {}

export const Reason = Schema.Union([
  NotFound,
  Conflict,
  Corrupt,
  Unavailable,
  Timeout,
  PermissionDenied,
  InvalidArgument,
  QuotaExceeded,
  Unsupported,
  Unknown
])
export type Reason = typeof Reason.Type
export type ReasonTag = Reason["_tag"]

/** The one error type of every storage port. */
export class StorageError extends Schema.TaggedError<StorageError>("@graviton/runtime/StorageError")("StorageError", {
  reason: Reason
}) {
  override get message(): string {
    const r = this.reason
    return `${r._tag} in ${r.operation}${r.key === undefined ? "" : ` (${r.key})`}: ${r.message}`
  }
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return this.reason.retryable
  }
  /** The operation that failed. */
  get operation(): string {
    return this.reason.operation
  }
}

/** Narrows an unknown value to a {@link StorageError}. */
export const isStorageError = (u: unknown): u is StorageError => Predicate.isTagged(u, "StorageError")

/** Whether `u` is a retryable {@link StorageError}. */
export const isRetryable = (u: unknown): boolean => isStorageError(u) && u.retryable

/** Whether `u` is a {@link StorageError} with the given reason. */
export const hasReason = (u: unknown, tag: ReasonTag): u is StorageError => isStorageError(u) && u.reason._tag === tag

/** Options shared by the constructors below. */
export interface Details {
  readonly key?: string | undefined
  readonly message?: string | undefined
  readonly cause?: unknown
  readonly retryable?: boolean | undefined
}

const ctor =
  <R extends Reason>(
    Class: new (args: { operation: string; key?: string; message: string; retryable?: boolean; cause?: unknown }) => R,
    fallback: string
  ) =>
  (operation: string, details: Details = {}): StorageError =>
    new StorageError({
      reason: new Class({
        operation,
        message: details.message ?? fallback,
        ...(details.key === undefined ? {} : { key: details.key }),
        ...(details.cause === undefined ? {} : { cause: details.cause }),
        ...(details.retryable === undefined ? {} : { retryable: details.retryable })
      })
    })

export const notFound = ctor(NotFound, "not found")
export const conflict = ctor(Conflict, "conflict")
export const corrupt = ctor(Corrupt, "stored data failed verification")
export const unavailable = ctor(Unavailable, "backend unavailable")
export const timeout = ctor(Timeout, "operation timed out")
export const permissionDenied = ctor(PermissionDenied, "permission denied")
export const invalidArgument = ctor(InvalidArgument, "invalid argument")
export const quotaExceeded = ctor(QuotaExceeded, "backend quota exceeded")
export const unsupported = ctor(Unsupported, "operation not supported by this backend")
export const unknown = ctor(Unknown, "unexpected backend failure")

/** A copy of `error` whose reason is marked not retryable (used by `withRetry` when it gives up). */
export const exhausted = (error: StorageError): StorageError => {
  if (!error.reason.retryable) return error
  const r = error.reason
  const Class = r.constructor as new (args: object) => Reason
  return new StorageError({
    reason: new Class({
      operation: r.operation,
      message: `${r.message} (retries exhausted)`,
      retryable: false,
      ...(r.key === undefined ? {} : { key: r.key }),
      ...(r.cause === undefined ? {} : { cause: r.cause })
    })
  })
}
