import { assert, describe, it } from "@effect/vitest"
import { Throttle } from "@graviton/runtime"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"

const KiB = 1024
const MiB = 1024 * KiB

/** Forks `effect`, then moves the TestClock in 1 ms steps until it completes; returns the virtual time it took. */
const timed = <A, E>(effect: Effect.Effect<A, E>, maxMs = 60_000) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    let end = -1
    const fiber = yield* Effect.forkChild(
      Effect.tap(effect, () =>
        Effect.map(Clock.currentTimeMillis, (t) => {
          end = t
        })
      )
    )
    yield* Effect.yieldNow
    for (let i = 0; i < maxMs && end < 0; i++) {
      yield* TestClock.adjust(1)
      yield* Effect.yieldNow
    }
    const value = yield* Fiber.join(fiber)
    return { value, ms: end - start }
  })

describe("Throttle", () => {
  it.effect("a full bucket lets a burst through at once", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 500 })
      const { ms } = yield* timed(t.take(500))
      assert.strictEqual(ms, 0)
      assert.strictEqual(yield* t.available, 0)
    })
  )

  it.effect("tokens refill at bytesPerSecond and cap at burstSize", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 500 })
      yield* t.take(500)
      yield* TestClock.adjust(200)
      assert.strictEqual(yield* t.available, 200)
      yield* TestClock.adjust(10_000)
      assert.strictEqual(yield* t.available, 500)
    })
  )

  it.effect("take waits exactly until its tokens are paid for", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      yield* t.take(100)
      const { ms } = yield* timed(t.take(250))
      assert.strictEqual(ms, 250)
    })
  )

  it.effect("a take larger than the burst goes into debt and still honours the rate", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      const { ms } = yield* timed(t.take(1100))
      assert.strictEqual(ms, 1000) // 100 from the full bucket, 1000 more at 1000 B/s
      assert.isFalse(yield* t.tryTake(1))
    })
  )

  it.effect("concurrent takes are served first come, first served", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      yield* t.take(100)
      const done: Array<string> = []
      const a = yield* Effect.forkChild(
        Effect.andThen(
          t.take(100),
          Effect.sync(() => done.push("a"))
        )
      )
      const b = yield* Effect.forkChild(
        Effect.andThen(
          t.take(100),
          Effect.sync(() => done.push("b"))
        )
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust(100)
      yield* Fiber.join(a)
      assert.deepStrictEqual(done, ["a"])
      yield* TestClock.adjust(100)
      yield* Fiber.join(b)
      assert.deepStrictEqual(done, ["a", "b"])
    })
  )

  it.effect("tryTake succeeds only when the tokens are there, and never creates debt", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      assert.isTrue(yield* t.tryTake(60))
      assert.isFalse(yield* t.tryTake(60))
      assert.strictEqual(yield* t.available, 40)
      assert.isFalse(yield* t.tryTake(101))
      yield* TestClock.adjust(20)
      assert.isTrue(yield* t.tryTake(60))
    })
  )

  it.effect("an interrupted wait refunds its tokens", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      yield* t.take(100)
      const f = yield* Effect.forkChild(t.take(100))
      yield* Effect.yieldNow
      assert.strictEqual(yield* t.available, -100)
      yield* Fiber.interrupt(f)
      assert.strictEqual(yield* t.available, 0)
    })
  )

  it.effect("throttleBytes paces 1 MiB at 256 KiB/s with a 64 KiB burst to finish at 3.75 s", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 256 * KiB, burstSize: 64 * KiB })
      const body = Stream.fromIterable(Array.from({ length: 16 }, (_, i) => new Uint8Array(64 * KiB).fill(i)))
      const { value, ms } = yield* timed(Stream.runCollect(body.pipe(Throttle.throttleBytes(t))))
      assert.strictEqual(ms, 3750)
      assert.strictEqual(
        value.reduce((n, c) => n + c.byteLength, 0),
        MiB
      )
    })
  )

  it.effect("throttleBytes splits chunks larger than the burst without changing the bytes", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 256 * KiB, burstSize: 64 * KiB })
      const big = new Uint8Array(MiB)
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
      const { value, ms } = yield* timed(Stream.runCollect(Stream.succeed(big).pipe(Throttle.throttleBytes(t))))
      assert.strictEqual(ms, 3750)
      assert.strictEqual(value.length, 16)
      assert.isTrue(value.every((c) => c.byteLength === 64 * KiB))
      assert.deepStrictEqual(Buffer.concat(value), Buffer.from(big))
    })
  )

  it.effect("pacing emits each chunk only after it is paid for", () =>
    Effect.gen(function* () {
      const t = Throttle.make({ bytesPerSecond: 1000, burstSize: 100 })
      const seen: Array<number> = []
      const body = Stream.fromIterable([1, 2, 3].map(() => new Uint8Array(100)))
      const fiber = yield* Effect.forkChild(
        body.pipe(
          Throttle.throttleBytes(t),
          Stream.runForEach(() =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              seen.push(now)
            })
          )
        )
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust(100)
      yield* Effect.yieldNow
      yield* TestClock.adjust(100)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(seen, [0, 100, 200])
    })
  )
})
