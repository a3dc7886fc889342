/**
 * The ingest worker thread: for each job it chunks the bytes it is handed (with the job's chunker) and hashes every
 * block with SHA-256, then hands the chunk's buffer back with the block layout and digests. Blocks inside the chunk
 * are described by offset and length; a block straddling chunks travels as its own buffer. Started by
 * `ingestPool.ts`; nothing else imports this module.
 */
import { createHash } from "node:crypto"
import { parentPort } from "node:worker_threads"
import { Chunker } from "@graviton/core"

/** How one block of a reply is laid out. */
export type BlockRef = { readonly o: number; readonly l: number } | { readonly b: ArrayBuffer }

export type Request =
  | { readonly t: "start"; readonly job: number; readonly chunker: string }
  | { readonly t: "push"; readonly job: number; readonly seq: number; readonly buf: ArrayBuffer; readonly len: number }
  | { readonly t: "finish"; readonly job: number; readonly seq: number }
  | { readonly t: "abort"; readonly job: number }

export interface Reply {
  readonly job: number
  readonly seq: number
  readonly buf?: ArrayBuffer
  readonly blocks?: ReadonlyArray<BlockRef>
  readonly digests?: ReadonlyArray<string>
  readonly error?: string
}

const port = parentPort
const jobs = new Map<number, Chunker.Chunker>()

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
        jobs.set(m.job, Chunker.instantiate(params.success))
        return
      }
      if (m.t === "abort") {
        jobs.delete(m.job)
        return
      }
      const chunker = jobs.get(m.job)
      if (chunker === undefined) {
        port.postMessage({ job: m.job, seq: m.seq, error: "unknown or aborted job" } satisfies Reply)
        return
      }
      const transfer: Array<ArrayBuffer> = []
      if (m.t === "push") {
        const { refs, digests } = describe(m.buf, chunker.push(new Uint8Array(m.buf, 0, m.len)), transfer)
        transfer.push(m.buf)
        port.postMessage({ job: m.job, seq: m.seq, buf: m.buf, blocks: refs, digests } satisfies Reply, transfer)
        return
      }
      const { refs, digests } = describe(undefined, chunker.finish(), transfer)
      jobs.delete(m.job)
      port.postMessage({ job: m.job, seq: m.seq, blocks: refs, digests } satisfies Reply, transfer)
    } catch (e) {
      const seq = "seq" in m ? m.seq : -1
      port.postMessage({ job: m.job, seq, error: e instanceof Error ? e.message : String(e) } satisfies Reply)
    }
  })
}
