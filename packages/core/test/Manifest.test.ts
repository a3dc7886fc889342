import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { crc32 } from "node:zlib"
import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Hashing, Manifest } from "@graviton/core"
import { Effect, Exit, Result, Schema, Stream } from "effect"
import { type DecodeProblem, DecoderCore } from "../src/internal/manifestCodec.ts"
import * as Varint from "../src/internal/varint.ts"

// ---------------------------------------------------------------------------------------------------------------
// helpers

const CHUNKER = "fastcdc-v1:16384:65536:262144"
const CREATED = 1_700_000_000_000
const MiB = 1024 * 1024
const enc = new TextEncoder()

/** A deterministic key of `size` bytes (the digest is not of real content: the codec does not care). */
const keyOf = (seed: string, size: number, algorithm: "sha-256" | "blake3" = "sha-256"): BinaryKey.BinaryKey =>
  BinaryKey.unsafeMake(algorithm, Hashing.digestHex("sha-256", enc.encode(seed)), size)

const ok = <A, E>(r: Result.Result<A, E>): A => {
  if (Result.isFailure(r)) assert.fail(`expected success, got ${JSON.stringify(r.failure)}`)
  return (r as Result.Success<A, E>).success
}

const err = <A, E>(r: Result.Result<A, E>): E => {
  if (Result.isSuccess(r)) assert.fail("expected a failure")
  return (r as Result.Failure<A, E>).failure
}

const mk = (sizes: ReadonlyArray<number>, attributes: Record<string, string> = {}, seed = "m"): Manifest.Manifest =>
  ok(
    Manifest.make({
      blobKey: keyOf(
        `${seed}-blob`,
        sizes.reduce((a, b) => a + b, 0)
      ),
      chunker: CHUNKER,
      createdAt: CREATED,
      attributes,
      blocks: sizes.map((s, i) => keyOf(`${seed}-${i}`, s))
    })
  )

const cat = (...parts: ReadonlyArray<Uint8Array | ReadonlyArray<number>>): Uint8Array => {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)))
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.byteLength, 0))
  let o = 0
  for (const a of arrays) {
    out.set(a, o)
    o += a.byteLength
  }
  return out
}

const varint = (n: number): Uint8Array => {
  const out = new Uint8Array(Varint.encodedLength(n))
  Varint.encodeInto(n, out, 0)
  return out
}
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const u64 = (n: number) => [...u32(Math.floor(n / 2 ** 32)), ...u32(n % 2 ** 32)]
const str = (s: string | Uint8Array) => (typeof s === "string" ? enc.encode(s) : s)
const lenPrefixed = (s: string | Uint8Array) => cat(varint(str(s).byteLength), str(s))
const withCrc = (body: Uint8Array) => cat(body, u32(crc32(body)))

const PREFIX = [0x47, 0x52, 0x56, 0x4d, 1, 0]

/** A hand-assembled encoding; every part can be overridden to forge invalid input. */
const assemble = (o: {
  readonly prefix?: ReadonlyArray<number>
  readonly chunker?: Uint8Array
  readonly created?: ReadonlyArray<number>
  readonly attrCount?: number
  readonly attrs?: ReadonlyArray<Uint8Array>
  readonly entries?: ReadonlyArray<Uint8Array>
  readonly trailer?: Uint8Array
  readonly crc?: number
}): Uint8Array => {
  const attrs = o.attrs ?? []
  const entries = o.entries ?? []
  const body = cat(
    o.prefix ?? PREFIX,
    o.chunker ?? lenPrefixed(CHUNKER),
    o.created ?? u64(CREATED),
    varint(o.attrCount ?? attrs.length),
    ...attrs,
    ...entries,
    o.trailer ?? cat([0], varint(entries.length), BinaryKey.toBytes(BinaryKey.empty()))
  )
  return o.crc === undefined ? withCrc(body) : cat(body, u32(o.crc))
}
const attr = (k: string | Uint8Array, v: string | Uint8Array) => cat(lenPrefixed(k), lenPrefixed(v))
const entry = (key: BinaryKey.BinaryKey, offset: number) => cat([1], BinaryKey.toBytes(key), varint(offset))
const trailer = (count: number, blob: BinaryKey.BinaryKey) => cat([0], varint(count), BinaryKey.toBytes(blob))

/** Small deterministic PRNG (mulberry32). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Cuts `bytes` into slices: 1-byte slices when `maxSlice` is 1, else random lengths in 0..maxSlice. */
const slices = (bytes: Uint8Array, seed: number, maxSlice: number): Array<Uint8Array> => {
  const rnd = prng(seed)
  const out: Array<Uint8Array> = []
  let p = 0
  while (p < bytes.byteLength) {
    const n = maxSlice === 1 ? 1 : Math.floor(rnd() * (maxSlice + 1))
    out.push(bytes.subarray(p, p + n))
    p += n
  }
  return out
}

