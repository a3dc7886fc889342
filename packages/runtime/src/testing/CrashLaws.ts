/**
 * Crash laws for persistent backends. The kit takes the backend's stores as a Layer that opens the **same** storage
 * each time it is built (e.g. a fixed directory or database schema) and closes it when its scope ends, so a test can
 * write, close, reopen and check:
 *
 * - acknowledged bytes survive a restart;
 * - a failure before the commit leaves no blob, before or after a restart;
 * - a lost acknowledgement after the commit: the blob is there after a restart, and retrying the upload is
 *   idempotent with every block a duplicate;
 * - an interrupted source never publishes.
 *
 * ```ts
 * CrashLaws.run("level", LevelLayers.layer({ path: dir }))
 * ```
 *
 * @since 0.1.0
 */

import { assert, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as BlobStore from "../BlobStore.ts"
import type * as BlockStore from "../BlockStore.ts"
import * as FaultInjection from "../FaultInjection.ts"
import type * as IngestLeases from "../IngestLeases.ts"
import * as ManifestStore from "../ManifestStore.ts"
import * as StorageError from "../StorageError.ts"
import * as Gen from "./Generators.ts"

export type Stores = BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases

export interface Options {
  readonly timeout?: number | undefined
}

const body = (bytes: Uint8Array) => Stream.fromIterable(Gen.slices(bytes, 64 * 1024))

const readAll = (key: BinaryKey.BinaryKey) =>
  Effect.flatMap(BlobStore.BlobStore, (store) =>
    Effect.map(Stream.runCollect(store.get(key)), (parts) => Gen.concat(parts))
  )

export const run = <E>(name: string, stores: Layer.Layer<Stores, E>, options: Options = {}) =>
  describe(`crash laws: ${name}`, () => {
    const t = options.timeout ?? 120_000
    /** One "process lifetime": the engine over freshly opened stores, closed when the effect ends. */
    const session = <A, E2>(
      eff: Effect.Effect<A, E2, BlobStore.BlobStore | ManifestStore.ManifestStore>,
      faults?: FaultInjection.Injector
    ) => {
      const opened =
        faults === undefined
          ? stores
          : FaultInjection.layer(ManifestStore.ManifestStore, faults).pipe(Layer.provideMerge(stores))
      return Effect.scoped(Effect.provide(eff, BlobStore.layer().pipe(Layer.provideMerge(opened))))
    }

    it.effect(
      "acknowledged bytes survive a restart",
      () =>
        Effect.gen(function* () {
          const bytes = Gen.randomBytes(3 * 1024 * 1024 + 17)
          const r = yield* session(Effect.flatMap(BlobStore.BlobStore, (s) => s.put(body(bytes))))
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              assert.isTrue(Gen.bytesEqual(yield* readAll(r.key), bytes))
              assert.isTrue((yield* store.verify(r.key)).ok)
              assert.isTrue(yield* store.exists(r.key))
            })
          )
        }),
      t
    )

    it.effect(
      "a failure before the commit leaves no blob, before or after a restart",
      () =>
        Effect.gen(function* () {
          const bytes = Gen.randomBytes(1024 * 1024)
          const key = BinaryKey.ofBytes(bytes)
          const faults = FaultInjection.makeInjector([
            FaultInjection.failAt("commit", 1, StorageError.unavailable("ManifestStore.commit"), "before")
          ])
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              const e = yield* Effect.flip(store.put(body(bytes)))
              assert.isTrue(StorageError.hasReason(e, "Unavailable"))
              assert.isFalse(yield* store.exists(key))
              const failing = body(bytes).pipe(Stream.take(3), Stream.concat(Stream.fail("source broke" as const)))
              assert.strictEqual(yield* Effect.flip(store.put(failing)), "source broke")
            }),
            faults
          )
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              assert.isFalse(yield* store.exists(key))
              const e = yield* Effect.flip(Stream.runDrain(store.get(key)))
              assert.isTrue(StorageError.hasReason(e, "NotFound"))
            })
          )
        }),
      t
    )

    it.effect(
      "a lost acknowledgement after the commit: the blob survives, and a retry is idempotent with all blocks duplicate",
      () =>
        Effect.gen(function* () {
          const bytes = Gen.randomBytes(2 * 1024 * 1024)
          const key = BinaryKey.ofBytes(bytes)
          const faults = FaultInjection.makeInjector([
            FaultInjection.failAt("commit", 1, StorageError.unavailable("ManifestStore.commit"), "after")
          ])
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              const e = yield* Effect.flip(store.put(body(bytes)))
              assert.isTrue(StorageError.hasReason(e, "Unavailable"))
            }),
            faults
          )
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              assert.isTrue(yield* store.exists(key))
              const retry = yield* store.put(body(bytes))
              assert.deepStrictEqual(retry.key, key)
              assert.isFalse(retry.created)
              assert.strictEqual(retry.freshBlocks, 0)
              assert.strictEqual(retry.duplicateBlocks, retry.blockCount)
              assert.isTrue(Gen.bytesEqual(yield* readAll(key), bytes))
            })
          )
        }),
      t
    )

    it.effect(
      "an interrupted source never publishes, before or after a restart",
      () =>
        Effect.gen(function* () {
          const bytes = Gen.randomBytes(1024 * 1024)
          const key = BinaryKey.ofBytes(bytes)
          yield* session(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              const fiber = yield* Effect.forkChild(store.put(body(bytes).pipe(Stream.concat(Stream.never))))
              yield* TestClock.withLive(Effect.sleep("50 millis"))
              yield* Fiber.interrupt(fiber)
              assert.isFalse(yield* store.exists(key))
            })
          )
          yield* session(
            Effect.flatMap(BlobStore.BlobStore, (s) => Effect.map(s.exists(key), (e) => assert.isFalse(e)))
          )
        }),
      t
    )
  })
