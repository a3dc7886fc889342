/**
 * The one classic-level (LevelDB) database behind a Graviton data directory, and its options.
 *
 * A data directory holds:
 *
 * ```
 * <path>/index/   the LevelDB database: every port's rows, in namespaced key ranges, plus the block index
 * <path>/packs/   append-only pack files holding block bytes (LevelBlockStore)
 * ```
 *
 * Opening takes LevelDB's exclusive `LOCK` (so one process owns a directory; a second one fails with an
 * `Unavailable` StorageError saying the store is locked by another process), then checks the format-version row:
 * an empty database is stamped with the current version, a database of an unknown version — or one that is not a
 * Graviton store — fails `Unsupported`. The handle is closed (and LevelDB's lock released) when the scope ends.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { StorageError } from "@graviton/runtime"
import { ClassicLevel } from "classic-level"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Keys from "./internal/keys.ts"
import * as LevelError from "./LevelError.ts"
import type * as LevelMetrics from "./LevelMetrics.ts"

/** The on-disk format this build reads and writes. */
export const formatVersion = 1

const formatTag = "graviton-level"

/**
 * When a write is durable against power loss (every acknowledged write always survives a **process** crash: the
 * bytes are in the kernel's page cache before a call returns).
 *
 * - `commit` (default): block bytes are fsync'd when something is committed — `ManifestStore.commit` fsyncs the packs
 *   holding every block appended so far before its own synchronous batch, so an acknowledged blob never references
 *   bytes that are not on disk — and when a pack is sealed or the store closes. Metadata writes (KeyValueStore,
 *   RangeTracker, …) are synchronous LevelDB writes. Fastest safe setting for the CAS engine.
 * - `write`: additionally every `BlockStore.put`/`putMany` fsyncs its bytes (group-committed with concurrent
 *   writers) and its index rows before returning. For a block store used without this store's ManifestStore.
 * - `none`: nothing is fsync'd (process-crash safe only). For tests and scratch data.
 */
export type Durability = "commit" | "write" | "none"

/** Tuning of a level store; only `path` is required. */
export interface Options {
  /** The data directory (created if absent). */
  readonly path: string
  /** See {@link Durability}; default `commit`. */
  readonly durability?: Durability | undefined
  /** A pack is sealed and a new one started past this size (default 256 MiB, 1 MiB..2 GiB). */
  readonly maxPackSize?: number | undefined
  /** Read descriptors of sealed packs kept open (default 64). */
  readonly maxOpenPacks?: number | undefined
  /** Compaction rewrites a sealed pack whose live fraction falls below this (default 0.5; 0 disables). */
  readonly compactionThreshold?: number | undefined
  /** Compact automatically in the background after deletes make a pack eligible (default true). */
  readonly autoCompact?: boolean | undefined
  /** Check the CRC-32 of every block record read (default false: the CAS engine verifies digests anyway). */
  readonly verifyChecksums?: boolean | undefined
  /**
   * Look block index rows up with LevelDB's synchronous `getSync` (default true). A cached row costs ~2 µs instead
   * of ~20 µs of main-thread time for an asynchronous lookup, which matters on the read path (one lookup per
   * block); a row not in LevelDB's cache or the OS page cache blocks the event loop for one small disk read. Turn it
   * off on slow disks when event-loop latency matters more than read throughput.
   */
  readonly syncIndexReads?: boolean | undefined
  /** LevelDB write buffer (memtable) size in bytes (default 16 MiB). */
  readonly writeBufferSize?: number | undefined
  /** LevelDB block cache size in bytes (default 32 MiB). */
  readonly cacheSize?: number | undefined
  /** LevelDB table file size in bytes (default 8 MiB). */
  readonly maxFileSize?: number | undefined
  /** Snappy compression of LevelDB tables (default true; block bytes in packs are never compressed here). */
  readonly compression?: boolean | undefined
  /** Manifest entries per LevelDB batch of a large commit (default 65 536): bounds a commit's memory. */
  readonly manifestBatchEntries?: number | undefined
}

/** Options with every default filled in. */
export interface Resolved {
  readonly path: string
  readonly durability: Durability
  readonly maxPackSize: number
  readonly maxOpenPacks: number
  readonly compactionThreshold: number
  readonly autoCompact: boolean
  readonly verifyChecksums: boolean
  readonly syncIndexReads: boolean
  readonly writeBufferSize: number
  readonly cacheSize: number
  readonly maxFileSize: number
  readonly compression: boolean
  readonly manifestBatchEntries: number
}

export const defaults: Omit<Resolved, "path"> = {
  durability: "commit",
  maxPackSize: 256 * 1024 * 1024,
  maxOpenPacks: 64,
  compactionThreshold: 0.5,
  autoCompact: true,
  verifyChecksums: false,
  syncIndexReads: true,
  writeBufferSize: 16 * 1024 * 1024,
  cacheSize: 32 * 1024 * 1024,
  maxFileSize: 8 * 1024 * 1024,
  compression: true,
  manifestBatchEntries: 65_536
}

