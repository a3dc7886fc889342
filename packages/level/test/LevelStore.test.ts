import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import { LevelLayers, LevelMetrics, LevelStore } from "@graviton/level"
import {
  BlobStore,
  BlockStore,
  Gc,
  KeyValueStore,
  ManifestStore,
  MetricsRegistry,
  StorageError
} from "@graviton/runtime"
import { Generators as Gen, ManifestStoreSuite } from "@graviton/runtime/testing"
import { ClassicLevel } from "classic-level"
import { ConfigProvider, Effect, Layer, Option, Result, Stream } from "effect"
import * as Persistence from "effect/persistence/KeyValueStore"
import { TestClock } from "effect/testing"
import * as Keys from "../src/internal/keys.ts"
import { FILE_HEADER } from "../src/internal/packFiles.ts"

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "graviton-level-test-"))
const cleanup = (dir: string) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Runs `eff` with the store at `dir` open, closing it afterwards (one "process lifetime"). */
const session = <A, E, R>(dir: string, options: Omit<LevelLayers.Options, "path">, eff: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.provide(eff, LevelLayers.layer({ ...options, path: dir })))

const packFiles = (dir: string) =>
  fs
    .readdirSync(path.join(dir, "packs"))
    .filter((n) => n.endsWith(".pack"))
    .sort()
const packBytesOnDisk = (dir: string) =>
  packFiles(dir).reduce((n, f) => n + fs.statSync(path.join(dir, "packs", f)).size, 0)

/** Direct access to the LevelDB of a closed store (white-box tests). */
const withRawDb = <A>(dir: string, f: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<A>) =>
  Effect.promise(async () => {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(path.join(dir, "index"), {
      keyEncoding: "view",
      valueEncoding: "view"
    })
    await db.open()
    try {
      return await f(db)
    } finally {
      await db.close()
    }
  })

const watermarkValue = (pack: number, offset: number) => {
  const v = new Uint8Array(10)
  Keys.writeU32(v, 0, pack)
  Keys.writeU48(v, 4, offset)
  return v
}

const expectReason = <A, E>(eff: Effect.Effect<A, E>, tag: StorageError.ReasonTag) =>
  Effect.gen(function* () {
    const e = yield* Effect.flip(eff)
    assert.isTrue(StorageError.hasReason(e, tag), String(e))
    return e as unknown as StorageError.StorageError
  })

describe("opening a data directory", () => {
  it.effect("a second open of a store that is already open fails Unavailable: locked by another process", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* session(
        dir,
        {},
        Effect.gen(function* () {
          const e = yield* expectReason(session(dir, {}, Effect.void), "Unavailable")
          assert.include(e.message, "locked by another process")
          assert.isFalse(e.retryable)
        })
      )
      // after the first session closed, the lock is released
      yield* session(dir, {}, Effect.void)
      yield* cleanup(dir)
    })
  )

  it.effect("an unknown format version, or a LevelDB that is not a Graviton store, fails Unsupported", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* session(dir, {}, Effect.void)
      yield* withRawDb(dir, (db) =>
        db.put(
          Keys.metaKey("format"),
          new TextEncoder().encode(JSON.stringify({ format: "graviton-level", version: 99 }))
        )
      )
      const e = yield* expectReason(session(dir, {}, Effect.void), "Unsupported")
      assert.include(e.message, "format 99")
      const other = tempDir()
      yield* withRawDb(other, (db) => db.put(Uint8Array.of(1), Uint8Array.of(2)))
      const e2 = yield* expectReason(session(other, {}, Effect.void), "Unsupported")
      assert.include(e2.message, "not a Graviton store")
      yield* cleanup(dir)
      yield* cleanup(other)
    })
  )

  it.effect("layerConfig reads GRAVITON_LEVEL_* settings", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const store = yield* Effect.scoped(
        Effect.provide(
          LevelStore.LevelStore,
          LevelLayers.layerConfig().pipe(
            Layer.provide(
              ConfigProvider.layer(
                ConfigProvider.fromEnv({
                  env: {
                    GRAVITON_LEVEL_PATH: dir,
                    GRAVITON_LEVEL_MAX_PACK_SIZE: "8MiB",
                    GRAVITON_LEVEL_DURABILITY: "write",
                    GRAVITON_LEVEL_AUTO_COMPACT: "false",
                    GRAVITON_LEVEL_COMPACTION_THRESHOLD: "0.25"
                  }
                })
              )
            )
          )
        )
      )
      assert.strictEqual(store.path, path.resolve(dir))
      assert.strictEqual(store.options.maxPackSize, 8 * 1024 * 1024)
      assert.strictEqual(store.options.durability, "write")
      assert.isFalse(store.options.autoCompact)
      assert.strictEqual(store.options.compactionThreshold, 0.25)
      yield* cleanup(dir)
    })
  )
})

