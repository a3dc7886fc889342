/**
 * `npm run bench`: the whole-project benchmark (issue 7). Runs bounded scenarios, prints a table (stdout; progress
 * goes to stderr) and optionally writes JSON.
 *
 *   npm run bench -- [--only cpu,ingest,reads,dedup,http,rss] [--quick] [--json out.json]
 *
 * Each row: the project's figure, a raw baseline run in the same process right before/after it, their ratio, and
 * the target with ok/BELOW. Scenarios that cannot run here (backends not built, services absent) print
 * "not available" — never a made-up number.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import * as Blob from "./bench/blob.ts"
import * as Cpu from "./bench/cpu.ts"
import * as Dedup from "./bench/dedup.ts"
import * as Http from "./bench/http.ts"
import {
  type Context,
  type Detail,
  detailTable,
  fullSizes,
  quickSizes,
  type Row,
  type Scenario,
  table,
  unavailable
} from "./bench/report.ts"
import * as Rss from "./bench/rss.ts"

const scenarios: ReadonlyArray<Scenario> = [Cpu.scenario, Blob.scenario, Dedup.scenario, Http.scenario, Rss.scenario]
const allNames = scenarios.flatMap((s) => s.names)

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false }
  }
})
if (values.help) {
  console.log(`usage: npm run bench -- [--only ${allNames.join(",")}] [--quick] [--json out.json]`)
  process.exit(0)
}
const selected = new Set(values.only === undefined ? allNames : values.only.split(",").map((s) => s.trim()))
const unknown = [...selected].filter((n) => !allNames.includes(n))
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(", ")} (known: ${allNames.join(", ")})`)
  process.exit(2)
}

const root = resolve(import.meta.dirname, "..")
const tmp = mkdtempSync(join(tmpdir(), "graviton-bench-"))
const started = Date.now()
const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
const details: Array<Detail> = []
const ctx: Context = {
  sizes: values.quick ? quickSizes : fullSizes,
  quick: values.quick,
  tmp,
  cache: join(root, ".bench-cache"),
  selected,
  log,
  detail: (d) => details.push(d)
}

const machine = {
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  /** 1-minute load average when the run started and ended: other work on the machine skews absolute figures. */
  loadAverage: { start: loadavg()[0]!, end: 0 }
}

const rows: Array<Row> = []
try {
  for (const s of scenarios) {
    if (!s.names.some((n) => selected.has(n))) continue
    try {
      rows.push(...(await s.run(ctx)))
    } catch (e) {
      log(`scenario ${s.names.join("/")} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
      rows.push(unavailable(s.names.join("/"), "scenario failed", e instanceof Error ? e.message : String(e)))
      process.exitCode = 1
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}

// group by scenario number (a stable sort keeps each scenario's own order)
rows.sort((a, b) => (Number.parseInt(a.id, 10) || 0) - (Number.parseInt(b.id, 10) || 0))
const elapsed = (Date.now() - started) / 1000
machine.loadAverage.end = loadavg()[0]!
console.log(
  `\ngraviton bench${values.quick ? " (quick)" : ""} — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${elapsed.toFixed(0)} s, load average ${machine.loadAverage.start.toFixed(1)} → ${machine.loadAverage.end.toFixed(1)}\n`
)
console.log(table(rows))
for (const d of details) console.log(`\n${detailTable(d)}`)
const below = rows.filter((r) => r.status === "BELOW")
console.log(
  `\n${rows.filter((r) => r.status === "ok").length} targets ok, ${below.length} below${below.length > 0 ? `: ${below.map((r) => r.id).join(", ")}` : ""}`
)
if (values.json !== undefined) {
  const out = {
    date: new Date(started).toISOString(),
    quick: values.quick,
    elapsedSeconds: elapsed,
    machine,
    sizes: ctx.sizes,
    rows,
    details
  }
  writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`)
  console.log(`wrote ${values.json}`)
}
