import { createCipheriv, createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Chunker, Span } from "@graviton/core"
import {
  BlobStore,
  BlockStore,
  ConstraintPolicy,
  ConstraintViolation,
  Gc,
  IngestLeases,
  ManifestStore,
  MetricKeys,
  MetricsRegistry,
  SpillPolicy,
  type StorageError
} from "@graviton/runtime"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect, Fiber, Layer, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"

/** `n` pseudo-random bytes, the same for the same `seed` (AES-256-CTR keystream). */
const seeded = (seed: string, n: number): Uint8Array => {
  const key = createHash("sha256").update(seed).digest()
  return new Uint8Array(createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n)))
}

const body = (bytes: Uint8Array) => Stream.fromIterable(Gen.slices(bytes, 64 * 1024))
const collect = (s: Stream.Stream<Uint8Array, StorageError.StorageError>) =>
  Effect.map(Stream.runCollect(s), (parts) => Gen.concat(parts))

/** A BlockStore whose reads of chosen keys return damaged bytes or nothing. */
const tampering = () => {
  const damaged = new Set<string>()
  const missing = new Set<string>()
  const layer = Layer.effect(
    BlockStore.BlockStore,
    Effect.map(BlockStore.BlockStore, (inner: BlockStore.BlockStore) => {
      const tamper = (key: BinaryKey.BinaryKey, o: Option.Option<Uint8Array>) => {
        const id = BinaryKey.format(key)
        if (missing.has(id)) return Option.none()
        if (damaged.has(id) && Option.isSome(o)) {
          const copy = o.value.slice()
          copy[copy.length >> 1]! ^= 0xff
          return Option.some(copy)
        }
        return o
      }
      return BlockStore.BlockStore.of({
        ...inner,
        get: (key) => Effect.map(inner.get(key), (o) => tamper(key, o)),
        getMany: (keys) => Effect.map(inner.getMany(keys), (os) => os.map((o, i) => tamper(keys[i]!, o)))
      })
    })
  ).pipe(Layer.provide(BlockStore.layerMemory))
  return { damaged, missing, layer }
}