describe("pack recovery", () => {
  it.effect(
    "a torn tail is cut on open: its index rows are dropped, earlier blocks read back, the key can be rewritten",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const a = Gen.block(100_000)
        const b = Gen.block(100_000)
        yield* session(
          dir,
          {},
          Effect.flatMap(BlockStore.BlockStore, (s) => s.putMany([a, b]))
        )
        // as if the process died before anything was committed: the watermark is back at the start, and the last
        // record only half reached the disk
        const [pack] = packFiles(dir)
        const file = path.join(dir, "packs", pack!)
        const size = fs.statSync(file).size
        fs.truncateSync(file, size - 50_000)
        yield* withRawDb(dir, (db) => db.put(Keys.metaKey("wm"), watermarkValue(1, FILE_HEADER)))
        yield* session(
          dir,
          {},
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const level = yield* LevelStore.LevelStore
            assert.isAbove(level.recovery.truncatedBytes, 0)
            assert.strictEqual(level.recovery.droppedRows, 1)
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(a.key)), a.bytes))
            assert.isFalse(yield* store.has(b.key))
            assert.strictEqual(yield* store.put(b.key, b.bytes), "fresh")
            assert.deepStrictEqual((yield* level.verify).badRows, [])
          })
        )
        yield* session(
          dir,
          {},
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const level = yield* LevelStore.LevelStore
            // closed cleanly: nothing left to scan
            assert.strictEqual(level.recovery.scannedBytes, 0)
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(a.key)), a.bytes))
          })
        )
        yield* cleanup(dir)
      })
  )

  it.effect(
    "garbage after the last record (a write that never completed) is cut; records nobody indexed count as dead",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const a = Gen.block(10_000)
        yield* session(
          dir,
          {},
          Effect.flatMap(BlockStore.BlockStore, (s) => s.put(a.key, a.bytes))
        )
        const file = path.join(dir, "packs", packFiles(dir)[0]!)
        const before = fs.statSync(file).size
        fs.appendFileSync(file, Buffer.alloc(4096, 0))
        yield* withRawDb(dir, async (db) => {
          await db.put(Keys.metaKey("wm"), watermarkValue(1, FILE_HEADER))
          // the index row of `a` was lost: its record is an orphan
          await db.del(Keys.textKey(Keys.BLOCK, BinaryKey.format(a.key)))
        })
        yield* session(
          dir,
          {},
          Effect.gen(function* () {
            const level = yield* LevelStore.LevelStore
            assert.strictEqual(level.recovery.truncatedBytes, 4096)
            assert.strictEqual(level.recovery.orphanBytes, before - FILE_HEADER)
            assert.strictEqual((yield* level.stats).deadBytes, before - FILE_HEADER)
          })
        )
        assert.strictEqual(fs.statSync(file).size, before)
        yield* cleanup(dir)
      })
  )

  it.effect("a pack created just before a crash whose header never reached the disk is repaired on open", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const a = Gen.block(10_000)
      yield* session(
        dir,
        {},
        Effect.flatMap(BlockStore.BlockStore, (s) => s.put(a.key, a.bytes))
      )
      fs.writeFileSync(
        path.join(dir, "packs", "00000002.pack"),
        Buffer.concat([Buffer.alloc(16), Buffer.alloc(100, 7)])
      )
      yield* session(
        dir,
        {},
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const level = yield* LevelStore.LevelStore
          assert.strictEqual(level.recovery.truncatedBytes, 100)
          assert.strictEqual((yield* level.stats).activePack, 2)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(a.key)), a.bytes))
          const b = Gen.block(10_000)
          yield* store.put(b.key, b.bytes)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
        })
      )
      yield* cleanup(dir)
    })
  )

  it.effect("a flipped byte below the watermark is reported by verify, and by get with verifyChecksums", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const a = Gen.block(5000)
      const b = Gen.block(5000)
      yield* session(
        dir,
        {},
        Effect.flatMap(BlockStore.BlockStore, (s) => s.putMany([a, b]))
      )
      const file = path.join(dir, "packs", packFiles(dir)[0]!)
      const fd = fs.openSync(file, "r+")
      const at = FILE_HEADER + 16 + 90 + 2000 // inside the data of the first record
      const one = Buffer.alloc(1)
      fs.readSync(fd, one, 0, 1, at)
      one[0] = one[0]! ^ 0xff
      fs.writeSync(fd, one, 0, 1, at)
      fs.closeSync(fd)
      yield* session(
        dir,
        { verifyChecksums: true },
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const level = yield* LevelStore.LevelStore
          const report = yield* level.verify
          assert.strictEqual(report.records, 2)
          assert.deepStrictEqual(report.badRows, [BinaryKey.format(a.key)])
          yield* expectReason(store.get(a.key), "Corrupt")
          // in a run read with its neighbour too
          yield* expectReason(store.getMany([b.key, a.key]), "Corrupt")
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
        })
      )
      yield* cleanup(dir)
    })
  )
})

