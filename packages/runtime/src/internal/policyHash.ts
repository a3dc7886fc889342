/**
 * A small, fast, deterministic 53-bit string hash used for rendezvous (highest-random-weight) placement. Not
 * cryptographic: it only has to spread `(key, sector)` pairs evenly and be identical in every process and release.
 * Changing it moves data, so treat its output as a persisted format.
 */

const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/** A 53-bit hash of `text` (UTF-16 code units) under `seed`, as a non-negative safe integer. */
export const hash53 = (text: string, seed = 0): number => {
  let a = 0x243f6a88 ^ seed
  let b = 0x13198a2e ^ Math.imul(seed | 0, 0x27d4eb2f)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0xcc9e2d51)
    a = (a << 15) | (a >>> 17)
    b = Math.imul(b ^ c, 0x1b873593)
    b = (b << 13) | (b >>> 19)
    b = (b + a) | 0
  }
  a ^= text.length
  b ^= text.length
  a = fmix(a ^ Math.imul(b, 0x9e3779b1))
  b = fmix(b ^ Math.imul(a, 0x7feb352d))
  a = fmix(a + b)
  return (b >>> 0) * 0x200000 + (a >>> 11)
}

/** The rendezvous weight of `sector` for `key`: higher wins. */
export const rendezvousWeight = (key: string, sector: string, seed = 0): number => hash53(`${key}\u0000${sector}`, seed)
