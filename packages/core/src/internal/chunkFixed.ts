/**
 * Fixed-size chunking as an incremental state machine. Private: validation lives in `Chunker.ts`.
 *
 * Whole blocks inside one pushed buffer are returned as `subarray` views; a block straddling pushes is assembled in
 * a fresh `size`-byte buffer that is handed over (never reused) once full.
 */

const EMPTY: ReadonlyArray<Uint8Array> = Object.freeze([])

/** Fixed-size incremental scanner. Construct only with a validated size. */
export class FixedScanner {
  readonly size: number
  private pending: Uint8Array | undefined = undefined
  private pendingLen = 0

  constructor(size: number) {
    this.size = size
  }

  push(buf: Uint8Array): ReadonlyArray<Uint8Array> {
    const n = buf.length
    if (n === 0) return EMPTY
    const size = this.size
    const out: Array<Uint8Array> = []
    let off = 0
    if (this.pending !== undefined) {
      const take = Math.min(size - this.pendingLen, n)
      this.pending.set(take === n ? buf : buf.subarray(0, take), this.pendingLen)
      this.pendingLen += take
      off = take
      if (this.pendingLen === size) {
        out.push(this.pending)
        this.pending = undefined
        this.pendingLen = 0
      }
    }
    while (n - off >= size) {
      out.push(buf.subarray(off, off + size))
      off += size
    }
    if (off < n) {
      const pending = new Uint8Array(size)
      pending.set(buf.subarray(off), 0)
      this.pending = pending
      this.pendingLen = n - off
    }
    return out
  }

  /** Emits the pending partial block, if any, as owned memory, and resets the scanner for a new stream. */
  finish(): ReadonlyArray<Uint8Array> {
    const pending = this.pending
    const len = this.pendingLen
    this.pending = undefined
    this.pendingLen = 0
    if (pending === undefined || len === 0) return EMPTY
    return [len === pending.length ? pending : pending.slice(0, len)]
  }
}
