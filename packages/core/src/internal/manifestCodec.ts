/**
 * The mechanics of the manifest binary format (see `Manifest.ts` for the layout and its rationale): limits, the
 * piecewise model checks shared by `validate` and the encoders, the record writers, and the incremental decoder core.
 * Everything here reports problems as plain `{ reason, message }` data; `Manifest.ts` wraps them in its error classes.
 */
import { Buffer, isUtf8 } from "node:buffer"
import { crc32 } from "node:zlib"
import * as Result from "effect/Result"
import * as BinaryKey from "../BinaryKey.ts"
import * as HashAlgorithm from "../HashAlgorithm.ts"
import type {
  InvalidManifestReason,
  ManifestDecodeReason,
  ManifestEntry,
  ManifestHeader,
  ManifestSummary
} from "../Manifest.ts"
import { MALFORMED, readKey, readVarint, SHORT } from "./manifestBinary.ts"
import * as Varint from "./varint.ts"

// ---------------------------------------------------------------------------------------------------------------
// Limits and constants

export const MAGIC = Uint8Array.of(0x47, 0x52, 0x56, 0x4d) // "GRVM"
export const VERSION = 1
export const TAG_END = 0x00
export const TAG_ENTRY = 0x01
export const maxBlockSize = 16 * 1024 * 1024
export const maxEntries = 2 ** 24
export const maxBlobSize = 2 ** 40
export const maxChunkerLength = 128
export const maxAttributes = 128
export const maxAttributeKeyBytes = 256
export const maxAttributeValueBytes = 4096
/** Largest `createdAt` representable (u64 on the wire, safe integer in memory). */
export const maxCreatedAt = Number.MAX_SAFE_INTEGER

/** A chunker id: visible ASCII (0x21..0x7e), 1..128 characters. */
export const CHUNKER_RE = /^[\x21-\x7e]{1,128}$/

export interface Problem<R> {
  readonly reason: R
  readonly message: string
}

const problem = <R>(reason: R, message: string): Problem<R> => ({ reason, message })

// ---------------------------------------------------------------------------------------------------------------
// Piecewise checks (model side)

const DIGEST_RE = /^[0-9a-f]+$/

/** A message when `key` is not a well-formed key value (normalised digest, safe size), else `undefined`. */
export const checkKey = (key: BinaryKey.BinaryKey): string | undefined => {
  if (key === null || typeof key !== "object") return "key is not an object"
  if (!HashAlgorithm.names.includes(key.algorithm)) return `unsupported hash algorithm '${String(key.algorithm)}'`
  if (
    typeof key.digest !== "string" ||
    key.digest.length !== HashAlgorithm.digestLength(key.algorithm) * 2 ||
    !DIGEST_RE.test(key.digest)
  ) {
    return "digest must be lowercase hex of the algorithm's digest length"
  }
  if (!Number.isSafeInteger(key.size) || key.size < 0) return "size must be a non-negative safe integer"
  return undefined
}

export const checkChunker = (chunker: string): Problem<InvalidManifestReason> | undefined =>
  typeof chunker === "string" && CHUNKER_RE.test(chunker)
    ? undefined
    : problem("InvalidChunker", "chunker id must be 1..128 visible ASCII characters (0x21..0x7e)")

export const checkCreatedAt = (createdAt: number): Problem<InvalidManifestReason> | undefined =>
  Number.isSafeInteger(createdAt) && createdAt >= 0
    ? undefined
    : problem("InvalidCreatedAt", "createdAt must be an integer number of milliseconds in 0..2^53-1")

/** Attributes as sorted (by UTF-8 bytes) encoded pairs, or the first problem found. */
export const encodeAttributes = (
  attributes: Readonly<Record<string, string>>
): Result.Result<ReadonlyArray<readonly [Buffer, Buffer]>, Problem<InvalidManifestReason>> => {
  if (attributes === null || typeof attributes !== "object") {
    return Result.fail(problem("InvalidAttribute", "attributes must be a record of strings"))
  }
  const keys = Object.keys(attributes)
  if (keys.length > maxAttributes) {
    return Result.fail(problem("TooManyAttributes", `${keys.length} attributes; at most ${maxAttributes} are allowed`))
  }
  const pairs: Array<readonly [Buffer, Buffer]> = []
  for (const key of keys) {
    const value = attributes[key]
    if (typeof value !== "string") {
      return Result.fail(problem("InvalidAttribute", `attribute '${clip(key)}' must have a string value`))
    }
    if (!key.isWellFormed() || !value.isWellFormed()) {
      return Result.fail(problem("InvalidUtf8", `attribute '${clip(key)}' contains a lone surrogate`))
    }
    const k = Buffer.from(key, "utf8")
    const v = Buffer.from(value, "utf8")
    if (k.byteLength < 1 || k.byteLength > maxAttributeKeyBytes) {
      return Result.fail(
        problem("InvalidAttribute", `attribute keys must be 1..${maxAttributeKeyBytes} UTF-8 bytes ('${clip(key)}')`)
      )
    }
    if (v.byteLength > maxAttributeValueBytes) {
      return Result.fail(
        problem(
          "InvalidAttribute",
          `attribute '${clip(key)}' value is ${v.byteLength} bytes; at most ${maxAttributeValueBytes} are allowed`
        )
      )
    }
    pairs.push([k, v])
  }
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]))
  return Result.succeed(pairs)
}

