import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graviton-cli-"))
const env = { ...process.env, GRAVITON_DATA_DIR: path.join(dir, "store"), GRAVITON_BACKEND: "level" }

interface Run {
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: string
}

const graviton = (args: ReadonlyArray<string>, input?: Uint8Array, extraEnv: Record<string, string> = {}): Run => {
  const r = spawnSync(process.execPath, ["--conditions=@graviton/source", main, ...args], {
    env: { ...env, ...extraEnv },
    input,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() }
}
const text = (r: Run) => r.stdout.toString().trim()
const json = (r: Run) => JSON.parse(r.stdout.toString()) as Record<string, unknown>

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("graviton CLI (real entry point, embedded store)", () => {
  const content = randomBytes(700_000)
  const file = path.join(dir, "input.bin")
  fs.writeFileSync(file, content)
  const key = BinaryKey.format(BinaryKey.ofBytes(content))

  it("put prints the key; put --json prints the write result with dedup counts", () => {
    const first = graviton(["put", file])
    assert.strictEqual(first.code, 0, first.stderr)
    assert.strictEqual(text(first), key)
    const again = graviton(["put", file, "--json"])
    assert.strictEqual(again.code, 0, again.stderr)
    const r = json(again)
    assert.deepStrictEqual(Object.keys(r).sort(), [
      "blockCount",
      "duplicateBlocks",
      "duplicateBytes",
      "freshBlocks",
      "freshBytes",
      "key",
      "size"
    ])
    assert.strictEqual(r.key, key)
    assert.strictEqual(r.size, content.byteLength)
    assert.strictEqual(r.freshBlocks, 0)
    assert.strictEqual(r.duplicateBlocks, r.blockCount)
    assert.strictEqual(r.duplicateBytes, content.byteLength)
  }, 120_000)

  it("put - reads stdin; get - writes stdout; get -o writes a file; --range slices", () => {
    const piped = randomBytes(50_000)
    const put = graviton(["put", "-"], piped)
    assert.strictEqual(put.code, 0, put.stderr)
    const k = text(put)
    assert.strictEqual(k, BinaryKey.format(BinaryKey.ofBytes(piped)))
    const out = graviton(["get", k])
    assert.strictEqual(out.code, 0, out.stderr)
    assert.isTrue(out.stdout.equals(piped))
    const target = path.join(dir, "out.bin")
    assert.strictEqual(graviton(["get", key, "-o", target]).code, 0)
    assert.isTrue(fs.readFileSync(target).equals(content))
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      []
    )
    const range = graviton(["get", key, "--range", "10-19"])
    assert.isTrue(range.stdout.equals(content.subarray(10, 20)))
    const suffix = graviton(["get", key, "--range", "-5"])
    assert.isTrue(suffix.stdout.equals(content.subarray(content.byteLength - 5)))
  }, 120_000)

  it("stat, ls and verify describe the blob, in text and JSON", () => {
    const stat = graviton(["stat", key, "--json"])
    assert.strictEqual(stat.code, 0, stat.stderr)
    const s = json(stat)
    assert.strictEqual(s.key, key)
    assert.strictEqual(s.size, content.byteLength)
    assert.strictEqual((s.attributes as Record<string, string>).filename, "input.bin")
    const ls = json(graviton(["ls", "--json", "--all"]))
    assert.isTrue((ls.items as Array<{ key: string }>).some((i) => i.key === key))
    assert.include(text(graviton(["ls"])), key)
    const verify = graviton(["verify", key, "--json"])
    assert.strictEqual(verify.code, 0)
    assert.strictEqual(json(verify).ok, true)
  }, 120_000)

  it("exit codes: 1 for usage errors, 2 for absent blobs", () => {
    assert.strictEqual(graviton(["frobnicate"]).code, 1)
    assert.strictEqual(graviton(["get"]).code, 1)
    const badKey = graviton(["stat", "sha-256:xyz:1"])
    assert.strictEqual(badKey.code, 1)
    assert.include(badKey.stderr, "invalid key")
    const absent = BinaryKey.format(BinaryKey.ofBytes(randomBytes(8)))
    const missing = graviton(["stat", absent])
    assert.strictEqual(missing.code, 2)
    assert.strictEqual(graviton(["get", absent]).code, 2)
    assert.strictEqual(graviton(["rm", absent]).code, 2)
    const jsonErr = graviton(["stat", absent, "--json"])
    assert.deepStrictEqual(Object.keys(JSON.parse(jsonErr.stderr)), ["error", "message"])
    assert.strictEqual(graviton(["get", key, "--range", "9999999-"]).code, 1)
    assert.strictEqual(graviton(["put", path.join(dir, "does-not-exist")]).code, 3)
    assert.strictEqual(graviton(["--help"]).code, 0)
  }, 120_000)

  it("rm then gc reclaims the blocks; gc is a dry run without --apply", () => {
    assert.strictEqual(graviton(["rm", key]).code, 0)
    assert.strictEqual(graviton(["stat", key]).code, 2)
    const dry = json(graviton(["gc", "--min-age", "0", "--json"]))
    assert.deepStrictEqual(Object.keys(dry), gcReportKeys)
    assert.strictEqual(dry.dryRun, true)
    assert.isAbove(dry.candidates as number, 0)
    assert.strictEqual(dry.deleted, 0)
    const applied = json(graviton(["gc", "--min-age", "0", "--apply", "--json"]))
    assert.strictEqual(applied.deleted, dry.candidates)
    const uploads = graviton(["uploads", "ls", "--json"])
    assert.strictEqual(uploads.code, 0, uploads.stderr)
    assert.deepStrictEqual(json(uploads).items, [])
    assert.strictEqual(graviton(["uploads", "rm", "nope"]).code, 2)
  }, 120_000)
})

