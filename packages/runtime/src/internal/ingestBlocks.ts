/**
 * The front of the ingest pipeline: bytes in, keyed blocks out (with their offsets), plus the whole-content digest
 * once the stream has ended. Two strategies give identical results:
 * - `inline`: chunk and hash on the calling thread;
 * - `offThread`: one worker chunks and hashes blocks, the other hashes the whole content (see ingestPool), while the
 *   calling thread stores; buffers are handed over in order and up to `lookahead` of them are in flight.
 */
import { BinaryKey, type Chunker, type HashAlgorithm, Hashing } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as StorageError from "../StorageError.ts"
import type * as IngestPool from "./ingestPool.ts"

export interface PendingBlock {
  readonly key: BinaryKey.BinaryKey
  readonly bytes: Uint8Array
  readonly offset: number
  readonly index: number
  /**
   * Called once the block's bytes are no longer needed (after it was written, or found present): they may be a view
   * of a pooled buffer that is then reused.
   */
  readonly release?: (() => void) | undefined
}

export interface Ingest<E, R> {
  /** Keyed blocks in order. Run once. */
  readonly blocks: Stream.Stream<PendingBlock, E | StorageError.StorageError, R>
  /** After `blocks` completed: the whole content's digest (hex) and size. */
  readonly result: () => { readonly digest: string; readonly size: number }
}

interface Counter {
  index: number
  offset: number
}

const pending = (
  c: Counter,
  key: BinaryKey.BinaryKey,
  bytes: Uint8Array,
  release?: (() => void) | undefined
): PendingBlock => {
  const b = { key, bytes, offset: c.offset, index: c.index, release }
  c.offset += bytes.byteLength
  c.index++
  return b
}

export const inline = <E, R>(
  source: Stream.Stream<Uint8Array, E, R>,
  chunker: Chunker.Chunker,
  blockAlgorithm: HashAlgorithm.HashAlgorithm,
  blobAlgorithm: HashAlgorithm.HashAlgorithm
): Ingest<E, R> => {
  const whole = Hashing.make(blobAlgorithm)
  const c: Counter = { index: 0, offset: 0 }
  let size = 0
  let digest: string | undefined
  const keyed = (bytes: Uint8Array) => pending(c, BinaryKey.ofBytes(bytes, blockAlgorithm), bytes)
  const blocks = source.pipe(
    Stream.map((chunk) => {
      if (chunk.byteLength === 0) return []
      size += chunk.byteLength
      whole.update(chunk)
      return chunker.push(chunk).map(keyed)
    }),
    Stream.flattenIterable,
    Stream.concat(
      Stream.suspend(() => {
        digest = whole.digestHex()
        return Stream.fromIterable(chunker.finish().map(keyed))
      })
    )
  )
  return { blocks, result: () => ({ digest: digest ?? "", size }) }
}

const workerFailure = (cause: unknown) =>
  StorageError.unknown("BlobStore.put", { message: "the ingest worker failed", cause })

/** Capacity of a hand-over buffer. */
const POOLED = 1024 * 1024
/**
 * Hand-over buffers are `SharedArrayBuffer`s, shared with the workers rather than transferred to them and back. A
 * transferred buffer comes back as a new `ArrayBuffer`, which V8 counts as fresh external memory until the detached
 * one is swept: that alone forced a full garbage collection for every ~64 MiB ingested (measured: 7 per 251 MiB of
 * the releases, 1 with shared buffers; 390–430 → 450–480 MiB/s on level). Shared memory is not counted at all, so
 * it is never reclaimed under memory pressure either: the pool creates at most {@link MAX_SHARED} (a
 * `FinalizationRegistry` says when a dropped one is gone) and keeps every one given back, so at most
 * `MAX_SHARED` MiB of them exist. A buffer is dropped, never reused, when its ingest fails: its blocks may still be
 * in a store's write. Past the limit (many concurrent ingests), plain `ArrayBuffer`s are transferred as before.
 * The idle ones are shared by every ingest of the process: a small put reuses a warm megabyte instead of
 * allocating (zero-filling, page-faulting) fresh ones — that made a 4 KiB put cost ~5 ms.
 */
const MAX_SHARED = 64
let shared = 0
const idle: Array<SharedArrayBuffer> = []
const gone = new FinalizationRegistry<undefined>(() => {
  shared--
})

const take = (): SharedArrayBuffer | ArrayBuffer => {
  const ready = idle.pop()
  if (ready !== undefined) return ready
  if (shared >= MAX_SHARED) return new ArrayBuffer(POOLED)
  shared++
  const fresh = new SharedArrayBuffer(POOLED)
  gone.register(fresh, undefined)
  return fresh
}

