/**
 * The front of the ingest pipeline: bytes in, keyed blocks out (with their offsets), plus the whole-content digest
 * once the stream has ended. Two strategies give identical results:
 * - `inline`: chunk and hash on the calling thread;
 * - `offThread`: chunk on the calling thread while a worker hashes blocks and the whole content (see hashWorker);
 *   chunks are handed over in order and up to `lookahead` of them are in flight.
 */
import { BinaryKey, type Chunker, type HashAlgorithm, Hashing } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as StorageError from "../StorageError.ts"
import type * as HashWorker from "./hashWorker.ts"

export interface PendingBlock {
  readonly key: BinaryKey.BinaryKey
  readonly bytes: Uint8Array
  readonly offset: number
  readonly index: number
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

const pending = (c: Counter, key: BinaryKey.BinaryKey, bytes: Uint8Array): PendingBlock => {
  const b = { key, bytes, offset: c.offset, index: c.index }
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
  StorageError.unknown("BlobStore.put", { message: "the hashing worker failed", cause })

export const offThread = <E, R>(
  source: Stream.Stream<Uint8Array, E, R>,
  chunker: Chunker.Chunker,
  job: HashWorker.HashJob,
  lookahead = 8
): Ingest<E, R> => {
  const c: Counter = { index: 0, offset: 0 }
  let size = 0
  /** Absolute offset where the block being cut began. */
  let blockStart = 0
  let digest: string | undefined
  const handOver = (chunk: Uint8Array) => {
    const chunkStart = size
    size += chunk.byteLength
    const blocks = chunker.push(chunk)
    const cuts = new Array<number>(blocks.length)
    for (let i = 0; i < blocks.length; i++) {
      blockStart += blocks[i]!.byteLength
      cuts[i] = blockStart - chunkStart
    }
    const digests = job.push(chunk, cuts)
    // a rejection is observed when this element is awaited below; keep it from being reported as unhandled meanwhile
    digests.catch(() => undefined)
    return { blocks, digests }
  }
  const keyedAll = (blocks: ReadonlyArray<Uint8Array>, digests: ReadonlyArray<string>) =>
    blocks.map((bytes, i) => pending(c, BinaryKey.unsafeMake("sha-256", digests[i]!, bytes.byteLength), bytes))
  const blocks = source.pipe(
    Stream.filter((chunk) => chunk.byteLength > 0),
    Stream.map(handOver),
    Stream.buffer({ capacity: lookahead }),
    Stream.mapEffect(({ blocks: bs, digests }) =>
      Effect.map(Effect.tryPromise({ try: () => digests, catch: workerFailure }), (ds) => keyedAll(bs, ds))
    ),
    Stream.flattenIterable,
    Stream.concat(
      Stream.unwrap(
        Effect.suspend(() => {
          const last = chunker.finish()
          return Effect.map(
            Effect.tryPromise({ try: () => job.finish(last.length > 0), catch: workerFailure }),
            (r) => {
              digest = r.whole
              return Stream.fromIterable(keyedAll(last, r.digests))
            }
          )
        })
      )
    ),
    Stream.onExit((exit) => (exit._tag === "Success" ? Effect.void : Effect.sync(job.abort)))
  )
  return { blocks, result: () => ({ digest: digest ?? "", size }) }
}
