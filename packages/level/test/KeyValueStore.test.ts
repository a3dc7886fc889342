import { LevelLayers } from "@graviton/level"
import { Decorators, KeyValueStore, MetricsRegistry, RangeTracker } from "@graviton/runtime"
import { KeyValueStoreSuite, RangeTrackerSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

KeyValueStoreSuite.run("level", LevelLayers.layerTemp())

const decorated = Decorators.layerTracing(KeyValueStore.KeyValueStore).pipe(
  Layer.provide(Decorators.layerMetrics(KeyValueStore.KeyValueStore, "level")),
  Layer.provide(Decorators.layerRetry(KeyValueStore.KeyValueStore)),
  Layer.provide(Decorators.layerTimeout(KeyValueStore.KeyValueStore, { duration: "30 seconds" })),
  Layer.provide(LevelLayers.layerTemp()),
  Layer.provide(MetricsRegistry.layerFresh)
)
KeyValueStoreSuite.run("level, fully decorated", decorated)

RangeTrackerSuite.run("level", LevelLayers.layerTemp())

RangeTrackerSuite.run(
  "level, fully decorated",
  Decorators.layerTracing(RangeTracker.RangeTracker).pipe(
    Layer.provide(Decorators.layerMetrics(RangeTracker.RangeTracker, "level")),
    Layer.provide(Decorators.layerRetry(RangeTracker.RangeTracker)),
    Layer.provide(Decorators.layerTimeout(RangeTracker.RangeTracker, { duration: "30 seconds" })),
    Layer.provide(LevelLayers.layerTemp()),
    Layer.provide(MetricsRegistry.layerFresh)
  )
)
