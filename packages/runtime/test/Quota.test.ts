import { assert, describe, it } from "@effect/vitest"
import { ConstraintViolation, Quota } from "@graviton/runtime"
import { Effect, Schema } from "effect"

const violation = (e: unknown): ConstraintViolation.ConstraintViolation => {
  assert.isTrue(ConstraintViolation.isConstraintViolation(e))
  return e as ConstraintViolation.ConstraintViolation
}

describe("Quota", () => {
  it.effect("take adds to usage and remaining is limit minus used", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 100 })
      yield* q.take("t", 30)
      yield* q.take("t", 70)
      assert.strictEqual(yield* q.used("t"), 100)
      assert.strictEqual(yield* q.remaining("t"), 0)
      assert.strictEqual(yield* q.used("other"), 0)
    })
  )

  it.effect("take that would exceed the limit fails QuotaExceeded and changes nothing", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 100 })
      yield* q.take("t", 60)
      const e = violation(yield* Effect.flip(q.take("t", 41)))
      assert.strictEqual(e.tenant, "t")
      const r = e.reason
      assert.strictEqual(r._tag, "QuotaExceeded")
      if (r._tag === "QuotaExceeded") assert.deepStrictEqual([r.limit, r.used, r.requested], [100, 60, 41])
      assert.strictEqual(yield* q.used("t"), 60)
    })
  )

  it.effect("per-tenant overrides replace the default limit", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 10, overrides: { big: 1000 } })
      assert.strictEqual(yield* q.limit("big"), 1000)
      assert.strictEqual(yield* q.limit("small"), 10)
      yield* q.take("big", 500)
      assert.isTrue(ConstraintViolation.isConstraintViolation(yield* Effect.flip(q.take("small", 11))))
    })
  )

  it.effect("release never makes usage negative", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 100 })
      yield* q.take("t", 10)
      yield* q.release("t", 50)
      assert.strictEqual(yield* q.used("t"), 0)
      assert.strictEqual(yield* q.remaining("t"), 100)
    })
  )

  it.effect("initial usage is accounted", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 100, initialUsage: { t: 90 } })
      assert.strictEqual(yield* q.remaining("t"), 10)
      assert.isTrue(ConstraintViolation.isConstraintViolation(yield* Effect.flip(q.take("t", 11))))
    })
  )

  it.effect("negative byte counts are defects, not silent credits", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 100 })
      const exit = yield* Effect.exit(q.take("t", -5))
      assert.isTrue(exit._tag === "Failure")
      assert.strictEqual(yield* q.used("t"), 0)
    })
  )

  it.effect("100 fibers taking concurrently never exceed the limit", () =>
    Effect.gen(function* () {
      const q = Quota.makeMemory({ defaultLimit: 1000 })
      let over = false
      const results = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.gen(function* () {
            yield* Effect.yieldNow
            const r = yield* Effect.result(q.take("t", 15 + (i % 7)))
            if ((yield* q.used("t")) > 1000) over = true
            return r._tag === "Success" ? 15 + (i % 7) : 0
          }),
        { concurrency: "unbounded" }
      )
      const granted = results.reduce((a, b) => a + b, 0)
      assert.isFalse(over)
      assert.strictEqual(yield* q.used("t"), granted)
      assert.isAtMost(granted, 1000)
      assert.isAbove(granted, 1000 - 21) // it filled up: no take failed while room was left for it
    })
  )

  it.effect.prop(
    "usage stays within [0, limit] under any sequence of takes and releases",
    [
      Schema.Array(
        Schema.Struct({
          take: Schema.Boolean,
          bytes: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400 }))
        })
      )
    ],
    ([ops]) =>
      Effect.gen(function* () {
        const q = Quota.makeMemory({ defaultLimit: 1000 })
        let model = 0
        yield* Effect.forEach(
          ops,
          (op) =>
            Effect.gen(function* () {
              if (op.take) {
                const r = yield* Effect.result(q.take("t", op.bytes))
                assert.strictEqual(r._tag === "Success", model + op.bytes <= 1000)
                if (r._tag === "Success") model += op.bytes
              } else {
                yield* q.release("t", op.bytes)
                model = Math.max(0, model - op.bytes)
              }
              const used = yield* q.used("t")
              assert.strictEqual(used, model)
              assert.isTrue(used >= 0 && used <= 1000)
            }),
          { discard: true }
        )
      })
  )
})
