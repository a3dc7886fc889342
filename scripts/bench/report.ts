/**
 * The bench's shared vocabulary: result rows, the scenario contract, timing helpers and the printed table.
 *
 * Every row pairs the project's figure with a raw baseline measured in the same process (before and after the
 * project's run where that is cheap, averaged), their ratio, and the target the ratio is judged against.
 */
import { execFileSync } from "node:child_process"

/** Sizes a scenario runs with (`--quick` shrinks them). */
export interface Sizes {
  readonly cpuMiB: number
  readonly ingestMiB: number
  readonly rangeReads: number
  readonly releases: number
  readonly httpMiB: number
  readonly httpSeconds: number
  readonly rssSmallMiB: number
  readonly rssLargeMiB: number
}

export const fullSizes: Sizes = {
  cpuMiB: 256,
  ingestMiB: 1024,
  rangeReads: 1000,
  releases: 10,
  httpMiB: 256,
  httpSeconds: 3,
  rssSmallMiB: 64,
  rssLargeMiB: 1024
}

export const quickSizes: Sizes = {
  cpuMiB: 64,
  ingestMiB: 128,
  rangeReads: 200,
  releases: 4,
  httpMiB: 32,
  httpSeconds: 2,
  rssSmallMiB: 16,
  rssLargeMiB: 256
}

/** A ratio target: `project / baseline` must be `>=` (or `<=`) `value`. */
export interface Target {
  readonly op: ">=" | "<="
  readonly value: number
}

export type Status = "ok" | "BELOW" | "-" | "not available"

/** One line of the report. */
export interface Row {
  /** Scenario id and sub-figure, e.g. `ingest/memory`. */
  readonly id: string
  /** What the project's figure is. */
  readonly figure: string
  readonly unit: string
  readonly project: number | null
  /** What the baseline is (run in the same process). */
  readonly baselineLabel: string
  readonly baseline: number | null
  /** `project / baseline` (null when either is missing). */
  readonly ratio: number | null
  readonly target: Target | null
  readonly status: Status
  readonly note?: string | undefined
}

/** What a scenario gets to run with. */
export interface Context {
  readonly sizes: Sizes
  readonly quick: boolean
  /** Scratch directory for this run (removed at the end). */
  readonly tmp: string
  /** Dataset cache (kept between runs; gitignored). */
  readonly cache: string
  /** Which scenario names were selected. */
  readonly selected: ReadonlySet<string>
  /** Progress output (stderr, so the table stays clean on stdout). */
  readonly log: (line: string) => void
  /** Adds a detail table (printed after the main table, kept in the JSON). */
  readonly detail: (detail: Detail) => void
}

/** Supporting figures of a scenario that do not fit the project-vs-baseline shape. */
export interface Detail {
  readonly title: string
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>
}

/** A scenario module: `names` are the `--only` names it serves; it returns its rows. */
export interface Scenario {
  readonly names: ReadonlyArray<string>
  readonly run: (ctx: Context) => Promise<ReadonlyArray<Row>>
}

/** Builds a row, computing the ratio and the verdict. */
export const row = (options: {
  readonly id: string
  readonly figure: string
  readonly unit: string
  readonly project: number | null
  readonly baselineLabel: string
  readonly baseline: number | null
  readonly target?: Target | undefined
  readonly note?: string | undefined
  /** Use this ratio instead of project/baseline (e.g. a ratio of two other figures). */
  readonly ratio?: number | undefined
}): Row => {
  const ratio =
    options.ratio ??
    (options.project !== null && options.baseline !== null && options.baseline !== 0
      ? options.project / options.baseline
      : null)
  const target = options.target ?? null
  const status: Status =
    target === null || ratio === null
      ? "-"
      : (target.op === ">=" ? ratio >= target.value : ratio <= target.value)
        ? "ok"
        : "BELOW"
  return {
    id: options.id,
    figure: options.figure,
    unit: options.unit,
    project: options.project,
    baselineLabel: options.baselineLabel,
    baseline: options.baseline,
    ratio,
    target,
    status,
    ...(options.note === undefined ? {} : { note: options.note })
  }
}

/** A row for something that cannot run here (no fake numbers). */
export const unavailable = (id: string, figure: string, reason: string, target?: Target): Row => ({
  id,
  figure,
  unit: "",
  project: null,
  baselineLabel: "",
  baseline: null,
  ratio: null,
  target: target ?? null,
  status: "not available",
  note: reason
})

export const MiB = 1024 * 1024

/** Wall time of `f` in seconds. */
export const seconds = async (f: () => unknown): Promise<number> => {
  const t0 = performance.now()
  await f()
  return (performance.now() - t0) / 1000
}

/**
 * Writes every dirty page of the machine back (`sync`), outside any timing: a run must not pay for the writeback of
 * the gigabyte the run before it left in the page cache.
 */
export const settleDisk = (): void => {
  try {
    execFileSync("sync")
  } catch {
    // no sync(1) here: nothing to settle with
  }
}

/** Throughput in MiB/s of processing `bytes` with `f`. */
export const mibPerSecond = async (bytes: number, f: () => unknown): Promise<number> => bytes / MiB / (await seconds(f))

/**
 * Runs the baseline, the project, and the baseline again; returns the project's figure and the mean of the two
 * baseline runs (so drift on the machine during the project's run hits both sides alike).
 */
export const bracketed = async (
  baseline: () => Promise<number>,
  project: () => Promise<number>
): Promise<{
  readonly project: number
  readonly baseline: number
  readonly baselineRuns: readonly [number, number]
}> => {
  const before = await baseline()
  const p = await project()
  const after = await baseline()
  return { project: p, baseline: (before + after) / 2, baselineRuns: [before, after] }
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] ?? Number.NaN
}

const fmt = (x: number | null): string => {
  if (x === null) return "—"
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2)
}

/** A detail table as fixed-width text (numbers right-aligned). */
export const detailTable = (d: Detail): string => {
  const cells = d.rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))
  const widths = d.columns.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)))
  const numeric = d.columns.map((_, i) => d.rows.length > 0 && d.rows.every((r) => typeof r[i] === "number"))
  const render = (r: ReadonlyArray<string>) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [d.title, render(d.columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(render)].join("\n")
}

const targetText = (t: Target | null): string => (t === null ? "" : `${t.op} ${t.value}`)

/** The report as a fixed-width text table. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const header = ["scenario", "project figure", "project", "baseline", "baseline figure", "ratio", "target", "status"]
  const lines = rows.map((r) => [
    r.id,
    r.figure,
    r.project === null ? "—" : `${fmt(r.project)} ${r.unit}`,
    r.baseline === null ? "—" : `${fmt(r.baseline)} ${r.unit}`,
    r.baselineLabel,
    r.ratio === null ? "—" : r.ratio.toFixed(2),
    targetText(r.target),
    r.status
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const render = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === 2 || i === 3 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  const out = [render(header), widths.map((w) => "-".repeat(w)).join("  ")]
  for (const l of lines) out.push(render(l))
  const notes = rows.filter((r) => r.note !== undefined)
  if (notes.length > 0) {
    out.push("", "notes:")
    for (const r of notes) out.push(`  ${r.id} — ${r.figure}: ${r.note}`)
  }
  return out.join("\n")
}
