import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, RangeSet, Span } from "@graviton/core"
import { Decorators, MetricsRegistry, ReplicaIndex } from "@graviton/runtime"
import { ReplicaIndexSuite } from "@graviton/runtime/testing"
import { Effect, Layer, Schema } from "effect"

ReplicaIndexSuite.run("memory", ReplicaIndex.layerMemory)

const decorated = Decorators.layerTracing(ReplicaIndex.ReplicaIndex).pipe(
  Layer.provide(Decorators.layerMetrics(ReplicaIndex.ReplicaIndex, "memory")),
  Layer.provide(Decorators.layerRetry(ReplicaIndex.ReplicaIndex)),
  Layer.provide(Decorators.layerTimeout(ReplicaIndex.ReplicaIndex, { duration: "30 seconds" })),
  Layer.provide(ReplicaIndex.layerMemory),
  Layer.provide(MetricsRegistry.layerFresh)
)

ReplicaIndexSuite.run("memory, fully decorated", decorated)

describe("ReplicaIndex schemas", () => {
  it.effect("ReplicationStatus and Replica round-trip through JSON", () =>
    Effect.gen(function* () {
      const status: ReplicaIndex.ReplicationStatus = {
        target: 3,
        actual: 2,
        healthy: 1,
        missingRanges: RangeSet.of(Span.unsafeMake(0, 10), Span.unsafeMake(20, 30))
      }
      const StatusJson = Schema.toCodecJson(ReplicaIndex.ReplicationStatus)
      const json = yield* Schema.encodeEffect(StatusJson)(status)
      assert.deepStrictEqual(JSON.parse(JSON.stringify(json)), {
        target: 3,
        actual: 2,
        healthy: 1,
        missingRanges: [
          { start: 0, end: 10 },
          { start: 20, end: 30 }
        ]
      })
      const back = yield* Schema.decodeUnknownEffect(StatusJson)(json)
      assert.strictEqual(RangeSet.format(back.missingRanges), "{[0, 10), [20, 30)}")
      const bad = yield* Effect.flip(
        Schema.decodeUnknownEffect(StatusJson)({ ...(json as object), missingRanges: [{ start: 5, end: 1 }] })
      )
      assert.isString(bad.message)
      const replica: ReplicaIndex.Replica = {
        sector: "s1",
        ranges: RangeSet.of(Span.unsafeMake(0, 4)),
        healthy: false,
        reason: "bad disk",
        updatedAt: 1700000000000
      }
      const ReplicaJson = Schema.toCodecJson(ReplicaIndex.Replica)
      const r = yield* Schema.decodeUnknownEffect(ReplicaJson)(yield* Schema.encodeEffect(ReplicaJson)(replica))
      assert.strictEqual(r.reason, "bad disk")
      assert.isFalse(r.healthy)
    })
  )

  it("statusOf ignores unhealthy replicas for coverage", () => {
    const key = BinaryKey.unsafeMake("sha-256", "ab".repeat(32), 100)
    const st = ReplicaIndex.statusOf(key, 2, [
      { sector: "a", ranges: RangeSet.of(Span.unsafeMake(0, 100)), healthy: false, updatedAt: 0 },
      { sector: "b", ranges: RangeSet.of(Span.unsafeMake(0, 50)), healthy: true, updatedAt: 0 }
    ])
    assert.deepStrictEqual([st.actual, st.healthy], [2, 1])
    assert.strictEqual(RangeSet.format(st.missingRanges), "{[50, 100)}")
  })
})
