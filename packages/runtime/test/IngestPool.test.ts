import { createHash } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { BinaryKey, Chunker } from "@graviton/core"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect } from "effect"
import * as IngestPool from "../src/internal/ingestPool.ts"
import * as VerifyBlocks from "../src/internal/verifyBlocks.ts"

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** `bytes` in a hand-over buffer of their own: shared with the workers (the default), or transferred to them. */
const own = (bytes: Uint8Array, kind: "shared" | "transferred" = "shared") => {
  const buffer = kind === "shared" ? new SharedArrayBuffer(bytes.byteLength) : new ArrayBuffer(bytes.byteLength)
  new Uint8Array(buffer).set(bytes)
  return buffer
}

const MiB = 1024 * 1024

/** `data` in consecutive pieces of `sizes` bytes (1 MiB each when not given). */
const pieces = (data: Uint8Array, sizes?: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let at = 0
  for (let i = 0; at < data.byteLength; i++) {
    const n = sizes?.[i] ?? MiB
    out.push(data.subarray(at, Math.min(data.byteLength, at + n)))
    at += n
  }
  return out
}

/** The blocks the chunker cuts from `data` on this thread. */
const cut = (params: Chunker.ValidParams, data: Uint8Array) => {
  const chunker = Chunker.instantiate(params)
  return [...chunker.push(data), ...chunker.finish()]
}

/** One job over `parts`: the blocks it returned (copied out of the hand-over buffers), their digests, the whole's. */
const runJob = async (
  pool: IngestPool.IngestPool,
  params: Chunker.ValidParams,
  parts: ReadonlyArray<Uint8Array>,
  kind: "shared" | "transferred" = "shared"
) => {
  const job = pool.job(Chunker.formatId(params))
  const blocks: Array<Uint8Array> = []
  const digests: Array<string> = []
  for (const part of parts) {
    const r = await job.push(own(part, kind), part.byteLength)
    blocks.push(...r.blocks.map((b) => b.slice()))
    digests.push(...r.digests)
  }
  const end = await job.finish()
  return { blocks: [...blocks, ...end.blocks], digests: [...digests, ...end.digests], whole: end.whole }
}

/** Runs `f` on a fresh pool, terminated afterwards. */
const withPool = (f: (pool: IngestPool.IngestPool) => Promise<void>) =>
  Effect.promise(async () => {
    const pool = IngestPool.make()
    assert.isDefined(pool)
    try {
      await f(pool!)
    } finally {
      await pool!.terminate()
    }
  })

describe("IngestPool", () => {
  it.effect(
    "a job cuts and hashes like the chunker on this thread, and the relaying worker hashes the whole content",
    () =>
      withPool(async (pool) => {
        const data = Gen.randomBytes(3 * 1024 * 1024 + 777)
        const r = await runJob(pool, Chunker.defaults, pieces(data))
        assert.deepStrictEqual(r.digests, cut(Chunker.defaults, data).map(sha))
        assert.strictEqual(r.whole, sha(data))
        assert.isTrue(pool.alive())
      })
  )

  it.effect(
    "shared between the two workers, every block comes back byte-exact with its digest, whatever the push sizes and whether the buffers are shared or transferred",
    () =>
      withPool(async (pool) => {
        // pieces from 1 byte to 300 KiB: blocks inside one buffer (hashed by either worker) and blocks straddling
        // several buffers (assembled by the chunking worker)
        const sizes = [1, 70_000, 3, 300 * 1024, 17, 5000, 1024 * 1024, 2, 123_457, 65_536, 9, 200_000]
        const data = Gen.randomBytes(sizes.reduce((a, b) => a + b, 0))
        for (const kind of ["shared", "transferred"] as const) {
          for (const params of [
            Chunker.defaults,
            { _tag: "FastCdc" as const, min: 2048, avg: 8192, max: 32768 },
            { _tag: "Fixed" as const, size: 4096 }
          ]) {
            const valid = Chunker.validate(params)
            assert.isTrue(valid._tag === "Success")
            if (valid._tag !== "Success") return
            const r = await runJob(pool, valid.success, pieces(data, sizes), kind)
            const expected = cut(valid.success, data)
            assert.strictEqual(r.blocks.length, expected.length)
            assert.isTrue(r.blocks.every((b, i) => Buffer.from(b).equals(expected[i]!)))
            assert.deepStrictEqual(r.digests, expected.map(sha))
            assert.strictEqual(r.whole, sha(data))
          }
        }
      })
  )

  it.effect(
    "an aborted job rejects what is outstanding and later pushes; jobs before and after it on the same pool are unaffected",
    () =>
      withPool(async (pool) => {
        const data = Gen.randomBytes(2 * 1024 * 1024 + 5)
        const expected = cut(Chunker.defaults, data).map(sha)
        // a job running while another is aborted, interleaved on the same two workers
        const running = runJob(pool, Chunker.defaults, pieces(data))
        const aborted = pool.job(Chunker.formatId(Chunker.defaults))
        const outstanding = aborted.push(own(Gen.randomBytes(1024 * 1024)), 1024 * 1024)
        outstanding.catch(() => undefined)
        aborted.abort()
        const settle = (p: Promise<unknown>) =>
          p.then(
            () => "resolved",
            () => "rejected"
          )
        assert.strictEqual(await settle(outstanding), "rejected")
        assert.strictEqual(await settle(aborted.push(own(Gen.randomBytes(16)), 16)), "rejected")
        const first = await running
        assert.deepStrictEqual(first.digests, expected)
        assert.strictEqual(first.whole, sha(data))
        const after = await runJob(pool, Chunker.defaults, pieces(data))
        assert.deepStrictEqual(after.digests, expected)
        assert.strictEqual(after.whole, sha(data))
        assert.isTrue(pool.alive())
      })
  )

  it.effect(
    "a terminated pool is not alive, rejects what is outstanding and what comes later; verification falls back inline",
    () =>
      Effect.gen(function* () {
        const pool = IngestPool.make()!
        const job = pool.job(Chunker.formatId(Chunker.defaults))
        const pending = job.push(own(Gen.randomBytes(1024 * 1024)), 1024 * 1024)
        pending.catch(() => undefined)
        yield* Effect.promise(() => pool.terminate())
        assert.isFalse(pool.alive())
        const outcome = yield* Effect.promise(() =>
          pending.then(
            () => "resolved",
            () => "rejected"
          )
        )
        assert.strictEqual(outcome, "rejected")
        const later = yield* Effect.promise(() =>
          pool.digests(new ArrayBuffer(16), [0, 16]).then(
            () => "resolved",
            () => "rejected"
          )
        )
        assert.strictEqual(later, "rejected")
        // large enough for the worker, which is gone: the same answer, computed here
        const blocks = Array.from({ length: 12 }, () => Gen.randomBytes(64 * 1024))
        const keys = blocks.map((b) => BinaryKey.ofBytes(b))
        const damaged = blocks.map((b, i) => (i === 5 ? b.map((x, j) => (j === 9 ? x ^ 1 : x)) : b))
        assert.deepStrictEqual(yield* VerifyBlocks.offThread(() => pool).check(keys, damaged), [5])
      })
  )
})
