/**
 * Sets of byte offsets, stored as normalized lists of {@link Span.Span}s.
 *
 * A {@link RangeSet} is **normalized**: its spans are non-empty, sorted by start, disjoint and non-adjacent
 * (`spans[i].end < spans[i + 1].start`; spans that touch are merged into one). So two sets hold the same offsets
 * exactly when their span lists are equal, and the list is the smallest description of the set.
 *
 * Values are immutable: every operation returns a new set (or the input itself when nothing changes) and never
 * mutates its arguments. Costs, for sets of `n` and `m` spans:
 * - {@link add} and {@link remove}: binary search for the neighbours the span touches, merge or trim only those,
 *   then one array copy — O(log n) comparisons, no re-sort;
 * - {@link union}, {@link intersect}, {@link difference}: one two-pointer sweep, O(n + m);
 * - {@link complement}, {@link gaps}: O(log n + k) for `k` spans inside the universe;
 * - {@link contains}, {@link containsSpan}, {@link overlapsSpan}: O(log n);
 * - {@link of}, {@link fromSpans}: sort and merge, O(n log n) (O(n) for input already sorted by start).
 *
 * Spans that are empty, or that are not valid spans at all (negative, fractional or unsafe bounds, `end < start` —
 * possible only for values built by hand rather than with {@link Span.make} or the schema), contribute no offsets:
 * they are ignored by every operation, which therefore never throws.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as Sweep from "./internal/rangeSweep.ts"
import * as Span from "./Span.ts"

const normalizedCheck = Schema.makeFilter((spans: ReadonlyArray<Span.Span>) => {
  const v = Sweep.firstViolation(spans)
  return v === undefined ? undefined : { path: [v.index], issue: `range set is not normalized: ${v.problem}` }
})

/**
 * Strict schema of a normalized set: an array of {@link Span.Span}s (`[{ "start": 0, "end": 10 }, …]`) that must
 * already be normalized. Decoding **validates and rejects** (with the index of the first offending span) rather than
 * repairing, so a stored value that does not round-trip is reported, not silently rewritten. Use {@link FromSpans}
 * to accept any span list and normalize it.
 */
export const RangeSet = Schema.Array(Span.Span)
  .check(normalizedCheck)
  .annotate({ identifier: "RangeSet" })
  .pipe(Schema.brand("@graviton/core/RangeSet"))

/** A normalized, immutable set of byte offsets; see the module documentation. */
export type RangeSet = typeof RangeSet.Type

const unsafeWrap = (spans: ReadonlyArray<Span.Span>): RangeSet => spans as RangeSet

/** The set with no offsets. */
export const empty: RangeSet = unsafeWrap(Object.freeze([]))

/** The set of the offsets covered by any of `spans`, in any order, overlapping or not. */
export const fromSpans = (spans: Iterable<Span.Span>): RangeSet => unsafeWrap(Sweep.normalize(spans))

/** Variadic {@link fromSpans}: `of(a, b, c)`. */
export const of = (...spans: ReadonlyArray<Span.Span>): RangeSet => fromSpans(spans)

/**
 * Lenient schema: decodes any array of valid spans (unsorted, overlapping, adjacent, empty) into the normalized
 * {@link RangeSet}; encodes to the normalized array. Invalid spans are still rejected (by {@link Span.Span}).
 */
export const FromSpans = Schema.Array(Span.Span).pipe(
  Schema.decodeTo(RangeSet, {
    decode: SchemaGetter.transform((spans: ReadonlyArray<Span.Span>) => Sweep.normalize(spans)),
    encode: SchemaGetter.transform((set: ReadonlyArray<Span.Span>) => set)
  })
)

/** The spans of the set, sorted, disjoint and non-adjacent. The array is the set's own storage: do not mutate it. */
export const spans = (set: RangeSet): ReadonlyArray<Span.Span> => set

/** True when the set holds no offset. */
export const isEmpty = (set: RangeSet): boolean => set.length === 0

/** Number of offsets in the set (the sum of its span lengths). */
export const totalLength = (set: RangeSet): number => {
  let n = 0
  for (const s of set) n += s.end - s.start
  return n
}

