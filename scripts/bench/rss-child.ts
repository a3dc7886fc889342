/**
 * Scenario 6's child process: ingests `<MiB>` of incompressible data (generated on the fly, constant memory) through
 * the engine and prints one JSON line `{ mib, backend, maxRssKiB, startRssKiB, blocks }`.
 *
 *   node --conditions=@graviton/source scripts/bench/rss-child.ts <MiB> [discard|level|raw] [dir]
 *
 * `discard`: the engine over a BlockStore that keeps only the keys it was given (the engine's own memory);
 * `level`: the engine on the embedded backend in `dir`; `raw`: no engine, the plain loop of pipeline.ts (source →
 * FastCDC → SHA-256 per block and of the whole), to show what Node itself does with the same garbage.
 */
import { readFileSync } from "node:fs"
import { LevelLayers } from "@graviton/level"
import type { Layer } from "effect"
import * as Random from "../datasets/random.ts"
import * as Engine from "./engine.ts"
import * as Pipeline from "./pipeline.ts"

const MiB = 1024 * 1024

const [mibText, backend = "discard", dir = ""] = process.argv.slice(2)
const mib = Number(mibText)
const stores: Layer.Layer<Engine.EngineStores, unknown> =
  backend === "level" ? LevelLayers.layer({ path: dir }) : Engine.discardingStores()

const ingest = async (): Promise<{ readonly startRssKiB: number; readonly blocks: number }> => {
  if (backend === "raw") {
    const startRssKiB = Math.round(process.memoryUsage.rss() / 1024)
    Pipeline.ceiling(Random.streamPieces("rss", mib * MiB), undefined, { wholeHash: true })
    return { startRssKiB, blocks: 0 }
  }
  const engine = await Engine.start(stores)
  const startRssKiB = Math.round(process.memoryUsage.rss() / 1024)
  const result = await engine.put(Random.streamPieces("rss", mib * MiB))
  await engine.dispose()
  return { startRssKiB, blocks: result.blockCount }
}
/**
 * Peak RSS of this process image. Not `process.resourceUsage().maxRSS`: Linux carries the parent's high-water mark
 * into a forked child's `ru_maxrss` across exec, so a child of a large parent reports the parent's peak. `VmHWM`
 * in /proc/self/status belongs to the new image only; elsewhere, the highest of RSS samples taken every 5 ms.
 */
const peakRssKiB = (): number => {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))
    if (m !== null) return Number(m[1])
  } catch {
    // not Linux
  }
  return Math.round(sampledPeak / 1024)
}
let sampledPeak = process.memoryUsage.rss()
const sampler = setInterval(() => {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())
}, 5)

const { startRssKiB, blocks } = await ingest()
clearInterval(sampler)
console.log(JSON.stringify({ mib, backend, maxRssKiB: peakRssKiB(), startRssKiB, blocks }))
