import { LevelLayers } from "@graviton/level"
import { BlockStore, Decorators, MetricsRegistry } from "@graviton/runtime"
import { BlockStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

BlockStoreSuite.run("level", LevelLayers.layerTemp())

// small packs: the suite's writes roll over many packs, reads cross them
BlockStoreSuite.run(
  "level, 1 MiB packs, durability write",
  LevelLayers.layerTemp({ maxPackSize: 1024 * 1024, durability: "write" })
)

const decorated = BlockStore.layerVerification.pipe(
  Layer.provide(BlockStore.layerCache({ maxBytes: 1024 * 1024 })),
  Layer.provide(Decorators.layerTracing(BlockStore.BlockStore)),
  Layer.provide(Decorators.layerMetrics(BlockStore.BlockStore, "level")),
  Layer.provide(Decorators.layerRetry(BlockStore.BlockStore)),
  Layer.provide(Decorators.layerTimeout(BlockStore.BlockStore, { duration: "30 seconds" })),
  Layer.provide(LevelLayers.layerTemp()),
  Layer.provide(MetricsRegistry.layerFresh)
)

BlockStoreSuite.run("level, fully decorated", decorated)

BlockStoreSuite.run(
  "level, zstd-compressed",
  BlockStore.layerCompression({ codec: "zstd" }).pipe(Layer.provide(LevelLayers.layerTemp()))
)
