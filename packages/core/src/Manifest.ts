/**
 * Blob manifests: the ordered list of blocks that make up a blob, plus the blob key, the chunker id, the creation
 * time and user attributes; with a JSON Schema form, validation, range lookup, and a versioned binary codec that
 * exists in two shapes producing and accepting exactly the same bytes: in-memory ({@link encode} / {@link decode})
 * and incremental ({@link makeEncoder} / {@link makeDecoder}, and the Effect Stream forms {@link encodeStream} /
 * {@link decodeStream}).
 *
 * ## Invariants (checked by {@link validate}, {@link make}, the Schema, and every decoder)
 * - entries are contiguous: entry `i` has `index = i` and `offset` = the sum of the previous sizes;
 * - every `size` is in 1..16 MiB and equals `blockKey.size`; the sizes sum to `blobKey.size` (≤ 1 TiB);
 * - at most 2^24 entries; the empty blob has zero entries;
 * - `chunker` is 1..128 visible ASCII characters (0x21..0x7e), e.g. `fastcdc-v1:16384:65536:262144`;
 * - `createdAt` is an integer number of epoch milliseconds in 0..2^53-1;
 * - at most 128 attributes; keys 1..256 UTF-8 bytes, values at most 4 KiB of UTF-8, both well-formed Unicode.
 *
 * ## Binary format, version 1 (all integers unsigned; varint = LEB128 as in `BinaryKey`)
 * ```
 * header   "GRVM"  version=1 (u8)  flags=0 (u8)
 *          varint len + chunker id (ASCII)
 *          createdAt (u64 big-endian, ms)
 *          varint attribute count, then per attribute, sorted by the UTF-8 bytes of the key (no duplicates):
 *            varint len + UTF-8 key, varint len + UTF-8 value
 * entries  per block: 0x01, block key (binary form), varint offset        (index is implicit)
 * end      0x00, varint entry count, blob key (binary form),
 *          CRC-32 (zlib polynomial, u32 big-endian) of every preceding byte
 * ```
 * Why this shape: the blob key and the entry count are only known after the last block was hashed, so they live in
 * a trailer and the encoder is single-pass with O(1) state (running CRC, count, offset). Each record is
 * self-delimiting, so the decoder is incremental with O(1) state beyond one partial record (< 8 KiB). The offset is
 * redundant but lets the decoder prove contiguity record by record; the size comes from the block key, so it
 * cannot disagree with it. The encoding is canonical (same manifest → same bytes): attributes are sorted, varints
 * must be minimal. Integrity: one CRC-32 over everything; block digests themselves are verified when blocks are read.
 * A streaming decoder necessarily hands out entries before the trailer was checked: treat them as provisional until
 * the input ended successfully ({@link decodeStream} fails at its end when the trailer does not validate). Unknown
 * tags are rejected: new record kinds need a new version.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BinaryKey from "./BinaryKey.ts"
import * as Codec from "./internal/manifestCodec.ts"

// ---------------------------------------------------------------------------------------------------------------
// Limits

/** Largest block: 16 MiB. */
export const maxBlockSize: number = Codec.maxBlockSize
/** Most entries in one manifest: 2^24. */
export const maxEntries: number = Codec.maxEntries
/** Largest blob: 1 TiB. */
export const maxBlobSize: number = Codec.maxBlobSize
/** Longest chunker id, in characters. */
export const maxChunkerLength: number = Codec.maxChunkerLength
/** Most attributes per manifest. */
export const maxAttributes: number = Codec.maxAttributes
/** Longest attribute key, in UTF-8 bytes (keys are at least 1 byte). */
export const maxAttributeKeyBytes: number = Codec.maxAttributeKeyBytes
/** Longest attribute value, in UTF-8 bytes. */
export const maxAttributeValueBytes: number = Codec.maxAttributeValueBytes
/** The binary format version written by this module (the only one it reads). */
export const formatVersion: number = Codec.VERSION
/** The 4 magic bytes that start every encoded manifest: ASCII `GRVM`. */
export const magic: Uint8Array = Codec.MAGIC.slice()

