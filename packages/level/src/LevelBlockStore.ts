/**
 * The level `BlockStore`: block bytes in append-only pack files, indexed by LevelDB (key/value separation, as in
 * WiscKey). LevelDB only ever holds small rows, so its compactions never rewrite block bytes — the write
 * amplification that makes values-in-LevelDB fall from ~140 to ~55 MiB/s after a few hundred MiB does not arise.
 *
 * **Rows.** `b/<block key text>` → pack id, offset, record length, `touchedAt`; `l/<pack><offset>` → the key text
 * (the reverse index, used by recovery and compaction); `!/pack/<id>` → dead bytes of a pack.
 *
 * **Writes.** `put`/`putMany` lock their keys (exclusively, in sorted order), look them up, touch the present ones,
 * append the missing ones to the active pack with one positional `writev`, then write all index rows in one atomic
 * batch. The section after the lock is uninterruptible, so an interrupted put leaves a block whole or absent. Bytes
 * reach the kernel before the call returns (process-crash safe); when they reach the disk depends on
 * {@link LevelDatabase.Durability}: with `commit` (default) the ManifestStore commit fsyncs them before it
 * publishes (see {@link LevelBlocks.durablePoint}); with `write` every put fsyncs (group-committed).
 *
 * **Touches and GC.** `touchedAt` lives in the index row. A duplicate `put` and `hasMany(…, { touch: true })`
 * rewrite it under a shared key lock; `delete(…, { ifUntouchedSince })` checks and deletes under an exclusive key
 * lock, so a touch and a conditional delete of the same block are serialized: a delete never removes a block
 * touched after its cutoff. (LevelDB admits one process, so in-process locks are enough.)
 *
 * **Deletes and compaction.** `delete` removes the index rows and adds the record's bytes to its pack's dead count.
 * {@link LevelBlocks.compact} rewrites every sealed pack whose live fraction fell below the threshold: live records
 * are copied to the active pack (fsync'd before the index is redirected), then the old pack file is deleted. With
 * `autoCompact`, a background fiber does this whenever a delete makes a pack eligible.
 *
 * **Recovery.** On open, every record above the durable watermark (the last fsync'd pack position recorded in the
 * database) is re-read and CRC-checked; the pack is cut at the first torn record, index rows pointing past the cut
 * are removed, and records no index row points to are counted dead.
 *
 * @since 0.1.0
 */
import { BinaryKey } from "@graviton/core"
import { BlockStore, StorageError } from "@graviton/runtime"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import { KeyLocks } from "./internal/keyLocks.ts"
import * as Keys from "./internal/keys.ts"
import { FILE_HEADER, type Location, PackFiles, RECORD_HEADER, type Watermark } from "./internal/packFiles.ts"
import * as LevelDatabase from "./LevelDatabase.ts"
import * as LevelError from "./LevelError.ts"
import * as LevelMetrics from "./LevelMetrics.ts"

// ---------------------------------------------------------------------------------------------------------------
// rows
// ---------------------------------------------------------------------------------------------------------------

/** An index row: where a block's record is and when it was last written or touched. */
export interface BlockRow extends Location {
  readonly touchedAt: number
}

const ROW_LENGTH = 23
/** Largest positional read `getMany` makes for records lying back to back. */
const MAX_RUN = 4 * 1024 * 1024

const encodeRow = (row: BlockRow): Uint8Array => {
  const out = new Uint8Array(ROW_LENGTH)
  const v = new DataView(out.buffer)
  out[0] = 1
  v.setUint32(1, row.pack)
  Keys.writeU48(out, 5, row.offset)
  v.setUint32(11, row.length)
  v.setFloat64(15, row.touchedAt)
  return out
}

const decodeRow = (b: Uint8Array): BlockRow | undefined => {
  if (b.byteLength !== ROW_LENGTH || b[0] !== 1) return undefined
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return { pack: v.getUint32(1), offset: Keys.readU48(b, 5), length: v.getUint32(11), touchedAt: v.getFloat64(15) }
}

const blockKey = (text: string): Uint8Array => Keys.textKey(Keys.BLOCK, text)

const locationKey = (pack: number, offset: number): Uint8Array => {
  const out = new Uint8Array(Keys.LOCATION.prefix.byteLength + 10)
  out.set(Keys.LOCATION.prefix, 0)
  Keys.writeU32(out, Keys.LOCATION.prefix.byteLength, pack)
  Keys.writeU48(out, Keys.LOCATION.prefix.byteLength + 4, offset)
  return out
}

