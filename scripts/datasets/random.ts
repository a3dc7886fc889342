/**
 * Deterministic incompressible data, generated lazily in 1 MiB pieces.
 *
 * A 64 MiB pool of AES-128-CTR keystream (the key derived from `seed`) is made once per seed; piece `k` is a copy of
 * a pool slice with its absolute byte offset stamped every 1 KiB. Copying is far cheaper than generating (the
 * source must not dominate what is measured), and the stamps make every block of every piece distinct: a FastCDC
 * or fixed-size block of at least 1 KiB + 8 bytes always contains a stamp, so nothing deduplicates. The same `seed` and size
 * always give the same bytes, so two pipelines fed from it store the same blocks.
 */
import { createCipheriv, createHash } from "node:crypto"

export const MiB = 1024 * 1024
const poolBytes = 64 * MiB
const stampEvery = 1024

const pools = new Map<string, Uint8Array>()

const pool = (seed: string): Uint8Array => {
  let p = pools.get(seed)
  if (p === undefined) {
    const key = createHash("sha256").update(`graviton-bench:${seed}`).digest()
    const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32))
    p = new Uint8Array(cipher.update(new Uint8Array(poolBytes)))
    pools.set(seed, p)
  }
  return p
}

/** Bytes `[offset, offset + length)` of the stream named by `seed`, as a fresh buffer (`length <= 1 MiB`). */
export const piece = (seed: string, offset: number, length: number): Uint8Array => {
  const p = pool(seed)
  const start = offset % poolBytes
  const out = new Uint8Array(length)
  const first = Math.min(length, poolBytes - start)
  out.set(p.subarray(start, start + first))
  if (first < length) out.set(p.subarray(0, length - first), first)
  const view = new DataView(out.buffer)
  // stamp the absolute offset (as two uint32) at every multiple of 1 KiB of the stream that falls in this piece
  for (let at = Math.ceil(offset / stampEvery) * stampEvery; at + 8 <= offset + length; at += stampEvery) {
    view.setUint32(at - offset, at % 0x100000000, true)
    view.setUint32(at - offset + 4, Math.floor(at / 0x100000000), true)
  }
  return out
}

/** `totalBytes` of the stream named by `seed`, as fresh buffers of `pieceBytes` (1 MiB; the last may be shorter). */
export function* pieces(seed: string, totalBytes: number, pieceBytes = MiB): Generator<Uint8Array> {
  for (let offset = 0; offset < totalBytes; offset += pieceBytes) {
    yield piece(seed, offset, Math.min(pieceBytes, totalBytes - offset))
  }
}

/**
 * Like {@link pieces} but generated on the fly from a running AES-128-CTR keystream, with no pool: constant memory
 * (for measuring a process's footprint), slower (~2.8 GiB/s here).
 */
export function* streamPieces(seed: string, totalBytes: number, pieceBytes = MiB): Generator<Uint8Array> {
  const key = createHash("sha256").update(`graviton-bench-stream:${seed}`).digest()
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32))
  const zeros = new Uint8Array(pieceBytes)
  for (let offset = 0; offset < totalBytes; offset += pieceBytes) {
    const n = Math.min(pieceBytes, totalBytes - offset)
    const b = cipher.update(n === pieceBytes ? zeros : zeros.subarray(0, n))
    // a plain Uint8Array over the fresh keystream buffer (no copy)
    yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }
}

/** Creates the pool for `seed` now (so its one-off cost is not timed). */
export const prepare = (seed: string): void => {
  pool(seed)
}
