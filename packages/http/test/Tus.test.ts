import { createHash } from "node:crypto"
import { connect } from "node:net"
import { assert, describe, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Upload } from "tus-js-client"
import { baseUrl, type Fetched, fetchAll, portOf, randomBytes, serverLayer } from "./support.ts"

const TUS = { "tus-resumable": "1.0.0" }
const keyOf = (bytes: Uint8Array) => `sha-256:${createHash("sha256").update(bytes).digest("hex")}:${bytes.byteLength}`
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
const sha256b64 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64")
const errorOf = (r: Fetched) => (r.json as { error: string }).error

const create = (base: string, headers: Record<string, string>) =>
  fetchAll(`${base}/api/v1/uploads`, { method: "POST", headers: { ...TUS, ...headers } })

const patch = (
  base: string,
  location: string,
  offset: number,
  body: Uint8Array,
  headers: Record<string, string> = {}
) =>
  fetchAll(`${base}${location}`, {
    method: "PATCH",
    body,
    headers: {
      ...TUS,
      "content-type": "application/offset+octet-stream",
      "upload-offset": String(offset),
      ...headers
    }
  })

const head = (base: string, location: string) => fetchAll(`${base}${location}`, { method: "HEAD", headers: TUS })

/** Runs a tus-js-client upload to completion (or until `stopAfter` bytes were accepted, then aborts). */
const runTusClient = (
  bytes: Uint8Array,
  options: {
    readonly endpoint?: string
    readonly uploadUrl?: string
    readonly stopAfter?: number
    readonly chunkSize?: number
  },
  observe?: { readonly patchOffsets: Array<number> }
) =>
  Effect.promise(
    () =>
      new Promise<{ readonly url: string; readonly finished: boolean; readonly blobKey: string | undefined }>(
        (resolve, reject) => {
          let stopped = false
          const upload: Upload = new Upload(Buffer.from(bytes), {
            ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
            ...(options.uploadUrl === undefined ? {} : { uploadUrl: options.uploadUrl }),
            chunkSize: options.chunkSize ?? 256 * 1024,
            retryDelays: [],
            metadata: { filename: "data.bin", filetype: "application/x-test" },
            onBeforeRequest: (req) => {
              if (req.getMethod() === "PATCH") observe?.patchOffsets.push(Number(req.getHeader("Upload-Offset")))
            },
            onChunkComplete: (_chunk, accepted) => {
              if (options.stopAfter !== undefined && accepted >= options.stopAfter && !stopped) {
                stopped = true
                upload.abort().then(() => resolve({ url: upload.url!, finished: false, blobKey: undefined }), reject)
              }
            },
            onSuccess: (payload) =>
              resolve({
                url: upload.url!,
                finished: true,
                blobKey: payload.lastResponse.getHeader("X-Graviton-Blob-Key") ?? undefined
              }),
            onError: reject
          })
          upload.start()
        }
      )
  )

