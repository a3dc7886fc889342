/**
 * Two worker threads (see `ingestWorker.ts`) shared by every ingest of the process: one chunks and hashes blocks,
 * the other hashes whole contents, so an ingest's two SHA-256 passes run in parallel with each other and with the
 * calling thread's storage work. Each ingest is a job on both; replies come back in order per job. The workers do
 * not keep the process alive while no request is outstanding.
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
  /**
   * Hands the same bytes, in a buffer of their own (transferred), to the whole-content hash; resolves with the
   * buffer back once they are hashed.
   */
  readonly hash: (buffer: ArrayBuffer, length: number) => Promise<ArrayBuffer>
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

const materialize = (reply: Reply) => {
  const back = reply.buf === undefined ? undefined : new Uint8Array(reply.buf)
  const blocks = (reply.blocks ?? []).map((ref: BlockRef) =>
    "b" in ref ? new Uint8Array(ref.b) : back!.subarray(ref.o, ref.o + ref.l)
  )
  return { buffer: reply.buf, blocks, digests: reply.digests ?? [], whole: reply.whole }
}

/** A started worker and the requests waiting for its replies. */
interface Connection {
  readonly request: (
    message: Extract<Request, { readonly seq: number }>,
    transfer: ReadonlyArray<ArrayBuffer>
  ) => Promise<Reply>
  readonly post: (message: Request) => void
  /** Rejects the outstanding requests of `job`. */
  readonly drop: (job: number, error: Error) => void
}

const connect = (worker: Worker, onDead: () => void): Connection => {
  const waiting = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  const settle = () => {
    if (waiting.size === 0) worker.unref()
  }
  worker.unref()
  // an unref before the worker is online does not stick for its message port: repeat it once it is
  worker.once("online", settle)
  /** Set once the worker has exited or failed: later requests are rejected at once. */
  let gone: Error | undefined
  const failAll = (e: Error) => {
    gone ??= e
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
  worker.on("error", (e) => {
    onDead()
    failAll(e instanceof Error ? e : new Error(String(e)))
  })
  worker.on("exit", () => {
    onDead()
    failAll(new Error("ingest worker exited"))
  })
  return {
    request: (message, transfer) =>
      new Promise<Reply>((resolve, reject) => {
        if (gone !== undefined) return reject(gone)
        waiting.set(`${message.job}:${message.seq}`, { resolve, reject })
        worker.ref()
        worker.postMessage(message, [...transfer])
      }),
    post: (message) => worker.postMessage(message),
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
  let blocks: Connection
  let contents: Connection
  try {
    workers.push(new Worker(url))
    workers.push(new Worker(url))
    blocks = connect(workers[0]!, onDead)
    contents = connect(workers[1]!, onDead)
  } catch {
    void stopAll().catch(() => undefined)
    return undefined
  }
  let nextJob = 1
  return {
    alive: () => !dead,
    terminate: () => {
      dead = true
      return stopAll()
    },
    digests: (buffer, spans) =>
      contents.request({ t: "digest", job: nextJob++, seq: 0, buf: buffer, spans }, [buffer]).then((r) => ({
        buffer: r.buf!,
        digests: r.digests ?? []
      })),
    job: (chunkerId) => {
      const job = nextJob++
      let seq = 0
      let hashSeq = 0
      blocks.post({ t: "start", job, chunker: chunkerId, whole: false })
      contents.post({ t: "start", job, whole: true })
      return {
        push: (buffer, length) =>
          blocks.request({ t: "push", job, seq: seq++, buf: buffer, len: length }, [buffer]).then(materialize),
        hash: (buffer, length) =>
          contents.request({ t: "push", job, seq: hashSeq++, buf: buffer, len: length }, [buffer]).then((r) => r.buf!),
        finish: () =>
          Promise.all([
            blocks.request({ t: "finish", job, seq: seq++ }, []),
            contents.request({ t: "finish", job, seq: hashSeq++ }, [])
          ]).then(([b, c]) => ({ ...materialize(b), whole: c.whole })),
        abort: () => {
          const error = new Error("ingest job aborted")
          blocks.post({ t: "abort", job })
          contents.post({ t: "abort", job })
          blocks.drop(job, error)
          contents.drop(job, error)
        }
      }
    }
  }
}