describe("CAS engine", () => {
  it.effect("a damaged block fails the read with Corrupt before any of its bytes are emitted", () => {
    const t = tampering()
    return Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const manifests = yield* ManifestStore.ManifestStore
      const bytes = Gen.randomBytes(2 * 1024 * 1024)
      const r = yield* store.put(body(bytes))
      const entries = yield* Stream.runCollect(manifests.entries(r.key))
      assert.isAtLeast(entries.length, 3)
      const victim = entries[1]!
      t.damaged.add(BinaryKey.format(victim.blockKey))
      const emitted: Array<Uint8Array> = []
      const e = yield* Effect.flip(Stream.runForEach(store.get(r.key), (c) => Effect.sync(() => void emitted.push(c))))
      assert.strictEqual(e.reason._tag, "Corrupt")
      const got = Gen.concat(emitted)
      assert.isAtMost(got.byteLength, victim.offset)
      assert.isTrue(Gen.bytesEqual(got, bytes.subarray(0, got.byteLength)))
      const report = yield* store.verify(r.key)
      assert.isFalse(report.ok)
      assert.deepStrictEqual(report.corruptBlocks, [victim.blockKey])
      assert.strictEqual(report.missingBlocks.length, 0)
      // a range that avoids the damaged block still reads
      const before = yield* collect(store.get(r.key, Span.unsafeMake(0, victim.offset)))
      assert.isTrue(Gen.bytesEqual(before, bytes.subarray(0, victim.offset)))
    }).pipe(
      Effect.provide(
        BlobStore.layer().pipe(
          Layer.provideMerge(Layer.mergeAll(t.layer, ManifestStore.layerMemory, IngestLeases.layerMemory))
        )
      )
    )
  })

  it.effect("a missing block fails the read with Corrupt and verify lists it", () => {
    const t = tampering()
    return Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const manifests = yield* ManifestStore.ManifestStore
      const bytes = Gen.randomBytes(1024 * 1024)
      const r = yield* store.put(body(bytes))
      const entries = yield* Stream.runCollect(manifests.entries(r.key))
      const victim = entries[entries.length - 1]!
      t.missing.add(BinaryKey.format(victim.blockKey))
      const e = yield* Effect.flip(collect(store.get(r.key)))
      assert.strictEqual(e.reason._tag, "Corrupt")
      const report = yield* store.verify(r.key)
      assert.isFalse(report.ok)
      assert.isFalse(report.contentMatches)
      assert.deepStrictEqual(report.missingBlocks, [victim.blockKey])
    }).pipe(
      Effect.provide(
        BlobStore.layer().pipe(
          Layer.provideMerge(Layer.mergeAll(t.layer, ManifestStore.layerMemory, IngestLeases.layerMemory))
        )
      )
    )
  })

  it.effect(
    "a shifted copy deduplicates: bytes inserted at the front of a 16 MiB blob leave most blocks duplicate",
    () =>
      Effect.gen(function* () {
        const store = yield* BlobStore.BlobStore
        // fixed pseudo-random bytes: on random data FastCDC resynchronises after an insertion within 1 block almost
        // always, but measured over 3000 random 2 MiB blobs 6 needed 2–6 fresh blocks, so random data made the bound
        // below fail about once in a thousand runs
        const original = seeded("shifted-copy", 16 * 1024 * 1024)
        const first = yield* store.put(body(original))
        const shifted = Gen.concat([seeded("prefix", 137), original])
        const second = yield* store.put(body(shifted))
        assert.isTrue(second.created)
        assert.isAtLeast(second.duplicateBlocks, Math.floor(second.blockCount * 0.9))
        assert.isAtMost(second.freshBlocks, 3)
        assert.isBelow(second.freshBytes, 1024 * 1024)
        assert.isTrue(Gen.bytesEqual(yield* collect(store.get(second.key)), shifted))
        assert.isTrue(Gen.bytesEqual(yield* collect(store.get(first.key)), original))
      }).pipe(Effect.provide(BlobStore.layerMemory))
  )

  it.effect(
    "worker ingest cuts and keys exactly as inline ingest, however the body is sliced (tiny, megabyte-crossing, huge)",
    () =>
      Effect.gen(function* () {
        const bytes = Gen.randomBytes(3 * 1024 * 1024 + 12_345)
        const tiny = Gen.slices(bytes.subarray(0, 200_000), 97)
        const slicings: ReadonlyArray<ReadonlyArray<Uint8Array>> = [
          [bytes],
          [...tiny, bytes.subarray(200_000)],
          Gen.slices(bytes, 64 * 1024),
          [
            bytes.subarray(0, 1024 * 1024 - 1),
            bytes.subarray(1024 * 1024 - 1, 2 * 1024 * 1024 + 1),
            bytes.subarray(2 * 1024 * 1024 + 1)
          ],
          [new Uint8Array(0), bytes.subarray(0, 5), new Uint8Array(0), bytes.subarray(5), new Uint8Array(0)]
        ]
        /** Ingests `parts` into fresh stores; the key, the manifest's block layout and the bytes read back. */
        const ingest = (hashing: "inline" | "worker", parts: ReadonlyArray<Uint8Array>) =>
          Effect.gen(function* () {
            const store = yield* BlobStore.BlobStore
            const manifests = yield* ManifestStore.ManifestStore
            const r = yield* store.put(Stream.fromIterable(parts))
            const entries = yield* Stream.runCollect(manifests.entries(r.key, Span.unsafeMake(0, r.key.size)))
            const back = yield* collect(store.get(r.key))
            return {
              key: BinaryKey.format(r.key),
              layout: entries.map((e) => `${e.offset}:${BinaryKey.format(e.blockKey)}`),
              back
            }
          }).pipe(Effect.provide(BlobStore.layer({ hashing }).pipe(Layer.provideMerge(BlobStore.layerMemoryStores))))
        const expected = yield* ingest("inline", [bytes])
        assert.isAbove(expected.layout.length, 20)
        for (const parts of slicings) {
          const seen = yield* ingest("worker", parts)
          assert.strictEqual(seen.key, expected.key)
          assert.deepStrictEqual(seen.layout, expected.layout)
          assert.isTrue(Gen.bytesEqual(seen.back, bytes))
        }
      })
  )

  it.effect(
    "concurrent worker ingests past the shared hand-over buffers (64 MiB) fall back to transferred ones and key exactly",
    () =>
      Effect.gen(function* () {
        const store = yield* BlobStore.BlobStore
        // 12 bodies of 9 MiB, 1 MiB at a time, all in flight: more hand-over buffers than the shared pool makes
        const bodies = Array.from({ length: 12 }, () => Gen.randomBytes(9 * 1024 * 1024 + 333))
        const results = yield* Effect.forEach(
          bodies,
          (bytes) => store.put(Stream.fromIterable(Gen.slices(bytes, 1024 * 1024))),
          { concurrency: "unbounded" }
        )
        for (const [i, r] of results.entries()) {
          const bytes = bodies[i]!
          assert.strictEqual(BinaryKey.format(r.key), BinaryKey.format(BinaryKey.ofBytes(bytes)))
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), bytes))
        }
        // and the pool still serves a later ingest correctly
        const after = Gen.randomBytes(3 * 1024 * 1024)
        const r = yield* store.put(body(after))
        assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), after))
      }).pipe(
        Effect.provide(BlobStore.layer({ hashing: "worker" }).pipe(Layer.provideMerge(BlobStore.layerMemoryStores)))
      ),
    60_000
  )

  it.effect("a range read fetches only the blocks that intersect the range", () => {
    let fetched = 0
    const counting = Layer.effect(
      BlockStore.BlockStore,
      Effect.map(BlockStore.BlockStore, (inner: BlockStore.BlockStore) =>
        BlockStore.BlockStore.of({
          ...inner,
          get: (key) =>
            Effect.andThen(
              Effect.sync(() => void fetched++),
              inner.get(key)
            ),
          getMany: (keys) =>
            Effect.andThen(
              Effect.sync(() => void (fetched += keys.length)),
              inner.getMany(keys)
            )
        })
      )
    ).pipe(Layer.provide(BlockStore.layerMemory))
    return Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const manifests = yield* ManifestStore.ManifestStore
      const bytes = Gen.randomBytes(4 * 1024 * 1024)
      const r = yield* store.put(body(bytes))
      const entries = yield* Stream.runCollect(manifests.entries(r.key))
      const e = entries[5]!
      const before = fetched
      const got = yield* collect(store.get(r.key, Span.unsafeMake(e.offset + 10, e.offset + 20)))
      assert.isTrue(Gen.bytesEqual(got, bytes.subarray(e.offset + 10, e.offset + 20)))
      assert.strictEqual(fetched - before, 1)
      const across = yield* collect(store.get(r.key, Span.unsafeMake(e.offset + e.size - 1, e.offset + e.size + 1)))
      assert.isTrue(Gen.bytesEqual(across, bytes.subarray(e.offset + e.size - 1, e.offset + e.size + 1)))
      assert.strictEqual(fetched - before, 3)
    }).pipe(
      Effect.provide(
        BlobStore.layer().pipe(
          Layer.provideMerge(Layer.mergeAll(counting, ManifestStore.layerMemory, IngestLeases.layerMemory))
        )
      )
    )
  })

  it.effect("metrics: exact counts of operations, bytes and fresh/duplicate blocks on a fresh registry", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const registry = yield* MetricsRegistry.MetricsRegistry
      const bytes = Gen.randomBytes(1024 * 1024)
      const first = yield* store.put(body(bytes))
      const second = yield* store.put(body(bytes))
      yield* collect(store.get(first.key))
      yield* Effect.flip(collect(store.get(BinaryKey.ofBytes(Gen.randomBytes(10)))))
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.blobOperations, { operation: "put", outcome: "ok" }),
        2
      )
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.blobOperations, { operation: "get", outcome: "ok" }),
        1
      )
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.blobOperations, { operation: "get", outcome: "error" }),
        1
      )
      assert.strictEqual(yield* registry.counterValue(MetricKeys.bytesIngested), 2 * bytes.byteLength)
      assert.strictEqual(yield* registry.counterValue(MetricKeys.bytesServed), bytes.byteLength)
      assert.strictEqual(yield* registry.counterValue(MetricKeys.freshBlocks), first.freshBlocks)
      assert.strictEqual(yield* registry.counterValue(MetricKeys.duplicateBlocks), second.duplicateBlocks)
      assert.strictEqual(second.duplicateBlocks, first.blockCount)
      const text = yield* registry.prometheus
      assert.include(text, `graviton_blob_operations_total{operation="put",outcome="ok"} 2`)
      assert.include(text, "# TYPE graviton_blob_size_bytes histogram")
      assert.include(text, `graviton_blob_size_bytes_count 2`)
    }).pipe(
      Effect.provide(
        BlobStore.layer().pipe(Layer.provideMerge(Layer.merge(BlobStore.layerMemoryStores, MetricsRegistry.layerFresh)))
      )
    )
  )
})

