/**
 * Layers of the embedded level backend: every storage port of Graviton on one data directory.
 *
 * ```ts
 * import { LevelLayers } from "@graviton/level"
 * import { BlobStore } from "@graviton/runtime"
 *
 * const Live = BlobStore.layer().pipe(Layer.provideMerge(LevelLayers.layer({ path: "./.graviton" })))
 * ```
 *
 * {@link layer} opens the directory once (LevelDB's lock makes this process its only user; a second process fails
 * with an `Unavailable` StorageError "store is locked by another process"), runs crash recovery, and provides:
 *
 * - `BlockStore` (pack files indexed by LevelDB) and `ManifestStore` — what the CAS engine (`BlobStore.layer()`)
 *   needs — plus process-local `IngestLeases` (enough, since only this process can open the directory);
 * - `KeyValueStore`, `RangeTracker`, `ReplicaIndex`, `SchemaStore`, `MutableObjectStore` (and its
 *   `ImmutableObjectStore` view, multipart emulated), and Effect's `effect/persistence` `KeyValueStore` over the
 *   KeyValueStore's rows;
 * - {@link LevelStore.LevelStore}: sync, compaction, stats, verification.
 *
 * A `MetricsRegistry` in context (optional) receives the backend metrics of {@link LevelMetrics}. Everything is
 * closed — packs fsync'd, LevelDB closed, lock released — when the layer's scope ends.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  BlockStore,
  ImmutableObjectStore,
  IngestLeases,
  KeyValueStore,
  ManifestStore,
  MetricsRegistry,
  MutableObjectStore,
  RangeTracker,
  ReplicaIndex,
  SchemaStore,
  type StorageError
} from "@graviton/runtime"
import * as ByteSize from "effect/ByteSize"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistence from "effect/persistence/KeyValueStore"
import type * as Scope from "effect/Scope"
import * as Keys from "./internal/keys.ts"
import * as LevelBlockStore from "./LevelBlockStore.ts"
import * as LevelDatabase from "./LevelDatabase.ts"
import * as LevelKeyValueStore from "./LevelKeyValueStore.ts"
import * as LevelManifestStore from "./LevelManifestStore.ts"
import * as LevelMetrics from "./LevelMetrics.ts"
import * as LevelObjectStore from "./LevelObjectStore.ts"
import * as LevelReplicaIndex from "./LevelReplicaIndex.ts"
import * as LevelSchemaStore from "./LevelSchemaStore.ts"
import * as LevelStore from "./LevelStore.ts"

/** Options of {@link layer}: the data directory and tuning (see {@link LevelDatabase.Options}). */
export type Options = LevelDatabase.Options

/** Everything {@link layer} provides. */
export type Services =
  | BlockStore.BlockStore
  | ManifestStore.ManifestStore
  | IngestLeases.IngestLeases
  | KeyValueStore.KeyValueStore
  | RangeTracker.RangeTracker
  | ReplicaIndex.ReplicaIndex
  | SchemaStore.SchemaStore
  | MutableObjectStore.MutableObjectStore
  | ImmutableObjectStore.ImmutableObjectStore
  | Persistence.KeyValueStore
  | LevelStore.LevelStore

/** Opens a data directory and builds every port over it; closed when the scope ends. */
export const make = (
  options: Options
): Effect.Effect<Context.Context<Services>, StorageError.StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const registry = Option.getOrUndefined(yield* Effect.serviceOption(MetricsRegistry.MetricsRegistry))
    const resolved = LevelDatabase.resolve(options)
    const metrics = LevelMetrics.recorder(registry)
    const database = yield* LevelDatabase.open(resolved, metrics)
    const blocks = yield* LevelBlockStore.make(database)
    const manifests = yield* LevelManifestStore.make(database, blocks)
    const kv = LevelKeyValueStore.make(database)
    const ranges = RangeTracker.fromKeyValueStore(LevelKeyValueStore.make(database, Keys.RANGES), "")
    const objects = yield* LevelObjectStore.make(database)
    const withIndexBytes = (s: LevelBlockStore.PackStats) =>
      Effect.map(
        database.use("LevelStore.stats", () => database.db.approximateSize(Keys.META.prefix, Keys.OBJECTS.end)),
        (indexBytes): LevelStore.Stats => {
          metrics.set(LevelMetrics.indexBytes, indexBytes)
          return { ...s, indexBytes }
        }
      )
    const store = LevelStore.LevelStore.of({
      path: resolved.path,
      options: resolved,
      recovery: blocks.recovery,
      sync: Effect.flatMap(blocks.durablePoint, (ops) =>
        database.write("LevelStore.sync", "recovery", ops, database.syncMetadata)
      ),
      compact: blocks.compact,
      stats: Effect.flatMap(blocks.stats, withIndexBytes),
      recount: Effect.flatMap(blocks.recount, withIndexBytes),
      verify: blocks.verify
    })
    return Context.make(BlockStore.BlockStore, blocks.store).pipe(
      Context.add(ManifestStore.ManifestStore, manifests),
      Context.add(IngestLeases.IngestLeases, IngestLeases.makeMemory()),
      Context.add(KeyValueStore.KeyValueStore, kv),
      Context.add(RangeTracker.RangeTracker, ranges),
      Context.add(ReplicaIndex.ReplicaIndex, LevelReplicaIndex.make(database)),
      Context.add(SchemaStore.SchemaStore, LevelSchemaStore.make(database)),
      Context.add(MutableObjectStore.MutableObjectStore, objects),
      Context.add(ImmutableObjectStore.ImmutableObjectStore, MutableObjectStore.toImmutable(objects)),
      Context.add(Persistence.KeyValueStore, KeyValueStore.toPersistence(kv)),
      Context.add(LevelStore.LevelStore, store)
    )
  })

