import { assert, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect } from "effect"
import * as IngestPool from "../src/internal/ingestPool.ts"
import * as VerifyBlocks from "../src/internal/verifyBlocks.ts"

/** A batch of blocks with keys, some of them damaged (a flipped byte), cut short, or under a BLAKE3 key. */
const batch = (count: number, size: number, damage: ReadonlyArray<number>) => {
  const blocks = Array.from({ length: count }, (_, i) => Gen.randomBytes(size + i))
  const keys = blocks.map((b, i) => BinaryKey.ofBytes(b, i % 5 === 4 ? "blake3" : "sha-256"))
  const served = blocks.map((b, i) => {
    if (!damage.includes(i)) return b
    if (i % 3 === 2) return b.subarray(0, b.byteLength - 1)
    const copy = b.slice()
    copy[i % copy.byteLength]! ^= 0x40
    return copy
  })
  return { keys, served }
}

describe("VerifyBlocks", () => {
  const pool = IngestPool.make()

  it.effect(
    "off-thread and inline verification find exactly the damaged blocks, below and above the hand-over size",
    () =>
      Effect.gen(function* () {
        assert.isDefined(pool)
        const offThread = VerifyBlocks.offThread(() => pool)
        const cases = [
          { count: 2, size: 40_000, damage: [1] }, // under OFF_THREAD_FROM: hashed inline
          { count: 16, size: 70_000, damage: [0, 2, 4, 9, 15] }, // over it: hashed on the worker
          { count: 16, size: 70_000, damage: [] },
          { count: 3, size: 300_000, damage: [2] }
        ]
        for (const c of cases) {
          const { keys, served } = batch(c.count, c.size, c.damage)
          const expected = [...c.damage].sort((a, b) => a - b)
          assert.deepStrictEqual(yield* VerifyBlocks.inline.check(keys, served), expected)
          assert.deepStrictEqual(yield* offThread.check(keys, served), expected)
          // again, with the pooled hand-over buffer reused
          assert.deepStrictEqual(yield* offThread.check(keys, served), expected)
        }
        assert.deepStrictEqual(yield* offThread.check([], []), [])
      })
  )
})