describe("pack formats", () => {
  const fixture = fileURLToPath(new URL("./fixtures/format1-store", import.meta.url))
  /** The bytes the fixture's generator stored (a linear congruential sequence; see the test below). */
  const lcg = (n: number, seed: number) => {
    const out = new Uint8Array(n)
    let s = seed >>> 0
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      out[i] = s >>> 24
    }
    return out
  }
  const packVersion = (dir: string, name: string) => fs.readFileSync(path.join(dir, "packs", name)).readUInt32BE(8)
  const readBlob = (key: BinaryKey.BinaryKey) =>
    Effect.flatMap(BlobStore.BlobStore, (blobs) => Stream.runCollect(blobs.get(key))).pipe(Effect.map(Gen.concat))

  it.effect(
    "a store written with pack format 1 (a golden directory) opens, reads, verifies, and appends to a new format 2 pack",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        fs.cpSync(fixture, dir, { recursive: true })
        // what the fixture's generator put, with the pre-format-2 build of this package and default settings
        const blobs = [
          {
            key: "sha-256:5448a9c95a128590a579a5dbe9925007b40d4505f1e20399ce152a993527a883:21",
            bytes: new TextEncoder().encode("hello, pack format 1\n")
          },
          {
            key: "sha-256:93fdb72ff9c9b85d4d0ffa6150936403e46d0b77f68514fe696d24a84c3de187:204800",
            bytes: lcg(200 * 1024, 1)
          }
        ].map((b) => ({ key: Result.getOrThrow(BinaryKey.parse(b.key)), bytes: b.bytes }))
        assert.deepStrictEqual(packFiles(dir), ["00000001.pack"])
        assert.strictEqual(packVersion(dir, "00000001.pack"), 1)
        const fresh = Gen.randomBytes(300_000)
        const added = yield* session(
          dir,
          { verifyChecksums: true },
          Effect.gen(function* () {
            const store = yield* BlobStore.BlobStore
            const level = yield* LevelStore.LevelStore
            for (const b of blobs) {
              assert.isTrue(Gen.bytesEqual(yield* readBlob(b.key), b.bytes))
              assert.isTrue((yield* store.verify(b.key)).ok)
            }
            assert.deepStrictEqual((yield* level.verify).badRows, [])
            const r = yield* store.put(Stream.make(fresh))
            assert.isTrue(Gen.bytesEqual(yield* readBlob(r.key), fresh))
            return r.key
          }).pipe(Effect.provide(BlobStore.layer()))
        )
        // the format 1 pack was sealed as it was; everything new went to a format 2 pack
        assert.deepStrictEqual(packFiles(dir), ["00000001.pack", "00000002.pack"])
        assert.strictEqual(packVersion(dir, "00000001.pack"), 1)
        assert.strictEqual(packVersion(dir, "00000002.pack"), 2)
        assert.strictEqual(fs.statSync(path.join(dir, "packs", "00000001.pack")).size, 205_210)
        yield* session(
          dir,
          { verifyChecksums: true },
          Effect.gen(function* () {
            const level = yield* LevelStore.LevelStore
            assert.strictEqual(level.recovery.truncatedBytes, 0)
            for (const b of blobs) assert.isTrue(Gen.bytesEqual(yield* readBlob(b.key), b.bytes))
            assert.isTrue(Gen.bytesEqual(yield* readBlob(added), fresh))
            const report = yield* level.verify
            assert.deepStrictEqual(report.badRows, [])
          }).pipe(Effect.provide(BlobStore.layer()))
        )
        // a flipped data byte in a format 1 record is caught by its CRC
        const file = path.join(dir, "packs", "00000001.pack")
        const bytes = fs.readFileSync(file)
        const at = bytes.length - 1000
        bytes[at] = bytes[at]! ^ 0x01
        fs.writeFileSync(file, bytes)
        yield* session(
          dir,
          {},
          Effect.gen(function* () {
            const level = yield* LevelStore.LevelStore
            assert.strictEqual((yield* level.verify).badRows.length, 1)
          })
        )
        yield* cleanup(dir)
      })
  )

  it.effect(
    "format 2 records are checked against their key: a tail record whose data is damaged (CRC intact) is cut on open",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const a = Gen.block(20_000)
        const b = Gen.block(20_000)
        yield* session(
          dir,
          {},
          Effect.flatMap(BlockStore.BlockStore, (s) => s.putMany([a, b]))
        )
        const file = path.join(dir, "packs", packFiles(dir)[0]!)
        assert.strictEqual(packVersion(dir, packFiles(dir)[0]!), 2)
        const size = fs.statSync(file).size
        // the last data byte of `b` changes; its header and key (all the CRC covers) stay intact
        const bytes = fs.readFileSync(file)
        bytes[size - 1] = bytes[size - 1]! ^ 0x80
        fs.writeFileSync(file, bytes)
        yield* withRawDb(dir, (db) => db.put(Keys.metaKey("wm"), watermarkValue(1, FILE_HEADER)))
        yield* session(
          dir,
          {},
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const level = yield* LevelStore.LevelStore
            const keyLength = new TextEncoder().encode(BinaryKey.format(b.key)).byteLength
            assert.strictEqual(level.recovery.truncatedBytes, 16 + keyLength + 20_000)
            assert.strictEqual(level.recovery.droppedRows, 1)
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(a.key)), a.bytes))
            assert.isFalse(yield* store.has(b.key))
          })
        )
        yield* cleanup(dir)
      })
  )
})

