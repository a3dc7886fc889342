/**
 * Scenarios 2 and 3 on every backend: ingest N MiB (1 GiB) of incompressible data through the engine, then read it
 * back whole and with random 4 KiB ranges.
 *
 * Per backend, in a child process of its own (see child.ts): three interleaved rounds (one with `--quick`) of the CPU
 * ceiling (source → FastCDC → SHA-256/block, nothing stored), the raw pipeline into the raw driver and the engine
 * into a fresh store, each 1 GiB; medians are reported, so one slow run (this machine's neighbours steal time)
 * does not decide a ratio. Reads then run on the last round's blob: raw driver, engine, raw driver.
 * Every store is fresh, so nothing is deduplicated and every block is written.
 */
import { createHash } from "node:crypto"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { BinaryKey, Chunker } from "@graviton/core"
import * as LevelBench from "../../packages/level/bench/level.ts"
import * as Random from "../datasets/random.ts"
import * as Backends from "./backends.ts"
import * as Child from "./child.ts"
import * as Engine from "./engine.ts"
import * as Pipeline from "./pipeline.ts"
import {
  bracketed,
  type Context,
  MiB,
  median,
  mibPerSecond,
  type Row,
  row,
  type Scenario,
  settleDisk,
  type Target,
  unavailable
} from "./report.ts"
import * as Threads from "./threads.ts"

const rangeBytes = 4096

/** Deterministic pseudo-random offsets (mulberry32). */
const offsets = (count: number, size: number, seed = 7): Array<number> => {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return Array.from({ length: count }, () => Math.floor(next() * (size - rangeBytes + 1)))
}

const targets: Record<string, { readonly ingest?: Target; readonly read?: Target }> = {
  memory: { ingest: { op: ">=", value: 0.8 } },
  level: { ingest: { op: ">=", value: 0.6 }, read: { op: ">=", value: 0.7 } },
  pg: { ingest: { op: ">=", value: 0.7 } },
  s3: { ingest: { op: ">=", value: 0.8 } },
  "pg+s3": {}
}

/** JIT warm-up of every code path on a small blob (memory backend). */
const warmUp = async (ctx: Context) => {
  const bytes = Math.min(ctx.sizes.ingestMiB, 128) * MiB
  ctx.log(`ingest: warm-up on ${bytes / MiB} MiB`)
  Pipeline.ceiling(Random.pieces("warm", bytes))
  const driver = Pipeline.memoryDriver()
  const raw = await Pipeline.ingest(Random.pieces("warm", bytes), driver)
  await Pipeline.readAll(driver, raw.manifest)
  await driver.close()
  const engine = await Engine.start(Engine.memoryStores())
  const r = await engine.put(Random.pieces("warm", bytes))
  await engine.read(r.key)
  await engine.dispose()
}

