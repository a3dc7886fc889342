/**
 * The object store contract suites. A backend with writes runs {@link run} on its `MutableObjectStore` layer (the
 * read-side laws are checked through `MutableObjectStore.toImmutable`); a read-only backend runs
 * {@link runImmutable} with a `seed` function that puts objects in place by other means:
 *
 * ```ts
 * ObjectStoreSuite.run("s3", S3Layers.objectStore, { minPartSize: 5 * 1024 * 1024, clockDriven: false })
 * ObjectStoreSuite.runImmutable("assets", layer, { seed: (objects) => writeFiles(objects) })
 * ```
 *
 * Every test uses fresh random names, so suites can share one backend. Capability flags skip the tests of an
 * optional feature; the suite then checks that the feature fails with `Unsupported` instead.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { assert, layer, type Vitest } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as ImmutableObjectStore from "../ImmutableObjectStore.ts"
import * as MutableObjectStore from "../MutableObjectStore.ts"
import type * as StorageError from "../StorageError.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout in ms (default 60 s). */
  readonly timeout?: number | undefined
  /** Whether the backend has multipart uploads (default true). */
  readonly multipart?: boolean | undefined
  /** Whether it can enumerate uploads in progress with `listMultipart` (default: same as `multipart`). */
  readonly listMultipart?: boolean | undefined
  /** Whether it has `putRange` (default true). */
  readonly putRange?: boolean | undefined
  /** Whether `put` honours `ifNoneMatch` / `ifMatch` (default true). */
  readonly conditionalPut?: boolean | undefined
  /** Smallest size the backend accepts for every part but the last (S3: 5 MiB; default 0). */
  readonly minPartSize?: number | undefined
  /** Whether `lastModified` follows the Effect Clock (TestClock); false for server-side clocks (default true). */
  readonly clockDriven?: boolean | undefined
  /** Size of the "multi-MiB" objects (default 5 MiB). */
  readonly largeObjectSize?: number | undefined
}

export interface ImmutableOptions<R> {
  /** Puts these objects in place (replacing any of the same name) so that the store under test serves them. */
  readonly seed: (
    objects: ReadonlyArray<ImmutableObjectStore.SeedObject>
  ) => Effect.Effect<void, unknown, R | ImmutableObjectStore.ImmutableObjectStore>
  /** Whether ETags of seeded objects are the hex MD5 of their bytes (default true). */
  readonly md5Etags?: boolean | undefined
  readonly timeout?: number | undefined
  readonly largeObjectSize?: number | undefined
}

const MiB = 1024 * 1024

/** A failure of a test's own body stream (not a store error). */
export class BodyFailed extends Data.TaggedError("BodyFailed")<{ readonly afterBytes: number }> {}

const md5 = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex")

const bodyOf = (bytes: Uint8Array, maxSlice = 8192): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(Gen.slices(bytes, maxSlice))

const readAll = <E, R>(s: Stream.Stream<Uint8Array, E, R>) => Effect.map(Stream.runCollect(s), Gen.concat)

const chunkSizes = <E, R>(s: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(s), (chunks) => chunks.map((c) => c.byteLength))

const collectPages = (store: ImmutableObjectStore.ImmutableObjectStore, prefix: string, limit: number) =>
  Effect.gen(function* () {
    const names: Array<string> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = yield* store.list({ prefix, cursor, limit })
      assert.isAtMost(page.objects.length, limit)
      for (const o of page.objects) names.push(o.name)
      cursor = page.cursor
      pages++
    } while (cursor !== undefined && pages < 100_000)
    return names
  })

/** Names that sort differently in UTF-16 and UTF-8 (U+E000 vs U+1F600), plus the usual suspects. */
const tricky = ["a", "b", "B", "0", "a-", "a/b", "ab", "z", "~", "é", "\uE000", "😀", "ä/ö", " sp"]

/** A name of exactly `bytes` UTF-8 bytes made of 2-byte characters after `prefix`. */
const nameOfBytes = (prefix: string, bytes: number): string => {
  const rest = bytes - Buffer.byteLength(prefix)
  return prefix + (rest % 2 === 1 ? "x" : "") + "é".repeat(Math.floor(rest / 2))
}

const invalidNames: ReadonlyArray<readonly [string, string]> = [
  ["empty", ""],
  ["leading slash", "/abs"],
  ["NUL", "a\u0000b"],
  ["lone surrogate", "a\uD800b"],
  ["1025 bytes", nameOfBytes("n-", 1025)]
]

interface ReadHarness<R> {
  readonly store: Effect.Effect<ImmutableObjectStore.ImmutableObjectStore, never, R>
  readonly seed: (objects: ReadonlyArray<ImmutableObjectStore.SeedObject>) => Effect.Effect<void, unknown, R>
  readonly md5Etags: boolean
  readonly timeout: number
  readonly large: number
}