interface Served {
  readonly process: ChildProcess
  readonly url: string
  /** Interrupts the server (graceful shutdown) and waits for it to exit. */
  readonly stop: () => Promise<void>
}

/** Spawns `graviton serve --port 0 …` and waits for the URL it prints. */
const serve = async (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}): Promise<Served> => {
  const child = spawn(process.execPath, ["--conditions=@graviton/source", main, "serve", "--port", "0", ...args], {
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
    setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000)
  })
  return {
    process: child,
    url,
    stop: () => {
      child.kill("SIGINT")
      return exited
    }
  }
}

/** Creates a tus upload session of `length` bytes on the server; returns its id. */
const createUpload = async (url: string, length: number, filename: string, token?: string): Promise<string> => {
  const res = await fetch(`${url}/api/v1/uploads`, {
    method: "POST",
    headers: {
      "tus-resumable": "1.0.0",
      "upload-length": String(length),
      "upload-metadata": `filename ${Buffer.from(filename).toString("base64")}`,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
    }
  })
  assert.strictEqual(res.status, 201, await res.text())
  const location = res.headers.get("location")!
  return location.slice(location.lastIndexOf("/") + 1)
}

/** The keys of `gc --json`, in order. */
const gcReportKeys = [
  "dryRun",
  "scanned",
  "referenced",
  "candidates",
  "candidateBytes",
  "deleted",
  "deletedBytes",
  "skipped",
  "tooYoung",
  "cutoff",
  "durationMs"
]

/** The keys of each item of `uploads ls --json`, in order. */
const uploadItemKeys = ["id", "state", "length", "createdAt", "expiresAt", "metadata"]

describe("graviton CLI against a server (--url)", () => {
  let server: Served | undefined
  let url = ""
  beforeAll(async () => {
    server = await serve(["--backend", "memory"])
    url = server.url
  }, 60_000)
  afterAll(() => server?.stop())

  it("put, get, stat, ls, verify and rm work through the HTTP API", () => {
    const bytes = randomBytes(300_000)
    const file = path.join(dir, "remote.bin")
    fs.writeFileSync(file, bytes)
    const put = graviton(["--url", url, "put", file, "--json"])
    assert.strictEqual(put.code, 0, put.stderr)
    const k = json(put).key as string
    assert.strictEqual(k, BinaryKey.format(BinaryKey.ofBytes(bytes)))
    const got = graviton(["--url", url, "get", k])
    assert.isTrue(got.stdout.equals(bytes))
    assert.strictEqual(json(graviton(["--url", url, "stat", k, "--json"])).size, bytes.byteLength)
    assert.include(text(graviton(["--url", url, "ls"])), k)
    assert.strictEqual(json(graviton(["--url", url, "verify", k, "--json"])).ok, true)
    assert.strictEqual(graviton(["--url", url, "rm", k]).code, 0)
    assert.strictEqual(graviton(["--url", url, "stat", k]).code, 2)
  }, 120_000)

  it("gc is a dry run without --apply and deletes the blocks of removed blobs with it", () => {
    const bytes = randomBytes(400_000)
    const file = path.join(dir, "remote-gc.bin")
    fs.writeFileSync(file, bytes)
    const put = graviton(["--url", url, "put", file])
    assert.strictEqual(put.code, 0, put.stderr)
    assert.strictEqual(graviton(["--url", url, "rm", text(put)]).code, 0)
    const young = graviton(["--url", url, "gc", "--json"])
    assert.strictEqual(young.code, 0, young.stderr)
    assert.strictEqual(json(young).candidates, 0, "the default minimum age spares fresh blocks")
    const dry = json(graviton(["--url", url, "gc", "--min-age", "0", "--json"]))
    assert.deepStrictEqual(Object.keys(dry), gcReportKeys)
    assert.strictEqual(dry.dryRun, true)
    assert.isAbove(dry.candidates as number, 0)
    assert.strictEqual(dry.deleted, 0)
    const textual = graviton(["--url", url, "gc", "--min-age", "0"])
    assert.strictEqual(textual.code, 0, textual.stderr)
    assert.include(text(textual), "dry run")
    assert.include(text(textual), "run with --apply")
    const applied = json(graviton(["--url", url, "gc", "--min-age", "0", "--apply", "--json"]))
    assert.strictEqual(applied.dryRun, false)
    assert.strictEqual(applied.deleted, dry.candidates)
    assert.strictEqual(json(graviton(["--url", url, "gc", "--min-age", "0", "--json"])).candidates, 0)
  }, 120_000)

  it("uploads ls lists the server's sessions; uploads rm cancels one; an unknown id exits 2", async () => {
    const ids = [await createUpload(url, 10, "a.bin"), await createUpload(url, 20, "b.bin")]
    const ls = graviton(["--url", url, "uploads", "ls", "--json"])
    assert.strictEqual(ls.code, 0, ls.stderr)
    const items = json(ls).items as Array<Record<string, unknown>>
    assert.sameMembers(
      items.map((i) => i.id),
      ids
    )
    for (const item of items) assert.deepStrictEqual(Object.keys(item), uploadItemKeys)
    const a = items.find((i) => i.id === ids[0])!
    assert.strictEqual(a.state, "open")
    assert.strictEqual(a.length, 10)
    assert.deepStrictEqual(a.metadata, { filename: "a.bin" })
    assert.include(text(graviton(["--url", url, "uploads", "ls"])), ids[1]!)

    const rm = graviton(["--url", url, "uploads", "rm", ids[0]!, "--json"])
    assert.strictEqual(rm.code, 0, rm.stderr)
    assert.deepStrictEqual(json(rm), { id: ids[0], cancelled: true })
    assert.deepStrictEqual(
      (json(graviton(["--url", url, "uploads", "ls", "--json"])).items as Array<{ id: string }>).map((i) => i.id),
      [ids[1]]
    )
    const again = graviton(["--url", url, "uploads", "rm", ids[0]!])
    assert.strictEqual(again.code, 2)
    const unknown = graviton(["--url", url, "uploads", "rm", "no-such-upload", "--json"])
    assert.strictEqual(unknown.code, 2)
    assert.strictEqual(JSON.parse(unknown.stderr).error, "not_found")
    assert.strictEqual(graviton(["--url", url, "uploads", "rm", ids[1]!]).code, 0)
    assert.deepStrictEqual(json(graviton(["--url", url, "uploads", "ls", "--json"])).items, [])
  }, 120_000)
})

