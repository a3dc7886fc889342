import { createHash, randomFillSync } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Chunker } from "@graviton/core"
import { Effect, Result, Schema, Stream } from "effect"
import { GEAR, GEAR_SEED } from "../src/internal/gear.ts"

const KiB = 1024
const MiB = 1024 * KiB

const params = (id: string): Chunker.ValidParams => Result.getOrThrow(Chunker.parseId(id))
const SMALL = params("fastcdc-v1:64:256:1024")
const DEFAULT = Chunker.defaults

/** Deterministic pseudo-random bytes (xorshift32, top byte of each state): the golden-vector input. */
const goldenInput = (len: number, seed: number): Uint8Array => {
  const out = new Uint8Array(len)
  let x = seed | 0
  for (let k = 0; k < len; k++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[k] = x >>> 24
  }
  return out
}

const random = (len: number): Uint8Array => {
  const out = new Uint8Array(len)
  for (let off = 0; off < len; off += 65536) randomFillSync(out.subarray(off, Math.min(len, off + 65536)))
  return out
}

const sizesOf = (blocks: ReadonlyArray<Uint8Array>) => blocks.map((b) => b.length)

const concat = (blocks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0))
  let off = 0
  for (const b of blocks) {
    out.set(b, off)
    off += b.length
  }
  return out
}

/**
 * Feeds `data` cut at `boundaries` (any order, duplicates make empty pushes) and finishes. Pieces are copies by
 * default, or `subarray` views (arbitrary, unaligned byte offsets into one buffer) with `views`.
 */
const chunkSliced = (p: Chunker.ValidParams, data: Uint8Array, boundaries: ReadonlyArray<number>, views = false) => {
  const c = Chunker.instantiate(p)
  const cuts = [...boundaries.map((b) => b % (data.length + 1)), 0, data.length].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  for (let k = 1; k < cuts.length; k++) {
    const piece = views ? data.subarray(cuts[k - 1]!, cuts[k]!) : data.slice(cuts[k - 1]!, cuts[k]!)
    for (const b of c.push(piece)) out.push(b)
  }
  for (const b of c.finish()) out.push(b)
  return out
}

/**
 * Naive reference FastCDC written straight from the definition: for each block, skip `min` bytes, roll the gear
 * hash from zero, cut after position p when the top log2(avg)+2 bits are zero (p < avg) or the top log2(avg)-2 bits
 * are zero (p >= avg); cut at `max` otherwise.
 */
const referenceSizes = (p: { min: number; avg: number; max: number }, data: Uint8Array): Array<number> => {
  const bits = Math.log2(p.avg)
  const top = (h: number, k: number) => (h >>> 0) >>> (32 - k)
  const sizes: Array<number> = []
  let base = 0
  while (base < data.length) {
    const end = Math.min(data.length - base, p.max)
    let len = end
    let h = 0
    for (let pos = p.min; pos < end; pos++) {
      h = (h * 2 + (GEAR[data[base + pos]!]! >>> 0)) % 2 ** 32
      if (top(h, pos < p.avg ? bits + 2 : bits - 2) === 0) {
        len = pos + 1
        break
      }
    }
    sizes.push(len)
    base += len
  }
  return sizes
}

