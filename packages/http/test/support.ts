/**
 * Test support: a real Graviton server on an ephemeral port of 127.0.0.1 over the in-memory runtime, plus small
 * `fetch` / raw-socket helpers.
 */
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import { type GravitonConfig, GravitonRuntime } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import type { HttpServer } from "effect/http"
import * as Layer from "effect/Layer"
import { GravitonServer } from "../src/index.ts"

/** The server under test (port 0) over a fresh in-memory runtime. */
export const serverLayer = (
  options: GravitonServer.Options = {},
  runtime: Partial<GravitonConfig.GravitonConfig> = {}
) =>
  GravitonServer.layer({ port: 0, host: "127.0.0.1", ...options }).pipe(
    Layer.provideMerge(GravitonRuntime.layerMemory(runtime))
  )

/** `http://127.0.0.1:<port>` of the running server. */
export const baseUrl: Effect.Effect<string, never, HttpServer.HttpServer> = GravitonServer.url

/** A fetch whose response body is read completely. */
export interface Fetched {
  readonly status: number
  readonly headers: Headers
  readonly body: Uint8Array
  readonly text: string
  readonly json: unknown
}

export const fetchAll = (url: string, init?: RequestInit): Effect.Effect<Fetched> =>
  Effect.promise(async () => {
    const res = await fetch(url, init)
    const body = new Uint8Array(await res.arrayBuffer())
    const text = new TextDecoder().decode(body)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, body, text, json }
  })

/** A raw HTTP/1.1 exchange over a socket: writes `raw` and returns everything read until the server closes. */
export const rawExchange = (port: number, raw: string | Uint8Array, waitMs = 10_000): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(raw))
    const chunks: Array<Buffer> = []
    const done = () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1")))
    const timer = setTimeout(() => {
      socket.destroy()
      done()
    }, waitMs)
    socket.on("data", (d) => chunks.push(d))
    socket.on("close", () => {
      clearTimeout(timer)
      done()
    })
    socket.on("error", () => undefined)
  })

/** Port of a base URL. */
export const portOf = (url: string): number => Number(new URL(url).port)

/** A node:http request with a streamed body (no Content-Length → chunked). */
export const nodeRequest = (
  url: string,
  options: {
    readonly method: string
    readonly headers?: Record<string, string>
    readonly body?: Iterable<Uint8Array> | AsyncIterable<Uint8Array>
  }
): Effect.Effect<{ readonly status: number; readonly headers: Record<string, unknown>; readonly text: string }> =>
  Effect.promise(
    () =>
      new Promise((resolve, reject) => {
        const req = httpRequest(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (d: Buffer) => chunks.push(d))
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") })
          )
          res.on("error", reject)
        })
        req.on("error", reject)
        const body = options.body
        if (body === undefined) {
          req.end()
          return
        }
        ;(async () => {
          for await (const chunk of body as AsyncIterable<Uint8Array>) {
            if (!req.write(chunk)) await new Promise((r) => req.once("drain", r))
          }
          req.end()
        })().catch(() => undefined)
      })
  )

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Deterministic pseudo-random bytes. */
export const randomBytes = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export const GiB = 1024 * 1024 * 1024
export const MiB = 1024 * 1024

/** Creates a tus upload of `length` bytes on the server at `base` (with extra request headers); returns its id. */
export const createUpload = (base: string, length: number, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const res = yield* fetchAll(`${base}/api/v1/uploads`, {
      method: "POST",
      headers: {
        "tus-resumable": "1.0.0",
        "upload-length": String(length),
        "upload-metadata": `filename ${Buffer.from("a.bin").toString("base64")}`,
        ...headers
      }
    })
    if (res.status !== 201) throw new Error(`creating an upload answered ${res.status}: ${res.text}`)
    const location = res.headers.get("location")!
    return location.slice(location.lastIndexOf("/") + 1)
  })