export const checkBlockSize = (size: number): Problem<InvalidManifestReason> | undefined =>
  Number.isSafeInteger(size) && size >= 1 && size <= maxBlockSize
    ? undefined
    : problem("BlockSizeOutOfRange", `block size ${size} is outside 1..${maxBlockSize}`)

export const clip = (s: string): string => (s.length > 64 ? `${s.slice(0, 61)}...` : s)

/** Defines an own, enumerable property (safe for keys such as `__proto__`). */
export const setOwn = (record: Record<string, string>, key: string, value: string): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}

// ---------------------------------------------------------------------------------------------------------------
// Writers

/** The header bytes (magic through the attributes), or the first problem with the header. */
export const encodeHeader = (header: ManifestHeader): Result.Result<Uint8Array, Problem<InvalidManifestReason>> => {
  const c = checkChunker(header.chunker) ?? checkCreatedAt(header.createdAt)
  if (c !== undefined) return Result.fail(c)
  const attrs = encodeAttributes(header.attributes)
  if (Result.isFailure(attrs)) return Result.fail(attrs.failure)
  const pairs = attrs.success
  let length = 4 + 1 + 1 + Varint.encodedLength(header.chunker.length) + header.chunker.length + 8
  length += Varint.encodedLength(pairs.length)
  for (const [k, v] of pairs) {
    length += Varint.encodedLength(k.byteLength) + k.byteLength + Varint.encodedLength(v.byteLength) + v.byteLength
  }
  const out = new Uint8Array(length)
  out.set(MAGIC, 0)
  out[4] = VERSION
  out[5] = 0
  let p = Varint.encodeInto(header.chunker.length, out, 6)
  for (let i = 0; i < header.chunker.length; i++) out[p++] = header.chunker.charCodeAt(i)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(p, Math.floor(header.createdAt / 2 ** 32))
  view.setUint32(p + 4, header.createdAt % 2 ** 32)
  p = Varint.encodeInto(pairs.length, out, p + 8)
  for (const [k, v] of pairs) {
    p = Varint.encodeInto(k.byteLength, out, p)
    out.set(k, p)
    p = Varint.encodeInto(v.byteLength, out, p + k.byteLength)
    out.set(v, p)
    p += v.byteLength
  }
  return Result.succeed(out)
}

/** Length of one entry record. */
export const entryLength = (key: BinaryKey.BinaryKey, offset: number): number =>
  1 + BinaryKey.encodedLength(key) + Varint.encodedLength(offset)

/** Writes one entry record at `pos`; returns the position after it. */
export const writeEntry = (out: Uint8Array, pos: number, key: BinaryKey.BinaryKey, offset: number): number => {
  out[pos] = TAG_ENTRY
  return Varint.encodeInto(offset, out, BinaryKey.encodeInto(key, out, pos + 1))
}

/** Length of the end tag plus trailer, CRC included. */
export const trailerLength = (count: number, blobKey: BinaryKey.BinaryKey): number =>
  1 + Varint.encodedLength(count) + BinaryKey.encodedLength(blobKey) + 4

/** Writes the end tag and trailer up to (not including) the CRC; returns the position of the CRC field. */
export const writeTrailerBody = (out: Uint8Array, pos: number, count: number, blobKey: BinaryKey.BinaryKey): number => {
  out[pos] = TAG_END
  return BinaryKey.encodeInto(blobKey, out, Varint.encodeInto(count, out, pos + 1))
}

export const writeU32 = (out: Uint8Array, pos: number, value: number): void => {
  out[pos] = value >>> 24
  out[pos + 1] = (value >>> 16) & 0xff
  out[pos + 2] = (value >>> 8) & 0xff
  out[pos + 3] = value & 0xff
}

export const readU32 = (bytes: Uint8Array, pos: number): number =>
  bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!)

export { crc32 }

// ---------------------------------------------------------------------------------------------------------------
// Incremental decoder