const runBackend = async (ctx: Context, backend: Backends.Backend, bytes: number): Promise<Array<Row>> => {
  const name = backend.name
  const mib = bytes / MiB
  const source = () => Random.pieces("blob", bytes)
  let dirs = 0
  const dir = (what: string) => join(ctx.tmp, `${name}-${what}-${dirs++}`)
  /** CPU per thread kind of each timed ceiling and engine run. */
  const ceilingCpu: Array<Threads.Usage | undefined> = []
  const engineCpu: Array<Threads.Usage | undefined> = []
  const ceilingRate = async () => {
    const { value, cpu } = await Threads.measure(() => mibPerSecond(bytes, () => Pipeline.ceiling(source())))
    ceilingCpu.push(cpu)
    return value
  }
  let kept: { driver: Pipeline.RawDriver; manifest: Pipeline.RawManifest; digest: string } | undefined
  const rawIngest = async () => {
    const driver = await backend.raw(dir("raw"))
    settleDisk()
    let out: Awaited<ReturnType<typeof Pipeline.ingest>> | undefined
    const rate = await mibPerSecond(bytes, async () => {
      out = await Pipeline.ingest(source(), driver)
    })
    await driver.settle?.()
    if (kept !== undefined) await kept.driver.close()
    kept = { driver, manifest: out!.manifest, digest: out!.digest }
    return rate
  }

  const rounds = ctx.quick ? 1 : 3
  ctx.log(`ingest/${name}: ${rounds} round(s) of ceiling, raw (${backend.name}), engine — ${mib} MiB each; medians`)
  const ceilings: Array<number> = []
  const raws: Array<number> = []
  const engines: Array<number> = []
  /** Memory only: the engine over a BlockStore that discards the bytes (nothing stored, like the ceiling). */
  const bare: Array<number> = []
  let engine: Engine.Engine | undefined
  let engineDir: string | undefined
  let result: Awaited<ReturnType<Engine.Engine["put"]>> | undefined
  try {
    for (let round = 0; round < rounds; round++) {
      ceilings.push(await ceilingRate())
      if (name === "memory") {
        // right after the ceiling, under the same conditions (before this round's raw pipeline and engine each
        // materialise 1 GiB of copies)
        const discarding = await Engine.start(Engine.discardingStores())
        try {
          bare.push(await mibPerSecond(bytes, () => discarding.put(source())))
        } finally {
          await discarding.dispose()
        }
      }
      raws.push(await rawIngest())
      // a fresh store per round; the last one is kept for the reads
      if (engine !== undefined) await engine.dispose()
      if (engineDir !== undefined) rmSync(engineDir, { recursive: true, force: true })
      engineDir = dir("engine")
      const current = await Engine.start(backend.stores(engineDir))
      engine = current
      settleDisk()
      const timed = await Threads.measure(() =>
        mibPerSecond(bytes, async () => {
          result = await current.put(source())
        })
      )
      engines.push(timed.value)
      engineCpu.push(timed.cpu)
    }
    const blob = result!
    const raw = kept!
    if (blob.key.digest !== raw.digest || blob.blockCount !== raw.manifest.digests.length) {
      throw new Error(`ingest/${name}: the engine and the raw pipeline disagree on the blob`)
    }
    const engineRate = median(engines)
    const runs = (xs: ReadonlyArray<number>) => xs.map((x) => x.toFixed(0)).join(" / ")
    const rawLabel = `raw pipeline → ${raw.driver.name}`
    const rows: Array<Row> = []
    if (ctx.selected.has("ingest")) {
      const t = targets[name]?.ingest
      rows.push(
        row({
          id: `2 ingest/${name}`,
          figure: `engine put ${mib} MiB random`,
          unit: "MiB/s",
          project: engineRate,
          baselineLabel: rawLabel,
          baseline: median(raws),
          note: `${blob.blockCount} blocks, ${(engine!.counters.storedBytes / MiB).toFixed(0)} MiB stored; medians of ${rounds} interleaved rounds: engine runs ${runs(engines)}, raw runs ${runs(raws)} MiB/s`
        }),
        row({
          id: `2 ingest/${name}`,
          figure: `engine put ${mib} MiB random`,
          unit: "MiB/s",
          project: engineRate,
          baselineLabel: "CPU ceiling (FastCDC+SHA-256, no store)",
          baseline: median(ceilings),
          target: name === "memory" ? undefined : t,
          note: `ceiling runs ${runs(ceilings)} MiB/s; CPU, means of the rounds: engine ${Threads.describe(Threads.mean(engineCpu), bytes)}; ceiling ${Threads.describe(Threads.mean(ceilingCpu), bytes)}`
        })
      )
      if (name === "memory") {
        rows.push(
          row({
            id: "2 ingest/engine",
            figure: `engine put ${mib} MiB random, bytes discarded`,
            unit: "MiB/s",
            project: median(bare),
            baselineLabel: "CPU ceiling (FastCDC+SHA-256, no store)",
            baseline: median(ceilings),
            target: t,
            note: `the engine over a BlockStore that keeps keys and drops bytes: nothing stored on either side; runs ${runs(bare)} MiB/s. On memory every block is copied into fresh memory, as the raw pipeline → Map does (compare those two)`
          })
        )
      }
    }
    const read = ctx.selected.has("reads") ? await reads(ctx, name, engine!, blob.key, raw, bytes) : undefined
    rows.push(...(read?.rows ?? []))
    if (name === "level") rows.push(...(await levelIo(ctx, bytes, engineRate, read?.fullRate)))
    return rows
  } finally {
    await engine?.dispose()
    await kept?.driver.close()
  }
}

