/**
 * HTTP byte ranges (RFC 9110 §14): the `Range` request header, the `Content-Range` response header, and the mapping
 * from a requested range to a {@link Span.Span} of a resource of known size.
 *
 * Only the `bytes` unit and a **single** range are supported. Serving a request is two steps, with distinct errors
 * so a server can answer each correctly:
 * 1. {@link parse} checks syntax only. An {@link InvalidRange} means the header is malformed (or asks for several
 *    ranges, or another unit): per RFC 9110 a server may ignore the header and answer `200` with the whole
 *    representation, or answer `400` — a policy choice; `reason` says what was wrong.
 * 2. {@link resolve} applies a syntactically valid {@link ByteRangeSpec} to the resource size. A
 *    {@link RangeNotSatisfiable} means `416 Range Not Satisfiable`, with `Content-Range: ` {@link formatUnsatisfied}
 *    of the `size` it carries. Success gives the half-open span to send with `206` and
 *    `Content-Range: ` {@link formatContentRange}.
 *
 * Clients build a header with {@link fromSpan} / {@link format} and read the answer with {@link parseContentRange}.
 *
 * Every parser is total: garbage, truncated and oversized input (over {@link maxHeaderLength} characters) gives a
 * typed error, never a thrown exception. Numbers must fit in a safe integer (2^53 - 1).
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Lex from "./internal/rangeHeader.ts"
import * as Span from "./Span.ts"

/** Longest header value accepted by {@link parse} and {@link parseContentRange}. */
export const maxHeaderLength = Lex.maxHeaderLength

const Offset = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** `bytes=first-last`: the bytes at offsets `first..last`, **both inclusive** (as on the wire). `first <= last`. */
export const Bounded = Schema.TaggedStruct("Bounded", { first: Offset, last: Offset }).check(
  Schema.makeFilter((r: { readonly first: number; readonly last: number }) =>
    r.first <= r.last
      ? undefined
      : { path: ["last"], issue: `last (${r.last}) must not be less than first (${r.first})` }
  )
)
export interface Bounded extends Schema.Schema.Type<typeof Bounded> {}

/** `bytes=first-`: from offset `first` to the end of the resource. */
export const OpenEnded = Schema.TaggedStruct("OpenEnded", { first: Offset })
export interface OpenEnded extends Schema.Schema.Type<typeof OpenEnded> {}

/** `bytes=-length`: the last `length` bytes of the resource (all of it if shorter). */
export const Suffix = Schema.TaggedStruct("Suffix", { length: Offset })
export interface Suffix extends Schema.Schema.Type<typeof Suffix> {}

/** One syntactically valid byte range, as requested (not yet related to a resource size). */
export const ByteRangeSpec = Schema.Union([Bounded, OpenEnded, Suffix]).annotate({ identifier: "ByteRangeSpec" })
export type ByteRangeSpec = Bounded | OpenEnded | Suffix

/** Why a `Range` header (or a spec built with the constructors) was rejected. */
export const InvalidRangeReason = Schema.Literals([
  /** The value is empty or only whitespace. */
  "Empty",
  /** The value is longer than {@link maxHeaderLength}. */
  "TooLong",
  /** Not `<unit>=<range>`, or a range without `-`, or `-` alone, or no range after `=`. */
  "Malformed",
  /** A unit other than `bytes` (case-insensitive). */
  "UnsupportedUnit",
  /** A position or length is not plain ASCII digits (signs, decimals, spaces, letters). */
  "InvalidNumber",
  /** A position or length exceeds 2^53 - 1. */
  "TooLarge",
  /** `bytes=a-b` with `a > b` (RFC 9110: such a range-spec is invalid). */
  "FirstAfterLast",
  /** More than one range, e.g. `bytes=0-1,5-6`: valid HTTP, but not supported here (servers usually answer 200). */
  "MultipleRanges"
])
export type InvalidRangeReason = typeof InvalidRangeReason.Type

/**
 * A `Range` header that is syntactically invalid or unsupported: answer `400`, or ignore the header (`200`, full
 * body), per server policy. `input` is the offending text shortened to at most 160 characters.
 */
export class InvalidRange extends Schema.TaggedError<InvalidRange>("@graviton/core/InvalidRange")("InvalidRange", {
  reason: InvalidRangeReason,
  input: Schema.String,
  message: Schema.String
}) {}

