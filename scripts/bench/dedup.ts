/**
 * Scenario 4, dedup on real data: successive `typescript` releases (plain .tar, see datasets/npmReleases.ts)
 * ingested in order into one fresh engine per configuration. For each chunker — FastCDC at several min/avg/max
 * settings and fixed-size blocks of the same averages — it reports total bytes, fresh bytes (new blocks, logical),
 * the dedup ratio total/fresh, and with per-block zstd (`BlockStore.withCompression`, codec `auto`) the bytes
 * actually stored. Each FastCDC setting's engine ingest rate on random data (memory and level) is measured too, so
 * the default can be chosen from dedup and speed together. Finally the default chunker ingests the releases on
 * level next to the raw pipelines over the same bytes.
 */
import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { Chunker } from "@graviton/core"
import { Result } from "effect"
import * as NpmReleases from "../datasets/npmReleases.ts"
import * as Random from "../datasets/random.ts"
import * as Backends from "./backends.ts"
import * as Child from "./child.ts"
import * as Engine from "./engine.ts"
import * as Pipeline from "./pipeline.ts"
import {
  type Context,
  MiB,
  median,
  mibPerSecond,
  type Row,
  row,
  type Scenario,
  settleDisk,
  unavailable
} from "./report.ts"
import * as Threads from "./threads.ts"

const KiB = 1024
const speedRounds = 2

/** FastCDC settings tried (min = avg/4, max = 4·avg), and fixed-size blocks of the same averages. */
const averages = [8 * KiB, 16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB]
const fastCdc = (avg: number) => Result.getOrThrow(Chunker.fastCdc({ min: avg / 4, avg, max: avg * 4 }))
const fixed = (size: number) => Result.getOrThrow(Chunker.fixed(size))
const label = (p: Chunker.ValidParams) =>
  p._tag === "FastCdc" ? `FastCDC ${p.min / KiB}/${p.avg / KiB}/${p.max / KiB} KiB` : `fixed ${p.size / KiB} KiB`

interface Outcome {
  readonly total: number
  readonly fresh: number
  readonly stored: number
  readonly blocks: number
  readonly rate: number
  /** CPU per thread kind during the timed puts (undefined off Linux). */
  readonly cpu?: Threads.Usage | undefined
}

/** A release as 1 MiB views (nothing is copied or mutated, which the chunker's view contract allows). */
const views = (bytes: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.byteLength; i += MiB) out.push(bytes.subarray(i, Math.min(bytes.byteLength, i + MiB)))
  return out
}

const ingestAll = async (
  releases: ReadonlyArray<Uint8Array>,
  params: Chunker.ValidParams,
  options: { readonly compression?: "auto"; readonly backend?: Backends.Backend; readonly dir?: string } = {}
): Promise<Outcome> => {
  const backend = options.backend ?? Backends.memory
  const engine = await Engine.start(backend.stores(options.dir ?? ""), {
    config: { chunker: params },
    compression: options.compression
  })
  try {
    let total = 0
    let fresh = 0
    let blocks = 0
    const bytes = releases.reduce((n, r) => n + r.byteLength, 0)
    const { value: rate, cpu } = await Threads.measure(() =>
      mibPerSecond(bytes, async () => {
        for (const r of releases) {
          const w = await engine.put(views(r))
          total += w.size
          fresh += w.freshBytes
          blocks += w.blockCount
        }
      })
    )
    return { total, fresh, stored: engine.counters.storedBytes, blocks, rate, cpu }
  } finally {
    await engine.dispose()
  }
}

/** Engine ingest rate of random data with `params` on `backend`. */
const randomRate = async (ctx: Context, params: Chunker.ValidParams, backend: Backends.Backend, n: number) => {
  const bytes = Math.min(256, ctx.sizes.ingestMiB) * MiB
  const engine = await Engine.start(backend.stores(join(ctx.tmp, `dedup-${backend.name}-${n}`)), {
    config: { chunker: params }
  })
  try {
    return await mibPerSecond(bytes, () => engine.put(Random.pieces(`chunker-${n}`, bytes)))
  } finally {
    await engine.dispose()
  }
}