describe("space reclamation", () => {
  const fill = (n: number, size: number) => Array.from({ length: n }, () => Gen.block(size))

  it.effect(
    "deletes mark dead bytes; compaction rewrites sparse packs and drops empty ones; survivors read back after reopen",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const opts = { maxPackSize: 1024 * 1024, autoCompact: false }
        const blocks = fill(48, 64 * 1024)
        const keep = blocks.filter((_, i) => i % 4 === 0)
        const gone = blocks.filter((_, i) => i % 4 !== 0)
        yield* session(
          dir,
          opts,
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const level = yield* LevelStore.LevelStore
            yield* store.putMany(blocks)
            const before = yield* level.stats
            assert.isAtLeast(before.packs, 3)
            // one getMany over records spread across several packs: read in runs, split where a pack ends
            const all = yield* store.getMany(blocks.map((b) => b.key))
            for (const [i, b] of blocks.entries()) assert.isTrue(Gen.bytesEqual(Option.getOrThrow(all[i]!), b.bytes))
            assert.strictEqual(before.deadBytes, 0)
            for (const b of gone) assert.isTrue(yield* store.delete(b.key))
            const after = yield* level.stats
            assert.isAbove(after.deadBytes, 0.7 * 48 * 64 * 1024 * 0.75)
            const onDisk = packBytesOnDisk(dir)
            const report = yield* level.compact()
            assert.isAtLeast(report.packsRewritten + report.packsDropped, 2)
            assert.isBelow(packBytesOnDisk(dir), onDisk / 2)
            const compacted = yield* level.stats
            assert.isBelow(compacted.deadBytes, after.deadBytes)
            for (const b of keep) assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
            for (const b of gone) assert.isFalse(yield* store.has(b.key))
            // the survivors at their new locations, together with keys that are gone
            const mixed = yield* store.getMany(blocks.map((b) => b.key))
            blocks.forEach((b, i) => {
              const o = mixed[i]!
              if (i % 4 === 0) assert.isTrue(Gen.bytesEqual(Option.getOrThrow(o), b.bytes))
              else assert.isTrue(Option.isNone(o))
            })
            assert.deepStrictEqual((yield* level.verify).badRows, [])
          })
        )
        yield* session(
          dir,
          opts,
          Effect.gen(function* () {
            const store = yield* BlockStore.BlockStore
            const level = yield* LevelStore.LevelStore
            for (const b of keep) assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
            for (const b of gone) assert.isFalse(yield* store.has(b.key))
            const tracked = yield* level.stats
            const exact = yield* level.recount
            assert.deepStrictEqual(
              exact.perPack.filter((p) => p.id !== exact.activePack).map((p) => p.deadBytes),
              tracked.perPack.filter((p) => p.id !== tracked.activePack).map((p) => p.deadBytes)
            )
            // more writes seal the pack the survivors were moved to; then every block of the sealed packs is
            // deleted: they are dropped without copying anything
            const more = fill(24, 64 * 1024)
            yield* store.putMany(more)
            for (const b of [...keep, ...more]) yield* store.delete(b.key)
            const report = yield* level.compact()
            assert.strictEqual(report.bytesCopied, 0)
            assert.isAtLeast(report.packsDropped, 2)
            const active = (yield* level.stats).activePack
            assert.deepStrictEqual(packFiles(dir), [`${active.toString(16).padStart(8, "0")}.pack`])
          })
        )
        yield* cleanup(dir)
      })
  )

  it.live("with autoCompact, deleting most of a sealed pack reclaims it in the background", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* session(
        dir,
        { maxPackSize: 1024 * 1024 },
        Effect.gen(function* () {
          const store = yield* BlockStore.BlockStore
          const level = yield* LevelStore.LevelStore
          const blocks = fill(40, 64 * 1024)
          yield* store.putMany(blocks)
          const first = (yield* level.stats).perPack[0]!.id
          for (const b of blocks.slice(0, 14)) yield* store.delete(b.key)
          let gone = false
          for (let i = 0; i < 200 && !gone; i++) {
            yield* Effect.sleep("10 millis")
            gone = !(yield* level.stats).perPack.some((p) => p.id === first)
          }
          assert.isTrue(gone, "the sparse pack was not compacted")
          for (const b of blocks.slice(14))
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(b.key)), b.bytes))
        })
      )
      yield* cleanup(dir)
    })
  )

  it.effect("GC on the CAS engine deletes unreferenced blocks, compaction returns their space, live blobs verify", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* session(
        dir,
        { maxPackSize: 1024 * 1024, autoCompact: false },
        Effect.gen(function* () {
          const blobs = yield* BlobStore.BlobStore
          const level = yield* LevelStore.LevelStore
          const kept = Gen.randomBytes(1024 * 1024)
          const dropped = Gen.randomBytes(3 * 1024 * 1024)
          const k = yield* blobs.put(Stream.make(kept))
          const d = yield* blobs.put(Stream.make(dropped))
          assert.isTrue(yield* blobs.delete(d.key))
          yield* TestClock.adjust("2 hours")
          const report = yield* Gc.run({ apply: true })
          assert.strictEqual(report.deleted, d.blockCount)
          const compaction = yield* level.compact()
          assert.isAbove(compaction.bytesReclaimed, 2 * 1024 * 1024)
          assert.isBelow(packBytesOnDisk(dir), 2 * 1024 * 1024)
          assert.isTrue((yield* blobs.verify(k.key)).ok)
          const back = Gen.concat(yield* Stream.runCollect(blobs.get(k.key)))
          assert.isTrue(Gen.bytesEqual(back, kept))
        }).pipe(Effect.provide(BlobStore.layer()))
      )
      yield* cleanup(dir)
    })
  )
})