describe("graviton CLI: the same output locally and with --url", () => {
  const store = path.join(dir, "served")
  const tokens = { GRAVITON_AUTH_TOKENS: "admin-secret:admin;rw-secret:read,write,delete" }
  let server: Served

  afterAll(() => server?.process.kill("SIGINT"))

  it("gc --json and uploads ls --json print the same JSON over --url as on the store", async () => {
    server = await serve(["--backend", "level", "--data-dir", store], tokens)
    const remote = (args: ReadonlyArray<string>, token = "admin-secret") =>
      graviton(["--url", server.url, "--token", token, ...args])
    const bytes = randomBytes(300_000)
    const file = path.join(dir, "served.bin")
    fs.writeFileSync(file, bytes)
    const put = remote(["put", file])
    assert.strictEqual(put.code, 0, put.stderr)
    assert.strictEqual(remote(["rm", text(put)]).code, 0)
    const ids = [
      await createUpload(server.url, 10, "x.bin", "rw-secret"),
      await createUpload(server.url, 0, "empty.bin", "rw-secret")
    ]

    // admin only: a token without it is refused (exit 3, permission_denied)
    for (const args of [["gc"], ["uploads", "ls"], ["uploads", "rm", ids[0]!]]) {
      const denied = remote([...args, "--json"], "rw-secret")
      assert.strictEqual(denied.code, 3, args.join(" "))
      assert.strictEqual(JSON.parse(denied.stderr).error, "permission_denied")
    }

    const remoteUploads = remote(["uploads", "ls", "--json"])
    assert.strictEqual(remoteUploads.code, 0, remoteUploads.stderr)
    const remoteGc = remote(["gc", "--min-age", "0", "--json"])
    assert.strictEqual(remoteGc.code, 0, remoteGc.stderr)
    await server.stop()

    const localUploads = graviton(["--data-dir", store, "--backend", "level", "uploads", "ls", "--json"])
    assert.strictEqual(localUploads.code, 0, localUploads.stderr)
    assert.strictEqual(remoteUploads.stdout.toString(), localUploads.stdout.toString())
    const items = json(localUploads).items as Array<Record<string, unknown>>
    assert.sameMembers(
      items.map((i) => i.id),
      ids
    )
    assert.strictEqual(items.find((i) => i.id === ids[1])?.state, "committed")

    const localGc = graviton(["--data-dir", store, "--backend", "level", "gc", "--min-age", "0", "--json"])
    assert.strictEqual(localGc.code, 0, localGc.stderr)
    const [r, l] = [json(remoteGc), json(localGc)]
    assert.deepStrictEqual(Object.keys(r), Object.keys(l))
    assert.deepStrictEqual(Object.keys(r), gcReportKeys)
    const { cutoff: _rc, durationMs: _rd, ...rSame } = r
    const { cutoff: _lc, durationMs: _ld, ...lSame } = l
    assert.deepStrictEqual(rSame, lSame)
    assert.isAbove(l.candidates as number, 0)
  }, 180_000)
})
