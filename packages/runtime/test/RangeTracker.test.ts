import { assert, describe, it } from "@effect/vitest"
import { RangeSet, Span } from "@graviton/core"
import { Decorators, KeyValueStore, MetricsRegistry, RangeTracker, StorageError } from "@graviton/runtime"
import { RangeTrackerSuite } from "@graviton/runtime/testing"
import { Effect, Layer, Option } from "effect"

RangeTrackerSuite.run("memory", RangeTracker.layerMemory)

RangeTrackerSuite.run(
  "over KeyValueStore memory",
  RangeTracker.layerKeyValueStore().pipe(Layer.provide(KeyValueStore.layerMemory))
)

const decoratedKv = Decorators.layerTracing(KeyValueStore.KeyValueStore).pipe(
  Layer.provide(Decorators.layerMetrics(KeyValueStore.KeyValueStore, "memory")),
  Layer.provide(Decorators.layerRetry(KeyValueStore.KeyValueStore)),
  Layer.provide(Decorators.layerTimeout(KeyValueStore.KeyValueStore, { duration: "30 seconds" })),
  Layer.provide(KeyValueStore.layerMemory)
)

const decorated = Decorators.layerTracing(RangeTracker.RangeTracker).pipe(
  Layer.provide(Decorators.layerMetrics(RangeTracker.RangeTracker, "kv")),
  Layer.provide(Decorators.layerRetry(RangeTracker.RangeTracker)),
  Layer.provide(Decorators.layerTimeout(RangeTracker.RangeTracker, { duration: "30 seconds" })),
  Layer.provide(RangeTracker.layerKeyValueStore("t/ranges/")),
  Layer.provide(decoratedKv),
  Layer.provide(MetricsRegistry.layerFresh)
)

RangeTrackerSuite.run("over KeyValueStore memory, fully decorated", decorated)

const span = Span.unsafeMake

describe("RangeTracker.fromKeyValueStore", () => {
  it.effect("stores each set under prefix + id, compactly, and removes the key when the set empties", () =>
    Effect.gen(function* () {
      const kv = KeyValueStore.makeMemory()
      const tracker = RangeTracker.fromKeyValueStore(kv, "ranges/")
      yield* tracker.markComplete("u1", span(0, 1024 * 1024))
      yield* tracker.markComplete("u1", span(1024 * 1024, 2 * 1024 * 1024))
      const stored = Option.getOrThrow(yield* kv.get("ranges/u1"))
      assert.isAtMost(stored.byteLength, 8)
      const page = yield* kv.list({ prefix: "ranges/" })
      assert.deepStrictEqual(
        page.entries.map((e) => e.key),
        ["ranges/u1"]
      )
      assert.isTrue(yield* tracker.compareAndSet("u1", yield* tracker.getCompleted("u1"), RangeSet.empty))
      assert.isTrue(Option.isNone(yield* kv.get("ranges/u1")))
    })
  )

  it.effect("a stored value that does not decode fails with Corrupt", () =>
    Effect.gen(function* () {
      const kv = KeyValueStore.makeMemory()
      const tracker = RangeTracker.fromKeyValueStore(kv, "r/")
      const garbage: ReadonlyArray<ReadonlyArray<number>> = [
        [],
        [2, 0],
        [1],
        [1, 1, 0],
        [1, 1, 0, 0],
        [1, 2, 0, 5, 0, 5],
        [1, 1, 0, 5, 9],
        [1, 0x80],
        [1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1],
        [1, 0xff, 0xff, 0xff, 0x0f]
      ]
      for (const [i, bytes] of garbage.entries()) {
        yield* kv.put(`r/g${i}`, Uint8Array.from(bytes))
        const e = yield* Effect.flip(tracker.getCompleted(`g${i}`))
        assert.isTrue(StorageError.hasReason(e, "Corrupt"), `case ${i}: ${e.message}`)
        const m = yield* Effect.flip(tracker.markComplete(`g${i}`, span(0, 1)))
        assert.isTrue(StorageError.hasReason(m, "Corrupt"))
      }
    })
  )

  it.effect("two trackers over one store (two processes) see and merge each other's spans", () =>
    Effect.gen(function* () {
      const kv = KeyValueStore.makeMemory()
      const a = RangeTracker.fromKeyValueStore(kv)
      const b = RangeTracker.fromKeyValueStore(kv)
      yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => i),
        (i) => (i % 2 === 0 ? a : b).markComplete("shared", span(i * 10, i * 10 + 10)),
        { concurrency: 50 }
      )
      assert.isTrue(yield* a.isComplete("shared", 2000))
      assert.isTrue(yield* b.isComplete("shared", 2000))
      assert.strictEqual(RangeSet.format(yield* b.getCompleted("shared")), "{[0, 2000)}")
    })
  )
})