/** Every port on the data directory at `options.path`. */
export const layer = (options: Options): Layer.Layer<Services, StorageError.StorageError> =>
  Layer.effectContext(make(options))

/**
 * Like {@link layer} on a fresh temporary directory, removed (after the store is closed) when the layer's scope
 * ends. For tests.
 */
export const layerTemp = (options: Omit<Options, "path"> = {}): Layer.Layer<Services, StorageError.StorageError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "graviton-level-"))),
        (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }).catch(() => undefined))
      )
      return yield* make({ ...options, path: dir })
    })
  )

const bytes = (name: string) => Config.ByteSize(name).pipe(Config.map((b) => ByteSize.toNumberUnsafe(b)))

/**
 * The level options as Effect `Config`, read (by default from the environment) as `GRAVITON_LEVEL_<NAME>`:
 *
 * | variable | option | default |
 * | --- | --- | --- |
 * | `GRAVITON_LEVEL_PATH` | `path` | `.graviton` |
 * | `GRAVITON_LEVEL_DURABILITY` | `durability` (`commit`, `write`, `none`) | `commit` |
 * | `GRAVITON_LEVEL_MAX_PACK_SIZE` | `maxPackSize` (e.g. `256MiB`) | 256 MiB |
 * | `GRAVITON_LEVEL_MAX_OPEN_PACKS` | `maxOpenPacks` | 64 |
 * | `GRAVITON_LEVEL_COMPACTION_THRESHOLD` | `compactionThreshold` (0..1) | 0.5 |
 * | `GRAVITON_LEVEL_AUTO_COMPACT` | `autoCompact` | true |
 * | `GRAVITON_LEVEL_VERIFY_CHECKSUMS` | `verifyChecksums` | false |
 * | `GRAVITON_LEVEL_SYNC_INDEX_READS` | `syncIndexReads` | true |
 * | `GRAVITON_LEVEL_WRITE_BUFFER_SIZE` | `writeBufferSize` | 16 MiB |
 * | `GRAVITON_LEVEL_CACHE_SIZE` | `cacheSize` | 32 MiB |
 * | `GRAVITON_LEVEL_MAX_FILE_SIZE` | `maxFileSize` | 8 MiB |
 * | `GRAVITON_LEVEL_COMPRESSION` | `compression` | true |
 *
 * Sizes accept a number of bytes or a unit (`64MiB`, `1GiB`).
 */
export const config: Config.Config<Options> = Config.all({
  path: Config.String("PATH").pipe(Config.withDefault(".graviton")),
  durability: Config.Literals(["commit", "write", "none"], "DURABILITY").pipe(
    Config.withDefault(LevelDatabase.defaults.durability)
  ),
  maxPackSize: bytes("MAX_PACK_SIZE").pipe(Config.withDefault(LevelDatabase.defaults.maxPackSize)),
  maxOpenPacks: Config.Int("MAX_OPEN_PACKS").pipe(Config.withDefault(LevelDatabase.defaults.maxOpenPacks)),
  compactionThreshold: Config.Number("COMPACTION_THRESHOLD").pipe(
    Config.withDefault(LevelDatabase.defaults.compactionThreshold)
  ),
  autoCompact: Config.Boolean("AUTO_COMPACT").pipe(Config.withDefault(LevelDatabase.defaults.autoCompact)),
  verifyChecksums: Config.Boolean("VERIFY_CHECKSUMS").pipe(Config.withDefault(LevelDatabase.defaults.verifyChecksums)),
  syncIndexReads: Config.Boolean("SYNC_INDEX_READS").pipe(Config.withDefault(LevelDatabase.defaults.syncIndexReads)),
  writeBufferSize: bytes("WRITE_BUFFER_SIZE").pipe(Config.withDefault(LevelDatabase.defaults.writeBufferSize)),
  cacheSize: bytes("CACHE_SIZE").pipe(Config.withDefault(LevelDatabase.defaults.cacheSize)),
  maxFileSize: bytes("MAX_FILE_SIZE").pipe(Config.withDefault(LevelDatabase.defaults.maxFileSize)),
  compression: Config.Boolean("COMPRESSION").pipe(Config.withDefault(LevelDatabase.defaults.compression))
}).pipe(Config.nested("LEVEL"), Config.nested("GRAVITON"))

/** {@link layer} with its options read from {@link config} (overrides applied on top). */
export const layerConfig = (
  overrides: Partial<Options> = {}
): Layer.Layer<Services, StorageError.StorageError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(config, (options: Options) => layer({ ...options, ...overrides })))