type Outcome =
  | { readonly ok: true; readonly manifest: Manifest.Manifest }
  | { readonly ok: false; readonly reason: string; readonly offset: number }

const outcomeOf = (r: Result.Result<Manifest.Manifest, Manifest.ManifestDecodeError>): Outcome =>
  Result.isSuccess(r)
    ? { ok: true, manifest: r.success }
    : { ok: false, reason: r.failure.reason, offset: r.failure.offset }

/** Decodes through the incremental decoder, pushing the given slices. */
const decodeSliced = (parts: ReadonlyArray<Uint8Array>): Outcome => {
  const dec = Manifest.makeDecoder()
  const entries: Array<Manifest.ManifestEntry> = []
  for (const part of parts) {
    const r = dec.push(part)
    if (Result.isFailure(r)) {
      // every later call repeats the error
      assert.deepStrictEqual(err(dec.finish()), r.failure)
      return { ok: false, reason: r.failure.reason, offset: r.failure.offset }
    }
    entries.push(...r.success)
  }
  const f = dec.finish()
  if (Result.isFailure(f)) return { ok: false, reason: f.failure.reason, offset: f.failure.offset }
  const s = f.success
  assert.deepStrictEqual(dec.header, { chunker: s.chunker, createdAt: s.createdAt, attributes: s.attributes })
  return {
    ok: true,
    manifest: { blobKey: s.blobKey, chunker: s.chunker, createdAt: s.createdAt, attributes: s.attributes, entries }
  }
}

const decodeErr = (bytes: Uint8Array): Manifest.ManifestDecodeError => err(Manifest.decode(bytes))

// ---------------------------------------------------------------------------------------------------------------
// golden vectors

const UPDATE = process.env.GRAVITON_UPDATE_GOLDEN === "1"
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url)

/** Compares `actual` with the committed fixture byte-exactly, or rewrites it when GRAVITON_UPDATE_GOLDEN=1. */
const golden = (name: string, actual: unknown): void => {
  const text = `${JSON.stringify(actual, null, 2)}\n`
  const url = fixture(name)
  if (UPDATE) {
    writeFileSync(url, text)
    return
  }
  assert.isTrue(existsSync(url), `missing fixture ${name}; run with GRAVITON_UPDATE_GOLDEN=1 to create it`)
  assert.strictEqual(readFileSync(url, "utf8"), text, `${name} changed; the binary format is frozen`)
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"))

/** Deterministic block contents for the 3-entry vector. */
const contents = (n: number, seed: number): Uint8Array => {
  const rnd = prng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256)
  return out
}

const goldenEmpty = (): Manifest.Manifest =>
  ok(Manifest.make({ blobKey: BinaryKey.empty(), chunker: CHUNKER, createdAt: CREATED, blocks: [] }))

const goldenThree = (): Manifest.Manifest => {
  const blocks = [contents(1000, 1), contents(70_000, 2), contents(5, 3)]
  return ok(
    Manifest.make({
      blobKey: BinaryKey.ofBytes(cat(...blocks)),
      chunker: CHUNKER,
      createdAt: CREATED,
      attributes: { name: "rapport-été.txt", "content-type": "text/plain; charset=utf-8", empty: "" },
      blocks: blocks.map((b) => BinaryKey.ofBytes(b))
    })
  )
}