/** Why a valid range cannot be served from a resource of the given size. */
export const RangeNotSatisfiableReason = Schema.Literals([
  /** The resource has 0 bytes: no range can select anything from it. */
  "EmptyResource",
  /** `first >= size` for `bytes=first-last` or `bytes=first-`. */
  "StartBeyondSize",
  /** `bytes=-0`: a suffix of no bytes. */
  "ZeroSuffix",
  /** The spec was built by hand with invalid numbers (never produced by {@link parse} or the constructors). */
  "InvalidSpec",
  /** The resource size passed to {@link resolve} is not a non-negative safe integer (a caller bug). */
  "InvalidSize"
])
export type RangeNotSatisfiableReason = typeof RangeNotSatisfiableReason.Type

/**
 * A valid range that selects no byte of the resource: answer `416` with
 * `Content-Range: ` {@link formatUnsatisfied}`(size)`.
 */
export class RangeNotSatisfiable extends Schema.TaggedError<RangeNotSatisfiable>("@graviton/core/RangeNotSatisfiable")(
  "RangeNotSatisfiable",
  {
    reason: RangeNotSatisfiableReason,
    /** Size in bytes of the resource the range was applied to. */
    size: Schema.Number,
    message: Schema.String
  }
) {}

const invalidRange = (reason: InvalidRangeReason, input: string, message: string) =>
  Result.fail(new InvalidRange({ reason, input: Lex.clip(input), message }))

type NumberReason = "InvalidNumber" | "TooLarge"

/** Parses `1*DIGIT` text, failing with `onError` (which adds the input) on anything else. */
const digits = <E>(
  text: string,
  what: string,
  onError: (reason: NumberReason, message: string) => E
): Result.Result<number, E> => {
  const n = Lex.parseDigits(text)
  if (n === "InvalidNumber") return Result.fail(onError(n, `${what} ${Lex.quote(text)} is not a decimal number`))
  if (n === "TooLarge") return Result.fail(onError(n, `${what} ${Lex.quote(text)} exceeds 2^53 - 1`))
  return Result.succeed(n)
}

const parseRangeSpec = (el: string, input: string): Result.Result<ByteRangeSpec, InvalidRange> => {
  const onError = (reason: NumberReason, message: string) =>
    new InvalidRange({ reason, input: Lex.clip(input), message })
  const dash = el.indexOf("-")
  if (dash < 0) return invalidRange("Malformed", input, `range ${Lex.quote(el)} has no '-'`)
  const firstText = el.slice(0, dash)
  const lastText = el.slice(dash + 1)
  if (firstText === "") {
    if (lastText === "") return invalidRange("Malformed", input, "range '-' has neither a first position nor a length")
    return Result.map(
      digits(lastText, "suffix length", onError),
      (length): ByteRangeSpec => ({ _tag: "Suffix", length })
    )
  }
  const first = digits(firstText, "first position", onError)
  if (Result.isFailure(first)) return Result.fail(first.failure)
  if (lastText === "") return Result.succeed({ _tag: "OpenEnded", first: first.success })
  const last = digits(lastText, "last position", onError)
  if (Result.isFailure(last)) return Result.fail(last.failure)
  if (first.success > last.success) {
    return invalidRange(
      "FirstAfterLast",
      input,
      `first position ${first.success} is after last position ${last.success}`
    )
  }
  return Result.succeed({ _tag: "Bounded", first: first.success, last: last.success })
}

/**
 * Parses a `Range` header value: `bytes=a-b` (inclusive end), `bytes=a-` or `bytes=-n`. Syntax only; see
 * {@link resolve} for the size. The unit is case-insensitive; whitespace (SP, HTAB) is allowed around the value,
 * around `=` and around the range; leading zeros are allowed; empty list elements (`bytes=0-1,`) are ignored as RFC
 * 9110 §5.6.1 requires. Several ranges fail with `MultipleRanges` only when each is itself valid (otherwise the
 * first malformed one is reported). Total: never throws.
 */
