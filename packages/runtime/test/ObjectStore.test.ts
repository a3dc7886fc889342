import { assert, describe, it } from "@effect/vitest"
import { Decorators, ImmutableObjectStore, MetricsRegistry, MutableObjectStore, StorageError } from "@graviton/runtime"
import { ObjectStoreSuite } from "@graviton/runtime/testing"
import { Effect, Layer, Option, Stream } from "effect"

ObjectStoreSuite.run("memory", MutableObjectStore.layerMemory)

const Tag = MutableObjectStore.MutableObjectStore

// The mutable store is decorated; the read-only view is derived from the decorated store.
const decoratedMutable = Decorators.layerTracing(Tag).pipe(
  Layer.provide(Decorators.layerMetrics(Tag, "memory")),
  Layer.provide(Decorators.layerRetry(Tag)),
  Layer.provide(Decorators.layerTimeout(Tag, { duration: "30 seconds" })),
  Layer.provide(Layer.sync(Tag, MutableObjectStore.makeMemory)),
  Layer.provide(MetricsRegistry.layerFresh)
)
const decorated = MutableObjectStore.layerImmutable.pipe(Layer.provideMerge(decoratedMutable))

ObjectStoreSuite.run("memory, fully decorated", decorated)

const seed = (objects: ReadonlyArray<ImmutableObjectStore.SeedObject>) =>
  Effect.flatMap(Tag, (store) =>
    Effect.forEach(
      objects,
      (o) => store.put(o.name, Stream.succeed(o.bytes), { contentType: o.contentType, metadata: o.metadata }),
      { discard: true }
    )
  )

ObjectStoreSuite.runImmutable("memory view of the mutable store", MutableObjectStore.layerMemory, { seed })
ObjectStoreSuite.runImmutable("decorated view of a decorated mutable store", decorated, { seed })

// A store built with `make` from the required primitives only: optional features fail with Unsupported.
const minimal = Layer.sync(Tag, () => {
  const full = MutableObjectStore.makeMemory()
  return MutableObjectStore.make({
    head: full.head,
    list: full.list,
    get: full.get,
    put: full.put,
    delete: full.delete,
    copy: full.copy,
    conditionalPut: false
  })
})

ObjectStoreSuite.run("memory without optional features", minimal, {
  multipart: false,
  putRange: false,
  conditionalPut: false
})

describe("memory layers", () => {
  it.effect("MutableObjectStore.layerMemory provides both tags over the same objects", () =>
    Effect.gen(function* () {
      const mutable = yield* Tag
      const immutable = yield* ImmutableObjectStore.ImmutableObjectStore
      const info = yield* mutable.put("shared/a", Stream.succeed(new Uint8Array([1, 2, 3])))
      assert.deepStrictEqual(yield* immutable.head("shared/a"), Option.some(info))
      assert.deepStrictEqual(yield* immutable.getRange("shared/a", { start: 1, end: 3 }), new Uint8Array([2, 3]))
      yield* mutable.delete("shared/a")
      assert.isTrue(Option.isNone(yield* immutable.head("shared/a")))
    }).pipe(Effect.provide(MutableObjectStore.layerMemory))
  )

  it.effect("ImmutableObjectStore.layerMemoryWith serves its seed objects; layerMemory is empty", () =>
    Effect.gen(function* () {
      const seeded = yield* Effect.provide(
        ImmutableObjectStore.ImmutableObjectStore,
        ImmutableObjectStore.layerMemoryWith([
          { name: "b", bytes: new Uint8Array([9]), contentType: "x/y" },
          { name: "a", bytes: new Uint8Array(0), metadata: { k: "v" } }
        ])
      )
      const page = yield* seeded.list()
      assert.deepStrictEqual(
        page.objects.map((o) => [o.name, o.size, o.contentType, o.metadata]),
        [
          ["a", 0, undefined, { k: "v" }],
          ["b", 1, "x/y", {}]
        ]
      )
      const empty = yield* Effect.provide(ImmutableObjectStore.ImmutableObjectStore, ImmutableObjectStore.layerMemory)
      assert.deepStrictEqual((yield* empty.list()).objects, [])
    })
  )

  it.effect("an invalid seed object fails InvalidArgument", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(ImmutableObjectStore.makeMemory([{ name: "/bad", bytes: new Uint8Array(1) }]))
      assert.isTrue(StorageError.hasReason(e, "InvalidArgument"))
    })
  )

  it.effect("the decorated store records metrics under the MutableObjectStore port", () =>
    Effect.gen(function* () {
      const store = yield* Tag
      yield* store.put("m", Stream.succeed(new Uint8Array(4)))
      yield* Stream.runDrain(store.get("m"))
      const registry = yield* MetricsRegistry.MetricsRegistry
      const text = yield* registry.prometheus
      assert.include(text, 'port="MutableObjectStore"')
      assert.include(text, 'operation="put"')
      assert.include(text, 'operation="get"')
    }).pipe(
      Effect.provide(
        Decorators.layerMetrics(Tag, "memory").pipe(
          Layer.provide(Layer.sync(Tag, MutableObjectStore.makeMemory)),
          Layer.provideMerge(MetricsRegistry.layerFresh)
        )
      )
    )
  )
})
