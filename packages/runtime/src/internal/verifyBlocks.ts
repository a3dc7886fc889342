/**
 * Verification of blocks read back: the size and digest of each against its key.
 *
 * - {@link inline} hashes on the calling thread.
 * - {@link offThread} copies a batch's SHA-256 blocks back to back into a pooled buffer and has the ingest worker
 *   hash them (one round trip per batch), so the thread streaming the bytes out does not hash; keys of other
 *   algorithms, batches under {@link OFF_THREAD_FROM} bytes (a range read's block or two: the round trip would
 *   cost more than the hashing, measured 1.0k vs 3k 4 KiB range reads/s) and any batch the worker fails are
 *   hashed inline instead. The answer is the same either way.
 */
import type { BinaryKey } from "@graviton/core"
import * as Effect from "effect/Effect"
import { verifies as matches } from "../BlockStore.ts"
import type * as IngestPool from "./ingestPool.ts"

export interface Verifier {
  /** Indices of the blocks whose bytes do not match their key, ascending (empty: every block checks out). */
  readonly check: (
    keys: ReadonlyArray<BinaryKey.BinaryKey>,
    blocks: ReadonlyArray<Uint8Array>
  ) => Effect.Effect<ReadonlyArray<number>>
}

const checkInline = (keys: ReadonlyArray<BinaryKey.BinaryKey>, blocks: ReadonlyArray<Uint8Array>): Array<number> => {
  const bad: Array<number> = []
  for (let i = 0; i < keys.length; i++) if (!matches(keys[i]!, blocks[i]!)) bad.push(i)
  return bad
}

export const inline: Verifier = {
  check: (keys, blocks) => Effect.sync(() => checkInline(keys, blocks))
}

/** Smallest pooled buffer; larger batches round up to a multiple of it. */
const UNIT = 1024 * 1024
/** Idle buffers kept. */
const MAX_IDLE = 4
/** Smallest batch (bytes to hash) sent to the worker. */
export const OFF_THREAD_FROM = 512 * 1024

/** Verification on the pool `getPool` answers at each check (inline when there is none). */
export const offThread = (getPool: () => IngestPool.IngestPool | undefined): Verifier => {
  const idle: Array<ArrayBuffer> = []
  const take = (bytes: number): ArrayBuffer => {
    const i = idle.findIndex((b) => b.byteLength >= bytes)
    if (i >= 0) return idle.splice(i, 1)[0]!
    return new ArrayBuffer(Math.ceil(bytes / UNIT) * UNIT)
  }
  const giveBack = (buffer: ArrayBuffer) => {
    if (idle.length < MAX_IDLE) idle.push(buffer)
  }
  return {
    check: (keys, blocks) =>
      Effect.suspend(() => {
        const bad = new Set<number>()
        /** Indices hashed by the worker, with their spans in the hand-over buffer. */
        const sent: Array<number> = []
        const spans: Array<number> = []
        let total = 0
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!
          const bytes = blocks[i]!
          if (bytes.byteLength !== key.size) bad.add(i)
          else if (key.algorithm !== "sha-256") {
            if (!matches(key, bytes)) bad.add(i)
          } else {
            sent.push(i)
            spans.push(total, bytes.byteLength)
            total += bytes.byteLength
          }
        }
        const answer = () => [...bad].sort((a, b) => a - b)
        /** The worker's share checked here instead. */
        const here = () => {
          for (const i of sent) if (!matches(keys[i]!, blocks[i]!)) bad.add(i)
          return answer()
        }
        const pool = total < OFF_THREAD_FROM ? undefined : getPool()
        if (pool === undefined) return Effect.sync(here)
        const buffer = take(total)
        const view = new Uint8Array(buffer)
        for (const [k, i] of sent.entries()) view.set(blocks[i]!, spans[2 * k]!)
        return Effect.tryPromise(() => pool.digests(buffer, spans)).pipe(
          Effect.map((r) => {
            giveBack(r.buffer)
            sent.forEach((i, k) => {
              if (r.digests[k] !== keys[i]!.digest) bad.add(i)
            })
            return answer()
          }),
          // the worker failed (or is gone): the same check, here
          Effect.catch(() => Effect.sync(here))
        )
      })
  }
}
