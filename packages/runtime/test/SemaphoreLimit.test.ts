import { assert, describe, it } from "@effect/vitest"
import { ConstraintViolation, SemaphoreLimit } from "@graviton/runtime"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"

const reasonTag = (e: unknown) => {
  assert.isTrue(ConstraintViolation.isConstraintViolation(e))
  return (e as ConstraintViolation.ConstraintViolation).reason._tag
}

describe("SemaphoreLimit", () => {
  it.effect("tryAcquire takes permits up to the limit, then fails ConcurrencyExceeded", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 2 })
      yield* l.tryAcquire("t")
      yield* l.tryAcquire("t")
      assert.strictEqual(yield* l.available("t"), 0)
      const e = yield* Effect.flip(l.tryAcquire("t"))
      assert.strictEqual(reasonTag(e), "ConcurrencyExceeded")
      assert.strictEqual(e.tenant, "t")
      // other keys are independent
      yield* l.tryAcquire("u")
      assert.strictEqual(yield* l.available("u"), 1)
    })
  )

  it.effect("permits come back when the scope closes", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      yield* Effect.scoped(l.tryAcquire("t"))
      assert.strictEqual(yield* l.available("t"), 1)
      yield* Effect.scoped(l.acquire("t"))
      assert.strictEqual(yield* l.available("t"), 1)
    })
  )

  it.effect("per-key overrides replace the default limit", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1, overrides: { vip: 3 } })
      assert.strictEqual(yield* l.limit("vip"), 3)
      assert.strictEqual(yield* l.available("vip"), 3)
      assert.strictEqual(yield* l.available("x"), 1)
    })
  )

  it.effect("acquire waits for a permit to be released", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      const scope = yield* Scope.make()
      yield* Scope.provide(scope)(l.acquire("t"))
      const waiter = yield* Effect.forkChild(Effect.scoped(Effect.as(l.acquire("t"), "got it")))
      yield* Effect.yieldNow
      assert.isUndefined(waiter.pollUnsafe())
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Fiber.join(waiter), "got it")
      assert.strictEqual(yield* l.available("t"), 1)
    })
  )

  it.effect("acquireWithin gives up after the timeout having taken nothing", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      yield* l.tryAcquire("t")
      const f = yield* Effect.forkChild(Effect.scoped(Effect.flip(l.acquireWithin("t", "1 second"))))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      assert.strictEqual(reasonTag(yield* Fiber.join(f)), "ConcurrencyExceeded")
      assert.strictEqual(yield* l.available("t"), 0)
    })
  )

  it.effect("acquireWithin succeeds when a permit frees up in time", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      const scope = yield* Scope.make()
      yield* Scope.provide(scope)(l.acquire("t"))
      const f = yield* Effect.forkChild(Effect.scoped(Effect.as(l.acquireWithin("t", "1 second"), "ok")))
      yield* Effect.yieldNow
      yield* TestClock.adjust("500 millis")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Fiber.join(f), "ok")
    })
  )

  it.effect("a holder interrupted while holding returns its permit", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      const held = yield* Deferred.make<void>()
      const f = yield* Effect.forkChild(
        Effect.scoped(Effect.andThen(l.acquire("t"), Effect.andThen(Deferred.succeed(held, undefined), Effect.never)))
      )
      yield* Deferred.await(held)
      assert.strictEqual(yield* l.available("t"), 0)
      yield* Fiber.interrupt(f)
      assert.strictEqual(yield* l.available("t"), 1)
    })
  )

  it.effect("a waiter interrupted while waiting takes nothing", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 1 })
      const scope = yield* Scope.make()
      yield* Scope.provide(scope)(l.acquire("t"))
      const waiter = yield* Effect.forkChild(Effect.scoped(l.acquire("t")))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiter)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* l.available("t"), 1)
      yield* l.tryAcquire("t")
    })
  )

  it.effect("100 concurrent holders never exceed the limit, and all permits come back", () =>
    Effect.gen(function* () {
      const l = SemaphoreLimit.make({ defaultLimit: 7 })
      let active = 0
      let peak = 0
      yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          SemaphoreLimit.withPermit(
            l,
            "t"
          )(
            Effect.gen(function* () {
              active++
              peak = Math.max(peak, active)
              yield* Effect.sleep(1 + (i % 5))
              active--
            })
          ),
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.forkChild,
        Effect.tap(() => TestClock.adjust("1 second")),
        Effect.flatMap(Fiber.join)
      )
      assert.strictEqual(peak, 7)
      assert.strictEqual(yield* l.available("t"), 7)
    })
  )
})
