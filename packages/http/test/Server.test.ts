import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { BlobStore, ConstraintViolation, GravitonRuntime, KeyValueStore, StorageError } from "@graviton/runtime"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { GravitonServer } from "../src/index.ts"
import { baseUrl, fetchAll, GiB, MiB, portOf, randomBytes, rawExchange, serverLayer } from "./support.ts"

const SECRET = "driver says: password=hunter2 at 10.0.0.7"

/** The runtime's BlobStore with some methods replaced (only the server sees the replacement). */
const withBlobStore = (patch: (inner: BlobStore.BlobStore) => Partial<BlobStore.BlobStore>) =>
  Layer.effect(BlobStore.BlobStore)(
    Effect.gen(function* () {
      const inner = yield* BlobStore.BlobStore
      return { ...inner, ...patch(inner) }
    })
  )

const faultyServer = (patch: (inner: BlobStore.BlobStore) => Partial<BlobStore.BlobStore>) =>
  GravitonServer.layer({ port: 0 }).pipe(
    Layer.provide(withBlobStore(patch)),
    Layer.provideMerge(GravitonRuntime.layerMemory())
  )

const err = (reason: "Corrupt" | "Unavailable" | "Timeout" | "Unknown" | "PermissionDenied") => {
  const ctor = {
    Corrupt: StorageError.corrupt,
    Unavailable: StorageError.unavailable,
    Timeout: StorageError.timeout,
    Unknown: StorageError.unknown,
    PermissionDenied: StorageError.permissionDenied
  }[reason]
  return ctor("BlobStore.get", { message: SECRET, cause: new Error(SECRET) })
}

/** Connects and reports whether the server closed the socket (true) or our fallback timer fired (false). */
const serverCloses = (port: number, send: string, fallbackMs: number) =>
  Effect.callback<{ readonly closedByServer: boolean; readonly data: string }>((resume) => {
    let data = ""
    const timer = setTimeout(() => {
      socket.destroy()
      resume(Effect.succeed({ closedByServer: false, data }))
    }, fallbackMs)
    const socket = connect(port, "127.0.0.1", () => {
      if (send.length > 0) socket.write(send)
    })
    socket.on("data", (d) => {
      data += d.toString("latin1")
    })
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed({ closedByServer: true, data }))
    })
  })

