/**
 * An ingest worker thread: for each job it chunks the bytes it is handed (with the job's chunker, if it has one),
 * hashes every block with SHA-256 and, if asked, the whole content too, then hands the buffer back with the block
 * layout and digests. Blocks inside the buffer are described by offset and length; a block straddling buffers
 * travels as its own buffer.
 *
 * The pool runs two of these, linked by a message channel of their own, and splits each ingest's work between them
 * so that neither waits on the other: an ingest's messages go to the *chunking* worker, which cuts each buffer into
 * blocks, hashes about half of the buffer's block bytes (and every block straddling buffers, which it assembled) and
 * passes the buffer on — shared or transferred, never copied — with the layout to the *finishing* worker, which
 * feeds the buffer to the job's whole-content SHA-256, hashes the remaining blocks and replies to the calling
 * thread. The three passes over the bytes (FastCDC, block SHA-256, whole SHA-256) cost about the same, so each
 * worker does about one and a half of them, instead of one doing two while the other does one; the body is never
 * copied for the second worker. Both also hash batches of blocks read back, in turn (`digest`: a buffer and the
 * spans of its blocks), so reads verify off the calling thread.
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
       * Share the job with the linked worker: this one chunks and hashes part of the blocks, the linked one hashes
       * the whole content and the other blocks, and replies.
       */
      readonly relay?: boolean | undefined
    }
  | {
      readonly t: "push"
      readonly job: number
      readonly seq: number
      /** Shared with the calling thread, which keeps it untouched until the reply, or transferred (and back). */
      readonly buf: SharedArrayBuffer | ArrayBuffer
      readonly len: number
      /** Relayed: the blocks the chunking worker cut, and their digests where it computed them (null: hash here). */
      readonly blocks?: ReadonlyArray<BlockRef> | undefined
      readonly digests?: ReadonlyArray<string | null> | undefined
    }
  | {
      readonly t: "finish"
      readonly job: number
      readonly seq: number
      /** Relayed: the final blocks, all hashed by the chunking worker. */
      readonly blocks?: ReadonlyArray<BlockRef> | undefined
      readonly digests?: ReadonlyArray<string | null> | undefined
    }
  | { readonly t: "abort"; readonly job: number }
  | {
      /** Links this worker to its peer: `relay` sends shared jobs on through `port`, `receive` takes them from it. */
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
  /** Whether the job's messages go on to the linked worker, which hashes the whole content and replies. */
  readonly relay: boolean
}
/** Where shared jobs go (on the chunking worker). */
let next: MessagePort | undefined
const jobs = new Map<number, Job>()

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** How `blocks` (views of `buf` or standalone) travel; each standalone one gets a buffer of its own in `transfer`. */
const layout = (
  buf: ArrayBufferLike | undefined,
  blocks: ReadonlyArray<Uint8Array>,
  transfer: Array<ArrayBuffer>
): Array<BlockRef> =>
  blocks.map((block) => {
    if (block.buffer === buf) return { o: block.byteOffset, l: block.byteLength }
    const own =
      block.byteOffset === 0 && block.byteLength === block.buffer.byteLength
        ? (block.buffer as ArrayBuffer)
        : (block.slice().buffer as ArrayBuffer)
    transfer.push(own)
    return { b: own }
  })

/**
 * Digests of `blocks`: with `share`, blocks inside `buf` are hashed here only while this worker's share of their
 * bytes is not larger than the linked worker's (null: left to it); standalone blocks are always hashed here.
 */
const hashShare = (buf: ArrayBufferLike | undefined, blocks: ReadonlyArray<Uint8Array>, share: boolean) => {
  let mine = 0
  let theirs = 0
  return blocks.map((block): string | null => {
    if (share && block.buffer === buf) {
      if (mine > theirs) {
        theirs += block.byteLength
        return null
      }
      mine += block.byteLength
    }
    return sha256(block)
  })
}

/** A transferred hand-over buffer travels on (in `transfer`) and back in the reply; a shared one stays. */
const back = (buf: SharedArrayBuffer | ArrayBuffer, transfer: Array<ArrayBuffer>): { buf?: ArrayBuffer } => {
  if (buf instanceof SharedArrayBuffer) return {}
  transfer.push(buf)
  return { buf }
}

/** The blocks of a relayed message as views of `buf` (or their own buffers), with every digest filled in. */
const complete = (
  buf: ArrayBufferLike | undefined,
  refs: ReadonlyArray<BlockRef>,
  digests: ReadonlyArray<string | null>,
  transfer: Array<ArrayBuffer>
): Array<string> =>
  refs.map((ref, i) => {
    if ("b" in ref) transfer.push(ref.b)
    const d = digests[i]
    if (d !== null && d !== undefined) return d
    return sha256("b" in ref ? new Uint8Array(ref.b) : new Uint8Array(buf!, ref.o, ref.l))
  })

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
        if (m.chunker !== undefined) {
          const params = Chunker.parseId(m.chunker)
          if (params._tag === "Failure") throw new Error(params.failure.message)
          chunker = Chunker.instantiate(params.success)
        }
        jobs.set(m.job, { chunker, whole: m.whole && !relay ? createHash("sha256") : undefined, relay })
        if (relay) next!.postMessage({ t: "start", job: m.job, whole: m.whole } satisfies Request)
        return
      }
      if (m.t === "abort") {
        if (jobs.get(m.job)?.relay === true) next!.postMessage(m)
        jobs.delete(m.job)
        return
      }
      if (m.t === "digest") {
        const digests: Array<string> = []
        for (let i = 0; i < m.spans.length; i += 2)
          digests.push(sha256(new Uint8Array(m.buf, m.spans[i]!, m.spans[i + 1]!)))
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
        state.whole?.update(bytes)
        if (m.blocks !== undefined) {
          // relayed: cut (and partly hashed) by the chunking worker
          const digests = complete(m.buf, m.blocks, m.digests ?? [], transfer)
          port.postMessage(
            { job: m.job, seq: m.seq, ...back(m.buf, transfer), blocks: m.blocks, digests } satisfies Reply,
            transfer
          )
          return
        }
        const blocks = state.chunker?.push(bytes) ?? []
        const refs = layout(m.buf, blocks, transfer)
        const digests = hashShare(m.buf, blocks, state.relay)
        const buf = back(m.buf, transfer)
        if (state.relay) {
          next!.postMessage({ ...m, blocks: refs, digests } satisfies Request, transfer)
          return
        }
        port.postMessage(
          { job: m.job, seq: m.seq, ...buf, blocks: refs, digests: digests as Array<string> } satisfies Reply,
          transfer
        )
        return
      }
      jobs.delete(m.job)
      if (m.blocks !== undefined) {
        const digests = complete(undefined, m.blocks, m.digests ?? [], transfer)
        const whole = state.whole?.digest("hex")
        port.postMessage(
          {
            job: m.job,
            seq: m.seq,
            blocks: m.blocks,
            digests,
            ...(whole === undefined ? {} : { whole })
          } satisfies Reply,
          transfer
        )
        return
      }
      const blocks = state.chunker?.finish() ?? []
      const refs = layout(undefined, blocks, transfer)
      const digests = blocks.map(sha256)
      if (state.relay) {
        next!.postMessage({ ...m, blocks: refs, digests } satisfies Request, transfer)
        return
      }
      const whole = state.whole?.digest("hex")
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
