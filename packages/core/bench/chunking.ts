/**
 * Chunking micro-benchmark (not a test): `npm run bench -w @graviton/core` or
 * `node --conditions=@graviton/source bench/chunking.ts [--mib 256] [--runs 3] [--warmup rounds] [--json out.json]`.
 *
 * On N MiB of random data (generated with `crypto.randomFillSync` in 1 MiB pieces and fed as 1 MiB buffers, like a
 * file stream) it prints, each as the median of `--runs` timed runs (rounds interleave all figures, after
 * `--warmup` untimed rounds):
 * - raw node:crypto SHA-256 over all buffers (one incremental hash),
 * - FastCDC chunk-only and fixed-size chunk-only through the Chunker API,
 * - FastCDC + SHA-256 per block through the Chunker API,
 * - the plain-loop baseline: the same FastCDC scan written out by hand in one function, hashing each block
 *   incrementally as it is scanned (no carry copies) with `createHash` per block,
 * and the two target ratios: FastCDC chunk-only / SHA-256 (target >= 1.5) and API chunk+hash / plain loop
 * (target >= 0.85), plus block size statistics.
 */
import { createHash, randomFillSync } from "node:crypto"
import { writeFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { Chunker } from "@graviton/core"
import { Result } from "effect"
import { GEAR } from "../src/internal/gear.ts"

const G_TABLE: Int32Array = GEAR // module-local const alias, as in the chunker (TurboFan folds it)

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string" },
    json: { type: "string" }
  }
})
const MiB = 1024 * 1024
const totalMiB = Number(values.mib)
const runs = Number(values.runs)
// Default warm-up: at least 1 GiB through every figure (V8 reaches its final code for `push` after a few hundred
// 1 MiB pushes; before that the scan runs ~15% slower).
const warmup = values.warmup === undefined ? Math.max(1, Math.ceil(1024 / totalMiB)) : Number(values.warmup)
if (
  !Number.isSafeInteger(totalMiB) ||
  totalMiB < 1 ||
  !Number.isSafeInteger(runs) ||
  runs < 1 ||
  !Number.isSafeInteger(warmup) ||
  warmup < 0
) {
  console.error("--mib and --runs must be positive integers, --warmup a non-negative integer")
  process.exit(2)
}

const buffers: Array<Uint8Array> = []
for (let k = 0; k < totalMiB; k++) buffers.push(randomFillSync(new Uint8Array(MiB)))

const params = Chunker.defaults
const fixedParams = Result.getOrThrow(Chunker.fixed(params.avg))

let sink = 0 // keeps results observable so nothing is optimised away

const sha256All = () => {
  const h = createHash("sha256")
  for (const b of buffers) h.update(b)
  sink ^= h.digest()[0]!
}

const chunkOnly = (p: Chunker.ValidParams) => () => {
  const c = Chunker.instantiate(p)
  let count = 0
  for (const b of buffers) count += c.push(b).length
  count += c.finish().length
  sink ^= count
}

const chunkAndHash = () => {
  const c = Chunker.instantiate(params)
  for (const b of buffers) {
    for (const block of c.push(b)) sink ^= createHash("sha256").update(block).digest()[0]!
  }
  for (const block of c.finish()) sink ^= createHash("sha256").update(block).digest()[0]!
}

/**
 * The plain baseline: the same FastCDC scan written out by hand as a per-buffer handler (as a stream callback would
 * be), hashing block pieces straight from the input buffers (no carry copies) with `createHash` per block.
 */
const plainState = { hash: createHash("sha256"), pending: 0, h: 0, digests: undefined as Array<string> | undefined }
const plainMaskBits = 31 - Math.clz32(params.avg)
const PLAIN_MASK_S = (0xffffffff << (32 - plainMaskBits - 2)) | 0
const PLAIN_MASK_L = (0xffffffff << (32 - plainMaskBits + 2)) | 0