describe("Chunker", () => {
  describe("gear table", () => {
    it("is the documented table derived from seed 'grav' (pinned checksum)", () => {
      assert.strictEqual(GEAR_SEED, 0x67726176)
      assert.strictEqual(GEAR.length, 256)
      assert.strictEqual(GEAR[0]! >>> 0, 0xb60f707e)
      assert.strictEqual(GEAR[1]! >>> 0, 0x2fd4ef0f)
      assert.strictEqual(GEAR[255]! >>> 0, 0xa0e9a932)
      const digest = createHash("sha256").update(new Uint8Array(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength))
      assert.strictEqual(digest.digest("hex"), "77b544ac2c4038e319ef95e16f1ce095a49c434d5c3d79e20d93d0cf700c1a58")
    })

    it("has 256 distinct values with about half their bits set", () => {
      assert.strictEqual(new Set(GEAR).size, 256)
      let ones = 0
      for (const g of GEAR) for (let v = g >>> 0; v !== 0; v >>>= 1) ones += v & 1
      assert.approximately(ones / 256, 16, 1)
    })
  })

  describe("golden cut points (any change here is a format break: bump the chunker id version)", () => {
    it("fastcdc-v1:16384:65536:262144 on 4 MiB of xorshift32 bytes", () => {
      const sizes = sizesOf(Chunker.split(DEFAULT, goldenInput(4 * MiB, 0x1234567)))
      assert.deepStrictEqual(
        sizes,
        [
          102753, 77188, 75837, 75778, 128078, 87334, 99712, 83951, 80759, 82829, 78995, 83273, 82870, 94539, 75012,
          65792, 85785, 96751, 29288, 110132, 72490, 40162, 16795, 113879, 79349, 112066, 48785, 42989, 73174, 131669,
          69811, 71332, 47781, 82935, 100230, 72351, 129651, 93159, 68144, 21862, 35178, 74709, 70625, 69806, 96888,
          29944, 78019, 44164, 130282, 74801, 79917, 71459, 72767, 80475
        ]
      )
    })

    it("fastcdc-v1:64:256:1024 on 64 KiB of xorshift32 bytes", () => {
      const sizes = sizesOf(Chunker.split(SMALL, goldenInput(64 * KiB, 42)))
      assert.strictEqual(sizes.length, 232)
      assert.deepStrictEqual(
        sizes.slice(0, 24),
        [
          340, 127, 267, 263, 245, 347, 183, 303, 317, 398, 305, 299, 279, 362, 368, 231, 335, 290, 313, 240, 283, 96,
          316, 150
        ]
      )
      assert.strictEqual(
        createHash("sha256").update(sizes.join(",")).digest("hex"),
        "2d1fa1d524d7e998f6bc4301a09852e310f7cfc72bb01998b0f0b715aed5104b"
      )
    })

    it("matches the naive reference implementation on random data for several parameter sets", () => {
      const data = random(3 * MiB + 12345)
      for (const id of [
        "fastcdc-v1:64:256:1024",
        "fastcdc-v1:64:64:64",
        "fastcdc-v1:64:128:128",
        "fastcdc-v1:100:128:5000",
        "fastcdc-v1:2048:8192:65536",
        "fastcdc-v1:16384:65536:262144"
      ]) {
        const p = params(id) as Chunker.FastCdcParams
        assert.deepStrictEqual(
          sizesOf(chunkSliced(p as Chunker.ValidParams, data, [1 * MiB, 2 * MiB])),
          referenceSizes(p, data),
          id
        )
      }
    })
  })

  describe("mask order (hard mask below avg, easy mask above)", () => {
    it("cuts rarely before avg and mostly between avg and max", () => {
      // With the hard mask (log2(avg)+2 bits) on [min, avg) the chance of a cut there is 1-(1-2^-12)^768 ≈ 17% for
      // 256/1024/4096; with the masks swapped it would be ≈ 95%.
      const p = params("fastcdc-v1:256:1024:4096")
      const sizes = sizesOf(Chunker.split(p, random(8 * MiB))).slice(0, -1)
      const below = sizes.filter((s) => s <= 1024).length / sizes.length
      assert.isAbove(below, 0.08)
      assert.isBelow(below, 0.3)
    })
  })

  describe("block sizes", () => {
    it("every block but the last is in [min+1, max], the last in [1, max]; they concatenate to the input", () => {
      for (const [p, len] of [
        [SMALL, 300 * KiB],
        [DEFAULT, 8 * MiB + 77],
        [params("fastcdc-v1:64:64:64"), 10_000],
        [params("fastcdc-v1:4096:4096:16777216"), 2 * MiB]
      ] as const) {
        const fp = p as Chunker.FastCdcParams
        const data = random(len)
        const blocks = Chunker.split(p, data)
        blocks.slice(0, -1).forEach((b, k) => {
          assert.isAtLeast(b.length, Math.min(fp.min + 1, fp.max), `block ${k}`)
          assert.isAtMost(b.length, fp.max, `block ${k}`)
        })
        const last = blocks[blocks.length - 1]!
        assert.isAtLeast(last.length, 1)
        assert.isAtMost(last.length, fp.max)
        assert.deepStrictEqual(concat(blocks), data)
      }
    })

    it("min = avg = max gives fixed-size blocks", () => {
      assert.deepStrictEqual(sizesOf(Chunker.split(params("fastcdc-v1:64:64:64"), random(1000))), [
        ...Array(15).fill(64),
        40
      ])
    })

    it("averages a sane band around avg on random data", () => {
      for (const [p, len] of [
        [DEFAULT, 32 * MiB],
        [SMALL, 2 * MiB],
        [params("fastcdc-v1:2048:8192:65536"), 8 * MiB]
      ] as const) {
        const fp = p as Chunker.FastCdcParams
        const blocks = Chunker.split(p, random(len))
        const mean = len / blocks.length
        assert.isAbove(mean, fp.avg * 0.85, Chunker.formatId(p))
        assert.isBelow(mean, fp.avg * 1.5, Chunker.formatId(p))
      }
    })

    it("empty input gives zero blocks, however it is pushed", () => {
      for (const p of [DEFAULT, SMALL, Result.getOrThrow(Chunker.fixed(10))]) {
        assert.deepStrictEqual(Chunker.split(p, new Uint8Array(0)), [])
        const c = Chunker.instantiate(p)
        assert.deepStrictEqual(c.push(new Uint8Array(0)), [])
        assert.deepStrictEqual(c.push(new Uint8Array(0)), [])
        assert.deepStrictEqual(c.finish(), [])
      }
    })

    it("input shorter than min is one block", () => {
      const data = random(100)
      assert.deepStrictEqual(sizesOf(Chunker.split(DEFAULT, data)), [100])
    })
  })

  describe("slicing invariance", () => {
    const Seed = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2 ** 31 - 1 }))
    const Len = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40_000 }))
    const Boundaries = Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40_000 })))

    it.prop(
      "FastCDC: any slicing (incl. empty pushes) gives the blocks of one push",
      [Seed, Len, Boundaries],
      ([seed, len, boundaries]) => {
        const data = goldenInput(len, seed)
        const whole = chunkSliced(SMALL, data, [])
        const sliced = chunkSliced(SMALL, data, boundaries)
        assert.deepStrictEqual(sizesOf(sliced), sizesOf(whole))
        assert.deepStrictEqual(concat(sliced), data)
        assert.deepStrictEqual(sizesOf(whole), referenceSizes(SMALL as Chunker.FastCdcParams, data))
      },
      { arbitrary: { runs: 200 } }
    )

    it.prop(
      "FastCDC with random parameters: any slicing gives the naive reference's blocks",
      [
        Seed,
        Len,
        Boundaries,
        Schema.Int.check(Schema.isBetween({ minimum: 64, maximum: 700 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5000 }))
      ],
      ([seed, len, boundaries, min, shift, extra]) => {
        const avg = 2 ** (Math.ceil(Math.log2(min)) + shift)
        const p = Result.getOrThrow(Chunker.fastCdc({ min, avg, max: avg + extra }))
        const data = goldenInput(len, seed)
        const sliced = chunkSliced(p, data, boundaries, true)
        assert.deepStrictEqual(sizesOf(sliced), referenceSizes(p as Chunker.FastCdcParams, data))
        assert.deepStrictEqual(concat(sliced), data)
      },
      { arbitrary: { runs: 200 } }
    )

    it.prop(
      "fixed-size: any slicing gives the blocks of one push",
      [Seed, Len, Boundaries, Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5000 }))],
      ([seed, len, boundaries, size]) => {
        const p = Result.getOrThrow(Chunker.fixed(size))
        const data = goldenInput(len, seed)
        const sliced = chunkSliced(p, data, boundaries)
        const expected =
          len === 0
            ? []
            : [...Array(Math.floor((len - 1) / size)).fill(size), len - size * Math.floor((len - 1) / size)]
        assert.deepStrictEqual(sizesOf(sliced), expected)
        assert.deepStrictEqual(concat(sliced), data)
      },
      { arbitrary: { runs: 200 } }
    )

    it("1-byte pushes, empty pushes and random slicings agree for the default chunker", () => {
      const data = random(3 * MiB)
      const whole = sizesOf(chunkSliced(DEFAULT, data, []))
      const c = Chunker.instantiate(DEFAULT)
      const byByte: Array<number> = []
      for (let k = 0; k < 700 * KiB; k++) {
        for (const b of c.push(data.subarray(k, k + 1))) byByte.push(b.length)
        if (k % 1000 === 0) assert.deepStrictEqual(c.push(new Uint8Array(0)), [])
      }
      for (const b of c.push(data.subarray(700 * KiB))) byByte.push(b.length)
      for (const b of c.finish()) byByte.push(b.length)
      assert.deepStrictEqual(byByte, whole)
      for (let round = 0; round < 5; round++) {
        const bounds = Array.from({ length: 40 }, () => Math.floor(Math.random() * data.length))
        assert.deepStrictEqual(sizesOf(chunkSliced(DEFAULT, data, bounds)), whole)
      }
    })
  })

  describe("memory contract", () => {
    it("never writes into pushed buffers nor into blocks it already returned", () => {
      const data = random(2 * MiB)
      for (const p of [DEFAULT, SMALL, Result.getOrThrow(Chunker.fixed(100_000))]) {
        const c = Chunker.instantiate(p)
        const pushed: Array<[Uint8Array, Uint8Array]> = []
        const blocks: Array<[Uint8Array, Uint8Array]> = []
        for (let off = 0; off < data.length; off += 77_777) {
          const piece = data.slice(off, off + 77_777)
          pushed.push([piece, piece.slice()])
          for (const b of c.push(piece)) blocks.push([b, b.slice()])
        }
        for (const b of c.finish()) blocks.push([b, b.slice()])
        for (const [b, copy] of [...pushed, ...blocks]) assert.deepStrictEqual(b, copy)
        assert.deepStrictEqual(concat(blocks.map(([b]) => b)), data)
      }
    })

    it("finish resets the chunker so it can be reused", () => {
      const data = random(500 * KiB)
      const c = Chunker.instantiate(DEFAULT)
      const first = sizesOf([...c.push(data.subarray(0, 123_456)), ...c.finish()])
      const second = sizesOf([...c.push(data), ...c.finish()])
      assert.deepStrictEqual(first, sizesOf(Chunker.split(DEFAULT, data.subarray(0, 123_456))))
      assert.deepStrictEqual(second, sizesOf(Chunker.split(DEFAULT, data)))
    })
  })

  describe("fixed-size", () => {
    it("cuts exact sizes with a short last block", () => {
      const p = Result.getOrThrow(Chunker.fixed(1000))
      assert.deepStrictEqual(sizesOf(Chunker.split(p, random(3500))), [1000, 1000, 1000, 500])
      assert.deepStrictEqual(sizesOf(Chunker.split(p, random(3000))), [1000, 1000, 1000])
      assert.deepStrictEqual(sizesOf(Chunker.split(Result.getOrThrow(Chunker.fixed(1)), random(3))), [1, 1, 1])
    })
  })

  describe("ids and validation", () => {
    it("formats and parses canonical ids", () => {
      assert.strictEqual(Chunker.formatId(DEFAULT), "fastcdc-v1:16384:65536:262144")
      assert.deepStrictEqual(Result.getOrThrow(Chunker.validate(DEFAULT)), DEFAULT)
      assert.strictEqual(Chunker.formatId(Result.getOrThrow(Chunker.fixed(4096))), "fixed-v1:4096")
      for (const id of ["fastcdc-v1:16384:65536:262144", "fastcdc-v1:64:64:64", "fixed-v1:1", "fixed-v1:16777216"]) {
        assert.strictEqual(Chunker.formatId(params(id)), id)
      }
      assert.deepStrictEqual<unknown>(params("fastcdc-v1:64:256:1024"), {
        _tag: "FastCdc",
        min: 64,
        avg: 256,
        max: 1024
      })
      const c = Result.getOrThrow(Chunker.fromId("fixed-v1:7"))
      assert.strictEqual(c.id, "fixed-v1:7")
      assert.deepStrictEqual<unknown>(c.params, { _tag: "Fixed", size: 7 })
      const made = Result.getOrThrow(Chunker.make({ _tag: "FastCdc", min: 64, avg: 128, max: 256 }))
      assert.strictEqual(made.id, "fastcdc-v1:64:128:256")
    })

    it.each([
      ["", "UnknownAlgorithm"],
      ["nope", "UnknownAlgorithm"],
      ["fastcdc-v2:64:256:1024", "UnknownAlgorithm"],
      ["FASTCDC-V1:64:256:1024", "UnknownAlgorithm"],
      ["fastcdc-v1", "Malformed"],
      ["fastcdc-v1:64:256", "Malformed"],
      ["fastcdc-v1:64:256:1024:5", "Malformed"],
      ["fixed-v1", "Malformed"],
      ["fixed-v1:1:2", "Malformed"],
      ["fastcdc-v1:a:b:c", "NotInteger"],
      ["fastcdc-v1:64:256:", "NotInteger"],
      ["fastcdc-v1:064:256:1024", "NotInteger"],
      ["fastcdc-v1:+64:256:1024", "NotInteger"],
      ["fastcdc-v1:-64:256:1024", "NotInteger"],
      ["fastcdc-v1:64.5:256:1024", "NotInteger"],
      ["fastcdc-v1: 64:256:1024", "NotInteger"],
      ["fastcdc-v1:1e3:4096:8192", "NotInteger"],
      ["fastcdc-v1:64:256:99999999999999999", "OutOfRange"],
      ["fastcdc-v1:99999999999999999:256:1024", "OutOfOrder"],
      ["fixed-v1:0x10", "NotInteger"],
      ["fastcdc-v1:32:256:1024", "OutOfRange"],
      ["fastcdc-v1:0:256:1024", "OutOfRange"],
      ["fastcdc-v1:64:256:33554432", "OutOfRange"],
      ["fixed-v1:0", "OutOfRange"],
      ["fixed-v1:16777217", "OutOfRange"],
      ["fastcdc-v1:64:300:1024", "AvgNotPowerOfTwo"],
      ["fastcdc-v1:512:256:1024", "OutOfOrder"],
      ["fastcdc-v1:64:2048:1024", "OutOfOrder"],
      [`fastcdc-v1:${"1".repeat(70)}`, "TooLong"],
      ["x".repeat(100_000), "TooLong"]
    ] as const)("parseId rejects %j as %s", (id, reason) => {
      const r = Chunker.parseId(id)
      assert.isTrue(Result.isFailure(r))
      const e = Result.getOrThrow(Result.flip(r))
      assert.strictEqual(e._tag, "InvalidChunkerParams")
      assert.strictEqual(e.reason, reason)
      assert.isAtMost(e.input.length, 160)
      assert.isAbove(e.message.length, 0)
      assert.isTrue(Result.isFailure(Chunker.fromId(id)))
    })

    it.each([
      [{ _tag: "FastCdc", min: Number.NaN, avg: 256, max: 1024 }, "NotInteger"],
      [{ _tag: "FastCdc", min: 64, avg: 256.5, max: 1024 }, "NotInteger"],
      [{ _tag: "FastCdc", min: 64, avg: 256, max: Number.POSITIVE_INFINITY }, "NotInteger"],
      [{ _tag: "FastCdc", min: 64, avg: "256", max: 1024 }, "NotInteger"],
      [{ _tag: "FastCdc", min: 64, avg: 2 ** 60, max: 2 ** 61 }, "OutOfRange"],
      [{ _tag: "FastCdc", min: -64, avg: 256, max: 1024 }, "OutOfRange"],
      [{ _tag: "FastCdc", min: 63, avg: 256, max: 1024 }, "OutOfRange"],
      [{ _tag: "FastCdc", min: 64, avg: 256, max: 16 * MiB + 1 }, "OutOfRange"],
      [{ _tag: "FastCdc", min: 64, avg: 32 * MiB, max: 64 * MiB }, "OutOfRange"],
      [{ _tag: "FastCdc", min: 64, avg: 100, max: 1024 }, "AvgNotPowerOfTwo"],
      [{ _tag: "FastCdc", min: 96, avg: 3 * 2 ** 20, max: 16 * MiB }, "AvgNotPowerOfTwo"],
      [{ _tag: "FastCdc", min: 300, avg: 256, max: 1024 }, "OutOfOrder"],
      [{ _tag: "FastCdc", min: 64, avg: 256, max: 128 }, "OutOfOrder"],
      [{ _tag: "Fixed", size: 0 }, "OutOfRange"],
      [{ _tag: "Fixed", size: -1 }, "OutOfRange"],
      [{ _tag: "Fixed", size: 1.5 }, "NotInteger"],
      [{ _tag: "Fixed", size: Number.NaN }, "NotInteger"],
      [{ _tag: "Fixed" }, "NotInteger"],
      [{ _tag: "Fixed", size: 16 * MiB + 1 }, "OutOfRange"],
      [{ _tag: "Rabin", size: 1 }, "UnknownAlgorithm"],
      [{}, "UnknownAlgorithm"],
      [null, "Malformed"],
      [undefined, "Malformed"],
      ["fastcdc-v1:64:256:1024", "Malformed"],
      [42, "Malformed"]
    ] as const)("validate rejects %j as %s", (input, reason) => {
      const r = Chunker.validate(input as unknown as Chunker.Params)
      assert.isTrue(Result.isFailure(r))
      assert.strictEqual(Result.getOrThrow(Result.flip(r)).reason, reason)
      assert.isTrue(Result.isFailure(Chunker.make(input as unknown as Chunker.Params)))
    })

    it("accepts the boundary parameters", () => {
      for (const p of [
        { _tag: "FastCdc", min: 64, avg: 64, max: 64 },
        { _tag: "FastCdc", min: 64, avg: 16 * MiB, max: 16 * MiB },
        { _tag: "Fixed", size: 1 },
        { _tag: "Fixed", size: 16 * MiB }
      ] as const) {
        assert.isTrue(Result.isSuccess(Chunker.validate(p)), JSON.stringify(p))
      }
    })

    it("never throws on garbage ids", () => {
      const samples = ["::::", ":", "fastcdc-v1:::", "fixed-v1:", "\u0000", "fastcdc-v1:1:1:1", "🙂", "fixed-v1:-0"]
      for (const s of samples) assert.isTrue(Result.isFailure(Chunker.parseId(s)), s)
      assert.isTrue(Result.isFailure(Chunker.parseId(undefined as unknown as string)))
      assert.isTrue(Result.isFailure(Chunker.parseId(12 as unknown as string)))
    })
  })

  describe("stream", () => {
    const collect = <E>(s: Stream.Stream<Uint8Array, E>) => Stream.runCollect(s)

    it.effect("gives the same blocks as push/finish for arbitrary upstream element sizes", () =>
      Effect.gen(function* () {
        const data = random(3 * MiB + 999)
        for (const p of [DEFAULT, SMALL, Result.getOrThrow(Chunker.fixed(100_000))]) {
          const expected = sizesOf(Chunker.split(p, data))
          const pieces: Array<Uint8Array> = []
          for (let off = 0, k = 0; off < data.length; k++) {
            const n = [1, 0, 65536, 1 * MiB, 12345, 3][k % 6]!
            pieces.push(data.slice(off, off + n))
            off += n
          }
          const out = yield* collect(Stream.fromIterable(pieces).pipe(Chunker.stream(p)))
          assert.deepStrictEqual(sizesOf(out), expected)
          assert.deepStrictEqual(concat(out), data)
          const rechunked = yield* collect(Stream.fromIterable(pieces).pipe(Stream.rechunk(7), Chunker.stream(p)))
          assert.deepStrictEqual(sizesOf(rechunked), expected)
        }
      })
    )

    it.effect("an empty stream emits nothing; each run uses a fresh chunker", () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* collect(Stream.empty.pipe(Chunker.stream(DEFAULT))), [])
        const data = random(200 * KiB)
        const s = Stream.make(data.subarray(0, 70_000), data.subarray(70_000)).pipe(Chunker.stream(DEFAULT))
        const a = yield* collect(s)
        const b = yield* collect(s)
        assert.deepStrictEqual(sizesOf(a), sizesOf(Chunker.split(DEFAULT, data)))
        assert.deepStrictEqual(sizesOf(b), sizesOf(a))
      })
    )

    it.effect("propagates upstream failures without emitting the pending partial block", () =>
      Effect.gen(function* () {
        const data = random(100 * KiB)
        const s = Stream.make(data).pipe(Stream.concat(Stream.fail("boom")), Chunker.stream(DEFAULT))
        const r = yield* Effect.result(collect(s))
        assert.isTrue(Result.isFailure(r))
        assert.strictEqual(Result.isFailure(r) ? r.failure : undefined, "boom")
      })
    )
  })
})
