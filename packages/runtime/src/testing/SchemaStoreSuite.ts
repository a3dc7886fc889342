/**
 * The SchemaStore contract suite. Every backend runs it against its own layer:
 *
 * ```ts
 * SchemaStoreSuite.run("pg", PgLayers.schemaStore)
 * ```
 *
 * Every test uses fresh random namespaces, so the suite can share a backend with other suites.
 *
 * @since 0.1.0
 */

import { createHash } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SchemaStore from "../SchemaStore.ts"
import { expectReason } from "./Assertions.ts"
import * as Gen from "./Generators.ts"

export interface Options {
  /** Per-test timeout in ms. */
  readonly timeout?: number | undefined
  /** Whether `createdAt` follows the Effect Clock (TestClock); false for server-side clocks. */
  readonly clockDriven?: boolean | undefined
}

const enc = new TextEncoder()
const json = (value: unknown): Uint8Array => enc.encode(JSON.stringify(value))
const JSON_SCHEMA = "application/schema+json"

const person = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1 },
    age: { type: "integer", minimum: 0 },
    email: { type: "string", format: "email" },
    tags: { type: "array", items: { type: "string" } }
  },
  required: ["name"],
  additionalProperties: false
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

export const run = <E>(name: string, storeLayer: Layer.Layer<SchemaStore.SchemaStore, E>, options: Options = {}) =>
  layer(storeLayer, { timeout: "120 seconds" })(`SchemaStore contract: ${name}`, (it) => {
    const t = options.timeout ?? 60_000
    const ns = () => `test/${Gen.name("ns")}`

    it.effect(
      "register assigns versions 1, 2, … and get returns each version's exact bytes (latest by default)",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const v1 = enc.encode(`{ "type": "string" }\n`)
          const v2 = json(person)
          assert.strictEqual(yield* store.register(n, v1, JSON_SCHEMA), 1)
          assert.strictEqual(yield* store.register(n, v2, "application/json"), 2)
          const latest = Option.getOrThrow(yield* store.get(n))
          assert.strictEqual(latest.namespace, n)
          assert.strictEqual(latest.version, 2)
          assert.strictEqual(latest.contentType, "application/json")
          assert.isTrue(Gen.bytesEqual(latest.schema, v2))
          assert.strictEqual(latest.digest, sha256(v2))
          if (options.clockDriven !== false) assert.strictEqual(latest.createdAt, yield* now)
          const first = Option.getOrThrow(yield* store.get(n, 1))
          assert.strictEqual(first.version, 1)
          assert.strictEqual(first.contentType, JSON_SCHEMA)
          assert.isTrue(Gen.bytesEqual(first.schema, v1))
          assert.strictEqual(first.digest, sha256(v1))
        }),
      t
    )

    it.effect(
      "registering the latest version's exact bytes again returns that version and stores nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const a = json({ type: "number" })
          const b = json({ type: "boolean" })
          assert.strictEqual(yield* store.register(n, a, JSON_SCHEMA), 1)
          assert.strictEqual(yield* store.register(n, a, JSON_SCHEMA), 1)
          assert.strictEqual(yield* store.register(n, a, "application/json"), 1)
          assert.strictEqual(yield* store.register(n, b, JSON_SCHEMA), 2)
          assert.strictEqual(yield* store.register(n, b, JSON_SCHEMA), 2)
          // only the latest is compared: going back to an older document is a new version
          assert.strictEqual(yield* store.register(n, a, JSON_SCHEMA), 3)
          // different bytes of an equivalent document are a new version too
          assert.strictEqual(yield* store.register(n, enc.encode(`{"type":"number"} `), JSON_SCHEMA), 4)
          assert.deepStrictEqual(
            (yield* store.list(n)).map((s) => s.version),
            [1, 2, 3, 4]
          )
        }),
      t
    )

    it.effect(
      "unknown namespaces and versions are absent; validating against them fails NotFound",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          assert.isTrue(Option.isNone(yield* store.get(n)))
          assert.isTrue(Option.isNone(yield* store.get(n, 1)))
          assert.deepStrictEqual(yield* store.list(n), [])
          yield* expectReason(store.validate(n, {}), "NotFound")
          yield* store.register(n, json(true), JSON_SCHEMA)
          assert.isTrue(Option.isNone(yield* store.get(n, 2)))
          assert.isTrue(Option.isNone(yield* store.get(n, 1_000_000)))
          yield* expectReason(store.validate(n, {}, 2), "NotFound")
        }),
      t
    )

    it.effect(
      "list summarizes every version of a namespace in order, and all namespaces by name",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const base = ns()
          const names = [`${base}/b`, `${base}/a`, `${base}/a.z`, `${base}/A`]
          for (const [i, n] of names.entries()) {
            for (let v = 0; v <= i; v++)
              yield* store.register(n, json({ type: "object", maxProperties: v }), JSON_SCHEMA)
          }
          const one = yield* store.list(names[2]!)
          assert.deepStrictEqual(
            one.map((s) => [s.namespace, s.version]),
            [
              [names[2], 1],
              [names[2], 2],
              [names[2], 3]
            ]
          )
          const doc = json({ type: "object", maxProperties: 2 })
          assert.strictEqual(one[2]!.size, doc.byteLength)
          assert.strictEqual(one[2]!.digest, sha256(doc))
          assert.strictEqual(one[2]!.contentType, JSON_SCHEMA)
          const all = (yield* store.list()).filter((s) => s.namespace.startsWith(`${base}/`))
          assert.deepStrictEqual(
            all.map((s) => `${s.namespace.slice(base.length)}@${s.version}`),
            ["/A@1", "/A@2", "/A@3", "/A@4", "/a@1", "/a@2", "/a.z@1", "/a.z@2", "/a.z@3", "/b@1"]
          )
        }),
      t
    )

    it.effect(
      "validate accepts matching data and reports each problem with a JSON pointer",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          yield* store.register(n, json(person), JSON_SCHEMA)
          const ok = yield* store.validate(n, { name: "Ada", age: 36, email: "ada@example.org", tags: ["x"] })
          assert.deepStrictEqual(ok, { valid: true, errors: [], version: 1 })
          const bad = yield* store.validate(n, { age: -1, email: "nope", tags: ["a", 2], extra: true })
          assert.isFalse(bad.valid)
          assert.strictEqual(bad.version, 1)
          const byPath = new Map(bad.errors.map((e) => [`${e.path}|${e.keyword}`, e.message]))
          for (const expected of [
            "/name|required",
            "/age|minimum",
            "/email|format",
            "/tags/1|type",
            "/extra|additionalProperties"
          ]) {
            assert.isTrue(byPath.has(expected), `missing ${expected} in ${JSON.stringify(bad.errors)}`)
          }
          for (const e of bad.errors) assert.isAbove(e.message.length, 0)
          const wrongType = yield* store.validate(n, "not an object")
          assert.deepStrictEqual(
            wrongType.errors.map((e) => [e.path, e.keyword]),
            [["", "type"]]
          )
        }),
      t
    )

    it.effect(
      "error paths escape '/' and '~' in property names (RFC 6901)",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          yield* store.register(
            n,
            json({
              type: "object",
              properties: { "a/b": { type: "object", properties: { "c~d": { type: "number" } } } }
            }),
            JSON_SCHEMA
          )
          const r = yield* store.validate(n, { "a/b": { "c~d": "x" } })
          assert.deepStrictEqual(
            r.errors.map((e) => e.path),
            ["/a~1b/c~0d"]
          )
        }),
      t
    )

    it.effect(
      "validate uses the requested version, and the latest by default — also right after a new registration",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          yield* store.register(n, json({ type: "string" }), JSON_SCHEMA)
          assert.isTrue((yield* store.validate(n, "text")).valid)
          assert.isFalse((yield* store.validate(n, 5)).valid)
          yield* store.register(n, json({ type: "number" }), JSON_SCHEMA)
          const latest = yield* store.validate(n, 5)
          assert.isTrue(latest.valid)
          assert.strictEqual(latest.version, 2)
          assert.isFalse((yield* store.validate(n, "text")).valid)
          assert.isTrue((yield* store.validate(n, "text", 1)).valid)
          assert.isFalse((yield* store.validate(n, 5, 1)).valid)
        }),
      t
    )

    it.effect(
      "boolean schemas, local $refs and a shared $id across versions all work",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const a = ns()
          yield* store.register(a, json(true), JSON_SCHEMA)
          assert.isTrue((yield* store.validate(a, { anything: [1, null] })).valid)
          yield* store.register(a, json(false), JSON_SCHEMA)
          assert.isFalse((yield* store.validate(a, 1)).valid)
          const b = ns()
          const withId = (type: string) => ({
            $schema: "https://json-schema.org/draft/2020-12/schema",
            $id: "https://example.org/schemas/item",
            $defs: { v: { type } },
            type: "object",
            properties: { v: { $ref: "#/$defs/v" } }
          })
          yield* store.register(b, json(withId("string")), JSON_SCHEMA)
          yield* store.register(b, json(withId("integer")), JSON_SCHEMA)
          assert.isTrue((yield* store.validate(b, { v: "s" }, 1)).valid)
          assert.isFalse((yield* store.validate(b, { v: "s" }, 2)).valid)
          assert.isTrue((yield* store.validate(b, { v: 3 }, 2)).valid)
          const r = yield* store.validate(b, { v: 3.5 })
          assert.deepStrictEqual(
            r.errors.map((e) => e.path),
            ["/v"]
          )
        }),
      t
    )

    it.effect(
      "at most 100 errors are reported for one value",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          yield* store.register(n, json({ type: "array", items: { type: "string" } }), JSON_SCHEMA)
          const r = yield* store.validate(
            n,
            Array.from({ length: 500 }, (_, i) => i)
          )
          assert.isFalse(r.valid)
          assert.strictEqual(r.errors.length, SchemaStore.maxValidationErrors)
          assert.strictEqual(r.errors[0]!.path, "/0")
        }),
      t
    )

    it.effect(
      "malformed documents and invalid JSON Schemas are rejected with InvalidArgument and nothing is stored",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const bad: ReadonlyArray<Uint8Array> = [
            new Uint8Array(0),
            enc.encode("{ not json"),
            Uint8Array.of(0x7b, 0xff, 0x7d),
            json([{ type: "string" }]),
            json("string"),
            json(12),
            json(null),
            json({ type: 12 }),
            json({ type: "strin" }),
            json({ minimum: "zero" }),
            json({ properties: { a: { $ref: "#/$defs/missing" } } }),
            json({ $ref: "https://example.org/elsewhere.json" }),
            json({ type: "string", pattern: "(" }),
            json({ $schema: 7 }),
            new Uint8Array(SchemaStore.maxSchemaBytes + 1).fill(0x20)
          ]
          for (const [i, b] of bad.entries()) {
            const e = yield* expectReason(store.register(n, b, JSON_SCHEMA), "InvalidArgument")
            assert.isAbove(e.reason.message.length, 0, `case ${i}`)
          }
          yield* expectReason(store.register(n, "{}" as unknown as Uint8Array, JSON_SCHEMA), "InvalidArgument")
          assert.deepStrictEqual(yield* store.list(n), [])
        }),
      t
    )

    it.effect(
      "other content types and other $schema dialects are Unsupported; media type parameters are ignored",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const doc = json({ type: "string" })
          for (const ct of ["text/plain", "application/xml", "application/schema+yaml", ""]) {
            yield* expectReason(store.register(n, doc, ct), "Unsupported")
          }
          yield* expectReason(
            store.register(
              n,
              json({ $schema: "http://json-schema.org/draft-07/schema#", type: "string" }),
              JSON_SCHEMA
            ),
            "Unsupported"
          )
          yield* expectReason(store.register(n, doc, 5 as unknown as string), "InvalidArgument")
          assert.deepStrictEqual(yield* store.list(n), [])
          assert.strictEqual(yield* store.register(n, doc, "Application/Schema+JSON; charset=utf-8"), 1)
          assert.strictEqual(Option.getOrThrow(yield* store.get(n)).contentType, JSON_SCHEMA)
          assert.strictEqual(
            yield* store.register(
              n,
              json({ $schema: "https://json-schema.org/draft/2020-12/schema#", type: "string" }),
              JSON_SCHEMA
            ),
            2
          )
        }),
      t
    )

    it.effect(
      "malformed namespaces and versions are rejected with InvalidArgument by every operation",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const doc = json(true)
          const badNamespaces = ["", "/a", "a/", "a//b", "-a", "a/-b", "a b", "ä", "x".repeat(129), 5]
          for (const b of badNamespaces as ReadonlyArray<string>) {
            yield* expectReason(store.register(b, doc, JSON_SCHEMA), "InvalidArgument")
            yield* expectReason(store.get(b), "InvalidArgument")
            yield* expectReason(store.list(b), "InvalidArgument")
            yield* expectReason(store.validate(b, {}), "InvalidArgument")
          }
          const n = ns()
          yield* store.register(n, doc, JSON_SCHEMA)
          for (const v of [0, -1, 1.5, Number.NaN, "1" as unknown as number]) {
            yield* expectReason(store.get(n, v), "InvalidArgument")
            yield* expectReason(store.validate(n, {}, v), "InvalidArgument")
          }
          const longest = `a/${"b".repeat(SchemaStore.maxNamespaceLength - 2 - 37)}${Gen.name("").slice(-37)}`
          assert.strictEqual(longest.length, SchemaStore.maxNamespaceLength)
          assert.strictEqual(yield* store.register(longest, doc, JSON_SCHEMA), 1)
        }),
      t
    )

    it.effect(
      "stored schemas are isolated from the caller's buffers",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const original = json({ type: "string" })
          const input = original.slice()
          yield* store.register(n, input, JSON_SCHEMA)
          input.fill(0x20)
          Option.getOrThrow(yield* store.get(n)).schema.fill(0x20)
          assert.isTrue(Gen.bytesEqual(Option.getOrThrow(yield* store.get(n)).schema, original))
          assert.isTrue((yield* store.validate(n, "s")).valid)
        }),
      t
    )

    it.effect(
      "100 concurrent registrations get distinct consecutive versions; 100 identical ones share one",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          const docs = Array.from({ length: 100 }, (_, i) => json({ type: "integer", minimum: i }))
          const versions = yield* Effect.forEach(docs, (d) => store.register(n, d, JSON_SCHEMA), { concurrency: 100 })
          assert.deepStrictEqual(
            [...versions].sort((a, b) => a - b),
            Array.from({ length: 100 }, (_, i) => i + 1)
          )
          for (const [i, v] of versions.entries()) {
            const r = Option.getOrThrow(yield* store.get(n, v))
            assert.isTrue(Gen.bytesEqual(r.schema, docs[i]!))
            const check = yield* store.validate(n, i, v)
            assert.isTrue(check.valid)
            if (i > 0) assert.isFalse((yield* store.validate(n, i - 1, v)).valid)
          }
          const m = ns()
          const same = json({ type: "null" })
          const all = yield* Effect.forEach(Array.from({ length: 100 }), () => store.register(m, same, JSON_SCHEMA), {
            concurrency: 100
          })
          assert.isTrue(all.every((v) => v === 1))
          assert.strictEqual((yield* store.list(m)).length, 1)
        }),
      t
    )

    it.effect(
      "an interrupted register leaves no version or a complete one, and versions stay consecutive",
      () =>
        Effect.gen(function* () {
          const store = yield* SchemaStore.SchemaStore
          const n = ns()
          for (let i = 0; i < 10; i++) {
            const doc = json({ type: "string", maxLength: i })
            const fiber = yield* Effect.forkChild(store.register(n, doc, JSON_SCHEMA))
            if (i % 2 === 0) yield* Effect.yieldNow
            yield* Fiber.interrupt(fiber)
            const latest = yield* store.get(n)
            if (Option.isSome(latest) && Gen.bytesEqual(latest.value.schema, doc)) {
              assert.strictEqual(latest.value.digest, sha256(doc))
            }
          }
          const after = yield* store.register(n, json({ type: "string", title: "after" }), JSON_SCHEMA)
          const versions = (yield* store.list(n)).map((s) => s.version)
          assert.deepStrictEqual(
            versions,
            Array.from({ length: after }, (_, i) => i + 1)
          )
        }),
      t
    )
  })
