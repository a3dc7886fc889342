/**
 * The RangeTracker contract suite. Every backend runs it against its own layer:
 *
 * ```ts
 * RangeTrackerSuite.run("pg", PgLayers.rangeTracker)
 * ```
 *
 * Every test uses fresh random ids, so the suite can share a backend with other suites.
 *
 * @since 0.1.0
 */

import { assert, layer } from "@effect/vitest"
import { RangeSet, Span } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as RangeTracker from "../RangeTracker.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout in ms. */
  readonly timeout?: number | undefined
}

const span = (start: number, end: number): Span.Span => Span.unsafeMake(start, end)
const set = (...pairs: ReadonlyArray<readonly [number, number]>): RangeSet.RangeSet =>
  RangeSet.fromSpans(pairs.map(([s, e]) => span(s, e)))
const assertSet = (actual: RangeSet.RangeSet, expected: RangeSet.RangeSet, message?: string) =>
  assert.strictEqual(RangeSet.format(actual), RangeSet.format(expected), message)

/** The set of a bitmap model: offsets `i` with `bits[i]`. */
const fromBitmap = (bits: ReadonlyArray<boolean>): RangeSet.RangeSet => {
  const spans: Array<Span.Span> = []
  let start = -1
  for (let i = 0; i <= bits.length; i++) {
    if (bits[i] === true && start < 0) start = i
    if (bits[i] !== true && start >= 0) {
      spans.push(span(start, i))
      start = -1
    }
  }
  return RangeSet.fromSpans(spans)
}

const shuffle = <A>(xs: ReadonlyArray<A>): Array<A> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const tmp = out[i]!
    out[i] = out[j]!
    out[j] = tmp
  }
  return out
}

