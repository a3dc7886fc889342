import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Chunker } from "@graviton/core"
import {
  BlobStore,
  Graviton,
  GravitonConfig,
  GravitonRuntime,
  MetricKeys,
  MetricsRegistry,
  RetentionPolicy,
  StorageError
} from "@graviton/runtime"
import { BlobStoreSuite, Generators as Gen } from "@graviton/runtime/testing"
import { type Config, ConfigProvider, Duration, Effect, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"

// The BlobStore laws against the fully composed runtime: decorated stores (timeout, retry, metrics, tracing,
// caches), the engine, policies.
BlobStoreSuite.run("GravitonRuntime.layerMemory", GravitonRuntime.layerMemory())
BlobStoreSuite.run(
  "GravitonRuntime.layerMemory with zstd compression and fixed-size chunks",
  GravitonRuntime.layerMemory({ compression: "zstd", chunker: Result.getOrThrow(Chunker.fixed(65536)) })
)

describe("Graviton facade", () => {
  it.effect("puts and gets bytes, parses keys, records metrics", () =>
    Effect.gen(function* () {
      const graviton = yield* Graviton.Graviton
      const bytes = new TextEncoder().encode("hello graviton")
      const r = yield* graviton.putBytes(bytes, { attributes: { "content-type": "text/plain" } })
      const key = yield* graviton.parseKey(BinaryKey.format(r.key))
      assert.deepStrictEqual(yield* graviton.getBytes(key), bytes)
      assert.deepStrictEqual(yield* graviton.getBytes(key, { start: 6, end: 14 }), bytes.subarray(6))
      const e = yield* Effect.flip(graviton.parseKey("sha-256:nope:1"))
      assert.isTrue(StorageError.hasReason(e, "InvalidArgument"))
      const text = yield* graviton.metrics
      assert.include(text, "graviton_bytes_ingested_total 14")
      assert.include(
        text,
        'graviton_port_operations_total{backend="memory",operation="commit",outcome="ok",port="ManifestStore"} 1'
      )
      const registry = yield* MetricsRegistry.MetricsRegistry
      assert.strictEqual(
        yield* registry.counterValue(MetricKeys.blobOperations, { operation: "put", outcome: "ok" }),
        1
      )
    }).pipe(Effect.provide(GravitonRuntime.layerMemory()))
  )

  it.effect("gc reclaims the blocks of deleted blobs once they are older than the minimum age", () =>
    Effect.gen(function* () {
      const graviton = yield* Graviton.Graviton
      const keep = yield* graviton.putBytes(Gen.randomBytes(500_000))
      const drop = yield* graviton.putBytes(Gen.randomBytes(500_000))
      yield* graviton.blobs.delete(drop.key)
      const early = yield* graviton.gc({ apply: true })
      assert.strictEqual(early.deleted, 0)
      yield* TestClock.adjust("2 hours")
      const report = yield* graviton.gc({ apply: true })
      assert.strictEqual(report.deleted, drop.blockCount)
      assert.isTrue((yield* graviton.blobs.verify(keep.key)).ok)
    }).pipe(Effect.provide(GravitonRuntime.layerMemory()))
  )

  it.effect("the retention sweeper deletes blobs past their retention, by attribute", () =>
    Effect.gen(function* () {
      const graviton = yield* Graviton.Graviton
      const temp = yield* graviton.putBytes(Gen.randomBytes(100), { attributes: { class: "temp" } })
      const kept = yield* graviton.putBytes(Gen.randomBytes(100), { attributes: { class: "archive" } })
      yield* TestClock.adjust(Duration.days(2))
      const dry = yield* graviton.sweepRetention()
      assert.isTrue(dry.dryRun)
      assert.strictEqual(dry.expired, 1)
      assert.deepStrictEqual(dry.sample, [BinaryKey.format(temp.key)])
      const applied = yield* graviton.sweepRetention({ apply: true })
      assert.strictEqual(applied.deleted, 1)
      assert.isFalse(yield* graviton.blobs.exists(temp.key))
      assert.isTrue(yield* graviton.blobs.exists(kept.key))
    }).pipe(
      Effect.provide(
        GravitonRuntime.layerMemory({
          retention: RetentionPolicy.attributeBased([{ attribute: "class", equals: "temp", retainDays: 1 }], {
            _tag: "Infinite"
          })
        })
      )
    )
  )

  it.effect("resumable uploads commit into the same blob store", () =>
    Effect.gen(function* () {
      const graviton = yield* Graviton.Graviton
      const bytes = Gen.randomBytes(300_000)
      const s = yield* graviton.uploads.create({ length: bytes.byteLength })
      yield* graviton.uploads.writePart(s.id, 150_000, Stream.succeed(bytes.subarray(150_000)))
      yield* graviton.uploads.writePart(s.id, 0, Stream.succeed(bytes.subarray(0, 150_000)))
      const r = yield* graviton.uploads.commit(s.id)
      assert.deepStrictEqual(yield* graviton.getBytes(r.key), bytes)
      const stat = Option.getOrThrow(yield* (yield* BlobStore.BlobStore).stat(r.key))
      assert.strictEqual(stat.size, bytes.byteLength)
    }).pipe(Effect.provide(GravitonRuntime.layerMemory()))
  )
})

describe("GravitonConfig", () => {
  const read = (env: Record<string, string>) =>
    Effect.provideService(
      GravitonConfig.config as Effect.Effect<GravitonConfig.GravitonConfig, Config.ConfigError>,
      ConfigProvider.ConfigProvider,
      ConfigProvider.fromEnv({ env })
    )

  it.effect("defaults to the embedded level backend in ./.graviton", () =>
    Effect.gen(function* () {
      const c = yield* read({})
      assert.strictEqual(c.backend, "level")
      assert.strictEqual(c.dataDir, "./.graviton")
      assert.strictEqual(Chunker.formatId(c.chunker), Chunker.formatId(Chunker.defaults))
      assert.strictEqual(c.algorithm, "sha-256")
      assert.strictEqual(c.constraints.maxBlobSize, 100 * 1024 ** 3)
    })
  )

  it.effect("reads GRAVITON_* variables", () =>
    Effect.gen(function* () {
      const c = yield* read({
        GRAVITON_BACKEND: "memory",
        GRAVITON_DATA_DIR: "/srv/graviton",
        GRAVITON_CHUNKER: "fixed-v1:1048576",
        GRAVITON_HASH: "blake3",
        GRAVITON_COMPRESSION: "auto",
        GRAVITON_CONSTRAINTS_MAX_BLOB_SIZE: "1 GiB",
        GRAVITON_RETENTION_POLICY: '{"_tag":"TimeBased","days":30}',
        GRAVITON_GC_MIN_AGE: "30 minutes"
      })
      assert.strictEqual(c.backend, "memory")
      assert.strictEqual(c.dataDir, "/srv/graviton")
      assert.strictEqual(Chunker.formatId(c.chunker), "fixed-v1:1048576")
      assert.strictEqual(c.algorithm, "blake3")
      assert.strictEqual(c.compression, "auto")
      assert.strictEqual(c.constraints.maxBlobSize, 1024 ** 3)
      assert.deepStrictEqual(c.retention, { _tag: "TimeBased", days: 30 })
      assert.strictEqual(Duration.toMillis(c.gcMinAge), 30 * 60_000)
    })
  )

  it.effect("rejects bad values with a ConfigError naming the variable", () =>
    Effect.gen(function* () {
      for (const env of [
        { GRAVITON_BACKEND: "mongo" },
        { GRAVITON_CHUNKER: "fastcdc-v1:1:2:3" },
        { GRAVITON_HASH: "md5" },
        { GRAVITON_RETENTION_POLICY: "{" }
      ]) {
        const e = yield* Effect.flip(read(env))
        assert.strictEqual(e._tag, "ConfigError")
      }
    })
  )
})
