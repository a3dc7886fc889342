import { createHash } from "node:crypto"
import { assert, describe, layer } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import { BlockStore } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { baseUrl, fetchAll, nodeRequest, portOf, randomBytes, rawExchange, serverLayer, text } from "./support.ts"

const keyOf = (bytes: Uint8Array) => `sha-256:${createHash("sha256").update(bytes).digest("hex")}:${bytes.byteLength}`

const put = (base: string, bytes: Uint8Array, headers: Record<string, string> = {}) =>
  fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: bytes, headers })

describe("blobs", () => {
  layer(
    serverLayer(
      {},
      {
        constraints: { maxBlobSize: 1024 * 1024, maxConcurrentUploads: 1000, quotaPerTenant: Number.POSITIVE_INFINITY }
      }
    ),
    {
      excludeTestServices: true
    }
  )("over a real server", (it) => {
    it.effect("POST stores the body and answers 201 with Location, ETag and the write result", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(300_000, 7)
        const key = keyOf(body)
        const res = yield* put(base, body, { "content-type": "image/png" })
        assert.strictEqual(res.status, 201, res.text)
        assert.strictEqual(res.headers.get("location"), `/api/v1/blobs/${key}`)
        assert.strictEqual(res.headers.get("etag"), `"${key}"`)
        const json = res.json as Record<string, unknown>
        assert.strictEqual(json.key, key)
        assert.strictEqual(json.size, body.byteLength)
        assert.strictEqual(json.created, true)
        assert.isAbove(json.blockCount as number, 0)
        const again = yield* put(base, body)
        assert.strictEqual(again.status, 201)
        assert.strictEqual((again.json as Record<string, unknown>).created, false)
        assert.strictEqual((again.json as Record<string, unknown>).duplicateBlocks, json.blockCount)
        const got = yield* fetchAll(`${base}/api/v1/blobs/${key}`)
        assert.strictEqual(got.status, 200)
        assert.deepStrictEqual(got.body, body)
        assert.strictEqual(got.headers.get("content-type"), "image/png")
        assert.strictEqual(got.headers.get("content-length"), String(body.byteLength))
        assert.strictEqual(got.headers.get("etag"), `"${key}"`)
        assert.strictEqual(got.headers.get("cache-control"), "public, max-age=31536000, immutable")
        assert.strictEqual(got.headers.get("accept-ranges"), "bytes")
        assert.isNotNull(got.headers.get("last-modified"))
      })
    )

    it.effect("the default content type is application/octet-stream; HEAD sends the headers without a body", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = text("no type given")
        const key = keyOf(body)
        yield* nodeRequest(`${base}/api/v1/blobs`, {
          method: "POST",
          headers: { "content-length": String(body.byteLength) },
          body: [body]
        })
        const head = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { method: "HEAD" })
        assert.strictEqual(head.status, 200)
        assert.strictEqual(head.body.byteLength, 0)
        assert.strictEqual(head.headers.get("content-type"), "application/octet-stream")
        assert.strictEqual(head.headers.get("content-length"), String(body.byteLength))
        assert.strictEqual(head.headers.get("etag"), `"${key}"`)
        const missing = yield* fetchAll(`${base}/api/v1/blobs/${keyOf(text("never stored"))}`, { method: "HEAD" })
        assert.strictEqual(missing.status, 404)
      })
    )

    it.effect("the empty blob round-trips", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* put(base, new Uint8Array(0))
        assert.strictEqual(res.status, 201)
        const key = (res.json as { key: string }).key
        assert.strictEqual(key, BinaryKey.format(BinaryKey.empty()))
        const got = yield* fetchAll(`${base}/api/v1/blobs/${key}`)
        assert.strictEqual(got.status, 200)
        assert.strictEqual(got.body.byteLength, 0)
        const ranged = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range: "bytes=0-" } })
        assert.strictEqual(ranged.status, 200, "a range on the empty blob is ignored")
      })
    )

    it.effect("a chunked upload without Content-Length is accepted", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const parts = [randomBytes(70_000, 1), randomBytes(50_000, 2), randomBytes(1, 3)]
        const all = new Uint8Array(120_001)
        all.set(parts[0]!, 0)
        all.set(parts[1]!, 70_000)
        all.set(parts[2]!, 120_000)
        const res = yield* nodeRequest(`${base}/api/v1/blobs`, { method: "POST", body: parts })
        assert.strictEqual(res.status, 201)
        assert.strictEqual(JSON.parse(res.text).key, keyOf(all))
      })
    )

    it.effect("Range: bounded, open-ended, suffix, clipped, first and last byte → 206 with Content-Range", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(200_000, 11)
        const key = keyOf(body)
        yield* put(base, body)
        const cases: ReadonlyArray<readonly [string, number, number]> = [
          ["bytes=0-0", 0, 1],
          ["bytes=199999-199999", 199_999, 200_000],
          ["bytes=100-65635", 100, 65_636],
          ["bytes=150000-", 150_000, 200_000],
          ["bytes=-10", 199_990, 200_000],
          ["bytes=-500000", 0, 200_000],
          ["bytes=1000-999999", 1000, 200_000],
          ["bytes = 5-9", 5, 10]
        ]
        for (const [range, start, end] of cases) {
          const res = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range } })
          assert.strictEqual(res.status, 206, range)
          assert.strictEqual(res.headers.get("content-range"), `bytes ${start}-${end - 1}/200000`, range)
          assert.strictEqual(res.headers.get("content-length"), String(end - start), range)
          assert.deepStrictEqual(res.body, body.subarray(start, end), range)
        }
      })
    )

    it.effect("Range: unsatisfiable → 416 with Content-Range bytes */size; malformed → 400; ignored forms → 200", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(1000, 12)
        const key = keyOf(body)
        yield* put(base, body)
        for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
          const res = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range } })
          assert.strictEqual(res.status, 416, range)
          assert.strictEqual(res.headers.get("content-range"), "bytes */1000", range)
          assert.strictEqual((res.json as { error: string }).error, "range_not_satisfiable")
        }
        for (const range of ["bytes=5-2", "bytes=abc", "bytes=-", "bytes=1.5-2", "junk"]) {
          const res = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range } })
          assert.strictEqual(res.status, 400, range)
          assert.strictEqual((res.json as { error: string }).error, "invalid_range", range)
        }
        for (const range of ["bytes=0-1,5-6", "items=0-1"]) {
          const res = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range } })
          assert.strictEqual(res.status, 200, range)
          assert.deepStrictEqual(res.body, body, range)
        }
      })
    )

    it.effect("conditional requests: If-None-Match → 304, If-Match → 412, If-Range gates the range", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(5000, 13)
        const key = keyOf(body)
        const etag = `"${key}"`
        yield* put(base, body)
        const url = `${base}/api/v1/blobs/${key}`
        const notModified = yield* fetchAll(url, { headers: { "if-none-match": etag } })
        assert.strictEqual(notModified.status, 304)
        assert.strictEqual(notModified.headers.get("etag"), etag)
        assert.strictEqual(notModified.body.byteLength, 0)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-none-match": `W/${etag}` } })).status, 304)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-none-match": `"x", ${etag}` } })).status, 304)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-none-match": "*" } })).status, 304)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-none-match": `"other"` } })).status, 200)
        assert.strictEqual((yield* fetchAll(url, { method: "HEAD", headers: { "if-none-match": etag } })).status, 304)
        const failed = yield* fetchAll(url, { headers: { "if-match": `"other"` } })
        assert.strictEqual(failed.status, 412)
        assert.strictEqual((failed.json as { error: string }).error, "precondition_failed")
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-match": etag } })).status, 200)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-match": "*" } })).status, 200)
        assert.strictEqual((yield* fetchAll(url, { headers: { "if-match": `W/${etag}` } })).status, 412)
        const rangeOk = yield* fetchAll(url, { headers: { range: "bytes=0-9", "if-range": etag } })
        assert.strictEqual(rangeOk.status, 206)
        const rangeStale = yield* fetchAll(url, { headers: { range: "bytes=0-9", "if-range": `"old"` } })
        assert.strictEqual(rangeStale.status, 200)
        assert.deepStrictEqual(rangeStale.body, body)
        const lastModified = rangeOk.headers.get("last-modified")!
        const byDate = yield* fetchAll(url, { headers: { range: "bytes=0-9", "if-range": lastModified } })
        assert.strictEqual(byDate.status, 206)
        const oldDate = yield* fetchAll(url, {
          headers: { range: "bytes=0-9", "if-range": "Mon, 01 Jan 2001 00:00:00 GMT" }
        })
        assert.strictEqual(oldDate.status, 200)
      })
    )

    it.effect("X-Graviton-Expected-Key: match stores; mismatch → 409 and nothing stored; size conflict → 422", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(4000, 14)
        const ok = yield* put(base, body, { "x-graviton-expected-key": keyOf(body) })
        assert.strictEqual(ok.status, 201)
        const other = randomBytes(4000, 15)
        const wrongKey = keyOf(randomBytes(4000, 16))
        const mismatch = yield* put(base, other, { "x-graviton-expected-key": wrongKey })
        assert.strictEqual(mismatch.status, 409)
        assert.strictEqual((mismatch.json as { error: string }).error, "expected_key_mismatch")
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${keyOf(other)}`)).status, 404)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${wrongKey}`)).status, 404)
        const sizeConflict = yield* put(base, other, { "x-graviton-expected-key": keyOf(randomBytes(10, 1)) })
        assert.strictEqual(sizeConflict.status, 422)
        const badHeader = yield* put(base, other, { "x-graviton-expected-key": "nonsense" })
        assert.strictEqual(badHeader.status, 400)
        assert.strictEqual((badHeader.json as { error: string }).error, "invalid_key")
      })
    )

    it.effect("bad keys → 400 invalid_key; absent blobs → 404; DELETE → 204 then 404", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        for (const bad of ["garbage", "sha-256:zz:1", "md5:abcd:1", `sha-256:${"a".repeat(64)}:-1`]) {
          const res = yield* fetchAll(`${base}/api/v1/blobs/${encodeURIComponent(bad)}`)
          assert.strictEqual(res.status, 400, bad)
          const json = res.json as { error: string; message: string }
          assert.strictEqual(json.error, "invalid_key", bad)
          assert.isString(json.message)
        }
        const body = randomBytes(100, 17)
        const key = keyOf(body)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}`)).status, 404)
        yield* put(base, body)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}`, { method: "DELETE" })).status, 204)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}`)).status, 404)
        const again = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { method: "DELETE" })
        assert.strictEqual(again.status, 404)
        assert.deepStrictEqual(Object.keys(again.json as object).sort(), ["error", "message"])
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/bad/verify`, { method: "POST" })).status, 400)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}/verify`, { method: "POST" })).status, 404)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}/manifest`)).status, 404)
        const route = yield* fetchAll(`${base}/api/v1/nothing-here`)
        assert.strictEqual(route.status, 404)
        assert.strictEqual((route.json as { error: string }).error, "route_not_found")
      })
    )

    it.effect("GET /api/v1/blobs pages with cursor and limit, without gaps or duplicates, and filters by prefix", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const keys = new Set<string>()
        for (let i = 0; i < 12; i++) {
          const body = randomBytes(64, 1000 + i)
          keys.add(keyOf(body))
          yield* put(base, body)
        }
        const seen: Array<string> = []
        let cursor: string | undefined
        do {
          const q = cursor === undefined ? "?limit=5" : `?limit=5&cursor=${encodeURIComponent(cursor)}`
          const res = yield* fetchAll(`${base}/api/v1/blobs${q}`)
          assert.strictEqual(res.status, 200)
          const page = res.json as { items: Array<{ key: string; size: number }>; cursor?: string }
          assert.isAtMost(page.items.length, 5)
          for (const item of page.items) seen.push(item.key)
          cursor = page.cursor
        } while (cursor !== undefined)
        assert.strictEqual(new Set(seen).size, seen.length, "no duplicates")
        for (const k of keys) assert.include(seen, k)
        assert.deepStrictEqual([...seen].sort(), seen, "ordered by key text")
        const first = [...keys][0]!
        const prefix = first.slice(0, 14)
        const filtered = yield* fetchAll(`${base}/api/v1/blobs?prefix=${encodeURIComponent(prefix)}`)
        const items = (filtered.json as { items: Array<{ key: string }> }).items
        assert.isTrue(items.length >= 1 && items.every((i) => i.key.startsWith(prefix)))
        for (const q of ["limit=0", "limit=1001", "limit=abc", "limit=1.5"]) {
          const res = yield* fetchAll(`${base}/api/v1/blobs?${q}`)
          assert.strictEqual(res.status, 400, q)
          assert.strictEqual((res.json as { error: string }).error, "invalid_query", q)
        }
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs?cursor=%%%`)).status, 400)
      })
    )

    it.effect("manifest pages its entries with cursor and limit; verify reports an intact blob", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(900_000, 21)
        const key = keyOf(body)
        yield* put(base, body)
        const entries: Array<{ index: number; offset: number; size: number; blockKey: string }> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const q = cursor === undefined ? "?limit=2" : `?limit=2&cursor=${cursor}`
          const res = yield* fetchAll(`${base}/api/v1/blobs/${key}/manifest${q}`)
          assert.strictEqual(res.status, 200)
          const page = res.json as { key: string; size: number; entries: typeof entries; cursor?: string }
          assert.strictEqual(page.key, key)
          assert.strictEqual(page.size, body.byteLength)
          entries.push(...page.entries)
          cursor = page.cursor
          pages++
        } while (cursor !== undefined)
        assert.isAbove(pages, 1)
        let offset = 0
        entries.forEach((e, i) => {
          assert.strictEqual(e.index, i)
          assert.strictEqual(e.offset, offset)
          assert.strictEqual(e.blockKey, keyOf(body.subarray(e.offset, e.offset + e.size)))
          offset += e.size
        })
        assert.strictEqual(offset, body.byteLength)
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${key}/manifest?cursor=zzz`)).status, 400)
        const verify = yield* fetchAll(`${base}/api/v1/blobs/${key}/verify`, { method: "POST" })
        assert.strictEqual(verify.status, 200)
        const report = verify.json as { ok: boolean; blocksChecked: number; bytesChecked: number; key: string }
        assert.isTrue(report.ok)
        assert.strictEqual(report.key, key)
        assert.strictEqual(report.blocksChecked, entries.length)
        assert.strictEqual(report.bytesChecked, body.byteLength)
      })
    )

    it.effect("oversized bodies → 413: declared before reading, chunked as soon as the limit passes", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const port = portOf(base)
        const declared = yield* rawExchange(
          port,
          "POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"
        )
        assert.match(declared, /^HTTP\/1\.1 413 /)
        assert.include(declared, '"error":"too_large"')
        const chunked = yield* nodeRequest(`${base}/api/v1/blobs`, {
          method: "POST",
          body: Array.from({ length: 20 }, (_, i) => randomBytes(64 * 1024, 300 + i))
        }).pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(chunked.status, 413)
        assert.strictEqual(JSON.parse(chunked.text).error, "too_large")
      })
    )

    it.effect("malformed requests: no length → 411, bad Content-Length → 400, huge headers → 431, garbage → 400", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const port = portOf(base)
        const noLength = yield* rawExchange(port, "POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert.match(noLength, /^HTTP\/1\.1 411 /)
        assert.include(noLength, '"error":"length_required"')
        const badLength = yield* rawExchange(
          port,
          "POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n"
        )
        assert.match(badLength, /^HTTP\/1\.1 400 /)
        const huge = yield* rawExchange(
          port,
          `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\nConnection: close\r\n\r\n`
        )
        assert.match(huge, /^HTTP\/1\.1 431 /)
        const garbage = yield* rawExchange(port, "THIS IS NOT HTTP\r\n\r\n")
        assert.match(garbage, /^HTTP\/1\.1 400 /)
        assert.notInclude(garbage, "at ")
      })
    )
  })

  layer(serverLayer(), { excludeTestServices: true })("with a damaged block", (it) => {
    it.effect("a corrupt block answers 500 corrupt on GET (nothing streamed) and verify reports it", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const body = randomBytes(200_000, 61)
        const key = keyOf(body)
        yield* put(base, body)
        const page = (yield* fetchAll(`${base}/api/v1/blobs/${key}/manifest`)).json as {
          entries: Array<{ blockKey: string; size: number; offset: number }>
        }
        const first = page.entries[0]!
        const blockKey = Result.getOrThrow(BinaryKey.parse(first.blockKey))
        const blocks = yield* BlockStore.BlockStore
        yield* blocks.delete(blockKey)
        const damaged = body.slice(first.offset, first.offset + first.size)
        damaged[0] = damaged[0]! ^ 0xff
        yield* blocks.put(blockKey, damaged)
        const got = yield* fetchAll(`${base}/api/v1/blobs/${key}`)
        assert.strictEqual(got.status, 500)
        assert.deepStrictEqual(got.json, { error: "corrupt", message: "stored data failed verification" })
        const ranged = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range: "bytes=0-9" } })
        assert.strictEqual(ranged.status, 500)
        const untouched = yield* fetchAll(`${base}/api/v1/blobs/${key}`, { headers: { range: `bytes=${first.size}-` } })
        assert.strictEqual(untouched.status, 206, "ranges that avoid the damaged block still work")
        assert.deepStrictEqual(untouched.body, body.subarray(first.size))
        const report = (yield* fetchAll(`${base}/api/v1/blobs/${key}/verify`, { method: "POST" })).json as {
          ok: boolean
          corruptBlocks: Array<string>
        }
        assert.isFalse(report.ok)
        assert.deepStrictEqual(report.corruptBlocks, [first.blockKey])
      })
    )
  })
})