const reads = async (
  ctx: Context,
  name: string,
  engine: Engine.Engine,
  key: Parameters<Engine.Engine["read"]>[0],
  raw: { driver: Pipeline.RawDriver; manifest: Pipeline.RawManifest },
  bytes: number
): Promise<{ readonly rows: Array<Row>; readonly fullRate: number }> => {
  const mib = bytes / MiB
  ctx.log(`reads/${name}: full read and ${ctx.sizes.rangeReads} range reads`)
  const rawCpu: Array<Threads.Usage | undefined> = []
  let engineCpu: Threads.Usage | undefined
  const full = await bracketed(
    async () => {
      const r = await Threads.measure(() => mibPerSecond(bytes, () => Pipeline.readAll(raw.driver, raw.manifest)))
      rawCpu.push(r.cpu)
      return r.value
    },
    async () => {
      const r = await Threads.measure(() => mibPerSecond(bytes, () => engine.read(key)))
      engineCpu = r.cpu
      return r.value
    }
  )
  // what verification alone costs: raw reads plus SHA-256 of every block
  const verified = await mibPerSecond(bytes, async () => {
    for (let i = 0; i < raw.manifest.digests.length; i += 16) {
      for (const b of await raw.driver.read(raw.manifest.digests.slice(i, i + 16))) createHash("sha256").update(b)
    }
  })
  const starts = offsets(ctx.sizes.rangeReads, bytes)
  let rawFetched = 0
  const rawRanges = async () => {
    rawFetched = 0
    const t0 = performance.now()
    for (const s of starts)
      rawFetched += (await Pipeline.readRange(raw.driver, raw.manifest, s, s + rangeBytes)).fetched
    return starts.length / ((performance.now() - t0) / 1000)
  }
  let engineFetched = 0
  const ranges = await bracketed(rawRanges, async () => {
    const before = engine.counters.fetchedBytes
    const t0 = performance.now()
    for (const s of starts) {
      const n = await engine.read(key, { start: s, end: s + rangeBytes })
      if (n !== rangeBytes) throw new Error(`range read returned ${n} bytes`)
    }
    const rate = starts.length / ((performance.now() - t0) / 1000)
    engineFetched = engine.counters.fetchedBytes - before
    return rate
  })
  const t = targets[name]?.read
  const rows = [
    row({
      id: `3 read/${name}`,
      figure: `engine get, whole ${mib} MiB blob`,
      unit: "MiB/s",
      project: full.project,
      baselineLabel: `raw driver reads (${raw.driver.name})`,
      baseline: full.baseline,
      target: t,
      note: `CPU: engine ${Threads.describe(engineCpu, bytes)}; raw reads, mean of the two runs, ${Threads.describe(Threads.mean(rawCpu), bytes)}`
    }),
    row({
      id: `3 read/${name}`,
      figure: `engine get, whole ${mib} MiB blob`,
      unit: "MiB/s",
      project: full.project,
      baselineLabel: "raw reads + SHA-256 check per block",
      baseline: verified,
      note: "the engine verifies every block before emitting it; this baseline does the same work"
    }),
    row({
      id: `3 range/${name}`,
      figure: `${starts.length} random 4 KiB range reads`,
      unit: "reads/s",
      project: ranges.project,
      baselineLabel: "raw: locate block(s), read, slice",
      baseline: ranges.baseline
    }),
    row({
      id: `3 range/${name}`,
      figure: "bytes fetched from the BlockStore per range read",
      unit: "B",
      project: engineFetched / starts.length,
      baselineLabel: "raw driver bytes per range read",
      baseline: rawFetched / starts.length,
      note: `a 4 KiB read fetches the whole block(s) it touches (${(engineFetched / starts.length / rangeBytes || 0).toFixed(1)}× read amplification)`
    })
  ]
  return { rows, fullRate: full.project }
}

