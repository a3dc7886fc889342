/**
 * Half-open byte ranges `[start, end)`.
 *
 * A {@link Span} covers the bytes at offsets `start, start + 1, …, end - 1`. Both bounds are non-negative safe
 * integers with `start <= end`. The **empty span** `[n, n)` is a valid value: it has length 0, contains no offset,
 * overlaps nothing, and is what an empty read (or the whole of a 0-byte blob, `[0, 0)`) is described by. Operations
 * that produce "no bytes" (e.g. {@link intersect} of disjoint spans) return `undefined` rather than an empty span, so
 * callers never have to ask which empty span they got.
 *
 * All constructors except {@link unsafeMake} are total: invalid bounds give an {@link InvalidSpan} naming what is
 * wrong, never a thrown exception.
 *
 * @since 0.1.0
 */
import type * as Order from "effect/Order"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/** A non-negative safe integer byte offset. */
const Offset = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * Schema of a span: `{ start, end }`, both non-negative safe integers, with `start <= end`. Decoding rejects anything
 * else with an issue; the encoded form is the same plain object (JSON-friendly).
 */
export const Span = Schema.Struct({
  /** First byte offset covered (inclusive). */
  start: Offset,
  /** Offset just past the last byte covered (exclusive). */
  end: Offset
})
  .check(
    Schema.makeFilter((s: { readonly start: number; readonly end: number }) =>
      s.start <= s.end ? undefined : { path: ["end"], issue: `end (${s.end}) must not be less than start (${s.start})` }
    )
  )
  .annotate({ identifier: "Span" })

/** A half-open byte range `[start, end)`; see the module documentation. */
export interface Span extends Schema.Schema.Type<typeof Span> {}

/** Why span bounds were rejected. */
export const InvalidSpanReason = Schema.Literals([
  /** A bound is not a safe integer (fractional, NaN, infinite, beyond 2^53 - 1, or not a number at all). */
  "NotInteger",
  /** A bound (or a length) is negative. */
  "Negative",
  /** `end < start`. */
  "EndBeforeStart",
  /** `start + length` exceeds 2^53 - 1. */
  "Overflow"
])
export type InvalidSpanReason = typeof InvalidSpanReason.Type

/** Span bounds that do not describe a valid {@link Span}. `start`/`end` echo the input (`end` is `start + length`
 * for {@link ofLength}). */
export class InvalidSpan extends Schema.TaggedError<InvalidSpan>("@graviton/core/InvalidSpan")("InvalidSpan", {
  reason: InvalidSpanReason,
  start: Schema.Number,
  end: Schema.Number,
  message: Schema.String
}) {}

const asNumber = (u: unknown): number => (typeof u === "number" ? u : Number.NaN)

const invalid = (reason: InvalidSpanReason, start: unknown, end: unknown, message: string) =>
  Result.fail(new InvalidSpan({ reason, start: asNumber(start), end: asNumber(end), message }))

const checkOffset = (name: string, value: unknown, start: unknown, end: unknown) => {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    return invalid("NotInteger", start, end, `${name} must be a safe integer, got ${String(value)}`)
  }
  if (value < 0) return invalid("Negative", start, end, `${name} must not be negative, got ${value}`)
  return undefined
}

/**
 * Builds `[start, end)`. Fails with `NotInteger` or `Negative` for a bad bound and `EndBeforeStart` when
 * `end < start`. `start === end` gives an empty span.
 */
export const make = (start: number, end: number): Result.Result<Span, InvalidSpan> =>
  checkOffset("start", start, start, end) ??
  checkOffset("end", end, start, end) ??
  (end < start
    ? invalid("EndBeforeStart", start, end, `end (${end}) must not be less than start (${start})`)
    : Result.succeed({ start, end }))

/**
 * Builds `[start, start + length)`. Fails like {@link make}, and with `Overflow` when the end would exceed
 * 2^53 - 1. A length of 0 gives an empty span.
 */
export const ofLength = (start: number, length: number): Result.Result<Span, InvalidSpan> => {
  const end = start + length
  const bad = checkOffset("start", start, start, end) ?? checkOffset("length", length, start, end)
  if (bad !== undefined) return bad
  if (!Number.isSafeInteger(end)) {
    return invalid("Overflow", start, end, `start (${start}) + length (${length}) exceeds 2^53 - 1`)
  }
  return Result.succeed({ start, end })
}

/**
 * Builds `[start, end)` from bounds the caller knows to be valid (literals, or arithmetic on valid spans).
 * This is the one non-total constructor: it **throws** the {@link InvalidSpan} that {@link make} would return,
 * so a bug surfaces at its source instead of corrupting a {@link RangeSet} later.
 */
export const unsafeMake = (start: number, end: number): Span => {
  const r = make(start, end)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

/** Number of bytes covered: `end - start`. */
export const length = (span: Span): number => span.end - span.start

/** True when the span covers no byte (`start === end`). */
export const isEmpty = (span: Span): boolean => span.end <= span.start

/** True when the byte at `offset` lies in the span (`start <= offset < end`). Always false for an empty span. */
export const contains = (span: Span, offset: number): boolean => offset >= span.start && offset < span.end

/**
 * True when every byte of `inner` lies in `outer`. An empty `inner` is contained in any span (vacuously), whatever
 * its position.
 */
export const containsSpan = (outer: Span, inner: Span): boolean =>
  inner.end <= inner.start || (inner.start >= outer.start && inner.end <= outer.end)

/** True when the spans share at least one byte. Empty spans overlap nothing. */
export const overlaps = (a: Span, b: Span): boolean =>
  a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end

/**
 * True when the spans overlap or touch end to start (`a.end === b.start` or `b.end === a.start`), i.e. when their
 * union is a single span. Empty spans are never adjacent to anything.
 */
export const touches = (a: Span, b: Span): boolean =>
  a.start <= b.end && b.start <= a.end && a.start < a.end && b.start < b.end

/** The bytes common to both spans, or `undefined` when they share none (never an empty span). */
export const intersect = (a: Span, b: Span): Span | undefined => {
  const start = Math.max(a.start, b.start)
  const end = Math.min(a.end, b.end)
  return start < end ? { start, end } : undefined
}

/** Structural equality of the bounds (two empty spans at different offsets are not equal). */
export const equals = (a: Span, b: Span): boolean => a.start === b.start && a.end === b.end

/** Orders spans by `start`, then by `end`. */
export const order: Order.Order<Span> = (a, b) =>
  a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0

/** Human-readable form, e.g. `[0, 10)`. */
export const format = (span: Span): string => `[${span.start}, ${span.end})`
