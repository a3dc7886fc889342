import { createHash } from "node:crypto"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ApiError, Auth, GravitonClient } from "../src/index.ts"
import { baseUrl, createUpload, randomBytes, serverLayer } from "./support.ts"

const keyOf = (bytes: Uint8Array) => `sha-256:${createHash("sha256").update(bytes).digest("hex")}:${bytes.byteLength}`

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** Runs `f` with clients for the server in context (one per token; `undefined` = no token). */
const withClients = <const T extends ReadonlyArray<string | undefined>, A, E>(
  tokens: T,
  f: (clients: { readonly [K in keyof T]: GravitonClient.GravitonClient }) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const base = yield* baseUrl
    const clients: Array<GravitonClient.GravitonClient> = []
    for (const token of tokens) {
      clients.push(yield* GravitonClient.make({ baseUrl: base, ...(token === undefined ? {} : { token }) }))
    }
    return yield* f(clients as unknown as { readonly [K in keyof T]: GravitonClient.GravitonClient })
  }).pipe(Effect.provide(NodeHttpClient.layerNodeHttp))

describe("GravitonClient", () => {
  layer(serverLayer(), { excludeTestServices: true })("against a server", (it) => {
    it.effect("uploads a stream (sized and chunked) and downloads it whole and by range", () =>
      withClients([undefined], ([c]) =>
        Effect.gen(function* () {
          const parts = [randomBytes(100_000, 51), randomBytes(150_000, 52), randomBytes(7, 53)]
          const all = concat(parts)
          const sized = yield* c.upload(Stream.fromIterable(parts), { size: all.byteLength, contentType: "text/x-a" })
          assert.strictEqual(BinaryKey.format(sized.key), keyOf(all))
          assert.isTrue(sized.created)
          const chunked = yield* c.upload(Stream.fromIterable(parts))
          assert.strictEqual(BinaryKey.format(chunked.key), keyOf(all))
          assert.isFalse(chunked.created)
          const whole = concat(yield* Stream.runCollect(c.download(sized.key)))
          assert.deepStrictEqual(whole, all)
          const part = concat(
            yield* Stream.runCollect(c.download(keyOf(all), { range: { start: 99_990, end: 100_020 } }))
          )
          assert.deepStrictEqual(part, all.subarray(99_990, 100_020))
          const opened = yield* c.open(sized.key, { range: { start: 10, end: 20 } })
          assert.strictEqual(opened.status, 206)
          assert.strictEqual(opened.size, all.byteLength)
          assert.deepStrictEqual(opened.span, { start: 10, end: 20 })
          assert.strictEqual(opened.contentType, "text/x-a")
          assert.deepStrictEqual(concat(yield* Stream.runCollect(opened.body)), all.subarray(10, 20))
        })
      )
    )

    it.effect("stat, list, manifest, verify and delete; typed errors carry the server's code", () =>
      withClients([undefined], ([c]) =>
        Effect.gen(function* () {
          const bytes = randomBytes(300_000, 54)
          const { key } = yield* c.uploadBytes(bytes, { contentType: "application/x-b" })
          const stat = yield* c.stat(key)
          assert.isTrue(Option.isSome(stat))
          if (Option.isSome(stat)) {
            assert.strictEqual(stat.value.size, bytes.byteLength)
            assert.strictEqual(stat.value.contentType, "application/x-b")
            assert.strictEqual(stat.value.etag, `"${BinaryKey.format(key)}"`)
          }
          const page = yield* c.list({ limit: 1000 })
          assert.isTrue(page.items.some((i) => BinaryKey.equals(i.key, key)))
          const manifest = yield* c.manifest(key, { limit: 1000 })
          assert.strictEqual(manifest.size, bytes.byteLength)
          assert.strictEqual(
            manifest.entries.reduce((n, e) => n + e.size, 0),
            bytes.byteLength
          )
          const report = yield* c.verify(key)
          assert.isTrue(report.ok)
          const viaApi = yield* c.api.blobs.verify({ params: { key: BinaryKey.format(key) } })
          assert.strictEqual(viaApi.bytesChecked, bytes.byteLength)
          assert.isTrue(yield* c.delete(key))
          assert.isFalse(yield* c.delete(key))
          assert.isTrue(Option.isNone(yield* c.stat(key)))
          const missing = yield* Effect.flip(c.verify(key))
          assert.instanceOf(missing, ApiError.NotFound)
          assert.strictEqual((missing as ApiError.NotFound).error, "not_found")
          const badKey = yield* Effect.flip(c.api.blobs.verify({ params: { key: "nope" } }))
          assert.instanceOf(badKey, ApiError.BadRequest)
          const downloadMissing = yield* Effect.flip(Stream.runCollect(c.download(key)))
          assert.instanceOf(downloadMissing, ApiError.NotFound)
          const other = randomBytes(1000, 55)
          const mismatch = yield* Effect.flip(
            c.upload(Stream.make(other), { size: other.byteLength, expectedKey: keyOf(randomBytes(1000, 56)) })
          )
          assert.instanceOf(mismatch, ApiError.Conflict)
          assert.strictEqual((mismatch as ApiError.Conflict).error, "expected_key_mismatch")
          const live = yield* c.api.live()
          assert.deepStrictEqual(live, { status: "ok" })
        })
      )
    )

    it.effect("a failing upload body fails the upload with the body's error", () =>
      withClients([undefined], ([c]) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(
            c.upload(Stream.concat(Stream.make(randomBytes(1000, 57)), Stream.fail("boom" as const)))
          )
          assert.strictEqual(error, "boom")
        })
      )
    )
  })

  layer(serverLayer(), { excludeTestServices: true })("admin", (it) => {
    it.effect("gc: a dry run by default, apply with minAge 0 deletes the blocks of a deleted blob", () =>
      withClients([undefined], ([c]) =>
        Effect.gen(function* () {
          const { key } = yield* c.uploadBytes(randomBytes(300_000, 61))
          assert.isTrue(yield* c.delete(key))
          const young = yield* c.gc()
          assert.isTrue(young.dryRun)
          assert.strictEqual(young.candidates, 0, "the server's default minimum age (1 hour) spares fresh blocks")
          assert.isAbove(young.tooYoung, 0)
          const dry = yield* c.gc({ minAge: 0 })
          assert.isTrue(dry.dryRun)
          assert.isAbove(dry.candidates, 0)
          assert.strictEqual(dry.deleted, 0)
          const applied = yield* c.gc({ apply: true, minAge: "0 millis" })
          assert.isFalse(applied.dryRun)
          assert.strictEqual(applied.deleted, dry.candidates)
          assert.isAbove(applied.deletedBytes, 0)
          assert.strictEqual((yield* c.gc({ minAge: Duration.zero })).candidates, 0)
          for (const minAge of [-5, Duration.infinity, "soon" as Duration.Input]) {
            const invalid = yield* Effect.flip(c.gc({ minAge }))
            assert.instanceOf(invalid, ApiError.BadRequest)
            assert.strictEqual((invalid as ApiError.BadRequest).error, "invalid_argument")
          }
        })
      )
    )

    it.effect("listUploads pages, allUploads follows the cursor, cancelUpload reports whether it existed", () =>
      Effect.flatMap(baseUrl, (base) =>
        withClients([undefined], ([c]) =>
          Effect.gen(function* () {
            const ids: Array<string> = []
            for (let i = 0; i < 5; i++) ids.push(yield* createUpload(base, 100 + i))
            const first = yield* c.listUploads({ limit: 2 })
            assert.strictEqual(first.sessions.length, 2)
            assert.isDefined(first.cursor)
            const second = yield* c.listUploads({ limit: 2, cursor: first.cursor })
            assert.strictEqual(second.sessions.length, 2)
            assert.notInclude(
              second.sessions.map((s) => s.id),
              first.sessions[0]!.id
            )
            const all = yield* c.allUploads
            assert.deepStrictEqual(
              all.map((s) => s.id),
              [...ids].sort()
            )
            const session = all.find((s) => s.id === ids[3])!
            assert.strictEqual(session.state, "open")
            assert.strictEqual(session.length, 103)
            assert.isTrue(yield* c.cancelUpload(ids[3]!))
            assert.isFalse(yield* c.cancelUpload(ids[3]!))
            assert.isFalse(yield* c.cancelUpload("no-such-upload"))
            assert.isFalse(yield* c.cancelUpload(".."))
            assert.sameMembers(
              (yield* c.allUploads).map((s) => s.id),
              ids.filter((id) => id !== ids[3])
            )
            // the typed client checks the query against the API's schema before sending it
            const badLimit = yield* Effect.flip(c.listUploads({ limit: 0 }))
            assert.strictEqual(badLimit._tag, "SchemaError")
          })
        )
      )
    )
  })

  layer(
    serverLayer({
      tokens: Auth.make([
        ["tok-w", ["write", "read", "delete"]],
        ["tok-admin", ["admin"]]
      ])
    }),
    { excludeTestServices: true }
  )("admin with auth", (it) => {
    it.effect("the admin helpers need an admin token (Unauthorized / Forbidden otherwise)", () =>
      Effect.flatMap(baseUrl, (base) =>
        withClients(["tok-admin", "tok-w", undefined], ([admin, writer, anonymous]) =>
          Effect.gen(function* () {
            const id = yield* createUpload(base, 10, { authorization: "Bearer tok-w" })
            assert.instanceOf(yield* Effect.flip(anonymous.gc()), ApiError.Unauthorized)
            assert.instanceOf(yield* Effect.flip(writer.gc()), ApiError.Forbidden)
            assert.instanceOf(yield* Effect.flip(writer.allUploads), ApiError.Forbidden)
            assert.instanceOf(yield* Effect.flip(writer.cancelUpload(id)), ApiError.Forbidden)
            assert.isTrue((yield* admin.gc()).dryRun)
            assert.deepStrictEqual(
              (yield* admin.allUploads).map((s) => s.id),
              [id]
            )
            assert.isTrue(yield* admin.cancelUpload(id))
          })
        )
      )
    )
  })

  layer(
    serverLayer({
      tokens: Auth.make([
        ["tok-r", ["read"]],
        ["tok-w", ["write", "read"]]
      ])
    }).pipe(Layer.fresh),
    { excludeTestServices: true }
  )("with auth", (it) => {
    it.effect("sends the bearer token; the server's 401/403 become Unauthorized/Forbidden", () =>
      withClients(["tok-w", "tok-r", undefined], ([writer, reader, anonymous]) =>
        Effect.gen(function* () {
          const { key } = yield* writer.uploadBytes(randomBytes(10, 58))
          const denied = yield* Effect.flip(reader.uploadBytes(randomBytes(10, 59)))
          assert.instanceOf(denied, ApiError.Forbidden)
          assert.isTrue(Option.isSome(yield* reader.stat(key)))
          const unauthorized = yield* Effect.flip(anonymous.list())
          assert.instanceOf(unauthorized, ApiError.Unauthorized)
        })
      )
    )
  })
})