/**
 * Level's own raw I/O baselines (packages/level/bench/level.ts): the same blocks, cut and hashed beforehand and
 * held in memory, written and read back with pack-file appends/preads (the byte path level ships) and with
 * classic-level batched puts/gets (64 MiB write buffer). I/O only: no chunking or hashing is timed.
 */
const levelIo = async (
  ctx: Context,
  bytes: number,
  engineWrite: number,
  engineRead: number | undefined
): Promise<Array<Row>> => {
  ctx.log("ingest/level: level bench raw I/O baselines (pack appends/reads, classic-level puts/gets)")
  const chunker = Chunker.instantiate(Chunker.defaults)
  const blocks: Array<{ readonly text: string; readonly bytes: Uint8Array }> = []
  const add = (b: Uint8Array) => blocks.push({ text: BinaryKey.format(BinaryKey.ofBytes(b)), bytes: b })
  for (const piece of Random.pieces("blob", bytes)) for (const b of chunker.push(piece)) add(b)
  for (const b of chunker.finish()) add(b)
  const packDir = join(ctx.tmp, "level-bench-packs")
  const levelDir = join(ctx.tmp, "level-bench-classic")
  const appends = await LevelBench.rawPackAppends(blocks, packDir)
  const puts = await LevelBench.rawLevelPuts(blocks, levelDir, { writeBufferSize: 64 * MiB })
  const mib = bytes / MiB
  const rows: Array<Row> = []
  if (ctx.selected.has("ingest")) {
    rows.push(
      row({
        id: "2 ingest/level",
        figure: `engine put ${mib} MiB random`,
        unit: "MiB/s",
        project: engineWrite,
        baselineLabel: "raw pack appends, same blocks, I/O only",
        baseline: LevelBench.mibps(appends),
        note: "level bench figures: single runs after the engine's, blocks precomputed in memory, I/O only"
      }),
      row({
        id: "2 ingest/level",
        figure: `engine put ${mib} MiB random`,
        unit: "MiB/s",
        project: engineWrite,
        baselineLabel: "raw classic-level puts (64 MiB buffer), I/O only",
        baseline: LevelBench.mibps(puts)
      })
    )
  }
  if (engineRead !== undefined) {
    const packReads = await LevelBench.rawPackReads(blocks, appends.locations, packDir)
    const gets = await LevelBench.rawLevelGets(blocks, levelDir)
    rows.push(
      row({
        id: "3 read/level",
        figure: `engine get, whole ${mib} MiB blob`,
        unit: "MiB/s",
        project: engineRead,
        baselineLabel: "raw pack preads, 4 in flight, I/O only",
        baseline: LevelBench.mibps(packReads)
      }),
      row({
        id: "3 read/level",
        figure: `engine get, whole ${mib} MiB blob`,
        unit: "MiB/s",
        project: engineRead,
        baselineLabel: "raw classic-level gets, 4 in flight",
        baseline: LevelBench.mibps(gets)
      })
    )
  }
  return rows
}

const childMain = async (input: Child.Input<{ readonly backend: string }>) => {
  const backend = Backends.all().find((b) => b.name === input.args.backend)
  if (backend === undefined || !Backends.isAvailable(backend)) throw new Error(`no backend ${input.args.backend}`)
  const ctx = Child.context(input)
  Random.prepare("blob")
  Random.prepare("warm")
  await warmUp(ctx)
  Child.reply(await runBackend(ctx, backend, ctx.sizes.ingestMiB * MiB))
}

const asChild = Child.input<{ readonly backend: string }>(import.meta.url)
if (asChild !== undefined) await childMain(asChild)

export const scenario: Scenario = {
  names: ["ingest", "reads"],
  run: async (ctx) => {
    const rows: Array<Row> = []
    for (const b of Backends.all()) {
      if (Backends.isAvailable(b)) {
        rows.push(...(await Child.rows(import.meta.url, ctx, { backend: b.name })))
        continue
      }
      const t = targets[b.name] ?? {}
      if (ctx.selected.has("ingest")) rows.push(unavailable(`2 ingest/${b.name}`, "engine put", b.reason, t.ingest))
      if (ctx.selected.has("reads")) rows.push(unavailable(`3 read/${b.name}`, "engine get", b.reason, t.read))
    }
    return rows
  }
}
