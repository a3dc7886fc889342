/**
 * The BlobStore laws. Every BlobStore implementation (the CAS engine on each backend, native whole-object stores)
 * runs them:
 *
 * ```ts
 * BlobStoreSuite.run("level", layer)
 * ```
 *
 * @since 0.1.0
 */

import { assert, layer } from "@effect/vitest"
import { BinaryKey, Chunker, type HashAlgorithm, Span } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as BlobStore from "../BlobStore.ts"
import type * as StorageError from "../StorageError.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  readonly timeout?: number | undefined
  /** Size of the "large" blob in the multi-block tests (default 3 MiB). */
  readonly largeSize?: number | undefined
  /** Hash algorithm of the store's blob keys (default sha-256). */
  readonly algorithm?: HashAlgorithm.HashAlgorithm | undefined
}

const collect = (s: Stream.Stream<Uint8Array, StorageError.StorageError>) =>
  Effect.map(Stream.runCollect(s), (parts) => Gen.concat(parts))

const bodyOf = (bytes: Uint8Array, maxSlice = 64 * 1024) => Stream.fromIterable(Gen.slices(bytes, maxSlice))

/** A body that counts its pulls. */
const countingBody = (bytes: Uint8Array) => {
  let pulls = 0
  const parts = Gen.slices(bytes, 16 * 1024)
  const stream = Stream.fromIterable(parts).pipe(
    Stream.rechunk(1),
    Stream.tap(() =>
      Effect.sync(() => {
        pulls++
      })
    )
  )
  return { stream, parts: parts.length, pulls: () => pulls }
}

/** Block boundaries of a blob as its chunker cut it. */
const boundaries = (chunkerId: string, bytes: Uint8Array): Array<number> => {
  const params = Chunker.parseId(chunkerId)
  if (params._tag === "Failure") return []
  const out: Array<number> = []
  let off = 0
  for (const b of Chunker.split(params.success, bytes)) {
    off += b.byteLength
    out.push(off)
  }
  return out
}