describe("tus", () => {
  layer(serverLayer({ maxBodySize: 8 * 1024 * 1024 }), { excludeTestServices: true })("over a real server", (it) => {
    it.effect("OPTIONS advertises tus 1.0.0, its extensions, the max size and sha256 checksums", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* fetchAll(`${base}/api/v1/uploads`, { method: "OPTIONS" })
        assert.strictEqual(res.status, 204)
        assert.strictEqual(res.headers.get("tus-version"), "1.0.0")
        assert.strictEqual(res.headers.get("tus-resumable"), "1.0.0")
        assert.strictEqual(res.headers.get("tus-max-size"), String(8 * 1024 * 1024))
        assert.strictEqual(res.headers.get("tus-checksum-algorithm"), "sha256")
        const extensions = res.headers.get("tus-extension")!.split(",")
        for (const e of ["creation", "creation-defer-length", "termination", "expiration", "checksum"]) {
          assert.include(extensions, e)
        }
      })
    )

    it.effect("creation: 201 with Location and Upload-Expires; HEAD reports offset, length and metadata", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* create(base, {
          "upload-length": "10",
          "upload-metadata": `filename ${b64("a b.txt")},filetype ${b64("text/plain")},empty`
        })
        assert.strictEqual(res.status, 201)
        const location = res.headers.get("location")!
        assert.match(location, /^\/api\/v1\/uploads\/[0-9a-f]{32}$/)
        const expires = Date.parse(res.headers.get("upload-expires")!)
        assert.isTrue(expires > Date.now())
        assert.match(
          res.headers.get("upload-expires")!,
          /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/
        )
        const h = yield* head(base, location)
        assert.strictEqual(h.status, 200)
        assert.strictEqual(h.headers.get("upload-offset"), "0")
        assert.strictEqual(h.headers.get("upload-length"), "10")
        assert.strictEqual(h.headers.get("cache-control"), "no-store")
        assert.strictEqual(h.headers.get("tus-resumable"), "1.0.0")
        const meta = Object.fromEntries(
          h.headers
            .get("upload-metadata")!
            .split(",")
            .map((p) => {
              const [k, v] = p.split(" ")
              return [k, v === undefined ? "" : Buffer.from(v, "base64").toString("utf8")]
            })
        )
        assert.strictEqual(meta.filename, "a b.txt")
        assert.strictEqual(meta.filetype, "text/plain")
        assert.strictEqual(meta.empty, "")
      })
    )

    it.effect(
      "creation errors: 412 without Tus-Resumable, 400 without or with both lengths, bad metadata, 413 too large",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const noVersion = yield* fetchAll(`${base}/api/v1/uploads`, {
            method: "POST",
            headers: { "upload-length": "1" }
          })
          assert.strictEqual(noVersion.status, 412)
          assert.strictEqual(noVersion.headers.get("tus-version"), "1.0.0")
          assert.strictEqual((yield* create(base, {})).status, 400)
          assert.strictEqual((yield* create(base, { "upload-length": "5", "upload-defer-length": "1" })).status, 400)
          assert.strictEqual((yield* create(base, { "upload-length": "-5" })).status, 400)
          assert.strictEqual((yield* create(base, { "upload-defer-length": "2" })).status, 400)
          const badMeta = yield* create(base, { "upload-length": "5", "upload-metadata": "key not-base64!" })
          assert.strictEqual(badMeta.status, 400)
          assert.strictEqual(errorOf(badMeta), "invalid_header")
          const dupMeta = yield* create(base, {
            "upload-length": "5",
            "upload-metadata": `a ${b64("1")},a ${b64("2")}`
          })
          assert.strictEqual(dupMeta.status, 400)
          const tooLarge = yield* create(base, { "upload-length": String(9 * 1024 * 1024) })
          assert.strictEqual(tooLarge.status, 413)
        })
    )

    it.effect("PATCH appends at the current offset; the last PATCH commits the blob and names it", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const bytes = randomBytes(100_000, 31)
        const created = yield* create(base, {
          "upload-length": String(bytes.byteLength),
          "upload-metadata": `filetype ${b64("application/x-thing")}`
        })
        const location = created.headers.get("location")!
        const first = yield* patch(base, location, 0, bytes.subarray(0, 40_000))
        assert.strictEqual(first.status, 204)
        assert.strictEqual(first.headers.get("upload-offset"), "40000")
        assert.isNull(first.headers.get("x-graviton-blob-key"))
        assert.isNotNull(first.headers.get("upload-expires"))
        const stale = yield* patch(base, location, 0, bytes.subarray(0, 10))
        assert.strictEqual(stale.status, 409)
        assert.strictEqual(errorOf(stale), "offset_mismatch")
        assert.strictEqual(stale.headers.get("upload-offset"), "40000")
        const wrongType = yield* patch(base, location, 40_000, bytes.subarray(40_000), {
          "content-type": "application/octet-stream"
        })
        assert.strictEqual(wrongType.status, 415)
        const noOffset = yield* fetchAll(`${base}${location}`, {
          method: "PATCH",
          body: bytes.subarray(40_000),
          headers: { ...TUS, "content-type": "application/offset+octet-stream" }
        })
        assert.strictEqual(noOffset.status, 400)
        const tooLong = yield* patch(base, location, 40_000, randomBytes(60_001, 1))
        assert.strictEqual(tooLong.status, 413)
        assert.strictEqual((yield* head(base, location)).headers.get("upload-offset"), "40000")
        const last = yield* patch(base, location, 40_000, bytes.subarray(40_000))
        assert.strictEqual(last.status, 204)
        assert.strictEqual(last.headers.get("upload-offset"), "100000")
        const key = last.headers.get("x-graviton-blob-key")
        assert.strictEqual(key, keyOf(bytes))
        const h = yield* head(base, location)
        assert.strictEqual(h.headers.get("x-graviton-blob-key"), key)
        assert.strictEqual(h.headers.get("upload-offset"), "100000")
        const blob = yield* fetchAll(`${base}/api/v1/blobs/${key}`)
        assert.strictEqual(blob.status, 200)
        assert.deepStrictEqual(blob.body, bytes)
        assert.strictEqual(blob.headers.get("content-type"), "application/x-thing")
        const status = yield* fetchAll(`${base}${location}`)
        assert.strictEqual(status.status, 200)
        assert.strictEqual((status.json as { state: string; blobKey: string }).blobKey, key)
        assert.strictEqual((status.json as { state: string }).state, "committed")
        const afterDone = yield* patch(base, location, 100_000, randomBytes(5, 2))
        assert.strictEqual(afterDone.status, 409)
      })
    )

    it.effect(
      "checksum: a wrong sha256 answers 460 and keeps the offset; a right one is accepted; other algorithms 400",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const bytes = randomBytes(5000, 32)
          const location = (yield* create(base, { "upload-length": "5000" })).headers.get("location")!
          const bad = yield* patch(base, location, 0, bytes.subarray(0, 3000), {
            "upload-checksum": `sha256 ${sha256b64(randomBytes(3000, 99))}`
          })
          assert.strictEqual(bad.status, 460)
          assert.strictEqual(errorOf(bad), "checksum_mismatch")
          assert.strictEqual((yield* head(base, location)).headers.get("upload-offset"), "0")
          const md5 = yield* patch(base, location, 0, bytes.subarray(0, 3000), { "upload-checksum": "md5 AAAA" })
          assert.strictEqual(md5.status, 400)
          const good = yield* patch(base, location, 0, bytes.subarray(0, 3000), {
            "upload-checksum": `sha256 ${sha256b64(bytes.subarray(0, 3000))}`
          })
          assert.strictEqual(good.status, 204)
          assert.strictEqual(good.headers.get("upload-offset"), "3000")
        })
    )

    it.effect(
      "deferred length: Upload-Defer-Length, then Upload-Length on a PATCH; a 0-length upload commits at creation",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const bytes = randomBytes(20_000, 33)
          const created = yield* create(base, { "upload-defer-length": "1" })
          assert.strictEqual(created.status, 201)
          const location = created.headers.get("location")!
          const h0 = yield* head(base, location)
          assert.strictEqual(h0.headers.get("upload-defer-length"), "1")
          assert.isNull(h0.headers.get("upload-length"))
          assert.strictEqual((yield* patch(base, location, 0, bytes.subarray(0, 7000))).status, 204)
          const last = yield* patch(base, location, 7000, bytes.subarray(7000), { "upload-length": "20000" })
          assert.strictEqual(last.status, 204)
          assert.strictEqual(last.headers.get("x-graviton-blob-key"), keyOf(bytes))
          const empty = yield* create(base, { "upload-length": "0" })
          assert.strictEqual(empty.status, 201)
          assert.strictEqual(empty.headers.get("x-graviton-blob-key"), keyOf(new Uint8Array(0)))
        })
    )

    it.effect("termination: DELETE → 204, then the upload is gone (404)", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const location = (yield* create(base, { "upload-length": "100" })).headers.get("location")!
        yield* patch(base, location, 0, randomBytes(50, 1))
        const del = yield* fetchAll(`${base}${location}`, { method: "DELETE", headers: TUS })
        assert.strictEqual(del.status, 204)
        assert.strictEqual((yield* head(base, location)).status, 404)
        assert.strictEqual((yield* patch(base, location, 50, randomBytes(50, 2))).status, 404)
        assert.strictEqual((yield* fetchAll(`${base}${location}`, { method: "DELETE", headers: TUS })).status, 404)
        assert.strictEqual((yield* head(base, "/api/v1/uploads/not-an-id")).status, 404)
      })
    )

    it.effect("GET /api/v1/uploads lists sessions", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const location = (yield* create(base, { "upload-length": "3" })).headers.get("location")!
        const id = location.split("/").pop()!
        const res = yield* fetchAll(`${base}/api/v1/uploads?limit=1000`)
        assert.strictEqual(res.status, 200)
        const ids = (res.json as { uploads: Array<{ id: string; offset: number; length: number }> }).uploads.map(
          (u) => u.id
        )
        assert.include(ids, id)
      })
    )

    it.effect("tus-js-client (unmodified, from npm) uploads a blob", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const bytes = randomBytes(700_000, 34)
        const done = yield* runTusClient(bytes, { endpoint: `${base}/api/v1/uploads` })
        assert.isTrue(done.finished)
        assert.strictEqual(done.blobKey, keyOf(bytes))
        const blob = yield* fetchAll(`${base}/api/v1/blobs/${keyOf(bytes)}`)
        assert.deepStrictEqual(blob.body, bytes)
        assert.strictEqual(blob.headers.get("content-type"), "application/x-test")
      })
    )

    it.effect(
      "tus-js-client: interrupted mid-way, a second client resumes from the server's offset and completes",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const bytes = randomBytes(2 * 1024 * 1024 + 12_345, 35)
          const first = yield* runTusClient(bytes, { endpoint: `${base}/api/v1/uploads`, stopAfter: 700_000 })
          assert.isFalse(first.finished)
          const location = new URL(first.url).pathname
          const offset = Number((yield* head(base, location)).headers.get("upload-offset"))
          assert.isAbove(offset, 0)
          assert.isBelow(offset, bytes.byteLength)
          assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${keyOf(bytes)}`, { method: "HEAD" })).status, 404)
          const observed = { patchOffsets: [] as Array<number> }
          const second = yield* runTusClient(bytes, { uploadUrl: first.url }, observed)
          assert.isTrue(second.finished)
          assert.strictEqual(observed.patchOffsets[0], offset, "the resumed client starts at the server's offset")
          assert.strictEqual(second.blobKey, keyOf(bytes))
          const blob = yield* fetchAll(`${base}/api/v1/blobs/${keyOf(bytes)}`)
          assert.deepStrictEqual(blob.body, bytes)
        })
    )
  })

  layer(serverLayer(), { excludeTestServices: true })("interrupted PATCH", (it) => {
    it.effect("a PATCH cut mid-body keeps the bytes received; tus-js-client (one PATCH) resumes from there", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const bytes = randomBytes(3 * 1024 * 1024, 36)
        const location = (yield* create(base, { "upload-length": String(bytes.byteLength) })).headers.get("location")!
        // send the headers and 1 MiB of the 3 MiB body, then drop the connection
        yield* Effect.callback<void>((resume) => {
          const socket = connect(portOf(base), "127.0.0.1", () => {
            socket.write(
              `PATCH ${location} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
                "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n" +
                `Content-Length: ${bytes.byteLength}\r\n\r\n`
            )
            socket.write(bytes.subarray(0, 1024 * 1024), () => setTimeout(() => socket.destroy(), 200))
          })
          socket.on("error", () => undefined)
          socket.on("close", () => resume(Effect.void))
        })
        let offset = 0
        for (let i = 0; i < 50 && offset === 0; i++) {
          yield* Effect.sleep("100 millis")
          offset = Number((yield* head(base, location)).headers.get("upload-offset"))
        }
        assert.isAbove(offset, 0)
        assert.isAtMost(offset, 1024 * 1024)
        const observed = { patchOffsets: [] as Array<number> }
        const done = yield* runTusClient(
          bytes,
          { uploadUrl: `${base}${location}`, chunkSize: Number.POSITIVE_INFINITY },
          observed
        )
        assert.isTrue(done.finished)
        assert.deepStrictEqual(observed.patchOffsets, [offset])
        assert.strictEqual(done.blobKey, keyOf(bytes))
        assert.deepStrictEqual((yield* fetchAll(`${base}/api/v1/blobs/${keyOf(bytes)}`)).body, bytes)
      })
    )
  })

  layer(serverLayer({}, { uploadTtl: Duration.millis(300) }), { excludeTestServices: true })("expiration", (it) => {
    it.effect("an upload past Upload-Expires answers 404", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* create(base, { "upload-length": "10" })
        const location = res.headers.get("location")!
        const expires = Date.parse(res.headers.get("upload-expires")!)
        assert.isAtMost(expires - Date.now(), 1300)
        yield* Effect.sleep("1200 millis")
        assert.strictEqual((yield* head(base, location)).status, 404)
        assert.strictEqual((yield* patch(base, location, 0, randomBytes(10, 1))).status, 404)
      })
    )
  })
})
