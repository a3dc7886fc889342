/**
 * Fresh random data for contract suites: every test uses its own keys so suites can share one backend.
 *
 * @since 0.1.0
 */
import { randomBytes as nodeRandomBytes, randomUUID } from "node:crypto"
import { BinaryKey } from "@graviton/core"

/** `n` cryptographically random bytes. */
export const randomBytes = (n: number): Uint8Array => {
  const b = nodeRandomBytes(n)
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** A random block of `size` bytes (default 1..4 KiB) with its key. */
export const block = (size?: number): { readonly key: BinaryKey.BinaryKey; readonly bytes: Uint8Array } => {
  const bytes = randomBytes(size ?? 1 + Math.floor(Math.random() * 4096))
  return { key: BinaryKey.ofBytes(bytes), bytes }
}

/** A unique name with a readable prefix. */
export const name = (prefix = "t"): string => `${prefix}-${randomUUID()}`

/** Splits `bytes` into random slices (some empty-free), for stream inputs. */
export const slices = (bytes: Uint8Array, maxSlice = 8192): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let off = 0
  while (off < bytes.byteLength) {
    const n = Math.min(bytes.byteLength - off, 1 + Math.floor(Math.random() * maxSlice))
    out.push(bytes.subarray(off, off + n))
    off += n
  }
  return out
}

/** Byte-exact equality. */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0

/** Concatenates arrays. */
export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.byteLength
  }
  return out
}