export const parse = (header: string): Result.Result<ByteRangeSpec, InvalidRange> => {
  if (typeof header !== "string") return invalidRange("Malformed", String(header), "Range header must be a string")
  if (header.length > maxHeaderLength) {
    return invalidRange("TooLong", header, `Range header is ${header.length} characters; at most ${maxHeaderLength}`)
  }
  const value = Lex.trimOws(header)
  if (value === "") return invalidRange("Empty", header, "Range header is empty")
  const eq = value.indexOf("=")
  if (eq < 0) return invalidRange("Malformed", header, "Range header must look like bytes=<first>-<last>")
  const unit = Lex.trimOws(value.slice(0, eq))
  if (!Lex.isToken(unit)) return invalidRange("Malformed", header, `range unit ${Lex.quote(unit)} is not a token`)
  if (unit.toLowerCase() !== "bytes") {
    return invalidRange("UnsupportedUnit", header, `range unit ${Lex.quote(unit)} is not supported (only bytes)`)
  }
  const elements = value
    .slice(eq + 1)
    .split(",")
    .map(Lex.trimOws)
    .filter((e) => e !== "")
  if (elements.length === 0) return invalidRange("Malformed", header, "Range header has no range after '='")
  let spec: ByteRangeSpec | undefined
  for (const el of elements) {
    const r = parseRangeSpec(el, header)
    if (Result.isFailure(r)) return r
    spec ??= r.success
  }
  if (elements.length > 1) {
    return invalidRange(
      "MultipleRanges",
      header,
      `Range header asks for ${elements.length} ranges; only one is supported`
    )
  }
  return Result.succeed(spec!)
}

const checkSpecNumber = (what: string, n: number, input: string): Result.Result<number, InvalidRange> => {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    return invalidRange("InvalidNumber", input, `${what} must be a non-negative integer, got ${String(n)}`)
  }
  if (!Number.isSafeInteger(n)) return invalidRange("TooLarge", input, `${what} ${n} exceeds 2^53 - 1`)
  return Result.succeed(n)
}

/** Builds `bytes=first-last` (inclusive), validating like {@link parse}. */
export const bounded = (first: number, last: number): Result.Result<ByteRangeSpec, InvalidRange> => {
  const input = `bytes=${first}-${last}`
  const f = checkSpecNumber("first position", first, input)
  if (Result.isFailure(f)) return Result.fail(f.failure)
  const l = checkSpecNumber("last position", last, input)
  if (Result.isFailure(l)) return Result.fail(l.failure)
  if (first > last) {
    return invalidRange("FirstAfterLast", input, `first position ${first} is after last position ${last}`)
  }
  return Result.succeed({ _tag: "Bounded", first, last })
}

/** Builds `bytes=first-`, validating like {@link parse}. */
export const openEnded = (first: number): Result.Result<ByteRangeSpec, InvalidRange> =>
  Result.map(checkSpecNumber("first position", first, `bytes=${first}-`), (first) => ({ _tag: "OpenEnded", first }))

/** Builds `bytes=-length`, validating like {@link parse}. */
export const suffix = (length: number): Result.Result<ByteRangeSpec, InvalidRange> =>
  Result.map(checkSpecNumber("suffix length", length, `bytes=-${length}`), (length) => ({ _tag: "Suffix", length }))

/** The spec selecting exactly `span` (`bytes=start-(end-1)`), or `undefined` for an empty span (inexpressible). */
export const fromSpan = (span: Span.Span): ByteRangeSpec | undefined =>
  span.start < span.end ? { _tag: "Bounded", first: span.start, last: span.end - 1 } : undefined

/** The header value for a spec, e.g. `bytes=0-499`, `bytes=500-`, `bytes=-500`. Inverse of {@link parse}. */
export const format = (spec: ByteRangeSpec): string => {
  switch (spec._tag) {
    case "Bounded":
      return `bytes=${spec.first}-${spec.last}`
    case "OpenEnded":
      return `bytes=${spec.first}-`
    case "Suffix":
      return `bytes=-${spec.length}`
  }
}

const notSatisfiable = (reason: RangeNotSatisfiableReason, size: number, message: string) =>
  Result.fail(new RangeNotSatisfiable({ reason, size, message }))

const isOffset = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0

const isValidSpec = (spec: ByteRangeSpec): boolean => {
  switch (spec?._tag) {
    case "Bounded":
      return isOffset(spec.first) && isOffset(spec.last) && spec.first <= spec.last
    case "OpenEnded":
      return isOffset(spec.first)
    case "Suffix":
      return isOffset(spec.length)
    default:
      return false
  }
}