export const run = <E>(name: string, trackerLayer: Layer.Layer<RangeTracker.RangeTracker, E>, options: Options = {}) =>
  layer(trackerLayer, { timeout: "120 seconds" })(`RangeTracker contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000
    const id = () => Gen.name("upload")

    it.effect(
      "markComplete records a span and returns the new completed set; getCompleted reads it back",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          assertSet(yield* tracker.markComplete(u, span(100, 200)), set([100, 200]))
          assertSet(yield* tracker.markComplete(u, span(0, 50)), set([0, 50], [100, 200]))
          assertSet(yield* tracker.getCompleted(u), set([0, 50], [100, 200]))
        }),
      t
    )

    it.effect(
      "an unknown id has the empty set: nothing completed, everything pending, nothing to delete",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getCompleted(u)))
          assertSet(yield* tracker.getPending(u, 1000), set([0, 1000]))
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getPending(u, 0)))
          assert.isTrue(yield* tracker.isComplete(u, 0))
          assert.isFalse(yield* tracker.isComplete(u, 1))
          assert.isFalse(yield* tracker.delete(u))
        }),
      t
    )

    it.effect(
      "markComplete is idempotent: the same or an already covered span changes nothing",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          yield* tracker.markComplete(u, span(0, 100))
          assertSet(yield* tracker.markComplete(u, span(0, 100)), set([0, 100]))
          assertSet(yield* tracker.markComplete(u, span(10, 20)), set([0, 100]))
          assertSet(yield* tracker.markComplete(u, span(99, 100)), set([0, 100]))
          assertSet(yield* tracker.getCompleted(u), set([0, 100]))
        }),
      t
    )

    it.effect(
      "overlapping and adjacent spans merge into one normalized set",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          yield* tracker.markComplete(u, span(0, 10))
          assertSet(yield* tracker.markComplete(u, span(10, 20)), set([0, 20]))
          yield* tracker.markComplete(u, span(30, 40))
          yield* tracker.markComplete(u, span(50, 60))
          assertSet(yield* tracker.getCompleted(u), set([0, 20], [30, 40], [50, 60]))
          assertSet(yield* tracker.markComplete(u, span(15, 55)), set([0, 60]))
          assertSet(yield* tracker.markComplete(u, span(60, 61)), set([0, 61]))
        }),
      t
    )

    it.effect(
      "an empty span changes nothing and returns the current set",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          assert.isTrue(RangeSet.isEmpty(yield* tracker.markComplete(u, span(5, 5))))
          yield* tracker.markComplete(u, span(0, 3))
          assertSet(yield* tracker.markComplete(u, span(7, 7)), set([0, 3]))
          assertSet(yield* tracker.getCompleted(u), set([0, 3]))
        }),
      t
    )

    it.effect(
      "getPending returns the gaps within [0, total) and isComplete checks [0, size) exactly",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          yield* tracker.markComplete(u, span(10, 20))
          yield* tracker.markComplete(u, span(30, 50))
          yield* tracker.markComplete(u, span(90, 120))
          assertSet(yield* tracker.getPending(u, 100), set([0, 10], [20, 30], [50, 90]))
          assertSet(yield* tracker.getPending(u, 40), set([0, 10], [20, 30]))
          assertSet(yield* tracker.getPending(u, 10), set([0, 10]))
          assertSet(yield* tracker.getPending(u, 15), set([0, 10]))
          assert.isFalse(yield* tracker.isComplete(u, 100))
          yield* tracker.markComplete(u, span(0, 10))
          yield* tracker.markComplete(u, span(20, 30))
          yield* tracker.markComplete(u, span(50, 90))
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getPending(u, 120)))
          assert.isTrue(yield* tracker.isComplete(u, 120))
          assert.isTrue(yield* tracker.isComplete(u, 1))
          assert.isFalse(yield* tracker.isComplete(u, 121))
          assertSet(yield* tracker.getPending(u, 125), set([120, 125]))
        }),
      t
    )

    it.effect(
      "offsets up to 2^53 - 1 and thousands of fragments are stored exactly",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          const max = Number.MAX_SAFE_INTEGER
          yield* tracker.markComplete(u, span(2 ** 40, 2 ** 40 + 5))
          yield* tracker.markComplete(u, span(max - 3, max))
          assertSet(yield* tracker.getCompleted(u), set([2 ** 40, 2 ** 40 + 5], [max - 3, max]))
          const v = id()
          const expected: Array<readonly [number, number]> = []
          for (let i = 0; i < 2000; i++) expected.push([i * 1000 + 7, i * 1000 + 7 + 1 + (i % 500)])
          for (const [s, e] of shuffle(expected)) yield* tracker.markComplete(v, span(s, e))
          const got = yield* tracker.getCompleted(v)
          assert.strictEqual(RangeSet.spans(got).length, 2000)
          assertSet(got, set(...expected))
        }),
      t
    )

    it.effect(
      "100 fibers marking interleaved, overlapping spans concurrently: the result is exactly their union",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          const size = 10_000
          const bits = new Array<boolean>(size).fill(false)
          const spans: Array<Span.Span> = []
          for (let i = 0; i < 100; i++) {
            // stripes interleave fibers; every third span is random and overlaps others
            const start = i % 3 === 2 ? Math.floor(Math.random() * (size - 300)) : i * 97
            const s = span(start, start + 1 + Math.floor(Math.random() * 200))
            spans.push(s)
            for (let o = s.start; o < s.end; o++) bits[o] = true
          }
          yield* Effect.forEach(spans, (s) => tracker.markComplete(u, s), { concurrency: 100 })
          assertSet(yield* tracker.getCompleted(u), fromBitmap(bits))
          const w = id()
          const stripes = shuffle(Array.from({ length: 100 }, (_, i) => span(i * 100, i * 100 + 100)))
          yield* Effect.forEach(stripes, (s) => tracker.markComplete(w, s), { concurrency: 100 })
          assertSet(yield* tracker.getCompleted(w), set([0, 10_000]))
          assert.isTrue(yield* tracker.isComplete(w, 10_000))
        }),
      t
    )

    it.effect(
      "compareAndSet replaces the set only when it equals expected; empty means nothing recorded",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          assert.isFalse(yield* tracker.compareAndSet(u, set([0, 1]), set([0, 2])))
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getCompleted(u)))
          assert.isTrue(yield* tracker.compareAndSet(u, RangeSet.empty, set([0, 10])))
          assert.isFalse(yield* tracker.compareAndSet(u, RangeSet.empty, set([0, 20])))
          assert.isFalse(yield* tracker.compareAndSet(u, set([0, 9]), set([0, 20])))
          assertSet(yield* tracker.getCompleted(u), set([0, 10]))
          assert.isTrue(yield* tracker.compareAndSet(u, set([0, 10]), set([0, 5], [8, 12])))
          assertSet(yield* tracker.getCompleted(u), set([0, 5], [8, 12]))
          // shrinking is allowed through compareAndSet, unlike markComplete
          assert.isTrue(yield* tracker.compareAndSet(u, set([0, 5], [8, 12]), set([8, 9])))
          assertSet(yield* tracker.getCompleted(u), set([8, 9]))
          assert.isTrue(yield* tracker.compareAndSet(u, set([8, 9]), RangeSet.empty))
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getCompleted(u)))
          assert.isFalse(yield* tracker.delete(u))
          assert.isTrue(yield* tracker.compareAndSet(u, RangeSet.empty, RangeSet.empty))
        }),
      t
    )

    it.effect(
      "of 100 concurrent compareAndSets with the same expected set exactly one wins",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          yield* tracker.markComplete(u, span(0, 10))
          const results = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => tracker.compareAndSet(u, set([0, 10]), set([0, 10], [20 + i, 21 + i + 100])),
            { concurrency: 100 }
          )
          const winners = results.flatMap((ok, i) => (ok ? [i] : []))
          assert.strictEqual(winners.length, 1)
          const w = winners[0]!
          assertSet(yield* tracker.getCompleted(u), set([0, 10], [20 + w, 21 + w + 100]))
        }),
      t
    )

    it.effect(
      "delete forgets the id once; later marks start from the empty set",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          const other = id()
          yield* tracker.markComplete(u, span(0, 100))
          yield* tracker.markComplete(other, span(0, 5))
          assert.isTrue(yield* tracker.delete(u))
          assert.isFalse(yield* tracker.delete(u))
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getCompleted(u)))
          assertSet(yield* tracker.markComplete(u, span(50, 60)), set([50, 60]))
          assertSet(yield* tracker.getCompleted(other), set([0, 5]))
        }),
      t
    )

    it.effect(
      "an interrupted markComplete leaves the old or the new set, and later marks still land",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          let expected = RangeSet.empty
          for (let i = 0; i < 20; i++) {
            const s = span(i * 10, i * 10 + 5)
            const before = yield* tracker.getCompleted(u)
            const fiber = yield* Effect.forkChild(tracker.markComplete(u, s))
            if (i % 2 === 0) yield* Effect.yieldNow
            yield* Fiber.interrupt(fiber)
            const after = yield* tracker.getCompleted(u)
            const next = RangeSet.add(before, s)
            assert.isTrue(RangeSet.equals(after, before) || RangeSet.equals(after, next), `round ${i}`)
            expected = RangeSet.add(expected, s)
          }
          yield* Effect.forEach(RangeSet.spans(expected), (s) => tracker.markComplete(u, s), { concurrency: 20 })
          assertSet(yield* tracker.getCompleted(u), expected)
        }),
      t
    )

    it.effect(
      "bad ids, spans, sizes and hand-built sets are rejected with InvalidArgument and nothing is recorded",
      () =>
        Effect.gen(function* () {
          const tracker = yield* RangeTracker.RangeTracker
          const u = id()
          for (const bad of [
            "",
            "a\u0000b",
            "x\ud800",
            "a".repeat(RangeTracker.maxIdBytes + 1),
            7 as unknown as string
          ]) {
            yield* expectReason(tracker.markComplete(bad, span(0, 1)), "InvalidArgument")
            yield* expectReason(tracker.getCompleted(bad), "InvalidArgument")
            yield* expectReason(tracker.getPending(bad, 10), "InvalidArgument")
            yield* expectReason(tracker.isComplete(bad, 10), "InvalidArgument")
            yield* expectReason(tracker.compareAndSet(bad, RangeSet.empty, set([0, 1])), "InvalidArgument")
            yield* expectReason(tracker.delete(bad), "InvalidArgument")
          }
          const badSpans = [
            { start: -1, end: 5 },
            { start: 5, end: 4 },
            { start: 0.5, end: 4 },
            { start: 0, end: Number.NaN },
            { start: 0, end: 2 ** 53 },
            null,
            "0-5"
          ] as unknown as ReadonlyArray<Span.Span>
          for (const s of badSpans) yield* expectReason(tracker.markComplete(u, s), "InvalidArgument")
          for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10" as unknown as number]) {
            yield* expectReason(tracker.getPending(u, n), "InvalidArgument")
            yield* expectReason(tracker.isComplete(u, n), "InvalidArgument")
          }
          const unsorted = [span(10, 20), span(0, 5)] as unknown as RangeSet.RangeSet
          const adjacent = [span(0, 5), span(5, 10)] as unknown as RangeSet.RangeSet
          yield* expectReason(tracker.compareAndSet(u, RangeSet.empty, unsorted), "InvalidArgument")
          yield* expectReason(tracker.compareAndSet(u, adjacent, RangeSet.empty), "InvalidArgument")
          assert.isTrue(RangeSet.isEmpty(yield* tracker.getCompleted(u)))
          // an id of exactly the maximum length is fine
          const long = (id() + "i".repeat(RangeTracker.maxIdBytes)).slice(0, RangeTracker.maxIdBytes)
          yield* tracker.markComplete(long, span(0, 1))
          assertSet(yield* tracker.getCompleted(long), set([0, 1]))
          yield* tracker.delete(long)
        }),
      t
    )
  })
