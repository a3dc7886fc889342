import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Auth } from "../src/index.ts"
import { baseUrl, createUpload, type Fetched, fetchAll, randomBytes, serverLayer } from "./support.ts"

const ADMIN = "/api/v1/admin"

interface GcReport {
  readonly dryRun: boolean
  readonly scanned: number
  readonly referenced: number
  readonly candidates: number
  readonly candidateBytes: number
  readonly deleted: number
  readonly deletedBytes: number
  readonly skipped: number
  readonly tooYoung: number
  readonly cutoff: number
  readonly durationMs: number
}

interface Session {
  readonly id: string
  readonly tenant: string
  readonly state: string
  readonly length?: number
  readonly metadata: Record<string, string>
  readonly createdAt: number
  readonly expiresAt: number
}

interface SessionPage {
  readonly sessions: ReadonlyArray<Session>
  readonly cursor?: string
}

const gc = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetchAll(`${base}${ADMIN}/gc`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

const errorCode = (res: Fetched) => (res.json as { error: string }).error

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe("admin endpoints", () => {
  layer(serverLayer(), { excludeTestServices: true })("without auth", (it) => {
    it.effect("gc: a dry run reports unreferenced blocks, apply deletes them, referenced blobs survive", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const doomed = randomBytes(400_000, 71)
        const kept = randomBytes(200_000, 72)
        const up = yield* fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: doomed })
        assert.strictEqual(up.status, 201)
        const doomedKey = (up.json as { key: string }).key
        const keptUp = yield* fetchAll(`${base}/api/v1/blobs`, { method: "POST", body: kept })
        const keptKey = (keptUp.json as { key: string }).key
        assert.strictEqual((yield* fetchAll(`${base}/api/v1/blobs/${doomedKey}`, { method: "DELETE" })).status, 204)

        // default minimum age (1 hour): the fresh blocks are too young
        const young = yield* gc(base, {})
        assert.strictEqual(young.status, 200, young.text)
        const youngReport = young.json as GcReport
        assert.isTrue(youngReport.dryRun)
        assert.strictEqual(youngReport.candidates, 0)
        assert.isAbove(youngReport.tooYoung, 0)

        const dry = yield* gc(base, { minAgeMillis: 0 })
        assert.strictEqual(dry.status, 200, dry.text)
        assert.match(dry.headers.get("content-type") ?? "", /application\/json/)
        const dryReport = dry.json as GcReport
        assert.deepStrictEqual(Object.keys(dryReport).sort(), [
          "candidateBytes",
          "candidates",
          "cutoff",
          "deleted",
          "deletedBytes",
          "dryRun",
          "durationMs",
          "referenced",
          "scanned",
          "skipped",
          "tooYoung"
        ])
        assert.isTrue(dryReport.dryRun)
        assert.isAbove(dryReport.candidates, 0)
        assert.isAbove(dryReport.candidateBytes, 0)
        assert.strictEqual(dryReport.deleted, 0)
        assert.isAbove(dryReport.referenced, 0)

        // a dry run deleted nothing: the same candidates are still there
        const again = (yield* gc(base, { apply: false, minAgeMillis: 0 })).json as GcReport
        assert.strictEqual(again.candidates, dryReport.candidates)

        const applied = yield* gc(base, { apply: true, minAgeMillis: 0 })
        assert.strictEqual(applied.status, 200, applied.text)
        const appliedReport = applied.json as GcReport
        assert.isFalse(appliedReport.dryRun)
        assert.isAbove(appliedReport.deleted, 0)
        assert.strictEqual(appliedReport.deleted, dryReport.candidates)
        assert.strictEqual(appliedReport.deletedBytes, dryReport.candidateBytes)

        const after = (yield* gc(base, { minAgeMillis: 0 })).json as GcReport
        assert.strictEqual(after.candidates, 0)
        assert.strictEqual(after.scanned, dryReport.scanned - appliedReport.deleted)

        const verify = yield* fetchAll(`${base}/api/v1/blobs/${keptKey}/verify`, { method: "POST" })
        assert.strictEqual((verify.json as { ok: boolean }).ok, true)
        const got = yield* fetchAll(`${base}/api/v1/blobs/${keptKey}`)
        assert.deepStrictEqual(got.body, kept)
      })
    )

    it.effect("gc: no body at all is a dry run, like {}", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* fetchAll(`${base}${ADMIN}/gc`, { method: "POST" })
        assert.strictEqual(res.status, 200, res.text)
        const report = res.json as { dryRun: boolean; deleted: number }
        assert.strictEqual(report.dryRun, true)
        assert.strictEqual(report.deleted, 0)
      })
    )

    it.effect("gc: an invalid body answers 400 in the JSON error shape", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        for (const body of [{ minAgeMillis: -1 }, { apply: "yes" }, { minAgeMillis: "0" }]) {
          const res = yield* gc(base, body)
          assert.strictEqual(res.status, 400, JSON.stringify(body))
          assert.deepStrictEqual(Object.keys(res.json as object).sort(), ["error", "message"])
          assert.strictEqual(errorCode(res), "invalid_body")
        }
        const notJson = yield* fetchAll(`${base}${ADMIN}/gc`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{"
        })
        assert.strictEqual(notJson.status, 400)
        assert.deepStrictEqual(Object.keys(notJson.json as object).sort(), ["error", "message"])
      })
    )

    it.effect("uploads: pages of sessions follow the cursor; delete answers 204 then 404", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const ids = [yield* createUpload(base, 10), yield* createUpload(base, 20), yield* createUpload(base, 30)]

        const first = yield* fetchAll(`${base}${ADMIN}/uploads?limit=2`)
        assert.strictEqual(first.status, 200, first.text)
        const page1 = first.json as SessionPage
        assert.strictEqual(page1.sessions.length, 2)
        assert.isString(page1.cursor)
        const second = yield* fetchAll(`${base}${ADMIN}/uploads?limit=2&cursor=${encodeURIComponent(page1.cursor!)}`)
        assert.strictEqual(second.status, 200, second.text)
        const page2 = second.json as SessionPage
        const all = [...page1.sessions, ...page2.sessions]
        assert.sameMembers(
          all.map((s) => s.id),
          ids
        )
        assert.deepStrictEqual(
          all.map((s) => s.id),
          [...ids].sort(),
          "ordered by id"
        )
        const s = all.find((x) => x.id === ids[1])!
        assert.strictEqual(s.state, "open")
        assert.strictEqual(s.length, 20)
        assert.strictEqual(s.metadata.filename, "a.bin")
        assert.isAbove(s.expiresAt, s.createdAt)
        assert.isString(s.tenant)

        const whole = (yield* fetchAll(`${base}${ADMIN}/uploads`)).json as SessionPage
        assert.strictEqual(whole.sessions.length, 3)
        assert.isUndefined(whole.cursor)

        const del = yield* fetchAll(`${base}${ADMIN}/uploads/${ids[1]}`, { method: "DELETE" })
        assert.strictEqual(del.status, 204)
        assert.strictEqual(del.body.byteLength, 0)
        // the session is gone for tus too
        const head = yield* fetchAll(`${base}/api/v1/uploads/${ids[1]}`, {
          method: "HEAD",
          headers: { "tus-resumable": "1.0.0" }
        })
        assert.strictEqual(head.status, 404)
        const remaining = (yield* fetchAll(`${base}${ADMIN}/uploads`)).json as SessionPage
        assert.sameMembers(
          remaining.sessions.map((x) => x.id),
          [ids[0], ids[2]]
        )

        const again = yield* fetchAll(`${base}${ADMIN}/uploads/${ids[1]}`, { method: "DELETE" })
        assert.strictEqual(again.status, 404)
        assert.deepStrictEqual(again.json, { error: "not_found", message: "no such upload (or it expired)" })
        const unknown = yield* fetchAll(`${base}${ADMIN}/uploads/no-such-upload`, { method: "DELETE" })
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(errorCode(unknown), "not_found")
        // no Tus-Resumable needed: this is not the tus protocol
        for (const id of [ids[0], ids[2]]) {
          assert.strictEqual((yield* fetchAll(`${base}${ADMIN}/uploads/${id}`, { method: "DELETE" })).status, 204)
        }
      })
    )

    it.effect("uploads: an invalid limit answers 400 invalid_query", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        for (const limit of ["0", "1001", "abc"]) {
          const res = yield* fetchAll(`${base}${ADMIN}/uploads?limit=${limit}`)
          assert.strictEqual(res.status, 400, limit)
          assert.strictEqual(errorCode(res), "invalid_query")
        }
      })
    )

    it.effect("the OpenAPI document describes the admin endpoints", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const res = yield* fetchAll(`${base}/api/v1/openapi.json`)
        assert.strictEqual(res.status, 200)
        const doc = res.json as {
          paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>
          components: { schemas: Record<string, unknown> }
        }
        const gcOp = doc.paths[`${ADMIN}/gc`]?.post
        assert.isDefined(gcOp)
        assert.isDefined(gcOp?.requestBody)
        assert.property(gcOp?.responses, "200")
        const listOp = doc.paths[`${ADMIN}/uploads`]?.get
        assert.isDefined(listOp)
        assert.property(listOp?.responses, "200")
        const delOp = doc.paths[`${ADMIN}/uploads/{id}`]?.delete
        assert.isDefined(delOp)
        assert.property(delOp?.responses, "204")
        assert.property(delOp?.responses, "404")
        for (const name of ["GcRequest", "GcReport", "UploadSessionPage"]) assert.property(doc.components.schemas, name)
      })
    )
  })

  layer(
    serverLayer({
      tokens: Auth.make([
        ["reader-token", ["read"]],
        ["writer-token", ["write", "delete", "read"]],
        ["admin-token", ["admin"]]
      ])
    }),
    { excludeTestServices: true }
  )("with auth", (it) => {
    it.effect("every admin endpoint: 401 without a token, 403 without admin, success with admin", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const id = yield* createUpload(base, 5, bearer("writer-token"))
        const calls: ReadonlyArray<readonly [string, (h: Record<string, string>) => Effect.Effect<Fetched>]> = [
          ["gc", (h) => gc(base, { minAgeMillis: 0 }, h)],
          ["list", (h) => fetchAll(`${base}${ADMIN}/uploads`, { headers: h })],
          ["delete", (h) => fetchAll(`${base}${ADMIN}/uploads/${id}`, { method: "DELETE", headers: h })]
        ]
        for (const [name, call] of calls) {
          const none = yield* call({})
          assert.strictEqual(none.status, 401, name)
          assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/, name)
          assert.deepStrictEqual(none.json, { error: "unauthorized", message: "a valid bearer token is required" })
          const wrong = yield* call(bearer("guess-token"))
          assert.strictEqual(wrong.status, 401, name)
          for (const token of ["reader-token", "writer-token"]) {
            const denied = yield* call(bearer(token))
            assert.strictEqual(denied.status, 403, `${name} ${token}`)
            assert.strictEqual(errorCode(denied), "forbidden")
          }
        }
        // nothing was done by the denied calls: the session is still listed
        const listed = yield* fetchAll(`${base}${ADMIN}/uploads`, { headers: bearer("admin-token") })
        assert.strictEqual(listed.status, 200)
        assert.deepStrictEqual(
          (listed.json as SessionPage).sessions.map((s) => s.id),
          [id]
        )
        const report = yield* gc(base, { minAgeMillis: 0 }, bearer("admin-token"))
        assert.strictEqual(report.status, 200)
        assert.isTrue((report.json as GcReport).dryRun)
        const del = yield* fetchAll(`${base}${ADMIN}/uploads/${id}`, {
          method: "DELETE",
          headers: bearer("admin-token")
        })
        assert.strictEqual(del.status, 204)
        const gone = yield* fetchAll(`${base}${ADMIN}/uploads/${id}`, {
          method: "DELETE",
          headers: bearer("admin-token")
        })
        assert.strictEqual(gone.status, 404)
      })
    )
  })
})