const locationPackPrefix = (pack: number): Uint8Array => {
  const out = new Uint8Array(Keys.LOCATION.prefix.byteLength + 4)
  out.set(Keys.LOCATION.prefix, 0)
  Keys.writeU32(out, Keys.LOCATION.prefix.byteLength, pack)
  return out
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const encodeLocationValue = (length: number, text: string): Uint8Array => {
  const t = utf8.encode(text)
  const out = new Uint8Array(4 + t.byteLength)
  Keys.writeU32(out, 0, length)
  out.set(t, 4)
  return out
}

interface LocationRow {
  readonly pack: number
  readonly offset: number
  readonly length: number
  readonly text: string
}

const decodeLocation = (key: Uint8Array, value: Uint8Array): LocationRow | undefined => {
  const p = Keys.LOCATION.prefix.byteLength
  if (key.byteLength !== p + 10 || value.byteLength < 5) return undefined
  return {
    pack: Keys.readU32(key, p),
    offset: Keys.readU48(key, p + 4),
    length: Keys.readU32(value, 0),
    text: utf8Decoder.decode(value.subarray(4))
  }
}

const statKey = (pack: number): Uint8Array => Keys.metaKey(`pack/${pack.toString(16).padStart(8, "0")}`)
const statPrefix = Keys.metaKey("pack/")

const statOp = (pack: number, dead: number): LevelDatabase.Op => {
  const value = new Uint8Array(6)
  Keys.writeU48(value, 0, dead)
  return { type: "put", key: statKey(pack), value }
}

const WATERMARK = "wm"

/** The watermark row: every pack byte below it was fsync'd. */
export const watermarkOp = (mark: Watermark): LevelDatabase.Op => {
  const value = new Uint8Array(10)
  Keys.writeU32(value, 0, mark.pack)
  Keys.writeU48(value, 4, mark.offset)
  return { type: "put", key: Keys.metaKey(WATERMARK), value }
}

const readWatermark = async (db: LevelDatabase.Db): Promise<Watermark | undefined> => {
  const v = await db.get(Keys.metaKey(WATERMARK))
  return v === undefined || v.byteLength !== 10 ? undefined : { pack: Keys.readU32(v, 0), offset: Keys.readU48(v, 4) }
}

const sameLocation = (a: Location, b: Location): boolean =>
  a.pack === b.pack && a.offset === b.offset && a.length === b.length

// ---------------------------------------------------------------------------------------------------------------
// public shapes
// ---------------------------------------------------------------------------------------------------------------

/** Space accounting of the pack files. */
export interface PackStats {
  readonly packs: number
  readonly activePack: number
  /** Bytes of all pack files. */
  readonly bytes: number
  /** Bytes of records no index row points to (deleted, superseded, orphaned by a crash). */
  readonly deadBytes: number
  /** Per pack: id, size, dead bytes, live fraction. */
  readonly perPack: ReadonlyArray<{
    readonly id: number
    readonly bytes: number
    readonly deadBytes: number
    readonly liveFraction: number
  }>
}

/** What a compaction did. */
export interface CompactionReport {
  /** Packs whose live records were copied out, then deleted. */
  readonly packsRewritten: number
  /** Packs deleted without copying (nothing live in them). */
  readonly packsDropped: number
  readonly bytesCopied: number
  readonly bytesReclaimed: number
}

/** What a full pack check found. */
export interface VerifyReport {
  readonly packs: number
  readonly records: number
  /** Index rows whose record is missing, torn, or fails its CRC. */
  readonly badRows: ReadonlyArray<string>
}

/** Recovery performed when the store was opened. */
export interface RecoveryReport {
  /** Bytes scanned above the durable watermark. */
  readonly scannedBytes: number
  /** Torn tail bytes cut off. */
  readonly truncatedBytes: number
  /** Index rows removed because they pointed into a cut tail. */
  readonly droppedRows: number
  /** Complete records that no index row points to (now counted dead). */
  readonly orphanBytes: number
}

/** The block store plus its maintenance operations. */
export interface LevelBlocks {
  readonly store: BlockStore.BlockStore
  /**
   * Makes every pack byte appended so far durable (group-committed fdatasync) and returns the rows that record the
   * new durable watermark; `ManifestStore.commit` runs it before its batch and adds the rows to it. Nothing to do
   * (no rows) with durability `none`.
   */
  readonly durablePoint: Effect.Effect<ReadonlyArray<LevelDatabase.Op>, StorageError.StorageError>
  /** Rewrites or drops sealed packs whose live fraction is below `threshold` (default: the configured one). */
  readonly compact: (options?: {
    readonly threshold?: number | undefined
  }) => Effect.Effect<CompactionReport, StorageError.StorageError>
  /** Space accounting (dead bytes as tracked; {@link recount} recomputes them exactly). */
  readonly stats: Effect.Effect<PackStats, StorageError.StorageError>
  /** Recomputes every pack's dead bytes from the index and persists them. */
  readonly recount: Effect.Effect<PackStats, StorageError.StorageError>
  /** Reads every indexed record and checks its header and CRC. */
  readonly verify: Effect.Effect<VerifyReport, StorageError.StorageError>
  /** What recovery did on open. */
  readonly recovery: RecoveryReport
}

// ---------------------------------------------------------------------------------------------------------------
// recovery
// ---------------------------------------------------------------------------------------------------------------

const recover = async (
  database: LevelDatabase.LevelDatabase,
  packs: PackFiles,
  dead: Map<number, number>
): Promise<RecoveryReport> => {
  const { db, metrics } = database
  const ids = packs.ids()
  const mark = (await readWatermark(db)) ?? { pack: ids[0] ?? 1, offset: FILE_HEADER }
  let scannedBytes = 0
  let truncatedBytes = 0
  let droppedRows = 0
  let orphanBytes = 0
  const ops: Array<LevelDatabase.Op> = []
  for (const id of ids) {
    if (id < mark.pack) continue
    const from = id === mark.pack ? Math.max(mark.offset, FILE_HEADER) : FILE_HEADER
    const size = packs.sizeOf(id) ?? FILE_HEADER
    if (from >= size) continue
    scannedBytes += size - from
    let orphans = 0
    const pending: Array<{ offset: number; length: number; key: string }> = []
    const flush = async () => {
      if (pending.length === 0) return
      const rows = await db.getMany(pending.map((r) => blockKey(r.key)))
      pending.forEach((r, i) => {
        const raw = rows[i]
        const row = raw === undefined ? undefined : decodeRow(raw)
        if (row === undefined || row.pack !== id || row.offset !== r.offset) orphans += r.length
      })
      pending.length = 0
    }
    const it = packs.scan(id, from)
    let step = await it.next()
    while (step.done !== true) {
      pending.push(step.value)
      if (pending.length >= 256) await flush()
      step = await it.next()
    }
    await flush()
    const end = step.value
    if (end < size) {
      await packs.truncate(id, end)
      truncatedBytes += size - end
      // index rows written for records past the cut point to bytes that never reached the disk
      const gone = await db.iterator({ gte: locationKey(id, end), lt: locationPackPrefix(id + 1) }).all()
      for (const [k, v] of gone) {
        const loc = decodeLocation(k, v)
        ops.push({ type: "del", key: k })
        if (loc === undefined) continue
        const fwd = await db.get(blockKey(loc.text))
        const row = fwd === undefined ? undefined : decodeRow(fwd)
        if (row !== undefined && row.pack === id && row.offset === loc.offset) {
          ops.push({ type: "del", key: blockKey(loc.text) })
          droppedRows++
        }
      }
    }
    if (orphans > 0) {
      orphanBytes += orphans
      const d = (dead.get(id) ?? 0) + orphans
      dead.set(id, d)
      ops.push(statOp(id, d))
    }
  }
  if (truncatedBytes > 0) metrics.increment(LevelMetrics.recoveryTruncatedBytes, truncatedBytes)
  if (database.options.durability !== "none" && (ops.length > 0 || scannedBytes > 0)) {
    const m = await packs.sync()
    ops.push(watermarkOp(m))
  }
  await LevelDatabase.writeBatch(db, metrics, "recovery", ops, database.syncMetadata)
  return { scannedBytes, truncatedBytes, droppedRows, orphanBytes }
}

const loadDead = async (db: LevelDatabase.Db): Promise<Map<number, number>> => {
  const out = new Map<number, number>()
  const rows = await db.iterator({ gte: statPrefix, lt: Keys.successor(statPrefix) }).all()
  for (const [k, v] of rows) {
    const id = Number.parseInt(utf8Decoder.decode(k.subarray(statPrefix.byteLength)), 16)
    if (Number.isFinite(id) && v.byteLength === 6) out.set(id, Keys.readU48(v, 0))
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// the store
// ---------------------------------------------------------------------------------------------------------------

/**
 * Opens the pack directory next to the database, runs recovery, and builds the BlockStore and its maintenance
 * operations. Pack descriptors are synced and closed when the scope ends (before the database closes). With
 * `autoCompact`, a background fiber in the scope compacts eligible packs after deletes.
 */
export const make = (
  database: LevelDatabase.LevelDatabase
): Effect.Effect<LevelBlocks, StorageError.StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const { db, options, metrics } = database
    const openOp = "LevelStore.open"
    const packs = yield* Effect.acquireRelease(
      database.use(openOp, () =>
        PackFiles.open({
          dir: database.packDir,
          maxPackSize: options.maxPackSize,
          maxOpenPacks: options.maxOpenPacks,
          // nothing is ever fsync'd with durability none: no background writeback either
          ...(options.durability === "none" ? { flushBytes: 0 } : {})
        })
      ),
      (p) => Effect.promise(() => p.close().catch(() => undefined))
    )
    packs.events = {
      onSync: (seconds) => {
        metrics.increment(LevelMetrics.packSyncs)
        metrics.observe(LevelMetrics.packSyncSeconds, seconds)
      },
      onRoll: (sealed) => {
        metrics.increment(LevelMetrics.packRolls)
        // the sealed pack is fsync'd: recovery never has to scan it again
        const next = packs.activeId()
        if (next > sealed && options.durability !== "none") {
          void LevelDatabase.writeBatch(
            db,
            metrics,
            "recovery",
            [watermarkOp({ pack: next, offset: FILE_HEADER })],
            false
          ).catch(() => undefined)
        }
      }
    }
    const dead = yield* database.use(openOp, () => loadDead(db))
    const recovery = yield* database.use(openOp, () => recover(database, packs, dead))
    // a clean close records where the packs end, so the next open has nothing to scan
    yield* Effect.addFinalizer(() =>
      options.durability === "none"
        ? Effect.void
        : Effect.tryPromise(async () => {
            const mark = await packs.sync()
            await LevelDatabase.writeBatch(db, metrics, "recovery", [watermarkOp(mark)], true)
          }).pipe(Effect.ignore)
    )

    const locks = new KeyLocks()
    // Puts between their pack append and their index write. Compaction and recount wait for the ones in flight when
    // they start: a record appended to a pack that was sealed a moment later must be indexed before anyone decides
    // which records of that pack are live.
    const appending = new Set<Promise<void>>()
    const appendBarrier = Effect.promise(() => Promise.all([...appending]))
    const tracked = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        let done!: () => void
        const p = new Promise<void>((resolve) => {
          done = resolve
        })
        appending.add(p)
        return Effect.ensuring(
          effect,
          Effect.sync(() => {
            appending.delete(p)
            done()
          })
        )
      })
    const statsLock = yield* Semaphore.make(1)
    const compactLock = yield* Semaphore.make(1)
    const wake = yield* Queue.dropping<void>(1)
    const syncBlocks = options.durability === "write"

    const gauges = () => {
      metrics.set(LevelMetrics.packFiles, packs.ids().length)
      metrics.set(LevelMetrics.packBytes, packs.totalBytes())
      let d = 0
      for (const v of dead.values()) d += v
      metrics.set(LevelMetrics.packDeadBytes, d)
    }
    gauges()

    const liveFraction = (id: number): number => {
      const size = packs.sizeOf(id) ?? FILE_HEADER
      const payload = size - FILE_HEADER
      if (payload <= 0) return 0
      return Math.max(0, payload - (dead.get(id) ?? 0)) / payload
    }
    const eligible = (id: number, threshold: number): boolean =>
      id !== packs.activeId() && threshold > 0 && liveFraction(id) < threshold

    const readRows = (
      operation: string,
      texts: ReadonlyArray<string>
    ): Effect.Effect<Array<BlockRow | undefined>, StorageError.StorageError> =>
      options.syncIndexReads
        ? Effect.try({
            try: () =>
              texts.map((t) => {
                const r = db.getSync(blockKey(t))
                return r === undefined ? undefined : decodeRow(r)
              }),
            catch: (cause) => LevelError.fromDriver(operation, cause)
          })
        : database.use(operation, async () => {
            const raw = await db.getMany(texts.map(blockKey))
            return raw.map((r) => (r === undefined ? undefined : decodeRow(r)))
          })

    const readData = (
      operation: string,
      text: string,
      row: BlockRow
    ): Effect.Effect<Uint8Array, StorageError.StorageError> =>
      database
        .use(operation, () => packs.read(row, text, options.verifyChecksums), text)
        .pipe(
          // compaction may have moved the record between the index read and the file read: look again, once
          Effect.catch((error) =>
            Effect.flatMap(readRows(operation, [text]), ([again]) =>
              again !== undefined && !sameLocation(again, row)
                ? database.use(operation, () => packs.read(again, text, options.verifyChecksums), text)
                : Effect.fail(error)
            )
          )
        )

    const touchOps = (texts: ReadonlyArray<string>, rows: ReadonlyArray<BlockRow | undefined>, now: number) => {
      const ops: Array<LevelDatabase.Op> = []
      rows.forEach((row, i) => {
        if (row !== undefined && row.touchedAt < now) {
          ops.push({ type: "put", key: blockKey(texts[i]!), value: encodeRow({ ...row, touchedAt: now }) })
        }
      })
      return ops
    }

    const putMany = (blocks: ReadonlyArray<BlockStore.BlockEntry>) =>
      Effect.gen(function* () {
        const operation = blocks.length === 1 ? "BlockStore.put" : "BlockStore.putMany"
        for (const b of blocks) yield* BlockStore.validatePut(operation, b.key, b.bytes)
        if (blocks.length === 0) return [] as Array<BlockStore.PutOutcome>
        const texts = blocks.map((b) => BinaryKey.format(b.key))
        const first = new Map<string, number>()
        texts.forEach((t, i) => {
          if (!first.has(t)) first.set(t, i)
        })
        const unique = [...first.keys()]
        const fresh = yield* locks.with(
          unique,
          "exclusive",
          Effect.uninterruptible(
            tracked(
              Effect.gen(function* () {
                const now = yield* Clock.currentTimeMillis
                const rows = yield* readRows(operation, unique)
                const ops = touchOps(unique, rows, now)
                const missing: Array<string> = []
                rows.forEach((r, i) => {
                  if (r === undefined) missing.push(unique[i]!)
                })
                if (missing.length > 0) {
                  const records = missing.map((t) => ({ key: t, data: blocks[first.get(t)!]!.bytes }))
                  const locs = yield* database.use(operation, () => packs.append(records))
                  let bytes = 0
                  locs.forEach((loc, i) => {
                    const text = missing[i]!
                    bytes += loc.length
                    ops.push({ type: "put", key: blockKey(text), value: encodeRow({ ...loc, touchedAt: now }) })
                    ops.push({
                      type: "put",
                      key: locationKey(loc.pack, loc.offset),
                      value: encodeLocationValue(loc.length, text)
                    })
                  })
                  metrics.increment(LevelMetrics.packAppends, locs.length)
                  metrics.increment(LevelMetrics.packBytesWritten, bytes)
                  if (syncBlocks) yield* database.use(operation, () => packs.sync())
                }
                yield* database.write(operation, missing.length > 0 ? "block" : "touch", ops, syncBlocks)
                return new Set(missing)
              })
            )
          )
        )
        return texts.map((t, i): BlockStore.PutOutcome => (fresh.has(t) && first.get(t) === i ? "fresh" : "duplicate"))
      })

    /**
     * Reads the records of `found` (index rows of distinct locations, sorted by location) in runs: records lying back
     * to back in one pack — the blocks of a blob ingested in one go usually do — are read with one positional read
     * of up to {@link MAX_RUN} bytes. A run that fails (compaction moved a record meanwhile) is read again record by
     * record, each with `readData`'s own retry.
     */
    const readRuns = (
      operation: string,
      found: ReadonlyArray<{ readonly text: string; readonly row: BlockRow }>
    ): Effect.Effect<Map<string, Uint8Array>, StorageError.StorageError> => {
      const runs: Array<Array<{ readonly text: string; readonly row: BlockRow }>> = []
      let run: Array<{ readonly text: string; readonly row: BlockRow }> = []
      let runBytes = 0
      for (const f of found) {
        const last = run[run.length - 1]
        const adjacent =
          last !== undefined &&
          last.row.pack === f.row.pack &&
          last.row.offset + last.row.length === f.row.offset &&
          runBytes + f.row.length <= MAX_RUN
        if (!adjacent && run.length > 0) {
          runs.push(run)
          run = []
          runBytes = 0
        }
        run.push(f)
        runBytes += f.row.length
      }
      if (run.length > 0) runs.push(run)
      const out = new Map<string, Uint8Array>()
      return Effect.as(
        Effect.forEach(
          runs,
          (members) =>
            (members.length === 1
              ? Effect.map(readData(operation, members[0]!.text, members[0]!.row), (d) => [d])
              : database
                  .use(operation, () =>
                    packs.readRun(
                      members.map((m) => ({ loc: m.row, key: m.text })),
                      options.verifyChecksums
                    )
                  )
                  .pipe(
                    Effect.catch(() =>
                      Effect.forEach(members, (m) => readData(operation, m.text, m.row), { concurrency: 4 })
                    )
                  )
            ).pipe(
              Effect.tap((datas) =>
                Effect.sync(() => {
                  for (let i = 0; i < members.length; i++) out.set(members[i]!.text, datas[i]!)
                })
              )
            ),
          { concurrency: 4, discard: true }
        ),
        out
      )
    }

    const getMany = (operation: string, keys: ReadonlyArray<BinaryKey.BinaryKey>) =>
      Effect.gen(function* () {
        if (keys.length === 0) return [] as Array<Option.Option<Uint8Array>>
        const texts = keys.map(BinaryKey.format)
        const rows = yield* readRows(operation, texts)
        const found = new Map<string, BlockRow>()
        rows.forEach((row, i) => {
          if (row !== undefined) found.set(texts[i]!, row)
        })
        const ordered = [...found].map(([text, row]) => ({ text, row }))
        ordered.sort((a, b) => a.row.pack - b.row.pack || a.row.offset - b.row.offset)
        const datas = yield* readRuns(operation, ordered)
        // a key asked for twice gets its own copy the second time: callers own what they get
        const given = new Set<string>()
        return texts.map((t): Option.Option<Uint8Array> => {
          const d = datas.get(t)
          if (d === undefined) return Option.none()
          if (given.has(t)) return Option.some(d.slice())
          given.add(t)
          return Option.some(d)
        })
      })

    const hasMany = (keys: ReadonlyArray<BinaryKey.BinaryKey>, hasOptions?: BlockStore.HasOptions) =>
      Effect.gen(function* () {
        const operation = "BlockStore.hasMany"
        if (keys.length === 0) return [] as Array<boolean>
        const texts = keys.map(BinaryKey.format)
        if (hasOptions?.touch !== true) return (yield* readRows(operation, texts)).map((r) => r !== undefined)
        const unique = [...new Set(texts)]
        const present = yield* locks.with(
          unique,
          "shared",
          Effect.uninterruptible(
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              const rows = yield* readRows(operation, unique)
              yield* database.write(operation, "touch", touchOps(unique, rows, now), false)
              return new Set(unique.filter((_, i) => rows[i] !== undefined))
            })
          )
        )
        return texts.map((t) => present.has(t))
      })

    const markDead = (pack: number, bytes: number, ops: Array<LevelDatabase.Op>): number => {
      const d = (dead.get(pack) ?? 0) + bytes
      ops.push(statOp(pack, d))
      return d
    }

    const deleteBlock = (key: BinaryKey.BinaryKey, deleteOptions?: BlockStore.DeleteOptions) =>
      Effect.gen(function* () {
        const operation = "BlockStore.delete"
        const text = BinaryKey.format(key)
        const cutoff = deleteOptions?.ifUntouchedSince
        const removedFrom = yield* locks.with(
          [text],
          "exclusive",
          statsLock.withPermit(
            Effect.uninterruptible(
              Effect.gen(function* () {
                const [row] = yield* readRows(operation, [text])
                if (row === undefined) return undefined
                if (cutoff !== undefined && row.touchedAt >= cutoff) return undefined
                const ops: Array<LevelDatabase.Op> = [
                  { type: "del", key: blockKey(text) },
                  { type: "del", key: locationKey(row.pack, row.offset) }
                ]
                const d = markDead(row.pack, row.length, ops)
                yield* database.write(operation, "delete", ops, false)
                dead.set(row.pack, d)
                return row.pack
              })
            )
          )
        )
        if (removedFrom === undefined) return false
        if (options.autoCompact && eligible(removedFrom, options.compactionThreshold))
          yield* Queue.offer(wake, undefined)
        return true
      })

    const inventory = (inventoryOptions?: BlockStore.InventoryOptions) =>
      Effect.gen(function* () {
        const operation = "BlockStore.inventory"
        const { after, limit } = yield* BlockStore.decodeInventoryOptions(operation, inventoryOptions)
        const entries = yield* database.use(operation, () =>
          db
            .iterator({
              ...(after === undefined ? { gte: Keys.BLOCK.prefix } : { gt: blockKey(after) }),
              lt: Keys.BLOCK.end,
              limit: limit + 1
            })
            .all()
        )
        const items: Array<BlockStore.BlockInfo> = []
        for (const [k, v] of entries.slice(0, limit)) {
          const text = Keys.textOf(Keys.BLOCK, k)
          const parsed = BinaryKey.parse(text)
          const row = decodeRow(v)
          if (parsed._tag === "Failure" || row === undefined) {
            return yield* Effect.fail(
              StorageError.corrupt(operation, { key: text, message: "an index row of the block store does not decode" })
            )
          }
          items.push({
            key: parsed.success,
            storedSize: row.length - RECORD_HEADER - utf8.encode(text).byteLength,
            touchedAt: row.touchedAt
          })
        }
        const last = items[items.length - 1]
        return entries.length > limit && last !== undefined
          ? { items, cursor: encodeCursor(BinaryKey.format(last.key)) }
          : { items }
      })

    // -------------------------------------------------------------------------------------------------------------
    // maintenance
    // -------------------------------------------------------------------------------------------------------------

    const durablePoint: Effect.Effect<
      ReadonlyArray<LevelDatabase.Op>,
      StorageError.StorageError
    > = options.durability === "none"
      ? Effect.succeed([])
      : Effect.map(
          database.use("ManifestStore.commit", () => packs.sync()),
          (mark) => [watermarkOp(mark)]
        )

    const statsNow = (): PackStats => {
      const perPack = packs.ids().map((id) => {
        const bytes = packs.sizeOf(id) ?? 0
        const d = dead.get(id) ?? 0
        return { id, bytes, deadBytes: d, liveFraction: liveFraction(id) }
      })
      return {
        packs: perPack.length,
        activePack: packs.activeId(),
        bytes: perPack.reduce((n, p) => n + p.bytes, 0),
        deadBytes: perPack.reduce((n, p) => n + p.deadBytes, 0),
        perPack
      }
    }

    const liveRows = (id: number) =>
      database.use("LevelStore.compact", async () => {
        const rows = await db.iterator({ gte: locationPackPrefix(id), lt: locationPackPrefix(id + 1) }).all()
        return rows.map(([k, v]) => decodeLocation(k, v)).filter((r): r is LocationRow => r !== undefined)
      })

    const compactPack = (id: number) =>
      Effect.gen(function* () {
        const operation = "LevelStore.compact"
        const rows = yield* liveRows(id)
        let copied = 0
        let i = 0
        while (i < rows.length) {
          const chunk: Array<LocationRow> = []
          let bytes = 0
          while (i < rows.length && (chunk.length === 0 || (bytes < 16 * 1024 * 1024 && chunk.length < 256))) {
            chunk.push(rows[i]!)
            bytes += rows[i]!.length
            i++
          }
          const texts = chunk.map((r) => r.text)
          copied += yield* locks.with(
            texts,
            "exclusive",
            Effect.uninterruptible(
              Effect.gen(function* () {
                const current = yield* readRows(operation, texts)
                const live: Array<{ readonly row: BlockRow; readonly text: string }> = []
                const ops: Array<LevelDatabase.Op> = []
                chunk.forEach((r, j) => {
                  const row = current[j]
                  if (row !== undefined && row.pack === id && row.offset === r.offset) live.push({ row, text: r.text })
                  else ops.push({ type: "del", key: locationKey(r.pack, r.offset) })
                })
                if (live.length === 0) {
                  yield* database.write(operation, "compaction", ops, false)
                  return 0
                }
                const datas = yield* Effect.forEach(
                  live,
                  ({ row, text }) => database.use(operation, () => packs.read(row, text, true), text),
                  { concurrency: 8 }
                )
                const locs = yield* database.use(operation, () =>
                  packs.append(live.map(({ text }, j) => ({ key: text, data: datas[j]! })))
                )
                // the copies must be on disk before the index points at them
                if (options.durability !== "none") yield* database.use(operation, () => packs.sync())
                let moved = 0
                live.forEach(({ row, text }, j) => {
                  const loc = locs[j]!
                  moved += row.length
                  ops.push({ type: "put", key: blockKey(text), value: encodeRow({ ...loc, touchedAt: row.touchedAt }) })
                  ops.push({
                    type: "put",
                    key: locationKey(loc.pack, loc.offset),
                    value: encodeLocationValue(loc.length, text)
                  })
                  ops.push({ type: "del", key: locationKey(row.pack, row.offset) })
                })
                yield* statsLock.withPermit(
                  Effect.gen(function* () {
                    const d = markDead(id, moved, ops)
                    yield* database.write(operation, "compaction", ops, database.syncMetadata)
                    dead.set(id, d)
                  })
                )
                return moved
              })
            )
          )
        }
        // every live record now lives elsewhere: forget the pack and delete its file
        yield* statsLock.withPermit(
          Effect.gen(function* () {
            yield* database.write(operation, "compaction", [{ type: "del", key: statKey(id) }], database.syncMetadata)
            dead.delete(id)
          })
        )
        const size = packs.sizeOf(id) ?? 0
        yield* database.use(operation, () => packs.remove(id))
        metrics.increment(LevelMetrics.compactions)
        metrics.increment(LevelMetrics.compactionBytesCopied, copied)
        metrics.increment(LevelMetrics.compactionBytesReclaimed, Math.max(0, size - copied))
        return { copied, reclaimed: size, dropped: copied === 0 }
      })

    const compact = (compactOptions?: { readonly threshold?: number | undefined }) =>
      compactLock.withPermit(
        Effect.gen(function* () {
          const threshold = compactOptions?.threshold ?? options.compactionThreshold
          yield* appendBarrier
          let packsRewritten = 0
          let packsDropped = 0
          let bytesCopied = 0
          let bytesReclaimed = 0
          for (const id of packs.ids()) {
            if (!eligible(id, threshold)) continue
            const r = yield* compactPack(id)
            if (r.dropped) packsDropped++
            else packsRewritten++
            bytesCopied += r.copied
            bytesReclaimed += r.reclaimed
          }
          gauges()
          return { packsRewritten, packsDropped, bytesCopied, bytesReclaimed } satisfies CompactionReport
        })
      )

    const recount = compactLock.withPermit(
      Effect.gen(function* () {
        const operation = "LevelStore.recount"
        const active = packs.activeId()
        yield* appendBarrier
        // the active pack is skipped: its tail may hold records whose index rows are being written right now
        for (const id of packs.ids()) {
          if (id >= active) continue
          const rows = yield* liveRows(id)
          const texts = rows.map((r) => r.text)
          const current = yield* readRows(operation, texts)
          let live = 0
          rows.forEach((r, j) => {
            const row = current[j]
            if (row !== undefined && row.pack === id && row.offset === r.offset) live += r.length
          })
          const size = packs.sizeOf(id) ?? FILE_HEADER
          yield* statsLock.withPermit(
            Effect.gen(function* () {
              const d = Math.max(0, size - FILE_HEADER - live)
              yield* database.write(operation, "recovery", [statOp(id, d)], database.syncMetadata)
              dead.set(id, d)
            })
          )
        }
        gauges()
        return statsNow()
      })
    )

    const verify = Effect.gen(function* () {
      const operation = "LevelStore.verify"
      const badRows: Array<string> = []
      let records = 0
      let after: Uint8Array | undefined
      for (;;) {
        const page = yield* database.use(operation, () =>
          db
            .iterator({
              ...(after === undefined ? { gte: Keys.BLOCK.prefix } : { gt: after }),
              lt: Keys.BLOCK.end,
              limit: 256
            })
            .all()
        )
        if (page.length === 0) break
        yield* Effect.forEach(
          page,
          ([k, v]) => {
            const text = Keys.textOf(Keys.BLOCK, k)
            const row = decodeRow(v)
            records++
            if (row === undefined) return Effect.sync(() => badRows.push(text))
            return database
              .use(operation, () => packs.read(row, text, true), text)
              .pipe(Effect.catch(() => Effect.sync(() => badRows.push(text))))
          },
          { concurrency: 8, discard: true }
        )
        after = page[page.length - 1]![0]
      }
      return { packs: packs.ids().length, records, badRows } satisfies VerifyReport
    })

    if (options.autoCompact) {
      yield* Queue.take(wake).pipe(
        Effect.andThen(compact()),
        Effect.catchCause((cause) => Effect.logWarning("level: background compaction failed", cause)),
        Effect.forever,
        Effect.forkScoped
      )
    }

    const store = BlockStore.make({
      put: (key, bytes) => Effect.map(putMany([{ key, bytes }]), (o) => o[0]!),
      putMany,
      // the read path of the engine: one index lookup and one pread, no fibers
      get: (key) =>
        Effect.suspend(() => {
          const text = BinaryKey.format(key)
          return Effect.flatMap(readRows("BlockStore.get", [text]), ([row]) =>
            row === undefined ? Effect.succeedNone : Effect.map(readData("BlockStore.get", text, row), Option.some)
          )
        }),
      getMany: (keys) => getMany("BlockStore.getMany", keys),
      hasMany,
      has: (key) => Effect.map(hasMany([key]), (r) => r[0] === true),
      delete: deleteBlock,
      inventory
    })

    return {
      store,
      durablePoint,
      compact,
      stats: Effect.sync(statsNow),
      recount,
      verify,
      recovery
    } satisfies LevelBlocks
  })

/** The inventory cursor: base64url of the last key text, as every BlockStore backend encodes it. */
const encodeCursor = (last: string): string => Buffer.from(last, "utf8").toString("base64url")
