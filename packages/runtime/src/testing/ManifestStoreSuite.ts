/**
 * The ManifestStore contract suite.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { BinaryKey, type Manifest, Span } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as ManifestStore from "../ManifestStore.ts"
import * as StorageError from "../StorageError.ts"
import { expectReason } from "./Assertions.ts"

export interface Options {
  readonly timeout?: number | undefined
  /** Entries in the "large manifest" test (default 100 000). */
  readonly largeEntries?: number | undefined
}

const randomKey = (size: number): BinaryKey.BinaryKey =>
  BinaryKey.unsafeMake("sha-256", randomBytes(32).toString("hex"), size)

/** A random manifest draft of `count` blocks with sizes in 1..maxBlock. */
export const randomDraft = (
  count: number,
  options: { readonly maxBlock?: number; readonly attributes?: Record<string, string> } = {}
): ManifestStore.ManifestDraft & { readonly list: ReadonlyArray<Manifest.ManifestEntry> } => {
  const list: Array<Manifest.ManifestEntry> = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    const size = 1 + Math.floor(Math.random() * (options.maxBlock ?? 100_000))
    list.push({ index: i, blockKey: randomKey(size), offset, size })
    offset += size
  }
  return {
    blobKey: randomKey(offset),
    chunker: "fastcdc-v1:16384:65536:262144",
    createdAt: 1_700_000_000_000,
    attributes: options.attributes ?? { "content-type": "application/octet-stream" },
    blockCount: count,
    entries: Stream.fromIterable(list),
    list
  }
}

