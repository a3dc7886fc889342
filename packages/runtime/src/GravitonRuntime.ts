/**
 * `GravitonRuntime`: composes a complete Graviton from a backend's stores and a {@link GravitonConfig.GravitonConfig}:
 * decorated ports, the CAS engine, resumable uploads, policies, metrics, and the {@link Graviton.Graviton} facade.
 *
 * ```ts
 * // tests
 * const TestRuntime = GravitonRuntime.layerMemory()
 * // an application on the embedded backend
 * const AppRuntime = GravitonRuntime.layer(LevelLayers.layer({ path: "./data" }), GravitonConfig.make())
 * ```
 *
 * Backends live in their own packages (`@graviton/level`, `@graviton/pg`, `@graviton/s3`) and hand their stores to
 * {@link layer}; the runtime never imports them. Each store is decorated, innermost first, with
 * `withTimeout → withRetry → withMetrics → withTracing` (see `Decorators`), then BlockStore gets compression and a
 * byte-bounded cache, and ManifestStore a cache.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as BlobStore from "./BlobStore.ts"
import * as BlockStore from "./BlockStore.ts"
import * as ConstraintPolicy from "./ConstraintPolicy.ts"
import * as Decorators from "./Decorators.ts"
import * as Graviton from "./Graviton.ts"
import * as GravitonConfig from "./GravitonConfig.ts"
import type * as ImmutableObjectStore from "./ImmutableObjectStore.ts"
import * as IngestLeases from "./IngestLeases.ts"
import * as KeyValueStore from "./KeyValueStore.ts"
import * as ManifestStore from "./ManifestStore.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import * as MutableObjectStore from "./MutableObjectStore.ts"
import * as RangeTracker from "./RangeTracker.ts"
import * as ReplicaIndex from "./ReplicaIndex.ts"
import * as RetentionPolicy from "./RetentionPolicy.ts"
import * as SchemaStore from "./SchemaStore.ts"
import * as SpillPolicy from "./SpillPolicy.ts"
import * as Uploads from "./Uploads.ts"

/** What a backend provides: every store port. */
export type Stores =
  | BlockStore.BlockStore
  | ManifestStore.ManifestStore
  | KeyValueStore.KeyValueStore
  | MutableObjectStore.MutableObjectStore
  | RangeTracker.RangeTracker
  | ReplicaIndex.ReplicaIndex
  | SchemaStore.SchemaStore

/** What the runtime provides. */
export type Services =
  | Stores
  | ImmutableObjectStore.ImmutableObjectStore
  | IngestLeases.IngestLeases
  | BlobStore.BlobStore
  | Uploads.Uploads
  | MetricsRegistry.MetricsRegistry
  | ConstraintPolicy.ConstraintPolicy
  | SpillPolicy.SpillPolicy
  | RetentionPolicy.RetentionPolicy
  | Graviton.Graviton

export interface Options {
  /** Backend name for metric labels (e.g. `level`). */
  readonly backend?: string | undefined
  /** Records into a private registry instead of Effect's ambient one (tests). */
  readonly freshMetrics?: boolean | undefined
}

/** The standard decoration of one port: timeout (per attempt) inside retry, then metrics and tracing. */
const standard = <I, S extends object>(
  tag: Context.Service<I, S>,
  config: GravitonConfig.GravitonConfig,
  backend: string
): Layer.Layer<I, never, I | MetricsRegistry.MetricsRegistry> =>
  Decorators.layerTracing(tag).pipe(
    Layer.provide(Decorators.layerMetrics(tag, backend)),
    Layer.provide(Decorators.layerRetry(tag, { times: config.retries })),
    Layer.provide(Decorators.layerTimeout(tag, { duration: config.timeout, methods: slowMethods }))
  )

/** Listing-style methods that walk a whole store get a longer bound than single-key calls. */
const slowMethods: Readonly<Record<string, Duration.Input>> = {
  inventory: "5 minutes",
  referencedBlocks: "5 minutes",
  commit: "10 minutes"
}

