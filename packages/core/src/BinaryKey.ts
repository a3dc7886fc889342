/**
 * Content keys for blobs and blocks: `(algorithm, digest, size)`.
 *
 * Text form: `<algorithm>:<lowercase hex digest>:<size>`, e.g. `sha-256:e3b0…b855:0`; the alias `sha256` and
 * upper-case hex are accepted on parse and normalised. A **blob key** hashes the whole logical byte stream, a
 * **block key** the raw bytes of one block. Parsing is total: every malformed input yields an {@link InvalidKey}
 * naming what is wrong.
 *
 * Binary form (compact, used inside manifests and frames): one byte multicodec algorithm code (`0x12` sha-256,
 * `0x1e` blake3), the raw digest bytes, then the size as an unsigned LEB128 varint.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import * as HashAlgorithm from "./HashAlgorithm.ts"
import * as Hashing from "./Hashing.ts"
import * as Varint from "./internal/varint.ts"

/** Longest accepted text form. */
export const maxTextLength = 128

/** Largest representable size: blobs are bounded by policy far below this. */
export const maxSize = Number.MAX_SAFE_INTEGER

export const BinaryKey = Schema.Struct({
  algorithm: HashAlgorithm.HashAlgorithm,
  /** Lowercase hex of the raw digest. */
  digest: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  /** Size in bytes of the content the digest covers. */
  size: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
}).annotate({ identifier: "BinaryKey" })

export interface BinaryKey extends Schema.Schema.Type<typeof BinaryKey> {}

/** Why a key was rejected. */
export const InvalidKeyReason = Schema.Literals([
  "Malformed",
  "UnsupportedAlgorithm",
  "BadDigestLength",
  "BadDigest",
  "BadSize",
  "TooLong"
])
export type InvalidKeyReason = typeof InvalidKeyReason.Type

/** A key that could not be parsed or decoded. `input` is truncated to at most 160 characters. */
export class InvalidKey extends Schema.TaggedError<InvalidKey>("@graviton/core/InvalidKey")("InvalidKey", {
  reason: InvalidKeyReason,
  input: Schema.String,
  message: Schema.String
}) {}

const clip = (s: string) => (s.length > 160 ? `${s.slice(0, 157)}...` : s)

const invalid = (reason: InvalidKeyReason, input: string, message: string): Result.Result<never, InvalidKey> =>
  Result.fail(new InvalidKey({ reason, input: clip(input), message }))

const HEX_RE = /^[0-9a-fA-F]*$/
const SIZE_RE = /^(0|[1-9][0-9]*)$/

/**
 * Builds a key from parts, validating them. Prefer {@link fromDigest} when hashing yourself.
 */
export const make = (
  algorithm: HashAlgorithm.HashAlgorithm,
  digestHex: string,
  size: number
): Result.Result<BinaryKey, InvalidKey> => {
  const input = `${algorithm}:${digestHex}:${size}`
  if (!HEX_RE.test(digestHex)) return invalid("BadDigest", input, "digest must be hexadecimal")
  if (digestHex.length !== HashAlgorithm.digestLength(algorithm) * 2) {
    return invalid(
      "BadDigestLength",
      input,
      `${algorithm} digest must be ${HashAlgorithm.digestLength(algorithm) * 2} hex characters, got ${digestHex.length}`
    )
  }
  if (!Number.isSafeInteger(size) || size < 0) return invalid("BadSize", input, "size must be a non-negative integer")
  return Result.succeed({ algorithm, digest: digestHex.toLowerCase(), size })
}

/** Unchecked constructor for values known to be valid (e.g. fresh from a hasher). */
export const unsafeMake = (algorithm: HashAlgorithm.HashAlgorithm, digestHex: string, size: number): BinaryKey => ({
  algorithm,
  digest: digestHex,
  size
})

/** Hashes `bytes` and returns their key. */
export const ofBytes = (bytes: Uint8Array, algorithm: HashAlgorithm.HashAlgorithm = "sha-256"): BinaryKey =>
  unsafeMake(algorithm, Hashing.digestHex(algorithm, bytes), bytes.byteLength)