export interface DecodeProblem extends Problem<ManifestDecodeReason> {
  readonly offset: number
}

const ST_PREFIX = 0
const ST_CHUNKER = 1
const ST_CREATED = 2
const ST_ATTR_COUNT = 3
const ST_ATTR_KEY = 4
const ST_ATTR_VALUE = 5
const ST_RECORD = 6
const ST_TRAILER = 7
const ST_DONE = 8

const STATE_NAMES = [
  "magic/version/flags",
  "chunker id",
  "createdAt",
  "attribute count",
  "attribute key",
  "attribute value",
  "entry records",
  "trailer",
  "end"
] as const

const NEED_MORE = -1
const FAILED = -2

/**
 * No single decoding step needs more than this many bytes (the longest is an attribute value: a 2-byte varint plus
 * 4096 bytes). When that many bytes are buffered, a step either completes or fails, so the pending buffer stays
 * bounded by about twice this.
 */
const MAX_STEP = 8192

/** Optional lower limits, for tests that exercise limits without building 2^24 entries. */
export interface DecoderLimits {
  readonly maxEntries?: number
}

/**
 * The incremental decoder. `push` accepts arbitrary slices; entries are delivered to `onEntry` as soon as their
 * record is complete. Memory: the header fields, one partial record (< {@link MAX_STEP} bytes), O(1) counters.
 */
export class DecoderCore {
  private state = ST_PREFIX
  private readonly onEntry: (entry: ManifestEntry) => void
  private readonly maxEntries: number
  problem: DecodeProblem | undefined = undefined
  /** Absolute offset of the first byte not yet consumed. */
  consumed = 0
  private crc = 0
  private pend = new Uint8Array(0)
  private pendLen = 0
  // header
  chunker = ""
  createdAt = 0
  readonly attributes: Record<string, string> = {}
  private attrCount = 0
  private attrSeen = 0
  private prevKey: Buffer | undefined = undefined
  private curKey = ""
  // entries
  count = 0
  offset = 0
  blobKey: BinaryKey.BinaryKey | undefined = undefined

  constructor(onEntry: (entry: ManifestEntry) => void, limits?: DecoderLimits) {
    this.onEntry = onEntry
    this.maxEntries = limits?.maxEntries ?? maxEntries
  }

  get headerComplete(): boolean {
    return this.state >= ST_RECORD
  }

  get done(): boolean {
    return this.state === ST_DONE
  }

  /** Total bytes pushed so far. */
  get bytesSeen(): number {
    return this.consumed + this.pendLen
  }

  /** Feeds the next slice. On failure `problem` is set and further pushes are ignored. */
  push(chunk: Uint8Array): void {
    if (this.problem !== undefined) return
    let c = 0
    while (this.pendLen > 0 && c < chunk.byteLength) {
      const orig = this.pendLen
      const take = Math.min(chunk.byteLength - c, MAX_STEP)
      this.append(chunk.subarray(c, c + take))
      const used = this.run(this.pend.subarray(0, this.pendLen))
      if (used < 0) return
      if (used >= orig) {
        c += used - orig
        this.pendLen = 0
      } else {
        this.pend.copyWithin(0, used, this.pendLen)
        this.pendLen -= used
        c += take
      }
    }
    if (this.pendLen === 0 && c < chunk.byteLength) {
      const rest = chunk.subarray(c)
      const used = this.run(rest)
      if (used < 0) return
      this.append(rest.subarray(used))
    }
  }

  /** Ends the input: sets `problem` unless a complete, valid manifest was read. */
  finish(): DecodeProblem | undefined {
    if (this.problem === undefined && this.state !== ST_DONE) {
      this.problem = {
        reason: "Truncated",
        offset: this.bytesSeen,
        message: `input ends after ${this.bytesSeen} bytes, inside the ${STATE_NAMES[this.state]}`
      }
    }
    return this.problem
  }

  summary(): ManifestSummary {
    return {
      blobKey: this.blobKey!,
      size: this.offset,
      blockCount: this.count,
      chunker: this.chunker,
      createdAt: this.createdAt,
      attributes: this.attributes
    }
  }

  private append(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return
    const need = this.pendLen + bytes.byteLength
    if (need > this.pend.byteLength) {
      const grown = new Uint8Array(Math.max(need, this.pend.byteLength * 2, 64))
      grown.set(this.pend.subarray(0, this.pendLen))
      this.pend = grown
    }
    this.pend.set(bytes, this.pendLen)
    this.pendLen = need
  }

