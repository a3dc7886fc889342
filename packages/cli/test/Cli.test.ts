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

describe("graviton CLI against a server (--url)", () => {
  let server: ChildProcess
  let url = ""
  beforeAll(async () => {
    server = spawn(
      process.execPath,
      ["--conditions=@graviton/source", main, "serve", "--port", "0", "--backend", "memory"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    url = await new Promise<string>((resolve, reject) => {
      let out = ""
      server.stdout!.on("data", (d: Buffer) => {
        out += d.toString()
        const m = /on (http:\/\/[^\s]+)/.exec(out)
        if (m !== null) resolve(m[1]!)
      })
      server.once("exit", (code) => reject(new Error(`server exited with ${code}`)))
      setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000)
    })
  }, 60_000)
  afterAll(() => {
    server?.kill("SIGINT")
  })

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
    assert.strictEqual(graviton(["--url", url, "gc"]).code, 3)
  }, 120_000)
})