export const run = <E>(name: string, storeLayer: Layer.Layer<BlobStore.BlobStore, E>, options: Options = {}) =>
  layer(storeLayer, { timeout: "180 seconds" })(`BlobStore laws: ${name}`, (it) => {
    const t = options.timeout ?? 120_000
    const large = options.largeSize ?? 3 * 1024 * 1024
    const algorithm = options.algorithm ?? "sha-256"
    const keyOf = (bytes: Uint8Array) => BinaryKey.ofBytes(bytes, algorithm)

    it.effect(
      "round trip: put returns the content key, get returns the same bytes",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          for (const size of [1, 100, 70_000, large]) {
            const bytes = Gen.randomBytes(size)
            const r = yield* store.put(bodyOf(bytes))
            assert.deepStrictEqual(r.key, keyOf(bytes))
            assert.strictEqual(r.size, size)
            assert.isAtLeast(r.blockCount, 1)
            assert.strictEqual(r.freshBlocks + r.duplicateBlocks, r.blockCount)
            assert.strictEqual(r.freshBytes + r.duplicateBytes, size)
            assert.isTrue(r.created)
            assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), bytes))
            const stat = Option.getOrThrow(yield* store.stat(r.key))
            assert.strictEqual(stat.size, size)
            assert.strictEqual(stat.blockCount, r.blockCount)
            assert.isTrue(yield* store.exists(r.key))
          }
        }),
      t
    )

    it.effect(
      "the empty blob is valid: well-known key, zero blocks, empty content",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const r = yield* store.put(Stream.empty)
          assert.deepStrictEqual(r.key, BinaryKey.empty(algorithm))
          assert.strictEqual(r.size, 0)
          assert.strictEqual(r.blockCount, 0)
          assert.strictEqual((yield* collect(store.get(r.key))).byteLength, 0)
          assert.strictEqual(Option.getOrThrow(yield* store.stat(r.key)).blockCount, 0)
          const again = yield* store.put(Stream.make(new Uint8Array(0)))
          assert.deepStrictEqual(again.key, r.key)
        }),
      t
    )

    it.effect(
      "duplicate upload: same key, listed once, every block a duplicate, created false",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(large)
          const first = yield* store.put(bodyOf(bytes))
          const second = yield* store.put(bodyOf(bytes, 1000))
          assert.deepStrictEqual(second.key, first.key)
          assert.isFalse(second.created)
          assert.strictEqual(second.freshBlocks, 0)
          assert.strictEqual(second.duplicateBlocks, first.blockCount)
          assert.strictEqual(second.duplicateBytes, bytes.byteLength)
          const prefix = BinaryKey.format(first.key).slice(0, 20)
          const page = yield* store.list({ prefix })
          assert.strictEqual(page.items.filter((s) => BinaryKey.equals(s.key, first.key)).length, 1)
        }),
      t
    )

    it.effect(
      "content that shares blocks with an earlier blob stores only the new blocks",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const base = Gen.randomBytes(large)
          const a = yield* store.put(bodyOf(base))
          const appended = Gen.concat([base, Gen.randomBytes(200_000)])
          const b = yield* store.put(bodyOf(appended))
          assert.isTrue(b.created)
          assert.isAbove(b.duplicateBlocks, 0)
          assert.isBelow(b.freshBytes, appended.byteLength - base.byteLength / 2)
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(b.key)), appended))
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(a.key)), base))
        }),
      t
    )

    it.effect(
      "ranges are exact: first byte, last byte, block boundaries, open-ended, suffix, empty",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(large)
          const r = yield* store.put(bodyOf(bytes))
          const stat = Option.getOrThrow(yield* store.stat(r.key))
          const size = bytes.byteLength
          const cuts = boundaries(stat.chunker, bytes)
          const spans: Array<[number, number]> = [
            [0, 1],
            [size - 1, size],
            [0, size],
            [12_345, size],
            [size - 1000, size],
            [size, size],
            [0, 0],
            [777, 777]
          ]
          for (const c of cuts.slice(0, 4)) {
            spans.push([c - 1, Math.min(c + 1, size)], [c, Math.min(size, c + 10)], [Math.max(0, c - 10), c])
          }
          if (cuts.length > 2) spans.push([cuts[0]!, cuts[2]!])
          for (const [s, e] of spans) {
            const got = yield* collect(store.get(r.key, Span.unsafeMake(s, e)))
            assert.isTrue(Gen.bytesEqual(got, bytes.subarray(s, e)), `range [${s}, ${e})`)
          }
        }),
      t
    )

    it.effect(
      "a range outside the blob fails InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(1000)
          const r = yield* store.put(bodyOf(bytes))
          yield* expectReason(collect(store.get(r.key, { start: 0, end: 1001 })), "InvalidArgument")
          yield* expectReason(collect(store.get(r.key, { start: 1001, end: 1001 })), "InvalidArgument")
          yield* expectReason(collect(store.get(r.key, { start: 5, end: 4 })), "InvalidArgument")
          yield* expectReason(collect(store.get(r.key, { start: -1, end: 4 })), "InvalidArgument")
        }),
      t
    )

    it.effect(
      "absent blobs: get fails NotFound, stat is None, exists and delete are false, verify fails NotFound",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const key = keyOf(Gen.randomBytes(64))
          yield* expectReason(collect(store.get(key)), "NotFound")
          assert.isTrue(Option.isNone(yield* store.stat(key)))
          assert.isFalse(yield* store.exists(key))
          assert.isFalse(yield* store.delete(key))
          yield* expectReason(store.verify(key), "NotFound")
        }),
      t
    )

    it.effect(
      "delete makes a blob unreachable and unlisted; putting it again brings it back",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(100_000)
          const r = yield* store.put(bodyOf(bytes))
          assert.isTrue(yield* store.delete(r.key))
          assert.isFalse(yield* store.exists(r.key))
          yield* expectReason(collect(store.get(r.key)), "NotFound")
          const page = yield* store.list({ prefix: BinaryKey.format(r.key) })
          assert.strictEqual(page.items.length, 0)
          const again = yield* store.put(bodyOf(bytes))
          assert.isTrue(again.created)
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), bytes))
        }),
      t
    )

    it.effect(
      "list pages by cursor with no gaps or duplicates, also while blobs are added",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const mine = new Set<string>()
          for (let i = 0; i < 23; i++) {
            const r = yield* store.put(Stream.make(Gen.randomBytes(50)))
            mine.add(BinaryKey.format(r.key))
          }
          const seen = new Map<string, number>()
          let cursor: string | undefined
          do {
            const page: BlobStore.ListPage = yield* store.list({ cursor, limit: 4 })
            assert.isAtMost(page.items.length, 4)
            for (const s of page.items) {
              const id = BinaryKey.format(s.key)
              seen.set(id, (seen.get(id) ?? 0) + 1)
            }
            yield* store.put(Stream.make(Gen.randomBytes(50)))
            cursor = page.cursor
          } while (cursor !== undefined)
          for (const [id, n] of seen) assert.strictEqual(n, 1, `${id} listed ${n} times`)
          for (const id of mine) assert.isTrue(seen.has(id), `missing ${id}`)
          const streamed = yield* Stream.runCollect(store.stream())
          const ids = streamed.map((s) => BinaryKey.format(s.key))
          assert.strictEqual(new Set(ids).size, ids.length)
          for (const id of mine) assert.isTrue(ids.includes(id))
        }),
      t
    )

    it.effect(
      "list rejects a malformed cursor or limit with InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          yield* expectReason(store.list({ cursor: "***" }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 0 }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 5000 }), "InvalidArgument")
        }),
      t
    )

    it.effect(
      "attributes are stored with the blob",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const r = yield* store.put(Stream.make(Gen.randomBytes(10)), {
            attributes: { "content-type": "text/plain", name: "hello.txt" }
          })
          const stat = Option.getOrThrow(yield* store.stat(r.key))
          assert.deepStrictEqual(stat.attributes, { "content-type": "text/plain", name: "hello.txt" })
        }),
      t
    )

    it.effect(
      "expected key: a match publishes, a mismatch fails Conflict and publishes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(200_000)
          const key = keyOf(bytes)
          const other = Gen.randomBytes(200_000)
          yield* expectReason(store.put(bodyOf(other), { expectedKey: key }), "Conflict")
          assert.isFalse(yield* store.exists(keyOf(other)))
          assert.isFalse(yield* store.exists(key))
          const ok = yield* store.put(bodyOf(bytes), { expectedKey: key })
          assert.deepStrictEqual(ok.key, key)
        }),
      t
    )

    it.effect(
      "expected size: shorter or longer content fails InvalidArgument and publishes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(100_000)
          yield* expectReason(store.put(bodyOf(bytes), { expectedSize: 100_001 }), "InvalidArgument")
          yield* expectReason(store.put(bodyOf(bytes), { expectedSize: 99_999 }), "InvalidArgument")
          yield* expectReason(store.put(bodyOf(bytes), { expectedSize: -1 }), "InvalidArgument")
          assert.isFalse(yield* store.exists(keyOf(bytes)))
          assert.isFalse(yield* store.exists(keyOf(bytes.subarray(0, 99_999))))
          const ok = yield* store.put(bodyOf(bytes), { expectedSize: 100_000 })
          assert.strictEqual(ok.size, 100_000)
        }),
      t
    )

    it.effect(
      "a failing body fails the put with the body's error and publishes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(500_000)
          const body = bodyOf(bytes).pipe(Stream.concat(Stream.fail("boom" as const)))
          const e = yield* Effect.flip(store.put(body))
          assert.strictEqual(e, "boom")
          assert.isFalse(yield* store.exists(keyOf(bytes)))
        }),
      t
    )

    it.effect(
      "an interrupted upload publishes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(500_000)
          const body = bodyOf(bytes).pipe(Stream.concat(Stream.never))
          const fiber = yield* Effect.forkChild(store.put(body))
          yield* Effect.sleep("20 millis").pipe(Effect.andThen(Fiber.interrupt(fiber)))
          assert.isFalse(yield* store.exists(keyOf(bytes)))
        }).pipe(TestClock.withLive),
      t
    )

    it.effect(
      "the body is lazy (no pull before the put runs) and each element is pulled exactly once",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(300_000)
          const body = countingBody(bytes)
          const put = store.put(body.stream)
          assert.strictEqual(body.pulls(), 0)
          const r = yield* put
          assert.strictEqual(body.pulls(), body.parts)
          assert.deepStrictEqual(r.key, keyOf(bytes))
        }),
      t
    )

    it.effect(
      "downloads are lazy and stopping early releases them: many partial reads, then a full read",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(large)
          const r = yield* store.put(bodyOf(bytes))
          const stream = store.get(r.key)
          for (let i = 0; i < 50; i++) {
            const head = yield* Stream.runCollect(Stream.take(stream, 1))
            assert.strictEqual(head.length, 1)
            assert.isTrue(Gen.bytesEqual(head[0]!, bytes.subarray(0, head[0]!.byteLength)))
          }
          assert.isTrue(Gen.bytesEqual(yield* collect(stream), bytes))
        }),
      t
    )

    it.effect(
      "100 concurrent uploads of the same content: one creates, all agree on the key",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(150_000)
          const results = yield* Effect.forEach(Array.from({ length: 100 }), () => store.put(bodyOf(bytes)), {
            concurrency: 100
          })
          const key = keyOf(bytes)
          assert.isTrue(results.every((r) => BinaryKey.equals(r.key, key)))
          assert.strictEqual(results.filter((r) => r.created).length, 1)
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(key)), bytes))
        }),
      t
    )

    it.effect(
      "verify reports an intact blob as ok",
      () =>
        Effect.gen(function* () {
          const store = yield* BlobStore.BlobStore
          const bytes = Gen.randomBytes(large)
          const r = yield* store.put(bodyOf(bytes))
          const report = yield* store.verify(r.key)
          assert.isTrue(report.ok)
          assert.isTrue(report.contentMatches)
          assert.strictEqual(report.blocksChecked, r.blockCount)
          assert.strictEqual(report.bytesChecked, bytes.byteLength)
          assert.strictEqual(report.missingBlocks.length, 0)
          assert.strictEqual(report.corruptBlocks.length, 0)
        }),
      t
    )
  })
