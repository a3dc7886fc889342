/**
 * The BlockStore contract suite. Every backend runs it against its own layer:
 *
 * ```ts
 * BlockStoreSuite.run("level", LevelLayers.layerTemp)
 * ```
 *
 * @since 0.1.0
 */

import { assert, layer } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { TestClock } from "effect/testing"
import * as BlockStore from "../BlockStore.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout. */
  readonly timeout?: number | undefined
  /** Whether the backend's `touchedAt` follows the Effect Clock (TestClock); false for server-side clocks. */
  readonly clockDriven?: boolean | undefined
  /** Skip the 16 MiB block test (slow backends). */
  readonly skipLargeBlocks?: boolean | undefined
}

export const run = <E>(name: string, storeLayer: Layer.Layer<BlockStore.BlockStore, E>, options: Options = {}) =>
  layer(storeLayer, { timeout: "120 seconds" })(`BlockStore contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000

    it.effect(
      "put of a new block reports fresh, and get returns the same bytes",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block()
          assert.strictEqual(yield* store.put(b.key, b.bytes), "fresh")
          const got = yield* store.get(b.key)
          assert.isTrue(Option.isSome(got))
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(got), b.bytes))
          assert.isTrue(yield* store.has(b.key))
        }),
      t
    )

    it.effect(
      "get, has and delete of an absent block report absence, not an error",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block()
          assert.isTrue(Option.isNone(yield* store.get(b.key)))
          assert.isFalse(yield* store.has(b.key))
          assert.isFalse(yield* store.delete(b.key))
          assert.deepStrictEqual(yield* store.hasMany([b.key, b.key]), [false, false])
        }),
      t
    )

    it.effect(
      "a second put of the same key is a duplicate and keeps the first bytes",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block()
          assert.strictEqual(yield* store.put(b.key, b.bytes), "fresh")
          assert.strictEqual(yield* store.put(b.key, b.bytes), "duplicate")
          const other = Gen.randomBytes(b.bytes.byteLength)
          assert.strictEqual(yield* store.put(b.key, other), "duplicate")
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
        }),
      t
    )

    it.effect(
      "stored bytes are isolated from the caller's buffers (mutating input or output changes nothing)",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block(1024)
          const input = b.bytes.slice()
          yield* store.put(b.key, input)
          input.fill(0)
          const out = Option.getOrThrow(yield* store.get(b.key))
          out.fill(1)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
          // Node Buffers too (Buffer#slice is a view, so a store that copies with it shares memory)
          const c = Gen.block(1024)
          const buf = Buffer.from(c.bytes)
          yield* store.put(c.key, buf)
          buf.fill(0)
          const got = Option.getOrThrow(yield* store.get(c.key))
          assert.isTrue(Gen.bytesEqual(got, c.bytes))
          got.fill(2)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(c.key)), c.bytes))
        }),
      t
    )

    it.effect(
      "putMany, getMany and hasMany keep input order and report fresh/duplicate per block",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const blocks = Array.from({ length: 20 }, () => Gen.block())
          yield* store.put(blocks[3]!.key, blocks[3]!.bytes)
          const outcomes = yield* store.putMany(blocks)
          assert.deepStrictEqual(
            outcomes,
            blocks.map((_, i) => (i === 3 ? "duplicate" : "fresh"))
          )
          const absent = Gen.block()
          const keys = [absent.key, ...blocks.map((b) => b.key).reverse()]
          const got = yield* store.getMany(keys)
          assert.strictEqual(got.length, keys.length)
          assert.isTrue(Option.isNone(got[0]!))
          for (let i = 1; i < keys.length; i++) {
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(got[i]!), blocks[blocks.length - i]!.bytes))
          }
          assert.deepStrictEqual(yield* store.hasMany(keys), [false, ...blocks.map(() => true)])
          assert.deepStrictEqual(yield* store.putMany([]), [])
          assert.deepStrictEqual(yield* store.getMany([]), [])
          assert.deepStrictEqual(yield* store.hasMany([]), [])
        }),
      t
    )

    it.effect(
      "getMany of blocks written together: any order, repeats and absent keys mixed in, each result the caller's own",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          // written in one call, so backends that lay blocks out back to back read them in runs
          const blocks = Array.from({ length: 24 }, (_, i) => Gen.block(1000 + 97 * i))
          yield* store.putMany(blocks)
          const absent = Gen.block()
          const order = [0, 1, 2, 3, 5, 4, 6, 6, 7, 23, 8, 9, 10, 11, 0, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
          const keys = order.flatMap((i, k) => (k === 9 ? [absent.key, blocks[i]!.key] : [blocks[i]!.key]))
          const got = yield* store.getMany(keys)
          assert.strictEqual(got.length, keys.length)
          keys.forEach((key, k) => {
            const o = got[k]!
            if (key === absent.key) assert.isTrue(Option.isNone(o))
            else {
              const want = blocks.find((b) => b.key === key)!
              assert.isTrue(Gen.bytesEqual(Option.getOrThrow(o), want.bytes), `result ${k}`)
            }
          })
          // a repeated key's results are independent of each other and of the store
          const [first, second] = got.flatMap((o, k) => (keys[k] === blocks[6]!.key ? [Option.getOrThrow(o)] : []))
          first!.fill(7)
          assert.isTrue(Gen.bytesEqual(second!, blocks[6]!.bytes))
          for (const o of got) if (Option.isSome(o)) o.value.fill(9)
          const again = yield* store.getMany(blocks.map((b) => b.key))
          for (const [i, b] of blocks.entries()) assert.isTrue(Gen.bytesEqual(Option.getOrThrow(again[i]!), b.bytes))
        }),
      t
    )

    it.effect(
      "delete removes the block and reports whether it existed",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block()
          yield* store.put(b.key, b.bytes)
          assert.isTrue(yield* store.delete(b.key))
          assert.isFalse(yield* store.delete(b.key))
          assert.isTrue(Option.isNone(yield* store.get(b.key)))
          assert.strictEqual(yield* store.put(b.key, b.bytes), "fresh")
        }),
      t
    )

    it.effect(
      "blocks of 1 byte and of the 16 MiB maximum round-trip",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const tiny = Gen.block(1)
          assert.strictEqual(yield* store.put(tiny.key, tiny.bytes), "fresh")
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(tiny.key)), tiny.bytes))
          if (options.skipLargeBlocks !== true) {
            const big = Gen.block(BlockStore.maxBlockSize)
            assert.strictEqual(yield* store.put(big.key, big.bytes), "fresh")
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(big.key)), big.bytes))
            yield* store.delete(big.key)
          }
        }),
      t
    )

    it.effect(
      "empty and oversized blocks are rejected with InvalidArgument and nothing is stored",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const empty = BinaryKey.ofBytes(new Uint8Array(0))
          yield* expectReason(store.put(empty, new Uint8Array(0)), "InvalidArgument")
          assert.isFalse(yield* store.has(empty))
          const huge = new Uint8Array(BlockStore.maxStoredSize + 1)
          const hugeKey = BinaryKey.ofBytes(huge)
          yield* expectReason(store.put(hugeKey, huge), "InvalidArgument")
          assert.isFalse(yield* store.has(hugeKey))
        }),
      t
    )

    it.effect(
      "100 concurrent puts of one block: exactly one is fresh",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const b = Gen.block()
          const outcomes = yield* Effect.forEach(Array.from({ length: 100 }), () => store.put(b.key, b.bytes), {
            concurrency: 100
          })
          assert.strictEqual(outcomes.filter((o) => o === "fresh").length, 1)
          assert.strictEqual(outcomes.filter((o) => o === "duplicate").length, 99)
        }),
      t
    )

    it.effect(
      "100 concurrent puts of distinct blocks are all stored",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const blocks = Array.from({ length: 100 }, () => Gen.block(512))
          const outcomes = yield* Effect.forEach(blocks, (b) => store.put(b.key, b.bytes), { concurrency: 100 })
          assert.isTrue(outcomes.every((o) => o === "fresh"))
          const present = yield* store.hasMany(blocks.map((b) => b.key))
          assert.isTrue(present.every((p) => p))
        }),
      t
    )

    it.effect(
      "an interrupted put leaves the block either whole or absent, never partial",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          for (let i = 0; i < 10; i++) {
            const b = Gen.block(256 * 1024)
            const fiber = yield* Effect.forkChild(store.put(b.key, b.bytes))
            if (i % 2 === 0) yield* Effect.yieldNow
            yield* Fiber.interrupt(fiber)
            const got = yield* store.get(b.key)
            if (Option.isSome(got)) assert.isTrue(Gen.bytesEqual(got.value, b.bytes))
          }
        }),
      t
    )

    it.effect(
      "inventory pages through every block exactly once, with stored size and touch time",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const blocks = Array.from({ length: 25 }, () => Gen.block(100 + Math.floor(Math.random() * 100)))
          yield* store.putMany(blocks)
          const mine = new Map(blocks.map((b) => [BinaryKey.format(b.key), b] as const))
          const seen = new Set<string>()
          let cursor: string | undefined
          let pages = 0
          do {
            const page = yield* store.inventory({ cursor, limit: 7 })
            assert.isAtMost(page.items.length, 7)
            for (const item of page.items) {
              const id = BinaryKey.format(item.key)
              assert.isFalse(seen.has(id), `duplicate ${id}`)
              seen.add(id)
              const b = mine.get(id)
              if (b !== undefined) {
                assert.isAtLeast(item.storedSize, 1)
                assert.isTrue(Number.isFinite(item.touchedAt))
              }
            }
            cursor = page.cursor
            pages++
          } while (cursor !== undefined && pages < 100_000)
          for (const id of mine.keys()) assert.isTrue(seen.has(id), `missing ${id}`)
        }),
      t
    )

    it.effect(
      "inventory paging stays gap- and duplicate-free under concurrent inserts",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const before = Array.from({ length: 30 }, () => Gen.block(64))
          yield* store.putMany(before)
          const seen = new Map<string, number>()
          let cursor: string | undefined
          do {
            const page = yield* store.inventory({ cursor, limit: 5 })
            for (const item of page.items) {
              const id = BinaryKey.format(item.key)
              seen.set(id, (seen.get(id) ?? 0) + 1)
            }
            yield* store.putMany(Array.from({ length: 3 }, () => Gen.block(64)))
            cursor = page.cursor
          } while (cursor !== undefined)
          for (const [id, n] of seen) assert.strictEqual(n, 1, `seen ${id} ${n} times`)
          for (const b of before) assert.isTrue(seen.has(BinaryKey.format(b.key)))
        }),
      t
    )

    it.effect(
      "inventory rejects a malformed cursor or limit with InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          yield* expectReason(store.inventory({ cursor: "%%%not-a-cursor%%%" }), "InvalidArgument")
          yield* expectReason(store.inventory({ limit: 0 }), "InvalidArgument")
          yield* expectReason(store.inventory({ limit: 1001 }), "InvalidArgument")
          yield* expectReason(store.inventory({ limit: 1.5 }), "InvalidArgument")
        }),
      t
    )

    if (options.clockDriven !== false) {
      it.effect(
        "a touch (duplicate put or hasMany with touch) protects a block from a conditional delete",
        () =>
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const a = Gen.block()
            const b = Gen.block()
            yield* store.putMany([a, b])
            yield* TestClock.adjust("10 minutes")
            const cutoff = (yield* effectNow) - 1
            yield* TestClock.adjust("1 second")
            assert.deepStrictEqual(yield* store.hasMany([a.key], { touch: true }), [true])
            assert.strictEqual(yield* store.put(b.key, b.bytes), "duplicate")
            assert.isFalse(yield* store.delete(a.key, { ifUntouchedSince: cutoff }))
            assert.isFalse(yield* store.delete(b.key, { ifUntouchedSince: cutoff }))
            assert.isTrue(yield* store.has(a.key))
            const c = Gen.block()
            yield* store.put(c.key, c.bytes)
            yield* TestClock.adjust("10 minutes")
            const later = yield* effectNow
            assert.isTrue(yield* store.delete(c.key, { ifUntouchedSince: later }))
            assert.isFalse(yield* store.has(c.key))
          }),
        t
      )

      it.effect(
        "inventory reports touchedAt refreshed by a touch",
        () =>
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const a = Gen.block()
            yield* store.put(a.key, a.bytes)
            const t0 = yield* touchedAt(store, a.key)
            yield* TestClock.adjust("1 hour")
            yield* store.hasMany([a.key], { touch: true })
            const t1 = yield* touchedAt(store, a.key)
            assert.isAbove(t1, t0)
          }),
        t
      )
    }
  })

const effectNow = Effect.clockWith((clock) => clock.currentTimeMillis)

const touchedAt = (store: BlockStore.BlockStore, key: BinaryKey.BinaryKey) =>
  Effect.gen(function* () {
    const id = BinaryKey.format(key)
    let cursor: string | undefined
    do {
      const page = yield* store.inventory({ cursor })
      const hit = page.items.find((i) => BinaryKey.format(i.key) === id)
      if (hit !== undefined) return hit.touchedAt
      cursor = page.cursor
    } while (cursor !== undefined)
    return assert.fail(`block ${id} missing from inventory`)
  })