  /** Runs steps over `buf` (whose first byte is at absolute offset `consumed`); returns bytes consumed or -1. */
  private run(buf: Uint8Array): number {
    let p = 0
    while (p < buf.byteLength) {
      const r = this.step(buf, p)
      if (r === NEED_MORE) break
      if (r === FAILED) return -1
      p = r
    }
    if (this.state !== ST_DONE) this.crc = crc32(buf.subarray(0, p), this.crc)
    this.consumed += p
    return p
  }

  private fail(reason: ManifestDecodeReason, at: number, message: string): number {
    this.problem = { reason, offset: this.consumed + at, message }
    return FAILED
  }

  private step(buf: Uint8Array, p: number): number {
    switch (this.state) {
      case ST_PREFIX:
        return this.stepPrefix(buf, p)
      case ST_CHUNKER:
        return this.stepChunker(buf, p)
      case ST_CREATED:
        return this.stepCreated(buf, p)
      case ST_ATTR_COUNT:
        return this.stepAttrCount(buf, p)
      case ST_ATTR_KEY:
        return this.stepAttrKey(buf, p)
      case ST_ATTR_VALUE:
        return this.stepAttrValue(buf, p)
      case ST_RECORD:
        return this.stepRecord(buf, p)
      case ST_TRAILER:
        return this.stepTrailer(buf, p)
      default:
        return this.fail("TrailingBytes", p, "bytes follow the manifest checksum")
    }
  }

  private stepPrefix(buf: Uint8Array, p: number): number {
    const avail = buf.byteLength - p
    for (let i = 0; i < 4 && i < avail; i++) {
      if (buf[p + i] !== MAGIC[i]) return this.fail("BadMagic", p, "input does not start with the manifest magic GRVM")
    }
    if (avail > 4 && buf[p + 4] !== VERSION) {
      return this.fail("UnsupportedVersion", p + 4, `unsupported manifest format version ${buf[p + 4]}`)
    }
    if (avail > 5 && buf[p + 5] !== 0) {
      return this.fail("NonzeroFlags", p + 5, `reserved flags byte is 0x${buf[p + 5]!.toString(16)}, expected 0`)
    }
    if (avail < 6) return NEED_MORE
    this.state = ST_CHUNKER
    return p + 6
  }

  private stepChunker(buf: Uint8Array, p: number): number {
    const len = readVarint(buf, p)
    if (len === SHORT) return NEED_MORE
    if (len === MALFORMED) return this.fail("MalformedVarint", p, "chunker id length varint is malformed")
    if (len.value < 1 || len.value > maxChunkerLength) {
      return this.fail("InvalidChunker", p, `chunker id length ${len.value} is outside 1..${maxChunkerLength}`)
    }
    const end = len.next + len.value
    if (end > buf.byteLength) return NEED_MORE
    let s = ""
    for (let i = len.next; i < end; i++) {
      const b = buf[i]!
      if (b < 0x21 || b > 0x7e) return this.fail("InvalidChunker", i, "chunker id must be visible ASCII")
      s += String.fromCharCode(b)
    }
    this.chunker = s
    this.state = ST_CREATED
    return end
  }

  private stepCreated(buf: Uint8Array, p: number): number {
    if (p + 8 > buf.byteLength) return NEED_MORE
    const hi = readU32(buf, p)
    if (hi > 0x1fffff) return this.fail("InvalidCreatedAt", p, "createdAt exceeds 2^53-1 milliseconds")
    this.createdAt = hi * 2 ** 32 + readU32(buf, p + 4)
    this.state = ST_ATTR_COUNT
    return p + 8
  }

  private stepAttrCount(buf: Uint8Array, p: number): number {
    const n = readVarint(buf, p)
    if (n === SHORT) return NEED_MORE
    if (n === MALFORMED) return this.fail("MalformedVarint", p, "attribute count varint is malformed")
    if (n.value > maxAttributes) {
      return this.fail("TooManyAttributes", p, `${n.value} attributes; at most ${maxAttributes} are allowed`)
    }
    this.attrCount = n.value
    this.state = n.value === 0 ? ST_RECORD : ST_ATTR_KEY
    return n.next
  }

