/**
 * A sorted array of string keys with binary-search insert/remove, used by the in-memory stores for stable, cursor
 * based listing without re-sorting on every page.
 */
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
      if (this.keys[mid]! < key) lo = mid + 1
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
      if (this.keys[mid]! <= key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] !== key) this.keys.splice(i, 0, key)
  }

  remove(key: string): void {
    const i = this.lowerBound(key)
    if (this.keys[i] === key) this.keys.splice(i, 1)
  }

  /**
   * Up to `limit` keys strictly after `after` (or from the start) that begin with `prefix`, plus whether more follow.
   */
  page(options: {
    readonly after?: string | undefined
    readonly prefix?: string | undefined
    readonly limit: number
  }): {
    readonly keys: ReadonlyArray<string>
    readonly more: boolean
  } {
    const prefix = options.prefix ?? ""
    let i = options.after === undefined ? this.lowerBound(prefix) : this.upperBound(options.after)
    if (options.after !== undefined && options.after < prefix) i = this.lowerBound(prefix)
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
