import { assert, describe, it } from "@effect/vitest"
import { HttpRange, Span } from "@graviton/core"
import { Result, Schema } from "effect"

const MAX = Number.MAX_SAFE_INTEGER

const spec = (header: string): HttpRange.ByteRangeSpec => {
  const r = HttpRange.parse(header)
  assert.isTrue(Result.isSuccess(r), `expected ${JSON.stringify(header)} to parse`)
  return (r as Result.Success<HttpRange.ByteRangeSpec, HttpRange.InvalidRange>).success
}

const invalid = (header: string): HttpRange.InvalidRange => {
  const r = HttpRange.parse(header)
  assert.isTrue(Result.isFailure(r), `expected ${String(JSON.stringify(header)).slice(0, 80)} to be rejected`)
  const e = (r as Result.Failure<HttpRange.ByteRangeSpec, HttpRange.InvalidRange>).failure
  assert.strictEqual(e._tag, "InvalidRange")
  assert.instanceOf(e, Error)
  assert.isAbove(e.message.length, 0)
  assert.isAtMost(e.input.length, 160)
  return e
}

const resolved = (header: string, size: number): Span.Span => {
  const r = HttpRange.resolve(spec(header), size)
  assert.isTrue(Result.isSuccess(r), `expected ${header} to be satisfiable for size ${size}`)
  return (r as Result.Success<Span.Span, HttpRange.RangeNotSatisfiable>).success
}

const unsatisfiable = (s: HttpRange.ByteRangeSpec, size: number): HttpRange.RangeNotSatisfiable => {
  const r = HttpRange.resolve(s, size)
  assert.isTrue(Result.isFailure(r), `expected ${JSON.stringify(s)} to be unsatisfiable for size ${size}`)
  const e = (r as Result.Failure<Span.Span, HttpRange.RangeNotSatisfiable>).failure
  assert.strictEqual(e._tag, "RangeNotSatisfiable")
  assert.isAbove(e.message.length, 0)
  return e
}

const contentRange = (header: string): HttpRange.ContentRange => {
  const r = HttpRange.parseContentRange(header)
  assert.isTrue(Result.isSuccess(r), `expected Content-Range ${JSON.stringify(header)} to parse`)
  return (r as Result.Success<HttpRange.ContentRange, HttpRange.InvalidContentRange>).success
}

