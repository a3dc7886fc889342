import { assert, describe, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { Auth } from "../src/index.ts"
import { baseUrl, fetchAll, randomBytes, serverLayer } from "./support.ts"

const tokens = Auth.make([
  ["reader-token", ["read"]],
  ["writer-token", ["write"]],
  ["deleter-token", ["delete", "read"]],
  ["admin-token", ["admin"]]
])

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe("Auth", () => {
  it("parses GRAVITON_AUTH_TOKENS lists", () => {
    const r = Auth.parseList(" a:read,write ; b:admin;")
    assert.isTrue(Result.isSuccess(r))
    if (Result.isSuccess(r)) {
      assert.deepStrictEqual(r.success, [
        ["a", ["read", "write"]],
        ["b", ["admin"]]
      ])
    }
    assert.deepStrictEqual(Result.getOrThrow(Auth.parseList("")), [])
    for (const bad of ["secret-token", "secret-token:", "secret-token:fly", ":read"]) {
      const e = Auth.parseList(bad)
      assert.isTrue(Result.isFailure(e), bad)
      if (Result.isFailure(e)) assert.notInclude(e.failure.message, "secret-token", "errors never name a token")
    }
  })

  it("parses token files: JSON object, JSON array and lines", () => {
    const obj = Result.getOrThrow(Auth.parseFile('{ "t1": ["read"], "t2": "write,delete" }'))
    assert.deepStrictEqual(obj, [
      ["t1", ["read"]],
      ["t2", ["write", "delete"]]
    ])
    const arr = Result.getOrThrow(Auth.parseFile('[{ "token": "t3", "capabilities": ["admin"] }]'))
    assert.deepStrictEqual(arr, [["t3", ["admin"]]])
    const lines = Result.getOrThrow(Auth.parseFile("# comment\n\nt4:read\nt5: write , read\n"))
    assert.deepStrictEqual(lines, [
      ["t4", ["read"]],
      ["t5", ["write", "read"]]
    ])
    assert.isTrue(Result.isFailure(Auth.parseFile("{ not json")))
    assert.isTrue(Result.isFailure(Auth.parseFile('{ "t": ["root"] }')))
  })

  it("looks tokens up by digest; admin implies every capability; unknown and empty tokens have none", () => {
    assert.isTrue(tokens.enabled)
    assert.deepStrictEqual([...(tokens.lookup("reader-token") ?? [])], ["read"])
    assert.sameMembers([...(tokens.lookup("admin-token") ?? [])], ["read", "write", "delete", "admin"])
    assert.isUndefined(tokens.lookup("reader-token "))
    assert.isUndefined(tokens.lookup("nope"))
    assert.isUndefined(tokens.lookup(""))
    assert.isFalse(Auth.disabled.enabled)
  })

  it.effect("fromConfig reads GRAVITON_AUTH_TOKENS", () =>
    Effect.gen(function* () {
      const t = yield* Auth.fromConfig.pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnv({ env: { GRAVITON_AUTH_TOKENS: "x:read;y:write" } })
        )
      )
      assert.strictEqual(t.size, 2)
      assert.isTrue(t.lookup("y")?.has("write"))
      const none = yield* Auth.fromConfig.pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} }))
      )
      assert.isFalse(none.enabled)
    })
  )

  layer(serverLayer({ tokens }), { excludeTestServices: true })("on a server with tokens", (it) => {
    it.effect("health and the OpenAPI document are open; tus discovery is open", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        assert.strictEqual((yield* fetchAll(`${base}/health/live`)).status, 200)
        assert.strictEqual((yield* fetchAll(`${base}/health/ready`)).status, 200)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/openapi.json`)).status, 200)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/uploads`, { method: "OPTIONS" })).status, 204)
      })
    )

    it.effect("a missing or unknown token answers 401 with WWW-Authenticate, without echoing the token", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const none = yield* fetchAll(`${base}/api/v1/blobs`)
        assert.strictEqual(none.status, 401)
        assert.match(none.headers.get("www-authenticate")!, /^Bearer/)
        assert.deepStrictEqual(none.json, { error: "unauthorized", message: "a valid bearer token is required" })
        const wrong = yield* fetchAll(`${base}/api/v1/blobs`, { headers: bearer("guess-token-123") })
        assert.strictEqual(wrong.status, 401)
        assert.notInclude(wrong.text, "guess-token-123")
        const basic = yield* fetchAll(`${base}/api/v1/blobs`, { headers: { authorization: "Basic cmVhZGVyOng=" } })
        assert.strictEqual(basic.status, 401)
      })
    )

    it.effect("capabilities: read lists and downloads, write uploads, delete deletes, admin reads metrics", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(1000, 41)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs`, { headers: bearer("reader-token") })).status, 200)
        const denied = yield* fetchAll(`${base}/api/v1/blobs`, {
          method: "POST",
          body,
          headers: bearer("reader-token")
        })
        assert.strictEqual(denied.status, 403)
        assert.strictEqual((denied.json as { error: string }).error, "forbidden")
        const created = yield* fetchAll(`${base}/api/v1/blobs`, {
          method: "POST",
          body,
          headers: bearer("writer-token")
        })
        assert.strictEqual(created.status, 201)
        const key = (created.json as { key: string }).key
        assert.strictEqual(
          (yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: bearer("writer-token") })).status,
          403
        )
        const got = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: bearer("reader-token") })
        assert.deepStrictEqual(got.body, body)
        assert.strictEqual(
          (yield* fetchAll(`${base}/api/v1/blobs/${key}`, { method: "DELETE", headers: bearer("writer-token") }))
            .status,
          403
        )
        assert.strictEqual(
          (yield* fetchAll(`${base}/api/v1/blobs/${key}`, { method: "DELETE", headers: bearer("deleter-token") }))
            .status,
          204
        )
        assert.strictEqual((yield* fetchAll(`${base}/metrics`)).status, 401)
        assert.strictEqual((yield* fetchAll(`${base}/metrics`, { headers: bearer("reader-token") })).status, 403)
        const metrics = yield* fetchAll(`${base}/metrics`, { headers: bearer("admin-token") })
        assert.strictEqual(metrics.status, 200)
        assert.include(metrics.text, "graviton_blob_operations_total")
        const tusDenied = yield* fetchAll(`${base}/api/v1/uploads`, {
          method: "POST",
          headers: { ...bearer("reader-token"), "tus-resumable": "1.0.0", "upload-length": "1" }
        })
        assert.strictEqual(tusDenied.status, 403)
        const tusOk = yield* fetchAll(`${base}/api/v1/uploads`, {
          method: "POST",
          headers: { ...bearer("writer-token"), "tus-resumable": "1.0.0", "upload-length": "1" }
        })
        assert.strictEqual(tusOk.status, 201)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/uploads`, { headers: bearer("writer-token") })).status, 403)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/uploads`, { headers: bearer("admin-token") })).status, 200)
      })
    )
  })

  layer(serverLayer(), { excludeTestServices: true })("on a server without tokens", (it) => {
    it.effect("auth is off: every endpoint answers without a token, and a stray token is ignored", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        assert.strictEqual((yield* fetchAll(`${base}/metrics`)).status, 200)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs`)).status, 200)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs`, { headers: bearer("whatever") })).status, 200)
        const created = yield* fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: randomBytes(10, 1) })
        assert.strictEqual(created.status, 201)
      })
    )
  })
})
