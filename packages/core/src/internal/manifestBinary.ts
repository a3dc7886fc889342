/**
 * Incremental readers for the byte-aligned manifest and frame codecs. Unlike `varint.decodeAt` and
 * `BinaryKey.decodeAt`, they tell "not enough bytes yet" apart from "malformed", which an incremental decoder needs
 * (the first means wait for more input, the second means fail now).
 */
import * as Result from "effect/Result"
import * as BinaryKey from "../BinaryKey.ts"
import * as HashAlgorithm from "../HashAlgorithm.ts"
import * as Varint from "./varint.ts"

/** Returned when the input ends before the value does. */
export const SHORT = "short" as const
/** Returned when the bytes present can never form a valid value. */
export const MALFORMED = "malformed" as const

/** A decoded value and the offset after it. */
export interface Read<A> {
  readonly value: A
  readonly next: number
}

/**
 * Reads an unsigned LEB128 varint at `offset` ({@link Varint} rules: at most 8 bytes, canonical, ≤ 2^53 - 1).
 * `SHORT` when the input ends inside the varint, `MALFORMED` when it is over-long, non-canonical or too large.
 */
export const readVarint = (bytes: Uint8Array, offset: number): Read<number> | typeof SHORT | typeof MALFORMED => {
  const end = Math.min(bytes.byteLength, offset + Varint.maxBytes)
  for (let pos = offset; pos < end; pos++) {
    if ((bytes[pos]! & 0x80) === 0) {
      const r = Varint.decodeAt(bytes, offset)
      return r === undefined ? MALFORMED : { value: r.value, next: r.next }
    }
  }
  return end - offset < Varint.maxBytes ? SHORT : MALFORMED
}

/** What is wrong with a binary key that is present but invalid. */
export interface BadKey {
  readonly message: string
}

/**
 * Reads a binary key (`BinaryKey` binary form) at `offset`. `SHORT` when the input ends inside the key; a
 * {@link BadKey} for an unknown algorithm code or a malformed size varint.
 */
export const readKey = (bytes: Uint8Array, offset: number): Read<BinaryKey.BinaryKey> | typeof SHORT | BadKey => {
  if (offset >= bytes.byteLength) return SHORT
  const algorithm = HashAlgorithm.fromCode(bytes[offset]!)
  if (algorithm === undefined) {
    return { message: `unsupported hash algorithm code 0x${bytes[offset]!.toString(16).padStart(2, "0")}` }
  }
  const sizeAt = offset + 1 + HashAlgorithm.digestLength(algorithm)
  if (sizeAt >= bytes.byteLength) return SHORT
  const size = readVarint(bytes, sizeAt)
  if (size === SHORT) return SHORT
  if (size === MALFORMED) return { message: "key size varint is over-long or exceeds 2^53-1" }
  const r = BinaryKey.decodeAt(bytes, offset)
  if (Result.isFailure(r)) return { message: r.failure.message }
  return { value: r.success.key, next: r.success.next }
}