describe("HttpRange", () => {
  describe("parse", () => {
    it.each([
      ["bytes=0-499", { _tag: "Bounded", first: 0, last: 499 }],
      ["bytes=500-999", { _tag: "Bounded", first: 500, last: 999 }],
      ["bytes=7-7", { _tag: "Bounded", first: 7, last: 7 }],
      ["bytes=9500-", { _tag: "OpenEnded", first: 9500 }],
      ["bytes=0-", { _tag: "OpenEnded", first: 0 }],
      ["bytes=-500", { _tag: "Suffix", length: 500 }],
      ["bytes=-0", { _tag: "Suffix", length: 0 }],
      ["BYTES=1-2", { _tag: "Bounded", first: 1, last: 2 }],
      ["Bytes=1-2", { _tag: "Bounded", first: 1, last: 2 }],
      ["  bytes=1-2\t", { _tag: "Bounded", first: 1, last: 2 }],
      ["bytes = 1-2", { _tag: "Bounded", first: 1, last: 2 }],
      ["bytes= 1-2 ", { _tag: "Bounded", first: 1, last: 2 }],
      ["bytes=007-010", { _tag: "Bounded", first: 7, last: 10 }],
      ["bytes=0-1,", { _tag: "Bounded", first: 0, last: 1 }],
      ["bytes=, 0-1 ,", { _tag: "Bounded", first: 0, last: 1 }],
      [`bytes=0-${MAX}`, { _tag: "Bounded", first: 0, last: MAX }],
      [`bytes=-${MAX}`, { _tag: "Suffix", length: MAX }],
      [`bytes=00000000000000000000000000000001-2`, { _tag: "Bounded", first: 1, last: 2 }]
    ] as const)("parses %j", (header, expected) => {
      assert.deepStrictEqual(spec(header), expected)
    })

    it.each([
      ["", "Empty"],
      ["   ", "Empty"],
      ["\t", "Empty"],
      [`bytes=0-${"1".repeat(250)}`, "TooLong"],
      ["x".repeat(100_000), "TooLong"],
      ["bytes", "Malformed"],
      ["0-499", "Malformed"],
      ["=0-1", "Malformed"],
      ["by tes=0-1", "Malformed"],
      ["bytes\n=0-1", "Malformed"],
      ["bytes=", "Malformed"],
      ["bytes=  ", "Malformed"],
      ["bytes=,", "Malformed"],
      ["bytes=5", "Malformed"],
      ["bytes=-", "Malformed"],
      ["bytes=0-1,5", "Malformed"],
      ["items=0-1", "UnsupportedUnit"],
      ["bits=0-1", "UnsupportedUnit"],
      ["none=0-1", "UnsupportedUnit"],
      ["bytes=a-b", "InvalidNumber"],
      ["bytes=0x10-0x20", "InvalidNumber"],
      ["bytes=+1-2", "InvalidNumber"],
      ["bytes=1-+2", "InvalidNumber"],
      ["bytes=--5", "InvalidNumber"],
      ["bytes=-5-", "InvalidNumber"],
      ["bytes=1--2", "InvalidNumber"],
      ["bytes=1-2-3", "InvalidNumber"],
      ["bytes=1.5-2", "InvalidNumber"],
      ["bytes=1e3-2e3", "InvalidNumber"],
      ["bytes=1 -2", "InvalidNumber"],
      ["bytes=1- 2", "InvalidNumber"],
      ["bytes=١-٢", "InvalidNumber"],
      ["bytes=0-1\u0000", "InvalidNumber"],
      ["bytes=0-9007199254740992", "TooLarge"],
      ["bytes=99999999999999999999-", "TooLarge"],
      ["bytes=-99999999999999999999", "TooLarge"],
      [`bytes=${"9".repeat(240)}-`, "TooLarge"],
      ["bytes=500-499", "FirstAfterLast"],
      ["bytes=1-0", "FirstAfterLast"],
      ["bytes=0-1,5-6", "MultipleRanges"],
      ["bytes=0-1, 5-6, -7", "MultipleRanges"],
      ["bytes=0-0,0-0", "MultipleRanges"]
    ] as const)("rejects %j as %s", (header, reason) => {
      assert.strictEqual(invalid(header).reason, reason)
    })

    it("reports the first malformed range before counting ranges", () => {
      assert.strictEqual(invalid("bytes=0-1,x-2").reason, "InvalidNumber")
      assert.strictEqual(invalid("bytes=5-1,0-2").reason, "FirstAfterLast")
    })

    it("accepts exactly maxHeaderLength characters and rejects one more", () => {
      const pad = (n: number) => `bytes=${"0".repeat(n - "bytes=-1".length)}-1`
      assert.strictEqual(pad(HttpRange.maxHeaderLength).length, 256)
      assert.deepStrictEqual(spec(pad(256)), { _tag: "Bounded", first: 0, last: 1 })
      assert.strictEqual(invalid(pad(257)).reason, "TooLong")
    })

    it("is total on values that are not strings", () => {
      for (const v of [undefined, null, 42, {}, ["bytes=0-1"]]) {
        assert.strictEqual(invalid(v as unknown as string).reason, "Malformed")
      }
    })

    it("never throws on garbage: every prefix and random mutation gives a result", () => {
      const seeds = ["bytes=0-499", "bytes=-500", "bytes=9500-", "bytes=0-1,5-6"]
      const alphabet = "bytes=-,0123456789 \t+.xB*/"
      let x = 12345
      const rnd = (n: number) => {
        x = (x * 1103515245 + 12345) % 2 ** 31
        return x % n
      }
      for (const seed of seeds) {
        for (let n = 0; n <= seed.length; n++) assert.isDefined(HttpRange.parse(seed.slice(0, n))._tag)
        for (let k = 0; k < 500; k++) {
          const chars = seed.split("")
          chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!
          const r = HttpRange.parse(chars.join(""))
          if (Result.isSuccess(r)) assert.isTrue(Schema.is(HttpRange.ByteRangeSpec)(r.success))
          assert.isDefined(HttpRange.parseContentRange(chars.join(""))._tag)
        }
      }
    })
  })

  describe("resolve", () => {
    it("maps ranges to half-open spans clipped to the size (RFC 9110 §14.1.2)", () => {
      assert.deepStrictEqual(resolved("bytes=0-499", 10_000), { start: 0, end: 500 })
      assert.deepStrictEqual(resolved("bytes=0-0", 1), { start: 0, end: 1 })
      assert.deepStrictEqual(resolved("bytes=9500-", 10_000), { start: 9500, end: 10_000 })
      assert.deepStrictEqual(resolved("bytes=-500", 10_000), { start: 9500, end: 10_000 })
      assert.deepStrictEqual(resolved("bytes=9999-9999", 10_000), { start: 9999, end: 10_000 }, "last byte")
      assert.deepStrictEqual(resolved("bytes=-1", 10_000), { start: 9999, end: 10_000 }, "last byte by suffix")
      assert.deepStrictEqual(resolved("bytes=5000-20000", 10_000), { start: 5000, end: 10_000 }, "last clipped")
      assert.deepStrictEqual(resolved(`bytes=0-${MAX}`, 10), { start: 0, end: 10 }, "last far beyond the size")
      assert.deepStrictEqual(resolved("bytes=-20000", 10_000), { start: 0, end: 10_000 }, "long suffix = whole")
      assert.deepStrictEqual(resolved("bytes=-10000", 10_000), { start: 0, end: 10_000 })
      assert.deepStrictEqual(resolved("bytes=0-", 1), { start: 0, end: 1 })
      assert.deepStrictEqual(resolved(`bytes=${MAX - 1}-`, MAX), { start: MAX - 1, end: MAX })
    })

    it("rejects unsatisfiable ranges with the size for Content-Range: bytes */size", () => {
      const cases: Array<[string, number, HttpRange.RangeNotSatisfiableReason]> = [
        ["bytes=10000-", 10_000, "StartBeyondSize"],
        ["bytes=10000-10001", 10_000, "StartBeyondSize"],
        ["bytes=20000-30000", 10_000, "StartBeyondSize"],
        ["bytes=-0", 10_000, "ZeroSuffix"],
        ["bytes=0-0", 0, "EmptyResource"],
        ["bytes=0-", 0, "EmptyResource"],
        ["bytes=-5", 0, "EmptyResource"],
        ["bytes=-0", 0, "EmptyResource"]
      ]
      for (const [header, size, reason] of cases) {
        const e = unsatisfiable(spec(header), size)
        assert.strictEqual(e.reason, reason, header)
        assert.strictEqual(e.size, size)
        assert.strictEqual(HttpRange.formatUnsatisfied(e.size), `bytes */${size}`)
      }
    })

    it("is total on hand-built specs and sizes", () => {
      const bad = [
        { _tag: "Bounded", first: 5, last: 2 },
        { _tag: "Bounded", first: -1, last: 2 },
        { _tag: "OpenEnded", first: 1.5 },
        { _tag: "Suffix", length: Number.NaN },
        { _tag: "Other" },
        null
      ] as unknown as ReadonlyArray<HttpRange.ByteRangeSpec>
      for (const s of bad) assert.strictEqual(unsatisfiable(s, 100).reason, "InvalidSpec")
      for (const size of [-1, 1.5, Number.NaN, MAX + 1]) {
        assert.strictEqual(unsatisfiable({ _tag: "OpenEnded", first: 0 }, size).reason, "InvalidSize")
      }
    })

    it.prop(
      "every satisfiable result is a non-empty span inside [0, size) matching a byte-by-byte model",
      [
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })),
        Schema.Literals(["Bounded", "OpenEnded", "Suffix"])
      ],
      ([a, b, size, tag]) => {
        const s: HttpRange.ByteRangeSpec =
          tag === "Bounded"
            ? { _tag: "Bounded", first: Math.min(a, b), last: Math.max(a, b) }
            : tag === "OpenEnded"
              ? { _tag: "OpenEnded", first: a }
              : { _tag: "Suffix", length: a }
        // model: which byte offsets of the resource does the spec select?
        const selected: Array<number> = []
        for (let i = 0; i < size; i++) {
          const inRange =
            s._tag === "Bounded"
              ? i >= s.first && i <= s.last
              : s._tag === "OpenEnded"
                ? i >= s.first
                : i >= size - s.length
          if (inRange) selected.push(i)
        }
        const r = HttpRange.resolve(s, size)
        if (selected.length === 0) {
          assert.isTrue(Result.isFailure(r))
        } else {
          assert.deepStrictEqual(Result.getOrThrow(r), { start: selected[0]!, end: selected[selected.length - 1]! + 1 })
        }
        // format -> parse is the identity on specs
        assert.deepStrictEqual(Result.getOrThrow(HttpRange.parse(HttpRange.format(s))), s)
      },
      { arbitrary: { runs: 500 } }
    )
  })

  describe("format and constructors", () => {
    it("formats specs and response headers", () => {
      assert.strictEqual(HttpRange.format({ _tag: "Bounded", first: 0, last: 499 }), "bytes=0-499")
      assert.strictEqual(HttpRange.format({ _tag: "OpenEnded", first: 9500 }), "bytes=9500-")
      assert.strictEqual(HttpRange.format({ _tag: "Suffix", length: 500 }), "bytes=-500")
      assert.strictEqual(HttpRange.formatContentRange(Span.unsafeMake(0, 500), 10_000), "bytes 0-499/10000")
      assert.strictEqual(HttpRange.formatContentRange(Span.unsafeMake(9999, 10_000), 10_000), "bytes 9999-9999/10000")
      assert.strictEqual(HttpRange.formatContentRange(Span.unsafeMake(0, 5)), "bytes 0-4/*")
      assert.strictEqual(HttpRange.formatUnsatisfied(0), "bytes */0")
    })

    it("builds specs from spans and validates constructor arguments", () => {
      assert.deepStrictEqual(HttpRange.fromSpan(Span.unsafeMake(10, 20)), { _tag: "Bounded", first: 10, last: 19 })
      assert.isUndefined(HttpRange.fromSpan(Span.unsafeMake(10, 10)))
      assert.strictEqual(HttpRange.format(HttpRange.fromSpan(Span.unsafeMake(0, 1))!), "bytes=0-0")
      assert.deepStrictEqual(Result.getOrThrow(HttpRange.bounded(1, 2)), { _tag: "Bounded", first: 1, last: 2 })
      assert.deepStrictEqual(Result.getOrThrow(HttpRange.openEnded(3)), { _tag: "OpenEnded", first: 3 })
      assert.deepStrictEqual(Result.getOrThrow(HttpRange.suffix(4)), { _tag: "Suffix", length: 4 })
      const reason = (r: Result.Result<HttpRange.ByteRangeSpec, HttpRange.InvalidRange>) =>
        Result.isFailure(r) ? r.failure.reason : "accepted"
      assert.strictEqual(reason(HttpRange.bounded(2, 1)), "FirstAfterLast")
      assert.strictEqual(reason(HttpRange.bounded(-1, 1)), "InvalidNumber")
      assert.strictEqual(reason(HttpRange.bounded(0, 1.5)), "InvalidNumber")
      assert.strictEqual(reason(HttpRange.openEnded(Number.NaN)), "InvalidNumber")
      assert.strictEqual(reason(HttpRange.suffix(2 ** 60)), "TooLarge")
    })

    it("round-trips a resolved span through the response header", () => {
      for (const [header, size] of [
        ["bytes=0-499", 10_000],
        ["bytes=-1", 1],
        ["bytes=3-", 4],
        [`bytes=${MAX - 2}-`, MAX]
      ] as const) {
        const span = resolved(header, size)
        const cr = contentRange(HttpRange.formatContentRange(span, size))
        assert.deepStrictEqual(cr, { _tag: "PartialContent", span, size })
      }
    })

    it("has schemas for specs and Content-Range values", () => {
      const decode = Schema.decodeUnknownResult(HttpRange.ByteRangeSpec)
      assert.isTrue(Result.isSuccess(decode({ _tag: "Bounded", first: 0, last: 0 })))
      assert.isTrue(Result.isFailure(decode({ _tag: "Bounded", first: 1, last: 0 })))
      assert.isTrue(Result.isFailure(decode({ _tag: "Suffix", length: -1 })))
      assert.isTrue(Result.isFailure(decode({ _tag: "Nope" })))
      const cr = Schema.decodeUnknownResult(HttpRange.ContentRange)
      assert.isTrue(Result.isSuccess(cr({ _tag: "PartialContent", span: { start: 0, end: 1 }, size: undefined })))
      assert.isTrue(Result.isSuccess(cr({ _tag: "Unsatisfied", size: 0 })))
      assert.isTrue(Result.isFailure(cr({ _tag: "PartialContent", span: { start: 2, end: 1 }, size: 5 })))
    })
  })

  describe("parseContentRange", () => {
    it.each([
      ["bytes 0-499/10000", { _tag: "PartialContent", span: { start: 0, end: 500 }, size: 10_000 }],
      ["bytes 9999-9999/10000", { _tag: "PartialContent", span: { start: 9999, end: 10_000 }, size: 10_000 }],
      ["bytes 0-4/*", { _tag: "PartialContent", span: { start: 0, end: 5 }, size: undefined }],
      ["BYTES  0-4/5", { _tag: "PartialContent", span: { start: 0, end: 5 }, size: 5 }],
      [" bytes\t0-4/5 ", { _tag: "PartialContent", span: { start: 0, end: 5 }, size: 5 }],
      ["bytes */10000", { _tag: "Unsatisfied", size: 10_000 }],
      ["bytes */0", { _tag: "Unsatisfied", size: 0 }],
      [`bytes 0-${MAX - 1}/${MAX}`, { _tag: "PartialContent", span: { start: 0, end: MAX }, size: MAX }]
    ] as const)("parses %j", (header, expected) => {
      assert.deepStrictEqual(contentRange(header), expected)
    })

    it.each([
      ["", "Empty"],
      [" ", "Empty"],
      [`bytes 0-1/${"1".repeat(260)}`, "TooLong"],
      ["bytes", "Malformed"],
      ["bytes=0-1/2", "Malformed"],
      ["bytes 0-1", "Malformed"],
      ["bytes -1/2", "Malformed"],
      ["bytes 0-/2", "Malformed"],
      ["bytes 5/10", "Malformed"],
      ["bytes */", "InvalidNumber"],
      ["bytes */*", "InvalidNumber"],
      ["bytes 0-1/", "InvalidNumber"],
      ["bytes 0-1/-5", "InvalidNumber"],
      ["bytes a-1/5", "InvalidNumber"],
      ["bytes 0-b/5", "InvalidNumber"],
      ["bytes 0-1/5 junk", "InvalidNumber"],
      ["bytes +0-1/5", "InvalidNumber"],
      ["items 0-1/5", "UnsupportedUnit"],
      ["bytes 0-1/99999999999999999999", "TooLarge"],
      ["bytes 0-99999999999999999999/5", "TooLarge"],
      [`bytes 0-${MAX}/*`, "TooLarge"],
      ["bytes */9007199254740992", "TooLarge"],
      ["bytes 5-4/10", "FirstAfterLast"],
      ["bytes 0-10/10", "LastBeyondSize"],
      ["bytes 0-10/5", "LastBeyondSize"]
    ] as const)("rejects %j as %s", (header, reason) => {
      const r = HttpRange.parseContentRange(header)
      assert.isTrue(Result.isFailure(r), `accepted ${header}`)
      const e = (r as Result.Failure<HttpRange.ContentRange, HttpRange.InvalidContentRange>).failure
      assert.strictEqual(e._tag, "InvalidContentRange")
      assert.strictEqual(e.reason, reason)
      assert.isAbove(e.message.length, 0)
      assert.isAtMost(e.input.length, 160)
    })

    it("is total on values that are not strings", () => {
      const r = HttpRange.parseContentRange(42 as unknown as string)
      assert.isTrue(Result.isFailure(r) && r.failure.reason === "Malformed")
    })
  })
})
