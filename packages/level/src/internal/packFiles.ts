/**
 * Append-only pack files: the byte side of the key/value-separated block store (LevelDB holds the index).
 *
 * A pack is `packs/<8 hex digits>.pack`: a 16-byte file header (`GRAVPACK`, format version, pack id) followed by
 * records, each
 *
 * ```
 * 0   magic "GPKR"
 * 4   flags              u8      (format 2: 1; format 1: 0)
 * 5   key length         u8      (the block key text, ≤ 128 bytes)
 * 6   reserved (0)       u16
 * 8   data length        u32 BE
 * 12  CRC-32             u32 BE  format 2: over bytes 4..12 and the key; format 1: and the data too (zlib.crc32)
 * 16  key, then data
 * ```
 *
 * so recovery can tell a complete record from a torn one, and compaction can tell which block a record holds.
 *
 * Format 2 does not CRC the data: the key is the block's content digest, so a record's data is checked against its
 * key instead (size and digest) wherever a check is asked for — recovery scans, compaction, `verify`. That check is
 * stronger than a CRC and keeps checksumming off the write path, where it cost an eighth of the ingest thread.
 * Format 1 packs (written before) are still read and checked with their CRC; a store opened on a format 1 active
 * pack seals it and appends to a new format 2 pack, so a pack never mixes formats.
 *
 * Writers reserve space synchronously (so concurrent groups get disjoint ranges in one pack) and write with
 * positional `writev`, so groups are written in parallel. A {@link PackFiles.sync} makes everything reserved before it
 * durable (it waits for the writes in flight, then fdatasyncs), so no hole can ever lie below the durable watermark
 * it returns. When the active pack would grow past
 * `maxPackSize` a new one is created and the old one is sealed (its writes drained, fdatasync'd, closed for writing).
 *
 * This module is plain async code over raw file descriptors; the ports wrap it in Effects and map its errors
 * through `LevelError.fromDriver`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { BinaryKey, Hashing } from "@graviton/core"

export const FILE_HEADER = 16
export const RECORD_HEADER = 16
const FILE_MAGIC = Buffer.from("GRAVPACK", "latin1")
const RECORD_MAGIC = Buffer.from("GPKR", "latin1")
export const FORMAT_VERSION = 2
/** Pack formats this build reads (it writes {@link FORMAT_VERSION}). */
const READABLE_VERSIONS: ReadonlySet<number> = new Set([1, 2])
/** The record flags of each pack format. */
const flagsOf = (version: number): number => (version === 1 ? 0 : 1)
/** Largest write submitted at once; bigger groups are split. */
const MAX_WRITE = 64 * 1024 * 1024

/** Where a record lives. */
export interface Location {
  readonly pack: number
  readonly offset: number
  /** Whole record length (header + key + data). */
  readonly length: number
}

/** A durable position: every byte of packs below `pack`, and of `pack` below `offset`, is fsync'd. */
export interface Watermark {
  readonly pack: number
  readonly offset: number
}

/** A record to append. */
export interface NewRecord {
  readonly key: string
  readonly data: Uint8Array
}

/** A pack failure with a code `LevelError.fromDriver` understands. */
export class PackError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = "PackError"
  }
}

const corrupt = (message: string) => new PackError("LEVEL_CORRUPTION", message)

// ---------------------------------------------------------------------------------------------------------------
// promisified fd calls
// ---------------------------------------------------------------------------------------------------------------

const writev = (fd: number, buffers: ReadonlyArray<Uint8Array>, position: number): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.writev(fd, buffers as Array<NodeJS.ArrayBufferView>, position, (err, n) => (err ? reject(err) : resolve(n)))
  )
const pread = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))
  )
