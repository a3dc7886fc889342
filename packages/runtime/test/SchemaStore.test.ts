import { assert, describe, it } from "@effect/vitest"
import { Decorators, MetricsRegistry, SchemaStore } from "@graviton/runtime"
import { SchemaStoreSuite } from "@graviton/runtime/testing"
import { Effect, Layer, Option, Schema } from "effect"

SchemaStoreSuite.run("memory", SchemaStore.layerMemory)

const decorated = Decorators.layerTracing(SchemaStore.SchemaStore).pipe(
  Layer.provide(Decorators.layerMetrics(SchemaStore.SchemaStore, "memory")),
  Layer.provide(Decorators.layerRetry(SchemaStore.SchemaStore)),
  Layer.provide(Decorators.layerTimeout(SchemaStore.SchemaStore, { duration: "30 seconds" })),
  Layer.provide(SchemaStore.layerMemory),
  Layer.provide(MetricsRegistry.layerFresh)
)

SchemaStoreSuite.run("memory, fully decorated", decorated)

const enc = new TextEncoder()

describe("SchemaStore.make", () => {
  it.effect("compiles each (namespace, version) once, however often it validates", () =>
    Effect.gen(function* () {
      const inner = SchemaStore.makeMemory()
      let documentReads = 0
      // records come back as fresh objects every time (like a database); count reads of the document itself
      const get = (ns: string, v: number | undefined) =>
        Effect.map(
          inner.get(ns, v),
          Option.map((record) => {
            const copy = { ...record }
            Object.defineProperty(copy, "schema", {
              get: () => {
                documentReads++
                return record.schema
              }
            })
            return copy
          })
        )
      const list = (ns: string | undefined) => inner.list(ns)
      const store = SchemaStore.make({
        append: (r) =>
          Effect.map(inner.register(r.namespace, r.schema, r.contentType), (version) => ({ version, created: true })),
        get,
        list
      })
      yield* store.register("a", enc.encode(JSON.stringify({ type: "object", required: ["a"] })), "application/json")
      for (let i = 0; i < 200; i++) {
        const r = yield* store.validate("a", i % 2 === 0 ? { a: 1 } : {})
        assert.strictEqual(r.valid, i % 2 === 0)
      }
      // compiled at registration: validation never needed the document
      assert.strictEqual(documentReads, 0)
      // a second store over the same backend (another process) reads and compiles it once, on first use
      const other = SchemaStore.make({ append: () => Effect.die("unused"), get, list })
      for (let i = 0; i < 50; i++) assert.isTrue((yield* other.validate("a", { a: i })).valid)
      assert.strictEqual(documentReads, 1)
    })
  )

  it.effect("a stored document that no longer compiles fails validation with Corrupt", () =>
    Effect.gen(function* () {
      const store = SchemaStore.make({
        append: () => Effect.succeed({ version: 1, created: true }),
        get: (namespace) =>
          Effect.succeed(
            Option.some({
              namespace,
              version: 1,
              contentType: "application/schema+json" as const,
              schema: enc.encode("{ broken"),
              digest: "00",
              createdAt: 0
            })
          ),
        list: () => Effect.succeed([])
      })
      const e = yield* Effect.flip(store.validate("x", {}))
      assert.strictEqual(e.reason._tag, "Corrupt")
    })
  )

  it.effect("records and validation results round-trip through JSON (schema bytes as base64)", () =>
    Effect.gen(function* () {
      const store = SchemaStore.makeMemory()
      yield* store.register("rt", enc.encode(`{"type":"string"}`), "application/schema+json")
      const record = Option.getOrThrow(yield* store.get("rt"))
      const RecordJson = Schema.toCodecJson(SchemaStore.SchemaRecord)
      const encoded = (yield* Schema.encodeEffect(RecordJson)(record)) as { schema: string }
      assert.strictEqual(encoded.schema, Buffer.from(`{"type":"string"}`).toString("base64"))
      const back = yield* Schema.decodeUnknownEffect(RecordJson)(JSON.parse(JSON.stringify(encoded)))
      assert.strictEqual(new TextDecoder().decode(back.schema), `{"type":"string"}`)
      const result = yield* store.validate("rt", 5)
      const ResultJson = Schema.toCodecJson(SchemaStore.ValidationResult)
      const r = yield* Schema.decodeUnknownEffect(ResultJson)(
        JSON.parse(JSON.stringify(yield* Schema.encodeEffect(ResultJson)(result)))
      )
      assert.deepStrictEqual(r, result)
    })
  )
})
