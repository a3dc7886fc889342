import { assert, describe, it } from "@effect/vitest"
import { RangeSet, Span } from "@graviton/core"
import { Result, Schema } from "effect"

// ---------------------------------------------------------------------------------------------------------------
// Naive model: a bitmap over the universe [0, N). Every RangeSet result is compared with the bitmap result.
// ---------------------------------------------------------------------------------------------------------------

const N = 256
type Bits = Uint8Array

const bitsOf = (spans: ReadonlyArray<Span.Span>): Bits => {
  const b = new Uint8Array(N)
  for (const s of spans) for (let i = s.start; i < s.end; i++) b[i] = 1
  return b
}
const bitsOfSet = (set: RangeSet.RangeSet): Bits => bitsOf(RangeSet.spans(set))
const zip = (a: Bits, b: Bits, f: (x: number, y: number) => number): Bits => a.map((x, i) => f(x, b[i]!))
const not = (a: Bits, u: Span.Span): Bits => a.map((x, i) => (i >= u.start && i < u.end && x === 0 ? 1 : 0))

/** Maximal runs of set bits: the unique normalized span list of a bitmap. */
const runsOf = (b: Bits): Array<Span.Span> => {
  const out: Array<Span.Span> = []
  let i = 0
  while (i < N) {
    if (b[i] === 1) {
      let j = i
      while (j < N && b[j] === 1) j++
      out.push({ start: i, end: j })
      i = j
    } else i++
  }
  return out
}

/** The normalization invariant, checked independently of the library's own check. */
const assertNormalized = (set: RangeSet.RangeSet): void => {
  const spans = RangeSet.spans(set)
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!
    assert.isTrue(Number.isSafeInteger(s.start) && Number.isSafeInteger(s.end) && s.start >= 0, "bounds")
    assert.isBelow(s.start, s.end, `span ${i} of ${RangeSet.format(set)} is empty`)
    assert.deepStrictEqual(Object.keys(s).sort(), ["end", "start"], "spans are plain { start, end }")
    if (i > 0) assert.isBelow(spans[i - 1]!.end, s.start, `spans ${i - 1},${i} of ${RangeSet.format(set)} touch`)
  }
  assert.isTrue(Schema.is(RangeSet.RangeSet)(set), "the strict schema accepts every result")
}

/** Asserts `set` is normalized and holds exactly the offsets of `bits`. */
const assertModel = (set: RangeSet.RangeSet, bits: Bits, what: string): void => {
  assertNormalized(set)
  assert.deepStrictEqual(RangeSet.spans(set), runsOf(bits), what)
}

// Generated span lists: each element is (x, y, short). Long spans run between x and y; short ones start at x and
// have a length of y % 9 (so 0..8: empty, adjacent and tiny spans are common).
const Pos = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: N }))
const SpanList = Schema.Array(Schema.Tuple([Pos, Pos, Schema.Boolean]))
type Raw = ReadonlyArray<readonly [number, number, boolean]>

const toSpans = (raw: Raw): Array<Span.Span> =>
  raw.map(([x, y, short]) =>
    short ? { start: x, end: Math.min(N, x + (y % 9)) } : { start: Math.min(x, y), end: Math.max(x, y) }
  )
const toSet = (raw: Raw): RangeSet.RangeSet => RangeSet.fromSpans(toSpans(raw))
const toUniverse = (a: number, b: number): Span.Span => ({ start: Math.min(a, b), end: Math.max(a, b) })

const runs = { arbitrary: { runs: 300, size: 24 } }

const span = Span.unsafeMake
const set = (...pairs: ReadonlyArray<readonly [number, number]>) => RangeSet.of(...pairs.map(([a, b]) => span(a, b)))
const fmt = RangeSet.format

