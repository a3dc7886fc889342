import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Hashing } from "@graviton/core"
import { BlobStore, KeyValueStore, MutableObjectStore, RangeTracker, StorageError, Uploads } from "@graviton/runtime"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect, Fiber, Layer, Option, Stream } from "effect"
import { TestClock } from "effect/testing"

const stores = Layer.mergeAll(
  KeyValueStore.layerMemory,
  MutableObjectStore.layerMemory,
  RangeTracker.layerMemory,
  BlobStore.layerMemory
)
const stack = Uploads.layer().pipe(Layer.provideMerge(stores))

const part = (bytes: Uint8Array) => Stream.fromIterable(Gen.slices(bytes, 10_000))
const readBlob = (key: BinaryKey.BinaryKey) =>
  Effect.flatMap(BlobStore.BlobStore, (b) => Effect.map(Stream.runCollect(b.get(key)), Gen.concat))
const reason = (e: unknown) => (StorageError.isStorageError(e) ? e.reason._tag : (e as { _tag?: string })._tag)

const stagedObjects = (id: string) =>
  Effect.flatMap(MutableObjectStore.MutableObjectStore, (o) =>
    Effect.map(o.list({ prefix: `uploads/${id}/` }), (p) => p.objects.length)
  )

describe("Uploads", () => {
  it.effect("parts in order become a blob; commit is idempotent; staging is cleaned", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(700_000)
      const s = yield* uploads.create({ length: bytes.byteLength, metadata: { filename: "a.bin" } })
      yield* uploads.writePart(s.id, 0, part(bytes.subarray(0, 300_000)))
      const mid = yield* uploads.status(s.id)
      assert.strictEqual(mid.offset, 300_000)
      assert.deepStrictEqual([...mid.pending], [{ start: 300_000, end: 700_000 }])
      const done = yield* uploads.writePart(s.id, 300_000, part(bytes.subarray(300_000)))
      assert.strictEqual(done.offset, 700_000)
      assert.strictEqual(done.pending.length, 0)
      const r = yield* uploads.commit(s.id)
      assert.deepStrictEqual(r.key, BinaryKey.ofBytes(bytes))
      assert.isTrue(Gen.bytesEqual(yield* readBlob(r.key), bytes))
      const again = yield* uploads.commit(s.id)
      assert.deepStrictEqual(again, r)
      const after = yield* uploads.status(s.id)
      assert.strictEqual(after.session.state, "committed")
      assert.strictEqual(after.offset, bytes.byteLength)
      assert.strictEqual(yield* stagedObjects(s.id), 0)
      const stat = Option.getOrThrow(yield* (yield* BlobStore.BlobStore).stat(r.key))
      assert.strictEqual(stat.attributes.filename, "a.bin")
    }).pipe(Effect.provide(stack))
  )

  it.effect("out-of-order parts, retried parts and equal overlaps are accepted; conflicting overlaps are not", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(500_000)
      const s = yield* uploads.create({ length: bytes.byteLength })
      yield* uploads.writePart(s.id, 400_000, part(bytes.subarray(400_000)))
      yield* uploads.writePart(s.id, 100_000, part(bytes.subarray(100_000, 250_000)))
      yield* uploads.writePart(s.id, 100_000, part(bytes.subarray(100_000, 250_000)))
      const st = yield* uploads.writePart(s.id, 200_000, part(bytes.subarray(200_000, 400_000)))
      assert.deepStrictEqual([...st.completed], [{ start: 100_000, end: 500_000 }])
      assert.strictEqual(st.offset, 0)
      const bad = bytes.slice(0, 150_000)
      bad[120_000]! ^= 1
      const e = yield* Effect.flip(uploads.writePart(s.id, 0, part(bad)))
      assert.strictEqual(reason(e), "Conflict")
      assert.strictEqual((yield* uploads.status(s.id)).offset, 0)
      yield* uploads.writePart(s.id, 0, part(bytes.subarray(0, 150_000)))
      const r = yield* uploads.commit(s.id)
      assert.isTrue(Gen.bytesEqual(yield* readBlob(r.key), bytes))
    }).pipe(Effect.provide(stack))
  )

  it.effect("bytes beyond the declared length are rejected and nothing of the part counts", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const s = yield* uploads.create({ length: 1000 })
      const e = yield* Effect.flip(uploads.writePart(s.id, 900, part(Gen.randomBytes(200))))
      assert.strictEqual(reason(e), "InvalidArgument")
      const e2 = yield* Effect.flip(uploads.writePart(s.id, 1001, part(Gen.randomBytes(1))))
      assert.strictEqual(reason(e2), "InvalidArgument")
      assert.strictEqual((yield* uploads.status(s.id)).received, 0)
      assert.strictEqual(yield* stagedObjects(s.id), 0)
    }).pipe(Effect.provide(stack))
  )

  it.effect("a part with a wrong sha256 checksum is discarded; a right one is accepted", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(5000)
      const s = yield* uploads.create({ length: 5000 })
      const wrong = Buffer.from(Hashing.digest("sha-256", Gen.randomBytes(5))).toString("base64")
      const e = yield* Effect.flip(
        uploads.writePart(s.id, 0, part(bytes), { checksum: { algorithm: "sha256", digest: wrong } })
      )
      assert.strictEqual(reason(e), "ChecksumMismatch")
      assert.strictEqual((yield* uploads.status(s.id)).received, 0)
      const right = Buffer.from(Hashing.digest("sha-256", bytes)).toString("base64")
      const st = yield* uploads.writePart(s.id, 0, part(bytes), { checksum: { algorithm: "sha256", digest: right } })
      assert.strictEqual(st.offset, 5000)
    }).pipe(Effect.provide(stack))
  )

  it.effect("commit with missing bytes fails InvalidArgument and leaves the session open", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(3000)
      const s = yield* uploads.create({ length: 3000 })
      yield* uploads.writePart(s.id, 0, part(bytes.subarray(0, 1000)))
      yield* uploads.writePart(s.id, 2000, part(bytes.subarray(2000)))
      const e = yield* Effect.flip(uploads.commit(s.id))
      assert.strictEqual(reason(e), "InvalidArgument")
      assert.strictEqual((yield* uploads.status(s.id)).session.state, "open")
      yield* uploads.writePart(s.id, 1000, part(bytes.subarray(1000, 2000)))
      const r = yield* uploads.commit(s.id)
      assert.isTrue(Gen.bytesEqual(yield* readBlob(r.key), bytes))
    }).pipe(Effect.provide(stack))
  )

  it.effect("deferred length: contiguous bytes commit, or declare the length first", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(4000)
      const s = yield* uploads.create()
      yield* uploads.writePart(s.id, 0, part(bytes.subarray(0, 2500)))
      const e = yield* Effect.flip(uploads.declareLength(s.id, 2000))
      assert.strictEqual(reason(e), "InvalidArgument")
      yield* uploads.declareLength(s.id, 4000)
      assert.deepStrictEqual([...(yield* uploads.status(s.id)).pending], [{ start: 2500, end: 4000 }])
      yield* uploads.writePart(s.id, 2500, part(bytes.subarray(2500)))
      const r = yield* uploads.commit(s.id)
      assert.strictEqual(r.size, 4000)
      const t = yield* uploads.create()
      yield* uploads.writePart(t.id, 0, part(bytes))
      assert.strictEqual((yield* uploads.commit(t.id)).size, 4000)
    }).pipe(Effect.provide(stack))
  )

  it.effect("an empty upload commits to the empty blob", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const s = yield* uploads.create({ length: 0 })
      const r = yield* uploads.commit(s.id)
      assert.deepStrictEqual(r.key, BinaryKey.empty())
    }).pipe(Effect.provide(stack))
  )

  it.effect("a failed commit (expected key mismatch) publishes nothing and reopens the session", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const bytes = Gen.randomBytes(2000)
      const s = yield* uploads.create({ length: 2000, expectedKey: BinaryKey.ofBytes(Gen.randomBytes(2000)) })
      yield* uploads.writePart(s.id, 0, part(bytes))
      const e = yield* Effect.flip(uploads.commit(s.id))
      assert.strictEqual(reason(e), "Conflict")
      assert.isFalse(yield* (yield* BlobStore.BlobStore).exists(BinaryKey.ofBytes(bytes)))
      assert.strictEqual((yield* uploads.status(s.id)).session.state, "open")
      assert.isTrue(yield* uploads.cancel(s.id))
    }).pipe(Effect.provide(stack))
  )

  it.effect("cancel removes the session and its staged bytes", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const s = yield* uploads.create({ length: 100 })
      yield* uploads.writePart(s.id, 0, part(Gen.randomBytes(50)))
      assert.isTrue(yield* uploads.cancel(s.id))
      assert.isFalse(yield* uploads.cancel(s.id))
      assert.strictEqual(reason(yield* Effect.flip(uploads.status(s.id))), "NotFound")
      assert.strictEqual(reason(yield* Effect.flip(uploads.writePart(s.id, 50, part(Gen.randomBytes(5))))), "NotFound")
      assert.strictEqual(yield* stagedObjects(s.id), 0)
    }).pipe(Effect.provide(stack))
  )

  it.effect("expired sessions answer NotFound and the sweeper removes them with their bytes", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const s = yield* uploads.create({ length: 100, ttl: "1 hour" })
      const keep = yield* uploads.create({ length: 100, ttl: "3 hours" })
      yield* uploads.writePart(s.id, 0, part(Gen.randomBytes(40)))
      yield* TestClock.adjust("2 hours")
      assert.strictEqual(reason(yield* Effect.flip(uploads.status(s.id))), "NotFound")
      const report = yield* uploads.sweep
      assert.strictEqual(report.expired, 1)
      assert.strictEqual(yield* stagedObjects(s.id), 0)
      assert.strictEqual((yield* uploads.status(keep.id)).session.state, "open")
      const list = yield* uploads.list()
      assert.deepStrictEqual(
        list.sessions.map((x) => x.id),
        [keep.id]
      )
    }).pipe(Effect.provide(stack))
  )

  it.effect("an interrupted part write counts for nothing", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      const s = yield* uploads.create({ length: 100_000 })
      const fiber = yield* Effect.forkChild(
        uploads.writePart(s.id, 0, part(Gen.randomBytes(50_000)).pipe(Stream.concat(Stream.never)))
      )
      yield* TestClock.withLive(Effect.sleep("20 millis"))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* uploads.status(s.id)).received, 0)
    }).pipe(Effect.provide(stack))
  )

  it.effect("two processes serve one upload: parts through either, one commits, the other sees the same result", () =>
    Effect.gen(function* () {
      const a = yield* Uploads.make()
      const b = yield* Uploads.make()
      const bytes = Gen.randomBytes(600_000)
      const s = yield* a.create({ length: bytes.byteLength })
      yield* Effect.all(
        [
          a.writePart(s.id, 0, part(bytes.subarray(0, 200_000))),
          b.writePart(s.id, 200_000, part(bytes.subarray(200_000, 400_000))),
          a.writePart(s.id, 400_000, part(bytes.subarray(400_000)))
        ],
        { concurrency: "unbounded" }
      )
      assert.strictEqual((yield* b.status(s.id)).offset, bytes.byteLength)
      const results = yield* Effect.all([Effect.result(a.commit(s.id)), Effect.result(b.commit(s.id))], {
        concurrency: "unbounded"
      })
      const ok = results.filter((r) => r._tag === "Success")
      assert.isAtLeast(ok.length, 1)
      const r = yield* b.commit(s.id)
      assert.deepStrictEqual(r.key, BinaryKey.ofBytes(bytes))
      assert.deepStrictEqual(yield* a.commit(s.id), r)
    }).pipe(Effect.provide(stores))
  )

  it.effect("bad input: unknown ids, bad offsets, lengths and TTLs are typed errors", () =>
    Effect.gen(function* () {
      const uploads = yield* Uploads.Uploads
      assert.strictEqual(reason(yield* Effect.flip(uploads.status("nope"))), "NotFound")
      assert.strictEqual(reason(yield* Effect.flip(uploads.status("../../etc"))), "NotFound")
      assert.strictEqual(reason(yield* Effect.flip(uploads.create({ length: -1 }))), "InvalidArgument")
      assert.strictEqual(reason(yield* Effect.flip(uploads.create({ length: 1.5 }))), "InvalidArgument")
      assert.strictEqual(reason(yield* Effect.flip(uploads.create({ ttl: "0 millis" }))), "InvalidArgument")
      assert.strictEqual(reason(yield* Effect.flip(uploads.create({ ttl: "400 days" }))), "InvalidArgument")
      const s = yield* uploads.create({ length: 10 })
      assert.strictEqual(
        reason(yield* Effect.flip(uploads.writePart(s.id, -1, part(Gen.randomBytes(1))))),
        "InvalidArgument"
      )
      assert.strictEqual(
        reason(yield* Effect.flip(uploads.writePart(s.id, 0, part(Gen.randomBytes(3)), { length: 4 }))),
        "InvalidArgument"
      )
      assert.strictEqual(
        reason(
          yield* Effect.flip(
            uploads.writePart(s.id, 0, part(Gen.randomBytes(3)), { checksum: { algorithm: "md5", digest: "x" } })
          )
        ),
        "InvalidArgument"
      )
    }).pipe(Effect.provide(stack))
  )
})