/**
 * Applies a spec to a resource of `size` bytes (RFC 9110 §14.1.2), giving the half-open span to send:
 * - `bytes=a-b` → `[a, min(b, size - 1) + 1)`: a last position beyond the end is clipped;
 * - `bytes=a-` → `[a, size)`;
 * - `bytes=-n` → `[max(0, size - n), size)`: a suffix longer than the resource means all of it.
 *
 * Unsatisfiable (→ 416): `a >= size` (`StartBeyondSize`), `bytes=-0` (`ZeroSuffix`), and any range on a 0-byte
 * resource (`EmptyResource`; a server may instead ignore the header and send the empty body with 200). The
 * returned span is never empty. Total: a hand-built invalid spec or size gives `InvalidSpec` / `InvalidSize`.
 */
export const resolve = (spec: ByteRangeSpec, size: number): Result.Result<Span.Span, RangeNotSatisfiable> => {
  if (!isOffset(size)) {
    return notSatisfiable("InvalidSize", size, `resource size must be a non-negative safe integer, got ${size}`)
  }
  if (!isValidSpec(spec)) return notSatisfiable("InvalidSpec", size, "byte range spec is not valid")
  if (size === 0) return notSatisfiable("EmptyResource", size, "no byte range can be served from an empty resource")
  switch (spec._tag) {
    case "Bounded":
    case "OpenEnded": {
      if (spec.first >= size) {
        return notSatisfiable("StartBeyondSize", size, `first position ${spec.first} is not below the size ${size}`)
      }
      const last = spec._tag === "Bounded" && spec.last < size - 1 ? spec.last : size - 1
      return Result.succeed({ start: spec.first, end: last + 1 })
    }
    case "Suffix": {
      if (spec.length === 0) return notSatisfiable("ZeroSuffix", size, "a suffix of 0 bytes selects nothing")
      return Result.succeed({ start: spec.length >= size ? 0 : size - spec.length, end: size })
    }
  }
}

/**
 * The `Content-Range` value of a 206 response: `bytes <start>-<end - 1>/<size>`, or `…/*` when `size` is unknown
 * (`undefined`). `span` must be non-empty and end at most at `size`, as spans from {@link resolve} are.
 */
export const formatContentRange = (span: Span.Span, size?: number): string =>
  `bytes ${span.start}-${span.end - 1}/${size === undefined ? "*" : size}`

/** The `Content-Range` value of a 416 response: `bytes *\/<size>`. */
export const formatUnsatisfied = (size: number): string => `bytes */${size}`

/** A 206 response's range: the span sent and the complete size (`undefined` when the server sent `*`). */
export const PartialContent = Schema.TaggedStruct("PartialContent", {
  span: Span.Span,
  size: Schema.UndefinedOr(Offset)
})
export interface PartialContent extends Schema.Schema.Type<typeof PartialContent> {}

/** A 416 response's `bytes *\/size`: the range was unsatisfiable and the resource has `size` bytes. */
export const Unsatisfied = Schema.TaggedStruct("Unsatisfied", { size: Offset })
export interface Unsatisfied extends Schema.Schema.Type<typeof Unsatisfied> {}

/** A parsed `Content-Range` header. */
export const ContentRange = Schema.Union([PartialContent, Unsatisfied]).annotate({ identifier: "ContentRange" })
export type ContentRange = PartialContent | Unsatisfied

/** Why a `Content-Range` header was rejected. */
export const InvalidContentRangeReason = Schema.Literals([
  /** The value is empty or only whitespace. */
  "Empty",
  /** The value is longer than {@link maxHeaderLength}. */
  "TooLong",
  /** Not `<unit> <first>-<last>/<size|*>` or `<unit> *\/<size>`. */
  "Malformed",
  /** A unit other than `bytes` (case-insensitive). */
  "UnsupportedUnit",
  /** A position or size is not plain ASCII digits. */
  "InvalidNumber",
  /** A position or size exceeds 2^53 - 1 (for the last position: 2^53 - 2, so the span end stays safe). */
  "TooLarge",
  /** `first > last`. */
  "FirstAfterLast",
  /** The complete size is not greater than the last position (RFC 9110 §14.4: invalid). */
  "LastBeyondSize"
])
export type InvalidContentRangeReason = typeof InvalidContentRangeReason.Type