  private stepAttrKey(buf: Uint8Array, p: number): number {
    const len = readVarint(buf, p)
    if (len === SHORT) return NEED_MORE
    if (len === MALFORMED) return this.fail("MalformedVarint", p, "attribute key length varint is malformed")
    if (len.value < 1 || len.value > maxAttributeKeyBytes) {
      return this.fail("InvalidAttribute", p, `attribute key length ${len.value} is outside 1..${maxAttributeKeyBytes}`)
    }
    const end = len.next + len.value
    if (end > buf.byteLength) return NEED_MORE
    const bytes = buf.subarray(len.next, end)
    if (!isUtf8(bytes)) return this.fail("InvalidUtf8", len.next, "attribute key is not valid UTF-8")
    if (this.prevKey !== undefined) {
      const cmp = Buffer.compare(this.prevKey, bytes)
      if (cmp === 0) return this.fail("DuplicateAttribute", p, "duplicate attribute key")
      if (cmp > 0) return this.fail("UnsortedAttributes", p, "attribute keys are not sorted by their UTF-8 bytes")
    }
    this.prevKey = Buffer.from(bytes)
    this.curKey = this.prevKey.toString("utf8")
    this.state = ST_ATTR_VALUE
    return end
  }

  private stepAttrValue(buf: Uint8Array, p: number): number {
    const len = readVarint(buf, p)
    if (len === SHORT) return NEED_MORE
    if (len === MALFORMED) return this.fail("MalformedVarint", p, "attribute value length varint is malformed")
    if (len.value > maxAttributeValueBytes) {
      return this.fail(
        "InvalidAttribute",
        p,
        `attribute value length ${len.value} exceeds ${maxAttributeValueBytes} bytes`
      )
    }
    const end = len.next + len.value
    if (end > buf.byteLength) return NEED_MORE
    const bytes = buf.subarray(len.next, end)
    if (!isUtf8(bytes)) return this.fail("InvalidUtf8", len.next, "attribute value is not valid UTF-8")
    setOwn(this.attributes, this.curKey, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
    this.attrSeen++
    this.state = this.attrSeen < this.attrCount ? ST_ATTR_KEY : ST_RECORD
    return end
  }

  private stepRecord(buf: Uint8Array, p: number): number {
    const tag = buf[p]!
    if (tag === TAG_END) {
      this.state = ST_TRAILER
      return p + 1
    }
    if (tag !== TAG_ENTRY) return this.fail("UnknownTag", p, `unknown record tag 0x${tag.toString(16)}`)
    if (this.count >= this.maxEntries) {
      return this.fail("TooManyEntries", p, `more than ${this.maxEntries} entries`)
    }
    const k = readKey(buf, p + 1)
    if (k === SHORT) return NEED_MORE
    if (!("value" in k)) return this.fail("InvalidKey", p + 1, `entry ${this.count}: ${k.message}`)
    const size = k.value.size
    if (size < 1 || size > maxBlockSize) {
      return this.fail(
        "BlockSizeOutOfRange",
        p + 1,
        `entry ${this.count}: block size ${size} is outside 1..${maxBlockSize}`
      )
    }
    const off = readVarint(buf, k.next)
    if (off === SHORT) return NEED_MORE
    if (off === MALFORMED)
      return this.fail("MalformedVarint", k.next, `entry ${this.count}: offset varint is malformed`)
    if (off.value !== this.offset) {
      return this.fail(
        "NonContiguous",
        k.next,
        `entry ${this.count} has offset ${off.value}; the previous entries end at ${this.offset}`
      )
    }
    if (this.offset + size > maxBlobSize) {
      return this.fail("BlobTooLarge", p + 1, `entries exceed the largest blob size ${maxBlobSize}`)
    }
    this.onEntry({ index: this.count, blockKey: k.value, offset: this.offset, size })
    this.count++
    this.offset += size
    return off.next
  }

  private stepTrailer(buf: Uint8Array, p: number): number {
    const n = readVarint(buf, p)
    if (n === SHORT) return NEED_MORE
    if (n === MALFORMED) return this.fail("MalformedVarint", p, "entry count varint is malformed")
    if (n.value !== this.count) {
      return this.fail("CountMismatch", p, `trailer says ${n.value} entries; ${this.count} were read`)
    }
    const k = readKey(buf, n.next)
    if (k === SHORT) return NEED_MORE
    if (!("value" in k)) return this.fail("InvalidKey", n.next, `blob key: ${k.message}`)
    if (k.value.size !== this.offset) {
      return this.fail(
        "BlobSizeMismatch",
        n.next,
        `blob key size ${k.value.size} differs from the sum of block sizes ${this.offset}`
      )
    }
    if (k.next + 4 > buf.byteLength) return NEED_MORE
    const expected = crc32(buf.subarray(0, k.next), this.crc)
    const actual = readU32(buf, k.next)
    if (expected !== actual) {
      return this.fail(
        "ChecksumMismatch",
        k.next,
        `CRC-32 is 0x${actual.toString(16).padStart(8, "0")}, computed 0x${expected.toString(16).padStart(8, "0")}`
      )
    }
    this.blobKey = k.value
    this.state = ST_DONE
    return k.next + 4
  }
}
