import { LevelLayers } from "@graviton/level"
import {
  BlobStore,
  BlockStore,
  ConstraintPolicy,
  Decorators,
  GravitonConfig,
  GravitonRuntime,
  ManifestStore,
  MetricsRegistry
} from "@graviton/runtime"
import { BlobStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

BlobStoreSuite.run("CAS engine on level", BlobStore.layer().pipe(Layer.provide(LevelLayers.layerTemp())))

const decoratedStores = Layer.mergeAll(
  BlockStore.layerVerification.pipe(
    Layer.provide(Decorators.layerMetrics(BlockStore.BlockStore, "level")),
    Layer.provide(Decorators.layerRetry(BlockStore.BlockStore)),
    Layer.provide(Decorators.layerTimeout(BlockStore.BlockStore, { duration: "30 seconds" }))
  ),
  ManifestStore.layerCache().pipe(
    Layer.provide(Decorators.layerMetrics(ManifestStore.ManifestStore, "level")),
    Layer.provide(Decorators.layerRetry(ManifestStore.ManifestStore)),
    Layer.provide(Decorators.layerTimeout(ManifestStore.ManifestStore, { duration: "60 seconds" }))
  )
).pipe(
  Layer.provideMerge(LevelLayers.layerTemp({ maxPackSize: 2 * 1024 * 1024 })),
  Layer.provideMerge(MetricsRegistry.layerFresh)
)

BlobStoreSuite.run(
  "CAS engine on level, decorated stores, 2 MiB packs",
  BlobStore.layer().pipe(Layer.provide(decoratedStores))
)

// the whole runtime (decorators, compression, caches, KeyValueStore leases, uploads) composed on a level store
BlobStoreSuite.run(
  "GravitonRuntime on level",
  GravitonRuntime.layer(
    LevelLayers.layerTemp(),
    GravitonConfig.make({ backend: "level", constraints: ConstraintPolicy.unlimitedConfig }),
    { freshMetrics: true }
  )
)
