/**
 * Scenario 6, memory: peak RSS of a child process ingesting 64 MiB vs 1 GiB (see rss-child.ts) through the engine,
 * on a discarding BlockStore (the engine's own footprint) and on level. Memory must be bounded, not proportional:
 * RSS(1 GiB) / RSS(64 MiB) <= 1.25. Each figure is the median of 3 child runs. The same ratio for a plain loop without the engine (same source, chunking and
 * hashing) is printed as a reference: it shows how much of the growth is V8 collecting dead 1 MiB buffers lazily.
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { MiB, type Row, row, type Scenario } from "./report.ts"

const run = promisify(execFile)
const runs = 3

interface ChildReport {
  readonly maxRssKiB: number
  readonly startRssKiB: number
  readonly blocks: number
}

const child = async (mib: number, backend: string, dir: string): Promise<ChildReport> => {
  const { stdout } = await run(
    process.execPath,
    ["--conditions=@graviton/source", join(import.meta.dirname, "rss-child.ts"), String(mib), backend, dir],
    { maxBuffer: MiB }
  )
  return JSON.parse(stdout.trim().split("\n").pop()!) as ChildReport
}

/** The run with the median peak RSS of `runs` (peaks vary by tens of MiB with V8's GC timing). */
const medianOf = async (f: () => Promise<ChildReport>): Promise<ChildReport> => {
  const reports: Array<ChildReport> = []
  for (let i = 0; i < runs; i++) reports.push(await f())
  return reports.sort((x, y) => x.maxRssKiB - y.maxRssKiB)[runs >> 1]!
}

export const scenario: Scenario = {
  names: ["rss"],
  run: async (ctx) => {
    const { rssSmallMiB: small, rssLargeMiB: large } = ctx.sizes
    const rows: Array<Row> = []
    let n = 0
    for (const backend of ["discard", "level", "raw"]) {
      ctx.log(`rss/${backend}: ${small} MiB and ${large} MiB in child processes`)
      const a = await medianOf(() => child(small, backend, join(ctx.tmp, `rss-${backend}-small-${n++}`)))
      const b = await medianOf(() => child(large, backend, join(ctx.tmp, `rss-${backend}-large-${n++}`)))
      const label = (x: number) => (x >= 1024 ? `${x / 1024} GiB` : `${x} MiB`)
      rows.push(
        row({
          id: `6 rss/${backend === "discard" ? "engine" : backend}`,
          figure:
            backend === "raw"
              ? `plain loop (no engine) over ${label(large)}`
              : `peak RSS ingesting ${label(large)}${backend === "discard" ? " (blocks discarded)" : ""}`,
          unit: "MiB",
          project: b.maxRssKiB / 1024,
          baselineLabel: `peak RSS ingesting ${label(small)}`,
          baseline: a.maxRssKiB / 1024,
          target: backend === "raw" ? undefined : { op: "<=", value: 1.25 },
          note: `median of ${runs} runs; RSS before ingest ${(a.startRssKiB / 1024).toFixed(0)} / ${(b.startRssKiB / 1024).toFixed(0)} MiB; ${a.blocks} / ${b.blocks} blocks`
        })
      )
    }
    return rows
  }
}
