import { assert, describe, it } from "@effect/vitest"
import { ConstraintPolicy, ConstraintViolation, Quota } from "@graviton/runtime"
import { Clock, Config, ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Schema, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"

const KiB = 1024
const GiB = 1024 * 1024 * 1024

const reason = (e: unknown): ConstraintViolation.Reason => {
  assert.isTrue(ConstraintViolation.isConstraintViolation(e), `expected a ConstraintViolation, got ${String(e)}`)
  return (e as ConstraintViolation.ConstraintViolation).reason
}

const chunks = (sizes: ReadonlyArray<number>) => Stream.fromIterable(sizes.map((n) => new Uint8Array(n)))

const small = (overrides: Partial<ConstraintPolicy.ConstraintConfig> = {}) =>
  ConstraintPolicy.make({ maxBlobSize: 1000, maxConcurrentUploads: 2, quotaPerTenant: 5000, ...overrides })

describe("ConstraintPolicy", () => {
  describe("checkUpload", () => {
    it.effect("fails TooLarge when the declared size is over maxBlobSize", () =>
      Effect.gen(function* () {
        const r = reason(yield* Effect.flip(small().checkUpload("t", 1001, {})))
        assert.strictEqual(r._tag, "TooLarge")
        if (r._tag === "TooLarge") assert.deepStrictEqual([r.limit, r.actual], [1000, 1001])
      })
    )

    it.effect("fails QuotaExceeded when the declared size would not fit", () =>
      Effect.gen(function* () {
        const p = small()
        yield* p.commitUsage("t", 4500)
        const r = reason(yield* Effect.flip(p.checkUpload("t", 600, {})))
        assert.strictEqual(r._tag, "QuotaExceeded")
        if (r._tag === "QuotaExceeded") assert.deepStrictEqual([r.limit, r.used, r.requested], [5000, 4500, 600])
        assert.strictEqual(yield* p.remainingQuota("t"), 500)
      })
    )

    it.effect("accepts a size at the limits and an unknown size, changing nothing", () =>
      Effect.gen(function* () {
        const p = small()
        yield* p.checkUpload("t", 1000, {})
        yield* p.checkUpload("t", undefined, {})
        yield* p.checkUpload("t", 0, {})
        assert.strictEqual(yield* p.remainingQuota("t"), 5000)
      })
    )
  })

  describe("acquirePermit", () => {
    it.effect("fails ConcurrencyExceeded when maxConcurrentUploads are held", () =>
      Effect.gen(function* () {
        const p = small()
        yield* p.acquirePermit("t")
        yield* p.acquirePermit("t")
        assert.strictEqual(reason(yield* Effect.flip(p.acquirePermit("t")))._tag, "ConcurrencyExceeded")
        yield* p.acquirePermit("other")
      })
    )

    it.effect("a permit is released when its holder is interrupted", () =>
      Effect.gen(function* () {
        const p = small({ maxConcurrentUploads: 1 })
        const holding = yield* Deferred.make<void>()
        const upload = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              yield* p.acquirePermit("t")
              yield* Deferred.succeed(holding, undefined)
              return yield* Effect.never
            })
          )
        )
        yield* Deferred.await(holding)
        assert.strictEqual(reason(yield* Effect.flip(Effect.scoped(p.acquirePermit("t"))))._tag, "ConcurrencyExceeded")
        yield* Fiber.interrupt(upload)
        yield* Effect.scoped(p.acquirePermit("t"))
      })
    )
  })

  describe("limitStream", () => {
    it.effect("passes bodies up to the limit unchanged", () =>
      Effect.gen(function* () {
        const out = yield* Stream.runCollect(chunks([400, 600]).pipe(small().limitStream("t", 1000)))
        assert.deepStrictEqual(
          out.map((c) => c.byteLength),
          [400, 600]
        )
      })
    )

    it.effect("fails TooLarge as soon as more bytes flow, without pulling further", () =>
      Effect.gen(function* () {
        let pulled = 0
        const body = Stream.fromIterable([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).pipe(
          Stream.rechunk(1),
          Stream.map(() => {
            pulled++
            return new Uint8Array(300)
          })
        )
        const seen: Array<number> = []
        const e = yield* Effect.flip(
          body.pipe(
            small().limitStream("t", 1000),
            Stream.runForEach((c) => Effect.sync(() => seen.push(c.byteLength)))
          )
        )
        const r = reason(e)
        assert.strictEqual(r._tag, "TooLarge")
        if (r._tag === "TooLarge") assert.deepStrictEqual([r.limit, r.actual], [1000, 1200])
        assert.deepStrictEqual(seen, [300, 300, 300])
        assert.strictEqual(pulled, 4)
      })
    )

    it.effect("counts afresh on every run", () =>
      Effect.gen(function* () {
        const limited = chunks([600]).pipe(small().limitStream("t", 1000))
        yield* Stream.runDrain(limited)
        yield* Stream.runDrain(limited)
      })
    )
  })

  describe("rateLimit", () => {
    it("is the identity without a rate limit", () => {
      const body = chunks([KiB, KiB])
      assert.strictEqual(small().rateLimit("t")(body), body)
    })

    it.effect("paces a tenant's bytes to bytesPerSecond", () =>
      Effect.gen(function* () {
        const p = small({ rateLimit: { bytesPerSecond: 1000, burstSize: 100 } })
        const f = yield* Effect.forkChild(
          Stream.runDrain(chunks([100, 100, 100, 100]).pipe(p.rateLimit("t"))).pipe(
            Effect.andThen(Clock.currentTimeMillis)
          )
        )
        yield* Effect.yieldNow
        for (let i = 0; i < 4; i++) {
          yield* TestClock.adjust(100)
          yield* Effect.yieldNow
        }
        assert.strictEqual(yield* Fiber.join(f), 300)
      })
    )

    it.effect("all streams of one tenant share the bucket; other tenants have their own", () =>
      Effect.gen(function* () {
        const p = small({ rateLimit: { bytesPerSecond: 1000, burstSize: 100 } })
        const run = (tenant: string) =>
          Effect.forkChild(
            Stream.runDrain(chunks([100, 100]).pipe(p.rateLimit(tenant))).pipe(Effect.andThen(Clock.currentTimeMillis))
          )
        const a = yield* run("t")
        const b = yield* run("t")
        const c = yield* run("u")
        yield* Effect.yieldNow
        for (let i = 0; i < 4; i++) {
          yield* TestClock.adjust(100)
          yield* Effect.yieldNow
        }
        const times = [yield* Fiber.join(a), yield* Fiber.join(b), yield* Fiber.join(c)]
        assert.strictEqual(Math.max(times[0]!, times[1]!), 300) // 400 bytes of "t" with 100 free
        assert.strictEqual(times[2], 100)
      })
    )
  })

  describe("admit and quota accounting", () => {
    it.effect("a successful upload keeps exactly the committed bytes", () =>
      Effect.gen(function* () {
        const p = small()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const a = yield* p.admit("t", { declaredSize: 800 })
            assert.strictEqual(a.maxBytes, 800)
            assert.strictEqual(yield* p.usedQuota("t"), 800) // reserved while in flight
            const n = yield* Stream.runFold(
              a.limit(chunks([500, 300])),
              () => 0,
              (acc, c) => acc + c.byteLength
            )
            yield* a.commit(n)
          })
        )
        assert.strictEqual(yield* p.usedQuota("t"), 800)
      })
    )

    it.effect("a failed upload consumes no quota, even after commit", () =>
      Effect.gen(function* () {
        const p = small()
        const exit = yield* Effect.exit(
          Effect.scoped(
            Effect.gen(function* () {
              const a = yield* p.admit("t", { declaredSize: 800 })
              yield* a.commit(800)
              return yield* Effect.fail("manifest commit failed")
            })
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(yield* p.usedQuota("t"), 0)
      })
    )

    it.effect("an interrupted upload consumes no quota and frees its permit", () =>
      Effect.gen(function* () {
        const p = small({ maxConcurrentUploads: 1 })
        const started = yield* Deferred.make<void>()
        const f = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              const a = yield* p.admit("t", { declaredSize: 900 })
              yield* Deferred.succeed(started, undefined)
              yield* Stream.runDrain(a.limit(Stream.never))
            })
          )
        )
        yield* Deferred.await(started)
        assert.strictEqual(yield* p.usedQuota("t"), 900)
        yield* Fiber.interrupt(f)
        assert.strictEqual(yield* p.usedQuota("t"), 0)
        yield* Effect.scoped(p.acquirePermit("t"))
      })
    )

    it.effect("an upload that ends without commit is not charged", () =>
      Effect.gen(function* () {
        const p = small()
        yield* Effect.scoped(p.admit("t", { declaredSize: 800 }))
        assert.strictEqual(yield* p.usedQuota("t"), 0)
      })
    )

    it.effect("commit charges the actual size, returning a surplus or taking more", () =>
      Effect.gen(function* () {
        const p = small()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const r = yield* p.reserve("t", 800)
            yield* r.commit(300)
            assert.strictEqual(yield* p.usedQuota("t"), 300)
            yield* r.commit(4900)
            assert.strictEqual(yield* r.held, 4900)
            assert.strictEqual(reason(yield* Effect.flip(r.commit(5001)))._tag, "QuotaExceeded")
            assert.strictEqual(yield* r.held, 4900)
          })
        )
        assert.strictEqual(yield* p.usedQuota("t"), 4900)
      })
    )

    it.effect("concurrent declared uploads cannot overbook the quota", () =>
      Effect.gen(function* () {
        const p = small({ maxConcurrentUploads: 100 })
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          () =>
            Effect.scoped(
              Effect.gen(function* () {
                const a = yield* p.admit("t", { declaredSize: 700 })
                yield* Effect.yieldNow
                yield* a.commit(700)
              })
            ).pipe(
              Effect.result,
              Effect.map((r) => r._tag)
            ),
          { concurrency: "unbounded" }
        )
        const ok = outcomes.filter((o) => o === "Success").length
        assert.strictEqual(ok, 7) // 7 * 700 = 4900 <= 5000
        assert.strictEqual(yield* p.usedQuota("t"), 4900)
      })
    )

    it.effect("an undeclared upload is cut off at maxBlobSize with TooLarge", () =>
      Effect.gen(function* () {
        const p = small()
        const e = yield* Effect.flip(
          Effect.scoped(
            Effect.gen(function* () {
              const a = yield* p.admit("t", {})
              assert.strictEqual(a.maxBytes, 1000)
              yield* Stream.runDrain(a.limit(chunks([600, 600])))
            })
          )
        )
        assert.strictEqual(reason(e)._tag, "TooLarge")
        assert.strictEqual(yield* p.usedQuota("t"), 0)
      })
    )

    it.effect("an undeclared upload is cut off at the remaining quota with QuotaExceeded", () =>
      Effect.gen(function* () {
        const p = small()
        yield* p.commitUsage("t", 4700)
        const e = yield* Effect.flip(
          Effect.scoped(
            Effect.gen(function* () {
              const a = yield* p.admit("t")
              assert.strictEqual(a.maxBytes, 300)
              yield* Stream.runDrain(a.limit(chunks([200, 200])))
            })
          )
        )
        const r = reason(e)
        assert.strictEqual(r._tag, "QuotaExceeded")
        if (r._tag === "QuotaExceeded") assert.deepStrictEqual([r.limit, r.used, r.requested], [5000, 4700, 400])
        assert.strictEqual(yield* p.usedQuota("t"), 4700)
      })
    )

    it.effect("admit refuses before any byte when the declared size is too large or over quota", () =>
      Effect.gen(function* () {
        const p = small()
        assert.strictEqual(
          reason(yield* Effect.flip(Effect.scoped(p.admit("t", { declaredSize: 2000 }))))._tag,
          "TooLarge"
        )
        yield* p.commitUsage("t", 4500)
        assert.strictEqual(
          reason(yield* Effect.flip(Effect.scoped(p.admit("t", { declaredSize: 600 }))))._tag,
          "QuotaExceeded"
        )
        // the refused admissions left no permit behind
        yield* Effect.scoped(Effect.andThen(p.acquirePermit("t"), p.acquirePermit("t")))
      })
    )

    it.effect("releaseUsage returns bytes (e.g. after a delete)", () =>
      Effect.gen(function* () {
        const p = small()
        yield* p.commitUsage("t", 1000)
        yield* p.releaseUsage("t", 400)
        assert.strictEqual(yield* p.usedQuota("t"), 600)
      })
    )

    it.effect("a supplied Quota service does the accounting", () =>
      Effect.gen(function* () {
        const policy = yield* ConstraintPolicy.ConstraintPolicy
        const quota = yield* Quota.Quota
        yield* policy.commitUsage("t", 70)
        assert.strictEqual(yield* quota.used("t"), 70)
        assert.strictEqual(reason(yield* Effect.flip(policy.checkUpload("t", 31)))._tag, "QuotaExceeded")
      }).pipe(
        Effect.provide(
          ConstraintPolicy.layerWithQuota(ConstraintPolicy.defaults).pipe(
            Layer.provideMerge(Quota.layerMemory({ defaultLimit: 100 }))
          )
        )
      )
    )
  })

  describe("configuration", () => {
    it("decoding fills in the documented defaults", () => {
      const c = Schema.decodeUnknownSync(ConstraintPolicy.ConstraintConfig)({})
      assert.deepStrictEqual(c, { maxBlobSize: 100 * GiB, maxConcurrentUploads: 10, quotaPerTenant: 1024 * GiB })
      assert.deepStrictEqual(c, ConstraintPolicy.defaults)
    })

    it("decoding rejects nonsense", () => {
      const bad = [
        { maxBlobSize: -1 },
        { maxConcurrentUploads: 0 },
        { quotaPerTenant: 1.5 },
        { rateLimit: { bytesPerSecond: 0, burstSize: 10 } }
      ]
      for (const input of bad) {
        assert.isTrue(Schema.decodeUnknownExit(ConstraintPolicy.ConstraintConfig)(input)._tag === "Failure")
      }
    })

    it.effect("reads defaults from an empty environment", () =>
      Effect.gen(function* () {
        const c = yield* ConstraintPolicy.config
        assert.deepStrictEqual(c, ConstraintPolicy.defaults)
      }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} }))))
    )

    it.effect("reads sizes with units, nested under the caller's prefix", () =>
      Effect.gen(function* () {
        const c = yield* ConstraintPolicy.config.pipe(Config.nested("GRAVITON"))
        assert.deepStrictEqual(c, {
          maxBlobSize: 64 * 1024 * 1024,
          maxConcurrentUploads: 3,
          quotaPerTenant: 5 * GiB,
          rateLimit: { bytesPerSecond: 256 * KiB, burstSize: 256 * KiB }
        })
      }).pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromEnv({
              env: {
                GRAVITON_MAX_BLOB_SIZE: "64 MiB",
                GRAVITON_MAX_CONCURRENT_UPLOADS: "3",
                GRAVITON_QUOTA_PER_TENANT: "5GiB",
                GRAVITON_RATE_LIMIT_BYTES_PER_SECOND: "262144"
              }
            })
          )
        )
      )
    )

    it.effect("rejects malformed values with a ConfigError", () =>
      Effect.gen(function* () {
        for (const env of [
          { MAX_BLOB_SIZE: "lots" },
          { MAX_BLOB_SIZE: "-5" },
          { MAX_CONCURRENT_UPLOADS: "0" },
          { RATE_LIMIT_BYTES_PER_SECOND: "0" }
        ]) {
          const r = yield* Effect.result(ConstraintPolicy.config.parse(ConfigProvider.fromEnv({ env })))
          assert.strictEqual(r._tag, "Failure", JSON.stringify(env))
        }
      })
    )

    it.effect("layerConfig builds the policy from the environment", () =>
      Effect.gen(function* () {
        const p = yield* ConstraintPolicy.ConstraintPolicy
        assert.strictEqual(p.config.maxBlobSize, 10)
        assert.strictEqual(reason(yield* Effect.flip(p.checkUpload("t", 11)))._tag, "TooLarge")
      }).pipe(
        Effect.provide(
          ConstraintPolicy.layerConfig().pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { MAX_BLOB_SIZE: "10" } })))
          )
        )
      )
    )

    it.effect("the unlimited layer accepts anything", () =>
      Effect.gen(function* () {
        const p = yield* ConstraintPolicy.ConstraintPolicy
        yield* p.checkUpload("t", 10 * 1024 * GiB)
        yield* Effect.scoped(
          Effect.forEach(Array.from({ length: 1000 }), () => p.acquirePermit("t"), { discard: true })
        )
        const scope = yield* Scope.make()
        const a = yield* Scope.provide(scope)(p.admit("t"))
        assert.strictEqual(a.maxBytes, Number.POSITIVE_INFINITY)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.provide(ConstraintPolicy.unlimited))
    )
  })
})