// ---------------------------------------------------------------------------------------------------------------
// Model

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Schema of a chunker id: 1..128 visible ASCII characters. */
export const ChunkerId = Schema.String.check(Schema.isPattern(Codec.CHUNKER_RE)).annotate({ identifier: "ChunkerId" })

/** Schema of the attributes record (limits are checked at the manifest level). */
export const Attributes = Schema.Record(Schema.String, Schema.String)

/**
 * Schema of one manifest entry; JSON form `{ index, blockKey: "<key text>", offset, size }`. Decoding checks the
 * field ranges and that `size` equals `blockKey.size`.
 */
export const ManifestEntry = Schema.Struct({
  /** Position of the entry, 0-based. */
  index: NonNegativeInt,
  /** Key of the raw block bytes. */
  blockKey: BinaryKey.FromString,
  /** Byte offset of the block within the blob. */
  offset: NonNegativeInt,
  /** Block length in bytes (1..16 MiB), equal to `blockKey.size`. */
  size: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: Codec.maxBlockSize }))
})
  .check(
    Schema.makeFilter((e: { readonly size: number; readonly blockKey: BinaryKey.BinaryKey }) =>
      e.size === e.blockKey.size ? undefined : { path: ["size"], issue: "size must equal blockKey.size" }
    )
  )
  .annotate({ identifier: "ManifestEntry" })

/** One block of a blob: `{ index, blockKey, offset, size }`. */
export interface ManifestEntry extends Schema.Schema.Type<typeof ManifestEntry> {}

const ManifestStruct = Schema.Struct({
  /** Key of the whole blob. */
  blobKey: BinaryKey.FromString,
  /** Id of the chunker that cut the blocks. */
  chunker: ChunkerId,
  /** Creation time, epoch milliseconds. */
  createdAt: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Codec.maxCreatedAt })),
  /** User attributes. */
  attributes: Attributes,
  /** The blocks, in order. */
  entries: Schema.Array(ManifestEntry)
})

/** A blob manifest; see the module documentation for its invariants. */
export interface Manifest extends Schema.Schema.Type<typeof ManifestStruct> {}

/**
 * Schema of a manifest in its JSON form (keys as text, `BinaryKey.FromString`). Decoding checks every invariant
 * ({@link validate}); the issue message is the {@link InvalidManifest} message.
 */
export const Manifest = ManifestStruct.check(
  Schema.makeFilter((m: Manifest) => {
    const r = validate(m)
    return Result.isSuccess(r) ? undefined : `${r.failure.reason}: ${r.failure.message}`
  })
).annotate({ identifier: "Manifest" })

/** Schema of the manifest header: everything known before the first block, i.e. what {@link makeEncoder} begins with. */
export const ManifestHeader = Schema.Struct({
  chunker: ChunkerId,
  createdAt: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Codec.maxCreatedAt })),
  attributes: Attributes
}).annotate({ identifier: "ManifestHeader" })

/** The manifest header: chunker id, creation time, attributes. */
export interface ManifestHeader extends Schema.Schema.Type<typeof ManifestHeader> {}

/** Schema of a manifest summary (JSON form with the blob key as text). */
export const ManifestSummary = Schema.Struct({
  blobKey: BinaryKey.FromString,
  /** Blob size in bytes (= `blobKey.size`). */
  size: NonNegativeInt,
  /** Number of entries. */
  blockCount: NonNegativeInt,
  chunker: ChunkerId,
  createdAt: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Codec.maxCreatedAt })),
  attributes: Attributes
}).annotate({ identifier: "ManifestSummary" })

