import { assert, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import { BlockStore, Decorators, FaultInjection, MetricKeys, MetricsRegistry, StorageError } from "@graviton/runtime"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"

const tag = BlockStore.BlockStore

describe("decorator stacking", () => {
  it.effect("timeout inside retry bounds each attempt: two slow attempts time out, the third succeeds", () =>
    Effect.gen(function* () {
      const faults = FaultInjection.makeInjector([
        FaultInjection.delayAt("get", 1, "10 seconds"),
        FaultInjection.delayAt("get", 2, "10 seconds")
      ])
      const base = BlockStore.makeMemory()
      const b = Gen.block()
      yield* base.put(b.key, b.bytes)
      const store = Decorators.withRetry(tag, { times: 3, base: "100 millis" })(
        Decorators.withTimeout(tag, { duration: "1 second" })(FaultInjection.withFaults(tag, faults)(base))
      )
      const fiber = yield* Effect.forkChild(store.get(b.key))
      yield* TestClock.adjust("1 second") // attempt 1 times out
      yield* TestClock.adjust("100 millis") // backoff
      yield* TestClock.adjust("1 second") // attempt 2 times out
      yield* TestClock.adjust("200 millis") // backoff
      const got = yield* Fiber.join(fiber)
      assert.isTrue(Gen.bytesEqual(Option.getOrThrow(got), b.bytes))
      assert.strictEqual(faults.calls("get"), 3)
    })
  )

  it.effect("timeout outside retry bounds the whole operation instead", () =>
    Effect.gen(function* () {
      const faults = FaultInjection.makeInjector([FaultInjection.delayAt("get", undefined, "10 seconds")])
      const base = BlockStore.makeMemory()
      const store = Decorators.withTimeout(tag, { duration: "1 second" })(
        Decorators.withRetry(tag, { times: 3 })(FaultInjection.withFaults(tag, faults)(base))
      )
      const fiber = yield* Effect.forkChild(Effect.flip(store.get(Gen.block().key)))
      yield* TestClock.adjust("1 second")
      const e = yield* Fiber.join(fiber)
      assert.strictEqual(e.reason._tag, "Timeout")
      assert.strictEqual(faults.calls("get"), 1)
    })
  )

  it.effect("retry gives up after `times` retries and marks the error exhausted; nested retries do not multiply", () =>
    Effect.gen(function* () {
      const faults = FaultInjection.makeInjector([
        FaultInjection.failAt("has", undefined, StorageError.unavailable("BlockStore.has"))
      ])
      const inner = Decorators.withRetry(tag, { times: 2, base: 1 })(
        FaultInjection.withFaults(tag, faults)(BlockStore.makeMemory())
      )
      const outer = Decorators.withRetry(tag, { times: 5, base: 1 })(inner)
      const fiber = yield* Effect.forkChild(Effect.flip(outer.has(Gen.block().key)))
      yield* TestClock.adjust("1 minute")
      const e = yield* Fiber.join(fiber)
      assert.strictEqual(e.reason._tag, "Unavailable")
      assert.isFalse(e.retryable)
      assert.include(e.message, "retries exhausted")
      assert.strictEqual(faults.calls("has"), 3)
    })
  )

  it.effect("non-retryable errors pass through at once", () =>
    Effect.gen(function* () {
      const faults = FaultInjection.makeInjector([
        FaultInjection.failAt("has", undefined, StorageError.invalidArgument("BlockStore.has"))
      ])
      const store = Decorators.withRetry(tag, { times: 5 })(
        FaultInjection.withFaults(tag, faults)(BlockStore.makeMemory())
      )
      const e = yield* Effect.flip(store.has(Gen.block().key))
      assert.strictEqual(e.reason._tag, "InvalidArgument")
      assert.strictEqual(faults.calls("has"), 1)
    })
  )

  it.effect("a transient failure is retried and succeeds", () =>
    Effect.gen(function* () {
      const faults = FaultInjection.makeInjector([
        FaultInjection.failAt("put", 1, StorageError.unavailable("BlockStore.put"))
      ])
      const store = Decorators.withRetry(tag, { times: 3, base: 1 })(
        FaultInjection.withFaults(tag, faults)(BlockStore.makeMemory())
      )
      const b = Gen.block()
      const fiber = yield* Effect.forkChild(store.put(b.key, b.bytes))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "fresh")
      assert.strictEqual(faults.calls("put"), 2)
    })
  )
})