export const run = <E>(name: string, storeLayer: Layer.Layer<ManifestStore.ManifestStore, E>, options: Options = {}) =>
  layer(storeLayer, { timeout: "180 seconds" })(`ManifestStore contract: ${name}`, (it) => {
    const t = options.timeout ?? 120_000

    it.effect(
      "commit publishes the summary and the entries in order; the receipt describes what was stored",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(37)
          const receipt = yield* store.commit(d)
          assert.isTrue(receipt.created)
          assert.deepStrictEqual(receipt.blobKey, d.blobKey)
          assert.strictEqual(receipt.blockCount, 37)
          assert.strictEqual(receipt.size, d.blobKey.size)
          assert.strictEqual(receipt.createdAt, d.createdAt)
          const s = Option.getOrThrow(yield* store.get(d.blobKey))
          assert.deepStrictEqual(s.blobKey, d.blobKey)
          assert.strictEqual(s.blockCount, 37)
          assert.strictEqual(s.chunker, d.chunker)
          assert.deepStrictEqual(s.attributes, d.attributes)
          assert.deepStrictEqual(yield* Stream.runCollect(store.entries(d.blobKey)), d.list)
        }),
      t
    )

    it.effect(
      "the empty blob commits with zero entries",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(0)
          const blobKey = BinaryKey.ofBytes(randomBytes(8))
          const empty = { ...d, blobKey: BinaryKey.unsafeMake(blobKey.algorithm, blobKey.digest, 0) }
          assert.isTrue((yield* store.commit(empty)).created)
          assert.strictEqual(Option.getOrThrow(yield* store.get(empty.blobKey)).blockCount, 0)
          assert.deepStrictEqual(yield* Stream.runCollect(store.entries(empty.blobKey)), [])
          yield* store.delete(empty.blobKey)
        }),
      t
    )

    it.effect(
      "a second commit of the same blob keeps the stored manifest and returns its receipt with created false",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(5)
          yield* store.commit(d)
          const again = yield* store.commit({
            ...d,
            createdAt: d.createdAt + 1000,
            attributes: { other: "x" },
            entries: Stream.fromIterable(d.list)
          })
          assert.isFalse(again.created)
          assert.strictEqual(again.createdAt, d.createdAt)
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(d.blobKey)).attributes, d.attributes)
        }),
      t
    )

    it.effect(
      "absent manifests: get is None, entries fail NotFound, delete is false, updateAttributes is None",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const k = randomKey(10)
          assert.isTrue(Option.isNone(yield* store.get(k)))
          yield* expectReason(Stream.runCollect(store.entries(k)), "NotFound")
          assert.isFalse(yield* store.delete(k))
          assert.isTrue(Option.isNone(yield* store.updateAttributes(k, { a: "b" })))
        }),
      t
    )

    it.effect(
      "entries(range) returns exactly the entries intersecting the range",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(50, { maxBlock: 1000 })
          yield* store.commit(d)
          const size = d.blobKey.size
          const probe = (s: number, e: number) =>
            Effect.gen(function* () {
              const got = yield* Stream.runCollect(store.entries(d.blobKey, Span.unsafeMake(s, e)))
              const want = s === e ? [] : d.list.filter((x) => x.offset < e && x.offset + x.size > s)
              assert.deepStrictEqual(got, want, `[${s}, ${e})`)
            })
          const e7 = d.list[7]!
          for (const [s, e] of [
            [0, 1],
            [size - 1, size],
            [0, size],
            [e7.offset, e7.offset + 1],
            [e7.offset - 1, e7.offset + 1],
            [e7.offset + e7.size - 1, e7.offset + e7.size],
            [e7.offset, e7.offset + e7.size],
            [5, 5],
            [size, size]
          ] as const) {
            yield* probe(s, e)
          }
          for (let i = 0; i < 50; i++) {
            const a = Math.floor(Math.random() * size)
            const b = a + Math.floor(Math.random() * (size - a + 1))
            yield* probe(a, b)
          }
        }),
      t
    )

    it.effect(
      "invalid drafts fail InvalidArgument and publish nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const base = randomDraft(6)
          const bad = (list: ReadonlyArray<Manifest.ManifestEntry>, patch: Partial<ManifestStore.ManifestDraft> = {}) =>
            ({ ...base, ...patch, entries: Stream.fromIterable(list) }) as ManifestStore.ManifestDraft
          const l = base.list
          const gap = l.map((e, i) => (i === 3 ? { ...e, offset: e.offset + 1 } : e))
          const wrongIndex = l.map((e, i) => (i === 2 ? { ...e, index: 7 } : e))
          const wrongSize = l.map((e, i) => (i === 1 ? { ...e, size: e.size + 1 } : e))
          for (const d of [
            bad(l.slice(0, 5)),
            bad(gap),
            bad(wrongIndex),
            bad(wrongSize),
            bad(l, { blockCount: 7 }),
            bad(l, { blockCount: 5 }),
            bad(l, { blobKey: BinaryKey.unsafeMake("sha-256", base.blobKey.digest, base.blobKey.size + 1) }),
            bad(l, { chunker: "" }),
            bad(l, { chunker: "x".repeat(1000) }),
            bad(l, { attributes: { "": "empty key" } }),
            bad([...l, l[0]!])
          ]) {
            yield* expectReason(store.commit(d), "InvalidArgument")
            assert.isTrue(Option.isNone(yield* store.get(d.blobKey)))
          }
        }),
      t
    )

    it.effect(
      "a failing or interrupted entries stream publishes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(20)
          const failing = {
            ...d,
            entries: Stream.fromIterable(d.list.slice(0, 10)).pipe(
              Stream.concat(Stream.fail(StorageError.unavailable("spill.read")))
            )
          }
          yield* expectReason(store.commit(failing), "Unavailable")
          assert.isTrue(Option.isNone(yield* store.get(d.blobKey)))
          const stalled = {
            ...d,
            entries: Stream.fromIterable(d.list.slice(0, 10)).pipe(Stream.concat(Stream.never))
          }
          const fiber = yield* Effect.forkChild(store.commit(stalled))
          yield* TestClock.withLive(Effect.sleep("20 millis"))
          yield* Fiber.interrupt(fiber)
          assert.isTrue(Option.isNone(yield* store.get(d.blobKey)))
          assert.isTrue((yield* store.commit({ ...d, entries: Stream.fromIterable(d.list) })).created)
        }),
      t
    )

    it.effect(
      "list pages by cursor without gaps or duplicates while manifests are added, and honours prefix",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const mine = new Set<string>()
          for (let i = 0; i < 17; i++) {
            const d = randomDraft(2)
            yield* store.commit(d)
            mine.add(BinaryKey.format(d.blobKey))
          }
          const seen = new Map<string, number>()
          let cursor: string | undefined
          do {
            const page: ManifestStore.ListPage = yield* store.list({ cursor, limit: 3 })
            assert.isAtMost(page.items.length, 3)
            for (const s of page.items) {
              const id = BinaryKey.format(s.blobKey)
              seen.set(id, (seen.get(id) ?? 0) + 1)
            }
            yield* store.commit(randomDraft(1))
            cursor = page.cursor
          } while (cursor !== undefined)
          for (const [id, n] of seen) assert.strictEqual(n, 1, `${id} listed ${n} times`)
          for (const id of mine) assert.isTrue(seen.has(id))
          const one = [...mine][0]!
          const byPrefix = yield* store.list({ prefix: one })
          assert.deepStrictEqual(
            byPrefix.items.map((s) => BinaryKey.format(s.blobKey)),
            [one]
          )
          yield* expectReason(store.list({ cursor: "!!" }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 0 }), "InvalidArgument")
        }),
      t
    )

    it.effect(
      "delete removes the manifest; updateAttributes replaces or merges",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(3, { attributes: { a: "1", b: "2" } })
          yield* store.commit(d)
          const merged = Option.getOrThrow(
            yield* store.updateAttributes(d.blobKey, { b: "3", c: "4" }, { merge: true })
          )
          assert.deepStrictEqual(merged.attributes, { a: "1", b: "3", c: "4" })
          const replaced = Option.getOrThrow(yield* store.updateAttributes(d.blobKey, { z: "9" }))
          assert.deepStrictEqual(replaced.attributes, { z: "9" })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(d.blobKey)).attributes, { z: "9" })
          yield* expectReason(store.updateAttributes(d.blobKey, { "": "x" }), "InvalidArgument")
          assert.isTrue(yield* store.delete(d.blobKey))
          assert.isFalse(yield* store.delete(d.blobKey))
          assert.isTrue(Option.isNone(yield* store.get(d.blobKey)))
          yield* expectReason(Stream.runCollect(store.entries(d.blobKey)), "NotFound")
        }),
      t
    )

    it.effect(
      "referencedBlocks includes every block of every committed manifest",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const a = randomDraft(4)
          const b = randomDraft(3)
          yield* store.commit(a)
          yield* store.commit(b)
          const refs = new Set((yield* Stream.runCollect(store.referencedBlocks)).map(BinaryKey.format))
          for (const e of [...a.list, ...b.list]) assert.isTrue(refs.has(BinaryKey.format(e.blockKey)))
          yield* store.delete(b.blobKey)
          const after = new Set((yield* Stream.runCollect(store.referencedBlocks)).map(BinaryKey.format))
          for (const e of b.list) assert.isFalse(after.has(BinaryKey.format(e.blockKey)))
        }),
      t
    )

    it.effect(
      "100 concurrent commits of one blob: exactly one creates it",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = randomDraft(8)
          const receipts = yield* Effect.forEach(
            Array.from({ length: 100 }),
            () => store.commit({ ...d, entries: Stream.fromIterable(d.list) }),
            { concurrency: 100 }
          )
          assert.strictEqual(receipts.filter((r) => r.created).length, 1)
          assert.deepStrictEqual(yield* Stream.runCollect(store.entries(d.blobKey)), d.list)
        }),
      t
    )

    it.effect(
      "a large manifest streams in and is range-queried by index",
      () =>
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const n = options.largeEntries ?? 100_000
          const d = randomDraft(n, { maxBlock: 1000 })
          yield* store.commit(d)
          const mid = d.list[Math.floor(n / 2)]!
          const got = yield* Stream.runCollect(store.entries(d.blobKey, Span.unsafeMake(mid.offset, mid.offset + 1)))
          assert.deepStrictEqual(got, [mid])
          assert.strictEqual(yield* Stream.runCount(store.entries(d.blobKey)), n)
          yield* store.delete(d.blobKey)
        }),
      t
    )
  })
