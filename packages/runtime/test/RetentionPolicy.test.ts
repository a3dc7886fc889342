import { assert, describe, it } from "@effect/vitest"
import { RetentionPolicy } from "@graviton/runtime"
import { ConfigProvider, Duration, Effect, Option, Result, Schema } from "effect"

const DAY = 86_400_000
const T0 = Date.UTC(2025, 0, 1)

const blob = (attributes: Record<string, string> = {}, createdAt = T0): RetentionPolicy.BlobInfo => ({
  key: "sha-256:00:1",
  createdAt,
  attributes
})

const days = (o: Option.Option<Duration.Duration>) => Option.map(o, (d) => Duration.toMillis(d) / DAY)

describe("RetentionPolicy", () => {
  it("infinite keeps everything forever", () => {
    const p = RetentionPolicy.make(RetentionPolicy.infinite())
    assert.isTrue(Option.isNone(p.retentionPeriod(blob())))
    assert.isFalse(p.canDelete(blob(), T0 + 100_000 * DAY))
    assert.isFalse(p.shouldArchive(blob(), T0 + 100_000 * DAY))
  })

  it("timeBased allows deletion exactly when the period has elapsed", () => {
    const p = RetentionPolicy.make(RetentionPolicy.timeBased(30))
    assert.deepStrictEqual(days(p.retentionPeriod(blob())), Option.some(30))
    assert.isFalse(p.canDelete(blob(), T0 + 30 * DAY - 1))
    assert.isTrue(p.canDelete(blob(), T0 + 30 * DAY))
  })

  it("archives once archiveAfterDays is reached, until the blob becomes deletable", () => {
    const p = RetentionPolicy.make(RetentionPolicy.timeBased(30, { archiveAfterDays: 7 }))
    assert.isFalse(p.shouldArchive(blob(), T0 + 7 * DAY - 1))
    assert.isTrue(p.shouldArchive(blob(), T0 + 7 * DAY))
    assert.isFalse(p.shouldArchive(blob(), T0 + 30 * DAY))
    const forever = RetentionPolicy.make(RetentionPolicy.infinite({ archiveAfterDays: 1 }))
    assert.isTrue(forever.shouldArchive(blob(), T0 + 10_000 * DAY))
  })

  describe("attributeBased", () => {
    const policy = RetentionPolicy.make(
      RetentionPolicy.attributeBased(
        [
          { attribute: "legal-hold", forever: true },
          { attribute: "class", equals: "log", retainDays: 7 },
          { attribute: "class", matches: "^tmp-", retainDays: 1, archiveAfterDays: 0 },
          { attribute: "class", equals: "log", retainDays: 999 } // shadowed by the earlier rule
        ],
        RetentionPolicy.timeBased(365)
      )
    )

    it("the first matching rule decides", () => {
      assert.deepStrictEqual(days(policy.retentionPeriod(blob({ class: "log" }))), Option.some(7))
      assert.isTrue(Option.isNone(policy.retentionPeriod(blob({ class: "log", "legal-hold": "" }))))
    })

    it("equals, matches and presence-only rules match as documented", () => {
      assert.deepStrictEqual(days(policy.retentionPeriod(blob({ class: "tmp-upload" }))), Option.some(1))
      assert.deepStrictEqual(days(policy.retentionPeriod(blob({ class: "xtmp-" }))), Option.some(365))
      assert.isTrue(Option.isNone(policy.retentionPeriod(blob({ "legal-hold": "anything" }))))
      assert.deepStrictEqual(days(policy.retentionPeriod(blob({ class: "LOG" }))), Option.some(365))
    })

    it("blobs no rule matches use the fallback", () => {
      assert.deepStrictEqual(days(policy.retentionPeriod(blob())), Option.some(365))
      assert.isTrue(policy.canDelete(blob(), T0 + 365 * DAY))
    })

    it("inherited object properties are not attributes", () => {
      const q = RetentionPolicy.make(
        RetentionPolicy.attributeBased([{ attribute: "toString", retainDays: 1 }], RetentionPolicy.infinite())
      )
      assert.isTrue(Option.isNone(q.retentionPeriod(blob())))
    })

    it("a rule's archiveAfterDays applies to the blobs it matches", () => {
      assert.isTrue(policy.shouldArchive(blob({ class: "tmp-x" }), T0))
      assert.isFalse(policy.shouldArchive(blob({ class: "log" }), T0 + 3 * DAY))
    })
  })

  describe("as data", () => {
    it("constructors reject invalid policies", () => {
      assert.throws(() => RetentionPolicy.timeBased(-1))
      assert.throws(() => RetentionPolicy.attributeBased([{ attribute: "a" }]))
      assert.throws(() => RetentionPolicy.attributeBased([{ attribute: "a", retainDays: 1, forever: true }]))
      assert.throws(() => RetentionPolicy.attributeBased([{ attribute: "a", matches: "(", retainDays: 1 }]))
      assert.throws(() =>
        RetentionPolicy.attributeBased([{ attribute: "a", equals: "x", matches: "x", forever: true }])
      )
    })

    it("decodes a JSON document", () => {
      const r = RetentionPolicy.decodeJson(
        JSON.stringify({
          _tag: "AttributeBased",
          rules: [{ attribute: "class", equals: "log", retainDays: 7 }],
          fallback: { _tag: "TimeBased", days: 90 }
        })
      )
      assert.isTrue(Result.isSuccess(r))
      const p = RetentionPolicy.make(Result.getOrThrow(r))
      assert.isTrue(p.canDelete(blob({ class: "log" }), T0 + 7 * DAY))
      assert.isFalse(p.canDelete(blob({}), T0 + 7 * DAY))
    })

    it("malformed documents are typed errors, never exceptions", () => {
      for (const text of [
        "",
        "{",
        "null",
        "42",
        '{"_tag":"Forever"}',
        '{"_tag":"TimeBased"}',
        '{"_tag":"TimeBased","days":-3}',
        '{"_tag":"AttributeBased","rules":[{"attribute":"a","matches":"[","retainDays":1}],"fallback":{"_tag":"Infinite"}}',
        '{"_tag":"AttributeBased","rules":[],"fallback":{"_tag":"AttributeBased","rules":[]}}'
      ]) {
        const r = RetentionPolicy.decodeJson(text)
        assert.isTrue(Result.isFailure(r), text)
        if (Result.isFailure(r)) assert.strictEqual(r.failure._tag, "InvalidRetentionPolicy")
      }
    })

    it.effect("reads the policy from config, Infinite when missing", () =>
      Effect.gen(function* () {
        const missing = yield* RetentionPolicy.config.parse(ConfigProvider.fromEnv({ env: {} }))
        assert.deepStrictEqual(missing, { _tag: "Infinite" })
        const set = yield* RetentionPolicy.config.parse(
          ConfigProvider.fromEnv({ env: { POLICY: '{"_tag":"TimeBased","days":3}' } })
        )
        assert.deepStrictEqual(set, { _tag: "TimeBased", days: 3 })
        const bad = yield* Effect.result(
          RetentionPolicy.config.parse(ConfigProvider.fromEnv({ env: { POLICY: '{"_tag":"TimeBased"}' } }))
        )
        assert.strictEqual(bad._tag, "Failure")
      })
    )
  })

  it.prop(
    "deletability agrees with the retention period and, once reached, lasts",
    [
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 })),
      Schema.Literals(["log", "tmp-a", "other", "none"])
    ],
    ([retain, ageA, ageB, cls]) => {
      const p = RetentionPolicy.make(
        RetentionPolicy.attributeBased(
          [
            { attribute: "class", equals: "log", retainDays: retain },
            { attribute: "class", matches: "^tmp", forever: true }
          ],
          RetentionPolicy.timeBased(retain + 1)
        )
      )
      const b = blob(cls === "none" ? {} : { class: cls })
      const [early, late] = ageA <= ageB ? [ageA, ageB] : [ageB, ageA]
      const period = p.retentionPeriod(b)
      const at = (d: number) => T0 + d * DAY
      assert.strictEqual(
        p.canDelete(b, at(early)),
        Option.isSome(period) && early * DAY >= Duration.toMillis(period.value)
      )
      if (p.canDelete(b, at(early))) assert.isTrue(p.canDelete(b, at(late)))
      assert.isFalse(p.canDelete(b, at(early)) && p.shouldArchive(b, at(early)))
    }
  )
})
