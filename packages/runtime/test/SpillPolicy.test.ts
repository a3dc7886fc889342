import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { SpillPolicy, StorageError } from "@graviton/runtime"
import { ConfigProvider, Duration, Effect, Exit, Fiber, Schema, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"

/** A fresh empty directory, removed with the test's scope. */
const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "graviton-spill-test-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const listDir = (dir: string) =>
  Effect.promise(() => fs.readdir(dir).catch((e: { code?: string }) => (e.code === "ENOENT" ? [] : Promise.reject(e))))

const bytes = (n: number, seed = 0) => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff
  return b
}

const collect = <E>(s: Stream.Stream<Uint8Array, E>) => Effect.map(Stream.runCollect(s), (cs) => Buffer.concat(cs))

describe("SpillPolicy", () => {
  it("shouldSpill is true only beyond the threshold", () => {
    const p = SpillPolicy.fromConfig({ threshold: 100 })
    assert.isFalse(p.shouldSpill(0))
    assert.isFalse(p.shouldSpill(100))
    assert.isTrue(p.shouldSpill(101))
  })

  it("decoding a config fills in the documented defaults", () => {
    const c = Schema.decodeUnknownSync(SpillPolicy.SpillConfig)({})
    assert.strictEqual(c.threshold, 64 * 1024 * 1024)
    assert.strictEqual(c.directory, path.join(os.tmpdir(), "graviton-spill"))
    assert.strictEqual(Duration.toMillis(c.maxAge), 3_600_000)
    assert.strictEqual(c.maxTotal, 10 * 1024 * 1024 * 1024)
    assert.deepStrictEqual(SpillPolicy.fromConfig().config, SpillPolicy.resolveConfig({}))
  })

  it.effect("reads its settings from the environment", () =>
    Effect.gen(function* () {
      const c = yield* SpillPolicy.config.parse(
        ConfigProvider.fromEnv({ env: { THRESHOLD: "1 MiB", MAX_AGE: "30 minutes", DIRECTORY: "/var/spill" } })
      )
      assert.strictEqual(c.threshold, 1024 * 1024)
      assert.strictEqual(Duration.toMillis(c.maxAge), 1_800_000)
      assert.strictEqual(c.directory, "/var/spill")
      assert.strictEqual(c.maxTotal, 10 * 1024 * 1024 * 1024)
    })
  )

  it.effect("selectSpillDir creates the directory", () =>
    Effect.gen(function* () {
      const dir = path.join(yield* tempDir, "a", "b")
      const p = SpillPolicy.fromConfig({ directory: dir })
      assert.strictEqual(yield* p.selectSpillDir, dir)
      assert.isTrue((yield* Effect.promise(() => fs.stat(dir))).isDirectory())
    })
  )

  describe("SpillFile", () => {
    it.effect("holds the appended bytes, re-readable, and is deleted when its scope closes", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir })
        const a = bytes(100_000, 1)
        const b = bytes(12_345, 2)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const f = yield* p.open()
            assert.deepStrictEqual(yield* listDir(dir), [path.basename(f.path)])
            assert.isTrue(SpillPolicy.isSpillFileName(f.path))
            yield* f.append(a)
            yield* f.append(new Uint8Array(0))
            yield* f.append(b)
            assert.strictEqual(yield* f.size, a.length + b.length)
            const expected = Buffer.concat([a, b])
            assert.deepStrictEqual(yield* collect(f.read()), expected)
            assert.deepStrictEqual(yield* collect(f.read({ chunkSize: 1000 })), expected)
            const chunks = yield* Stream.runCollect(f.read({ chunkSize: 1000 }))
            assert.isTrue(chunks.every((c) => c.byteLength <= 1000))
            assert.strictEqual(yield* p.openBytes, expected.length)
          })
        )
        assert.deepStrictEqual(yield* listDir(dir), [])
        assert.strictEqual(yield* p.openBytes, 0)
      })
    )

    it.effect("is deleted when its scope fails", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir })
        const exit = yield* Effect.exit(
          Effect.scoped(Effect.andThen(p.open(), (f) => Effect.andThen(f.append(bytes(10)), Effect.fail("boom"))))
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(yield* listDir(dir), [])
      })
    )

    it.effect("a read sees the bytes appended before it starts; use after close fails InvalidArgument", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir })
        const scope = yield* Scope.make()
        const f = yield* Scope.provide(scope)(p.open())
        yield* f.append(bytes(10))
        const snapshot = f.read()
        yield* f.append(bytes(10))
        // the stream's size is fixed when it starts, so runs started now see 20 bytes
        assert.strictEqual((yield* collect(snapshot)).length, 20)
        yield* Scope.close(scope, Exit.void)
        const e = yield* Effect.flip(Stream.runDrain(f.read()))
        assert.isTrue(StorageError.hasReason(e, "InvalidArgument"))
        assert.isTrue(StorageError.hasReason(yield* Effect.flip(f.append(bytes(1))), "InvalidArgument"))
      })
    )

    it.effect("maxTotal is enforced across open files and frees up when files close", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, maxTotal: 1000 })
        const first = yield* Scope.make()
        const f1 = yield* Scope.provide(first)(p.open())
        const f2 = yield* p.open()
        yield* f1.append(bytes(600))
        yield* f2.append(bytes(400))
        const e = yield* Effect.flip(f2.append(bytes(1)))
        assert.isTrue(StorageError.hasReason(e, "QuotaExceeded"))
        assert.strictEqual(e.operation, "SpillFile.append")
        assert.strictEqual(yield* f2.size, 400)
        assert.strictEqual((yield* collect(f2.read())).length, 400)
        yield* Scope.close(first, Exit.void)
        assert.strictEqual(yield* p.openBytes, 400)
        yield* f2.append(bytes(600))
        assert.strictEqual(yield* f2.size, 1000)
      })
    )

    it.effect("concurrent appends are serialized and all land", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir })
        const f = yield* p.open()
        yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => f.append(new Uint8Array(10).fill(i)),
          { concurrency: "unbounded", discard: true }
        )
        const all = yield* collect(f.read())
        assert.strictEqual(all.length, 1000)
        const counts = new Map<number, number>()
        for (let k = 0; k < 1000; k += 10) {
          const v = all[k]!
          assert.isTrue(all.subarray(k, k + 10).every((x) => x === v)) // no interleaving inside an append
          counts.set(v, (counts.get(v) ?? 0) + 1)
        }
        assert.strictEqual(counts.size, 100)
      })
    )
  })

  describe("SpillBuffer", () => {
    it.effect("stays in memory up to the threshold", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, threshold: 1000 })
        const buf = yield* p.buffer()
        const a = bytes(600)
        yield* buf.append(a)
        a.fill(0) // the buffer copied it
        yield* buf.append(bytes(400, 3))
        assert.isFalse(yield* buf.spilled)
        assert.strictEqual(yield* buf.size, 1000)
        assert.deepStrictEqual(yield* listDir(dir), [])
        assert.deepStrictEqual(yield* collect(buf.read()), Buffer.concat([bytes(600), bytes(400, 3)]))
      })
    )

    it.effect("moves to a spill file beyond the threshold, transparently, and deletes it with its scope", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, threshold: 1000 })
        const parts = Array.from({ length: 30 }, (_, i) => bytes(97 + i, i))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const buf = yield* p.buffer()
            for (const part of parts) yield* buf.append(part)
            assert.isTrue(yield* buf.spilled)
            assert.strictEqual((yield* listDir(dir)).length, 1)
            const expected = Buffer.concat(parts)
            assert.strictEqual(yield* buf.size, expected.length)
            assert.deepStrictEqual(yield* collect(buf.read()), expected)
            assert.deepStrictEqual(yield* collect(buf.read()), expected)
          })
        )
        assert.deepStrictEqual(yield* listDir(dir), [])
      })
    )

    it.effect("a spill refused by maxTotal keeps the buffer in memory and leaves no file", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, threshold: 100, maxTotal: 150 })
        const buf = yield* p.buffer()
        yield* buf.append(bytes(100))
        const e = yield* Effect.flip(buf.append(bytes(100)))
        assert.isTrue(StorageError.hasReason(e, "QuotaExceeded"))
        assert.isFalse(yield* buf.spilled)
        assert.strictEqual(yield* buf.size, 100)
        assert.deepStrictEqual(yield* listDir(dir), [])
        assert.strictEqual(yield* p.openBytes, 0)
        yield* buf.append(bytes(40)) // still spills fine within maxTotal
        assert.isTrue(yield* buf.spilled)
        assert.strictEqual((yield* collect(buf.read())).length, 140)
      })
    )
  })

  it.live("interruption at random points leaves no files in the spill dir", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const p = SpillPolicy.fromConfig({ directory: dir, threshold: 4096 })
      const work = Effect.scoped(
        Effect.gen(function* () {
          const buf = yield* p.buffer()
          const f = yield* p.open()
          for (let i = 0; i < 200; i++) {
            yield* buf.append(bytes(512, i))
            yield* f.append(bytes(1024, i))
            if (i % 50 === 49) yield* Stream.runDrain(buf.read())
          }
          yield* Stream.runDrain(f.read({ chunkSize: 4096 }))
        })
      )
      let interruptedMidway = 0
      for (let round = 0; round < 40; round++) {
        const fiber = yield* Effect.forkChild(work)
        yield* Effect.sleep(Math.floor(Math.random() * 8))
        yield* Fiber.interrupt(fiber)
        const exit = yield* Fiber.await(fiber)
        if (Exit.isFailure(exit)) interruptedMidway++
        assert.deepStrictEqual(yield* listDir(dir), [], `round ${round}`)
        assert.strictEqual(yield* p.openBytes, 0)
      }
      assert.isAbove(interruptedMidway, 0)
    })
  )

  describe("sweep", () => {
    it.effect("deletes old spill files only", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, maxAge: "1 hour" })
        const now = Date.now()
        yield* TestClock.setTime(now)
        const make = (name: string, ageMs: number) =>
          Effect.promise(async () => {
            const file = path.join(dir, name)
            await fs.writeFile(file, "x")
            const t = new Date(now - ageMs)
            await fs.utimes(file, t, t)
            return file
          })
        const old = yield* make("graviton-spill-123-00000000-0000-0000-0000-000000000000.tmp", 2 * 3_600_000)
        yield* make("graviton-spill-123-11111111-1111-1111-1111-111111111111.tmp", 60_000)
        yield* make("unrelated-old-file.tmp", 10 * 3_600_000)
        const mine = yield* p.open()
        yield* Effect.promise(() => fs.utimes(mine.path, new Date(now - 5 * 3_600_000), new Date(now - 5 * 3_600_000)))
        const r = yield* p.sweep
        assert.deepStrictEqual(r.deleted, [old])
        assert.strictEqual(r.kept, 2)
        assert.deepStrictEqual(
          (yield* listDir(dir)).sort(),
          [
            path.basename(mine.path),
            "graviton-spill-123-11111111-1111-1111-1111-111111111111.tmp",
            "unrelated-old-file.tmp"
          ].sort()
        )
        // the young file goes once it is old enough
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* p.sweep).deleted.length, 1)
      })
    )

    it.effect("a missing directory is an empty sweep", () =>
      Effect.gen(function* () {
        const dir = path.join(yield* tempDir, "nope")
        const r = yield* SpillPolicy.fromConfig({ directory: dir }).sweep
        assert.deepStrictEqual(r, { deleted: [], kept: 0 })
      })
    )

    it.effect("cleanup refuses paths that are not spill files and respects maxAge", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const p = SpillPolicy.fromConfig({ directory: dir, maxAge: "1 hour" })
        const e = yield* Effect.flip(p.cleanup(path.join(dir, "important.db"), "2 hours"))
        assert.isTrue(StorageError.hasReason(e, "InvalidArgument"))
        const file = path.join(dir, "graviton-spill-1-abc.tmp")
        yield* Effect.promise(() => fs.writeFile(file, "x"))
        assert.isFalse(yield* p.cleanup(file, "59 minutes"))
        assert.isTrue(yield* p.cleanup(file, "1 hour"))
        assert.isFalse(yield* p.cleanup(file, "1 hour"))
      })
    )
  })
})