/** The smallest span covering the whole set (from its first start to its last end), or `undefined` if empty. */
export const bounds = (set: RangeSet): Span.Span | undefined =>
  set.length === 0 ? undefined : { start: set[0]!.start, end: set[set.length - 1]!.end }

/** True when `offset` is in the set. O(log n). */
export const contains = (set: RangeSet, offset: number): boolean => {
  const s = set[Sweep.firstEndAbove(set, offset)]
  return s !== undefined && s.start <= offset
}

/** True when every offset of `span` is in the set (vacuously true for an empty span). O(log n). */
export const containsSpan = (set: RangeSet, span: Span.Span): boolean => {
  if (!(span.start < span.end)) return true
  const s = set[Sweep.firstEndAbove(set, span.start)]
  return s !== undefined && s.start <= span.start && s.end >= span.end
}

/** True when the set holds at least one offset of `span` (never for an empty span). O(log n). */
export const overlapsSpan = (set: RangeSet, span: Span.Span): boolean => {
  if (!(span.start < span.end)) return false
  const s = set[Sweep.firstEndAbove(set, span.start)]
  return s !== undefined && s.start < span.end
}

/**
 * The set with the offsets of `span` added. Incremental: binary search for the spans `span` overlaps or touches,
 * merge only those, copy the rest — no re-sort. Returns `set` itself when `span` is empty or already covered.
 */
export const add = (set: RangeSet, span: Span.Span): RangeSet =>
  Sweep.isUsable(span) ? unsafeWrap(Sweep.add(set, span)) : set

/**
 * The set with the offsets of `span` removed. Incremental like {@link add}: only the spans `span` overlaps are
 * trimmed or dropped. Returns `set` itself when nothing overlaps.
 */
export const remove = (set: RangeSet, span: Span.Span): RangeSet =>
  Sweep.isUsable(span) ? unsafeWrap(Sweep.remove(set, span)) : set

/** Offsets in `a` or `b`. O(n + m). */
export const union = (a: RangeSet, b: RangeSet): RangeSet =>
  a.length === 0 ? b : b.length === 0 ? a : unsafeWrap(Sweep.union(a, b))

/** Offsets in both `a` and `b`. O(n + m). */
export const intersect = (a: RangeSet, b: RangeSet): RangeSet =>
  a.length === 0 ? a : b.length === 0 ? b : unsafeWrap(Sweep.intersect(a, b))

/** Offsets in `a` but not in `b`. O(n + m). */
export const difference = (a: RangeSet, b: RangeSet): RangeSet =>
  a.length === 0 || b.length === 0 ? a : unsafeWrap(Sweep.difference(a, b))

/**
 * Offsets of `universe` that are not in the set (offsets of the set outside `universe` are irrelevant). Empty when
 * `universe` is empty. `complement(completed, [0, total))` is what is still pending of an upload of `total` bytes.
 */
export const complement = (set: RangeSet, universe: Span.Span): RangeSet =>
  unsafeWrap(Sweep.isUsable(universe) ? Sweep.gaps(set, universe, Number.POSITIVE_INFINITY) : [])

/** The spans of {@link complement}: the holes of the set inside `universe`, in order. */
export const gaps = (set: RangeSet, universe: Span.Span): ReadonlyArray<Span.Span> => complement(set, universe)

/** The first hole of the set inside `universe`, or `undefined` when the set covers it. O(log n). */
export const firstGap = (set: RangeSet, universe: Span.Span): Span.Span | undefined =>
  Sweep.isUsable(universe) ? Sweep.gaps(set, universe, 1)[0] : undefined

/** True when both sets hold the same offsets (normalization makes this a span-by-span comparison). */
export const equals = (a: RangeSet, b: RangeSet): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.start !== b[i]!.start || a[i]!.end !== b[i]!.end) return false
  }
  return true
}

/** Human-readable form, e.g. `{[0, 10), [20, 30)}`; `{}` when empty. */
export const format = (set: RangeSet): string => `{${set.map(Span.format).join(", ")}}`
