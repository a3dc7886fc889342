/**
 * The ingest worker thread: for each job it chunks the bytes it is handed (with the job's chunker), hashes every
 * block and the whole content with SHA-256, then hands the chunk's buffer back with the block layout and digests. Blocks inside the chunk
 * are described by offset and length; a block straddling chunks travels as its own buffer. It also hashes batches
 * of blocks read back (`digest`: a buffer and the spans of its blocks), so reads verify off the calling thread.
 * Started by `ingestPool.ts`; nothing else imports this module.
 */
import { createHash, type Hash } from "node:crypto"
import { parentPort } from "node:worker_threads"
import { Chunker } from "@graviton/core"

/** How one block of a reply is laid out. */
export type BlockRef = { readonly o: number; readonly l: number } | { readonly b: ArrayBuffer }

export type Request =
  | { readonly t: "start"; readonly job: number; readonly chunker: string }
  | { readonly t: "push"; readonly job: number; readonly seq: number; readonly buf: ArrayBuffer; readonly len: number }
  | { readonly t: "finish"; readonly job: number; readonly seq: number }
  | { readonly t: "abort"; readonly job: number }
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
  readonly chunker: Chunker.Chunker
  readonly whole: Hash
}
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
  port.on("message", (m: Request) => {
    try {
      if (m.t === "start") {
        const params = Chunker.parseId(m.chunker)
        if (params._tag === "Failure") throw new Error(params.failure.message)
        jobs.set(m.job, { chunker: Chunker.instantiate(params.success), whole: createHash("sha256") })
        return
      }
      if (m.t === "abort") {
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
      const transfer: Array<ArrayBuffer> = []
      if (m.t === "push") {
        const bytes = new Uint8Array(m.buf, 0, m.len)
        state.whole.update(bytes)
        const { refs, digests } = describe(m.buf, state.chunker.push(bytes), transfer)
        transfer.push(m.buf)
        port.postMessage({ job: m.job, seq: m.seq, buf: m.buf, blocks: refs, digests } satisfies Reply, transfer)
        return
      }
      const { refs, digests } = describe(undefined, state.chunker.finish(), transfer)
      jobs.delete(m.job)
      const whole = state.whole.digest("hex")
      port.postMessage({ job: m.job, seq: m.seq, blocks: refs, digests, whole } satisfies Reply, transfer)
    } catch (e) {
      const seq = "seq" in m ? m.seq : -1
      port.postMessage({ job: m.job, seq, error: e instanceof Error ? e.message : String(e) } satisfies Reply)
    }
  })
}