describe("server", () => {
  layer(serverLayer(), { excludeTestServices: true })("health, metrics and the OpenAPI document", (it) => {
    it.effect("live and ready answer 200; metrics are Prometheus text", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const live = yield* fetchAll(`${base}/health/live`)
        assert.deepStrictEqual([live.status, live.json], [200, { status: "ok" }])
        const ready = yield* fetchAll(`${base}/health/ready`)
        assert.deepStrictEqual(ready.json, { status: "ok", checks: { keyValueStore: "ok", blobStore: "ok" } })
        yield* fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: randomBytes(100, 1) })
        const metrics = yield* fetchAll(`${base}/metrics`)
        assert.strictEqual(metrics.status, 200)
        assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/)
        assert.match(metrics.text, /# TYPE graviton_blob_operations_total counter/)
        assert.match(metrics.text, /graviton_blob_operations_total\{operation="put",outcome="ok"\} \d+/)
      })
    )

    it.effect("the OpenAPI document describes every endpoint, including the streaming and tus ones", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* fetchAll(`${base}/api/v1/openapi.json`)
        assert.strictEqual(res.status, 200)
        const doc = res.json as {
          openapi: string
          paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>
          components: { securitySchemes?: Record<string, unknown> }
        }
        assert.match(doc.openapi, /^3\./)
        const expected: Record<string, ReadonlyArray<string>> = {
          "/api/v1/blobs": ["get", "post"],
          "/api/v1/blobs/{key}": ["get", "head", "delete"],
          "/api/v1/blobs/{key}/manifest": ["get"],
          "/api/v1/blobs/{key}/verify": ["post"],
          "/api/v1/uploads": ["options", "post", "get"],
          "/api/v1/uploads/{id}": ["get", "head", "patch", "delete"],
          "/health/live": ["get"],
          "/health/ready": ["get"],
          "/metrics": ["get"]
        }
        for (const [path, methods] of Object.entries(expected)) {
          for (const m of methods) assert.isDefined(doc.paths[path]?.[m], `${m} ${path}`)
        }
        assert.isDefined(doc.paths["/api/v1/blobs"]!.post!.requestBody?.content["application/octet-stream"])
        assert.isDefined(
          doc.paths["/api/v1/uploads/{id}"]!.patch!.requestBody?.content["application/offset+octet-stream"]
        )
        assert.isDefined(doc.components.securitySchemes)
      })
    )

    it.effect("a 1 GiB streamed upload keeps memory bounded (RSS growth < 200 MiB)", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const pattern = randomBytes(MiB, 77)
        const upload = (size: number) =>
          Effect.promise(
            () =>
              new Promise<{ status: number; text: string }>((resolve, reject) => {
                const req = httpRequest(
                  `${base}/api/v1/blobs`,
                  { method: "POST", headers: { "content-length": String(size) } },
                  (res) => {
                    let text = ""
                    res.on("data", (d: Buffer) => {
                      text += d.toString("utf8")
                    })
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
                  }
                )
                req.on("error", reject)
                ;(async () => {
                  for (let sent = 0; sent < size; sent += MiB) {
                    if (!req.write(pattern)) await new Promise((r) => req.once("drain", r))
                  }
                  req.end()
                })().catch(reject)
              })
          )
        const warm = yield* upload(64 * MiB)
        assert.strictEqual(warm.status, 201)
        const before = process.memoryUsage().rss
        let peak = before
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss)
        }, 20)
        const res = yield* upload(GiB).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
        peak = Math.max(peak, process.memoryUsage().rss)
        assert.strictEqual(res.status, 201, res.text)
        assert.strictEqual(JSON.parse(res.text).size, GiB)
        const growth = (peak - before) / MiB
        assert.isBelow(growth, 200, `RSS grew by ${growth.toFixed(1)} MiB`)
      })
    )
  })

  describe("error mapping", () => {
    layer(
      faultyServer((inner) => ({
        stat: () => Effect.fail(err("Unavailable")),
        list: () => Effect.fail(err("Timeout")),
        verify: () => Effect.fail(err("Unknown")),
        delete: () => Effect.fail(err("PermissionDenied")),
        get: () => Stream.fail(err("Corrupt")),
        put: (body, options) =>
          options?.attributes?.["content-type"] === "x/rate"
            ? Effect.fail(ConstraintViolation.rateLimited("default", 2500))
            : options?.attributes?.["content-type"] === "x/busy"
              ? Effect.fail(ConstraintViolation.concurrencyExceeded("default", 10))
              : options?.attributes?.["content-type"] === "x/quota"
                ? Effect.fail(ConstraintViolation.quotaExceeded("default", 100, 90, 20))
                : inner.put(body, options)
      })),
      { excludeTestServices: true }
    )("backend failures", (it) => {
      const key = `sha-256:${"ab".repeat(32)}:5`
      it.effect(
        "Unavailable/Timeout → 503, Corrupt → 500 corrupt, Unknown/PermissionDenied → 500; no driver text",
        () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const cases: ReadonlyArray<readonly [string, RequestInit, number, string]> = [
              [`/api/v1/blobs/${key}`, {}, 503, "backend_unavailable"],
              ["/api/v1/blobs", {}, 503, "backend_timeout"],
              [`/api/v1/blobs/${key}/verify`, { method: "POST" }, 500, "internal"],
              [`/api/v1/blobs/${key}`, { method: "DELETE" }, 500, "internal"]
            ]
            for (const [path, init, status, code] of cases) {
              const res = yield* fetchAll(`${base}${path}`, init)
              assert.strictEqual(res.status, status, path)
              assert.strictEqual((res.json as { error: string }).error, code, path)
              assert.notInclude(res.text, "hunter2")
              assert.notInclude(res.text, "10.0.0.7")
              assert.notInclude(res.text, "    at ")
            }
          })
      )

      it.effect("policy rejections: rate limit and concurrency → 429 (Retry-After), quota → 507", () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const post = (ct: string) =>
            fetchAll(`${base}/api/v1/blobs`, {
              method: "POST",
              body: randomBytes(20, 2),
              headers: { "content-type": ct }
            })
          const rate = yield* post("x/rate")
          assert.strictEqual(rate.status, 429)
          assert.strictEqual((rate.json as { error: string }).error, "rate_limited")
          assert.strictEqual(rate.headers.get("retry-after"), "3")
          const busy = yield* post("x/busy")
          assert.strictEqual(busy.status, 429)
          assert.strictEqual((busy.json as { error: string }).error, "concurrency_exceeded")
          assert.strictEqual(busy.headers.get("retry-after"), "1")
          const quota = yield* post("x/quota")
          assert.strictEqual(quota.status, 507)
          assert.strictEqual((quota.json as { error: string }).error, "quota_exceeded")
        })
      )
    })

    layer(
      faultyServer((inner) => ({
        ...inner,
        get: (k, r) =>
          Stream.concat(inner.get(k, r), Stream.fail(StorageError.corrupt("BlobStore.get", { message: "late" })))
      })),
      { excludeTestServices: true }
    )("a corrupt first block", (it) => {
      it.effect("is reported as 500 corrupt before any byte is sent when the stream fails at once", () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const res = yield* fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: new Uint8Array(0) })
          assert.strictEqual(res.status, 201)
          const key = (res.json as { key: string }).key
          const got = yield* fetchAll(`${base}/api/v1/blobs/${key}`)
          assert.strictEqual(got.status, 500)
          assert.deepStrictEqual(got.json, { error: "corrupt", message: "stored data failed verification" })
        })
      )
    })

    layer(
      GravitonServer.layer({ port: 0 }).pipe(
        Layer.provide(
          Layer.effect(KeyValueStore.KeyValueStore)(
            Effect.gen(function* () {
              const inner = yield* KeyValueStore.KeyValueStore
              return {
                ...inner,
                get: () => Effect.fail(StorageError.unavailable("KeyValueStore.get", { message: SECRET }))
              }
            })
          )
        ),
        Layer.provideMerge(GravitonRuntime.layerMemory())
      ),
      { excludeTestServices: true }
    )("readiness", (it) => {
      it.effect("ready answers 503 naming the failed check; live stays 200", () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const ready = yield* fetchAll(`${base}/health/ready`)
          assert.strictEqual(ready.status, 503)
          const json = ready.json as { error: string; checks: Record<string, string> }
          assert.strictEqual(json.error, "not_ready")
          assert.deepStrictEqual(json.checks, { keyValueStore: "failed", blobStore: "ok" })
          assert.notInclude(ready.text, "hunter2")
          assert.strictEqual((yield* fetchAll(`${base}/health/live`)).status, 200)
        })
      )
    })
  })

  describe("connection limits", () => {
    layer(serverLayer({ headersTimeout: "500 millis", idleTimeout: "2 seconds" }), { excludeTestServices: true })(
      "slow clients",
      (it) => {
        it.effect("headers that never complete answer 408 and the connection is closed (slowloris)", () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const r = yield* serverCloses(portOf(base), "GET /health/live HTTP/1.1\r\nHost: x\r\n", 15_000)
            assert.isTrue(r.closedByServer)
            assert.match(r.data, /^HTTP\/1\.1 408 /)
          })
        )
        it.effect("a connection that sends nothing is closed", () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const r = yield* serverCloses(portOf(base), "", 15_000)
            assert.isTrue(r.closedByServer)
          })
        )
        it.effect("a body that stops arriving is cut by the idle timeout", () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const r = yield* serverCloses(
              portOf(base),
              "POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a few bytes",
              15_000
            )
            assert.isTrue(r.closedByServer)
          })
        )
      }
    )
  })

  it.live("layerConfig reads GRAVITON_PORT, GRAVITON_HOST and GRAVITON_AUTH_TOKENS_FILE", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "graviton-http-"))
      const file = join(dir, "tokens.json")
      writeFileSync(file, JSON.stringify({ "file-token": ["read"] }))
      const env = { GRAVITON_PORT: "0", GRAVITON_HOST: "127.0.0.1", GRAVITON_AUTH_TOKENS_FILE: file }
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        GravitonServer.layerConfig.pipe(
          Layer.provideMerge(GravitonRuntime.layerMemory()),
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
        ),
        scope
      )
      const base = yield* GravitonServer.url.pipe(Effect.provideContext(context))
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs`)).status, 401)
      const ok = yield* fetchAll(`${base}/api/v1/blobs`, { headers: { authorization: "Bearer file-token" } })
      assert.strictEqual(ok.status, 200)
      yield* Scope.close(scope, Exit.void)
      rmSync(dir, { recursive: true, force: true })
      const bad = yield* Effect.flip(
        Layer.build(
          GravitonServer.layerConfig.pipe(
            Layer.provideMerge(GravitonRuntime.layerMemory()),
            Layer.provide(
              ConfigProvider.layer(
                ConfigProvider.fromEnv({ env: { GRAVITON_PORT: "0", GRAVITON_AUTH_TOKENS: "x:fly" } })
              )
            )
          )
        ).pipe(Effect.scoped)
      )
      assert.strictEqual((bad as { _tag: string })._tag, "AuthConfigError")
    })
  )

  it.live("graceful shutdown: closing the layer finishes in-flight requests and refuses new connections", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(serverLayer(), scope)
      const base = yield* GravitonServer.url.pipe(Effect.provideContext(context))
      const body = randomBytes(256 * 1024, 91)
      let sendRest: () => void = () => undefined
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          `${base}/api/v1/blobs`,
          { method: "POST", headers: { "content-length": String(body.byteLength) } },
          (res) => {
            let text = ""
            res.on("data", (d: Buffer) => {
              text += d.toString("utf8")
            })
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
          }
        )
        req.on("error", reject)
        req.write(body.subarray(0, 100_000))
        sendRest = () => req.end(body.subarray(100_000))
      })
      yield* Effect.sleep("200 millis")
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* Effect.sleep("300 millis")
      assert.isUndefined(closing.pollUnsafe(), "shutdown waits for the in-flight request")
      const refused = yield* Effect.promise(() =>
        fetch(`${base}/health/live`).then(
          () => false,
          () => true
        )
      )
      assert.isTrue(refused, "new connections are refused while shutting down")
      sendRest()
      const res = yield* Effect.promise(() => response)
      assert.strictEqual(res.status, 201, res.text)
      assert.strictEqual(JSON.parse(res.text).size, body.byteLength)
      yield* Fiber.join(closing)
      yield* rawExchange(portOf(base), "GET / HTTP/1.1\r\n\r\n", 1000)
    })
  )
})