/** Decorates a backend's stores per the configuration. */
export const decorateStores = (
  config: GravitonConfig.GravitonConfig,
  backend: string
): Layer.Layer<Stores, never, Stores | MetricsRegistry.MetricsRegistry> => {
  const blockBase =
    config.compression === "none"
      ? standard(BlockStore.BlockStore, config, backend)
      : BlockStore.layerCompression({ codec: config.compression }).pipe(
          Layer.provide(standard(BlockStore.BlockStore, config, backend))
        )
  const blockStack =
    config.blockCacheBytes > 0
      ? BlockStore.layerCache({ maxBytes: config.blockCacheBytes }).pipe(Layer.provide(blockBase))
      : blockBase
  const manifestBase = standard(ManifestStore.ManifestStore, config, backend)
  const manifestStack =
    config.manifestCacheBytes > 0
      ? ManifestStore.layerCache({ maxBytes: config.manifestCacheBytes }).pipe(Layer.provide(manifestBase))
      : manifestBase
  return Layer.mergeAll(
    blockStack,
    manifestStack,
    standard(KeyValueStore.KeyValueStore, config, backend),
    standard(MutableObjectStore.MutableObjectStore, config, backend),
    standard(RangeTracker.RangeTracker, config, backend),
    standard(ReplicaIndex.ReplicaIndex, config, backend),
    standard(SchemaStore.SchemaStore, config, backend)
  ) as Layer.Layer<Stores, never, Stores | MetricsRegistry.MetricsRegistry>
}

/** The runtime over the given stores. */
export const layer = <E, R>(
  stores: Layer.Layer<Stores, E, R>,
  config: GravitonConfig.GravitonConfig = GravitonConfig.defaults,
  options: Options = {}
): Layer.Layer<Services, E, R> => {
  const backend = options.backend ?? config.backend
  const metrics = options.freshMetrics === true ? MetricsRegistry.layerFresh : MetricsRegistry.layer
  const policies = Layer.mergeAll(
    ConstraintPolicy.layer(config.constraints),
    SpillPolicy.layer(config.spill),
    RetentionPolicy.layer(config.retention)
  )
  const decorated = decorateStores(config, backend).pipe(Layer.provide(stores), Layer.provideMerge(metrics))
  const base = Layer.mergeAll(
    MutableObjectStore.layerImmutable,
    IngestLeases.layerKeyValue({ ttl: "10 minutes" })
  ).pipe(Layer.provideMerge(decorated), Layer.provideMerge(policies))
  const engine = BlobStore.layer({
    chunker: config.chunker,
    algorithm: config.algorithm,
    parallelism: config.parallelism,
    readAhead: config.readAhead,
    readBatch: config.readBatch
  }).pipe(Layer.provideMerge(base))
  const uploads = Uploads.layer({ ttl: config.uploadTtl }).pipe(Layer.provideMerge(engine))
  return Graviton.layer({ gcMinAge: config.gcMinAge }).pipe(Layer.provideMerge(uploads))
}

/** Every store in memory: the test runtime. */
export const memoryStores: Layer.Layer<Stores> = Layer.mergeAll(
  BlockStore.layerMemory,
  ManifestStore.layerMemory,
  KeyValueStore.layerMemory,
  MutableObjectStore.layerMemory,
  RangeTracker.layerMemory,
  ReplicaIndex.layerMemory,
  SchemaStore.layerMemory
)

/**
 * The runtime on in-memory stores with a fresh metrics registry: what tests use. Constraints default to unlimited
 * here (override `constraints` to test them).
 */
export const layerMemory = (overrides: Partial<GravitonConfig.GravitonConfig> = {}): Layer.Layer<Services> =>
  layer(
    memoryStores,
    GravitonConfig.make({ backend: "memory", constraints: ConstraintPolicy.unlimitedConfig, ...overrides }),
    { freshMetrics: true }
  )
