/**
 * The KeyValueStore contract suite. Every backend runs it against its own layer:
 *
 * ```ts
 * KeyValueStoreSuite.run("level", LevelLayers.layerTemp)
 * ```
 *
 * Every test works under its own random key prefix, so the suite can share a backend with other suites (it never
 * clears or walks the whole store).
 *
 * @since 0.1.0
 */

import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistence from "effect/persistence/KeyValueStore"
import * as Schema from "effect/Schema"
import * as KeyValueStore from "../KeyValueStore.ts"
import type * as StorageError from "../StorageError.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout in ms. */
  readonly timeout?: number | undefined
  /** Skip the 32 MiB value test (slow backends). */
  readonly skipLargeValues?: boolean | undefined
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const bytes = (s: string) => enc.encode(s)
const text = (o: Option.Option<Uint8Array>) => (Option.isSome(o) ? dec.decode(o.value) : undefined)
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

/** Every key under `prefix`, following cursors with page size `limit`; fails on a duplicate. */
const walk = (store: KeyValueStore.KeyValueStore, prefix: string, limit: number, between?: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const keys: Array<string> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = yield* store.list({ prefix, cursor, limit })
      assert.isAtMost(page.entries.length, limit)
      for (const e of page.entries) {
        assert.isTrue(e.key.startsWith(prefix), `${e.key} outside prefix ${prefix}`)
        keys.push(e.key)
      }
      cursor = page.cursor
      if (between !== undefined) yield* between
      pages++
    } while (cursor !== undefined && pages < 100_000)
    assert.strictEqual(new Set(keys).size, keys.length, "a key was listed twice")
    return keys
  })

/** Increments a decimal counter stored under `key` with a compareAndSet loop; returns the number of attempts. */
const increment = (store: KeyValueStore.KeyValueStore, key: string) =>
  Effect.gen(function* () {
    let attempts = 0
    while (true) {
      attempts++
      const current = yield* store.get(key)
      const n = Option.isSome(current) ? Number(dec.decode(current.value)) : 0
      const ok = yield* store.compareAndSet(key, Option.getOrUndefined(current), bytes(String(n + 1)))
      if (ok) return attempts
      yield* Effect.yieldNow
    }
  })