/** Parses the text form. Total: never throws. */
export const parse = (input: string): Result.Result<BinaryKey, InvalidKey> => {
  if (typeof input !== "string") return invalid("Malformed", String(input), "key must be a string")
  if (input.length > maxTextLength) {
    return invalid("TooLong", input, `key is ${input.length} characters; at most ${maxTextLength} are allowed`)
  }
  const first = input.indexOf(":")
  const last = input.lastIndexOf(":")
  if (first <= 0 || last === first) {
    return invalid("Malformed", input, "key must look like <algorithm>:<hex digest>:<size>")
  }
  const algoText = input.slice(0, first)
  const digestText = input.slice(first + 1, last)
  const sizeText = input.slice(last + 1)
  if (digestText.includes(":")) return invalid("Malformed", input, "key has more than three ':'-separated parts")
  const algorithm = HashAlgorithm.fromName(algoText)
  if (algorithm === undefined) {
    return invalid(
      "UnsupportedAlgorithm",
      input,
      `unsupported hash algorithm '${clip(algoText)}' (use sha-256 or blake3)`
    )
  }
  if (!SIZE_RE.test(sizeText)) {
    return invalid("BadSize", input, "size must be a decimal integer without sign or leading zeros")
  }
  const size = Number(sizeText)
  if (!Number.isSafeInteger(size)) return invalid("BadSize", input, "size is too large")
  return make(algorithm, digestText, size)
}

/** The canonical text form. */
export const format = (key: BinaryKey): string => `${key.algorithm}:${key.digest}:${key.size}`

/** Structural equality. */
export const equals = (a: BinaryKey, b: BinaryKey): boolean =>
  a.digest === b.digest && a.size === b.size && a.algorithm === b.algorithm

/** The raw digest bytes. */
export const digestBytes = (key: BinaryKey): Uint8Array => Uint8Array.from(Buffer.from(key.digest, "hex"))

/** Length in bytes of the binary form of `key`. */
export const encodedLength = (key: BinaryKey): number =>
  1 + HashAlgorithm.digestLength(key.algorithm) + Varint.encodedLength(key.size)

/** Writes the binary form at `offset`; returns the offset after it. `out` must have room ({@link encodedLength}). */
export const encodeInto = (key: BinaryKey, out: Uint8Array, offset: number): number => {
  out[offset] = HashAlgorithm.code(key.algorithm)
  const n = Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(key.digest, offset + 1, "hex")
  return Varint.encodeInto(key.size, out, offset + 1 + n)
}

/** The binary form. */
export const toBytes = (key: BinaryKey): Uint8Array => {
  const out = new Uint8Array(encodedLength(key))
  encodeInto(key, out, 0)
  return out
}

/** Decodes a binary key starting at `offset`; returns the key and the offset after it. Total: never throws. */
export const decodeAt = (
  bytes: Uint8Array,
  offset: number
): Result.Result<{ readonly key: BinaryKey; readonly next: number }, InvalidKey> => {
  if (offset >= bytes.byteLength) return invalid("Malformed", "<binary>", "binary key is truncated (no algorithm)")
  const algorithm = HashAlgorithm.fromCode(bytes[offset]!)
  if (algorithm === undefined) {
    return invalid("UnsupportedAlgorithm", "<binary>", `unsupported algorithm code 0x${bytes[offset]!.toString(16)}`)
  }
  const len = HashAlgorithm.digestLength(algorithm)
  const dStart = offset + 1
  if (dStart + len > bytes.byteLength) {
    return invalid("BadDigestLength", "<binary>", "binary key is truncated inside the digest")
  }
  const digest = Buffer.from(bytes.buffer, bytes.byteOffset + dStart, len).toString("hex")
  const v = Varint.decodeAt(bytes, dStart + len)
  if (v === undefined) return invalid("BadSize", "<binary>", "binary key size is truncated or exceeds 2^53-1")
  return Result.succeed({ key: { algorithm, digest, size: v.value }, next: v.next })
}

/** Decodes a buffer holding exactly one binary key. */
export const fromBytes = (bytes: Uint8Array): Result.Result<BinaryKey, InvalidKey> => {
  const r = decodeAt(bytes, 0)
  if (Result.isFailure(r)) return Result.fail(r.failure)
  if (r.success.next !== bytes.byteLength) {
    return invalid("Malformed", "<binary>", `binary key has ${bytes.byteLength - r.success.next} trailing bytes`)
  }
  return Result.succeed(r.success.key)
}

/** The key of the empty blob for `algorithm`. */
export const empty = (algorithm: HashAlgorithm.HashAlgorithm = "sha-256"): BinaryKey =>
  ofBytes(new Uint8Array(0), algorithm)

/**
 * Schema from the text form to {@link BinaryKey}: decoding reports the parse error's message as the issue.
 */
export const FromString = Schema.String.pipe(
  Schema.decodeTo(BinaryKey, {
    decode: SchemaGetter.transformEffect((s: string) => {
      const r = parse(s)
      return Result.isSuccess(r)
        ? Effect.succeed(r.success)
        : Effect.fail(new SchemaIssue.InvalidValue({ message: r.failure.message }, s))
    }),
    encode: SchemaGetter.transform((k: BinaryKey) => format(k))
  })
)
