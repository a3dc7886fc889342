/**
 * The raw baselines: hand-written, single-threaded loops doing what the engine does, with nothing of the project but
 * the Chunker.
 *
 * - {@link ceiling}: source → FastCDC → SHA-256 per block, nothing stored (the CPU ceiling).
 * - {@link ingest}: the same plus the whole-content SHA-256 (a blob key needs it), an in-process "already stored?"
 *   set, and the driver writing new blocks in batches of 64, one batch in flight while the next is cut.
 * - {@link readAll} / {@link readRange}: the driver reading back the same blocks (whole, or those a range touches).
 */
import { createHash } from "node:crypto"
import { rmSync } from "node:fs"
import { Chunker } from "@graviton/core"
import { ClassicLevel } from "classic-level"

/** A block as the raw pipeline stores it. */
export interface RawBlock {
  /** SHA-256 digest (32 bytes). */
  readonly digest: Uint8Array
  readonly bytes: Uint8Array
}

/** A storage driver used directly, without the project. */
export interface RawDriver {
  readonly name: string
  /** Writes blocks (all new). */
  readonly write: (blocks: ReadonlyArray<RawBlock>) => void | Promise<void>
  /** Makes everything written durable (once, at the end, like a commit). */
  readonly flush: () => Promise<void>
  /** Reads blocks by digest, in order. */
  readonly read: (digests: ReadonlyArray<Uint8Array>) => Promise<ReadonlyArray<Uint8Array>>
  /** Finishes background work the writes started (LevelDB compaction), outside any timed region. */
  readonly settle?: () => Promise<void>
  readonly close: () => Promise<void>
}

/** Where each block of an ingested blob lies (what a manifest would hold). */
export interface RawManifest {
  readonly digests: Array<Uint8Array>
  /** Start offset of each block, ascending; `offsets[n]` is the blob size. */
  readonly offsets: Array<number>
}

/** Folds every digest computed, so no hashing can be optimised away. */
let sink = 0

/** The fold of all digests computed so far (printed nowhere; it only keeps the work observable). */
export const checksum = (): number => sink