export const scenario: Scenario = {
  names: ["dedup"],
  run: async (ctx) => {
    const set = NpmReleases.typescript
    ctx.log(`dedup: ${ctx.sizes.releases} releases of ${set.name} (cached in ${ctx.cache})`)
    let releases: ReadonlyArray<NpmReleases.Release>
    try {
      releases = NpmReleases.fetchAll(ctx.cache, set, ctx.sizes.releases)
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e)
      return [unavailable("4 dedup", "versioned real-data set", reason, { op: ">=", value: 1.9 })]
    }
    const data = releases.map((r) => new Uint8Array(readFileSync(r.path)))
    const totalMiB = data.reduce((n, d) => n + d.byteLength, 0) / MiB
    const setName = `${set.name} ${releases[0]!.version}…${releases[releases.length - 1]!.version} (${releases.length} tars, ${totalMiB.toFixed(0)} MiB)`

    const results = new Map<string, { plain: Outcome; zstd?: Outcome; memoryRate?: number; levelRate?: number }>()
    for (const avg of averages) {
      for (const params of [fastCdc(avg), fixed(avg)]) {
        ctx.log(`dedup: ${label(params)}`)
        const plain = await ingestAll(data, params)
        const zstd =
          params._tag === "FastCdc" || avg === Chunker.defaults.avg
            ? await ingestAll(data, params, { compression: "auto" })
            : undefined
        results.set(Chunker.formatId(params), { plain, ...(zstd === undefined ? {} : { zstd }) })
      }
    }
    // ingest speed of each FastCDC setting on random data: rounds interleave the settings, best of the rounds
    let n = 0
    for (let round = 0; round < speedRounds; round++) {
      ctx.log(`dedup: random-data ingest rate per FastCDC setting, round ${round + 1} of ${speedRounds}`)
      for (const avg of averages) {
        const params = fastCdc(avg)
        const r = results.get(Chunker.formatId(params))!
        const memory = await randomRate(ctx, params, Backends.memory, n++)
        const level = await randomRate(ctx, params, Backends.level, n++)
        r.memoryRate = Math.max(r.memoryRate ?? 0, memory)
        r.levelRate = Math.max(r.levelRate ?? 0, level)
      }
    }

    const mib = (x: number) => x / MiB
    ctx.detail({
      title: `4 dedup — ${setName}, ingested in order into a fresh memory engine per row; random data: engine ingest of ${Math.min(256, ctx.sizes.ingestMiB)} MiB into a fresh store, best of ${speedRounds} interleaved rounds`,
      columns: [
        "chunker",
        "total MiB",
        "fresh MiB",
        "dedup total/fresh",
        "stored MiB (zstd)",
        "total/stored (zstd)",
        "blocks",
        "mean block B",
        "set ingest MiB/s",
        "random MiB/s memory",
        "random MiB/s level"
      ],
      rows: [...results.entries()].map(([id, r]) => {
        const p = Result.getOrThrow(Chunker.parseId(id))
        return [
          label(p) + (id === Chunker.formatId(Chunker.defaults) ? " (default)" : ""),
          mib(r.plain.total),
          mib(r.plain.fresh),
          r.plain.total / r.plain.fresh,
          r.zstd === undefined ? "—" : mib(r.zstd.stored),
          r.zstd === undefined ? "—" : r.plain.total / r.zstd.stored,
          r.plain.blocks,
          Math.round(r.plain.total / r.plain.blocks),
          r.plain.rate,
          r.memoryRate ?? "—",
          r.levelRate ?? "—"
        ]
      })
    })

    const def = results.get(Chunker.formatId(Chunker.defaults))!
    const fix = results.get(Chunker.formatId(fixed(Chunker.defaults.avg)))!
    const rows: Array<Row> = [
      row({
        id: "4 dedup",
        figure: `dedup total/fresh, ${label(Chunker.defaults)} (default)`,
        unit: "×",
        project: def.plain.total / def.plain.fresh,
        baselineLabel: `same with ${label(fixed(Chunker.defaults.avg))}`,
        baseline: fix.plain.total / fix.plain.fresh,
        target: { op: ">=", value: 1.9 },
        note: `${setName}; fresh ${mib(def.plain.fresh).toFixed(0)} MiB vs ${mib(fix.plain.fresh).toFixed(0)} MiB fixed`
      }),
      row({
        id: "4 dedup+zstd",
        figure: `total/stored with zstd, ${label(Chunker.defaults)}`,
        unit: "×",
        project: def.zstd === undefined ? null : def.plain.total / def.zstd.stored,
        baselineLabel: `same with ${label(fixed(Chunker.defaults.avg))}`,
        baseline: fix.zstd === undefined ? null : fix.plain.total / fix.zstd.stored,
        note: `stored ${mib(def.zstd?.stored ?? 0).toFixed(0)} MiB of ${totalMiB.toFixed(0)} MiB (FastCDC + zstd) vs ${mib(fix.zstd?.stored ?? 0).toFixed(0)} MiB (fixed + zstd)`
      })
    ]
    rows.push(...(await Child.rows(import.meta.url, ctx, {})))
    return rows
  }
}