const plainScan = (buf: Uint8Array): void => {
  const G = G_TABLE
  const min = params.min | 0
  const avg = params.avg | 0
  const max = params.max | 0
  const maskS = PLAIN_MASK_S
  const maskL = PLAIN_MASK_L
  const st = plainState
  let hash = st.hash
  let h = st.h | 0
  const n = buf.length
  const dv = new DataView(buf.buffer, buf.byteOffset, n)
  let base = 0 - st.pending
  let i = 0
  for (;;) {
    let stop = base + min
    if (i < stop) i = stop
    if (i >= n) break
    let m = maskS
    let phaseEnd = base + avg
    if (i >= phaseEnd) {
      m = maskL
      phaseEnd = base + max
    }
    stop = phaseEnd < n ? phaseEnd : n
    let hit = -1
    const stop8 = stop - 7
    for (; i < stop8; i += 8) {
      const w = dv.getInt32(i, true)
      const v = dv.getInt32(i + 4, true)
      h = ((h << 1) + G[w & 255]!) | 0
      if ((h & m) === 0) {
        hit = i
        break
      }
      h = ((h << 1) + G[(w >>> 8) & 255]!) | 0
      if ((h & m) === 0) {
        hit = i + 1
        break
      }
      h = ((h << 1) + G[(w >>> 16) & 255]!) | 0
      if ((h & m) === 0) {
        hit = i + 2
        break
      }
      h = ((h << 1) + G[w >>> 24]!) | 0
      if ((h & m) === 0) {
        hit = i + 3
        break
      }
      h = ((h << 1) + G[v & 255]!) | 0
      if ((h & m) === 0) {
        hit = i + 4
        break
      }
      h = ((h << 1) + G[(v >>> 8) & 255]!) | 0
      if ((h & m) === 0) {
        hit = i + 5
        break
      }
      h = ((h << 1) + G[(v >>> 16) & 255]!) | 0
      if ((h & m) === 0) {
        hit = i + 6
        break
      }
      h = ((h << 1) + G[v >>> 24]!) | 0
      if ((h & m) === 0) {
        hit = i + 7
        break
      }
    }
    if (hit < 0) {
      for (; i < stop; i++) {
        h = ((h << 1) + G[buf[i]!]!) | 0
        if ((h & m) === 0) break
      }
      if (i < stop) hit = i
    }
    if (hit >= 0) i = hit + 1
    else if (i - base === max) {
      // forced cut
    } else if (i >= n) break
    else continue
    hash.update(base < 0 ? buf.subarray(0, i) : buf.subarray(base, i))
    const d = hash.digest()
    sink ^= d[0]!
    if (st.digests !== undefined) st.digests.push(d.toString("hex"))
    hash = createHash("sha256")
    base = i
    h = 0
  }
  if (base < n) hash.update(base <= 0 ? buf : buf.subarray(base))
  st.pending = n - base
  st.hash = hash
  st.h = h
}

const plainLoop = () => {
  plainState.hash = createHash("sha256")
  plainState.pending = 0
  plainState.h = 0
  for (const buf of buffers) plainScan(buf)
  if (plainState.pending > 0) {
    const d = plainState.hash.digest()
    sink ^= d[0]!
    if (plainState.digests !== undefined) plainState.digests.push(d.toString("hex"))
  }
}

// Untimed check that the API and the plain loop cut and hash identically.
{
  plainState.digests = []
  plainLoop()
  const plainDigests = plainState.digests
  plainState.digests = undefined
  const c = Chunker.instantiate(params)
  const apiDigests: Array<string> = []
  for (const b of buffers)
    for (const block of c.push(b)) apiDigests.push(createHash("sha256").update(block).digest("hex"))
  for (const block of c.finish()) apiDigests.push(createHash("sha256").update(block).digest("hex"))
  if (apiDigests.length !== plainDigests.length || apiDigests.some((d, k) => d !== plainDigests[k])) {
    console.error("the Chunker API and the plain loop disagree on the blocks")
    process.exit(1)
  }
}