/** The read-side laws, shared by both suites. */
const readContract = <R>(it: Vitest.MethodsNonLive<R>, h: ReadHarness<R>) => {
  const t = h.timeout
  const seeded = (objects: ReadonlyArray<ImmutableObjectStore.SeedObject>) => Effect.andThen(h.seed(objects), h.store)

  it.effect(
    "head reports name, size, ETag, content type, metadata and lastModified; list reports the same",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("head")
        const bytes = Gen.randomBytes(3000)
        const store = yield* seeded([{ name, bytes, contentType: "text/plain", metadata: { color: "blue", n: "1" } }])
        const info = Option.getOrThrow(yield* store.head(name))
        assert.strictEqual(info.name, name)
        assert.strictEqual(info.size, 3000)
        assert.strictEqual(info.contentType, "text/plain")
        assert.deepStrictEqual({ ...info.metadata }, { color: "blue", n: "1" })
        assert.isTrue(Number.isFinite(info.lastModified))
        assert.isAbove(info.etag.length, 0)
        assert.isFalse(info.etag.startsWith('"'), "ETags are unquoted")
        if (h.md5Etags) assert.strictEqual(info.etag, md5(bytes))
        const page = yield* store.list({ prefix: name })
        assert.strictEqual(page.objects.length, 1)
        assert.deepStrictEqual(page.objects[0], info)
        assert.isUndefined(page.cursor)
        assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(name)), bytes))
      }),
    t
  )

  it.effect(
    "head of an absent name is None, while get and getRange of it fail NotFound",
    () =>
      Effect.gen(function* () {
        const store = yield* h.store
        const name = Gen.name("absent")
        assert.isTrue(Option.isNone(yield* store.head(name)))
        yield* expectReason(readAll(store.get(name)), "NotFound")
        yield* expectReason(readAll(store.get(name, { start: 0, end: 0 })), "NotFound")
        yield* expectReason(store.getRange(name, { start: 0, end: 1 }), "NotFound")
      }),
    t
  )

  it.effect(
    "the empty object exists with size 0, downloads as no bytes, and its only range is [0, 0)",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("empty")
        const store = yield* seeded([{ name, bytes: new Uint8Array(0) }])
        const info = Option.getOrThrow(yield* store.head(name))
        assert.strictEqual(info.size, 0)
        if (h.md5Etags) assert.strictEqual(info.etag, md5(new Uint8Array(0)))
        assert.deepStrictEqual(yield* chunkSizes(store.get(name)), [])
        assert.deepStrictEqual(yield* chunkSizes(store.get(name, { start: 0, end: 0 })), [])
        assert.strictEqual((yield* store.getRange(name, { start: 0, end: 0 })).byteLength, 0)
        yield* expectReason(readAll(store.get(name, { start: 0, end: 1 })), "InvalidArgument")
      }),
    t
  )

  it.effect(
    "a multi-MiB object downloads byte-exact in chunks of at most 1 MiB",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("large")
        const bytes = Gen.randomBytes(h.large + 12_345)
        const store = yield* seeded([{ name, bytes }])
        const chunks = yield* Stream.runCollect(store.get(name))
        for (const c of chunks) assert.isAtMost(c.byteLength, ImmutableObjectStore.maxChunkSize)
        assert.isTrue(Gen.bytesEqual(Gen.concat(chunks), bytes))
        const tail = yield* Stream.runCollect(store.get(name, { start: 1, end: bytes.byteLength }))
        for (const c of tail) assert.isAtMost(c.byteLength, ImmutableObjectStore.maxChunkSize)
        assert.isTrue(Gen.bytesEqual(Gen.concat(tail), bytes.subarray(1)))
      }),
    t
  )

  it.effect(
    "ranges return exactly their bytes: first byte, last byte, interior, whole object and the empty range at the end",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("range")
        const size = 10_000
        const bytes = Gen.randomBytes(size)
        const store = yield* seeded([{ name, bytes }])
        const spans: ReadonlyArray<ImmutableObjectStore.ByteRange> = [
          { start: 0, end: 1 },
          { start: size - 1, end: size },
          { start: 1234, end: 5678 },
          { start: 0, end: size },
          { start: size, end: size },
          { start: 0, end: 0 },
          { start: 500, end: 500 }
        ]
        for (const span of spans) {
          const want = bytes.subarray(span.start, span.end)
          const viaGet = yield* readAll(store.get(name, span))
          assert.isTrue(Gen.bytesEqual(viaGet, want), `get [${span.start}, ${span.end})`)
          const viaRange = yield* store.getRange(name, span)
          assert.isTrue(Gen.bytesEqual(viaRange, want), `getRange [${span.start}, ${span.end})`)
        }
      }),
    t
  )

  it.effect(
    "ranges past the end fail InvalidArgument (isRangeOutside), malformed ranges fail InvalidArgument",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("badrange")
        const store = yield* seeded([{ name, bytes: Gen.randomBytes(100) }])
        for (const span of [
          { start: 0, end: 101 },
          { start: 100, end: 101 },
          { start: 101, end: 101 },
          { start: 50, end: 1_000_000 }
        ]) {
          const e1 = yield* expectReason(readAll(store.get(name, span)), "InvalidArgument")
          assert.isTrue(ImmutableObjectStore.isRangeOutside(e1), e1.message)
          const e2 = yield* expectReason(store.getRange(name, span), "InvalidArgument")
          assert.isTrue(ImmutableObjectStore.isRangeOutside(e2), e2.message)
        }
        for (const span of [
          { start: -1, end: 10 },
          { start: 10, end: 5 },
          { start: 0.5, end: 10 },
          { start: 0, end: Number.NaN },
          { start: 0, end: Number.POSITIVE_INFINITY }
        ]) {
          const e1 = yield* expectReason(readAll(store.get(name, span)), "InvalidArgument")
          assert.isFalse(ImmutableObjectStore.isRangeOutside(e1), e1.message)
          yield* expectReason(store.getRange(name, span), "InvalidArgument")
        }
        yield* expectReason(
          store.getRange(name, { start: 0, end: ImmutableObjectStore.maxGetRangeSize + 1 }),
          "InvalidArgument"
        )
      }),
    t
  )

  it.effect(
    "invalid names (empty, leading '/', NUL, lone surrogate, over 1024 bytes) fail InvalidArgument on every read",
    () =>
      Effect.gen(function* () {
        const store = yield* h.store
        for (const [label, bad] of invalidNames) {
          const e = yield* expectReason(store.head(bad), "InvalidArgument")
          assert.isTrue(e.message.length > 0, label)
          yield* expectReason(readAll(store.get(bad)), "InvalidArgument")
          yield* expectReason(store.getRange(bad, { start: 0, end: 0 }), "InvalidArgument")
        }
      }),
    t
  )

  it.effect(
    "a name of exactly 1024 UTF-8 bytes of multi-byte characters is valid",
    () =>
      Effect.gen(function* () {
        const name = nameOfBytes(`${Gen.name("long")}/`, ImmutableObjectStore.maxNameBytes)
        assert.strictEqual(Buffer.byteLength(name), 1024)
        const bytes = Gen.randomBytes(10)
        const store = yield* seeded([{ name, bytes }])
        assert.strictEqual(Option.getOrThrow(yield* store.head(name)).name, name)
        assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(name)), bytes))
      }),
    t
  )

  it.effect(
    "list pages through a prefix in UTF-8 byte order of names, with no gaps or duplicates",
    () =>
      Effect.gen(function* () {
        const prefix = `${Gen.name("list")}/`
        const names = [
          ...tricky.map((s) => prefix + s),
          ...Array.from({ length: 12 }, (_, i) => `${prefix}n${String(i).padStart(2, "0")}`)
        ]
        const outside = [`${prefix.slice(0, -1)}`, `${prefix.slice(0, -1)}0`]
        const store = yield* seeded(
          [...names, ...outside].map((name) => ({ name, bytes: Gen.randomBytes(1 + (name.length % 7)) }))
        )
        const expected = [...names].sort(ImmutableObjectStore.compareNames)
        for (const limit of [1, 4, 7, 1000]) {
          assert.deepStrictEqual(yield* collectPages(store, prefix, limit), expected, `limit ${limit}`)
        }
        const all = yield* Stream.runCollect(ImmutableObjectStore.listAll(store, { prefix, pageSize: 3 }))
        assert.deepStrictEqual(
          all.map((o) => o.name),
          expected
        )
      }),
    t
  )

  it.effect(
    "list of a prefix with no objects is an empty page without a cursor",
    () =>
      Effect.gen(function* () {
        const store = yield* h.store
        const page = yield* store.list({ prefix: `${Gen.name("nothing")}/` })
        assert.deepStrictEqual(page.objects, [])
        assert.isUndefined(page.cursor)
      }),
    t
  )

  it.effect(
    "list rejects a malformed cursor, a limit outside 1..1000 and an overlong prefix with InvalidArgument",
    () =>
      Effect.gen(function* () {
        const store = yield* h.store
        yield* expectReason(store.list({ cursor: "%%%not-a-cursor%%%" }), "InvalidArgument")
        for (const limit of [0, 1001, 1.5, -1, Number.NaN]) {
          yield* expectReason(store.list({ limit }), "InvalidArgument")
        }
        yield* expectReason(store.list({ prefix: "p".repeat(1025) }), "InvalidArgument")
      }),
    t
  )

  it.effect(
    "get is lazy: building a download of a missing object neither fails nor reads until it runs",
    () =>
      Effect.gen(function* () {
        const store = yield* h.store
        const name = Gen.name("lazy")
        const download = store.get(name)
        const bad = store.get("", { start: -1, end: 0 })
        assert.isTrue(Stream.isStream(download))
        assert.isTrue(Stream.isStream(bad))
        yield* expectReason(readAll(download), "NotFound")
        yield* expectReason(readAll(bad), "InvalidArgument")
      }),
    t
  )

  it.effect(
    "a download stopped early (take, interruption) releases its resources: 100 stopped downloads leave the store usable",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("early")
        const bytes = Gen.randomBytes(h.large)
        const store = yield* seeded([{ name, bytes }])
        for (let i = 0; i < 100; i++) {
          const first = yield* Stream.runCollect(Stream.take(store.get(name), 1))
          assert.strictEqual(first.length, 1)
          assert.isTrue(Gen.bytesEqual(first[0]!, bytes.subarray(0, first[0]!.byteLength)))
        }
        const pulled = yield* Deferred.make<void>()
        const fiber = yield* Effect.forkChild(
          Stream.runForEach(store.get(name), () => Effect.andThen(Deferred.succeed(pulled, undefined), Effect.never))
        )
        yield* Deferred.await(pulled)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(name)), bytes))
      }),
    t
  )

  it.effect(
    "downloaded chunks belong to the caller: mutating them changes nothing stored",
    () =>
      Effect.gen(function* () {
        const name = Gen.name("own")
        const bytes = Gen.randomBytes(4096)
        const store = yield* seeded([{ name, bytes }])
        for (const c of yield* Stream.runCollect(store.get(name))) c.fill(0)
        ;(yield* store.getRange(name, { start: 0, end: 100 })).fill(0)
        assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(name)), bytes))
      }),
    t
  )
}

