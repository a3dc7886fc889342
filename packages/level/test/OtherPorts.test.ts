import { LevelLayers } from "@graviton/level"
import {
  Decorators,
  type ImmutableObjectStore,
  MetricsRegistry,
  MutableObjectStore,
  ReplicaIndex,
  SchemaStore
} from "@graviton/runtime"
import { ObjectStoreSuite, ReplicaIndexSuite, SchemaStoreSuite } from "@graviton/runtime/testing"
import { Effect, Layer, Stream } from "effect"

ReplicaIndexSuite.run("level", LevelLayers.layerTemp())
ReplicaIndexSuite.run(
  "level, fully decorated",
  Decorators.layerTracing(ReplicaIndex.ReplicaIndex).pipe(
    Layer.provide(Decorators.layerMetrics(ReplicaIndex.ReplicaIndex, "level")),
    Layer.provide(Decorators.layerRetry(ReplicaIndex.ReplicaIndex)),
    Layer.provide(Decorators.layerTimeout(ReplicaIndex.ReplicaIndex, { duration: "30 seconds" })),
    Layer.provide(LevelLayers.layerTemp()),
    Layer.provide(MetricsRegistry.layerFresh)
  )
)

SchemaStoreSuite.run("level", LevelLayers.layerTemp())
SchemaStoreSuite.run(
  "level, fully decorated",
  Decorators.layerTracing(SchemaStore.SchemaStore).pipe(
    Layer.provide(Decorators.layerMetrics(SchemaStore.SchemaStore, "level")),
    Layer.provide(Decorators.layerRetry(SchemaStore.SchemaStore)),
    Layer.provide(Decorators.layerTimeout(SchemaStore.SchemaStore, { duration: "30 seconds" })),
    Layer.provide(LevelLayers.layerTemp()),
    Layer.provide(MetricsRegistry.layerFresh)
  )
)

ObjectStoreSuite.run("level", LevelLayers.layerTemp())

const Tag = MutableObjectStore.MutableObjectStore
const decoratedMutable = Decorators.layerTracing(Tag).pipe(
  Layer.provide(Decorators.layerMetrics(Tag, "level")),
  Layer.provide(Decorators.layerRetry(Tag)),
  Layer.provide(Decorators.layerTimeout(Tag, { duration: "30 seconds" })),
  Layer.provide(LevelLayers.layerTemp()),
  Layer.provide(MetricsRegistry.layerFresh)
)
ObjectStoreSuite.run(
  "level, fully decorated",
  MutableObjectStore.layerImmutable.pipe(Layer.provideMerge(decoratedMutable))
)

const seed = (objects: ReadonlyArray<ImmutableObjectStore.SeedObject>) =>
  Effect.flatMap(Tag, (store) =>
    Effect.forEach(
      objects,
      (o) => store.put(o.name, Stream.succeed(o.bytes), { contentType: o.contentType, metadata: o.metadata }),
      { discard: true }
    )
  )
ObjectStoreSuite.runImmutable("level view of the mutable store", LevelLayers.layerTemp(), { seed })