const giveBack = (buffer: ArrayBufferLike) => {
  if (buffer instanceof SharedArrayBuffer && buffer.byteLength === POOLED) idle.push(buffer)
}

/**
 * Chunking, block hashing and the whole-content SHA-256 shared by the two ingest workers (each buffer passes through
 * both, see ingestPool); the calling thread copies, stores and commits. The source's chunks are copied once, back to
 * back, into 1 MiB hand-over buffers, and each full buffer (and the last, partial one) is handed to the workers —
 * so a body arriving in 16–64 KiB socket reads costs one round trip per megabyte, not per read, and is copied once in
 * all. Hand-over buffers are pooled process-wide (see {@link MAX_SHARED}): a buffer returns to the pool when every
 * block viewing it was released (see {@link PendingBlock.release}), so a long ingest does not allocate (and
 * page-fault) a fresh megabyte per chunk.
 */
export const offThread = <E, R>(
  source: Stream.Stream<Uint8Array, E, R>,
  job: IngestPool.IngestJob,
  lookahead = 8
): Ingest<E, R> => {
  const c: Counter = { index: 0, offset: 0 }
  let size = 0
  let digest: string | undefined
  /** The hand-over buffer being filled, and how much of it is. */
  interface Filling {
    buffer: SharedArrayBuffer | ArrayBuffer | undefined
    length: number
  }
  /** Copies `chunk` into hand-over buffers; returns the buffers it filled up. */
  const fill = (
    state: Filling,
    chunk: Uint8Array
  ): readonly [Filling, ReadonlyArray<readonly [SharedArrayBuffer | ArrayBuffer, number]>] => {
    const full: Array<readonly [SharedArrayBuffer | ArrayBuffer, number]> = []
    size += chunk.byteLength
    let at = 0
    while (at < chunk.byteLength) {
      if (state.buffer === undefined) {
        state.buffer = take()
        state.length = 0
      }
      const n = Math.min(POOLED - state.length, chunk.byteLength - at)
      new Uint8Array(state.buffer, state.length, n).set(chunk.subarray(at, at + n))
      state.length += n
      at += n
      if (state.length === POOLED) {
        full.push([state.buffer, POOLED])
        state.buffer = undefined
      }
    }
    return [state, full]
  }
  /**
   * Hands a full buffer to the workers; the reply is awaited downstream, `lookahead` buffers behind. An effect, not a
   * plain map: one source chunk can fill many buffers, and each must wait for room in the buffer below.
   */
  const handOver = ([buffer, length]: readonly [SharedArrayBuffer | ArrayBuffer, number]) =>
    Effect.sync(() => {
      const reply = job.push(buffer, length)
      // a rejection is observed when this element is awaited below; keep it from being reported as unhandled meanwhile
      reply.catch(() => undefined)
      return { reply }
    })
  const keyed = (r: {
    readonly buffer?: ArrayBufferLike | undefined
    readonly blocks: ReadonlyArray<Uint8Array>
    readonly digests: ReadonlyArray<string>
  }) => {
    const buffer = r.buffer
    let views = 0
    if (buffer !== undefined) for (const b of r.blocks) if (b.buffer === buffer) views++
    if (buffer !== undefined && views === 0) giveBack(buffer)
    const release =
      buffer === undefined || views === 0
        ? undefined
        : () => {
            if (--views === 0) giveBack(buffer)
          }
    return r.blocks.map((bytes, i) =>
      pending(
        c,
        BinaryKey.unsafeMake("sha-256", r.digests[i]!, bytes.byteLength),
        bytes,
        bytes.buffer === buffer ? release : undefined
      )
    )
  }
  const blocks = source.pipe(
    Stream.mapAccum((): Filling => ({ buffer: undefined, length: 0 }), fill, {
      onHalt: (state) => (state.buffer === undefined ? [] : [[state.buffer, state.length] as const])
    }),
    Stream.mapEffect(handOver),
    Stream.buffer({ capacity: lookahead }),
    Stream.mapEffect(({ reply }) => Effect.map(Effect.tryPromise({ try: () => reply, catch: workerFailure }), keyed)),
    Stream.flattenIterable,
    Stream.concat(
      Stream.unwrap(
        Effect.map(Effect.tryPromise({ try: () => job.finish(), catch: workerFailure }), (r) => {
          digest = r.whole
          return Stream.fromIterable(keyed(r))
        })
      )
    ),
    Stream.onExit((exit) => (exit._tag === "Success" ? Effect.void : Effect.sync(job.abort)))
  )
  return { blocks, result: () => ({ digest: digest ?? "", size }) }
}
