/**
 * The key space of the one LevelDB database behind a data directory. Every port owns a namespace: a two-byte
 * ASCII prefix (`<letter>/`), so a `ldb`/`leveldbutil` dump stays readable and one port's range scans can never see
 * another's rows.
 *
 * | prefix | rows |
 * | --- | --- |
 * | `!/` | metadata: format version, durable pack watermark, manifest id counter, per-pack statistics |
 * | `b/` | block index: block key text → pack location + touchedAt |
 * | `l/` | reverse block index: pack id + offset → block key text (recovery and pack compaction) |
 * | `m/` | manifest summaries by blob key text |
 * | `e/` | manifest entries: manifest id + big-endian offset → entry |
 * | `p/`, `t/` | manifests being committed in several batches / being deleted (cleaned up on open) |
 * | `k/` | KeyValueStore |
 * | `r/` | RangeTracker |
 * | `x/` | ReplicaIndex |
 * | `s/` | SchemaStore |
 * | `o/` | object stores |
 */

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"))

/** A namespace: its prefix and the exclusive upper bound of its key range. */
export interface Namespace {
  readonly prefix: Uint8Array
  /** The smallest key greater than every key of the namespace. */
  readonly end: Uint8Array
}

const namespace = (letter: string): Namespace => {
  const prefix = ascii(`${letter}/`)
  const end = prefix.slice()
  end[end.length - 1] = end[end.length - 1]! + 1
  return { prefix, end }
}

export const META = namespace("!")
export const BLOCK = namespace("b")
export const LOCATION = namespace("l")
export const MANIFEST = namespace("m")
export const ENTRY = namespace("e")
export const PENDING = namespace("p")
export const TOMBSTONE = namespace("t")
export const KEYVALUE = namespace("k")
export const RANGES = namespace("r")
export const REPLICAS = namespace("x")
export const SCHEMAS = namespace("s")
export const OBJECTS = namespace("o")

/** Concatenates byte arrays. */
export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let n = 0
  for (const p of parts) n += p.byteLength
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.byteLength
  }
  return out
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** `ns.prefix + utf8(text)`. */
export const textKey = (ns: Namespace, text: string): Uint8Array => {
  const body = utf8.encode(text)
  const out = new Uint8Array(ns.prefix.byteLength + body.byteLength)
  out.set(ns.prefix, 0)
  out.set(body, ns.prefix.byteLength)
  return out
}

/** The text after the namespace prefix of a {@link textKey}. */
export const textOf = (ns: Namespace, key: Uint8Array): string => utf8Decoder.decode(key.subarray(ns.prefix.byteLength))

/**
 * The key range of all texts starting with `prefix` in namespace `ns`: `[ns + prefix, ns + prefix + 0xFF)`. Valid
 * UTF-8 never contains the byte 0xFF, so every key with the prefix sorts below the bound.
 */
export const prefixRange = (ns: Namespace, prefix: string): { readonly gte: Uint8Array; readonly lt: Uint8Array } => {
  if (prefix.length === 0) return { gte: ns.prefix, lt: ns.end }
  const gte = textKey(ns, prefix)
  return { gte, lt: concat(gte, Uint8Array.of(0xff)) }
}

/** Writes `n` (0 ≤ n < 2^48) big-endian into 6 bytes at `offset`. */
export const writeU48 = (out: Uint8Array, offset: number, n: number): void => {
  const hi = Math.floor(n / 2 ** 32)
  const lo = n >>> 0
  out[offset] = (hi >>> 8) & 0xff
  out[offset + 1] = hi & 0xff
  out[offset + 2] = (lo >>> 24) & 0xff
  out[offset + 3] = (lo >>> 16) & 0xff
  out[offset + 4] = (lo >>> 8) & 0xff
  out[offset + 5] = lo & 0xff
}

/** Reads a big-endian 6-byte unsigned integer. */
export const readU48 = (b: Uint8Array, offset: number): number =>
  (b[offset]! * 256 + b[offset + 1]!) * 2 ** 32 +
  ((b[offset + 2]! << 24) >>> 0) +
  (b[offset + 3]! << 16) +
  (b[offset + 4]! << 8) +
  b[offset + 5]!

/** Writes a big-endian u32. */
export const writeU32 = (out: Uint8Array, offset: number, n: number): void => {
  out[offset] = (n >>> 24) & 0xff
  out[offset + 1] = (n >>> 16) & 0xff
  out[offset + 2] = (n >>> 8) & 0xff
  out[offset + 3] = n & 0xff
}

/** Reads a big-endian u32. */
export const readU32 = (b: Uint8Array, offset: number): number =>
  ((b[offset]! << 24) >>> 0) + (b[offset + 1]! << 16) + (b[offset + 2]! << 8) + b[offset + 3]!

/** `ns.prefix + u48(id)` — the prefix of every row of one numbered item (a manifest's entries). */
export const idKey = (ns: Namespace, id: number): Uint8Array => {
  const out = new Uint8Array(ns.prefix.byteLength + 6)
  out.set(ns.prefix, 0)
  writeU48(out, ns.prefix.byteLength, id)
  return out
}

/** `ns.prefix + u48(id) + u48(n)`. */
export const idNumberKey = (ns: Namespace, id: number, n: number): Uint8Array => {
  const out = new Uint8Array(ns.prefix.byteLength + 12)
  out.set(ns.prefix, 0)
  writeU48(out, ns.prefix.byteLength, id)
  writeU48(out, ns.prefix.byteLength + 6, n)
  return out
}

/** The smallest key greater than every key starting with `prefix` (increments the last byte below 0xFF). */
export const successor = (prefix: Uint8Array): Uint8Array => {
  const out = prefix.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1
      return out.subarray(0, i + 1)
    }
  }
  return concat(prefix, Uint8Array.of(0xff))
}

/** A metadata key. */
export const metaKey = (name: string): Uint8Array => textKey(META, name)

/**
 * A plain `Uint8Array` view of a driver buffer. Node `Buffer`s override `slice` to return a view instead of a copy,
 * which breaks callers that copy with `slice()`; values handed out are therefore never Buffers.
 */
export const plain = (b: Uint8Array): Uint8Array =>
  Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b
