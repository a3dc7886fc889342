/**
 * The ReplicaIndex contract suite. Every backend runs it against its own layer:
 *
 * ```ts
 * ReplicaIndexSuite.run("pg", PgLayers.replicaIndex)
 * ```
 *
 * Every test uses fresh random keys and sector names, so the suite can share a backend with other suites.
 *
 * @since 0.1.0
 */

import { assert, layer } from "@effect/vitest"
import { BinaryKey, RangeSet, Span } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as ReplicaIndex from "../ReplicaIndex.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout in ms. */
  readonly timeout?: number | undefined
  /** Whether `updatedAt` follows the Effect Clock (TestClock); false for server-side clocks. */
  readonly clockDriven?: boolean | undefined
}

const span = (start: number, end: number): Span.Span => Span.unsafeMake(start, end)
const set = (...pairs: ReadonlyArray<readonly [number, number]>): RangeSet.RangeSet =>
  RangeSet.fromSpans(pairs.map(([s, e]) => span(s, e)))
const fmt = RangeSet.format

/** A random key of the given size (the digest is random: the index never hashes). */
const keyOf = (size: number): BinaryKey.BinaryKey =>
  BinaryKey.unsafeMake("sha-256", Buffer.from(Gen.randomBytes(32)).toString("hex"), size)

const sector = () => Gen.name("sector")

const whole = (key: BinaryKey.BinaryKey) => set([0, key.size])

const collect = (index: ReplicaIndex.ReplicaIndex, s: string) =>
  Effect.map(Stream.runCollect(index.keysInSector(s)), (keys) => keys.map(BinaryKey.format))

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