/** Everything about a manifest except its entries. */
export interface ManifestSummary extends Schema.Schema.Type<typeof ManifestSummary> {}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Why a manifest value (or encoder input) violates an invariant. */
export const InvalidManifestReason = Schema.Literals([
  "InvalidChunker",
  "InvalidCreatedAt",
  "InvalidAttribute",
  "InvalidUtf8",
  "TooManyAttributes",
  "InvalidKey",
  "NonContiguous",
  "SizeMismatch",
  "BlockSizeOutOfRange",
  "BlobSizeMismatch",
  "BlobTooLarge",
  "TooManyEntries"
])
export type InvalidManifestReason = typeof InvalidManifestReason.Type

/** A manifest value that breaks an invariant (from {@link validate}, {@link make} and the encoders). */
export class InvalidManifest extends Schema.TaggedError<InvalidManifest>("@graviton/core/InvalidManifest")(
  "InvalidManifest",
  { reason: InvalidManifestReason, message: Schema.String }
) {}

/** Why bytes were rejected by a manifest decoder. */
export const ManifestDecodeReason = Schema.Literals([
  "BadMagic",
  "UnsupportedVersion",
  "NonzeroFlags",
  "Truncated",
  "TrailingBytes",
  "UnknownTag",
  "MalformedVarint",
  "InvalidChunker",
  "InvalidCreatedAt",
  "InvalidUtf8",
  "InvalidAttribute",
  "TooManyAttributes",
  "DuplicateAttribute",
  "UnsortedAttributes",
  "InvalidKey",
  "BlockSizeOutOfRange",
  "NonContiguous",
  "TooManyEntries",
  "BlobTooLarge",
  "CountMismatch",
  "BlobSizeMismatch",
  "ChecksumMismatch"
])
export type ManifestDecodeReason = typeof ManifestDecodeReason.Type

/**
 * Bytes that are not a valid encoded manifest. `offset` is the byte position where the problem was detected (for
 * `Truncated`, the input length); it does not depend on how the input was sliced.
 */
export class ManifestDecodeError extends Schema.TaggedError<ManifestDecodeError>("@graviton/core/ManifestDecodeError")(
  "ManifestDecodeError",
  {
    reason: ManifestDecodeReason,
    offset: Schema.Number,
    message: Schema.String
  }
) {}

const invalid = (p: Codec.Problem<InvalidManifestReason>): InvalidManifest => new InvalidManifest(p)

const invalidR = (reason: InvalidManifestReason, message: string): Result.Result<never, InvalidManifest> =>
  Result.fail(new InvalidManifest({ reason, message }))

// ---------------------------------------------------------------------------------------------------------------
// Validation and construction

/** Checks every invariant of `manifest` (O(entries)); returns it unchanged when valid. Total: never throws. */
export const validate = (manifest: Manifest): Result.Result<Manifest, InvalidManifest> => {
  if (manifest === null || typeof manifest !== "object") return invalidR("InvalidKey", "manifest is not an object")
  const keyProblem = checkKeyValue(manifest.blobKey)
  if (keyProblem !== undefined) return invalidR("InvalidKey", `blob key: ${keyProblem}`)
  const header = Codec.checkChunker(manifest.chunker) ?? Codec.checkCreatedAt(manifest.createdAt)
  if (header !== undefined) return Result.fail(invalid(header))
  const attrs = Codec.encodeAttributes(manifest.attributes)
  if (Result.isFailure(attrs)) return Result.fail(invalid(attrs.failure))
  const entries = manifest.entries
  if (!Array.isArray(entries)) return invalidR("NonContiguous", "entries must be an array")
  if (entries.length > Codec.maxEntries) {
    return invalidR("TooManyEntries", `${entries.length} entries; at most ${Codec.maxEntries} are allowed`)
  }
  if (manifest.blobKey.size > Codec.maxBlobSize) {
    return invalidR("BlobTooLarge", `blob size ${manifest.blobKey.size} exceeds ${Codec.maxBlobSize}`)
  }
  let offset = 0
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as ManifestEntry | undefined
    if (e === undefined || e === null || typeof e !== "object")
      return invalidR("NonContiguous", `entry ${i} is missing`)
    const kp = checkKeyValue(e.blockKey)
    if (kp !== undefined) return invalidR("InvalidKey", `entry ${i}: block key: ${kp}`)
    if (e.index !== i) return invalidR("NonContiguous", `entry ${i} has index ${e.index}`)
    if (e.offset !== offset) {
      return invalidR("NonContiguous", `entry ${i} has offset ${e.offset}; the previous entries end at ${offset}`)
    }
    if (e.size !== e.blockKey.size) {
      return invalidR("SizeMismatch", `entry ${i} has size ${e.size} but its block key says ${e.blockKey.size}`)
    }
    const sp = Codec.checkBlockSize(e.size)
    if (sp !== undefined) return invalidR(sp.reason, `entry ${i}: ${sp.message}`)
    offset += e.size
  }
  if (offset !== manifest.blobKey.size) {
    return invalidR("BlobSizeMismatch", `block sizes sum to ${offset} but the blob key says ${manifest.blobKey.size}`)
  }
  return Result.succeed(manifest)
}