const median = (xs: Array<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

/**
 * MiB/s of each figure over the whole data set: `warmup` untimed rounds of every figure, then `runs` rounds in which
 * every figure runs once (interleaved, so a burst of load on the machine hits all figures alike); the median per
 * figure.
 */
const measureAll = <K extends string>(figures: Record<K, () => void>): Record<K, number> => {
  const names = Object.keys(figures) as Array<K>
  for (let w = 0; w < warmup; w++) for (const k of names) figures[k]()
  const rates = Object.fromEntries(names.map((k) => [k, [] as Array<number>])) as Record<K, Array<number>>
  for (let r = 0; r < runs; r++) {
    for (const k of names) {
      const t0 = performance.now()
      figures[k]()
      rates[k].push(totalMiB / ((performance.now() - t0) / 1000))
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(rates[k])])) as Record<K, number>
}

const sizes = (() => {
  const c = Chunker.instantiate(params)
  let count = 0
  let lo = Number.POSITIVE_INFINITY
  let hi = 0
  let sum = 0
  const visit = (blocks: ReadonlyArray<Uint8Array>) => {
    for (const b of blocks) {
      count++
      sum += b.length
      if (b.length < lo) lo = b.length
      if (b.length > hi) hi = b.length
    }
  }
  for (const b of buffers) visit(c.push(b))
  visit(c.finish())
  return { blocks: count, mean: Math.round(sum / count), min: lo, max: hi }
})()

const { sha256, fastcdc, fixed, chunkHash, plain } = measureAll({
  sha256: sha256All,
  fastcdc: chunkOnly(params),
  fixed: chunkOnly(fixedParams),
  chunkHash: chunkAndHash,
  plain: plainLoop
})

const result = {
  node: process.version,
  dataMiB: totalMiB,
  bufferBytes: MiB,
  runs,
  warmupRounds: warmup,
  chunker: Chunker.formatId(params),
  fixedChunker: Chunker.formatId(fixedParams),
  mibPerSecond: {
    sha256,
    fastcdcChunkOnly: fastcdc,
    fixedChunkOnly: fixed,
    fastcdcPlusSha256Api: chunkHash,
    fastcdcPlusSha256PlainLoop: plain
  },
  ratios: {
    chunkOnlyOverSha256: fastcdc / sha256,
    chunkOnlyOverSha256Target: 1.5,
    apiOverPlainLoop: chunkHash / plain,
    apiOverPlainLoopTarget: 0.85
  },
  blockSizes: sizes
}

const line = (label: string, value: string) => console.log(`  ${label.padEnd(62)} ${value}`)
const mibs = (x: number) => `${x.toFixed(0).padStart(9)} MiB/s`
const verdict = (ratio: number, target: number) =>
  `${ratio.toFixed(2).padStart(9)}   (target >= ${target}: ${ratio >= target ? "ok" : "BELOW TARGET"})`
console.log(`chunking benchmark: ${totalMiB} MiB of random data fed as 1 MiB buffers (${process.version})`)
console.log(`  median of ${runs} interleaved runs per figure, after ${warmup} warm-up rounds`)
line("raw SHA-256 (node:crypto, incremental)", mibs(sha256))
line(`FastCDC chunk-only (${result.chunker})`, mibs(fastcdc))
line(`fixed-size chunk-only (${result.fixedChunker}; views, reads no byte)`, mibs(fixed))
line("FastCDC + SHA-256 per block, Chunker API", mibs(chunkHash))
line("FastCDC + SHA-256 per block, plain hand-written loop", mibs(plain))
line("ratio FastCDC chunk-only / SHA-256", verdict(result.ratios.chunkOnlyOverSha256, 1.5))
line("ratio chunk+hash API / plain loop", verdict(result.ratios.apiOverPlainLoop, 0.85))
line(
  "FastCDC blocks",
  `${sizes.blocks}: mean ${sizes.mean} B, min ${sizes.min} B, max ${sizes.max} B (incl. the last; sink ${sink & 1})`
)
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`  wrote ${values.json}`)
}