describe("Manifest golden vectors", () => {
  it.each([
    ["manifest-empty-blob.json", "the empty blob: no entries, no attributes", goldenEmpty],
    ["manifest-three-entries.json", "three entries (1000, 70000, 5 bytes) with attributes", goldenThree]
  ] as const)("%s is byte-exact and decodes back", (name, description, build) => {
    const manifest = build()
    const bytes = Manifest.encode(manifest)
    golden(name, { description, json: Schema.encodeSync(Manifest.Manifest)(manifest), hex: hex(bytes) })
    const stored = JSON.parse(readFileSync(fixture(name), "utf8")) as { json: unknown; hex: string }
    const decoded = ok(Manifest.decode(fromHex(stored.hex)))
    assert.deepStrictEqual(decoded, manifest)
    assert.deepStrictEqual(Schema.decodeUnknownSync(Manifest.Manifest)(stored.json), manifest)
  })

  it("the empty-blob vector has the documented layout", () => {
    const bytes = Manifest.encode(goldenEmpty())
    const expected = assemble({})
    assert.strictEqual(hex(bytes), hex(expected))
    assert.strictEqual(bytes.byteLength, 6 + 1 + CHUNKER.length + 8 + 1 + 1 + 1 + 34 + 4)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// model

describe("Manifest model", () => {
  it("make computes index, offset and size; summary helpers agree", () => {
    const m = mk([10, 20, 30], { a: "1" })
    assert.deepStrictEqual(
      m.entries.map((e) => [e.index, e.offset, e.size]),
      [
        [0, 0, 10],
        [1, 10, 20],
        [2, 30, 30]
      ]
    )
    assert.strictEqual(Manifest.size(m), 60)
    assert.strictEqual(Manifest.blockCount(m), 3)
    assert.deepStrictEqual(Manifest.summary(m), {
      blobKey: m.blobKey,
      size: 60,
      blockCount: 3,
      chunker: CHUNKER,
      createdAt: CREATED,
      attributes: { a: "1" }
    })
    assert.deepStrictEqual(Manifest.header(m), { chunker: CHUNKER, createdAt: CREATED, attributes: { a: "1" } })
  })

  it("accepts the empty blob with zero entries and rejects a zero-size block", () => {
    assert.strictEqual(Manifest.blockCount(goldenEmpty()), 0)
    const e = err(
      Manifest.make({ blobKey: BinaryKey.empty(), chunker: CHUNKER, createdAt: 0, blocks: [keyOf("z", 0)] })
    )
    assert.strictEqual(e.reason, "BlockSizeOutOfRange")
  })

  const base = mk([10, 20, 30])
  const withEntries = (f: (es: Array<Manifest.ManifestEntry>) => void): Manifest.Manifest => {
    const es = base.entries.map((e) => ({ ...e }))
    f(es)
    return { ...base, entries: es }
  }
  const big = "x".repeat(5000)
  const many: Record<string, string> = {}
  for (let i = 0; i < 129; i++) many[`k${i}`] = "v"

  it.each([
    ["wrong index", withEntries((es) => (es[1] = { ...es[1]!, index: 5 })), "NonContiguous"],
    ["gap in offsets", withEntries((es) => (es[2] = { ...es[2]!, offset: 31 })), "NonContiguous"],
    ["size ≠ key size", withEntries((es) => (es[0] = { ...es[0]!, size: 11 })), "SizeMismatch"],
    [
      "block of 16 MiB + 1",
      (() => {
        const k = keyOf("b", 16 * MiB + 1)
        return {
          ...base,
          blobKey: keyOf("blob", 16 * MiB + 1),
          entries: [{ index: 0, blockKey: k, offset: 0, size: k.size }]
        }
      })(),
      "BlockSizeOutOfRange"
    ],
    ["sizes do not sum to the blob size", { ...base, blobKey: keyOf("blob", 61) }, "BlobSizeMismatch"],
    ["blob over 1 TiB", { ...base, blobKey: keyOf("blob", 2 ** 40 + 1) }, "BlobTooLarge"],
    ["too many entries", { ...base, entries: new Array(2 ** 24 + 1) }, "TooManyEntries"],
    ["empty chunker", { ...base, chunker: "" }, "InvalidChunker"],
    ["chunker of 129 chars", { ...base, chunker: "c".repeat(129) }, "InvalidChunker"],
    ["chunker with a space", { ...base, chunker: "fast cdc" }, "InvalidChunker"],
    ["non-ASCII chunker", { ...base, chunker: "fästcdc" }, "InvalidChunker"],
    ["negative createdAt", { ...base, createdAt: -1 }, "InvalidCreatedAt"],
    ["fractional createdAt", { ...base, createdAt: 1.5 }, "InvalidCreatedAt"],
    ["empty attribute key", { ...base, attributes: { "": "v" } }, "InvalidAttribute"],
    ["257-byte attribute key", { ...base, attributes: { ["é".repeat(129)]: "v" } }, "InvalidAttribute"],
    ["4097-byte attribute value", { ...base, attributes: { k: big.slice(0, 4097) } }, "InvalidAttribute"],
    ["129 attributes", { ...base, attributes: many }, "TooManyAttributes"],
    ["lone surrogate", { ...base, attributes: { k: "\ud800" } }, "InvalidUtf8"],
    ["malformed blob key", { ...base, blobKey: { ...base.blobKey, digest: "ABC" } }, "InvalidKey"],
    [
      "malformed block key",
      withEntries((es) => (es[0] = { ...es[0]!, blockKey: { ...es[0]!.blockKey, digest: "zz" } })),
      "InvalidKey"
    ]
  ] as const)("validate rejects %s", (_, manifest, reason) => {
    const e = err(Manifest.validate(manifest as Manifest.Manifest))
    assert.strictEqual(e._tag, "InvalidManifest")
    assert.strictEqual(e.reason, reason)
    assert.isAbove(e.message.length, 0)
    assert.throws(() => Manifest.encode(manifest as Manifest.Manifest))
  })

  it("accepts limits exactly: 16 MiB block, 256-byte key, 4096-byte value, 128 attributes, 128-char chunker", () => {
    const attributes: Record<string, string> = { ["é".repeat(128)]: "v".repeat(4096) }
    for (let i = 0; i < 127; i++) attributes[`k${i}`] = ""
    const m = ok(
      Manifest.make({
        blobKey: keyOf("b", 16 * MiB),
        chunker: "c".repeat(128),
        createdAt: Number.MAX_SAFE_INTEGER,
        attributes,
        blocks: [keyOf("x", 16 * MiB)]
      })
    )
    assert.deepStrictEqual(ok(Manifest.decode(Manifest.encode(m))), m)
  })

  it("round-trips the JSON form through Schema and rejects invariant violations there too", () => {
    const m = mk([5, 6], { a: "b" })
    const json = Schema.encodeSync(Manifest.Manifest)(m)
    assert.strictEqual(json.blobKey, BinaryKey.format(m.blobKey))
    assert.strictEqual(json.entries[1]!.blockKey, BinaryKey.format(m.entries[1]!.blockKey))
    const back = Schema.decodeUnknownSync(Manifest.Manifest)(JSON.parse(JSON.stringify(json)))
    assert.deepStrictEqual(back, m)
    const broken = { ...json, entries: [json.entries[1], json.entries[0]] }
    assert.throws(() => Schema.decodeUnknownSync(Manifest.Manifest)(broken), /NonContiguous/)
    assert.throws(() => Schema.decodeUnknownSync(Manifest.Manifest)({ ...json, blobKey: "nope" }))
    const s = Schema.encodeSync(Manifest.ManifestSummary)(Manifest.summary(m))
    assert.deepStrictEqual(Schema.decodeUnknownSync(Manifest.ManifestSummary)(s), Manifest.summary(m))
  })

  it("keeps an attribute named __proto__ as data", () => {
    const attributes = {}
    Object.defineProperty(attributes, "__proto__", { value: "x", enumerable: true, writable: true, configurable: true })
    const m = mk([3], attributes)
    const back = ok(Manifest.decode(Manifest.encode(m)))
    assert.deepStrictEqual(Object.keys(back.attributes), ["__proto__"])
    assert.strictEqual(Object.getOwnPropertyDescriptor(back.attributes, "__proto__")?.value, "x")
    assert.strictEqual(Object.getPrototypeOf(back.attributes), Object.prototype)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// ranges

describe("Manifest.entriesForRange", () => {
  const Sizes = Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 })))
  const Pos = Schema.Int.check(Schema.isBetween({ minimum: -5, maximum: 1200 }))

  it.prop(
    "returns exactly the entries intersecting [start, end), in order (vs a linear scan); none for end <= start",
    [Sizes, Pos, Pos],
    ([sizes, a, b]) => {
      const m = mk(sizes)
      for (const span of [
        { start: Math.min(a, b), end: Math.max(a, b) },
        { start: a, end: b }
      ]) {
        const naive = m.entries.filter(
          (e) => span.start < span.end && e.offset < span.end && e.offset + e.size > span.start
        )
        assert.deepStrictEqual(Manifest.entriesForRange(m, span), naive)
        const r = Manifest.indexRange(m, span)
        assert.deepStrictEqual(m.entries.slice(r.start, r.end), naive)
      }
    },
    { arbitrary: { runs: 300 } }
  )

  it("handles boundaries: first byte, block edges, last byte, empty and out-of-range spans", () => {
    const m = mk([10, 20, 30])
    const idx = (start: number, end: number) => Manifest.entriesForRange(m, { start, end }).map((e) => e.index)
    assert.deepStrictEqual(idx(0, 1), [0])
    assert.deepStrictEqual(idx(9, 10), [0])
    assert.deepStrictEqual(idx(9, 11), [0, 1])
    assert.deepStrictEqual(idx(10, 30), [1])
    assert.deepStrictEqual(idx(59, 60), [2])
    assert.deepStrictEqual(idx(0, 60), [0, 1, 2])
    assert.deepStrictEqual(idx(5, 5), [])
    assert.deepStrictEqual(idx(60, 70), [])
    assert.deepStrictEqual(Manifest.entriesForRange(goldenEmpty(), { start: 0, end: 10 }), [])
  })
})

// ---------------------------------------------------------------------------------------------------------------
// binary codec: properties

const SmallSize = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 300 }))
const AnySize = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16 * MiB }))
const Case = Schema.Struct({
  sizes: Schema.Array(Schema.Union([SmallSize, AnySize])).check(Schema.isMaxLength(40)),
  seed: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 31 - 1 })),
  createdAt: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  chunker: Schema.Literals([CHUNKER, "fixed-v1:1048576", "c", "~!@#$%^&*()_+{}|:<>?"]),
  attributes: Schema.Array(Schema.Tuple([Schema.String, Schema.String])).check(Schema.isMaxLength(8))
})
type Case = typeof Case.Type