const checkKeyValue = (key: BinaryKey.BinaryKey | undefined): string | undefined =>
  key === undefined ? "missing" : Codec.checkKey(key)

/** Input of {@link make}: the header, the blob key and the block keys in order. */
export interface MakeInput {
  readonly blobKey: BinaryKey.BinaryKey
  readonly chunker: string
  readonly createdAt: number
  readonly attributes?: Readonly<Record<string, string>> | undefined
  readonly blocks: Iterable<BinaryKey.BinaryKey>
}

/** Builds a manifest from block keys (computing index, offset and size), then {@link validate}s it. */
export const make = (input: MakeInput): Result.Result<Manifest, InvalidManifest> => {
  const entries: Array<ManifestEntry> = []
  let offset = 0
  for (const blockKey of input.blocks) {
    if (entries.length >= Codec.maxEntries) {
      return invalidR("TooManyEntries", `more than ${Codec.maxEntries} entries`)
    }
    entries.push({ index: entries.length, blockKey, offset, size: blockKey.size })
    offset += blockKey.size
  }
  return validate({
    blobKey: input.blobKey,
    chunker: input.chunker,
    createdAt: input.createdAt,
    attributes: input.attributes ?? {},
    entries
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Summaries and ranges

/** Number of blocks. */
export const blockCount = (manifest: Manifest): number => manifest.entries.length

/** Blob size in bytes (`blobKey.size`, which equals the sum of the entry sizes). */
export const size = (manifest: Manifest): number => manifest.blobKey.size

/** The header part (chunker id, created-at, attributes). */
export const header = (manifest: Manifest): ManifestHeader => ({
  chunker: manifest.chunker,
  createdAt: manifest.createdAt,
  attributes: manifest.attributes
})

/** Everything but the entries. */
export const summary = (manifest: Manifest): ManifestSummary => ({
  blobKey: manifest.blobKey,
  size: manifest.blobKey.size,
  blockCount: manifest.entries.length,
  chunker: manifest.chunker,
  createdAt: manifest.createdAt,
  attributes: manifest.attributes
})

/** A half-open byte range `[start, end)` (structurally compatible with `Span`). */
export interface ByteSpan {
  readonly start: number
  readonly end: number
}

/**
 * The half-open range `[start, end)` of entry **indices** whose bytes intersect `span`, found by binary search in
 * O(log n). Empty (`start === end`) when the span is empty or lies outside the blob. Assumes a valid manifest.
 */
export const indexRange = (manifest: Manifest, span: ByteSpan): { readonly start: number; readonly end: number } =>
  entryIndexRange(manifest.entries, manifest.blobKey.size, span)

/**
 * {@link indexRange} over any contiguous, ordered entry list of a blob of `size` bytes (e.g. a stored manifest's
 * entries); `span` absent means all entries.
 */
export const entryIndexRange = (
  entries: ReadonlyArray<{ readonly offset: number; readonly size: number }>,
  size: number,
  span: ByteSpan | undefined
): { readonly start: number; readonly end: number } => {
  if (span === undefined) return { start: 0, end: entries.length }
  const lo = Math.max(0, span.start)
  const hi = Math.min(size, span.end)
  if (!(lo < hi)) return { start: 0, end: 0 }
  // first entry whose end is > lo
  let a = 0
  let b = entries.length
  while (a < b) {
    const m = (a + b) >>> 1
    const e = entries[m]!
    if (e.offset + e.size <= lo) a = m + 1
    else b = m
  }
  const first = a
  // first entry whose offset is >= hi
  b = entries.length
  while (a < b) {
    const m = (a + b) >>> 1
    if (entries[m]!.offset < hi) a = m + 1
    else b = m
  }
  return { start: first, end: a }
}

/** The entries whose bytes intersect `span` (binary search, O(log n + k)), in order. */
export const entriesForRange = (manifest: Manifest, span: ByteSpan): ReadonlyArray<ManifestEntry> => {
  const r = indexRange(manifest, span)
  return manifest.entries.slice(r.start, r.end)
}

// ---------------------------------------------------------------------------------------------------------------
// In-memory codec

/**
 * Encodes a manifest in the binary format. Canonical: equal manifests give equal bytes.
 *
 * @throws {InvalidManifest} when `manifest` breaks an invariant (values from {@link make}, {@link validate} or a
 * decoder never do); use {@link validate} first for untrusted values.
 */
export const encode = (manifest: Manifest): Uint8Array => {
  const v = validate(manifest)
  if (Result.isFailure(v)) throw v.failure
  const head = Codec.encodeHeader(header(manifest))
  if (Result.isFailure(head)) throw invalid(head.failure)
  const entries = manifest.entries
  let length = head.success.byteLength + Codec.trailerLength(entries.length, manifest.blobKey)
  for (const e of entries) length += Codec.entryLength(e.blockKey, e.offset)
  const out = new Uint8Array(length)
  out.set(head.success, 0)
  let p = head.success.byteLength
  for (const e of entries) p = Codec.writeEntry(out, p, e.blockKey, e.offset)
  p = Codec.writeTrailerBody(out, p, entries.length, manifest.blobKey)
  Codec.writeU32(out, p, Codec.crc32(out.subarray(0, p)))
  return out
}

/** Decodes one complete encoded manifest. Total: every malformed input gives a {@link ManifestDecodeError}. */
export const decode = (bytes: Uint8Array): Result.Result<Manifest, ManifestDecodeError> => {
  const entries: Array<ManifestEntry> = []
  const core = new Codec.DecoderCore((e) => {
    entries.push(e)
  })
  core.push(bytes)
  const p = core.finish()
  if (p !== undefined) return Result.fail(new ManifestDecodeError(p))
  const s = core.summary()
  return Result.succeed({
    blobKey: s.blobKey,
    chunker: s.chunker,
    createdAt: s.createdAt,
    attributes: s.attributes,
    entries
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Incremental codec

/**
 * A single-pass manifest encoder with O(1) state (running CRC, entry count, offset). Call {@link Encoder.begin}
 * once, then {@link Encoder.entry} / {@link Encoder.entries} per block in order, then {@link Encoder.end} once; the
 * concatenation of the returned chunks equals {@link encode} of the same manifest. Invalid input yields an
 * {@link InvalidManifest} and leaves the encoder state unchanged. Calling the methods out of order is a programming
 * error and throws.
 */
export interface Encoder {
  /** Writes the header. */
  begin(header: ManifestHeader): Result.Result<Uint8Array, InvalidManifest>
  /** Writes the next block's entry (index and offset are computed). */
  entry(blockKey: BinaryKey.BinaryKey): Result.Result<Uint8Array, InvalidManifest>
  /** Writes several entries at once (one allocation); all or nothing. */
  entries(blockKeys: ReadonlyArray<BinaryKey.BinaryKey>): Result.Result<Uint8Array, InvalidManifest>
  /** Writes the end tag and trailer; `blobKey.size` must equal the sum of the block sizes. */
  end(blobKey: BinaryKey.BinaryKey): Result.Result<Uint8Array, InvalidManifest>
  /** Entries written so far. */
  readonly count: number
  /** Sum of the block sizes written so far. */
  readonly size: number
}

/** A fresh {@link Encoder}. */
export const makeEncoder = (): Encoder => {
  let phase: 0 | 1 | 2 = 0
  let crc = 0
  let count = 0
  let offset = 0
  const emit = (bytes: Uint8Array): Result.Result<Uint8Array, InvalidManifest> => {
    crc = Codec.crc32(bytes, crc)
    return Result.succeed(bytes)
  }
  const requirePhase = (want: 0 | 1, method: string) => {
    if (phase !== want) {
      throw new Error(
        `Manifest encoder: ${method}() called ${phase === 0 ? "before begin()" : phase === 1 ? "twice" : "after end()"}`
      )
    }
  }
  const checkEntry = (key: BinaryKey.BinaryKey, index: number, at: number): InvalidManifest | undefined => {
    const kp = checkKeyValue(key)
    if (kp !== undefined) return new InvalidManifest({ reason: "InvalidKey", message: `entry ${index}: ${kp}` })
    const sp = Codec.checkBlockSize(key.size)
    if (sp !== undefined) return new InvalidManifest({ reason: sp.reason, message: `entry ${index}: ${sp.message}` })
    if (index >= Codec.maxEntries) {
      return new InvalidManifest({ reason: "TooManyEntries", message: `more than ${Codec.maxEntries} entries` })
    }
    if (at + key.size > Codec.maxBlobSize) {
      return new InvalidManifest({ reason: "BlobTooLarge", message: `blocks exceed ${Codec.maxBlobSize} bytes` })
    }
    return undefined
  }
  const writeEntries = (keys: ReadonlyArray<BinaryKey.BinaryKey>): Result.Result<Uint8Array, InvalidManifest> => {
    requirePhase(1, "entry")
    let length = 0
    let at = offset
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const problem = checkEntry(key, count + i, at)
      if (problem !== undefined) return Result.fail(problem)
      length += Codec.entryLength(key, at)
      at += key.size
    }
    const out = new Uint8Array(length)
    let p = 0
    for (const key of keys) {
      p = Codec.writeEntry(out, p, key, offset)
      offset += key.size
    }
    count += keys.length
    return emit(out)
  }
  return {
    begin(h) {
      if (phase !== 0) requirePhase(0, "begin")
      const r = Codec.encodeHeader(h)
      if (Result.isFailure(r)) return Result.fail(invalid(r.failure))
      phase = 1
      return emit(r.success)
    },
    entry: (key) => writeEntries([key]),
    entries: writeEntries,
    end(blobKey) {
      requirePhase(1, "end")
      const kp = checkKeyValue(blobKey)
      if (kp !== undefined) return invalidR("InvalidKey", `blob key: ${kp}`)
      if (blobKey.size !== offset) {
        return invalidR("BlobSizeMismatch", `blob key size ${blobKey.size} differs from the block sizes' sum ${offset}`)
      }
      const out = new Uint8Array(Codec.trailerLength(count, blobKey))
      const p = Codec.writeTrailerBody(out, 0, count, blobKey)
      Codec.writeU32(out, p, Codec.crc32(out.subarray(0, p), crc))
      phase = 2
      return Result.succeed(out)
    },
    get count() {
      return count
    },
    get size() {
      return offset
    }
  }
}

/**
 * An incremental decoder: feed arbitrary slices with {@link Decoder.push}, then call {@link Decoder.finish}. The
 * result (entries, summary or error, including its reason and offset) does not depend on how the input was sliced
 * and equals {@link decode} of the concatenation. Memory: O(1) beyond one partial record (< 8 KiB).
 */
export interface Decoder {
  /**
   * Consumes `bytes`; returns the entries completed by them (possibly none). After a failure every call returns
   * the same error. Entries are provisional until {@link Decoder.finish} succeeds (the trailer and CRC come last).
   */
  push(bytes: Uint8Array): Result.Result<ReadonlyArray<ManifestEntry>, ManifestDecodeError>
  /** Ends the input: the summary when a complete, valid manifest was read, else the error (e.g. `Truncated`). */
  finish(): Result.Result<ManifestSummary, ManifestDecodeError>
  /** The header, once it has been read completely. */
  readonly header: ManifestHeader | undefined
  /** Bytes pushed so far. */
  readonly bytesRead: number
}

/** A fresh {@link Decoder}. */
export const makeDecoder = (): Decoder => {
  let batch: Array<ManifestEntry> = []
  const core = new Codec.DecoderCore((e) => {
    batch.push(e)
  })
  let error: ManifestDecodeError | undefined
  const failWith = (): Result.Result<never, ManifestDecodeError> => {
    error ??= new ManifestDecodeError(core.problem!)
    return Result.fail(error)
  }
  let header: ManifestHeader | undefined
  return {
    push(bytes) {
      if (core.problem !== undefined) return failWith()
      batch = []
      core.push(bytes)
      if (core.problem !== undefined) return failWith()
      return Result.succeed(batch)
    },
    finish() {
      if (core.finish() !== undefined) return failWith()
      return Result.succeed(core.summary())
    },
    get header() {
      if (header === undefined && core.headerComplete) {
        header = { chunker: core.chunker, createdAt: core.createdAt, attributes: core.attributes }
      }
      return header
    },
    get bytesRead() {
      return core.bytesSeen
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Effect Stream forms

/**
 * Encodes a manifest as a byte stream in one pass: the header first, then one chunk per array of block keys pulled
 * from `blocks`, then — after `blocks` ended — the trailer, for which `blobKey` is evaluated (so it may read a
 * hasher that saw the whole blob). The concatenated output equals {@link encode} of the same manifest. Fails with
 * {@link InvalidManifest} as soon as an input breaks an invariant (bad header, block size, too many blocks, blob
 * key size ≠ sum of block sizes).
 */
export const encodeStream = <E, R, E2 = never, R2 = never>(
  header: ManifestHeader,
  blocks: Stream.Stream<BinaryKey.BinaryKey, E, R>,
  blobKey: Effect.Effect<BinaryKey.BinaryKey, E2, R2>
): Stream.Stream<Uint8Array, InvalidManifest | E | E2, R | R2> =>
  Stream.suspend(() => {
    const enc = makeEncoder()
    return Stream.fromEffect(Effect.suspend(() => Effect.fromResult(enc.begin(header)))).pipe(
      Stream.concat(
        blocks.pipe(
          Stream.mapArrayEffect((keys) => Effect.map(Effect.fromResult(enc.entries(keys)), (b) => [b] as const))
        )
      ),
      Stream.concat(Stream.fromEffect(Effect.flatMap(blobKey, (k) => Effect.fromResult(enc.end(k)))))
    )
  })

/**
 * Decodes an encoded manifest from a byte stream of arbitrary slicing, emitting entries as their records complete.
 * Fails with {@link ManifestDecodeError} as soon as the bytes are invalid, and at the end when the input is
 * truncated or the trailer (count, blob size, CRC) does not validate — so a consumer must not act irrevocably on
 * entries before the stream completed. Memory O(1) beyond one partial record.
 */
export const decodeStream = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<ManifestEntry, E | ManifestDecodeError, R> =>
  Stream.suspend(() => {
    const dec = makeDecoder()
    return bytes.pipe(
      Stream.mapEffect((chunk) => Effect.fromResult(dec.push(chunk))),
      Stream.flattenIterable,
      Stream.concat(Stream.fromEffect(Effect.suspend(() => Effect.fromResult(dec.finish()))).pipe(Stream.drain))
    )
  })
