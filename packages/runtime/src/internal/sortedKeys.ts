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

/**
 * A sorted set of keys in {@link compare} order, with prefix paging.
 *
 * Keys added in ascending order are appended; others wait in a pending set that is sorted and merged in once, at
 * the next query, so a burst of `n` random inserts costs `O(n log n)` instead of `n` array splices.
 */
export class SortedKeys {
  private keys: Array<string> = []
  /** Added since the last query and not yet merged into `keys`: distinct, and absent from `keys`. */
  private readonly pending = new Set<string>()

  get size(): number {
    return this.keys.length + this.pending.size
  }

  /** `keys` with every pending key merged in. */
  private sorted(): Array<string> {
    if (this.pending.size === 0) return this.keys
    const add = [...this.pending].sort(compare)
    this.pending.clear()
    const keys = this.keys
    const out: Array<string> = new Array(keys.length + add.length)
    let i = 0
    let j = 0
    let k = 0
    while (i < keys.length && j < add.length) out[k++] = compare(keys[i]!, add[j]!) < 0 ? keys[i++]! : add[j++]!
    while (i < keys.length) out[k++] = keys[i++]!
    while (j < add.length) out[k++] = add[j++]!
    this.keys = out
    return out
  }

  /** Index in `keys` of the first key >= `key` (or > `key` when `strict`), by binary search over `keys` only. */
  private search(keys: ReadonlyArray<string>, key: string, strict: boolean): number {
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = compare(keys[mid]!, key)
      if (c < 0 || (strict && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the first key >= `key`. */
  lowerBound(key: string): number {
    return this.search(this.sorted(), key, false)
  }

  /** Index of the first key > `key`. */
  upperBound(key: string): number {
    return this.search(this.sorted(), key, true)
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    if (this.pending.has(key)) return true
    return this.keys[this.search(this.keys, key, false)] === key
  }

  /** Inserts `key` (no-op when present). */
  add(key: string): void {
    const last = this.keys[this.keys.length - 1]
    if (this.pending.size === 0 && (last === undefined || compare(last, key) < 0)) {
      this.keys.push(key)
      return
    }
    if (!this.has(key)) this.pending.add(key)
  }

  /** Removes `key` (no-op when absent). */
  remove(key: string): void {
    if (this.pending.delete(key)) return
    const i = this.search(this.keys, key, false)
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
    const keys = this.sorted()
    const prefix = options.prefix ?? ""
    const after = options.after
    let i =
      after !== undefined && compare(after, prefix) >= 0
        ? this.search(keys, after, true)
        : this.search(keys, prefix, false)
    const out: Array<string> = []
    while (i < keys.length && out.length < options.limit) {
      const k = keys[i]!
      if (!k.startsWith(prefix)) return { keys: out, more: false }
      out.push(k)
      i++
    }
    const next = keys[i]
    return { keys: out, more: next?.startsWith(prefix) === true }
  }
}