describe("withMetrics", () => {
  it.effect("counts operations by outcome, failures by reason, and returns in-flight to zero", () =>
    Effect.gen(function* () {
      const registry = yield* MetricsRegistry.MetricsRegistry
      const faults = FaultInjection.makeInjector([
        FaultInjection.failAt("get", 2, StorageError.unavailable("BlockStore.get"))
      ])
      const store = Decorators.withMetrics(
        tag,
        registry,
        "memory"
      )(FaultInjection.withFaults(tag, faults)(BlockStore.makeMemory()))
      const b = Gen.block()
      yield* store.put(b.key, b.bytes)
      yield* store.get(b.key)
      yield* Effect.flip(store.get(b.key))
      yield* store.get(b.key)
      const labels = { backend: "memory", port: "BlockStore" }
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.portOperations, { ...labels, operation: "get", outcome: "ok" }),
        2
      )
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.portOperations, { ...labels, operation: "get", outcome: "error" }),
        1
      )
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.portOperations, { ...labels, operation: "put", outcome: "ok" }),
        1
      )
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.backendFailures, {
          ...labels,
          operation: "get",
          reason: "Unavailable"
        }),
        1
      )
      const snapshot = yield* registry.snapshot
      const inflight = snapshot.find((s) => s.name === MetricKeys.inflight.name)
      assert.strictEqual(inflight?.value, 0)
      const durations = snapshot.find(
        (s) => s.name === MetricKeys.operationDuration.name && s.labels.operation === "get"
      )
      assert.strictEqual(durations?.count, 3)
    }).pipe(Effect.provide(MetricsRegistry.layerFresh))
  )

  it.effect("label values are sanitised and the number of series per metric is bounded", () =>
    Effect.gen(function* () {
      const registry = yield* MetricsRegistry.MetricsRegistry
      for (let i = 0; i < MetricsRegistry.maxSeriesPerMetric + 50; i++) {
        yield* registry.increment(MetricKeys.retries, { port: "P", operation: `op-${i}` })
      }
      yield* registry.increment(MetricKeys.retries, { port: "P", operation: 'bad "label"\nvalue' })
      const series = (yield* registry.snapshot).filter((s) => s.name === MetricKeys.retries.name)
      assert.strictEqual(series.length, MetricsRegistry.maxSeriesPerMetric + 1)
      const other = series.find((s) => s.labels.operation === "other")
      assert.strictEqual(other?.value, 51)
      const text = yield* registry.prometheus
      assert.notInclude(text, "\nvalue")
      assert.match(text, /# TYPE graviton_retries_total counter/)
    }).pipe(Effect.provide(MetricsRegistry.layerFresh))
  )
})

describe("withTracing", () => {
  it.effect("runs every operation in a span named <Port>.<method> carrying the key", () =>
    Effect.gen(function* () {
      const seen: Array<{ name: string; key: unknown }> = []
      const base = BlockStore.makeMemory()
      const spy = BlockStore.BlockStore.of({
        ...base,
        has: (key) =>
          Effect.flatMap(Effect.currentSpan, (span) =>
            Effect.andThen(
              Effect.sync(() => {
                seen.push({ name: span.name, key: span.attributes.get("graviton.key") })
              }),
              base.has(key)
            )
          ).pipe(Effect.catchTag("NoSuchElementError", () => base.has(key)))
      })
      const store = Decorators.withTracing(tag)(spy)
      const b = Gen.block()
      yield* store.has(b.key)
      assert.deepStrictEqual(seen, [{ name: "BlockStore.has", key: BinaryKey.format(b.key) }])
    })
  )
})
