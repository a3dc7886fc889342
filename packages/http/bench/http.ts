/**
 * HTTP gateway benchmark (not a test): `npm run bench -w @graviton/http` or
 * `node --conditions=@graviton/source packages/http/bench/http.ts [--mib 256] [--seconds 3] [--clients 32] [--rounds 3]`.
 *
 * Starts `GravitonServer` on an ephemeral port over the in-memory `GravitonRuntime` and prints, in one run:
 * - upload and download MiB/s of a `--mib` random blob through HTTP next to the same runtime's `BlobStore` used
 *   directly (the engine), and their ratio (target >= 0.8), with two clients, each a process of its own (so neither
 *   shares the server's event loop): `curl` (a native client, as most downloaders and upload tools are; the target
 *   is judged on it when `curl` is on the PATH) and a Node `http` client (this file run with `client …`), which on
 *   a 2-core machine takes a large share of the CPU the server needs;
 * - 4 KiB PUT and GET requests/s with `--clients` concurrent keep-alive clients (child process), next to the
 *   engine doing the same puts/gets with the same concurrency.
 *
 * Engine and HTTP figures alternate over `--rounds` rounds and the medians are printed, so load from elsewhere on
 * the machine affects both sides alike. Every blob is fresh random data (no dedup advantage).
 */
import { execFile, execFileSync } from "node:child_process"
import { randomFillSync } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { BlobStore, GravitonRuntime } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { GravitonServer } from "../src/index.ts"

const MiB = 1024 * 1024
const SMALL = 4096

/** `pieces` fresh random 1 MiB buffers. */
const randomPieces = (mib: number): Array<Uint8Array> =>
  Array.from({ length: mib }, () => randomFillSync(new Uint8Array(MiB)))

// ---------------------------------------------------------------------------------------------------------------
// client side (child process)
// ---------------------------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 64 })

const send = (
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Iterable<Uint8Array> | undefined,
  onData?: (n: number) => void
) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (d: Buffer) => {
        if (onData !== undefined) onData(d.byteLength)
        else chunks.push(d)
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", reject)
    })
    req.on("error", reject)
    if (body === undefined) {
      req.end()
      return
    }
    ;(async () => {
      for (const chunk of body) {
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r))
      }
      req.end()
    })().catch(reject)
  })

