/**
 * The FastCDC gear table: 256 pseudo-random 32-bit values, one per byte value, fed into the rolling gear hash
 * `h = ((h << 1) + GEAR[byte]) | 0`.
 *
 * The table is generated deterministically at module load, not embedded, from a documented seed so that anyone can
 * reproduce it (and so it cannot drift silently: the chunker tests pin a checksum of the table and golden cut points):
 *
 * ```
 * GEAR[i] = mix32(GEAR_SEED + (i + 1) * 0x9e3779b9)   (all arithmetic mod 2^32)
 * mix32(x): x ^= x >>> 16; x *= 0x21f0aaad; x ^= x >>> 15; x *= 0x735a2d97; x ^= x >>> 15
 * ```
 *
 * `mix32` is a 32-bit integer finaliser (xor-shift / multiply rounds with constants from the public-domain
 * "hash prospector" search); the Weyl sequence step is the 32-bit golden ratio. `GEAR_SEED` is the ASCII of "grav".
 * Changing anything here changes every cut point, so it would require a new chunker id version (`fastcdc-v2`).
 */

/** Seed of the gear table: the ASCII bytes of "grav" read big-endian. */
export const GEAR_SEED = 0x67726176

/** One round of the 32-bit finaliser used to expand the seed; returns an unsigned 32-bit value. */
export const mix32 = (x: number): number => {
  x ^= x >>> 16
  x = Math.imul(x, 0x21f0aaad)
  x ^= x >>> 15
  x = Math.imul(x, 0x735a2d97)
  x ^= x >>> 15
  return x >>> 0
}

const build = (): Int32Array => {
  const table = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    table[i] = mix32((GEAR_SEED + Math.imul(i + 1, 0x9e3779b9)) | 0) | 0
  }
  return table
}

/**
 * The gear table, stored as signed 32-bit integers so the hot loop stays in int32 arithmetic. Read it as unsigned with
 * `GEAR[i] >>> 0`. Never mutate it.
 */
export const GEAR: Int32Array = build()