/** Registers the contract suite of a mutable object store (which includes the read-side laws). */
export const run = <E>(
  name: string,
  storeLayer: Layer.Layer<MutableObjectStore.MutableObjectStore, E>,
  options: Options = {}
) =>
  layer(storeLayer, { timeout: "120 seconds" })(`MutableObjectStore contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000
    const large = options.largeObjectSize ?? 5 * MiB
    const minPart = options.minPartSize ?? 0
    const multipart = options.multipart !== false
    const Mutable = MutableObjectStore.MutableObjectStore

    readContract(it, {
      store: Effect.map(Mutable, MutableObjectStore.toImmutable),
      seed: (objects) =>
        Effect.flatMap(Mutable, (store) =>
          Effect.forEach(
            objects,
            (o) => store.put(o.name, bodyOf(o.bytes), { contentType: o.contentType, metadata: o.metadata }),
            { discard: true }
          )
        ),
      md5Etags: true,
      timeout: t,
      large
    })

    const put = (store: MutableObjectStore.MutableObjectStore, key: string, bytes: Uint8Array) =>
      store.put(key, bodyOf(bytes))

    it.effect(
      "put returns the info head reports, with the hex MD5 of the content as ETag",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("put")
          const bytes = Gen.randomBytes(20_000)
          const info = yield* store.put(key, bodyOf(bytes, 100), { contentType: "application/x-test" })
          assert.strictEqual(info.etag, md5(bytes))
          assert.strictEqual(info.size, bytes.byteLength)
          assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), info)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), bytes))
        }),
      t
    )

    it.effect(
      "a multi-MiB body given as many small chunks is stored byte-exact",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("chunks")
          const bytes = Gen.randomBytes(large)
          const info = yield* store.put(key, bodyOf(bytes, 4096))
          assert.strictEqual(info.size, large)
          assert.strictEqual(info.etag, md5(bytes))
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), bytes))
        }),
      t
    )

    it.effect(
      "put replaces an existing object, content type and metadata included",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("replace")
          yield* store.put(key, bodyOf(Gen.randomBytes(500)), { contentType: "a/b", metadata: { old: "1" } })
          const next = Gen.randomBytes(300)
          const info = yield* store.put(key, bodyOf(next), { metadata: { fresh: "yes" } })
          const head = Option.getOrThrow(yield* store.head(key))
          assert.deepStrictEqual(head, info)
          assert.strictEqual(head.size, 300)
          assert.isUndefined(head.contentType)
          assert.deepStrictEqual({ ...head.metadata }, { fresh: "yes" })
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), next))
        }),
      t
    )

    it.effect(
      "stored bytes are isolated from the caller: mutating body chunks after put changes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("iso")
          const bytes = Gen.randomBytes(5000)
          const chunks = Gen.slices(bytes.slice(), 700)
          yield* store.put(key, Stream.fromIterable(chunks))
          for (const c of chunks) c.fill(7)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), bytes))
          const single = bytes.slice()
          yield* store.put(key, Stream.succeed(single))
          single.fill(7)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), bytes))
          const info = Option.getOrThrow(yield* store.head(key))
          ;(info.metadata as Record<string, string>).x = "y"
          assert.deepStrictEqual({ ...Option.getOrThrow(yield* store.head(key)).metadata }, {})
        }),
      t
    )

    it.effect(
      "a body that fails midway publishes nothing, keeps the previous version, and its own error is returned",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("fail")
          const failing = Stream.concat(
            bodyOf(Gen.randomBytes(100_000)),
            Stream.fail(new BodyFailed({ afterBytes: 1 }))
          )
          const e1 = yield* Effect.flip(store.put(key, failing))
          assert.strictEqual(e1._tag, "BodyFailed")
          assert.isTrue(Option.isNone(yield* store.head(key)))
          const old = Gen.randomBytes(1000)
          const before = yield* put(store, key, old)
          const e2 = yield* Effect.flip(store.put(key, failing))
          assert.strictEqual(e2._tag, "BodyFailed")
          assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), before)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), old))
        }),
      t
    )

    it.effect(
      "an interrupted put publishes nothing and keeps the previous version",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("interrupt")
          for (const existing of [false, true]) {
            const old = Gen.randomBytes(777)
            const before = existing ? Option.some(yield* put(store, key, old)) : Option.none()
            const pulled = yield* Deferred.make<void>()
            const stalling = Stream.concat(
              bodyOf(Gen.randomBytes(200_000)),
              Stream.fromEffect(Effect.andThen(Deferred.succeed(pulled, undefined), Effect.never))
            )
            const fiber = yield* Effect.forkChild(store.put(key, stalling))
            yield* Deferred.await(pulled)
            yield* Fiber.interrupt(fiber)
            assert.deepStrictEqual(yield* store.head(key), before)
            if (existing) assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), old))
          }
        }),
      t
    )

    it.effect(
      "put is lazy: building the effect pulls nothing and running it pulls each body chunk exactly once",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("pulls")
          const chunks = Gen.slices(Gen.randomBytes(50_000), 1000)
          let pulls = 0
          const body = Stream.fromIterable(chunks).pipe(
            Stream.tap(() =>
              Effect.sync(() => {
                pulls++
              })
            )
          )
          const write = store.put(key, body)
          assert.strictEqual(pulls, 0)
          assert.isTrue(Option.isNone(yield* store.head(key)))
          yield* write
          assert.strictEqual(pulls, chunks.length)
        }),
      t
    )

    it.effect(
      "a download built before a put and run after it reads the new object",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("late")
          const download = store.get(key)
          const bytes = Gen.randomBytes(2000)
          yield* put(store, key, bytes)
          assert.isTrue(Gen.bytesEqual(yield* readAll(download), bytes))
        }),
      t
    )

    it.effect(
      "a running download keeps reading the version it started with while the object is replaced or deleted",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("snapshot")
          const old = Gen.randomBytes(3 * MiB)
          yield* put(store, key, old)
          let first = true
          const got = yield* readAll(
            store.get(key).pipe(
              Stream.tap(() => {
                if (!first) return Effect.void
                first = false
                return Effect.andThen(put(store, key, Gen.randomBytes(3 * MiB)), store.delete(key))
              })
            )
          )
          assert.isTrue(Gen.bytesEqual(got, old))
        }),
      t
    )

    it.effect(
      "delete removes the object and reports whether it existed",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("delete")
          yield* put(store, key, Gen.randomBytes(10))
          assert.isTrue(yield* store.delete(key))
          assert.isFalse(yield* store.delete(key))
          assert.isTrue(Option.isNone(yield* store.head(key)))
          yield* expectReason(readAll(store.get(key)), "NotFound")
          assert.deepStrictEqual((yield* store.list({ prefix: key })).objects, [])
        }),
      t
    )

    it.effect(
      "invalid names fail InvalidArgument on every write and nothing is stored",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const ok = Gen.name("ok")
          yield* put(store, ok, Gen.randomBytes(5))
          for (const [, bad] of invalidNames) {
            yield* expectReason(store.put(bad, bodyOf(Gen.randomBytes(5))), "InvalidArgument")
            yield* expectReason(store.delete(bad), "InvalidArgument")
            yield* expectReason(store.copy(ok, bad), "InvalidArgument")
            yield* expectReason(store.copy(bad, ok), "InvalidArgument")
            if (options.putRange !== false) {
              yield* expectReason(store.putRange(bad, 0, Gen.randomBytes(3)), "InvalidArgument")
            }
            if (multipart) yield* expectReason(store.startMultipart(bad), "InvalidArgument")
          }
        }),
      t
    )

    it.effect(
      "bad content types and metadata (uppercase or odd keys, non-ASCII values, over 2 KiB) fail InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const key = Gen.name("attrs")
          const body = bodyOf(Gen.randomBytes(5))
          const bad: ReadonlyArray<MutableObjectStore.PutOptions> = [
            { contentType: "" },
            { contentType: "text/plain; charset=\u00e9" },
            { metadata: { Upper: "x" } },
            { metadata: { "with space": "x" } },
            { metadata: { "": "x" } },
            { metadata: { k: "caf\u00e9" } },
            { metadata: { k: "line\nbreak" } },
            { metadata: { big: "v".repeat(2048) } }
          ]
          for (const opts of bad) yield* expectReason(store.put(key, body, opts), "InvalidArgument")
          assert.isTrue(Option.isNone(yield* store.head(key)))
          if (multipart) yield* expectReason(store.startMultipart(key, { metadata: { A: "1" } }), "InvalidArgument")
          const fine = yield* store.put(key, body, {
            contentType: "application/json; charset=utf-8",
            metadata: { "x-a.b_c": "any printable ASCII: !@#$%^&*()" }
          })
          assert.strictEqual(fine.metadata["x-a.b_c"], "any printable ASCII: !@#$%^&*()")
        }),
      t
    )

    if (options.conditionalPut !== false) {
      it.effect(
        "a create-only put (ifNoneMatch '*') succeeds only when absent; the second fails Conflict and keeps the first",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("create")
            const first = Gen.randomBytes(100)
            const info = yield* store.put(key, bodyOf(first), { ifNoneMatch: "*" })
            yield* expectReason(store.put(key, bodyOf(Gen.randomBytes(100)), { ifNoneMatch: "*" }), "Conflict")
            assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), info)
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), first))
            yield* store.delete(key)
            yield* store.put(key, bodyOf(first), { ifNoneMatch: "*" })
          }),
        t
      )

      it.effect(
        "an ifMatch put replaces only the object with that ETag; a stale ETag or an absent object fails Conflict",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("ifmatch")
            yield* expectReason(
              store.put(key, bodyOf(Gen.randomBytes(10)), { ifMatch: md5(new Uint8Array(1)) }),
              "Conflict"
            )
            assert.isTrue(Option.isNone(yield* store.head(key)))
            const v1 = yield* put(store, key, Gen.randomBytes(10))
            const v2bytes = Gen.randomBytes(20)
            const v2 = yield* store.put(key, bodyOf(v2bytes), { ifMatch: v1.etag })
            yield* expectReason(store.put(key, bodyOf(Gen.randomBytes(30)), { ifMatch: v1.etag }), "Conflict")
            assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), v2)
            const v3 = yield* store.put(key, bodyOf(Gen.randomBytes(40)), { ifMatch: `"${v2.etag}"` })
            assert.strictEqual(v3.size, 40)
            yield* expectReason(
              store.put(key, bodyOf(Gen.randomBytes(1)), { ifMatch: v3.etag, ifNoneMatch: "*" }),
              "InvalidArgument"
            )
          }),
        t
      )

      it.effect(
        "100 concurrent create-only puts of one name: exactly one wins, the others fail Conflict",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("race")
            const bodies = Array.from({ length: 100 }, () => Gen.randomBytes(2048))
            const results = yield* Effect.forEach(
              bodies,
              // bodies yield between chunks so the puts interleave as they would over a network
              (b) =>
                Effect.result(
                  store.put(
                    key,
                    Stream.tap(bodyOf(b, 256), () => Effect.yieldNow),
                    { ifNoneMatch: "*" }
                  )
                ),
              { concurrency: 100 }
            )
            const winners = results.flatMap((r, i) => (r._tag === "Success" ? [i] : []))
            assert.strictEqual(winners.length, 1)
            for (const r of results) {
              if (r._tag === "Failure")
                assert.strictEqual((r.failure as StorageError.StorageError).reason._tag, "Conflict")
            }
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), bodies[winners[0]!]!))
          }),
        t
      )
    } else {
      it.effect(
        "conditional puts fail Unsupported and store nothing",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("nocond")
            yield* expectReason(store.put(key, bodyOf(Gen.randomBytes(5)), { ifNoneMatch: "*" }), "Unsupported")
            yield* expectReason(store.put(key, bodyOf(Gen.randomBytes(5)), { ifMatch: "abc" }), "Unsupported")
            assert.isTrue(Option.isNone(yield* store.head(key)))
          }),
        t
      )
    }

    it.effect(
      "100 concurrent puts of distinct names are all stored and listed",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const prefix = `${Gen.name("many")}/`
          const objects = Array.from({ length: 100 }, (_, i) => ({
            key: `${prefix}${String(i).padStart(3, "0")}`,
            bytes: Gen.randomBytes(100 + i)
          }))
          yield* Effect.forEach(objects, (o) => put(store, o.key, o.bytes), { concurrency: 100 })
          const names = yield* collectPages(MutableObjectStore.toImmutable(store), prefix, 33)
          assert.deepStrictEqual(
            names,
            objects.map((o) => o.key)
          )
        }),
      t
    )

    it.effect(
      "listing stays gap- and duplicate-free while objects are created and deleted between pages",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const prefix = `${Gen.name("churn")}/`
          const before = Array.from({ length: 30 }, () => `${prefix}${Gen.name("s")}`)
          yield* Effect.forEach(before, (k) => put(store, k, Gen.randomBytes(8)), { concurrency: 10 })
          const seen = new Map<string, number>()
          const added: Array<string> = []
          let cursor: string | undefined
          do {
            const page = yield* store.list({ prefix, cursor, limit: 4 })
            for (const o of page.objects) seen.set(o.name, (seen.get(o.name) ?? 0) + 1)
            const fresh = Array.from({ length: 3 }, () => `${prefix}${Gen.name("s")}`)
            yield* Effect.forEach(fresh, (k) => put(store, k, Gen.randomBytes(8)), { concurrency: 3 })
            added.push(...fresh)
            const victim = added.shift()
            if (victim !== undefined) yield* store.delete(victim)
            cursor = page.cursor
          } while (cursor !== undefined)
          for (const [k, n] of seen) assert.strictEqual(n, 1, `seen ${k} ${n} times`)
          for (const k of before) assert.isTrue(seen.has(k), `missing ${k}`)
        }),
      t
    )

    it.effect(
      "copy duplicates content, content type and metadata under a new name, independently of the source",
      () =>
        Effect.gen(function* () {
          const store = yield* Mutable
          const from = Gen.name("src")
          const to = Gen.name("dst")
          const bytes = Gen.randomBytes(70_000)
          const src = yield* store.put(from, bodyOf(bytes), { contentType: "image/png", metadata: { k: "v" } })
          const copied = yield* store.copy(from, to)
          assert.strictEqual(copied.name, to)
          assert.strictEqual(copied.size, src.size)
          assert.strictEqual(copied.etag, src.etag)
          assert.strictEqual(copied.contentType, "image/png")
          assert.deepStrictEqual({ ...copied.metadata }, { k: "v" })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.head(to)), copied)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(to)), bytes))
          const other = Gen.randomBytes(10)
          yield* put(store, from, other)
          assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(to)), bytes))
          if (options.putRange !== false) {
            yield* store.putRange(to, 0, new Uint8Array([1, 2, 3]))
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(from)), other))
          }
          yield* store.delete(from)
          assert.isTrue(Option.isSome(yield* store.head(to)))
          yield* expectReason(store.copy(from, Gen.name("never")), "NotFound")
          const again = yield* store.copy(to, to)
          assert.strictEqual(again.size, bytes.byteLength)
        }),
      t
    )

    if (options.putRange !== false) {
      it.effect(
        "putRange writes out of order and overlapping, zero-fills holes, grows the object, and changes the ETag",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("ranges")
            const model = new Uint8Array(40_000)
            let size = 0
            const write = (offset: number, bytes: Uint8Array) =>
              Effect.andThen(
                store.putRange(key, offset, bytes),
                Effect.sync(() => {
                  model.set(bytes, offset)
                  size = Math.max(size, offset + bytes.byteLength)
                })
              )
            const check = Effect.gen(function* () {
              const info = Option.getOrThrow(yield* store.head(key))
              const want = model.subarray(0, size)
              assert.strictEqual(info.size, size)
              assert.strictEqual(info.etag, md5(want))
              assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), want))
              return info
            })
            yield* write(20_000, Gen.randomBytes(10_000))
            const first = yield* check
            yield* write(0, Gen.randomBytes(5_000))
            yield* write(3_000, Gen.randomBytes(19_000))
            yield* write(35_000, Gen.randomBytes(5_000))
            const second = yield* check
            assert.notStrictEqual(first.etag, second.etag)
            const retry = Gen.randomBytes(1000)
            yield* write(100, retry)
            yield* write(100, retry)
            yield* write(40_000, new Uint8Array(0))
            yield* check
          }),
        t
      )

      it.effect(
        "putRange edits an existing object in place, keeping its content type and metadata; a download in flight is unaffected",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("edit")
            const bytes = Gen.randomBytes(3 * MiB)
            yield* store.put(key, bodyOf(bytes), { contentType: "text/x", metadata: { a: "b" } })
            const patch = Gen.randomBytes(100)
            let first = true
            const during = yield* readAll(
              store.get(key).pipe(
                Stream.tap(() => {
                  if (!first) return Effect.void
                  first = false
                  return store.putRange(key, 2 * MiB, patch)
                })
              )
            )
            assert.isTrue(Gen.bytesEqual(during, bytes))
            const want = bytes.slice()
            want.set(patch, 2 * MiB)
            const info = Option.getOrThrow(yield* store.head(key))
            assert.strictEqual(info.contentType, "text/x")
            assert.deepStrictEqual({ ...info.metadata }, { a: "b" })
            assert.strictEqual(info.etag, md5(want))
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), want))
          }),
        t
      )

      it.effect(
        "putRange rejects negative, fractional and unsafe offsets with InvalidArgument",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("badoffset")
            for (const offset of [-1, 0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
              yield* expectReason(store.putRange(key, offset, new Uint8Array(1)), "InvalidArgument")
            }
            assert.isTrue(Option.isNone(yield* store.head(key)))
          }),
        t
      )
    } else {
      it.effect(
        "putRange fails Unsupported",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            yield* expectReason(store.putRange(Gen.name("nr"), 0, new Uint8Array(1)), "Unsupported")
          }),
        t
      )
    }

    if (multipart) {
      const partSize = Math.max(minPart, 10_000)
      const parts = (n: number, lastSize = 1234) =>
        Array.from({ length: n }, (_, i) => Gen.randomBytes(i === n - 1 ? lastSize : partSize))

      it.effect(
        "multipart parts uploaded out of order assemble in part-number order; ETag is md5-of-md5s-N; the upload is gone afterwards",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("mp")
            const id = yield* store.startMultipart(key, { contentType: "video/mp4", metadata: { by: "suite" } })
            assert.isAbove(id.length, 0)
            const bodies = parts(4)
            const infos = yield* Effect.forEach([3, 1, 4, 2], (n) => store.uploadPart(id, n, bodies[n - 1]!), {
              concurrency: 4
            })
            for (const info of infos) {
              assert.strictEqual(info.etag, md5(bodies[info.partNumber - 1]!))
              assert.strictEqual(info.size, bodies[info.partNumber - 1]!.byteLength)
            }
            assert.isTrue(Option.isNone(yield* store.head(key)), "nothing visible before completion")
            const listed = yield* store.listParts(id)
            assert.deepStrictEqual(
              listed.map((p) => p.partNumber),
              [1, 2, 3, 4]
            )
            const obj = yield* store.completeMultipart(
              id,
              listed.map((p) => ({ partNumber: p.partNumber, etag: p.etag }))
            )
            const whole = Gen.concat(bodies)
            assert.strictEqual(obj.size, whole.byteLength)
            assert.strictEqual(obj.etag, MutableObjectStore.multipartEtagOf(bodies.map(md5)))
            assert.match(obj.etag, /^[0-9a-f]{32}-4$/)
            assert.strictEqual(obj.contentType, "video/mp4")
            assert.deepStrictEqual({ ...obj.metadata }, { by: "suite" })
            assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), obj)
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), whole))
            yield* expectReason(store.listParts(id), "NotFound")
            yield* expectReason(store.uploadPart(id, 5, Gen.randomBytes(1)), "NotFound")
            yield* expectReason(store.completeMultipart(id, [{ partNumber: 1, etag: infos[1]!.etag }]), "NotFound")
            assert.isFalse(yield* store.abortMultipart(id))
          }),
        t
      )

      it.effect(
        "re-uploading a part number replaces it, and completion uses only the listed parts",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("retry")
            const id = yield* store.startMultipart(key)
            const [p1, p2, p3] = parts(3)
            yield* store.uploadPart(id, 1, Gen.randomBytes(partSize))
            const a = yield* store.uploadPart(id, 1, p1!)
            const b = yield* store.uploadPart(id, 2, p2!)
            yield* store.uploadPart(id, 3, p3!)
            const p7 = Gen.randomBytes(5)
            yield* store.uploadPart(id, 7, p7)
            const listed = yield* store.listParts(id)
            assert.deepStrictEqual(
              listed.map((p) => [p.partNumber, p.etag]),
              [
                [1, a.etag],
                [2, b.etag],
                [3, md5(p3!)],
                [7, md5(p7)]
              ]
            )
            const obj = yield* store.completeMultipart(id, [
              { partNumber: 1, etag: a.etag },
              { partNumber: 2, etag: `"${b.etag}"` }
            ])
            assert.strictEqual(obj.size, p1!.byteLength + p2!.byteLength)
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), Gen.concat([p1!, p2!])))
          }),
        t
      )

      it.effect(
        "completing with a wrong ETag or a missing part fails Conflict, publishes nothing, and leaves the upload open",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("wrong")
            const old = yield* put(store, key, Gen.randomBytes(64))
            const id = yield* store.startMultipart(key)
            const [p1, p2] = parts(2)
            const i1 = yield* store.uploadPart(id, 1, p1!)
            const i2 = yield* store.uploadPart(id, 2, p2!)
            yield* expectReason(
              store.completeMultipart(id, [
                { partNumber: 1, etag: i1.etag },
                { partNumber: 2, etag: md5(Gen.randomBytes(3)) }
              ]),
              "Conflict"
            )
            yield* expectReason(
              store.completeMultipart(id, [
                { partNumber: 1, etag: i1.etag },
                { partNumber: 3, etag: i2.etag }
              ]),
              "Conflict"
            )
            assert.deepStrictEqual(Option.getOrThrow(yield* store.head(key)), old)
            assert.strictEqual((yield* store.listParts(id)).length, 2)
            const obj = yield* store.completeMultipart(id, [
              { partNumber: 1, etag: i1.etag },
              { partNumber: 2, etag: i2.etag }
            ])
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), Gen.concat([p1!, p2!])))
            assert.strictEqual(obj.size, p1!.byteLength + p2!.byteLength)
          }),
        t
      )

      it.effect(
        "completion needs a non-empty, strictly ascending part list, and part numbers are 1..10000 (InvalidArgument)",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const id = yield* store.startMultipart(Gen.name("order"))
            const [p1, p2] = parts(2)
            const i1 = yield* store.uploadPart(id, 1, p1!)
            const i2 = yield* store.uploadPart(id, 2, p2!)
            yield* expectReason(store.completeMultipart(id, []), "InvalidArgument")
            yield* expectReason(
              store.completeMultipart(id, [
                { partNumber: 2, etag: i2.etag },
                { partNumber: 1, etag: i1.etag }
              ]),
              "InvalidArgument"
            )
            yield* expectReason(
              store.completeMultipart(id, [
                { partNumber: 1, etag: i1.etag },
                { partNumber: 1, etag: i1.etag }
              ]),
              "InvalidArgument"
            )
            for (const n of [0, 10_001, 1.5, -3]) {
              yield* expectReason(store.uploadPart(id, n, Gen.randomBytes(1)), "InvalidArgument")
            }
            yield* store.uploadPart(id, MutableObjectStore.maxPartNumber, Gen.randomBytes(1))
            assert.isTrue(yield* store.abortMultipart(id))
          }),
        t
      )

      it.effect(
        "unknown upload ids fail NotFound; aborting discards the upload and no object appears",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const unknown = `nope-${Gen.name("id")}`
            yield* expectReason(store.uploadPart(unknown, 1, Gen.randomBytes(1)), "NotFound")
            yield* expectReason(store.listParts(unknown), "NotFound")
            yield* expectReason(store.completeMultipart(unknown, [{ partNumber: 1, etag: "x" }]), "NotFound")
            assert.isFalse(yield* store.abortMultipart(unknown))
            yield* expectReason(store.listParts(""), "InvalidArgument")
            const key = Gen.name("abort")
            const id = yield* store.startMultipart(key)
            const i1 = yield* store.uploadPart(id, 1, Gen.randomBytes(100))
            assert.isTrue(yield* store.abortMultipart(id))
            assert.isFalse(yield* store.abortMultipart(id))
            yield* expectReason(store.uploadPart(id, 2, Gen.randomBytes(1)), "NotFound")
            yield* expectReason(store.completeMultipart(id, [{ partNumber: 1, etag: i1.etag }]), "NotFound")
            assert.isTrue(Option.isNone(yield* store.head(key)))
          }),
        t
      )

      it.effect(
        "part bytes are copied: mutating an uploaded buffer changes nothing",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("partcopy")
            const id = yield* store.startMultipart(key)
            const body = Gen.randomBytes(500)
            const keep = body.slice()
            const info = yield* store.uploadPart(id, 1, body)
            body.fill(0)
            yield* store.completeMultipart(id, [{ partNumber: 1, etag: info.etag }])
            assert.isTrue(Gen.bytesEqual(yield* readAll(store.get(key)), keep))
          }),
        t
      )

      if (options.listMultipart !== false) {
        it.effect(
          "listMultipart pages through uploads in progress under a prefix, not completed or aborted ones",
          () =>
            Effect.gen(function* () {
              const store = yield* Mutable
              const prefix = `${Gen.name("uploads")}/`
              const ids = yield* Effect.forEach(["c", "a", "b", "a", "d"], (s) =>
                Effect.map(store.startMultipart(prefix + s), (uploadId) => ({ uploadId, name: prefix + s }))
              )
              const done = ids[4]!
              const part = yield* store.uploadPart(done.uploadId, 1, Gen.randomBytes(3))
              yield* store.completeMultipart(done.uploadId, [{ partNumber: 1, etag: part.etag }])
              yield* store.abortMultipart(ids[0]!.uploadId)
              const seen: Array<MutableObjectStore.MultipartUpload> = []
              let cursor: string | undefined
              do {
                const page = yield* store.listMultipart({ prefix, cursor, limit: 1 })
                assert.isAtMost(page.uploads.length, 1)
                seen.push(...page.uploads)
                cursor = page.cursor
              } while (cursor !== undefined)
              assert.deepStrictEqual(
                seen.map((u) => u.name),
                [`${prefix}a`, `${prefix}a`, `${prefix}b`]
              )
              assert.sameMembers(
                seen.map((u) => u.uploadId),
                [ids[1]!.uploadId, ids[2]!.uploadId, ids[3]!.uploadId]
              )
              for (const u of seen) assert.isTrue(Number.isFinite(u.initiated))
              yield* Effect.forEach(seen, (u) => store.abortMultipart(u.uploadId))
              assert.deepStrictEqual((yield* store.listMultipart({ prefix })).uploads, [])
            }),
          t
        )
      } else {
        it.effect(
          "listMultipart fails Unsupported",
          () =>
            Effect.gen(function* () {
              const store = yield* Mutable
              yield* expectReason(store.listMultipart({ prefix: Gen.name("x") }), "Unsupported")
            }),
          t
        )
      }
    } else {
      it.effect(
        "multipart uploads fail Unsupported",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            yield* expectReason(store.startMultipart(Gen.name("nomp")), "Unsupported")
            yield* expectReason(store.uploadPart("id", 1, new Uint8Array(1)), "Unsupported")
            yield* expectReason(store.listParts("id"), "Unsupported")
            yield* expectReason(store.completeMultipart("id", [{ partNumber: 1, etag: "x" }]), "Unsupported")
            yield* expectReason(store.abortMultipart("id"), "Unsupported")
            yield* expectReason(store.listMultipart(), "Unsupported")
          }),
        t
      )
    }

    if (options.clockDriven !== false) {
      it.effect(
        "lastModified is the Clock time of the last write (put, copy, putRange, completeMultipart)",
        () =>
          Effect.gen(function* () {
            const store = yield* Mutable
            const key = Gen.name("clock")
            const now = () => Effect.clockWith((c) => c.currentTimeMillis)
            yield* TestClock.adjust("1 hour")
            const t1 = yield* now()
            assert.strictEqual((yield* put(store, key, Gen.randomBytes(3))).lastModified, t1)
            yield* TestClock.adjust("1 minute")
            const t2 = yield* now()
            assert.strictEqual((yield* store.copy(key, `${key}-copy`)).lastModified, t2)
            assert.strictEqual(Option.getOrThrow(yield* store.head(key)).lastModified, t1)
            if (options.putRange !== false) {
              yield* TestClock.adjust("1 minute")
              yield* store.putRange(key, 1, new Uint8Array([9]))
              assert.strictEqual(Option.getOrThrow(yield* store.head(key)).lastModified, yield* now())
            }
            if (multipart) {
              const id = yield* store.startMultipart(key)
              const p = yield* store.uploadPart(id, 1, Gen.randomBytes(2))
              yield* TestClock.adjust("1 minute")
              const obj = yield* store.completeMultipart(id, [{ partNumber: 1, etag: p.etag }])
              assert.strictEqual(obj.lastModified, yield* now())
            }
          }),
        t
      )
    }
  })

/**
 * Registers the read-side contract for a read-only store. `seed` puts objects in place; it runs in the layer's
 * context, so a layer that provides a writer alongside the store can use it.
 */
export const runImmutable = <R, E>(
  name: string,
  storeLayer: Layer.Layer<ImmutableObjectStore.ImmutableObjectStore | R, E>,
  options: ImmutableOptions<R>
) =>
  layer(storeLayer, { timeout: "120 seconds" })(`ImmutableObjectStore contract: ${name}`, (it) => {
    readContract(it, {
      store: ImmutableObjectStore.ImmutableObjectStore,
      seed: options.seed,
      md5Etags: options.md5Etags !== false,
      timeout: options.timeout ?? 60_000,
      large: options.largeObjectSize ?? 5 * MiB
    })
  })