describe("manifests", () => {
  it.effect("a large commit that fails after some batches were written leaves no entry rows behind", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      yield* session(
        dir,
        { manifestBatchEntries: 100 },
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          const d = ManifestStoreSuite.randomDraft(1000)
          const failing = {
            ...d,
            entries: Stream.fromIterable(d.list.slice(0, 750)).pipe(
              Stream.concat(Stream.fail(StorageError.unavailable("spill.read")))
            )
          }
          yield* expectReason(store.commit(failing), "Unavailable")
          assert.strictEqual(yield* Stream.runCount(store.referencedBlocks), 0)
          assert.isTrue((yield* store.commit({ ...d, entries: Stream.fromIterable(d.list) })).created)
          assert.strictEqual(yield* Stream.runCount(store.referencedBlocks), 1000)
        })
      )
      yield* cleanup(dir)
    })
  )

  it.effect("rows of a commit or delete cut short by a crash are removed when the store opens", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const d = ManifestStoreSuite.randomDraft(10)
      yield* session(
        dir,
        {},
        Effect.flatMap(ManifestStore.ManifestStore, (s) => s.commit(d))
      )
      // a half-written commit (pending marker + entries of manifest 77) and a half-done delete (tombstone of 78)
      yield* withRawDb(dir, async (db) => {
        const entry = (id: number, offset: number) => ({
          type: "put" as const,
          key: Keys.idNumberKey(Keys.ENTRY, id, offset),
          value: Uint8Array.of(0, 0, 0, 0, ...BinaryKey.toBytes(d.list[0]!.blockKey))
        })
        await db.batch([
          { type: "put", key: Keys.idKey(Keys.PENDING, 77), value: new Uint8Array(0) },
          entry(77, 0),
          entry(77, 10),
          { type: "put", key: Keys.idKey(Keys.TOMBSTONE, 78), value: new Uint8Array(0) },
          entry(78, 0)
        ])
      })
      yield* session(
        dir,
        {},
        Effect.gen(function* () {
          const store = yield* ManifestStore.ManifestStore
          assert.strictEqual(yield* Stream.runCount(store.referencedBlocks), 10)
          assert.deepStrictEqual(yield* Stream.runCollect(store.entries(d.blobKey)), d.list)
          // ids are never reused: a new commit gets an id above the leftovers
          const e = ManifestStoreSuite.randomDraft(3)
          yield* store.commit(e)
          assert.deepStrictEqual(yield* Stream.runCollect(store.entries(e.blobKey)), e.list)
        })
      )
      yield* withRawDb(dir, async (db) => {
        assert.strictEqual((await db.keys({ gte: Keys.PENDING.prefix, lt: Keys.TOMBSTONE.end }).all()).length, 0)
      })
      yield* cleanup(dir)
    })
  )
})