describe("RangeSet", () => {
  describe("examples", () => {
    it("normalizes: sorts, merges overlapping and adjacent spans, drops empty ones", () => {
      assert.strictEqual(fmt(set([20, 30], [0, 10], [10, 12], [25, 40], [50, 50], [5, 6])), "{[0, 12), [20, 40)}")
      assert.strictEqual(fmt(RangeSet.empty), "{}")
      assert.strictEqual(fmt(RangeSet.of()), "{}")
      assert.isTrue(RangeSet.isEmpty(set([3, 3])))
      assert.strictEqual(RangeSet.totalLength(set([0, 10], [20, 25])), 15)
      assert.deepStrictEqual(RangeSet.bounds(set([3, 4], [10, 20])), { start: 3, end: 20 })
      assert.isUndefined(RangeSet.bounds(RangeSet.empty))
    })

    it("ignores spans that are not valid rather than throwing", () => {
      const bad = [
        { start: -5, end: 3 },
        { start: 4, end: 2 },
        { start: 0.5, end: 9 },
        { start: 0, end: Number.NaN },
        { start: 0, end: Number.POSITIVE_INFINITY }
      ]
      assert.isTrue(RangeSet.isEmpty(RangeSet.fromSpans(bad)))
      const s = set([0, 10])
      for (const b of bad) {
        assert.strictEqual(RangeSet.add(s, b), s)
        assert.strictEqual(RangeSet.remove(s, b), s)
      }
      assert.isTrue(RangeSet.isEmpty(RangeSet.complement(s, { start: 5, end: 1 })))
    })

    it("copies spans: extra fields of the caller's objects never leak into the set", () => {
      const entry = { start: 0, end: 10, blockKey: "k" }
      const s = RangeSet.add(RangeSet.of(entry), { start: 20, end: 30, blockKey: "j" } as Span.Span)
      assert.deepStrictEqual(RangeSet.spans(s), [
        { start: 0, end: 10 },
        { start: 20, end: 30 }
      ])
    })

    it("adds incrementally, merging only neighbours and returning the same set when nothing changes", () => {
      let s = RangeSet.empty
      s = RangeSet.add(s, span(10, 20))
      s = RangeSet.add(s, span(30, 40))
      s = RangeSet.add(s, span(50, 60))
      assert.strictEqual(fmt(s), "{[10, 20), [30, 40), [50, 60)}")
      assert.strictEqual(RangeSet.add(s, span(12, 18)), s, "covered span: same reference")
      assert.strictEqual(RangeSet.add(s, span(12, 12)), s, "empty span: same reference")
      assert.strictEqual(fmt(RangeSet.add(s, span(0, 5))), "{[0, 5), [10, 20), [30, 40), [50, 60)}")
      assert.strictEqual(fmt(RangeSet.add(s, span(70, 80))), "{[10, 20), [30, 40), [50, 60), [70, 80)}")
      assert.strictEqual(fmt(RangeSet.add(s, span(20, 30))), "{[10, 40), [50, 60)}", "bridges two adjacent spans")
      assert.strictEqual(fmt(RangeSet.add(s, span(15, 55))), "{[10, 60)}")
      assert.strictEqual(fmt(RangeSet.add(s, span(40, 50))), "{[10, 20), [30, 60)}")
      assert.strictEqual(fmt(RangeSet.add(s, span(41, 49))), "{[10, 20), [30, 40), [41, 49), [50, 60)}")
      assert.strictEqual(fmt(s), "{[10, 20), [30, 40), [50, 60)}", "the original set is unchanged")
    })

    it("removes incrementally", () => {
      const s = set([10, 20], [30, 40], [50, 60])
      assert.strictEqual(RangeSet.remove(s, span(20, 30)), s)
      assert.strictEqual(fmt(RangeSet.remove(s, span(15, 35))), "{[10, 15), [35, 40), [50, 60)}")
      assert.strictEqual(fmt(RangeSet.remove(s, span(32, 35))), "{[10, 20), [30, 32), [35, 40), [50, 60)}")
      assert.strictEqual(fmt(RangeSet.remove(s, span(0, 100))), "{}")
    })

    it("answers membership with half-open semantics", () => {
      const s = set([10, 20], [30, 40])
      assert.isFalse(RangeSet.contains(s, 9))
      assert.isTrue(RangeSet.contains(s, 10))
      assert.isTrue(RangeSet.contains(s, 19))
      assert.isFalse(RangeSet.contains(s, 20))
      assert.isTrue(RangeSet.containsSpan(s, span(30, 40)))
      assert.isFalse(RangeSet.containsSpan(s, span(15, 35)))
      assert.isTrue(RangeSet.containsSpan(s, span(25, 25)), "empty span: vacuously contained")
      assert.isTrue(RangeSet.containsSpan(RangeSet.empty, span(0, 0)))
      assert.isTrue(RangeSet.overlapsSpan(s, span(19, 21)))
      assert.isFalse(RangeSet.overlapsSpan(s, span(20, 30)))
      assert.isFalse(RangeSet.overlapsSpan(s, span(15, 15)))
    })

    it("computes the pending spans of an upload as the complement within [0, total)", () => {
      const total = span(0, 100)
      let done = RangeSet.empty
      assert.deepStrictEqual(RangeSet.gaps(done, total), [{ start: 0, end: 100 }])
      done = RangeSet.add(done, span(40, 60))
      done = RangeSet.add(done, span(0, 10))
      assert.strictEqual(fmt(RangeSet.complement(done, total)), "{[10, 40), [60, 100)}")
      assert.deepStrictEqual(RangeSet.firstGap(done, total), { start: 10, end: 40 })
      assert.deepStrictEqual(RangeSet.firstGap(done, span(45, 80)), { start: 60, end: 80 })
      done = RangeSet.add(RangeSet.add(done, span(10, 40)), span(60, 100))
      assert.isUndefined(RangeSet.firstGap(done, total))
      assert.deepStrictEqual(RangeSet.gaps(done, total), [])
      assert.isTrue(RangeSet.containsSpan(done, total))
      assert.isTrue(RangeSet.isEmpty(RangeSet.complement(RangeSet.empty, span(0, 0))), "a 0-byte upload has no gap")
    })

    it("runs the set algebra on small examples", () => {
      const a = set([0, 10], [20, 30])
      const b = set([5, 25], [40, 50])
      assert.strictEqual(fmt(RangeSet.union(a, b)), "{[0, 30), [40, 50)}")
      assert.strictEqual(fmt(RangeSet.intersect(a, b)), "{[5, 10), [20, 25)}")
      assert.strictEqual(fmt(RangeSet.difference(a, b)), "{[0, 5), [25, 30)}")
      assert.strictEqual(fmt(RangeSet.difference(b, a)), "{[10, 20), [40, 50)}")
      assert.isTrue(RangeSet.equals(RangeSet.union(a, RangeSet.empty), a))
      assert.isTrue(RangeSet.isEmpty(RangeSet.intersect(a, set([10, 20], [30, 40]))), "adjacent is not overlapping")
      assert.strictEqual(fmt(RangeSet.union(a, set([10, 20]))), "{[0, 30)}", "union merges adjacent spans")
    })

    it("scales: 5,000 out-of-order adds stay exact", () => {
      // Every third span of width 2 at stride 3, inserted in a scrambled order, then the holes filled.
      const n = 5_000
      const order = Array.from({ length: n }, (_, i) => (i * 7_919) % n)
      let s = RangeSet.empty
      for (const i of order) s = RangeSet.add(s, span(3 * i, 3 * i + 2))
      assert.strictEqual(RangeSet.spans(s).length, n)
      assert.strictEqual(RangeSet.totalLength(s), 2 * n)
      for (const i of order) s = RangeSet.add(s, span(3 * i + 2, 3 * i + 3))
      assert.deepStrictEqual(RangeSet.spans(s), [{ start: 0, end: 3 * n }])
    })
  })

  describe("schemas", () => {
    it("RangeSet validates normalization and rejects (with the index) instead of repairing", () => {
      const decode = Schema.decodeUnknownResult(RangeSet.RangeSet)
      const good = [
        { start: 0, end: 10 },
        { start: 11, end: 20 }
      ]
      assert.deepStrictEqual(RangeSet.spans(Result.getOrThrow(decode(good))), good)
      assert.isTrue(RangeSet.isEmpty(Result.getOrThrow(decode([]))))
      const cases: Array<[unknown, RegExp]> = [
        [
          [
            { start: 0, end: 10 },
            { start: 10, end: 20 }
          ],
          /adjacent/
        ],
        [
          [
            { start: 0, end: 10 },
            { start: 5, end: 20 }
          ],
          /unsorted or overlapping/
        ],
        [
          [
            { start: 20, end: 30 },
            { start: 0, end: 10 }
          ],
          /unsorted or overlapping/
        ],
        [[{ start: 3, end: 3 }], /empty/],
        [[{ start: 3, end: 2 }], /must not be less than start/],
        [[{ start: -1, end: 2 }], /./],
        [{ start: 0, end: 1 }, /./],
        ["{[0, 1)}", /./]
      ]
      for (const [input, message] of cases) {
        const r = decode(input)
        assert.isTrue(Result.isFailure(r), `accepted ${JSON.stringify(input)}`)
        assert.match(Result.isFailure(r) ? r.failure.message : "", message)
      }
      const r = decode([
        { start: 0, end: 1 },
        { start: 5, end: 6 },
        { start: 6, end: 7 }
      ])
      assert.match(Result.isFailure(r) ? r.failure.message : "", /\[2\]/, "names the offending index")
    })

    it("FromSpans normalizes any valid span list and encodes the normalized form", () => {
      const decode = Schema.decodeUnknownSync(RangeSet.FromSpans)
      const s = decode([
        { start: 10, end: 20 },
        { start: 0, end: 10 },
        { start: 15, end: 25 },
        { start: 40, end: 40 }
      ])
      assert.strictEqual(fmt(s), "{[0, 25)}")
      assert.deepStrictEqual(Schema.encodeSync(RangeSet.FromSpans)(s), [{ start: 0, end: 25 }])
      assert.throws(() => decode([{ start: 3, end: 2 }]))
      assert.deepStrictEqual(JSON.parse(JSON.stringify(Schema.encodeSync(RangeSet.RangeSet)(s))), [
        { start: 0, end: 25 }
      ])
    })
  })

  describe("against a bitmap model", () => {
    it.prop(
      "fromSpans = bitmap of the spans (any order, overlaps, empties)",
      [SpanList],
      ([raw]) => {
        assertModel(toSet(raw), bitsOf(toSpans(raw)), "fromSpans")
      },
      runs
    )

    it.prop(
      "add, one span at a time in generation order and in reverse, = bitmap; invariants hold after every add",
      [SpanList],
      ([raw]) => {
        const spans = toSpans(raw)
        for (const list of [spans, [...spans].reverse()]) {
          let s = RangeSet.empty
          const bits = new Uint8Array(N)
          for (const sp of list) {
            const before = s
            s = RangeSet.add(s, sp)
            for (let i = sp.start; i < sp.end; i++) bits[i] = 1
            assertModel(s, bits, `after add ${Span.format(sp)}`)
            if (RangeSet.containsSpan(before, sp)) assert.strictEqual(s, before)
          }
        }
      },
      runs
    )

    it.prop(
      "remove of each span from a set = bitmap; invariants hold after every remove",
      [SpanList, SpanList],
      ([a, b]) => {
        let s = toSet(a)
        const bits = bitsOfSet(s)
        for (const sp of toSpans(b)) {
          s = RangeSet.remove(s, sp)
          for (let i = sp.start; i < sp.end; i++) bits[i] = 0
          assertModel(s, bits, `after remove ${Span.format(sp)}`)
        }
      },
      runs
    )

    it.prop(
      "union, intersect, difference = bitwise or, and, and-not",
      [SpanList, SpanList],
      ([ra, rb]) => {
        const a = toSet(ra)
        const b = toSet(rb)
        const x = bitsOfSet(a)
        const y = bitsOfSet(b)
        assertModel(
          RangeSet.union(a, b),
          zip(x, y, (p, q) => p | q),
          "union"
        )
        assertModel(
          RangeSet.intersect(a, b),
          zip(x, y, (p, q) => p & q),
          "intersect"
        )
        assertModel(
          RangeSet.difference(a, b),
          zip(x, y, (p, q) => p & (1 - q)),
          "difference"
        )
        assertModel(
          RangeSet.difference(b, a),
          zip(y, x, (p, q) => p & (1 - q)),
          "difference (swapped)"
        )
      },
      runs
    )

    it.prop(
      "complement, gaps and firstGap within a universe = bitwise not inside the universe",
      [SpanList, Pos, Pos],
      ([raw, u0, u1]) => {
        const a = toSet(raw)
        const u = toUniverse(u0, u1)
        const expected = not(bitsOfSet(a), u)
        const c = RangeSet.complement(a, u)
        assertModel(c, expected, `complement in ${Span.format(u)}`)
        assert.deepStrictEqual(RangeSet.gaps(a, u), runsOf(expected))
        assert.deepStrictEqual(RangeSet.firstGap(a, u), runsOf(expected)[0])
        assert.strictEqual(RangeSet.containsSpan(a, u), runsOf(expected).length === 0)
      },
      runs
    )

    it.prop(
      "contains, containsSpan, overlapsSpan, totalLength agree with the bitmap",
      [SpanList, Pos, Pos],
      ([raw, p, q]) => {
        const a = toSet(raw)
        const bits = bitsOfSet(a)
        for (let i = 0; i <= N; i++) assert.strictEqual(RangeSet.contains(a, i), bits[i] === 1, `offset ${i}`)
        const sp = toUniverse(p, q)
        let all = true
        let any = false
        for (let i = sp.start; i < sp.end; i++) {
          all &&= bits[i] === 1
          any ||= bits[i] === 1
        }
        assert.strictEqual(RangeSet.containsSpan(a, sp), all)
        assert.strictEqual(RangeSet.overlapsSpan(a, sp), any)
        assert.strictEqual(
          RangeSet.totalLength(a),
          bits.reduce((n, x) => n + x, 0)
        )
        assert.strictEqual(RangeSet.isEmpty(a), !bits.includes(1))
      },
      runs
    )

    it.prop(
      "equals iff the bitmaps are equal",
      [SpanList, SpanList],
      ([ra, rb]) => {
        const a = toSet(ra)
        const b = toSet(rb)
        const same = bitsOfSet(a).every((x, i) => x === bitsOfSet(b)[i])
        assert.strictEqual(RangeSet.equals(a, b), same)
        assert.isTrue(RangeSet.equals(a, RangeSet.fromSpans([...RangeSet.spans(a)].reverse())))
      },
      runs
    )
  })

  describe("algebra laws", () => {
    const eq = (x: RangeSet.RangeSet, y: RangeSet.RangeSet, law: string) =>
      assert.isTrue(RangeSet.equals(x, y), `${law}: ${fmt(x)} != ${fmt(y)}`)
    const { union: or, intersect: and, difference: minus, complement } = RangeSet

    it.prop(
      "commutativity and associativity of union and intersect",
      [SpanList, SpanList, SpanList],
      ([ra, rb, rc]) => {
        const [a, b, c] = [toSet(ra), toSet(rb), toSet(rc)]
        eq(or(a, b), or(b, a), "a ∪ b = b ∪ a")
        eq(and(a, b), and(b, a), "a ∩ b = b ∩ a")
        eq(or(or(a, b), c), or(a, or(b, c)), "(a ∪ b) ∪ c = a ∪ (b ∪ c)")
        eq(and(and(a, b), c), and(a, and(b, c)), "(a ∩ b) ∩ c = a ∩ (b ∩ c)")
        eq(or(a, a), a, "a ∪ a = a")
        eq(and(a, a), a, "a ∩ a = a")
        eq(or(a, and(a, b)), a, "absorption a ∪ (a ∩ b) = a")
      },
      runs
    )

    it.prop(
      "distributivity both ways",
      [SpanList, SpanList, SpanList],
      ([ra, rb, rc]) => {
        const [a, b, c] = [toSet(ra), toSet(rb), toSet(rc)]
        eq(or(a, and(b, c)), and(or(a, b), or(a, c)), "a ∪ (b ∩ c) = (a ∪ b) ∩ (a ∪ c)")
        eq(and(a, or(b, c)), or(and(a, b), and(a, c)), "a ∩ (b ∪ c) = (a ∩ b) ∪ (a ∩ c)")
      },
      runs
    )

    it.prop(
      "De Morgan and double complement within a universe",
      [SpanList, SpanList, Pos, Pos],
      ([ra, rb, u0, u1]) => {
        const [a, b] = [toSet(ra), toSet(rb)]
        const u = toUniverse(u0, u1)
        const U = RangeSet.of(u)
        eq(complement(or(a, b), u), and(complement(a, u), complement(b, u)), "¬(a ∪ b) = ¬a ∩ ¬b")
        eq(complement(and(a, b), u), or(complement(a, u), complement(b, u)), "¬(a ∩ b) = ¬a ∪ ¬b")
        eq(complement(complement(a, u), u), and(a, U), "¬¬a = a ∩ U")
        eq(complement(a, u), minus(U, a), "¬a = U \\ a")
        eq(or(and(a, U), complement(a, u)), U, "(a ∩ U) ∪ ¬a = U")
        assert.isTrue(RangeSet.isEmpty(and(a, complement(a, u))), "a ∩ ¬a = ∅")
      },
      runs
    )

    it.prop(
      "difference = intersect with the complement; difference, intersect and union partition a",
      [SpanList, SpanList],
      ([ra, rb]) => {
        const [a, b] = [toSet(ra), toSet(rb)]
        const u = Span.unsafeMake(0, N)
        eq(minus(a, b), and(a, complement(b, u)), "a \\ b = a ∩ ¬b")
        eq(or(minus(a, b), and(a, b)), a, "(a \\ b) ∪ (a ∩ b) = a")
        assert.isTrue(RangeSet.isEmpty(and(minus(a, b), b)), "(a \\ b) ∩ b = ∅")
        eq(
          b.reduce((s, sp) => RangeSet.remove(s, sp), a),
          minus(a, b),
          "removing b's spans one by one = a \\ b"
        )
        eq(
          RangeSet.spans(b).reduce((s, sp) => RangeSet.add(s, sp), a),
          or(a, b),
          "adding b's spans one by one = a ∪ b"
        )
      },
      runs
    )
  })
})