const manifestOf = (c: Case): Manifest.Manifest => {
  const attributes: Record<string, string> = {}
  for (const [k, v] of c.attributes) {
    const kb = Buffer.byteLength(k)
    if (!k.isWellFormed() || !v.isWellFormed() || kb < 1 || kb > 256) continue
    Object.defineProperty(attributes, k, { value: v, enumerable: true, writable: true, configurable: true })
  }
  const algo = (i: number) => ((c.seed >> (i % 31)) & 1 ? "blake3" : "sha-256")
  return ok(
    Manifest.make({
      blobKey: keyOf(
        `${c.seed}`,
        c.sizes.reduce((a, b) => a + b, 0),
        algo(7)
      ),
      chunker: c.chunker,
      createdAt: c.createdAt,
      attributes,
      blocks: c.sizes.map((s, i) => keyOf(`${c.seed}/${i}`, s, algo(i)))
    })
  )
}

const streamingEncode = (m: Manifest.Manifest, batch: number): Array<Uint8Array> => {
  const e = Manifest.makeEncoder()
  const out = [ok(e.begin(Manifest.header(m)))]
  const keys = m.entries.map((x) => x.blockKey)
  for (let i = 0; i < keys.length; i += batch) {
    out.push(batch === 1 ? ok(e.entry(keys[i]!)) : ok(e.entries(keys.slice(i, i + batch))))
  }
  assert.strictEqual(e.count, keys.length)
  assert.strictEqual(e.size, m.blobKey.size)
  out.push(ok(e.end(m.blobKey)))
  return out
}

