import { Decorators, KeyValueStore, MetricsRegistry } from "@graviton/runtime"
import { KeyValueStoreSuite } from "@graviton/runtime/testing"
import { Layer } from "effect"

KeyValueStoreSuite.run("memory", KeyValueStore.layerMemory)

const decorated = Decorators.layerTracing(KeyValueStore.KeyValueStore).pipe(
  Layer.provide(Decorators.layerMetrics(KeyValueStore.KeyValueStore, "memory")),
  Layer.provide(Decorators.layerRetry(KeyValueStore.KeyValueStore)),
  Layer.provide(Decorators.layerTimeout(KeyValueStore.KeyValueStore, { duration: "30 seconds" })),
  Layer.provide(KeyValueStore.layerMemory),
  Layer.provide(MetricsRegistry.layerFresh)
)

KeyValueStoreSuite.run("memory, fully decorated", decorated)