const clampInt = (n: number | undefined, fallback: number, min: number, max: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.min(max, Math.max(min, Math.floor(n)))

/** Fills in defaults and clamps every number to its allowed range. */
export const resolve = (options: Options): Resolved => ({
  path: path.resolve(options.path),
  durability: options.durability ?? defaults.durability,
  maxPackSize: clampInt(options.maxPackSize, defaults.maxPackSize, 1024 * 1024, 2 * 1024 * 1024 * 1024),
  maxOpenPacks: clampInt(options.maxOpenPacks, defaults.maxOpenPacks, 1, 4096),
  compactionThreshold:
    options.compactionThreshold === undefined || !Number.isFinite(options.compactionThreshold)
      ? defaults.compactionThreshold
      : Math.min(1, Math.max(0, options.compactionThreshold)),
  autoCompact: options.autoCompact ?? defaults.autoCompact,
  verifyChecksums: options.verifyChecksums ?? defaults.verifyChecksums,
  syncIndexReads: options.syncIndexReads ?? defaults.syncIndexReads,
  writeBufferSize: clampInt(options.writeBufferSize, defaults.writeBufferSize, 64 * 1024, 1024 * 1024 * 1024),
  cacheSize: clampInt(options.cacheSize, defaults.cacheSize, 0, 16 * 1024 * 1024 * 1024),
  maxFileSize: clampInt(options.maxFileSize, defaults.maxFileSize, 64 * 1024, 1024 * 1024 * 1024),
  compression: options.compression ?? defaults.compression,
  manifestBatchEntries: clampInt(options.manifestBatchEntries, defaults.manifestBatchEntries, 1, 1 << 24)
})

/** The raw database: binary keys and values. */
export type Db = ClassicLevel<Uint8Array, Uint8Array>

/** A batch operation. */
export type Op =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array }

/** An open data directory: the database, its options, and helpers that map every driver failure. */
export interface LevelDatabase {
  readonly db: Db
  readonly options: Resolved
  /** `<path>/packs`. */
  readonly packDir: string
  readonly metrics: LevelMetrics.Recorder
  /** Runs a driver call, mapping its failure with {@link LevelError.fromDriver}. */
  readonly use: <A>(operation: string, f: () => Promise<A>, key?: string) => Effect.Effect<A, StorageError.StorageError>
  /** Writes one atomic batch (recording its size under `kind`); `sync` fsyncs LevelDB's log first. */
  readonly write: (
    operation: string,
    kind: LevelMetrics.BatchKind,
    ops: ReadonlyArray<Op>,
    sync: boolean
  ) => Effect.Effect<void, StorageError.StorageError>
  /** Whether metadata writes are synchronous (every durability but `none`). */
  readonly syncMetadata: boolean
}

/** Raw promise form of {@link LevelDatabase.write} for code that runs outside Effect. */
export const writeBatch = (
  db: Db,
  metrics: LevelMetrics.Recorder,
  kind: LevelMetrics.BatchKind,
  ops: ReadonlyArray<Op>,
  sync: boolean
): Promise<void> => {
  if (ops.length === 0) return Promise.resolve()
  let bytes = 0
  for (const op of ops) bytes += op.key.byteLength + (op.type === "put" ? op.value.byteLength : 0)
  metrics.batch(kind, ops.length, bytes)
  return db.batch(ops as Array<Op>, { sync })
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const checkFormat = async (db: Db, where: string): Promise<StorageError.StorageError | undefined> => {
  const key = Keys.metaKey("format")
  const stamp = await db.get(key)
  if (stamp === undefined) {
    const any = await db.keys({ limit: 1 }).all()
    if (any.length > 0)
      return LevelError.unsupportedFormat(where, "a LevelDB database that is not a Graviton store", formatVersion)
    await db.put(key, encoder.encode(JSON.stringify({ format: formatTag, version: formatVersion })), { sync: true })
    return undefined
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(stamp))
  } catch {
    parsed = undefined
  }
  const p = parsed as { readonly format?: unknown; readonly version?: unknown } | undefined
  if (p?.format !== formatTag) return LevelError.unsupportedFormat(where, "an unrecognised format stamp", formatVersion)
  if (p.version !== formatVersion) {
    return LevelError.unsupportedFormat(where, `Graviton level format ${String(p.version)}`, formatVersion)
  }
  return undefined
}

/**
 * Opens (creating if needed) the data directory's database, checks its format version, and closes it when the
 * scope ends.
 */
export const open = (
  options: Resolved,
  metrics: LevelMetrics.Recorder
): Effect.Effect<LevelDatabase, StorageError.StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const operation = "LevelStore.open"
    const indexDir = path.join(options.path, "index")
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await fs.promises.mkdir(indexDir, { recursive: true })
          const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(indexDir, {
            keyEncoding: "view",
            valueEncoding: "view",
            writeBufferSize: options.writeBufferSize,
            cacheSize: options.cacheSize,
            maxFileSize: options.maxFileSize,
            compression: options.compression
          })
          await db.open()
          return db
        },
        catch: (cause) => LevelError.fromDriver(operation, cause, options.path)
      }),
      (db) => Effect.promise(() => db.close().catch(() => undefined))
    )
    const problem = yield* Effect.tryPromise({
      try: () => checkFormat(db, options.path),
      catch: (cause) => LevelError.fromDriver(operation, cause, options.path)
    })
    if (problem !== undefined) return yield* Effect.fail(problem)
    const use = <A>(op: string, f: () => Promise<A>, key?: string) =>
      Effect.tryPromise({ try: f, catch: (cause) => LevelError.fromDriver(op, cause, key) })
    return {
      db,
      options,
      packDir: path.join(options.path, "packs"),
      metrics,
      use,
      write: (op, kind, ops, sync) => use(op, () => writeBatch(db, metrics, kind, ops, sync)),
      syncMetadata: options.durability !== "none"
    } satisfies LevelDatabase
  })

/** Reads a big-endian-encoded metadata number row (u48), or `undefined`. */
export const readMetaNumber = async (db: Db, name: string): Promise<number | undefined> => {
  const v = await db.get(Keys.metaKey(name))
  return v === undefined || v.byteLength !== 6 ? undefined : Keys.readU48(v, 0)
}

/** A metadata number row as a batch operation. */
export const metaNumberOp = (name: string, n: number): Op => {
  const value = new Uint8Array(6)
  Keys.writeU48(value, 0, n)
  return { type: "put", key: Keys.metaKey(name), value }
}