const propRuns = { arbitrary: { runs: 150 } }

describe("Manifest binary codec (properties)", () => {
  it.prop(
    "decode(encode(m)) = m; streaming encode = encode; encoding is canonical",
    [Case],
    ([c]) => {
      const m = manifestOf(c)
      const bytes = Manifest.encode(m)
      assert.deepStrictEqual(ok(Manifest.decode(bytes)), m)
      assert.strictEqual(hex(cat(...streamingEncode(m, 1))), hex(bytes))
      assert.strictEqual(hex(cat(...streamingEncode(m, 3))), hex(bytes))
      // attribute insertion order does not matter
      const reversed: Record<string, string> = {}
      for (const k of Object.keys(m.attributes).reverse()) {
        Object.defineProperty(reversed, k, {
          value: m.attributes[k],
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      assert.strictEqual(hex(Manifest.encode({ ...m, attributes: reversed })), hex(bytes))
    },
    propRuns
  )

  it.prop(
    "the incremental decoder gives the in-memory result for any slicing, including 1-byte slices",
    [Case],
    ([c]) => {
      const m = manifestOf(c)
      const bytes = Manifest.encode(m)
      const expected = outcomeOf(Manifest.decode(bytes))
      assert.deepStrictEqual(decodeSliced([bytes]), expected)
      assert.deepStrictEqual(decodeSliced(slices(bytes, c.seed, 1)), expected)
      assert.deepStrictEqual(decodeSliced(slices(bytes, c.seed, 7)), expected)
      assert.deepStrictEqual(decodeSliced(slices(bytes, c.seed, 200)), expected)
      assert.deepStrictEqual(decodeSliced(slices(bytes, c.seed, 20_000)), expected)
    },
    propRuns
  )

  it.prop(
    "every strict prefix is rejected as Truncated at its length",
    [Case],
    ([c]) => {
      const bytes = Manifest.encode(manifestOf(c))
      for (let n = 0; n < bytes.byteLength; n++) {
        const e = decodeErr(bytes.subarray(0, n))
        assert.strictEqual(e.reason, "Truncated", `prefix of ${n} bytes: ${e.message}`)
        assert.strictEqual(e.offset, n)
      }
    },
    { arbitrary: { runs: 40 } }
  )

  it.prop(
    "every single-byte change is rejected, with the same error whatever the slicing",
    [Case],
    ([c]) => {
      const bytes = Manifest.encode(manifestOf(c))
      const rnd = prng(c.seed)
      for (let i = 0; i < bytes.byteLength; i++) {
        const bad = bytes.slice()
        bad[i] = bad[i]! ^ (1 + Math.floor(rnd() * 255))
        const expected = outcomeOf(Manifest.decode(bad))
        assert.isFalse(expected.ok, `flip at ${i} was accepted`)
        assert.deepStrictEqual(decodeSliced(slices(bad, c.seed + i, 5)), expected)
      }
    },
    { arbitrary: { runs: 40 } }
  )

  it.prop(
    "garbage never throws and gives the same error whatever the slicing",
    [Schema.Uint8Array, Schema.Int],
    ([garbage, seed]) => {
      for (const input of [garbage, cat(PREFIX, garbage), cat(assemble({}).subarray(0, 45), garbage)]) {
        const expected = outcomeOf(Manifest.decode(input))
        assert.isFalse(expected.ok)
        assert.deepStrictEqual(decodeSliced(slices(input, seed, 1)), expected)
        assert.deepStrictEqual(decodeSliced(slices(input, seed, 9)), expected)
      }
    },
    { arbitrary: { runs: 300 } }
  )

  it("sorts attributes by UTF-8 bytes, not UTF-16 code units", () => {
    // "\uff5e" (EF BD 9E) < "😀" (F0 9F 98 80) in UTF-8, but "😀" (D83D …) < "\uff5e" in UTF-16
    const m = mk([1], { "😀": "a", "\uff5e": "b" })
    const bytes = Manifest.encode(m)
    const h = hex(bytes)
    assert.isBelow(h.indexOf("efbd9e"), h.indexOf("f09f9880"))
    assert.deepStrictEqual(ok(Manifest.decode(bytes)), m)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// binary codec: every rejection reason

describe("Manifest.decode rejects", () => {
  const k10 = keyOf("a", 10)
  const valid1 = () => assemble({ entries: [entry(k10, 0)], trailer: trailer(1, keyOf("blob", 10)) })

  it("the hand-assembled layout equals encode()", () => {
    const m = ok(Manifest.make({ blobKey: keyOf("blob", 10), chunker: CHUNKER, createdAt: CREATED, blocks: [k10] }))
    assert.strictEqual(hex(valid1()), hex(Manifest.encode(m)))
    const m2 = mk([3], { a: "1", b: "" })
    assert.strictEqual(
      hex(
        assemble({
          attrs: [attr("a", "1"), attr("b", "")],
          entries: [entry(m2.entries[0]!.blockKey, 0)],
          trailer: trailer(1, m2.blobKey)
        })
      ),
      hex(Manifest.encode(m2))
    )
  })

  const cases: ReadonlyArray<readonly [string, () => Uint8Array, Manifest.ManifestDecodeReason, number?]> = [
    ["bad magic", () => cat([0x47, 0x52, 0x56, 0x46], valid1().subarray(4)), "BadMagic", 0],
    ["bad magic in a 1-byte input", () => Uint8Array.of(0x7b), "BadMagic", 0],
    ["version 2", () => assemble({ prefix: [0x47, 0x52, 0x56, 0x4d, 2, 0] }), "UnsupportedVersion", 4],
    ["nonzero flags", () => assemble({ prefix: [0x47, 0x52, 0x56, 0x4d, 1, 1] }), "NonzeroFlags", 5],
    ["empty input", () => new Uint8Array(0), "Truncated", 0],
    ["trailing bytes", () => cat(valid1(), [0]), "TrailingBytes", valid1().byteLength],
    ["an unknown tag", () => assemble({ entries: [Uint8Array.of(2)] }), "UnknownTag"],
    ["an over-long varint", () => assemble({ chunker: cat([0x81, 0x00], str("c")) }), "MalformedVarint", 6],
    ["a chunker id of length 0", () => assemble({ chunker: Uint8Array.of(0) }), "InvalidChunker", 6],
    ["a chunker id of length 2^50", () => assemble({ chunker: varint(2 ** 50) }), "InvalidChunker", 6],
    ["a chunker id with a space", () => assemble({ chunker: lenPrefixed("a b") }), "InvalidChunker", 8],
    ["createdAt above 2^53", () => assemble({ created: [0, 0x20, 0, 0, 0, 0, 0, 0] }), "InvalidCreatedAt"],
    ["129 attributes", () => assemble({ attrCount: 129 }), "TooManyAttributes"],
    ["an empty attribute key", () => assemble({ attrs: [attr("", "v")] }), "InvalidAttribute"],
    ["a 257-byte attribute key", () => assemble({ attrs: [attr("k".repeat(257), "v")] }), "InvalidAttribute"],
    ["a 4097-byte attribute value", () => assemble({ attrs: [attr("k", "v".repeat(4097))] }), "InvalidAttribute"],
    [
      "an attribute value length of 2^40",
      () => assemble({ attrs: [cat(lenPrefixed("k"), varint(2 ** 40))] }),
      "InvalidAttribute"
    ],
    ["an invalid UTF-8 key", () => assemble({ attrs: [attr(Uint8Array.of(0xc3, 0x28), "v")] }), "InvalidUtf8"],
    ["an invalid UTF-8 value", () => assemble({ attrs: [attr("k", Uint8Array.of(0xed, 0xa0, 0x80))] }), "InvalidUtf8"],
    ["duplicate attribute keys", () => assemble({ attrs: [attr("a", "1"), attr("a", "2")] }), "DuplicateAttribute"],
    ["unsorted attribute keys", () => assemble({ attrs: [attr("b", "1"), attr("a", "2")] }), "UnsortedAttributes"],
    ["an unknown key algorithm", () => assemble({ entries: [cat([1, 0x99], new Uint8Array(40))] }), "InvalidKey"],
    ["a zero-size block", () => assemble({ entries: [entry(keyOf("z", 0), 0)] }), "BlockSizeOutOfRange"],
    ["a block of 16 MiB + 1", () => assemble({ entries: [entry(keyOf("z", 16 * MiB + 1), 0)] }), "BlockSizeOutOfRange"],
    ["a first entry at offset 1", () => assemble({ entries: [entry(k10, 1)] }), "NonContiguous"],
    [
      "overlapping entries",
      () => assemble({ entries: [entry(k10, 0), entry(k10, 5)], trailer: trailer(2, keyOf("b", 20)) }),
      "NonContiguous"
    ],
    [
      "a count mismatch",
      () => assemble({ entries: [entry(k10, 0)], trailer: trailer(2, keyOf("b", 10)) }),
      "CountMismatch"
    ],
    [
      "a blob size ≠ sum of block sizes",
      () => assemble({ entries: [entry(k10, 0)], trailer: trailer(1, keyOf("b", 11)) }),
      "BlobSizeMismatch"
    ],
    ["a corrupt blob key", () => assemble({ trailer: cat([0, 0, 0x07], new Uint8Array(40)) }), "InvalidKey"],
    ["a wrong CRC", () => assemble({ crc: 0x12345678 }), "ChecksumMismatch"]
  ]

  for (const [name, build, reason, offset] of cases) {
    it(name, () => {
      const bytes = build()
      const e = decodeErr(bytes)
      assert.strictEqual(e._tag, "ManifestDecodeError")
      assert.strictEqual(e.reason, reason, e.message)
      if (offset !== undefined) assert.strictEqual(e.offset, offset)
      assert.isAbove(e.message.length, 0)
      // same error through 1-byte slices
      assert.deepStrictEqual(decodeSliced(slices(bytes, 1, 1)), { ok: false, reason: e.reason, offset: e.offset })
    })
  }

  it("fails on a hostile length as soon as it is read, without waiting or buffering", () => {
    const dec = Manifest.makeDecoder()
    const r = dec.push(cat(PREFIX, varint(2 ** 50)))
    assert.strictEqual(err(r).reason, "InvalidChunker")
    const dec2 = Manifest.makeDecoder()
    ok(dec2.push(cat(PREFIX, lenPrefixed(CHUNKER), u64(CREATED), [1], lenPrefixed("k"))))
    assert.strictEqual(err(dec2.push(varint(2 ** 40))).reason, "InvalidAttribute")
  })

  it("TooManyEntries: the entry after the limit is rejected (limit lowered for the test)", () => {
    const problems: Array<DecodeProblem | undefined> = []
    for (const n of [3, 4]) {
      const entries = Array.from({ length: n }, (_, i) => entry(k10, i * 10))
      const core = new DecoderCore(() => {}, { maxEntries: 3 })
      core.push(assemble({ entries, trailer: trailer(n, keyOf("b", n * 10)) }))
      problems.push(core.finish())
    }
    assert.isUndefined(problems[0])
    assert.strictEqual(problems[1]?.reason, "TooManyEntries")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// incremental encoder

describe("Manifest.makeEncoder", () => {
  it("rejects invalid input with typed errors and leaves its state unchanged", () => {
    const e = Manifest.makeEncoder()
    assert.strictEqual(err(e.begin({ chunker: "", createdAt: 0, attributes: {} })).reason, "InvalidChunker")
    ok(e.begin({ chunker: CHUNKER, createdAt: CREATED, attributes: {} }))
    ok(e.entry(keyOf("a", 5)))
    assert.strictEqual(err(e.entry(keyOf("z", 0))).reason, "BlockSizeOutOfRange")
    assert.strictEqual(err(e.entries([keyOf("b", 1), keyOf("z", 16 * MiB + 1)])).reason, "BlockSizeOutOfRange")
    assert.strictEqual(e.count, 1)
    assert.strictEqual(e.size, 5)
    assert.strictEqual(err(e.end(keyOf("blob", 6))).reason, "BlobSizeMismatch")
    const trailerBytes = ok(e.end(keyOf("blob", 5)))
    assert.strictEqual(trailerBytes[0], 0)
  })

  it("throws on out-of-order calls (a programming error)", () => {
    const e = Manifest.makeEncoder()
    assert.throws(() => e.entry(keyOf("a", 1)), /before begin/)
    assert.throws(() => e.end(BinaryKey.empty()), /before begin/)
    ok(e.begin({ chunker: CHUNKER, createdAt: 0, attributes: {} }))
    assert.throws(() => e.begin({ chunker: CHUNKER, createdAt: 0, attributes: {} }), /twice/)
    ok(e.end(BinaryKey.empty()))
    assert.throws(() => e.entry(keyOf("a", 1)), /after end/)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Effect Stream forms

describe("Manifest Stream forms", () => {
  it.effect("encodeStream emits exactly encode(m), evaluating the blob key after the last block", () =>
    Effect.gen(function* () {
      const m = goldenThree()
      let pulled = 0
      const blocks = Stream.fromIterable(m.entries.map((e) => e.blockKey)).pipe(
        Stream.rechunk(2),
        Stream.tap(() => Effect.sync(() => void pulled++))
      )
      const blobKey = Effect.sync(() => {
        assert.strictEqual(pulled, 3)
        return m.blobKey
      })
      const chunks = yield* Stream.runCollect(Manifest.encodeStream(Manifest.header(m), blocks, blobKey))
      assert.strictEqual(hex(cat(...chunks)), hex(Manifest.encode(m)))
      assert.isAtLeast(chunks.length, 3) // header, entry batches, trailer
    })
  )

  it.effect("encodeStream fails with InvalidManifest when the blob key size is wrong", () =>
    Effect.gen(function* () {
      const s = Manifest.encodeStream(
        { chunker: CHUNKER, createdAt: 0, attributes: {} },
        Stream.make(keyOf("a", 3)),
        Effect.succeed(keyOf("b", 4))
      )
      const e = yield* Effect.flip(Stream.runCollect(s))
      assert.strictEqual(e._tag, "InvalidManifest")
      assert.strictEqual((e as Manifest.InvalidManifest).reason, "BlobSizeMismatch")
    })
  )

  it.effect("decodeStream emits the entries for any slicing and is re-runnable", () =>
    Effect.gen(function* () {
      const m = goldenThree()
      const bytes = Manifest.encode(m)
      for (const max of [1, 13, 100_000]) {
        const s = Manifest.decodeStream(Stream.fromIterable(slices(bytes, max, max)))
        assert.deepStrictEqual(yield* Stream.runCollect(s), m.entries)
        assert.deepStrictEqual(yield* Stream.runCollect(s), m.entries)
      }
    })
  )

  it.effect("decodeStream emits the entries, then fails at the end when the trailer does not validate", () =>
    Effect.gen(function* () {
      const m = goldenThree()
      const bytes = Manifest.encode(m)
      const truncated = bytes.subarray(0, bytes.byteLength - 2)
      const seen: Array<Manifest.ManifestEntry> = []
      const exit = yield* Effect.exit(
        Manifest.decodeStream(Stream.make(truncated)).pipe(Stream.runForEach((e) => Effect.sync(() => seen.push(e))))
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(seen, m.entries)
      const e = yield* Effect.flip(Stream.runCollect(Manifest.decodeStream(Stream.make(truncated))))
      assert.strictEqual((e as Manifest.ManifestDecodeError).reason, "Truncated")
      const bad = bytes.slice()
      bad[bad.byteLength - 1] = bad[bad.byteLength - 1]! ^ 1
      const e2 = yield* Effect.flip(Stream.runCollect(Manifest.decodeStream(Stream.make(bad))))
      assert.strictEqual((e2 as Manifest.ManifestDecodeError).reason, "ChecksumMismatch")
    })
  )

  it.effect("decodeStream passes the source's own errors through", () =>
    Effect.gen(function* () {
      const src = Stream.concat(
        Stream.make(Manifest.encode(goldenEmpty()).subarray(0, 10)),
        Stream.fail("boom" as const)
      )
      const e = yield* Effect.flip(Stream.runCollect(Manifest.decodeStream(src)))
      assert.strictEqual(e, "boom")
    })
  )
})