/** Loads the releases the parent fetched (from the cache) and runs {@link levelDataset}. */
const childMain = async (input: Child.Input<unknown>) => {
  const ctx = Child.context(input)
  const releases = NpmReleases.fetchAll(ctx.cache, NpmReleases.typescript, ctx.sizes.releases)
  Child.reply(
    await levelDataset(
      ctx,
      releases.map((r) => new Uint8Array(readFileSync(r.path)))
    )
  )
}

/**
 * The default chunker ingesting the releases on level, next to the raw pipelines over the same bytes — in a child
 * process of its own (see child.ts), after a warm-up on the first release.
 */
const levelDataset = async (ctx: Context, data: ReadonlyArray<Uint8Array>): Promise<Array<Row>> => {
  const bytes = data.reduce((n, d) => n + d.byteLength, 0)
  ctx.log("dedup: releases on level")
  await ingestAll(data.slice(0, 1), Chunker.defaults) // warm-up: worker threads, JIT
  const rounds = ctx.quick ? 1 : 3
  const ceilings: Array<number> = []
  const raws: Array<number> = []
  const engines: Array<number> = []
  const ceilingCpu: Array<Threads.Usage | undefined> = []
  const engineCpu: Array<Threads.Usage | undefined> = []
  for (let k = 0; k < rounds; k++) {
    const ceiling = await Threads.measure(() =>
      mibPerSecond(bytes, () => {
        for (const d of data) Pipeline.ceiling(views(d))
      })
    )
    ceilings.push(ceiling.value)
    ceilingCpu.push(ceiling.cpu)
    const driver = await Pipeline.levelDriver(join(ctx.tmp, `dedup-raw-level-${k}`))
    settleDisk()
    try {
      raws.push(await mibPerSecond(bytes, () => Pipeline.ingestMany(data.map(views), driver)))
    } finally {
      await driver.close()
    }
    const dir = join(ctx.tmp, `dedup-level-${k}`)
    settleDisk()
    const outcome = await ingestAll(data, Chunker.defaults, { backend: Backends.level, dir })
    engines.push(outcome.rate)
    engineCpu.push(outcome.cpu)
    rmSync(dir, { recursive: true, force: true })
  }
  const runs = (xs: ReadonlyArray<number>) => xs.map((x) => x.toFixed(0)).join(" / ")
  const engine = { rate: median(engines) }
  const note = `medians of ${rounds} interleaved rounds: engine ${runs(engines)}, raw ${runs(raws)}, ceiling ${runs(ceilings)} MiB/s`
  return [
    row({
      id: "4 dataset/level",
      figure: "engine put of the releases, in order",
      unit: "MiB/s",
      project: engine.rate,
      baselineLabel: "raw pipeline → classic-level batch (dedup by set)",
      baseline: median(raws),
      note
    }),
    row({
      id: "4 dataset/level",
      figure: "engine put of the releases, in order",
      unit: "MiB/s",
      project: engine.rate,
      baselineLabel: "CPU ceiling (FastCDC+SHA-256, no store)",
      baseline: median(ceilings),
      target: { op: ">=", value: 0.6 },
      note: `CPU, means of the rounds: engine ${Threads.describe(Threads.mean(engineCpu), bytes)}; ceiling ${Threads.describe(Threads.mean(ceilingCpu), bytes)}`
    })
  ]
}

const asChild = Child.input(import.meta.url)
if (asChild !== undefined) await childMain(asChild)
