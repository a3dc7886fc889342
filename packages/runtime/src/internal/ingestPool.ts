/**
 * Two worker threads (see `ingestWorker.ts`) shared by every ingest of the process, which split each ingest's
 * chunking and hashing between them, in parallel with each other and with the calling thread's storage work. Each
 * ingest is a job on both: its buffers go to the chunking worker, which cuts blocks, hashes about half of them and
 * passes each buffer on (shared or transferred, never copied) to the finishing worker, which hashes the rest and the
 * whole content and replies — in order per job. The workers do not keep the process alive while no request is
 * outstanding.
 */
import { MessageChannel, Worker } from "node:worker_threads"
import type { BlockRef, Reply, Request } from "./ingestWorker.ts"

/** One ingest's chunking and block hashing. */
export interface IngestJob {
  /**
   * Hands over the first `length` bytes of `buffer` (shared, or transferred if it is an `ArrayBuffer`: either way the
   * caller must not touch it until the reply): they feed the whole-content hash and the chunker. Resolves with
   * `buffer` (back) and the blocks that ended in it: views of `buffer` or standalone buffers, with their SHA-256
   * digests.
   */
  readonly push: (
    buffer: SharedArrayBuffer | ArrayBuffer,
    length: number
  ) => Promise<{
    readonly buffer?: SharedArrayBuffer | ArrayBuffer | undefined
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
  /**
   * False once either worker has exited or failed (every outstanding request was then rejected, and the other worker
   * is stopped too): the owner starts a new pool.
   */
  readonly alive: () => boolean
  /** Stops both workers; outstanding requests are rejected. */
  readonly terminate: () => Promise<void>
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

/**
 * The blocks of `reply`: views of the hand-over buffer (the shared one the request carried, or the transferred one
 * the reply brings back) or buffers of their own.
 */
const materialize = (shared: SharedArrayBuffer | undefined) => (reply: Reply) => {
  const buffer = reply.buf ?? shared
  const back = buffer === undefined ? undefined : new Uint8Array(buffer)
  const blocks = (reply.blocks ?? []).map((ref: BlockRef) =>
    "b" in ref ? new Uint8Array(ref.b) : back!.subarray(ref.o, ref.o + ref.l)
  )
  return { buffer, blocks, digests: reply.digests ?? [], whole: reply.whole }
}

/**
 * The two started workers and the requests waiting for replies — one registry for both, since a relayed request is
 * posted to one worker and answered by the other.
 */
interface Workers {
  /** Posts `message` to `worker` and waits for the reply with its job and seq, from either worker. */
  readonly request: (
    worker: Worker,
    message: Extract<Request, { readonly seq: number }>,
    transfer: ReadonlyArray<ArrayBuffer>
  ) => Promise<Reply>
  /** Rejects the outstanding requests of `job`. */
  readonly drop: (job: number, error: Error) => void
}

const connect = (workers: ReadonlyArray<Worker>, onDead: () => void): Workers => {
  const waiting = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  const settle = () => {
    if (waiting.size === 0) for (const w of workers) w.unref()
  }
  /** Set once a worker has exited or failed: later requests are rejected at once. */
  let gone: Error | undefined
  const failAll = (e: Error) => {
    gone ??= e
    for (const w of waiting.values()) w.reject(e)
    waiting.clear()
  }
  for (const worker of workers) {
    worker.unref()
    // an unref before the worker is online does not stick for its message port: repeat it once it is
    worker.once("online", settle)
    worker.on("message", (r: Reply) => {
      const id = `${r.job}:${r.seq}`
      const w = waiting.get(id)
      if (w === undefined) return
      waiting.delete(id)
      if (r.error !== undefined) w.reject(new Error(r.error))
      else w.resolve(r)
      settle()
    })
    worker.on("error", (e) => {
      onDead()
      failAll(e instanceof Error ? e : new Error(String(e)))
    })
    worker.on("exit", () => {
      onDead()
      failAll(new Error("ingest worker exited"))
    })
  }
  return {
    request: (worker, message, transfer) =>
      new Promise<Reply>((resolve, reject) => {
        if (gone !== undefined) return reject(gone)
        waiting.set(`${message.job}:${message.seq}`, { resolve, reject })
        for (const w of workers) w.ref()
        worker.postMessage(message, [...transfer])
      }),
    drop: (job, error) => {
      for (const [id, w] of waiting) {
        if (id.startsWith(`${job}:`)) {
          waiting.delete(id)
          w.reject(error)
        }
      }
      settle()
    }
  }
}

/** Starts the workers, or returns `undefined` when worker threads are unavailable. */
export const make = (): IngestPool | undefined => {
  const url = new URL("./ingestWorker.ts", import.meta.url)
  let dead = false
  const workers: Array<Worker> = []
  const stopAll = () => Promise.all(workers.map((w) => w.terminate())).then(() => undefined)
  const onDead = () => {
    if (dead) return
    dead = true
    // one worker gone leaves the pool unusable: stop the other as well
    void stopAll().catch(() => undefined)
  }
  let pending: Workers
  try {
    workers.push(new Worker(url))
    workers.push(new Worker(url))
    pending = connect(workers, onDead)
    // the chunking worker (workers[0]) passes each ingest message on to the finishing worker (workers[1]) through a
    // channel of their own
    const { port1, port2 } = new MessageChannel()
    workers[0]!.postMessage({ t: "link", role: "relay", port: port1 } satisfies Request, [port1])
    workers[1]!.postMessage({ t: "link", role: "receive", port: port2 } satisfies Request, [port2])
  } catch {
    void stopAll().catch(() => undefined)
    return undefined
  }
  const chunking = workers[0]!
  let nextJob = 1
  return {
    alive: () => !dead,
    terminate: () => {
      dead = true
      return stopAll()
    },
    digests: (buffer, spans) =>
      pending
        // both workers verify, in turn: a full read has several batches in flight
        .request(workers[nextJob % 2]!, { t: "digest", job: nextJob++, seq: 0, buf: buffer, spans }, [buffer])
        .then((r) => ({ buffer: r.buf!, digests: r.digests ?? [] })),
    job: (chunkerId) => {
      const job = nextJob++
      let seq = 0
      // everything goes to the chunking worker, which shares the hashing with the finishing worker, which replies
      chunking.postMessage({ t: "start", job, chunker: chunkerId, whole: true, relay: true } satisfies Request)
      return {
        push: (buffer, length) =>
          pending
            .request(
              chunking,
              { t: "push", job, seq: seq++, buf: buffer, len: length },
              buffer instanceof SharedArrayBuffer ? [] : [buffer]
            )
            .then(materialize(buffer instanceof SharedArrayBuffer ? buffer : undefined)),
        finish: () => pending.request(chunking, { t: "finish", job, seq: seq++ }, []).then(materialize(undefined)),
        abort: () => {
          chunking.postMessage({ t: "abort", job } satisfies Request)
          pending.drop(job, new Error("ingest job aborted"))
        }
      }
    }
  }
}
