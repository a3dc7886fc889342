import { assert, describe, it } from "@effect/vitest"
import { Span } from "@graviton/core"
import { Result, Schema } from "effect"

const MAX = Number.MAX_SAFE_INTEGER
const Pos = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 64 }))

const ok = (r: Result.Result<Span.Span, Span.InvalidSpan>): Span.Span => {
  assert.isTrue(Result.isSuccess(r), "expected a span")
  return (r as Result.Success<Span.Span, Span.InvalidSpan>).success
}

const err = (r: Result.Result<Span.Span, Span.InvalidSpan>): Span.InvalidSpan => {
  assert.isTrue(Result.isFailure(r), "expected an InvalidSpan")
  const e = (r as Result.Failure<Span.Span, Span.InvalidSpan>).failure
  assert.strictEqual(e._tag, "InvalidSpan")
  assert.isAbove(e.message.length, 0)
  return e
}

const span = (start: number, end: number): Span.Span => Span.unsafeMake(start, end)

describe("Span", () => {
  it("makes half-open spans, including empty ones", () => {
    assert.deepStrictEqual(ok(Span.make(0, 10)), { start: 0, end: 10 })
    assert.deepStrictEqual(ok(Span.make(7, 7)), { start: 7, end: 7 })
    assert.deepStrictEqual(ok(Span.make(0, MAX)), { start: 0, end: MAX })
    assert.deepStrictEqual(ok(Span.ofLength(5, 3)), { start: 5, end: 8 })
    assert.deepStrictEqual(ok(Span.ofLength(5, 0)), { start: 5, end: 5 })
    assert.deepStrictEqual(ok(Span.ofLength(MAX - 1, 1)), { start: MAX - 1, end: MAX })
  })

  it.each([
    [1.5, 2, "NotInteger"],
    [0, Number.NaN, "NotInteger"],
    [0, Number.POSITIVE_INFINITY, "NotInteger"],
    [0, MAX + 1, "NotInteger"],
    [0, 2 ** 60, "NotInteger"],
    [-1, 3, "Negative"],
    [0, -3, "Negative"],
    [5, 4, "EndBeforeStart"],
    [MAX, 0, "EndBeforeStart"]
  ] as const)("make(%s, %s) fails with %s", (start, end, reason) => {
    const e = err(Span.make(start, end))
    assert.strictEqual(e.reason, reason)
  })

  it.each([
    [0, -1, "Negative"],
    [-1, 1, "Negative"],
    [0, 0.5, "NotInteger"],
    [MAX, 1, "Overflow"],
    [2 ** 52, 2 ** 52, "Overflow"]
  ] as const)("ofLength(%s, %s) fails with %s", (start, length, reason) => {
    assert.strictEqual(err(Span.ofLength(start, length)).reason, reason)
  })

  it("is total on values that are not numbers at all", () => {
    const e = err(Span.make("3" as unknown as number, 4))
    assert.strictEqual(e.reason, "NotInteger")
    assert.isTrue(Number.isNaN(e.start))
    assert.strictEqual(err(Span.make(0, undefined as unknown as number)).reason, "NotInteger")
  })

  it("unsafeMake throws the InvalidSpan that make returns", () => {
    assert.deepStrictEqual(Span.unsafeMake(1, 2), { start: 1, end: 2 })
    assert.throws(() => Span.unsafeMake(3, 2), /end \(2\) must not be less than start \(3\)/)
    try {
      Span.unsafeMake(-1, 2)
      assert.fail("unsafeMake accepted a negative start")
    } catch (e) {
      assert.instanceOf(e, Span.InvalidSpan)
      assert.strictEqual((e as Span.InvalidSpan).reason, "Negative")
    }
  })

  it("measures, contains and formats", () => {
    const s = span(10, 20)
    assert.strictEqual(Span.length(s), 10)
    assert.isFalse(Span.isEmpty(s))
    assert.isTrue(Span.isEmpty(span(4, 4)))
    assert.strictEqual(Span.length(span(4, 4)), 0)
    assert.isFalse(Span.contains(s, 9))
    assert.isTrue(Span.contains(s, 10))
    assert.isTrue(Span.contains(s, 19))
    assert.isFalse(Span.contains(s, 20), "end is exclusive")
    assert.isFalse(Span.contains(span(4, 4), 4), "an empty span contains nothing")
    assert.strictEqual(Span.format(s), "[10, 20)")
    assert.strictEqual(Span.format(span(0, 0)), "[0, 0)")
  })

  it("overlaps, touches and intersects with half-open semantics", () => {
    assert.isTrue(Span.overlaps(span(0, 10), span(9, 12)))
    assert.isFalse(Span.overlaps(span(0, 10), span(10, 12)), "adjacent spans share no byte")
    assert.isTrue(Span.touches(span(0, 10), span(10, 12)))
    assert.isFalse(Span.touches(span(0, 10), span(11, 12)))
    assert.isFalse(Span.overlaps(span(0, 10), span(5, 5)), "empty spans overlap nothing")
    assert.isFalse(Span.touches(span(0, 10), span(10, 10)))
    assert.deepStrictEqual(Span.intersect(span(0, 10), span(5, 15)), { start: 5, end: 10 })
    assert.deepStrictEqual(Span.intersect(span(0, 10), span(2, 3)), { start: 2, end: 3 })
    assert.isUndefined(Span.intersect(span(0, 10), span(10, 15)))
    assert.isUndefined(Span.intersect(span(0, 10), span(3, 3)))
    assert.isTrue(Span.containsSpan(span(0, 10), span(0, 10)))
    assert.isTrue(Span.containsSpan(span(0, 10), span(50, 50)), "an empty span is contained vacuously")
    assert.isFalse(Span.containsSpan(span(0, 10), span(5, 11)))
  })

  it("compares and orders", () => {
    assert.isTrue(Span.equals(span(1, 2), { start: 1, end: 2 }))
    assert.isFalse(Span.equals(span(1, 1), span(2, 2)))
    const sorted = [span(5, 6), span(1, 9), span(1, 3), span(0, 100)].sort(Span.order)
    assert.deepStrictEqual(sorted.map(Span.format), ["[0, 100)", "[1, 3)", "[1, 9)", "[5, 6)"])
  })

  it.prop(
    "intersect/overlaps/contains agree with a byte-by-byte model",
    [Pos, Pos, Pos, Pos],
    ([a0, a1, b0, b1]) => {
      const a = span(Math.min(a0, a1), Math.max(a0, a1))
      const b = span(Math.min(b0, b1), Math.max(b0, b1))
      const common: Array<number> = []
      for (let i = 0; i <= 64; i++) if (Span.contains(a, i) && Span.contains(b, i)) common.push(i)
      const x = Span.intersect(a, b)
      assert.strictEqual(Span.overlaps(a, b), common.length > 0)
      assert.strictEqual(Span.overlaps(a, b), Span.overlaps(b, a))
      if (common.length === 0) assert.isUndefined(x)
      else assert.deepStrictEqual(x, { start: common[0]!, end: common[common.length - 1]! + 1 })
      assert.strictEqual(Span.containsSpan(a, b), Span.isEmpty(b) || Span.equals(Span.intersect(a, b) ?? a, b))
    },
    { arbitrary: { runs: 500 } }
  )

  it("decodes and encodes through Schema, rejecting invalid bounds", () => {
    const decode = Schema.decodeUnknownSync(Span.Span)
    assert.deepStrictEqual(decode({ start: 0, end: 10 }), { start: 0, end: 10 })
    assert.deepStrictEqual(decode({ start: 3, end: 3 }), { start: 3, end: 3 })
    assert.deepStrictEqual(Schema.encodeSync(Span.Span)(span(1, 2)), { start: 1, end: 2 })
    for (const bad of [
      { start: 5, end: 4 },
      { start: -1, end: 4 },
      { start: 0.5, end: 4 },
      { start: 0, end: MAX + 1 },
      { start: 0 },
      { start: "0", end: 1 },
      null,
      [0, 1],
      "[0, 1)"
    ]) {
      assert.isTrue(Result.isFailure(Schema.decodeUnknownResult(Span.Span)(bad)), `accepted ${JSON.stringify(bad)}`)
    }
    const issue = Schema.decodeUnknownResult(Span.Span)({ start: 5, end: 4 })
    assert.match(Result.isFailure(issue) ? issue.failure.message : "", /end \(4\) must not be less than start \(5\)/)
  })
})
