import { LevelLayers } from "@graviton/level"
import { Decorators, ManifestStore, MetricsRegistry } from "@graviton/runtime"
import { ManifestStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

ManifestStoreSuite.run("level", LevelLayers.layerTemp())

// commits of more than 1000 entries take the multi-batch path (pending marker, visibility on the last batch)
ManifestStoreSuite.run("level, 1000-entry batches", LevelLayers.layerTemp({ manifestBatchEntries: 1000 }))

const decorated = ManifestStore.layerCache({ maxBytes: 1024 * 1024 }).pipe(
  Layer.provide(Decorators.layerTracing(ManifestStore.ManifestStore)),
  Layer.provide(Decorators.layerMetrics(ManifestStore.ManifestStore, "level")),
  Layer.provide(Decorators.layerRetry(ManifestStore.ManifestStore)),
  Layer.provide(Decorators.layerTimeout(ManifestStore.ManifestStore, { duration: "60 seconds" })),
  Layer.provide(LevelLayers.layerTemp()),
  Layer.provide(MetricsRegistry.layerFresh)
)

ManifestStoreSuite.run("level, fully decorated", decorated)