const clientMain = async (args: ReadonlyArray<string>) => {
  const [mode, base, a, b] = args
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
  if (mode === "upload") {
    const mib = Number(a)
    const pieces = randomPieces(mib)
    const t0 = performance.now()
    const res = await send(
      `${base}/api/v1/blobs`,
      "POST",
      { "content-length": String(mib * MiB), "content-type": "application/octet-stream" },
      pieces
    )
    const s = (performance.now() - t0) / 1000
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.text}`)
    out({ key: JSON.parse(res.text).key, mibPerSecond: mib / s })
  } else if (mode === "download") {
    let n = 0
    const t0 = performance.now()
    const res = await send(`${base}/api/v1/blobs/${a}`, "GET", {}, undefined, (k) => {
      n += k
    })
    const s = (performance.now() - t0) / 1000
    if (res.status !== 200) throw new Error(`download answered ${res.status}`)
    out({ bytes: n, mibPerSecond: n / MiB / s })
  } else if (mode === "small") {
    const seconds = Number(a)
    const clients = Number(b)
    const keys: Array<string> = []
    const loop = async (op: "put" | "get", deadline: number) => {
      let count = 0
      while (performance.now() < deadline) {
        if (op === "put") {
          const body = randomFillSync(new Uint8Array(SMALL))
          const res = await send(`${base}/api/v1/blobs`, "POST", { "content-length": String(SMALL) }, [body])
          if (res.status !== 201) throw new Error(`PUT answered ${res.status}`)
          keys.push(JSON.parse(res.text).key)
        } else {
          const key = keys[count % keys.length]!
          const res = await send(`${base}/api/v1/blobs/${key}`, "GET", {}, undefined, () => undefined)
          if (res.status !== 200) throw new Error(`GET answered ${res.status}`)
        }
        count++
      }
      return count
    }
    const timed = async (op: "put" | "get") => {
      const t0 = performance.now()
      const deadline = t0 + seconds * 1000
      const counts = await Promise.all(Array.from({ length: clients }, () => loop(op, deadline)))
      return counts.reduce((x, y) => x + y, 0) / ((performance.now() - t0) / 1000)
    }
    await timed("put") // warm-up (connections, JIT)
    const put = await timed("put")
    const get = await timed("get")
    out({ putPerSecond: put, getPerSecond: get })
  } else {
    throw new Error(`unknown client mode ${mode}`)
  }
  agent.destroy()
}

// ---------------------------------------------------------------------------------------------------------------
// server side
// ---------------------------------------------------------------------------------------------------------------

export interface Options {
  /** Size of the large blob in MiB (default 256). */
  readonly mib?: number | undefined
  /** Seconds per small-request figure (default 3). */
  readonly seconds?: number | undefined
  /** Concurrent clients for the small-request figures (default 32). */
  readonly clients?: number | undefined
  /** Interleaved engine/HTTP rounds; medians are reported (default 3). */
  readonly rounds?: number | undefined
}

export interface Figures {
  readonly engineUploadMiBs: number
  /** Node `http` client. */
  readonly httpUploadMiBs: number
  /** `curl` client (undefined when `curl` is not on the PATH). */
  readonly curlUploadMiBs: number | undefined
  readonly engineDownloadMiBs: number
  readonly httpDownloadMiBs: number
  readonly curlDownloadMiBs: number | undefined
  readonly enginePutPerSecond: number
  readonly httpPutPerSecond: number
  readonly engineGetPerSecond: number
  readonly httpGetPerSecond: number
}

const runChild = async (args: ReadonlyArray<string>): Promise<Record<string, unknown>> => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=@graviton/source", import.meta.filename, "client", ...args],
    { maxBuffer: 16 * MiB }
  )
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>
}

/** Whether `curl` can be run. */
const curlAvailable = (): boolean => {
  try {
    execFileSync("curl", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/**
 * One transfer by `curl`; returns its body and MiB/s over `bytes`, timed by curl itself (`time_total`: from the
 * connection to the last byte), so the process start is not counted — as for the Node client, which times itself.
 */
const curl = async (
  args: ReadonlyArray<string>,
  bytes: number,
  expected: number
): Promise<{ readonly body: string; readonly mibPerSecond: number }> => {
  const { stdout } = await promisify(execFile)("curl", ["-sS", "-w", "\n%{http_code} %{time_total}", ...args], {
    maxBuffer: 16 * MiB
  })
  const lines = stdout.split("\n")
  const [status, seconds] = lines.pop()!.split(" ")
  if (Number(status) !== expected) throw new Error(`curl ${args.join(" ")} answered ${status}: ${lines.join("\n")}`)
  return { body: lines.join("\n"), mibPerSecond: bytes / MiB / Number(seconds) }
}

/** Runs every figure once and returns them (also printed as a table by {@link main}). */
export const run = async (options: Options = {}): Promise<Figures> => {
  const mib = options.mib ?? 256
  const seconds = options.seconds ?? 3
  const clients = options.clients ?? 32
  const rounds = options.rounds ?? 3
  const layer = GravitonServer.layer({ port: 0 }).pipe(Layer.provideMerge(GravitonRuntime.layerMemory()))
  const rt = ManagedRuntime.make(layer)
  const withCurl = curlAvailable()
  const scratch = mkdtempSync(join(tmpdir(), "graviton-http-bench-"))
  try {
    const base = await rt.runPromise(GravitonServer.url)
    const blobs = await rt.runPromise(
      Effect.gen(function* () {
        return yield* BlobStore.BlobStore
      })
    )
    const put = (pieces: ReadonlyArray<Uint8Array>) => rt.runPromise(blobs.put(Stream.fromIterable(pieces)))
    const t = async <A>(f: () => Promise<A>) => {
      const t0 = performance.now()
      const a = await f()
      return { a, s: (performance.now() - t0) / 1000 }
    }

    await put(randomPieces(32)) // warm-up
    // Rounds interleave engine and HTTP so that load from elsewhere on the machine hits both alike; medians reported.
    const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const m = {
      engineUp: [] as Array<number>,
      httpUp: [] as Array<number>,
      engineDown: [] as Array<number>,
      httpDown: [] as Array<number>,
      curlUp: [] as Array<number>,
      curlDown: [] as Array<number>,
      enginePut: [] as Array<number>,
      engineGet: [] as Array<number>,
      httpPut: [] as Array<number>,
      httpGet: [] as Array<number>
    }
    // small blobs through the engine: `clients` concurrent loops, like the HTTP figure
    const smallEngine = async (op: "put" | "get", keys: Array<BlobStore.BlobWriteResult["key"]>) => {
      const deadline = performance.now() + seconds * 1000
      const loop = async () => {
        let count = 0
        while (performance.now() < deadline) {
          if (op === "put") {
            const body = randomFillSync(new Uint8Array(SMALL))
            keys.push((await rt.runPromise(blobs.put(Stream.make(body), { expectedSize: SMALL }))).key)
          } else {
            await rt.runPromise(Stream.runDrain(blobs.get(keys[count % keys.length]!)))
          }
          count++
        }
        return count
      }
      const t0 = performance.now()
      const counts = await Promise.all(Array.from({ length: clients }, loop))
      return counts.reduce((x, y) => x + y, 0) / ((performance.now() - t0) / 1000)
    }
    const keys: Array<BlobStore.BlobWriteResult["key"]> = []
    await smallEngine("put", keys) // warm-up
    for (let round = 0; round < rounds; round++) {
      const enginePieces = randomPieces(mib)
      const engineUp = await t(() => put(enginePieces))
      m.engineUp.push(mib / engineUp.s)
      const httpUp = await runChild(["upload", base, String(mib)])
      m.httpUp.push(Number(httpUp.mibPerSecond))
      const engineDown = await t(() =>
        rt.runPromise(
          Stream.runFold(
            blobs.get(engineUp.a.key),
            () => 0,
            (n, b: Uint8Array) => n + b.byteLength
          )
        )
      )
      m.engineDown.push(engineDown.a / MiB / engineDown.s)
      const httpDown = await runChild(["download", base, String(httpUp.key)])
      m.httpDown.push(Number(httpDown.mibPerSecond))
      if (withCurl) {
        // a file of fresh random bytes (a repeated body would be deduplicated), written before the timed upload
        const file = join(scratch, `upload-${round}`)
        // written back to disk before the timed upload, so the kernel is not flushing it meanwhile
        writeFileSync(file, Buffer.concat(randomPieces(mib)), { flush: true })
        const up = await curl(
          ["-X", "POST", "-T", file, "-H", "content-type: application/octet-stream", `${base}/api/v1/blobs`],
          mib * MiB,
          201
        )
        rmSync(file)
        m.curlUp.push(up.mibPerSecond)
        const key = String((JSON.parse(up.body) as { key: string }).key)
        m.curlDown.push((await curl(["-o", "/dev/null", `${base}/api/v1/blobs/${key}`], mib * MiB, 200)).mibPerSecond)
      }
      m.enginePut.push(await smallEngine("put", keys))
      m.engineGet.push(await smallEngine("get", keys))
      const httpSmall = await runChild(["small", base, String(seconds), String(clients)])
      m.httpPut.push(Number(httpSmall.putPerSecond))
      m.httpGet.push(Number(httpSmall.getPerSecond))
    }

    return {
      engineUploadMiBs: median(m.engineUp),
      httpUploadMiBs: median(m.httpUp),
      engineDownloadMiBs: median(m.engineDown),
      httpDownloadMiBs: median(m.httpDown),
      curlUploadMiBs: withCurl ? median(m.curlUp) : undefined,
      curlDownloadMiBs: withCurl ? median(m.curlDown) : undefined,
      enginePutPerSecond: median(m.enginePut),
      httpPutPerSecond: median(m.httpPut),
      engineGetPerSecond: median(m.engineGet),
      httpGetPerSecond: median(m.httpGet)
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
    await rt.dispose()
  }
}

const format = (f: Figures, mib: number, clients: number): string => {
  const ratio = (a: number | undefined, b: number) => (a === undefined ? "-" : (a / b).toFixed(2))
  const fixed = (a: number | undefined) => (a === undefined ? "no curl" : a.toFixed(0))
  const rows: Array<[string, string, string, string, string]> = [
    ["figure", "HTTP", "engine", "ratio", "target"],
    [
      `upload ${mib} MiB, curl (MiB/s)`,
      fixed(f.curlUploadMiBs),
      f.engineUploadMiBs.toFixed(0),
      ratio(f.curlUploadMiBs, f.engineUploadMiBs),
      ">= 0.80"
    ],
    [
      `download ${mib} MiB, curl (MiB/s)`,
      fixed(f.curlDownloadMiBs),
      f.engineDownloadMiBs.toFixed(0),
      ratio(f.curlDownloadMiBs, f.engineDownloadMiBs),
      ">= 0.80"
    ],
    [
      `upload ${mib} MiB, Node client (MiB/s)`,
      f.httpUploadMiBs.toFixed(0),
      f.engineUploadMiBs.toFixed(0),
      ratio(f.httpUploadMiBs, f.engineUploadMiBs),
      "-"
    ],
    [
      `download ${mib} MiB, Node client (MiB/s)`,
      f.httpDownloadMiBs.toFixed(0),
      f.engineDownloadMiBs.toFixed(0),
      ratio(f.httpDownloadMiBs, f.engineDownloadMiBs),
      "-"
    ],
    [
      `4 KiB PUT, ${clients} clients (req/s)`,
      f.httpPutPerSecond.toFixed(0),
      f.enginePutPerSecond.toFixed(0),
      ratio(f.httpPutPerSecond, f.enginePutPerSecond),
      "-"
    ],
    [
      `4 KiB GET, ${clients} clients (req/s)`,
      f.httpGetPerSecond.toFixed(0),
      f.engineGetPerSecond.toFixed(0),
      ratio(f.httpGetPerSecond, f.engineGetPerSecond),
      "-"
    ]
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
    .join("\n")
}

/** CLI entry: parses `--mib`, `--seconds`, `--clients` and prints the table. */
export const main = async (argv: ReadonlyArray<string>) => {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : undefined
  }
  const options = {
    mib: arg("mib") ?? 256,
    seconds: arg("seconds") ?? 3,
    clients: arg("clients") ?? 32,
    rounds: arg("rounds") ?? 3
  }
  const figures = await run(options)
  console.log(format(figures, options.mib, options.clients))
  return figures
}

if (import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2)
  const entry = args[0] === "client" ? clientMain(args.slice(1)) : main(args)
  entry.then(
    () => process.exit(0),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
}
