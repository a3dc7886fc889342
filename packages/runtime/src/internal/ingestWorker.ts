/**
 * An ingest worker thread: for each job it chunks the bytes it is handed (with the job's chunker, if it has one),
 * hashes every block with SHA-256 and, if asked, the whole content too, then hands the buffer back with the block
 * layout and digests. Blocks inside the buffer are described by offset and length; a block straddling buffers
 * travels as its own buffer.
 *
 * The pool runs two of these, linked by a message channel of their own: an ingest's messages go to the *contents*
 * worker, which feeds each buffer to the job's whole-content SHA-256 and passes the message on (the buffer
 * transferred, not copied) to the *blocks* worker, which chunks, hashes the blocks and replies to the calling
 * thread; `finish` carries the whole digest along. So the two SHA-256 passes run in parallel on different buffers
 * and the body is never copied for the second one. Both also hash batches of blocks read back, in turn (`digest`: a
 * buffer and the spans of its blocks), so reads verify off the calling thread.
 * Started by `ingestPool.ts`; nothing else imports this module.
 */
import { createHash, type Hash } from "node:crypto"
import { type MessagePort, parentPort } from "node:worker_threads"
import { Chunker } from "@graviton/core"

/** How one block of a reply is laid out. */
export type BlockRef = { readonly o: number; readonly l: number } | { readonly b: ArrayBuffer }

export type Request =
  | {
      readonly t: "start"
      readonly job: number
      /** Chunker id; none: the job only hashes the whole content. */
      readonly chunker?: string | undefined
      /** Whether to hash the whole content. */
      readonly whole: boolean
      /**
       * Pass the job on to the linked worker: this one hashes the whole content, the linked one chunks (with
       * `chunker`) and replies.
       */
      readonly relay?: boolean | undefined
    }
  | { readonly t: "push"; readonly job: number; readonly seq: number; readonly buf: ArrayBuffer; readonly len: number }
  | {
      readonly t: "finish"
      readonly job: number
      readonly seq: number
      /** The whole content's digest, computed by the worker that relayed the job. */
      readonly whole?: string | undefined
    }
  | { readonly t: "abort"; readonly job: number }
  | {
      /** Links this worker to its peer: `relay` sends relayed jobs on through `port`, `receive` takes them from it. */
      readonly t: "link"
      readonly role: "relay" | "receive"
      readonly port: MessagePort
    }
  | {
      readonly t: "digest"
      readonly job: number
      readonly seq: number
      readonly buf: ArrayBuffer
      /** Offset and length of each block in `buf`, flattened. */
      readonly spans: ReadonlyArray<number>
    }

export interface Reply {
  readonly job: number
  readonly seq: number
  readonly buf?: ArrayBuffer
  readonly blocks?: ReadonlyArray<BlockRef>
  readonly digests?: ReadonlyArray<string>
  /** The whole content's SHA-256 (in the reply to `finish`). */
  readonly whole?: string
  readonly error?: string
}

const port = parentPort
interface Job {
  readonly chunker: Chunker.Chunker | undefined
  readonly whole: Hash | undefined
  /** Whether the job's messages go on to the linked worker after the whole-content hash took their bytes. */
  readonly relay: boolean
}
/** Where relayed jobs go (on the contents worker). */
let next: MessagePort | undefined
const jobs = new Map<number, Job>()

const describe = (buf: ArrayBuffer | undefined, blocks: ReadonlyArray<Uint8Array>, transfer: Array<ArrayBuffer>) => {
  const refs: Array<BlockRef> = []
  const digests: Array<string> = []
  for (const block of blocks) {
    digests.push(createHash("sha256").update(block).digest("hex"))
    if (block.buffer === buf) refs.push({ o: block.byteOffset, l: block.byteLength })
    else {
      const own =
        block.byteOffset === 0 && block.byteLength === block.buffer.byteLength
          ? (block.buffer as ArrayBuffer)
          : (block.slice().buffer as ArrayBuffer)
      transfer.push(own)
      refs.push({ b: own })
    }
  }
  return { refs, digests }
}

if (port !== null) {
  const handle = (m: Request) => {
    try {
      if (m.t === "link") {
        if (m.role === "relay") next = m.port
        else m.port.on("message", handle)
        return
      }
      if (m.t === "start") {
        const relay = m.relay === true && next !== undefined
        let chunker: Chunker.Chunker | undefined
        if (m.chunker !== undefined && !relay) {
          const params = Chunker.parseId(m.chunker)
          if (params._tag === "Failure") throw new Error(params.failure.message)
          chunker = Chunker.instantiate(params.success)
        }
        jobs.set(m.job, { chunker, whole: m.whole ? createHash("sha256") : undefined, relay })
        if (relay) next!.postMessage({ t: "start", job: m.job, chunker: m.chunker, whole: false } satisfies Request)
        return
      }
      if (m.t === "abort") {
        if (jobs.get(m.job)?.relay === true) next!.postMessage(m)
        jobs.delete(m.job)
        return
      }
      if (m.t === "digest") {
        const digests: Array<string> = []
        for (let i = 0; i < m.spans.length; i += 2) {
          digests.push(
            createHash("sha256")
              .update(new Uint8Array(m.buf, m.spans[i]!, m.spans[i + 1]!))
              .digest("hex")
          )
        }
        port.postMessage({ job: m.job, seq: m.seq, buf: m.buf, digests } satisfies Reply, [m.buf])
        return
      }
      const state = jobs.get(m.job)
      if (state === undefined) {
        port.postMessage({ job: m.job, seq: m.seq, error: "unknown or aborted job" } satisfies Reply)
        return
      }
      if (state.relay) {
        if (m.t === "push") {
          state.whole?.update(new Uint8Array(m.buf, 0, m.len))
          next!.postMessage(m, [m.buf])
        } else {
          jobs.delete(m.job)
          next!.postMessage({ ...m, whole: state.whole?.digest("hex") } satisfies Request)
        }
        return
      }
      const transfer: Array<ArrayBuffer> = []
      if (m.t === "push") {
        const bytes = new Uint8Array(m.buf, 0, m.len)
        state.whole?.update(bytes)
        const { refs, digests } = describe(m.buf, state.chunker?.push(bytes) ?? [], transfer)
        transfer.push(m.buf)
        port.postMessage({ job: m.job, seq: m.seq, buf: m.buf, blocks: refs, digests } satisfies Reply, transfer)
        return
      }
      const { refs, digests } = describe(undefined, state.chunker?.finish() ?? [], transfer)
      jobs.delete(m.job)
      const whole = state.whole?.digest("hex") ?? m.whole
      port.postMessage(
        { job: m.job, seq: m.seq, blocks: refs, digests, ...(whole === undefined ? {} : { whole }) } satisfies Reply,
        transfer
      )
    } catch (e) {
      const seq = "seq" in m ? m.seq : -1
      const job = "job" in m ? m.job : -1
      port.postMessage({ job, seq, error: e instanceof Error ? e.message : String(e) } satisfies Reply)
    }
  }
  port.on("message", handle)
}
