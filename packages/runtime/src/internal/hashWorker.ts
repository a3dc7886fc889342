/**
 * Hashing off the main thread. A worker thread receives each ingested chunk (a transferred copy) together with the
 * positions where blocks end inside it, keeps the whole-blob hash and the current block's hash running across
 * chunks, and answers with the digests of the blocks that ended in that chunk. The main thread only chunks and
 * stores, so on two cores ingest runs chunking and hashing in parallel.
 *
 * Several ingests share one worker: each is a job with its own hash state; replies come back in order per job.
 * Only SHA-256 is hashed here: the native BLAKE3 hasher is fast enough (~3× SHA-256) to stay inline.
 */
import { Worker } from "node:worker_threads"

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const { createHash } = require("node:crypto")
const make = () => createHash("sha256")
const hex = (h) => h.digest("hex")
const jobs = new Map()
parentPort.on("message", (m) => {
  try {
    if (m.t === "start") {
      jobs.set(m.job, { whole: make(), block: make() })
      return
    }
    const s = jobs.get(m.job)
    if (s === undefined) {
      if (m.t !== "abort") parentPort.postMessage({ job: m.job, seq: m.seq, error: "unknown or aborted job" })
      return
    }
    if (m.t === "abort") { jobs.delete(m.job); return }
    if (m.t === "push") {
      const bytes = new Uint8Array(m.buf)
      s.whole.update(bytes)
      const out = []
      let prev = 0
      for (const cut of m.cuts) {
        s.block.update(bytes.subarray(prev, cut))
        out.push(hex(s.block))
        s.block = make()
        prev = cut
      }
      if (prev < bytes.length) { s.block.update(bytes.subarray(prev)); s.pending = true } else s.pending = false
      parentPort.postMessage({ job: m.job, seq: m.seq, digests: out })
      return
    }
    if (m.t === "finish") {
      const digests = m.lastBlock ? [hex(s.block)] : []
      jobs.delete(m.job)
      parentPort.postMessage({ job: m.job, seq: m.seq, digests, whole: hex(s.whole) })
    }
  } catch (e) {
    parentPort.postMessage({ job: m.job, seq: m.seq, error: String(e && e.message || e) })
  }
})
`

interface Reply {
  readonly job: number
  readonly seq: number
  readonly digests?: ReadonlyArray<string>
  readonly whole?: string
  readonly error?: string
}

/** One ingest's hashing. */
export interface HashJob {
  /**
   * Hashes `chunk` (copied; the caller keeps its buffer), where `cuts` are the offsets in `chunk` at which blocks end
   * (ascending, each in `1..chunk.length`). Resolves with one hex digest per cut.
   */
  readonly push: (chunk: Uint8Array, cuts: ReadonlyArray<number>) => Promise<ReadonlyArray<string>>
  /** Ends the job: the digest of the final block (when `lastBlock`) and of the whole content. */
  readonly finish: (lastBlock: boolean) => Promise<{ readonly digests: ReadonlyArray<string>; readonly whole: string }>
  /** Drops the job's state (after a failure or interruption). */
  readonly abort: () => void
}

export interface HashPool {
  /** A SHA-256 job (blob and block digests). */
  readonly job: () => HashJob
  readonly close: () => Promise<void>
}

/** Starts a worker-backed pool, or returns `undefined` when worker threads are unavailable. */
export const make = (): HashPool | undefined => {
  let worker: Worker
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true })
  } catch {
    return undefined
  }
  worker.unref()
  // an unref before the worker is online does not stick for its message port: repeat it once it is
  worker.once("online", () => {
    if (waiting.size === 0) worker.unref()
  })
  let nextJob = 1
  const waiting = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e)
    waiting.clear()
  }
  worker.on("message", (r: Reply) => {
    const id = `${r.job}:${r.seq}`
    const w = waiting.get(id)
    if (w === undefined) return
    waiting.delete(id)
    if (r.error !== undefined) w.reject(new Error(r.error))
    else w.resolve(r)
  })
  worker.on("error", (e) => failAll(e instanceof Error ? e : new Error(String(e))))
  worker.on("exit", () => failAll(new Error("hash worker exited")))

  const request = (job: number, seq: number, message: object, transfer?: ReadonlyArray<ArrayBuffer>) =>
    new Promise<Reply>((resolve, reject) => {
      waiting.set(`${job}:${seq}`, { resolve, reject })
      worker.ref()
      worker.postMessage(message, transfer === undefined ? [] : [...transfer])
    }).finally(() => {
      if (waiting.size === 0) worker.unref()
    })

  return {
    job: () => {
      const job = nextJob++
      let seq = 0
      worker.postMessage({ t: "start", job })
      return {
        push: (chunk, cuts) => {
          // Uint8Array.prototype.slice copies; a Node Buffer's own slice() is a view, and transferring its
          // (often pooled or shared) ArrayBuffer would detach the caller's bytes
          const copy = Uint8Array.prototype.slice.call(chunk)
          const s = seq++
          return request(job, s, { t: "push", job, seq: s, buf: copy.buffer, cuts }, [copy.buffer as ArrayBuffer]).then(
            (r) => r.digests ?? []
          )
        },
        finish: (lastBlock) => {
          const s = seq++
          return request(job, s, { t: "finish", job, seq: s, lastBlock }).then((r) => ({
            digests: r.digests ?? [],
            whole: r.whole ?? ""
          }))
        },
        abort: () => {
          worker.postMessage({ t: "abort", job })
          // nobody awaits this job any more: settle whatever is outstanding so the worker can be unref'd
          for (const [id, w] of waiting) {
            if (id.startsWith(`${job}:`)) {
              waiting.delete(id)
              w.reject(new Error("hash job aborted"))
            }
          }
          if (waiting.size === 0) worker.unref()
        }
      }
    },
    close: () => worker.terminate().then(() => undefined)
  }
}
