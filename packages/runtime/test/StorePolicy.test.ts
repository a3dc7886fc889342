import { assert, describe, it } from "@effect/vitest"
import { StorePolicy } from "@graviton/runtime"
import { Config, ConfigProvider, Effect, Result, Schema } from "effect"

const ok = (input: unknown) => {
  const r = StorePolicy.decode(input)
  assert.isTrue(Result.isSuccess(r), Result.isFailure(r) ? r.failure.message : "")
  return Result.getOrThrow(r)
}

const rejected = (input: unknown): string => {
  const r = StorePolicy.decode(input)
  assert.isTrue(Result.isFailure(r), `expected ${JSON.stringify(input)} to be rejected`)
  if (Result.isSuccess(r)) return ""
  assert.strictEqual(r.failure._tag, "InvalidStorePolicy")
  return r.failure.message
}

describe("StorePolicy", () => {
  it("an empty document is the default policy", () => {
    assert.deepStrictEqual(ok({}), StorePolicy.defaults)
    assert.deepStrictEqual(StorePolicy.defaults, {
      layout: { _tag: "Chunked", chunker: "fastcdc-v1:16384:65536:262144", compression: "none" },
      replication: { mode: { _tag: "SyncAll" }, factor: 1 },
      verifyOnRead: true
    })
  })

  it("fills defaults inside each layout", () => {
    assert.deepStrictEqual(ok({ layout: { _tag: "SingleObject" } }).layout, {
      _tag: "SingleObject",
      partSize: 8 * 1024 * 1024
    })
    assert.deepStrictEqual(ok({ layout: { _tag: "Framed" } }).layout, { _tag: "Framed", compression: "none" })
    assert.deepStrictEqual(ok({ layout: { _tag: "Chunked", compression: "auto" } }).layout, {
      _tag: "Chunked",
      chunker: StorePolicy.defaultChunker,
      compression: "auto"
    })
  })

  it("decodes every replication mode", () => {
    assert.deepStrictEqual(ok({ replication: { mode: { _tag: "Async" }, factor: 3 } }).replication, {
      mode: { _tag: "Async" },
      factor: 3
    })
    assert.deepStrictEqual(ok({ replication: { mode: { _tag: "SyncQuorum", n: 2 }, factor: 3 } }).replication, {
      mode: { _tag: "SyncQuorum", n: 2 },
      factor: 3
    })
  })

  it("rejects invalid policies with a message naming the problem", () => {
    assert.include(rejected({ replication: { mode: { _tag: "SyncQuorum", n: 4 }, factor: 3 } }), "quorum of 4")
    rejected({ replication: { mode: { _tag: "SyncQuorum", n: 0 }, factor: 3 } })
    rejected({ replication: { factor: 0 } })
    rejected({ replication: { mode: { _tag: "Sometimes" } } })
    rejected({ layout: { _tag: "Chunked", chunker: "rabin:1" } })
    rejected({ layout: { _tag: "Chunked", chunker: "fixed-v1:0" } })
    rejected({ layout: { _tag: "Chunked", compression: "gzip" } })
    rejected({ layout: { _tag: "Framed", compression: "auto" } })
    rejected({ layout: { _tag: "SingleObject", partSize: 0 } })
    rejected({ layout: { _tag: "SingleObject", partSize: 6 * 1024 * 1024 * 1024 } })
    rejected({ layout: { _tag: "Blocks" } })
    rejected({ verifyOnRead: "yes" })
    rejected(null)
    rejected([])
  })

  it("decodeJson is total over garbage", () => {
    for (const text of ["", "{", "nul", "[1,2", '{"layout":', "\u0000"]) {
      const r = StorePolicy.decodeJson(text)
      assert.isTrue(Result.isFailure(r), text)
    }
  })

  it.prop(
    "every valid policy survives a JSON round trip",
    [
      Schema.Literals(["Chunked", "SingleObject", "Framed"]),
      Schema.Literals(["none", "zstd", "auto"]),
      Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 9 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 })),
      Schema.Boolean
    ],
    ([layoutTag, compression, factor, quorum, verifyOnRead]) => {
      const layout: StorePolicy.BlobLayout =
        layoutTag === "Chunked"
          ? { _tag: "Chunked", chunker: "fixed-v1:1048576", compression }
          : layoutTag === "SingleObject"
            ? { _tag: "SingleObject", partSize: factor * 1024 * 1024 }
            : { _tag: "Framed", compression: compression === "auto" ? "zstd" : compression }
      const mode: StorePolicy.ReplicationMode =
        quorum === 0 ? { _tag: "SyncAll" } : quorum <= factor ? { _tag: "SyncQuorum", n: quorum } : { _tag: "Async" }
      const policy: StorePolicy.StorePolicy = { layout, replication: { mode, factor }, verifyOnRead }
      assert.deepStrictEqual(Result.getOrThrow(StorePolicy.decodeJson(StorePolicy.encodeJson(policy))), policy)
    }
  )

  it.effect("reads the policy from config, defaults when missing, ConfigError when invalid", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        StorePolicy.config.pipe(Config.nested("STORE")).parse(ConfigProvider.fromEnv({ env }))
      assert.deepStrictEqual(yield* read({}), StorePolicy.defaults)
      const p = yield* read({ STORE_POLICY: '{"replication":{"mode":{"_tag":"SyncQuorum","n":2},"factor":3}}' })
      assert.deepStrictEqual(p.replication, { mode: { _tag: "SyncQuorum", n: 2 }, factor: 3 })
      const bad = yield* Effect.result(read({ STORE_POLICY: '{"replication":{"factor":-1}}' }))
      assert.strictEqual(bad._tag, "Failure")
    })
  )

  it.effect("the layer provides the policy as a service", () =>
    Effect.gen(function* () {
      const p = yield* StorePolicy.StorePolicy
      assert.isTrue(p.verifyOnRead)
    }).pipe(Effect.provide(StorePolicy.layerDefault))
  )
})
