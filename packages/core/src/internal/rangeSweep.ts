/**
 * Array kernels behind RangeSet. Every input named "set" is a *normalized* span list: spans non-empty, sorted by
 * start, disjoint and non-adjacent (`prev.end < next.start`). Every kernel returns a fresh normalized list (or, where
 * documented, the input itself when nothing changes) and runs in linear time, or logarithmic time plus one copy for
 * the single-span edits.
 */

export interface SpanLike {
  readonly start: number
  readonly end: number
}

type Spans = ReadonlyArray<SpanLike>

/** First index whose span has `end > x` (`spans.length` if none). */
export const firstEndAbove = (spans: Spans, x: number): number => {
  let lo = 0
  let hi = spans.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (spans[mid]!.end > x) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** First index whose span has `end >= x` (`spans.length` if none). */
export const firstEndAtLeast = (spans: Spans, x: number): number => {
  let lo = 0
  let hi = spans.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (spans[mid]!.end >= x) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** First index whose span has `start > x` (`spans.length` if none). */
export const firstStartAbove = (spans: Spans, x: number): number => {
  let lo = 0
  let hi = spans.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (spans[mid]!.start > x) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** First index whose span has `start >= x` (`spans.length` if none). */
export const firstStartAtLeast = (spans: Spans, x: number): number => {
  let lo = 0
  let hi = spans.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (spans[mid]!.start >= x) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** True for a non-empty span with non-negative safe-integer bounds: the only spans a set may hold. */
export const isUsable = (s: SpanLike): boolean =>
  Number.isSafeInteger(s.start) && Number.isSafeInteger(s.end) && s.start >= 0 && s.start < s.end

/** Sorts and merges arbitrary spans (spans that are not {@link isUsable} are dropped). O(n log n), or O(n) when the input is
 * already sorted by start. The output holds fresh `{ start, end }` objects only. */
export const normalize = (input: Iterable<SpanLike>): Array<SpanLike> => {
  const items: Array<SpanLike> = []
  let sorted = true
  let prevStart = -1
  for (const s of input) {
    if (isUsable(s)) {
      if (s.start < prevStart) sorted = false
      prevStart = s.start
      items.push(s)
    }
  }
  if (!sorted) items.sort((a, b) => a.start - b.start)
  const out: Array<SpanLike> = []
  let cs = 0
  let ce = -1
  for (const s of items) {
    if (ce >= 0 && s.start <= ce) {
      if (s.end > ce) ce = s.end
    } else {
      if (ce >= 0) out.push({ start: cs, end: ce })
      cs = s.start
      ce = s.end
    }
  }
  if (ce >= 0) out.push({ start: cs, end: ce })
  return out
}

/** True when `spans` is already normalized. */
export const isNormalized = (spans: Spans): boolean => firstViolation(spans) === undefined

/** Index and description of the first normalization violation, if any. */
export const firstViolation = (spans: Spans): { readonly index: number; readonly problem: string } | undefined => {
  let prevEnd = -1
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!
    if (!isUsable(s)) {
      return { index: i, problem: s.start < s.end ? "bounds are not non-negative safe integers" : "span is empty" }
    }
    if (prevEnd >= 0 && s.start <= prevEnd) {
      return {
        index: i,
        problem:
          s.start < prevEnd
            ? "span starts before the previous span ends (unsorted or overlapping)"
            : "span is adjacent to the previous span (should be merged)"
      }
    }
    prevEnd = s.end
  }
  return undefined
}

/** Two-pointer merge of two sets. */
export const union = (a: Spans, b: Spans): Array<SpanLike> => {
  const out: Array<SpanLike> = []
  let i = 0
  let j = 0
  let cur: SpanLike | undefined
  let ce = 0
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]!.start <= b[j]!.start) ? a[i++]! : b[j++]!
    if (cur === undefined) {
      cur = next
      ce = next.end
    } else if (next.start <= ce) {
      if (next.end > ce) ce = next.end
    } else {
      out.push(ce === cur.end ? cur : { start: cur.start, end: ce })
      cur = next
      ce = next.end
    }
  }
  if (cur !== undefined) out.push(ce === cur.end ? cur : { start: cur.start, end: ce })
  return out
}

