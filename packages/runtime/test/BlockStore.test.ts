import { BlockStore, Decorators, MetricsRegistry } from "@graviton/runtime"
import { BlockStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

BlockStoreSuite.run("memory", BlockStore.layerMemory)

const decorated = Layer.mergeAll(BlockStore.layerVerification, Layer.empty).pipe(
  Layer.provide(BlockStore.layerCache({ maxBytes: 1024 * 1024 })),
  Layer.provide(Decorators.layerTracing(BlockStore.BlockStore)),
  Layer.provide(Decorators.layerMetrics(BlockStore.BlockStore, "memory")),
  Layer.provide(Decorators.layerRetry(BlockStore.BlockStore)),
  Layer.provide(Decorators.layerTimeout(BlockStore.BlockStore, { duration: "30 seconds" })),
  Layer.provide(BlockStore.layerMemory),
  Layer.provide(MetricsRegistry.layerFresh)
)

BlockStoreSuite.run("memory, fully decorated", decorated)

BlockStoreSuite.run(
  "memory, zstd-compressed",
  BlockStore.layerCompression({ codec: "zstd" }).pipe(Layer.provide(BlockStore.layerMemory))
)
BlockStoreSuite.run(
  "memory, auto-compressed",
  BlockStore.layerCompression({ codec: "auto" }).pipe(Layer.provide(BlockStore.layerMemory))
)