/** A `Content-Range` response header that is malformed or unsupported. `input` is shortened to 160 characters. */
export class InvalidContentRange extends Schema.TaggedError<InvalidContentRange>("@graviton/core/InvalidContentRange")(
  "InvalidContentRange",
  {
    reason: InvalidContentRangeReason,
    input: Schema.String,
    message: Schema.String
  }
) {}

const invalidContentRange = (reason: InvalidContentRangeReason, input: string, message: string) =>
  Result.fail(new InvalidContentRange({ reason, input: Lex.clip(input), message }))

const UNIT_RE = /^([^ \t]*)[ \t]+(.*)$/s

/**
 * Parses a `Content-Range` response header (RFC 9110 §14.4): `bytes a-b/size` or `bytes a-b/*` (→ {@link PartialContent}
 * with the half-open span `[a, b + 1)`), or `bytes *\/size` (→ {@link Unsatisfied}). The unit is case-insensitive;
 * whitespace around the value and between unit and range is tolerated. Total: never throws.
 */
export const parseContentRange = (header: string): Result.Result<ContentRange, InvalidContentRange> => {
  if (typeof header !== "string") {
    return invalidContentRange("Malformed", String(header), "Content-Range header must be a string")
  }
  if (header.length > maxHeaderLength) {
    return invalidContentRange(
      "TooLong",
      header,
      `Content-Range header is ${header.length} characters; at most ${maxHeaderLength}`
    )
  }
  const value = Lex.trimOws(header)
  if (value === "") return invalidContentRange("Empty", header, "Content-Range header is empty")
  const m = UNIT_RE.exec(value)
  if (m === null)
    return invalidContentRange("Malformed", header, "Content-Range must look like bytes <first>-<last>/<size>")
  const unit = m[1]!
  const rest = m[2]!
  if (!Lex.isToken(unit))
    return invalidContentRange("Malformed", header, `range unit ${Lex.quote(unit)} is not a token`)
  if (unit.toLowerCase() !== "bytes") {
    return invalidContentRange("UnsupportedUnit", header, `range unit ${Lex.quote(unit)} is not supported (only bytes)`)
  }
  const onError = (reason: NumberReason, message: string) =>
    new InvalidContentRange({ reason, input: Lex.clip(header), message })
  if (rest.startsWith("*/")) {
    return Result.map(
      digits(rest.slice(2), "complete length", onError),
      (size): ContentRange => ({ _tag: "Unsatisfied", size })
    )
  }
  const slash = rest.indexOf("/")
  if (slash < 0) return invalidContentRange("Malformed", header, "Content-Range has no '/<size>'")
  const range = rest.slice(0, slash)
  const sizeText = rest.slice(slash + 1)
  const dash = range.indexOf("-")
  if (dash <= 0 || dash === range.length - 1) {
    return invalidContentRange("Malformed", header, `Content-Range range ${Lex.quote(range)} is not <first>-<last>`)
  }
  const first = digits(range.slice(0, dash), "first position", onError)
  if (Result.isFailure(first)) return Result.fail(first.failure)
  const last = digits(range.slice(dash + 1), "last position", onError)
  if (Result.isFailure(last)) return Result.fail(last.failure)
  const start = first.success
  const lastPos = last.success
  if (start > lastPos) {
    return invalidContentRange("FirstAfterLast", header, `first position ${start} is after last position ${lastPos}`)
  }
  if (lastPos >= Number.MAX_SAFE_INTEGER) {
    return invalidContentRange("TooLarge", header, `last position ${lastPos} leaves no room for the span end`)
  }
  let size: number | undefined
  if (sizeText !== "*") {
    const n = digits(sizeText, "complete length", onError)
    if (Result.isFailure(n)) return Result.fail(n.failure)
    if (n.success <= lastPos) {
      return invalidContentRange(
        "LastBeyondSize",
        header,
        `last position ${lastPos} is not below the complete length ${n.success}`
      )
    }
    size = n.success
  }
  return Result.succeed({ _tag: "PartialContent", span: { start, end: lastPos + 1 }, size })
}
