import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Hashing } from "@graviton/core"
import { Result, Schema } from "effect"

const EMPTY = "sha-256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:0"

const fail = (input: string): BinaryKey.InvalidKey => {
  const r = BinaryKey.parse(input)
  assert.isTrue(Result.isFailure(r), `expected ${input} to be rejected`)
  return (r as Result.Failure<BinaryKey.BinaryKey, BinaryKey.InvalidKey>).failure
}

describe("BinaryKey", () => {
  it("hashes the empty blob to the well-known SHA-256 key", () => {
    assert.strictEqual(BinaryKey.format(BinaryKey.empty()), EMPTY)
  })

  it("hashes 'abc' with BLAKE3 to the reference vector", () => {
    const key = BinaryKey.ofBytes(new TextEncoder().encode("abc"), "blake3")
    assert.strictEqual(key.digest, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
    assert.strictEqual(BinaryKey.format(key), `blake3:${key.digest}:3`)
  })

  it("parses the text form and formats it back", () => {
    const r = BinaryKey.parse(EMPTY)
    assert.isTrue(Result.isSuccess(r))
    assert.strictEqual(BinaryKey.format(Result.getOrThrow(r)), EMPTY)
  })

  it("accepts the sha256 alias and upper-case hex, normalising both", () => {
    const k = Result.getOrThrow(BinaryKey.parse(EMPTY.replace("sha-256", "SHA256").toUpperCase().replace(":0", ":0")))
    assert.strictEqual(BinaryKey.format(k), EMPTY)
  })

  it.each([
    ["", "Malformed"],
    ["sha-256", "Malformed"],
    ["sha-256:abc", "Malformed"],
    [":e3b0:0", "Malformed"],
    ["sha-256:a:b:c", "Malformed"],
    ["md5:d41d8cd98f00b204e9800998ecf8427e:0", "UnsupportedAlgorithm"],
    ["sha-256:e3b0:0", "BadDigestLength"],
    [`sha-256:${"z".repeat(64)}:0`, "BadDigest"],
    [`sha-256:${"a".repeat(64)}:-1`, "BadSize"],
    [`sha-256:${"a".repeat(64)}:01`, "BadSize"],
    [`sha-256:${"a".repeat(64)}:1.5`, "BadSize"],
    [`sha-256:${"a".repeat(64)}:`, "BadSize"],
    [`sha-256:${"a".repeat(64)}:99999999999999999999`, "BadSize"],
    [`sha-256:${"a".repeat(64)}:${"1".repeat(60)}`, "TooLong"],
    ["x".repeat(10_000), "TooLong"]
  ] as const)("rejects %j as %s", (input, reason) => {
    const e = fail(input)
    assert.strictEqual(e._tag, "InvalidKey")
    assert.strictEqual(e.reason, reason)
    assert.isAtMost(e.input.length, 160)
    assert.isAbove(e.message.length, 0)
  })

  it("round-trips the binary form with raw digest bytes", () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const key = BinaryKey.unsafeMake("sha-256", Hashing.digestHex("sha-256", new Uint8Array([size & 255])), size)
      const bytes = BinaryKey.toBytes(key)
      assert.strictEqual(bytes.byteLength, BinaryKey.encodedLength(key))
      assert.strictEqual(bytes[0], 0x12)
      assert.deepStrictEqual(Result.getOrThrow(BinaryKey.fromBytes(bytes)), key)
    }
  })

  it("rejects truncated, trailing and unknown binary keys", () => {
    const bytes = BinaryKey.toBytes(BinaryKey.ofBytes(new Uint8Array(300)))
    for (let n = 0; n < bytes.byteLength; n++) {
      assert.isTrue(Result.isFailure(BinaryKey.fromBytes(bytes.subarray(0, n))), `prefix of ${n} bytes`)
    }
    const trailing = new Uint8Array(bytes.byteLength + 1)
    trailing.set(bytes)
    assert.strictEqual(
      (Result.getOrThrow(Result.flip(BinaryKey.fromBytes(trailing))) as BinaryKey.InvalidKey).reason,
      "Malformed"
    )
    const unknown = bytes.slice()
    unknown[0] = 0x99
    assert.strictEqual(Result.getOrThrow(Result.flip(BinaryKey.fromBytes(unknown))).reason, "UnsupportedAlgorithm")
  })

  it("decodes and encodes through Schema, with a typed issue on garbage", () => {
    const decode = Schema.decodeUnknownSync(BinaryKey.FromString)
    assert.deepStrictEqual(decode(EMPTY), BinaryKey.empty())
    assert.strictEqual(Schema.encodeSync(BinaryKey.FromString)(BinaryKey.empty()), EMPTY)
    assert.throws(() => decode("nope"))
    assert.throws(() => decode(42))
  })
})
