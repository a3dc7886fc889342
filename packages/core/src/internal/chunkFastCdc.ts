/**
 * The FastCDC scanner (normalized chunking, level 2) as an incremental state machine. Private: the public API and
 * parameter validation live in `Chunker.ts`; this class trusts its parameters.
 *
 * Algorithm, for a block starting at byte 0 (positions are within the block):
 * - positions `[0, min)` are skipped without hashing; the gear hash starts at 0 at position `min`;
 * - each hashed position `p` updates `h = ((h << 1) + GEAR[byte]) | 0`;
 * - for `p < avg` the block is cut after `p` when `(h & maskS) === 0`, where `maskS` is the top `log2(avg) + 2`
 *   bits (the HARD mask: cuts are rarer below the average size);
 * - for `avg <= p < max` the block is cut after `p` when `(h & maskL) === 0`, `maskL` being the top
 *   `log2(avg) - 2` bits (the EASY mask);
 * - a block reaching `max` bytes is cut there.
 * So every block but the last has a size in `[min + 1, max]` (exactly `max` when `min = max`). The masks use the
 * HIGH bits of the 32-bit hash: bit `k` of a gear hash depends only on the last `k + 1` bytes, so low-bit masks
 * would look at a window of a few bytes, while the top bits see up to the last 32.
 *
 * Performance (V8 in Node 24; each point measured with bench/chunking.ts and throwaway variants):
 * - the scan loops live in `push` itself and exit only with `break` (PERF-NOTES: a `return` inside the hot loop
 *   halves the speed, a small kernel inlined into a caller's loop too); they make no calls and allocate nothing:
 *   cut positions go to an `Int32Array` and the blocks are built afterwards in `emit` (building them inside the
 *   scan loop cost ~30%);
 * - bytes are read four at a time with little-endian `DataView.getInt32` (~20–40% faster than byte loads), two
 *   words per iteration (a few % over one);
 * - the gear table is read through a module-local `const` (TurboFan embeds it as a constant; through the imported
 *   binding the scan was ~20% slower);
 * - rarely taken paths (carry handling, scratch growth) sit in separate methods so that their missing type
 *   feedback cannot deoptimise `push` again and again;
 * - blocks inside one pushed buffer are `subarray` views; only a block straddling pushes is assembled by copying.
 */
import { GEAR } from "./gear.ts"

const G_TABLE: Int32Array = GEAR

const EMPTY: ReadonlyArray<Uint8Array> = Object.freeze([])

/** Top `bits` bits of a 32-bit word, as a signed int32 mask. */
export const highMask = (bits: number): number => (bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0)

/** FastCDC incremental scanner. Construct only with validated parameters. */
export class FastCdcScanner {
  readonly min: number
  readonly avg: number
  readonly max: number
  readonly maskS: number
  readonly maskL: number
  /** Gear hash state of the pending block. */
  private h = 0
  /** Bytes of the pending block carried over from earlier pushes (copied into `carry`). */
  private carryLen = 0
  /** Scratch holding the carried-over prefix of the pending block; grown to `max` bytes on first use. */
  private carry: Uint8Array = new Uint8Array(0)
  /** Scratch for the cut positions found by one push. */
  private cuts: Int32Array = new Int32Array(0)

  constructor(min: number, avg: number, max: number) {
    this.min = min
    this.avg = avg
    this.max = max
    const bits = 31 - Math.clz32(avg)
    this.maskS = highMask(bits + 2)
    this.maskL = highMask(bits - 2)
  }

