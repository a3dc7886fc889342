/**
 * Policy rejections, typed apart from storage failures: the store is healthy, but a configured limit says no.
 * The HTTP gateway maps them to 413 (TooLarge), 507/403 (QuotaExceeded), 429 (RateLimited, ConcurrencyExceeded).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/** The blob (or declared size) is larger than allowed. */
export class TooLarge extends Schema.TaggedError<TooLarge>("@graviton/runtime/ConstraintViolation/TooLarge")(
  "TooLarge",
  { limit: Schema.Number, actual: Schema.Number }
) {}

/** The tenant's quota would be exceeded. */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>(
  "@graviton/runtime/ConstraintViolation/QuotaExceeded"
)("QuotaExceeded", { limit: Schema.Number, used: Schema.Number, requested: Schema.Number }) {}

/** Too many bytes or requests per unit of time; retry after `retryAfterMs`. */
export class RateLimited extends Schema.TaggedError<RateLimited>("@graviton/runtime/ConstraintViolation/RateLimited")(
  "RateLimited",
  { retryAfterMs: Schema.Number }
) {}

/** Too many concurrent operations for the tenant. */
export class ConcurrencyExceeded extends Schema.TaggedError<ConcurrencyExceeded>(
  "@graviton/runtime/ConstraintViolation/ConcurrencyExceeded"
)("ConcurrencyExceeded", { limit: Schema.Number }) {}

export const Reason = Schema.Union([TooLarge, QuotaExceeded, RateLimited, ConcurrencyExceeded])
export type Reason = typeof Reason.Type

export class ConstraintViolation extends Schema.TaggedError<ConstraintViolation>(
  "@graviton/runtime/ConstraintViolation"
)("ConstraintViolation", {
  /** Tenant the limit applies to (never logged as a metric label). */
  tenant: Schema.String,
  reason: Reason
}) {
  override get message(): string {
    const r = this.reason
    switch (r._tag) {
      case "TooLarge":
        return `blob of ${r.actual} bytes exceeds the limit of ${r.limit} bytes`
      case "QuotaExceeded":
        return `quota of ${r.limit} bytes exceeded (${r.used} used, ${r.requested} requested)`
      case "RateLimited":
        return `rate limited; retry after ${r.retryAfterMs} ms`
      case "ConcurrencyExceeded":
        return `more than ${r.limit} concurrent operations`
      default:
        return "constraint violated"
    }
  }
}

export const isConstraintViolation = (u: unknown): u is ConstraintViolation =>
  Predicate.isTagged(u, "ConstraintViolation")

export const tooLarge = (tenant: string, limit: number, actual: number) =>
  new ConstraintViolation({ tenant, reason: new TooLarge({ limit, actual }) })
export const quotaExceeded = (tenant: string, limit: number, used: number, requested: number) =>
  new ConstraintViolation({ tenant, reason: new QuotaExceeded({ limit, used, requested }) })
export const rateLimited = (tenant: string, retryAfterMs: number) =>
  new ConstraintViolation({ tenant, reason: new RateLimited({ retryAfterMs }) })
export const concurrencyExceeded = (tenant: string, limit: number) =>
  new ConstraintViolation({ tenant, reason: new ConcurrencyExceeded({ limit }) })
