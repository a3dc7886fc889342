/**
 * A byte-bounded LRU map (Map insertion order as recency). Entries larger than the whole budget are not cached.
 */
export class ByteLru<V> {
  private readonly map = new Map<string, { readonly value: V; readonly bytes: number }>()
  private used = 0

  readonly maxBytes: number
  private readonly sizeOf: (value: V) => number

  constructor(maxBytes: number, sizeOf: (value: V) => number) {
    this.maxBytes = maxBytes
    this.sizeOf = sizeOf
  }

  get bytes(): number {
    return this.used
  }

  get size(): number {
    return this.map.size
  }

  get(key: string): V | undefined {
    const e = this.map.get(key)
    if (e === undefined) return undefined
    this.map.delete(key)
    this.map.set(key, e)
    return e.value
  }

  set(key: string, value: V): void {
    const bytes = this.sizeOf(value)
    this.delete(key)
    if (bytes > this.maxBytes) return
    this.map.set(key, { value, bytes })
    this.used += bytes
    while (this.used > this.maxBytes) {
      const oldest = this.map.keys().next()
      if (oldest.done === true) break
      this.delete(oldest.value)
    }
  }

  delete(key: string): void {
    const e = this.map.get(key)
    if (e === undefined) return
    this.map.delete(key)
    this.used -= e.bytes
  }

  clear(): void {
    this.map.clear()
    this.used = 0
  }
}