/** Two-pointer intersection of two sets (pieces of normalized inputs are never adjacent, so no merge step). */
export const intersect = (a: Spans, b: Spans): Array<SpanLike> => {
  const out: Array<SpanLike> = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i]!
    const y = b[j]!
    const lo = Math.max(x.start, y.start)
    const hi = Math.min(x.end, y.end)
    if (lo < hi) {
      out.push(lo === x.start && hi === x.end ? x : lo === y.start && hi === y.end ? y : { start: lo, end: hi })
    }
    if (x.end < y.end) i++
    else j++
  }
  return out
}

/** Two-pointer difference `a \ b`. */
export const difference = (a: Spans, b: Spans): Array<SpanLike> => {
  const out: Array<SpanLike> = []
  let j = 0
  for (const s of a) {
    let cur = s.start
    while (j < b.length && b[j]!.end <= cur) j++
    let k = j
    while (k < b.length && b[k]!.start < s.end) {
      const cut = b[k]!
      if (cut.start > cur) out.push(cur === s.start && cut.start === s.end ? s : { start: cur, end: cut.start })
      if (cut.end > cur) cur = cut.end
      // a cut reaching past this span may also cut the next one: keep it for the next iteration
      if (cut.end > s.end) break
      k++
    }
    if (cur < s.end) out.push(cur === s.start ? s : { start: cur, end: s.end })
    j = k
  }
  return out
}

/** The gaps of `set` inside `universe` (`universe` non-empty), at most `limit` of them. */
export const gaps = (set: Spans, universe: SpanLike, limit: number): Array<SpanLike> => {
  const out: Array<SpanLike> = []
  if (!(universe.start < universe.end) || limit <= 0) return out
  let cur = universe.start
  for (let i = firstEndAbove(set, universe.start); i < set.length; i++) {
    const s = set[i]!
    if (s.start >= universe.end) break
    if (s.start > cur) {
      out.push({ start: cur, end: s.start })
      if (out.length >= limit) return out
    }
    if (s.end > cur) cur = s.end
  }
  if (cur < universe.end) out.push({ start: cur, end: universe.end })
  return out
}

/** Inserts a non-empty span: binary search for the neighbours it touches, merge only those. Returns `set` itself
 * when the span is already covered; never stores the caller's object (only a fresh `{ start, end }`). */
export const add = (set: Spans, span: SpanLike): Spans => {
  const lo = firstEndAtLeast(set, span.start) // first span touching or after
  const hi = firstStartAbove(set, span.end) // one past the last span touching or before
  if (lo >= hi) {
    const out = new Array<SpanLike>(set.length + 1)
    for (let i = 0; i < lo; i++) out[i] = set[i]!
    out[lo] = { start: span.start, end: span.end }
    for (let i = lo; i < set.length; i++) out[i + 1] = set[i]!
    return out
  }
  const first = set[lo]!
  const last = set[hi - 1]!
  const start = Math.min(first.start, span.start)
  const end = Math.max(last.end, span.end)
  if (hi - lo === 1 && start === first.start && end === first.end) return set
  const merged = { start, end }
  const out = new Array<SpanLike>(set.length - (hi - lo) + 1)
  for (let i = 0; i < lo; i++) out[i] = set[i]!
  out[lo] = merged
  for (let i = hi, k = lo + 1; i < set.length; i++, k++) out[k] = set[i]!
  return out
}

/** Removes a non-empty span: binary search for the spans it overlaps, trim only those. Returns `set` itself when
 * nothing overlaps. */
export const remove = (set: Spans, span: SpanLike): Spans => {
  const lo = firstEndAbove(set, span.start) // first span overlapping or after
  const hi = firstStartAtLeast(set, span.end) // one past the last span overlapping or before
  if (lo >= hi) return set
  const first = set[lo]!
  const last = set[hi - 1]!
  const out: Array<SpanLike> = []
  for (let i = 0; i < lo; i++) out.push(set[i]!)
  if (first.start < span.start) out.push({ start: first.start, end: span.start })
  if (last.end > span.end) out.push({ start: span.end, end: last.end })
  for (let i = hi; i < set.length; i++) out.push(set[i]!)
  return out
}
