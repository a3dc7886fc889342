/**
 * A worker thread that chunks and hashes ingested bytes (see `ingestWorker.ts`), shared by every ingest of the
 * process. Each ingest is a job; replies come back in order per job. The worker does not keep the process alive
 * while no request is outstanding.
 */
import { Worker } from "node:worker_threads"
import type { BlockRef, Reply, Request } from "./ingestWorker.ts"

/** One ingest's chunking and block hashing. */
export interface IngestJob {
  /**
   * Hands over the first `length` bytes of `buffer` (transferred: the caller must not touch it until the reply) and
   * resolves with `buffer` back and the blocks that ended in it: views of `buffer` or standalone buffers, with their
   * SHA-256 digests.
   */
  readonly push: (
    buffer: ArrayBuffer,
    length: number
  ) => Promise<{
    readonly buffer?: ArrayBuffer | undefined
    readonly blocks: ReadonlyArray<Uint8Array>
    readonly digests: ReadonlyArray<string>
  }>
  /** The final partial block, if any, and the whole content's SHA-256. */
  readonly finish: () => Promise<{
    readonly whole?: string | undefined
    readonly blocks: ReadonlyArray<Uint8Array>
    readonly digests: ReadonlyArray<string>
  }>
  /** Drops the job (after a failure or interruption); outstanding requests are rejected. */
  readonly abort: () => void
}

export interface IngestPool {
  readonly job: (chunkerId: string) => IngestJob
  /**
   * SHA-256 (hex) of each block of `buffer`, given as flattened offset/length pairs. `buffer` is transferred and
   * comes back with the answer.
   */
  readonly digests: (
    buffer: ArrayBuffer,
    spans: ReadonlyArray<number>
  ) => Promise<{ readonly buffer: ArrayBuffer; readonly digests: ReadonlyArray<string> }>
}

const materialize = (reply: Reply) => {
  const back = reply.buf === undefined ? undefined : new Uint8Array(reply.buf)
  const blocks = (reply.blocks ?? []).map((ref: BlockRef) =>
    "b" in ref ? new Uint8Array(ref.b) : back!.subarray(ref.o, ref.o + ref.l)
  )
  return { buffer: reply.buf, blocks, digests: reply.digests ?? [], whole: reply.whole }
}

/** Starts the worker, or returns `undefined` when worker threads are unavailable. */
export const make = (): IngestPool | undefined => {
  let worker: Worker
  try {
    worker = new Worker(new URL("./ingestWorker.ts", import.meta.url))
  } catch {
    return undefined
  }
  const waiting = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  const settle = () => {
    if (waiting.size === 0) worker.unref()
  }
  worker.unref()
  // an unref before the worker is online does not stick for its message port: repeat it once it is
  worker.once("online", settle)
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
    settle()
  })
  worker.on("error", (e) => failAll(e instanceof Error ? e : new Error(String(e))))
  worker.on("exit", () => failAll(new Error("ingest worker exited")))

  let nextJob = 1
  const request = (message: Extract<Request, { readonly seq: number }>, transfer: ReadonlyArray<ArrayBuffer>) =>
    new Promise<Reply>((resolve, reject) => {
      waiting.set(`${message.job}:${message.seq}`, { resolve, reject })
      worker.ref()
      worker.postMessage(message, [...transfer])
    })
  return {
    digests: (buffer, spans) =>
      request({ t: "digest", job: nextJob++, seq: 0, buf: buffer, spans }, [buffer]).then((r) => ({
        buffer: r.buf!,
        digests: r.digests ?? []
      })),
    job: (chunkerId) => {
      const job = nextJob++
      let seq = 0
      worker.postMessage({ t: "start", job, chunker: chunkerId })
      return {
        push: (buffer, length) =>
          request({ t: "push", job, seq: seq++, buf: buffer, len: length }, [buffer]).then(materialize),
        finish: () => request({ t: "finish", job, seq: seq++ }, []).then(materialize),
        abort: () => {
          worker.postMessage({ t: "abort", job })
          for (const [id, w] of waiting) {
            if (id.startsWith(`${job}:`)) {
              waiting.delete(id)
              w.reject(new Error("ingest job aborted"))
            }
          }
          settle()
        }
      }
    }
  }
}