export const run = <E>(name: string, storeLayer: Layer.Layer<KeyValueStore.KeyValueStore, E>, options: Options = {}) =>
  layer(storeLayer, { timeout: "120 seconds" })(`KeyValueStore contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000
    const prefix = () => `${Gen.name("kv")}/`

    it.effect(
      "put then get returns the same bytes; getString/putString round-trip text",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const value = Gen.randomBytes(300)
          yield* store.put(`${p}bin`, value)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(`${p}bin`)), value))
          yield* store.putString(`${p}text`, "grüße, 世界 😀")
          assert.deepStrictEqual(yield* store.getString(`${p}text`), Option.some("grüße, 世界 😀"))
          assert.strictEqual(text(yield* store.get(`${p}text`)), "grüße, 世界 😀")
        }),
      t
    )

    it.effect(
      "get and delete of an absent key report absence, not an error",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          assert.isTrue(Option.isNone(yield* store.get(`${p}missing`)))
          assert.isTrue(Option.isNone(yield* store.getString(`${p}missing`)))
          assert.isFalse(yield* store.delete(`${p}missing`))
          const page = yield* store.list({ prefix: p })
          assert.deepStrictEqual(page.entries, [])
          assert.isUndefined(page.cursor)
        }),
      t
    )

    it.effect(
      "put replaces the previous value; delete removes it once and reports whether it existed",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}k`
          yield* store.putString(k, "one")
          yield* store.putString(k, "two")
          assert.deepStrictEqual(yield* store.getString(k), Option.some("two"))
          yield* store.putString(k, "two")
          assert.deepStrictEqual(yield* store.getString(k), Option.some("two"))
          assert.isTrue(yield* store.delete(k))
          assert.isFalse(yield* store.delete(k))
          assert.isTrue(Option.isNone(yield* store.get(k)))
          yield* store.putString(k, "three")
          assert.deepStrictEqual(yield* store.getString(k), Option.some("three"))
        }),
      t
    )

    it.effect(
      "the empty value is a value: stored, listed, and distinct from absence in compareAndSet",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const k = `${p}empty`
          yield* store.put(k, new Uint8Array(0))
          const got = yield* store.get(k)
          assert.isTrue(Option.isSome(got))
          assert.strictEqual(Option.getOrThrow(got).byteLength, 0)
          const page = yield* store.list({ prefix: p })
          assert.deepStrictEqual(
            page.entries.map((e) => [e.key, e.value.byteLength]),
            [[k, 0]]
          )
          assert.isFalse(yield* store.compareAndSet(k, undefined, bytes("x")))
          assert.isTrue(yield* store.compareAndSet(k, new Uint8Array(0), bytes("x")))
          assert.strictEqual(text(yield* store.get(k)), "x")
        }),
      t
    )

    it.effect(
      "stored values are isolated from the caller's buffers (mutating input or output changes nothing)",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const original = Gen.randomBytes(64)
          const input = original.slice()
          yield* store.put(`${p}a`, input)
          input.fill(0)
          Option.getOrThrow(yield* store.get(`${p}a`)).fill(1)
          const listed = yield* store.list({ prefix: p })
          listed.entries[0]!.value.fill(2)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(`${p}a`)), original))
          const next = bytes("next")
          assert.isTrue(yield* store.compareAndSet(`${p}a`, original, next))
          next.fill(0)
          assert.strictEqual(text(yield* store.get(`${p}a`)), "next")
        }),
      t
    )

    it.effect(
      "keys of 1 byte up to 1024 bytes of UTF-8 (multi-byte characters included) are accepted",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const longAscii = p + "a".repeat(KeyValueStore.maxKeyBytes - p.length)
          const multiByte = p + "é".repeat((KeyValueStore.maxKeyBytes - p.length) >> 1)
          const astral = `${p}😀`
          for (const k of [longAscii, multiByte, astral]) {
            yield* store.putString(k, k.slice(-4))
            assert.deepStrictEqual(yield* store.getString(k), Option.some(k.slice(-4)))
          }
          assert.strictEqual(Buffer.byteLength(longAscii), KeyValueStore.maxKeyBytes)
          // a one-byte key in the shared space: written, then restored
          const tiny = String.fromCharCode(0x21 + Math.floor(Math.random() * 0x5e))
          const before = yield* store.get(tiny)
          yield* store.putString(tiny, "t")
          assert.deepStrictEqual(yield* store.getString(tiny), Option.some("t"))
          if (Option.isSome(before)) yield* store.put(tiny, before.value)
          else yield* store.delete(tiny)
        }),
      t
    )

    it.effect(
      "bad keys are rejected with InvalidArgument by every operation and nothing is stored",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const bad: ReadonlyArray<string> = [
            "",
            `${p}\ud800lone`,
            `${p}a\udc00`,
            `${p}nul\u0000`,
            p + "a".repeat(KeyValueStore.maxKeyBytes + 1 - p.length),
            p + "é".repeat(KeyValueStore.maxKeyBytes),
            42 as unknown as string
          ]
          for (const k of bad) {
            yield* expectReason(store.put(k, bytes("v")), "InvalidArgument")
            yield* expectReason(store.putString(k, "v"), "InvalidArgument")
            yield* expectReason(store.get(k), "InvalidArgument")
            yield* expectReason(store.delete(k), "InvalidArgument")
            yield* expectReason(store.compareAndSet(k, undefined, bytes("v")), "InvalidArgument")
          }
          const page = yield* store.list({ prefix: p })
          assert.deepStrictEqual(page.entries, [])
        }),
      t
    )

    it.effect(
      "values must be Uint8Arrays of at most 32 MiB: others are rejected with InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}v`
          const tooBig = new Uint8Array(KeyValueStore.maxValueBytes + 1)
          yield* expectReason(store.put(k, tooBig), "InvalidArgument")
          yield* expectReason(store.put(k, "text" as unknown as Uint8Array), "InvalidArgument")
          yield* expectReason(store.compareAndSet(k, undefined, tooBig), "InvalidArgument")
          yield* expectReason(store.compareAndSet(k, tooBig, undefined), "InvalidArgument")
          yield* expectReason(store.compareAndSet(k, [1, 2] as unknown as Uint8Array, undefined), "InvalidArgument")
          yield* expectReason(store.putString(k, 7 as unknown as string), "InvalidArgument")
          assert.isTrue(Option.isNone(yield* store.get(k)))
          if (options.skipLargeValues !== true) {
            const max = Gen.randomBytes(KeyValueStore.maxValueBytes)
            yield* store.put(k, max)
            assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(k)), max))
            yield* store.delete(k)
          }
        }),
      t
    )

    it.effect(
      "list returns keys in UTF-8 byte order, including supplementary characters after U+E000..U+FFFF",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const suffixes = [
            "b",
            "a",
            "ab",
            "a/b",
            "Z",
            "~",
            "é",
            "\u00ff",
            "\u0100",
            "\ue000",
            "\uffee",
            "😀",
            "𝄞x",
            "世",
            "0"
          ]
          for (const s of suffixes) yield* store.putString(p + s, s)
          const page = yield* store.list({ prefix: p, limit: 1000 })
          const expected = suffixes.map((s) => p + s).sort(utf8Order)
          assert.deepStrictEqual(
            page.entries.map((e) => e.key),
            expected
          )
          for (const e of page.entries) assert.strictEqual(dec.decode(e.value), e.key.slice(p.length))
          assert.isUndefined(page.cursor)
          // sanity: the two orders really differ on this data
          assert.notDeepEqual([...expected].sort(), expected)
        }),
      t
    )

    it.effect(
      "list with a prefix returns exactly the keys starting with it",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          for (const s of ["a", "a/1", "a/2", "a0", "ab", "b", "b/1", "`"]) yield* store.putString(p + s, s)
          const keysOf = (pre: string) =>
            Effect.map(store.list({ prefix: pre }), (page) => page.entries.map((e) => e.key.slice(p.length)))
          assert.deepStrictEqual(yield* keysOf(`${p}a`), ["a", "a/1", "a/2", "a0", "ab"])
          assert.deepStrictEqual(yield* keysOf(`${p}a/`), ["a/1", "a/2"])
          assert.deepStrictEqual(yield* keysOf(`${p}b`), ["b", "b/1"])
          assert.deepStrictEqual(yield* keysOf(`${p}c`), [])
          assert.deepStrictEqual(yield* keysOf(`${p}a/2`), ["a/2"])
          assert.strictEqual((yield* keysOf(p)).length, 8)
        }),
      t
    )

    it.effect(
      "cursor paging visits every key exactly once and ends without a cursor",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const keys = Array.from({ length: 53 }, (_, i) => `${p}${String(i).padStart(3, "0")}-${Math.random()}`)
          yield* Effect.forEach(keys, (k) => store.putString(k, k), { concurrency: 10 })
          for (const limit of [1, 7, 53, 1000]) {
            const seen = yield* walk(store, p, limit)
            assert.deepStrictEqual(seen, [...keys].sort(utf8Order), `limit ${limit}`)
          }
          const first = yield* store.list({ prefix: p, limit: 53 })
          assert.strictEqual(first.entries.length, 53)
          if (first.cursor !== undefined) {
            const rest = yield* store.list({ prefix: p, cursor: first.cursor })
            assert.deepStrictEqual(rest.entries, [])
          }
          const defaults = yield* store.list({ prefix: p })
          assert.strictEqual(defaults.entries.length, Math.min(53, KeyValueStore.defaultListLimit))
        }),
      t
    )

    it.effect(
      "paging stays gap- and duplicate-free under concurrent inserts and deletes",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const stable = Array.from({ length: 40 }, (_, i) => `${p}s${String(i).padStart(2, "0")}`)
          const churn = Array.from({ length: 40 }, (_, i) => `${p}s${String(i).padStart(2, "0")}-churn`)
          yield* Effect.forEach([...stable, ...churn], (k) => store.putString(k, "v"), { concurrency: 10 })
          let round = 0
          const between = Effect.gen(function* () {
            round++
            // new keys before and after the cursor, and deletions of keys that are not stable
            yield* store.putString(`${p}s${String(round % 40).padStart(2, "0")}-new-${round}`, "n")
            yield* store.putString(`${p}a-${round}`, "n")
            yield* store.putString(`${p}z-${round}`, "n")
            yield* store.delete(churn[(round * 7) % churn.length]!)
          }).pipe(Effect.orDie)
          const seen = yield* walk(store, p, 6, between)
          const set = new Set(seen)
          for (const k of stable) assert.isTrue(set.has(k), `missing ${k}`)
          assert.deepStrictEqual(seen, [...seen].sort(utf8Order))
        }),
      t
    )

    it.effect(
      "list rejects a malformed cursor, limit or prefix with InvalidArgument",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          yield* expectReason(store.list({ cursor: "%%%not-a-cursor%%%" }), "InvalidArgument")
          yield* expectReason(store.list({ cursor: "" }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 0 }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 1001 }), "InvalidArgument")
          yield* expectReason(store.list({ limit: 2.5 }), "InvalidArgument")
          yield* expectReason(store.list({ prefix: "bad\ud800" }), "InvalidArgument")
          yield* expectReason(store.list({ prefix: "a".repeat(1025) }), "InvalidArgument")
        }),
      t
    )

    it.effect(
      "compareAndSet swaps only when the current value matches; undefined means absent (expected) or delete (next)",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}cas`
          assert.isTrue(yield* store.compareAndSet(k, undefined, undefined))
          assert.isTrue(Option.isNone(yield* store.get(k)))
          assert.isFalse(yield* store.compareAndSet(k, bytes("x"), bytes("y")))
          assert.isTrue(Option.isNone(yield* store.get(k)))
          assert.isTrue(yield* store.compareAndSet(k, undefined, bytes("one")))
          assert.isFalse(yield* store.compareAndSet(k, undefined, bytes("again")))
          assert.isFalse(yield* store.compareAndSet(k, undefined, undefined))
          assert.isFalse(yield* store.compareAndSet(k, bytes("on"), bytes("two")))
          assert.isFalse(yield* store.compareAndSet(k, bytes("one!"), bytes("two")))
          assert.strictEqual(text(yield* store.get(k)), "one")
          assert.isTrue(yield* store.compareAndSet(k, bytes("one"), bytes("two")))
          assert.strictEqual(text(yield* store.get(k)), "two")
          assert.isTrue(yield* store.compareAndSet(k, bytes("two"), bytes("two")))
          assert.isTrue(yield* store.compareAndSet(k, bytes("two"), undefined))
          assert.isTrue(Option.isNone(yield* store.get(k)))
          assert.isFalse(yield* store.delete(k))
        }),
      t
    )

    it.effect(
      "of 100 concurrent compareAndSets with the same expected value exactly one wins",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}race`
          yield* store.putString(k, "start")
          const results = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => store.compareAndSet(k, bytes("start"), bytes(`winner-${i}`)),
            { concurrency: 100 }
          )
          const winners = results.flatMap((ok, i) => (ok ? [i] : []))
          assert.strictEqual(winners.length, 1)
          assert.strictEqual(text(yield* store.get(k)), `winner-${winners[0]}`)
          const creates = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => store.compareAndSet(`${k}-new`, undefined, bytes(`c-${i}`)),
            { concurrency: 100 }
          )
          assert.strictEqual(creates.filter((x) => x).length, 1)
        }),
      t
    )

    it.effect(
      "100 fibers incrementing one counter with compareAndSet loops: all 100 increments land",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}counter`
          const attempts = yield* Effect.forEach(Array.from({ length: 100 }), () => increment(store, k), {
            concurrency: 100
          })
          assert.strictEqual(text(yield* store.get(k)), "100")
          assert.isAtLeast(
            attempts.reduce((a, b) => a + b, 0),
            100
          )
        }),
      t
    )

    it.effect(
      "100 concurrent puts of distinct keys are all stored and listed",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const keys = Array.from({ length: 100 }, (_, i) => `${p}${i}`)
          yield* Effect.forEach(keys, (k) => store.putString(k, k), { concurrency: 100 })
          const seen = yield* walk(store, p, 30)
          assert.deepStrictEqual(seen, [...keys].sort(utf8Order))
        }),
      t
    )

    it.effect(
      "an interrupted put or compareAndSet leaves the old or the new value, never a mixture",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}interrupt`
          const old = Gen.randomBytes(1024 * 1024)
          yield* store.put(k, old)
          for (let i = 0; i < 10; i++) {
            const current = Option.getOrThrow(yield* store.get(k))
            const next = Gen.randomBytes(1024 * 1024)
            const op: Effect.Effect<unknown, StorageError.StorageError> =
              i % 2 === 0 ? store.put(k, next) : store.compareAndSet(k, current, next)
            const fiber = yield* Effect.forkChild(op)
            if (i % 3 === 0) yield* Effect.yieldNow
            const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
            const after = Option.getOrThrow(yield* store.get(k))
            assert.isTrue(Gen.bytesEqual(after, current) || Gen.bytesEqual(after, next), `round ${i}`)
            if (Exit.isSuccess(exit) && exit.value !== false) assert.isTrue(Gen.bytesEqual(after, next))
          }
        }),
      t
    )

    it.effect(
      "modify is an atomic read-modify-write: 100 concurrent increments all land",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const k = `${prefix()}modify`
          const inc = (o: Option.Option<Uint8Array>) =>
            Option.some(bytes(String((Option.isSome(o) ? Number(dec.decode(o.value)) : 0) + 1)))
          yield* Effect.forEach(Array.from({ length: 100 }), () => KeyValueStore.modify(store, k, inc), {
            concurrency: 100
          })
          assert.strictEqual(text(yield* store.get(k)), "100")
          const same = yield* KeyValueStore.modify(store, k, (o) => o)
          assert.strictEqual(text(same), "100")
          assert.isTrue(Option.isNone(yield* KeyValueStore.modify(store, k, () => Option.none())))
          assert.isTrue(Option.isNone(yield* store.get(k)))
        }),
      t
    )

    it.effect(
      "JSON helpers round-trip through a Schema; undecodable stored data fails Corrupt",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const Session = Schema.Struct({ id: Schema.String, parts: Schema.Array(Schema.Int), blob: Schema.Uint8Array })
          const value = { id: "s1", parts: [1, 2, 3], blob: Uint8Array.of(0, 255, 7) }
          yield* KeyValueStore.putJson(store, `${p}json`, Session, value)
          const back = Option.getOrThrow(yield* KeyValueStore.getJson(store, `${p}json`, Session))
          assert.strictEqual(back.id, "s1")
          assert.deepStrictEqual(back.parts, [1, 2, 3])
          assert.isTrue(Gen.bytesEqual(back.blob, value.blob))
          assert.isTrue(Option.isNone(yield* KeyValueStore.getJson(store, `${p}absent`, Session)))
          yield* store.putString(`${p}notjson`, "{nope")
          yield* expectReason(KeyValueStore.getJson(store, `${p}notjson`, Session), "Corrupt")
          yield* store.putString(`${p}wrong`, JSON.stringify({ id: 1 }))
          yield* expectReason(KeyValueStore.getJson(store, `${p}wrong`, Session), "Corrupt")
          yield* store.put(`${p}binary`, Uint8Array.of(0xff, 0xfe, 0x80))
          yield* expectReason(store.getString(`${p}binary`), "Corrupt")
        }),
      t
    )

    it.effect(
      "toPersistence exposes the store as an effect/persistence KeyValueStore with atomic modify",
      () =>
        Effect.gen(function* () {
          const store = yield* KeyValueStore.KeyValueStore
          const p = prefix()
          const kv = Persistence.prefix(KeyValueStore.toPersistence(store), p)
          yield* kv.set("s", "hello")
          yield* kv.set("b", Uint8Array.of(1, 2, 3))
          assert.strictEqual(yield* kv.get("s"), "hello")
          assert.deepStrictEqual(yield* kv.getUint8Array("b"), Uint8Array.of(1, 2, 3))
          assert.isUndefined(yield* kv.get("missing"))
          assert.isTrue(yield* kv.has("s"))
          assert.isFalse(yield* kv.has("missing"))
          assert.deepStrictEqual([...(yield* kv.keys)].sort(), ["b", "s"])
          assert.strictEqual(yield* kv.size, 2)
          assert.isUndefined(yield* kv.modify("missing", (s) => `${s}!`))
          yield* kv.set("n", "0")
          yield* Effect.forEach(Array.from({ length: 100 }), () => kv.modify("n", (s) => String(Number(s) + 1)), {
            concurrency: 100
          })
          assert.strictEqual(yield* kv.get("n"), "100")
          yield* kv.remove("s")
          assert.isFalse(yield* kv.has("s"))
          assert.deepStrictEqual(text(yield* store.get(`${p}n`)), "100")
          yield* kv.clear
          assert.isTrue(yield* kv.isEmpty)
          const e = yield* Effect.flip(kv.set("bad\u0000key", "x"))
          assert.strictEqual(e._tag, "KeyValueStoreError")
          assert.strictEqual(e.method, "set")
        }),
      t
    )
  })