describe("GC", () => {
  const stack = BlobStore.layerMemoryWithStores()

  it.effect("dry run reports unreferenced old blocks and deletes nothing; apply deletes exactly them", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const blocks = yield* BlockStore.BlockStore
      const keep = Gen.randomBytes(1024 * 1024)
      const drop = Gen.randomBytes(1024 * 1024)
      const k = yield* store.put(body(keep))
      const d = yield* store.put(body(drop))
      yield* store.delete(d.key)
      yield* TestClock.adjust("2 hours")
      const dry = yield* Gc.run({ minAge: "1 hour" })
      assert.isTrue(dry.dryRun)
      assert.strictEqual(dry.candidates, d.blockCount)
      assert.strictEqual(dry.candidateBytes, drop.byteLength)
      assert.strictEqual(dry.deleted, 0)
      assert.strictEqual(dry.referenced, k.blockCount)
      assert.strictEqual(dry.scanned, k.blockCount + d.blockCount)
      const applied = yield* Gc.run({ minAge: "1 hour", apply: true })
      assert.strictEqual(applied.deleted, d.blockCount)
      assert.strictEqual(applied.deletedBytes, drop.byteLength)
      assert.isTrue(Gen.bytesEqual(yield* collect(store.get(k.key)), keep))
      assert.isTrue((yield* store.verify(k.key)).ok)
      const again = yield* Gc.run({ minAge: "1 hour", apply: true })
      assert.strictEqual(again.candidates, 0)
      const inv = yield* blocks.inventory()
      assert.strictEqual(inv.items.length, k.blockCount)
    }).pipe(Effect.provide(stack))
  )

  it.effect("blocks younger than minAge are spared", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const d = yield* store.put(body(Gen.randomBytes(300_000)))
      yield* store.delete(d.key)
      yield* TestClock.adjust("10 minutes")
      const report = yield* Gc.run({ minAge: "1 hour", apply: true })
      assert.strictEqual(report.deleted, 0)
      assert.strictEqual(report.tooYoung, d.blockCount)
    }).pipe(Effect.provide(stack))
  )

  it.effect("an in-flight ingest's lease holds the cutoff back, so its re-used blocks survive a sweep", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const content = Gen.randomBytes(4 * 1024 * 1024)
      const old = yield* store.put(body(content))
      yield* store.delete(old.key)
      yield* TestClock.adjust("2 hours")
      // an ingest of the same content that stalls before its commit
      const parts = Gen.slices(content, 100_000)
      const stalled = Stream.fromIterable(parts.slice(0, -1)).pipe(
        Stream.concat(Stream.fromEffect(Effect.sleep("30 minutes").pipe(Effect.as(parts[parts.length - 1]!))))
      )
      const fiber = yield* Effect.forkChild(store.put(stalled))
      // let the ingest (hashing runs on a worker thread, in real time) reach its stall
      yield* TestClock.withLive(Effect.sleep("300 millis"))
      yield* TestClock.adjust("1 minute")
      // blocks the stalled ingest already touched are protected; the rest of the old blob is fair game
      const report = yield* Gc.run({ minAge: "1 hour", apply: true })
      assert.isBelow(report.deleted, old.blockCount)
      assert.isAbove(report.skipped + report.tooYoung, 0)
      yield* TestClock.adjust("2 hours")
      const r = yield* Fiber.join(fiber)
      assert.deepStrictEqual(r.key, old.key)
      assert.isAtLeast(r.duplicateBlocks, 16)
      assert.isTrue((yield* store.verify(r.key)).ok)
      assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), content))
    }).pipe(Effect.provide(stack))
  )

  it.live(
    "randomized: ingests re-using existing blocks run while GC sweeps; every committed blob reads back",
    () =>
      Effect.gen(function* () {
        const store = yield* BlobStore.BlobStore
        const pool = Array.from({ length: 6 }, () => Gen.randomBytes(400_000))
        const committed: Array<{ readonly key: BinaryKey.BinaryKey; readonly bytes: Uint8Array }> = []
        // seed, then delete, so every pool block becomes a GC candidate
        for (const p of pool) {
          const r = yield* store.put(body(p))
          yield* store.delete(r.key)
        }
        const ingest = Effect.gen(function* () {
          for (let i = 0; i < 25; i++) {
            const a = pool[Math.floor(Math.random() * pool.length)]!
            const b = pool[Math.floor(Math.random() * pool.length)]!
            const mix = Gen.concat([
              a.subarray(0, 1 + Math.floor(Math.random() * a.byteLength)),
              Gen.randomBytes(5000),
              b
            ])
            const r = yield* store.put(body(mix))
            committed.push({ key: r.key, bytes: mix })
            if (Math.random() < 0.3) yield* Effect.sleep(`${Math.floor(Math.random() * 5)} millis`)
          }
        })
        const sweeper = Effect.gen(function* () {
          for (let i = 0; i < 40; i++) {
            yield* Gc.run({ minAge: 0, skew: 0, apply: true })
            yield* Effect.sleep(`${Math.floor(Math.random() * 3)} millis`)
          }
        })
        yield* Effect.all([ingest, ingest, sweeper, ingest], { concurrency: "unbounded", discard: true })
        yield* Gc.run({ minAge: 0, skew: 0, apply: true })
        for (const c of committed) {
          assert.isTrue(Gen.bytesEqual(yield* collect(store.get(c.key)), c.bytes))
        }
      }).pipe(Effect.provide(BlobStore.layerMemoryWithStores())),
    120_000
  )
})