const hex = (d: Uint8Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("hex")

/** Source → chunk → SHA-256 per block; nothing stored. Returns the bytes seen. */
export const ceiling = (
  source: Iterable<Uint8Array>,
  params: Chunker.ValidParams = Chunker.defaults,
  options: { readonly wholeHash?: boolean } = {}
): number => {
  const chunker = Chunker.instantiate(params)
  const whole = options.wholeHash === true ? createHash("sha256") : undefined
  let bytes = 0
  for (const piece of source) {
    bytes += piece.byteLength
    whole?.update(piece)
    for (const b of chunker.push(piece)) sink ^= createHash("sha256").update(b).digest()[0]!
  }
  for (const b of chunker.finish()) sink ^= createHash("sha256").update(b).digest()[0]!
  if (whole !== undefined) sink ^= whole.digest()[0]!
  return bytes
}

/** Async-iterable variant of {@link ceiling} (file streams). */
export const ceilingAsync = async (
  source: AsyncIterable<Uint8Array>,
  params: Chunker.ValidParams = Chunker.defaults,
  options: { readonly wholeHash?: boolean; readonly chunk?: boolean } = {}
): Promise<number> => {
  const chunker = Chunker.instantiate(params)
  const whole = options.wholeHash === true ? createHash("sha256") : undefined
  const chunk = options.chunk ?? true
  let bytes = 0
  for await (const piece of source) {
    bytes += piece.byteLength
    whole?.update(piece)
    if (chunk) for (const b of chunker.push(piece)) sink ^= createHash("sha256").update(b).digest()[0]!
  }
  if (chunk) for (const b of chunker.finish()) sink ^= createHash("sha256").update(b).digest()[0]!
  if (whole !== undefined) sink ^= whole.digest()[0]!
  return bytes
}

/** The raw ingest pipeline into `driver`; returns the blob's manifest and key digest. */
export const ingest = async (
  source: Iterable<Uint8Array>,
  driver: RawDriver,
  params: Chunker.ValidParams = Chunker.defaults,
  /** Digests already in the driver (shared across blobs to deduplicate between them). */
  stored: Set<string> = new Set()
): Promise<{ readonly manifest: RawManifest; readonly digest: string; readonly size: number }> => {
  const chunker = Chunker.instantiate(params)
  const whole = createHash("sha256")
  const manifest: RawManifest = { digests: [], offsets: [] }
  let offset = 0
  let batch: Array<RawBlock> = []
  let inflight: Promise<void> = Promise.resolve()
  const flushBatch = async () => {
    await inflight
    inflight = Promise.resolve(driver.write(batch))
    batch = []
  }
  const add = async (bytes: Uint8Array) => {
    const digest = createHash("sha256").update(bytes).digest()
    manifest.digests.push(digest)
    manifest.offsets.push(offset)
    offset += bytes.byteLength
    const id = hex(digest)
    if (stored.has(id)) return
    stored.add(id)
    batch.push({ digest, bytes })
    if (batch.length === 64) await flushBatch()
  }
  for (const piece of source) {
    whole.update(piece)
    for (const b of chunker.push(piece)) await add(b)
  }
  for (const b of chunker.finish()) await add(b)
  if (batch.length > 0) await flushBatch()
  await inflight
  await driver.flush()
  manifest.offsets.push(offset)
  return { manifest, digest: whole.digest("hex"), size: offset }
}

/** Ingests blobs one after the other into one driver, deduplicating blocks across them. */
export const ingestMany = async (
  sources: ReadonlyArray<Iterable<Uint8Array>>,
  driver: RawDriver,
  params: Chunker.ValidParams = Chunker.defaults
): Promise<void> => {
  const stored = new Set<string>()
  for (const s of sources) await ingest(s, driver, params, stored)
}

/** Reads every block of the blob in order, `batch` blocks per driver call; returns the bytes read. */
export const readAll = async (driver: RawDriver, manifest: RawManifest, batch = 16): Promise<number> => {
  let bytes = 0
  for (let i = 0; i < manifest.digests.length; i += batch) {
    for (const b of await driver.read(manifest.digests.slice(i, i + batch))) bytes += b.byteLength
  }
  return bytes
}

/** Index of the block holding byte `at` (binary search over block offsets). */
const blockAt = (offsets: ReadonlyArray<number>, at: number): number => {
  let lo = 0
  let hi = offsets.length - 2
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (offsets[mid]! <= at) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** Reads bytes `[start, end)`: fetches the blocks they touch and slices. Returns the bytes fetched from the driver. */
export const readRange = async (
  driver: RawDriver,
  manifest: RawManifest,
  start: number,
  end: number
): Promise<{ readonly fetched: number; readonly bytes: Uint8Array }> => {
  const first = blockAt(manifest.offsets, start)
  const last = blockAt(manifest.offsets, end - 1)
  const blocks = await driver.read(manifest.digests.slice(first, last + 1))
  const out = new Uint8Array(end - start)
  let fetched = 0
  blocks.forEach((b, k) => {
    fetched += b.byteLength
    const at = manifest.offsets[first + k]!
    const from = Math.max(start, at)
    const to = Math.min(end, at + b.byteLength)
    out.set(b.subarray(from - at, to - at), from - start)
  })
  return { fetched, bytes: out }
}

/** A Map of copies: what a memory store must at least do. */
export const memoryDriver = (): RawDriver => {
  const map = new Map<string, Uint8Array>()
  return {
    name: "Map of copies",
    write: (blocks) => {
      for (const b of blocks) map.set(hex(b.digest), b.bytes.slice())
    },
    flush: async () => {},
    read: async (digests) => digests.map((d) => map.get(hex(d))!.slice()),
    close: async () => map.clear()
  }
}

/**
 * classic-level with block bytes as values under their digest: batches of puts (not synced), one synced write at
 * the end. Tuned as PERF-NOTES found best for 64 KiB values: 64 MiB write buffer and 64 MiB table files (with the
 * defaults it falls to ~68 MiB/s over 1 GiB), no Snappy (random data does not compress).
 */
export const levelDriver = async (path: string): Promise<RawDriver> => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, {
    keyEncoding: "view",
    valueEncoding: "view",
    writeBufferSize: 64 * 1024 * 1024,
    maxFileSize: 64 * 1024 * 1024,
    compression: false
  })
  await db.open()
  return {
    name: "classic-level batch",
    write: (blocks) => db.batch(blocks.map((b) => ({ type: "put" as const, key: b.digest, value: b.bytes }))),
    flush: () => db.put(new Uint8Array([0]), new Uint8Array([1]), { sync: true }),
    read: async (digests) => (await db.getMany(digests.slice())).map((v) => v!),
    // without this, compaction of the raw run's gigabyte keeps both cores busy while the next scenario is timed
    settle: () => db.compactRange(new Uint8Array([0]), new Uint8Array(33).fill(255)),
    close: async () => {
      await db.close()
      rmSync(path, { recursive: true, force: true })
    }
  }
}
