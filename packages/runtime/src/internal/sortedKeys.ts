/**
 * Key ordering and a sorted key index for the in-memory stores (listing with stable cursors).
 *
 * Keys are ordered by **Unicode code point**, which for well-formed strings is exactly the byte order of their UTF-8
 * encoding — the order LevelDB (bytewise comparator) and PostgreSQL (`COLLATE "C"` on UTF-8) use. JavaScript's `<`
 * compares UTF-16 code units instead, which differs only when a supplementary character (a surrogate pair,
 * U+10000 and up) meets a BMP character in U+E000..U+FFFF; {@link compare} corrects exactly that case.
 */

/** Maps a UTF-16 code unit so that comparing mapped units gives code point order: surrogates sort above U+FFFF. */
const rank = (unit: number): number => (unit >= 0xd800 ? (unit <= 0xdfff ? unit + 0x2000 : unit - 0x800) : unit)

/** Compares two well-formed strings in code point (= UTF-8 byte) order: negative, zero or positive. */
export const compare = (a: string, b: string): number => {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return rank(x) - rank(y)
  }
  return a.length - b.length
}

/** A sorted array of keys in {@link compare} order, with binary-search insert/remove and prefix paging. */
export class SortedKeys {
  private readonly keys: Array<string> = []

  get size(): number {
    return this.keys.length
  }

  /** Index of the first key >= `key`. */
  lowerBound(key: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(this.keys[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the first key > `key`. */
  upperBound(key: string): number {
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(this.keys[mid]!, key) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Inserts `key` (no-op when present). */
  add(key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] !== key) this.keys.splice(i, 0, key)
  }

  /** Removes `key` (no-op when absent). */
  remove(key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] === key) this.keys.splice(i, 1)
  }

  /**
   * Up to `limit` keys strictly after `after` (or from the start) that begin with `prefix`, in order, plus whether
   * more such keys follow. Keys sharing a prefix are contiguous in code point order, so this is one binary search
   * and a scan of the page.
   */
  page(options: {
    readonly after?: string | undefined
    readonly prefix?: string | undefined
    readonly limit: number
  }): { readonly keys: ReadonlyArray<string>; readonly more: boolean } {
    const prefix = options.prefix ?? ""
    const after = options.after
    let i = after !== undefined && compare(after, prefix) >= 0 ? this.upperBound(after) : this.lowerBound(prefix)
    const out: Array<string> = []
    while (i < this.keys.length && out.length < options.limit) {
      const k = this.keys[i]!
      if (!k.startsWith(prefix)) return { keys: out, more: false }
      out.push(k)
      i++
    }
    const next = this.keys[i]
    return { keys: out, more: next?.startsWith(prefix) === true }
  }
}