describe("CAS engine with policies", () => {
  const withPolicies = (config: Partial<ConstraintPolicy.ConstraintConfig>) =>
    BlobStore.layer().pipe(
      Layer.provideMerge(
        Layer.mergeAll(BlobStore.layerMemoryStores, ConstraintPolicy.layer({ ...ConstraintPolicy.defaults, ...config }))
      )
    )

  it.effect("a declared size over maxBlobSize fails TooLarge before any byte is pulled", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      let pulled = 0
      const src = Stream.fromIterable([Gen.randomBytes(10)]).pipe(Stream.tap(() => Effect.sync(() => void pulled++)))
      const e = yield* Effect.flip(store.put(src, { expectedSize: 2000 }))
      assert.isTrue(ConstraintViolation.isConstraintViolation(e))
      assert.strictEqual((e as ConstraintViolation.ConstraintViolation).reason._tag, "TooLarge")
      assert.strictEqual(pulled, 0)
    }).pipe(Effect.provide(withPolicies({ maxBlobSize: 1000 })))
  )

  it.effect("an undeclared body is cut off at maxBlobSize and nothing is published", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const bytes = Gen.randomBytes(5000)
      const e = yield* Effect.flip(store.put(body(bytes)))
      assert.strictEqual((e as ConstraintViolation.ConstraintViolation).reason._tag, "TooLarge")
      assert.isFalse(yield* store.exists(BinaryKey.ofBytes(bytes)))
      const ok = yield* store.put(body(bytes.subarray(0, 1000)))
      assert.strictEqual(ok.size, 1000)
    }).pipe(Effect.provide(withPolicies({ maxBlobSize: 1000 })))
  )

  it.effect("quota is charged for created blobs only and refused once exhausted", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const policy = yield* ConstraintPolicy.ConstraintPolicy
      const a = Gen.randomBytes(6000)
      yield* store.put(body(a), { tenant: "t1" })
      assert.strictEqual(yield* policy.usedQuota("t1"), 6000)
      const dup = yield* store.put(body(a), { tenant: "t1" })
      assert.isFalse(dup.created)
      assert.strictEqual(yield* policy.usedQuota("t1"), 6000)
      yield* store.put(body(Gen.randomBytes(5000)), { tenant: "t1" })
      assert.strictEqual(yield* policy.usedQuota("t1"), 11_000)
      const e = yield* Effect.flip(store.put(body(Gen.randomBytes(5000)), { tenant: "t1" }))
      assert.strictEqual((e as ConstraintViolation.ConstraintViolation).reason._tag, "QuotaExceeded")
      assert.strictEqual(yield* policy.usedQuota("t1"), 11_000)
      const declared = yield* Effect.flip(store.put(body(Gen.randomBytes(10)), { tenant: "t1", expectedSize: 3000 }))
      assert.strictEqual((declared as ConstraintViolation.ConstraintViolation).reason._tag, "QuotaExceeded")
      yield* store.put(body(Gen.randomBytes(5000)), { tenant: "t2" })
    }).pipe(Effect.provide(withPolicies({ quotaPerTenant: 13_000 })))
  )

  it.effect("concurrent uploads over the tenant's limit fail ConcurrencyExceeded", () =>
    Effect.gen(function* () {
      const store = yield* BlobStore.BlobStore
      const stalled = Stream.make(Gen.randomBytes(10)).pipe(Stream.concat(Stream.never))
      const f1 = yield* Effect.forkChild(store.put(stalled))
      const f2 = yield* Effect.forkChild(store.put(stalled))
      yield* TestClock.withLive(Effect.sleep("20 millis"))
      const e = yield* Effect.flip(store.put(Stream.make(Gen.randomBytes(10))))
      assert.strictEqual((e as ConstraintViolation.ConstraintViolation).reason._tag, "ConcurrencyExceeded")
      yield* Fiber.interrupt(f1)
      yield* Fiber.interrupt(f2)
      const ok = yield* store.put(Stream.make(Gen.randomBytes(10)))
      assert.strictEqual(ok.size, 10)
    }).pipe(Effect.provide(withPolicies({ maxConcurrentUploads: 2 })))
  )

  it.effect("large manifests spill to disk during ingest, read back exactly, and leave no spill files", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graviton-spill-test-"))
      const layer = BlobStore.layer({ spillAfterEntries: 8, chunker: Result.getOrThrow(Chunker.fixed(4096)) }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(BlobStore.layerMemoryStores, SpillPolicy.layer({ directory: dir, threshold: 2048 }))
        )
      )
      yield* Effect.gen(function* () {
        const store = yield* BlobStore.BlobStore
        const bytes = Gen.randomBytes(1024 * 1024)
        const r = yield* store.put(body(bytes))
        assert.strictEqual(r.blockCount, 256)
        assert.isTrue(Gen.bytesEqual(yield* collect(store.get(r.key)), bytes))
        assert.isTrue((yield* store.verify(r.key)).ok)
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      fs.rmSync(dir, { recursive: true, force: true })
    })
  )
})