  push(buf: Uint8Array): ReadonlyArray<Uint8Array> {
    const n = buf.length
    const G = G_TABLE
    // `| 0` makes TurboFan keep these (and the mask phi below) as untagged int32 inside the loops.
    const maskS = this.maskS | 0
    const maskL = this.maskL | 0
    const min = this.min | 0
    const avg = this.avg | 0
    const max = this.max | 0
    const cuts = this.cutScratch(n)
    const dv = new DataView(buf.buffer, buf.byteOffset, n)
    let nCuts = 0
    let h = this.h | 0
    // Start of the pending block in `buf` coordinates; negative when it began in an earlier push.
    const start = 0 - this.carryLen
    let base = start
    let i = 0
    for (;;) {
      let stop = base + min
      if (i < stop) i = stop
      if (i >= n) break
      // Phase: hard mask below the average size, easy mask from it up to the maximum.
      let m = maskS
      let phaseEnd = base + avg
      if (i >= phaseEnd) {
        m = maskL
        phaseEnd = base + max
      }
      stop = phaseEnd < n ? phaseEnd : n
      // Find the first position in [i, stop) whose hash matches `m`: eight bytes per iteration in two DataView
      // loads, then the remaining 0..7 bytes one at a time.
      let hit = -1
      const stop8 = stop - 7
      for (; i < stop8; i += 8) {
        const w = dv.getInt32(i, true)
        const v = dv.getInt32(i + 4, true)
        h = ((h << 1) + G[w & 255]!) | 0
        if ((h & m) === 0) {
          hit = i
          break
        }
        h = ((h << 1) + G[(w >>> 8) & 255]!) | 0
        if ((h & m) === 0) {
          hit = i + 1
          break
        }
        h = ((h << 1) + G[(w >>> 16) & 255]!) | 0
        if ((h & m) === 0) {
          hit = i + 2
          break
        }
        h = ((h << 1) + G[w >>> 24]!) | 0
        if ((h & m) === 0) {
          hit = i + 3
          break
        }
        h = ((h << 1) + G[v & 255]!) | 0
        if ((h & m) === 0) {
          hit = i + 4
          break
        }
        h = ((h << 1) + G[(v >>> 8) & 255]!) | 0
        if ((h & m) === 0) {
          hit = i + 5
          break
        }
        h = ((h << 1) + G[(v >>> 16) & 255]!) | 0
        if ((h & m) === 0) {
          hit = i + 6
          break
        }
        h = ((h << 1) + G[v >>> 24]!) | 0
        if ((h & m) === 0) {
          hit = i + 7
          break
        }
      }
      if (hit < 0) {
        for (; i < stop; i++) {
          h = ((h << 1) + G[buf[i]!]!) | 0
          if ((h & m) === 0) break
        }
        if (i < stop) hit = i
      }
      if (hit >= 0) i = hit + 1
      else if (i - base === max) {
        // forced cut at the maximum size
      } else if (i >= n) break
      else continue // the hard phase ended without a match: go on with the easy mask
      // Cut: the block is [base, i).
      cuts[nCuts++] = i
      base = i
      h = 0
    }
    this.h = h
    return this.emit(buf, cuts, nCuts, start, base)
  }

  /** Emits the pending partial block, if any, as owned memory, and resets the scanner for a new stream. */
  finish(): ReadonlyArray<Uint8Array> {
    const len = this.carryLen
    this.h = 0
    this.carryLen = 0
    if (len === 0) return EMPTY
    return [this.carry.slice(0, len)]
  }

  /** A scratch array large enough for the cuts of an `n`-byte push (blocks have at least `min` bytes). */
  private cutScratch(n: number): Int32Array {
    const need = Math.floor(n / this.min) + 2
    if (this.cuts.length < need) this.cuts = new Int32Array(Math.max(need, 64))
    return this.cuts
  }

  /**
   * Builds the blocks of one push from its cut positions and carries the unfinished tail over. `start` is where
   * the pending block began (negative when it began in an earlier push), `base` where the unfinished one begins.
   */
  private emit(
    buf: Uint8Array,
    cuts: Int32Array,
    nCuts: number,
    start: number,
    base: number
  ): ReadonlyArray<Uint8Array> {
    const n = buf.length
    if (nCuts === 0) {
      if (n > 0) this.appendCarry(buf, 0)
      return EMPTY
    }
    const out: Array<Uint8Array> = new Array(nCuts)
    let from = cuts[0]!
    out[0] = start < 0 ? this.joinCarry(buf, from) : buf.subarray(0, from)
    for (let k = 1; k < nCuts; k++) {
      const to = cuts[k]!
      out[k] = buf.subarray(from, to)
      from = to
    }
    this.carryLen = 0
    if (base < n) this.appendCarry(buf, base)
    return out
  }

  private appendCarry(buf: Uint8Array, from: number): void {
    const len = this.carryLen
    const needed = len + buf.length - from
    if (this.carry.length < needed) {
      // grow geometrically up to `max` (what a pending block can reach): a small body does not pay for a max-size
      // buffer
      const grown = new Uint8Array(Math.max(needed, Math.min(this.max, Math.max(2 * this.carry.length, 4096))))
      grown.set(this.carry.subarray(0, len), 0)
      this.carry = grown
    }
    this.carry.set(from === 0 ? buf : buf.subarray(from), len)
    this.carryLen = len + buf.length - from
  }

  private joinCarry(buf: Uint8Array, end: number): Uint8Array {
    const len = this.carryLen
    const block = new Uint8Array(len + end)
    block.set(this.carry.subarray(0, len), 0)
    block.set(buf.subarray(0, end), len)
    this.carryLen = 0
    return block
  }
}