describe("LevelLayers", () => {
  it.effect("backend metrics reach the MetricsRegistry in context", () =>
    Effect.gen(function* () {
      const registry = yield* MetricsRegistry.MetricsRegistry
      yield* Effect.scoped(
        Effect.provide(
          Effect.gen(function* () {
            const blobs = yield* BlobStore.BlobStore
            yield* blobs.put(Stream.make(Gen.randomBytes(2 * 1024 * 1024)))
            yield* (yield* LevelStore.LevelStore).stats
          }),
          BlobStore.layer().pipe(Layer.provideMerge(LevelLayers.layerTemp()))
        )
      )
      assert.isAbove(yield* registry.counterValue(LevelMetrics.packAppends), 0)
      assert.isAbove(yield* registry.counterValue(LevelMetrics.packBytesWritten), 2 * 1024 * 1024)
      assert.isAbove(yield* registry.counterValue(LevelMetrics.packSyncs), 0)
      const text = yield* registry.prometheus
      assert.include(text, 'graviton_level_batch_rows_count{kind="block"}')
      assert.include(text, 'graviton_level_batch_rows_count{kind="manifest"}')
      assert.include(text, "graviton_level_pack_bytes ")
      assert.include(text, "graviton_level_index_bytes ")
    }).pipe(Effect.provide(MetricsRegistry.layerFresh))
  )

  it.effect("effect/persistence KeyValueStore reads and writes the same rows as the KeyValueStore port", () =>
    Effect.gen(function* () {
      const kv = yield* KeyValueStore.KeyValueStore
      const persisted = yield* Persistence.KeyValueStore
      yield* persisted.set("p/a", "hello")
      assert.deepStrictEqual(yield* kv.getString("p/a"), Option.some("hello"))
      yield* kv.putString("p/b", "world")
      assert.strictEqual(yield* persisted.get("p/b"), "world")
      assert.strictEqual(yield* persisted.size, 2)
      yield* persisted.clearPrefix("p/")
      assert.isTrue(yield* persisted.isEmpty)
    }).pipe(Effect.provide(LevelLayers.layerTemp()))
  )

  it.effect("layerTemp removes its directory when the layer is released", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.scoped(
        Effect.provide(
          Effect.map(LevelStore.LevelStore, (s) => s.path),
          LevelLayers.layerTemp()
        )
      )
      assert.isFalse(fs.existsSync(dir))
    })
  )
})