export const run = <E>(name: string, indexLayer: Layer.Layer<ReplicaIndex.ReplicaIndex, E>, options: Options = {}) =>
  layer(indexLayer, { timeout: "120 seconds" })(`ReplicaIndex contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000

    it.effect(
      "addReplica records a healthy replica that findReplicas returns",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(1000)
          const s = sector()
          const r = yield* index.addReplica(key, s, whole(key))
          assert.strictEqual(r.sector, s)
          assert.strictEqual(fmt(r.ranges), "{[0, 1000)}")
          assert.isTrue(r.healthy)
          assert.isUndefined(r.reason)
          const found = yield* index.findReplicas(key)
          assert.strictEqual(found.length, 1)
          assert.strictEqual(found[0]!.sector, s)
          assert.strictEqual(fmt(found[0]!.ranges), "{[0, 1000)}")
          assert.isTrue(found[0]!.healthy)
          if (options.clockDriven !== false) assert.strictEqual(found[0]!.updatedAt, yield* now)
        }),
      t
    )

    it.effect(
      "an unknown key has no replicas, everything missing, and nothing to mark or remove",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(500)
          const s = sector()
          assert.deepStrictEqual(yield* index.findReplicas(key), [])
          assert.isFalse(yield* index.markUnhealthy(key, s, "disk gone"))
          assert.deepStrictEqual(yield* index.findReplicas(key), [])
          assert.isFalse(yield* index.removeReplica(key, s))
          const st = yield* index.status(key, 2)
          assert.deepStrictEqual([st.target, st.actual, st.healthy], [2, 0, 0])
          assert.strictEqual(fmt(st.missingRanges), "{[0, 500)}")
          assert.isFalse(ReplicaIndex.isSatisfied(st))
          assert.deepStrictEqual(yield* collect(index, s), [])
        }),
      t
    )

    it.effect(
      "addReplica merges ranges into an existing replica and is idempotent",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(100)
          const s = sector()
          yield* index.addReplica(key, s, set([0, 10]))
          assert.strictEqual(fmt((yield* index.addReplica(key, s, set([20, 30]))).ranges), "{[0, 10), [20, 30)}")
          assert.strictEqual(fmt((yield* index.addReplica(key, s, set([5, 25]))).ranges), "{[0, 30)}")
          assert.strictEqual(fmt((yield* index.addReplica(key, s, set([5, 25]))).ranges), "{[0, 30)}")
          assert.strictEqual(fmt((yield* index.addReplica(key, s, RangeSet.empty)).ranges), "{[0, 30)}")
          const found = yield* index.findReplicas(key)
          assert.strictEqual(found.length, 1)
          assert.strictEqual(fmt(found[0]!.ranges), "{[0, 30)}")
        }),
      t
    )

    it.effect(
      "findReplicas lists every sector's replica, ordered by sector name",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(64)
          const base = sector()
          const names = ["c", "a", "B", "b.2", "b-1", "0"].map((n) => `${base}-${n}`)
          for (const n of names) yield* index.addReplica(key, n, whole(key))
          const found = yield* index.findReplicas(key)
          assert.deepStrictEqual(
            found.map((r) => r.sector),
            [...names].sort()
          )
          const other = keyOf(64)
          yield* index.addReplica(other, names[0]!, whole(other))
          assert.strictEqual((yield* index.findReplicas(key)).length, names.length)
          assert.strictEqual((yield* index.findReplicas(other)).length, 1)
        }),
      t
    )

    it.effect(
      "markUnhealthy keeps the ranges and records the reason; addReplica makes it healthy again",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(256)
          const s = sector()
          yield* index.addReplica(key, s, set([0, 128]))
          if (options.clockDriven !== false) yield* TestClock.adjust("1 minute")
          assert.isTrue(yield* index.markUnhealthy(key, s, "checksum mismatch"))
          let [r] = yield* index.findReplicas(key)
          assert.isFalse(r!.healthy)
          assert.strictEqual(r!.reason, "checksum mismatch")
          assert.strictEqual(fmt(r!.ranges), "{[0, 128)}")
          if (options.clockDriven !== false) assert.strictEqual(r!.updatedAt, yield* now)
          assert.isTrue(yield* index.markUnhealthy(key, s, "sector offline"))
          ;[r] = yield* index.findReplicas(key)
          assert.strictEqual(r!.reason, "sector offline")
          if (options.clockDriven !== false) yield* TestClock.adjust("1 minute")
          const healed = yield* index.addReplica(key, s, set([128, 256]))
          assert.isTrue(healed.healthy)
          assert.isUndefined(healed.reason)
          assert.strictEqual(fmt(healed.ranges), "{[0, 256)}")
          ;[r] = yield* index.findReplicas(key)
          assert.isTrue(r!.healthy)
          assert.isUndefined(r!.reason)
          if (options.clockDriven !== false) assert.strictEqual(r!.updatedAt, yield* now)
        }),
      t
    )

    it.effect(
      "status counts replicas and healthy ones, and reports what no healthy replica covers",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(1000)
          const [a, b, c] = [sector(), sector(), sector()]
          yield* index.addReplica(key, a, set([0, 600]))
          yield* index.addReplica(key, b, set([400, 1000]))
          let st = yield* index.status(key, 2)
          assert.deepStrictEqual([st.target, st.actual, st.healthy], [2, 2, 2])
          assert.strictEqual(fmt(st.missingRanges), "{}")
          assert.isTrue(ReplicaIndex.isSatisfied(st))
          yield* index.markUnhealthy(key, b, "io error")
          st = yield* index.status(key, 2)
          assert.deepStrictEqual([st.actual, st.healthy], [2, 1])
          assert.strictEqual(fmt(st.missingRanges), "{[600, 1000)}")
          assert.isFalse(ReplicaIndex.isSatisfied(st))
          yield* index.addReplica(key, c, set([500, 700], [900, 1000]))
          st = yield* index.status(key, 3)
          assert.deepStrictEqual([st.target, st.actual, st.healthy], [3, 3, 2])
          assert.strictEqual(fmt(st.missingRanges), "{[700, 900)}")
          const empty = BinaryKey.empty()
          const st0 = yield* index.status(empty, 1)
          assert.strictEqual(fmt(st0.missingRanges), "{}")
          assert.strictEqual(st0.actual, 0)
        }),
      t
    )

    it.effect(
      "removeReplica removes one replica once, from findReplicas, status and keysInSector",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(10)
          const [a, b] = [sector(), sector()]
          yield* index.addReplica(key, a, whole(key))
          yield* index.addReplica(key, b, whole(key))
          assert.isTrue(yield* index.removeReplica(key, a))
          assert.isFalse(yield* index.removeReplica(key, a))
          assert.deepStrictEqual(
            (yield* index.findReplicas(key)).map((r) => r.sector),
            [b]
          )
          assert.deepStrictEqual(yield* collect(index, a), [])
          assert.deepStrictEqual(yield* collect(index, b), [BinaryKey.format(key)])
          assert.strictEqual((yield* index.status(key, 1)).actual, 1)
          assert.isTrue(yield* index.removeReplica(key, b))
          assert.deepStrictEqual(yield* index.findReplicas(key), [])
          assert.isFalse(yield* index.markUnhealthy(key, b, "gone"))
        }),
      t
    )

    it.effect(
      "keysInSector streams every key of the sector exactly once, in key text order, across pages",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const s = sector()
          const other = sector()
          const keys = Array.from({ length: ReplicaIndex.sectorPageSize * 2 + 37 }, () =>
            keyOf(1 + Math.floor(Math.random() * 1e6))
          )
          yield* Effect.forEach(keys, (k) => index.addReplica(k, s, whole(k)), { concurrency: 50, discard: true })
          yield* index.addReplica(keys[0]!, other, whole(keys[0]!))
          yield* index.markUnhealthy(keys[1]!, s, "still listed")
          const seen = yield* collect(index, s)
          assert.deepStrictEqual(seen, keys.map(BinaryKey.format).sort())
          assert.deepStrictEqual(yield* collect(index, other), [BinaryKey.format(keys[0]!)])
        }),
      t
    )

    it.effect(
      "keysInSector stays gap- and duplicate-free while keys are added and removed",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const s = sector()
          const stable = Array.from({ length: 1500 }, () => keyOf(8))
          const churn = Array.from({ length: 500 }, () => keyOf(8))
          yield* Effect.forEach([...stable, ...churn], (k) => index.addReplica(k, s, whole(k)), {
            concurrency: 50,
            discard: true
          })
          let n = 0
          const seen = yield* Stream.runCollect(
            index.keysInSector(s).pipe(
              Stream.tap(() =>
                Effect.gen(function* () {
                  n++
                  const k = keyOf(8)
                  yield* index.addReplica(k, s, whole(k))
                  if (n % 3 === 0) yield* index.removeReplica(churn[n % churn.length]!, s)
                })
              )
            )
          )
          const ids = seen.map(BinaryKey.format)
          assert.strictEqual(new Set(ids).size, ids.length, "a key was streamed twice")
          const set2 = new Set(ids)
          for (const k of stable) assert.isTrue(set2.has(BinaryKey.format(k)))
          assert.deepStrictEqual(ids, [...ids].sort())
        }),
      t
    )

    it.effect(
      "keysInSector is lazy and can be cut short and re-run",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const s = sector()
          const stream = index.keysInSector(s)
          const keys = Array.from({ length: 30 }, () => keyOf(4))
          yield* Effect.forEach(keys, (k) => index.addReplica(k, s, whole(k)), { discard: true })
          // built before the inserts, run after: sees them all
          const firstFive = yield* Stream.runCollect(stream.pipe(Stream.take(5)))
          assert.deepStrictEqual(firstFive.map(BinaryKey.format), keys.map(BinaryKey.format).sort().slice(0, 5))
          assert.strictEqual((yield* Stream.runCollect(stream)).length, 30)
        }),
      t
    )

    it.effect(
      "100 concurrent addReplicas: to one replica they merge exactly, to distinct sectors they all land",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(100_000)
          const s = sector()
          const spans = Array.from({ length: 100 }, (_, i) => set([i * 1000, i * 1000 + 500]))
          yield* Effect.forEach(spans, (r) => index.addReplica(key, s, r), { concurrency: 100, discard: true })
          const [r] = yield* index.findReplicas(key)
          assert.strictEqual(fmt(r!.ranges), fmt(spans.reduce(RangeSet.union, RangeSet.empty)))
          const other = keyOf(10)
          const sectors = Array.from({ length: 100 }, () => sector())
          yield* Effect.forEach(sectors, (x) => index.addReplica(other, x, whole(other)), {
            concurrency: 100,
            discard: true
          })
          const st = yield* index.status(other, 100)
          assert.deepStrictEqual([st.actual, st.healthy], [100, 100])
          assert.isTrue(ReplicaIndex.isSatisfied(st))
        }),
      t
    )

    it.effect(
      "an interrupted addReplica leaves the replica absent or complete",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          for (let i = 0; i < 10; i++) {
            const key = keyOf(1000)
            const s = sector()
            const fiber = yield* Effect.forkChild(index.addReplica(key, s, set([0, 10], [20, 1000])))
            if (i % 2 === 0) yield* Effect.yieldNow
            yield* Fiber.interrupt(fiber)
            const found = yield* index.findReplicas(key)
            assert.isAtMost(found.length, 1)
            if (found.length === 1) {
              assert.strictEqual(fmt(found[0]!.ranges), "{[0, 10), [20, 1000)}")
              assert.deepStrictEqual(yield* collect(index, s), [BinaryKey.format(key)])
            } else {
              assert.deepStrictEqual(yield* collect(index, s), [])
            }
          }
        }),
      t
    )

    it.effect(
      "malformed keys, sectors, ranges, reasons and targets are rejected with InvalidArgument",
      () =>
        Effect.gen(function* () {
          const index = yield* ReplicaIndex.ReplicaIndex
          const key = keyOf(100)
          const s = sector()
          const badKeys = [
            { algorithm: "sha-256", digest: "xyz", size: 1 },
            { algorithm: "md5", digest: "00".repeat(32), size: 1 },
            { algorithm: "sha-256", digest: "00".repeat(32), size: -1 },
            "sha-256:00:1",
            null
          ] as unknown as ReadonlyArray<BinaryKey.BinaryKey>
          for (const k of badKeys) {
            yield* expectReason(index.addReplica(k, s, RangeSet.empty), "InvalidArgument")
            yield* expectReason(index.findReplicas(k), "InvalidArgument")
            yield* expectReason(index.markUnhealthy(k, s, "x"), "InvalidArgument")
            yield* expectReason(index.removeReplica(k, s), "InvalidArgument")
            yield* expectReason(index.status(k, 1), "InvalidArgument")
          }
          const badSectors = ["", "-lead", ".lead", "a b", "a/b", "é", "x".repeat(ReplicaIndex.maxSectorLength + 1), 3]
          for (const b of badSectors as ReadonlyArray<string>) {
            yield* expectReason(index.addReplica(key, b, whole(key)), "InvalidArgument")
            yield* expectReason(index.markUnhealthy(key, b, "x"), "InvalidArgument")
            yield* expectReason(index.removeReplica(key, b), "InvalidArgument")
            yield* expectReason(Stream.runCollect(index.keysInSector(b)), "InvalidArgument")
          }
          yield* expectReason(index.addReplica(key, s, set([0, 101])), "InvalidArgument")
          yield* expectReason(
            index.addReplica(key, s, [span(5, 6), span(0, 1)] as unknown as RangeSet.RangeSet),
            "InvalidArgument"
          )
          yield* expectReason(index.addReplica(key, s, "0-5" as unknown as RangeSet.RangeSet), "InvalidArgument")
          assert.deepStrictEqual(yield* index.findReplicas(key), [])
          yield* index.addReplica(key, s, whole(key))
          yield* expectReason(index.markUnhealthy(key, s, ""), "InvalidArgument")
          yield* expectReason(
            index.markUnhealthy(key, s, "r".repeat(ReplicaIndex.maxReasonLength + 1)),
            "InvalidArgument"
          )
          assert.isTrue((yield* index.findReplicas(key))[0]!.healthy)
          for (const target of [0, -1, 1.5, ReplicaIndex.maxTarget + 1, Number.NaN]) {
            yield* expectReason(index.status(key, target), "InvalidArgument")
          }
          const maxName = "s".repeat(ReplicaIndex.maxSectorLength - 37) + sector().slice(-37)
          assert.strictEqual(maxName.length, ReplicaIndex.maxSectorLength)
          yield* index.addReplica(key, maxName, whole(key))
          assert.isTrue(yield* index.removeReplica(key, maxName))
        }),
      t
    )
  })