const fdatasync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())))
const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())))
const closeFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())))
const ftruncate = (fd: number, len: number): Promise<void> =>
  new Promise((resolve, reject) => fs.ftruncate(fd, len, (err) => (err ? reject(err) : resolve())))

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
const readFully = async (fd: number, length: number, position: number): Promise<Buffer> => {
  // never from Buffer's shared pool: the data part is handed to callers, who own it
  const buf = Buffer.allocUnsafeSlow(length)
  let got = 0
  while (got < length) {
    const n = await pread(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got === length ? buf : buf.subarray(0, got)
}

const writeFully = async (fd: number, buffers: ReadonlyArray<Uint8Array>, position: number): Promise<void> => {
  let total = 0
  for (const b of buffers) total += b.byteLength
  let done = await writev(fd, buffers, position)
  while (done < total) {
    // a short write: continue from where it stopped
    const rest: Array<Uint8Array> = []
    let skip = done
    for (const b of buffers) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength
        continue
      }
      rest.push(skip > 0 ? b.subarray(skip) : b)
      skip = 0
    }
    const n = await writev(fd, rest, position + done)
    if (n === 0) throw new PackError("EIO", "pack write made no progress")
    done += n
  }
}

/** Fsyncs a directory so a created or removed file name is durable. */
export const syncDirectory = async (dir: string): Promise<void> => {
  const fd = fs.openSync(dir, "r")
  try {
    await fsyncFd(fd)
  } finally {
    fs.closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// record codec
// ---------------------------------------------------------------------------------------------------------------

/** The CRC of a record: header bytes 4..12 and the key, then the data when `data` is given (format 1). */
const crcOf = (header: Uint8Array, key: Uint8Array, data?: Uint8Array): number => {
  const c = zlib.crc32(key, zlib.crc32(header.subarray(4, 12)))
  return (data === undefined ? c : zlib.crc32(data, c)) >>> 0
}

/** The header + key bytes of a record of the current format (the data follows, not covered by the CRC). */
export const encodeRecordHead = (key: Uint8Array, data: Uint8Array): Buffer => {
  const head = Buffer.alloc(RECORD_HEADER + key.byteLength)
  RECORD_MAGIC.copy(head, 0)
  head[4] = flagsOf(FORMAT_VERSION)
  head[5] = key.byteLength
  head.writeUInt32BE(data.byteLength, 8)
  head.set(key, RECORD_HEADER)
  head.writeUInt32BE(crcOf(head, key), 12)
  return head
}

/** A decoded record header. */
export interface RecordHead {
  readonly flags: number
  readonly keyLength: number
  readonly dataLength: number
  readonly crc: number
}

/** Parses a record header of a pack of format `version`; `undefined` when the bytes are not one. */
export const decodeRecordHead = (b: Uint8Array, version: number = FORMAT_VERSION): RecordHead | undefined => {
  if (b.byteLength < RECORD_HEADER) return undefined
  for (let i = 0; i < 4; i++) if (b[i] !== RECORD_MAGIC[i]) return undefined
  if (b[4] !== flagsOf(version) || b[6] !== 0 || b[7] !== 0) return undefined
  const keyLength = b[5]!
  if (keyLength === 0) return undefined
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return { flags: b[4]!, keyLength, dataLength: v.readUInt32BE(8), crc: v.readUInt32BE(12) }
}

/**
 * Whether a whole record buffer (header + key + data) checks out: its CRC, and — in format 2, where the CRC does
 * not cover the data — the data's size and digest against the block key the record carries.
 */
export const recordChecks = (record: Uint8Array, head: RecordHead): boolean => {
  const key = record.subarray(RECORD_HEADER, RECORD_HEADER + head.keyLength)
  const data = record.subarray(RECORD_HEADER + head.keyLength, RECORD_HEADER + head.keyLength + head.dataLength)
  if (head.flags === 0) return crcOf(record, key, data) === head.crc
  if (crcOf(record, key) !== head.crc) return false
  const parsed = BinaryKey.parse(utf8Decoder.decode(key))
  if (parsed._tag === "Failure" || parsed.success.size !== data.byteLength) return false
  return Hashing.digestHex(parsed.success.algorithm, data) === parsed.success.digest
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

// ---------------------------------------------------------------------------------------------------------------
// packs
// ---------------------------------------------------------------------------------------------------------------

export const packName = (id: number): string => `${id.toString(16).padStart(8, "0")}.pack`

const parsePackName = (name: string): number | undefined => {
  const m = /^([0-9a-f]{8})\.pack$/.exec(name)
  return m === null ? undefined : Number.parseInt(m[1]!, 16)
}

interface Pack {
  readonly id: number
  readonly file: string
  /** Its format (from the file header): what its records look like. */
  version: number
  /** End of reserved space (= file size once writes complete). */
  size: number
  /** Read/write fd while active, read-only fd (cached) once sealed, or undefined. */
  fd: number | undefined
  writable: boolean
  /** Reads in progress on `fd` (an fd is closed only when unpinned). */
  pins: number
  /** Writes in progress, by start offset (settled promises, never rejecting). */
  readonly inflight: Map<number, Promise<void>>
  /** Removed by compaction: close the descriptor when the last read unpins it. */
  removed: boolean
  /** When the pack was last used for reading (fd cache LRU). */
  lastUsed: number
}

export interface PackFilesOptions {
  /** Directory holding the pack files (created if absent). */
  readonly dir: string
  /** Size after which the active pack is sealed and a new one started. */
  readonly maxPackSize: number
  /** Read-only descriptors of sealed packs kept open (LRU). */
  readonly maxOpenPacks: number
  /**
   * Start a background fdatasync of the active pack after this many bytes were appended (default 8 MiB; 0: never),
   * so dirty pages are written back while ingest goes on and the fsync of a commit has little left to do. In one
   * process, alternating, 8 MiB against 64 MiB: the releases on level 506 → 564 MiB/s, 512 MiB of random data
   * 495 → 517 (2 MiB measured the same as 8, 16 MiB half-way).
   */
  readonly flushBytes?: number | undefined
}

/** Events reported to the owner (metrics). */
export interface PackEvents {
  readonly onSync?: (seconds: number) => void
  readonly onRoll?: (sealed: number) => void
}

export class PackFiles {
  readonly dir: string
  readonly options: PackFilesOptions
  private readonly packs = new Map<number, Pack>()
  private active: Pack
  private durable: Watermark
  private readonly background = new Set<Promise<void>>()
  private syncRunning: Promise<Watermark> | undefined
  private syncQueued: Promise<Watermark> | undefined
  private lastRoll: Promise<void> = Promise.resolve()
  private closed = false
  /** Bytes appended since the last background flush was started. */
  private unflushed = 0
  /** A failed fsync: every later sync fails with it (the kernel may have dropped the pages it could not write). */
  private flushError: unknown
  private useClock = 0
  events: PackEvents = {}

  private constructor(options: PackFilesOptions, packs: ReadonlyArray<Pack>, active: Pack, durable: Watermark) {
    this.dir = options.dir
    this.options = options
    for (const p of packs) this.packs.set(p.id, p)
    this.active = active
    this.durable = durable
  }

  /**
   * Opens the pack directory: lists the packs, checks their file headers, and opens (or creates) the active one,
   * the highest-numbered pack. Tails are not trusted yet: the owner scans them with {@link scan} from its durable
   * watermark and cuts torn records with {@link truncate}.
   */
  static async open(options: PackFilesOptions): Promise<PackFiles> {
    await fs.promises.mkdir(options.dir, { recursive: true })
    const names = await fs.promises.readdir(options.dir)
    const packs: Array<Pack> = []
    for (const name of names) {
      const id = parsePackName(name)
      if (id === undefined) continue
      const file = path.join(options.dir, name)
      const st = await fs.promises.stat(file)
      packs.push(makePack(id, file, st.size))
    }
    packs.sort((a, b) => a.id - b.id)
    for (const p of packs) {
      if (p.size < FILE_HEADER) {
        // created but its header never made it to disk: an empty pack
        const fd = fs.openSync(p.file, "r+")
        try {
          fs.writeSync(fd, fileHeader(p.id), 0, FILE_HEADER, 0)
          fs.ftruncateSync(fd, FILE_HEADER)
          fs.fsyncSync(fd)
        } finally {
          fs.closeSync(fd)
        }
        p.size = FILE_HEADER
      } else {
        const fd = fs.openSync(p.file, "r+")
        try {
          const h = Buffer.alloc(FILE_HEADER)
          fs.readSync(fd, h, 0, FILE_HEADER, 0)
          if (h.every((x) => x === 0)) {
            // the header of a pack created just before a crash never reached the disk: write it again (its records,
            // if any reached the disk, are checked by the recovery scan like any other tail)
            fs.writeSync(fd, fileHeader(p.id), 0, FILE_HEADER, 0)
            fs.fsyncSync(fd)
            continue
          }
          if (!h.subarray(0, 8).equals(FILE_MAGIC)) throw corrupt(`${p.file} is not a Graviton pack file`)
          const version = h.readUInt32BE(8)
          if (!READABLE_VERSIONS.has(version)) {
            throw new PackError(
              "LEVEL_NOT_SUPPORTED",
              `${p.file} has pack format ${version}; this build reads ${[...READABLE_VERSIONS].join(" and ")}`
            )
          }
          p.version = version
          if (h.readUInt32BE(12) !== p.id) throw corrupt(`${p.file} carries pack id ${h.readUInt32BE(12)}`)
        } finally {
          fs.closeSync(fd)
        }
      }
    }
    let active = packs[packs.length - 1]
    if (active === undefined || active.version !== FORMAT_VERSION) {
      // none yet, or one of an older format: never append records of one format to a pack of another (a format 1
      // pack is sealed as it is; recovery still scans and cuts its tail)
      active = createPack(options.dir, (active?.id ?? 0) + 1)
      packs.push(active)
      await syncDirectory(options.dir)
    } else {
      active.fd = fs.openSync(active.file, "r+")
      active.writable = true
    }
    const store = new PackFiles(options, packs, active, { pack: active.id, offset: FILE_HEADER })
    return store
  }

  /** Ids of all packs, ascending. */
  ids(): ReadonlyArray<number> {
    return [...this.packs.keys()].sort((a, b) => a - b)
  }

  /** The pack being appended to. */
  activeId(): number {
    return this.active.id
  }

  /** Current size of a pack (reserved end), or undefined when it does not exist. */
  sizeOf(id: number): number | undefined {
    return this.packs.get(id)?.size
  }

  /** Total bytes of all packs. */
  totalBytes(): number {
    let n = 0
    for (const p of this.packs.values()) n += p.size
    return n
  }

  /** The durable watermark reached by the last {@link sync}. */
  durableMark(): Watermark {
    return this.durable
  }

  /** Sets the durable watermark known from the database (on open). */
  setDurableMark(mark: Watermark): void {
    this.durable = mark
  }

  // -------------------------------------------------------------------------------------------------------------
  // writing
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Appends records; resolves with their locations, in input order, once the bytes are written (not yet fsync'd —
   * see {@link sync}). A pack only grows past `maxPackSize` by a single record larger than the remaining space.
   */
  async append(records: ReadonlyArray<NewRecord>): Promise<Array<Location>> {
    this.assertOpen()
    const out: Array<Location> = []
    const writes: Array<Promise<void>> = []
    // Reserve every record now (synchronously, so the records of one call are contiguous in their pack), rolling
    // to a new pack when a record would not fit; consecutive records of one pack form one positional writev.
    let group: { pack: Pack; start: number; bytes: number; buffers: Array<Uint8Array> } | undefined
    const submit = () => {
      if (group !== undefined) writes.push(this.writeAt(group.pack, group.buffers, group.start))
      group = undefined
    }
    for (const r of records) {
      const key = utf8.encode(r.key)
      const len = RECORD_HEADER + key.byteLength + r.data.byteLength
      const pack = this.reserveIn(len)
      if (group !== undefined && (group.pack !== pack || group.bytes + len > MAX_WRITE)) submit()
      if (group === undefined) group = { pack, start: pack.size, bytes: 0, buffers: [] }
      out.push({ pack: pack.id, offset: pack.size, length: len })
      pack.size += len
      group.bytes += len
      group.buffers.push(encodeRecordHead(key, r.data), r.data)
    }
    submit()
    const flushBytes = this.options.flushBytes ?? 8 * 1024 * 1024
    if (flushBytes > 0) {
      this.unflushed += out.reduce((n, l) => n + l.length, 0)
      if (this.unflushed >= flushBytes) {
        this.unflushed = 0
        // after these writes land: a sync waits for the writes in flight when it starts
        void Promise.allSettled(writes)
          .then(() => this.sync())
          .catch(() => undefined)
      }
    }
    await Promise.all(writes)
    return out
  }

  private writeAt(pack: Pack, buffers: ReadonlyArray<Uint8Array>, start: number): Promise<void> {
    const write = writeFully(pack.fd!, buffers, start)
    const settled = write.then(
      () => undefined,
      () => undefined
    )
    pack.inflight.set(start, settled)
    void settled.then(() => pack.inflight.delete(start))
    return write
  }

  /** The active pack, rolled over first when `bytes` would not fit. */
  private reserveIn(bytes: number): Pack {
    const a = this.active
    if (a.size > FILE_HEADER && a.size + bytes > this.options.maxPackSize) this.roll()
    return this.active
  }

  private roll(): void {
    const old = this.active
    const next = createPack(this.dir, old.id + 1)
    this.packs.set(next.id, next)
    this.active = next
    // seals run one after another, so when one completes every older pack is sealed too (the watermark the owner
    // records on `onRoll` then covers all of them)
    const previous = this.lastRoll
    const task = (async () => {
      await previous.catch(() => undefined)
      try {
        await fdatasync(next.fd!)
        await syncDirectory(this.dir)
        await drain(old)
        await fdatasync(old.fd!)
      } catch (e) {
        this.flushError ??= e
        throw e
      }
      await this.seal(old)
      this.events.onRoll?.(old.id)
    })()
    this.lastRoll = task
    this.track(task)
  }

  private async seal(pack: Pack): Promise<void> {
    pack.writable = false
    if (pack.fd !== undefined && pack.pins === 0) {
      const fd = pack.fd
      pack.fd = undefined
      await closeFd(fd)
    }
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.background.delete(tracked))
    // failures surface to the next sync(), which awaits every background task
    tracked.catch(() => {})
    this.background.add(tracked)
  }

  /**
   * Makes every byte appended before the call durable: waits for sealed packs' fsyncs, waits for the writes in flight in the
   * active pack, fdatasyncs it, and returns the new durable watermark. Concurrent calls share fsyncs (group commit): a
   * call arriving while an fsync runs waits for the next one, which covers everyone who arrived meanwhile.
   */
  sync(): Promise<Watermark> {
    this.assertOpen()
    if (this.syncRunning === undefined) {
      this.syncRunning = this.runSync().finally(() => {
        this.syncRunning = undefined
      })
      return this.syncRunning
    }
    if (this.syncQueued === undefined) {
      const after = this.syncRunning.catch(() => undefined)
      this.syncQueued = after.then(() => {
        this.syncQueued = undefined
        return this.sync()
      })
    }
    return this.syncQueued
  }

  private async runSync(): Promise<Watermark> {
    if (this.flushError !== undefined) throw this.flushError
    const started = performance.now()
    // Everything reserved before this point becomes durable: packs older than `a` are sealed by background tasks
    // that already exist, and the writes in flight in `a` are awaited, so no hole can lie below the mark.
    const a = this.active
    const end = a.size
    const pending = [...a.inflight.values()]
    await Promise.all([...this.background])
    await Promise.all(pending)
    try {
      await fdatasync(a.fd!)
    } catch (e) {
      // after a failed fsync the kernel may have dropped the dirty pages: never report durability again
      this.flushError ??= e
      throw e
    }
    const mark = { pack: a.id, offset: end }
    if (mark.pack > this.durable.pack || (mark.pack === this.durable.pack && mark.offset > this.durable.offset)) {
      this.durable = mark
    }
    this.events.onSync?.((performance.now() - started) / 1000)
    return this.durable
  }

  /** Waits until writes in flight at the time of the call have completed. */
  async drainWrites(): Promise<void> {
    await Promise.all([...this.packs.values()].flatMap((p) => [...p.inflight.values()]))
  }

  // -------------------------------------------------------------------------------------------------------------
  // reading
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Reads the record at `loc`, checks that it is a well-formed record for `key` of the expected length (and its
   * checksums when `verifyCrc`: see {@link recordChecks}), and returns its data (a fresh buffer the caller owns).
   * Throws a `PackError` with code `LEVEL_CORRUPTION` when the bytes there are not that record.
   */
  async read(loc: Location, key: string, verifyCrc: boolean): Promise<Uint8Array> {
    const [data] = await this.readRun([{ loc, key }], verifyCrc)
    return data!
  }

  /**
   * {@link read} for records that lie back to back in one pack (each `loc` starts where the previous one ends), with
   * a single positional read. Returns each record's data, in order: views of one fresh buffer the caller owns.
   */
  async readRun(
    records: ReadonlyArray<{ readonly loc: Location; readonly key: string }>,
    verifyCrc: boolean
  ): Promise<Array<Uint8Array>> {
    this.assertOpen()
    const first = records[0]!.loc
    let length = 0
    for (const { loc } of records) {
      if (loc.pack !== first.pack || loc.offset !== first.offset + length) {
        throw new PackError("EINVAL", "readRun needs records that lie back to back in one pack")
      }
      length += loc.length
    }
    const pack = this.packs.get(first.pack)
    if (pack === undefined) throw new PackError("ENOENT", `pack ${packName(first.pack)} does not exist`)
    const fd = this.pin(pack)
    let buf: Buffer
    try {
      buf = await readFully(fd, length, first.offset)
    } finally {
      this.unpin(pack)
    }
    let at = 0
    return records.map(({ loc, key }) => {
      const record = buf.subarray(at, at + loc.length)
      at += loc.length
      const head = decodeRecordHead(record, pack.version)
      const keyBytes = utf8.encode(key)
      if (
        head === undefined ||
        record.byteLength !== loc.length ||
        head.keyLength !== keyBytes.byteLength ||
        RECORD_HEADER + head.keyLength + head.dataLength !== loc.length ||
        !record.subarray(RECORD_HEADER, RECORD_HEADER + head.keyLength).equals(keyBytes)
      ) {
        throw corrupt(`pack ${packName(loc.pack)} at ${loc.offset} does not hold the record of ${key}`)
      }
      if (verifyCrc && !recordChecks(record, head)) {
        throw corrupt(`pack ${packName(loc.pack)} at ${loc.offset}: checksum mismatch for ${key}`)
      }
      // a plain Uint8Array (not a Buffer, whose `slice` does not copy): callers may keep, copy or mutate it
      return new Uint8Array(record.buffer, record.byteOffset + RECORD_HEADER + head.keyLength, head.dataLength)
    })
  }

  private pin(pack: Pack): number {
    pack.pins++
    pack.lastUsed = ++this.useClock
    if (pack.fd === undefined) {
      try {
        pack.fd = fs.openSync(pack.file, "r")
      } catch (e) {
        pack.pins--
        throw e
      }
      this.evictReaders()
    }
    return pack.fd
  }

  private unpin(pack: Pack): void {
    pack.pins--
    if (pack.pins === 0 && pack.removed && pack.fd !== undefined) {
      const fd = pack.fd
      pack.fd = undefined
      fs.close(fd, () => {})
    }
  }

  private evictReaders(): void {
    const open = [...this.packs.values()].filter((p) => p.fd !== undefined && !p.writable)
    if (open.length <= this.options.maxOpenPacks) return
    open.sort((a, b) => a.lastUsed - b.lastUsed)
    for (const p of open) {
      if (open.length <= this.options.maxOpenPacks) break
      if (p.pins > 0) continue
      const fd = p.fd!
      p.fd = undefined
      fs.close(fd, () => {})
      open.splice(open.indexOf(p), 1)
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // recovery and compaction support
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Walks the records of a pack from `from` (a record boundary) to its end. Yields each well-formed record (offset,
   * length, key, and — when `withData` — its data); stops at the first record that is torn or fails its CRC and
   * returns that offset as the valid end.
   */
  async *scan(
    id: number,
    from: number,
    withData = false
  ): AsyncGenerator<
    { readonly offset: number; readonly length: number; readonly key: string; readonly data?: Uint8Array },
    number
  > {
    const pack = this.packs.get(id)
    if (pack === undefined) return from
    const fd = this.pin(pack)
    try {
      const size = pack.size
      let off = Math.max(from, FILE_HEADER)
      while (off < size) {
        if (size - off < RECORD_HEADER) return off
        const headBytes = await readFully(fd, RECORD_HEADER, off)
        const head = decodeRecordHead(headBytes, pack.version)
        if (head === undefined) return off
        const length = RECORD_HEADER + head.keyLength + head.dataLength
        if (off + length > size) return off
        const rec = await readFully(fd, length, off)
        if (rec.byteLength !== length || !recordChecks(rec, head)) return off
        const key = utf8Decoder.decode(rec.subarray(RECORD_HEADER, RECORD_HEADER + head.keyLength))
        yield withData
          ? { offset: off, length, key, data: rec.subarray(RECORD_HEADER + head.keyLength) }
          : { offset: off, length, key }
        off += length
      }
      return off
    } finally {
      this.unpin(pack)
    }
  }

  /** Cuts a pack at `end` (dropping a torn tail) and makes the cut durable. */
  async truncate(id: number, end: number): Promise<void> {
    const pack = this.packs.get(id)
    if (pack === undefined || pack.size <= end) return
    const fd = fs.openSync(pack.file, "r+")
    try {
      await ftruncate(fd, end)
      await fsyncFd(fd)
    } finally {
      fs.closeSync(fd)
    }
    pack.size = end
  }

  /**
   * Deletes a sealed pack (after compaction moved its live records). Pending reads on it fail; callers re-resolve
   * the location through the index and retry.
   */
  async remove(id: number): Promise<void> {
    const pack = this.packs.get(id)
    if (pack === undefined) return
    if (pack === this.active) throw new PackError("EBUSY", "the active pack cannot be removed")
    this.packs.delete(id)
    pack.removed = true
    if (pack.fd !== undefined && pack.pins === 0) {
      const fd = pack.fd
      pack.fd = undefined
      await closeFd(fd)
    }
    await fs.promises.rm(pack.file, { force: true })
    await syncDirectory(this.dir)
  }

  /** Seals the active pack now and starts a new one (compaction never rewrites the pack it appends to). */
  rollNow(): void {
    if (this.active.size > FILE_HEADER) this.roll()
  }

  /** Waits for background seals, fsyncs the active pack, closes every descriptor. */
  async close(): Promise<void> {
    if (this.closed) return
    try {
      await this.sync()
    } finally {
      this.closed = true
      for (const p of this.packs.values()) {
        if (p.fd !== undefined) {
          const fd = p.fd
          p.fd = undefined
          await closeFd(fd).catch(() => {})
        }
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new PackError("LEVEL_DATABASE_NOT_OPEN", "the pack store is closed")
  }
}

const makePack = (id: number, file: string, size: number, version = FORMAT_VERSION): Pack => ({
  id,
  file,
  version,
  size,
  fd: undefined,
  writable: false,
  pins: 0,
  inflight: new Map(),
  removed: false,
  lastUsed: 0
})

const fileHeader = (id: number): Buffer => {
  const h = Buffer.alloc(FILE_HEADER)
  FILE_MAGIC.copy(h, 0)
  h.writeUInt32BE(FORMAT_VERSION, 8)
  h.writeUInt32BE(id, 12)
  return h
}

/** Creates a pack file with its header (synchronously: called while reserving space). */
const createPack = (dir: string, id: number): Pack => {
  const file = path.join(dir, packName(id))
  const fd = fs.openSync(file, "wx+")
  fs.writeSync(fd, fileHeader(id), 0, FILE_HEADER, 0)
  const p = makePack(id, file, FILE_HEADER)
  p.fd = fd
  p.writable = true
  return p
}

const drain = async (p: Pack): Promise<void> => {
  await Promise.all([...p.inflight.values()])
}
