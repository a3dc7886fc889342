import { Decorators, ManifestStore, MetricsRegistry } from "@graviton/runtime"
import { ManifestStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

ManifestStoreSuite.run("memory", ManifestStore.layerMemory)

const decorated = ManifestStore.layerCache({ maxBytes: 1024 * 1024 }).pipe(
  Layer.provide(Decorators.layerTracing(ManifestStore.ManifestStore)),
  Layer.provide(Decorators.layerMetrics(ManifestStore.ManifestStore, "memory")),
  Layer.provide(Decorators.layerRetry(ManifestStore.ManifestStore)),
  Layer.provide(Decorators.layerTimeout(ManifestStore.ManifestStore, { duration: "60 seconds" })),
  Layer.provide(ManifestStore.layerMemory),
  Layer.provide(MetricsRegistry.layerFresh)
)

ManifestStoreSuite.run("memory, fully decorated", decorated)
