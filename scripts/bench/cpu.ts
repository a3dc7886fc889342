/**
 * Scenario 1, the CPU ceiling: FastCDC + SHA-256 per block over N MiB, nothing stored — from a file written once
 * to the scratch directory (so it is in the page cache) read with `fs.createReadStream` in 1 MiB chunks, and from
 * memory. The baseline is SHA-256 of the same bytes without chunking, so the ratio is what chunking costs. The
 * "+ blob hash" figures add the whole-content SHA-256 a content key needs.
 */
import { createHash } from "node:crypto"
import { createReadStream, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Random from "../datasets/random.ts"
import * as Pipeline from "./pipeline.ts"
import { MiB, median, type Row, row, type Scenario } from "./report.ts"

const runs = 3

const fromFile = (path: string) => createReadStream(path, { highWaterMark: MiB })

const hashOnly = async (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => {
  const h = createHash("sha256")
  for await (const b of source) h.update(b)
  return h.digest()[0]!
}

export const scenario: Scenario = {
  names: ["cpu"],
  run: async (ctx) => {
    const mib = ctx.sizes.cpuMiB
    const bytes = mib * MiB
    const buffers = [...Random.pieces("cpu", bytes)]
    const file = join(ctx.tmp, "cpu.bin")
    writeFileSync(file, Buffer.concat(buffers))
    const figures = {
      fileChunkHash: () => Pipeline.ceilingAsync(fromFile(file)),
      fileChunkHashBlob: () => Pipeline.ceilingAsync(fromFile(file), undefined, { wholeHash: true }),
      fileHash: () => hashOnly(fromFile(file)),
      memChunkHash: async () => Pipeline.ceiling(buffers),
      memChunkHashBlob: async () => Pipeline.ceiling(buffers, undefined, { wholeHash: true }),
      memHash: () => hashOnly(buffers)
    }
    type Name = keyof typeof figures
    const names = Object.keys(figures) as Array<Name>
    ctx.log(`cpu: ${mib} MiB, warm-up then ${runs} interleaved rounds`)
    for (const n of names) await figures[n]() // warm-up (JIT, page cache)
    const rates = Object.fromEntries(names.map((n) => [n, [] as Array<number>])) as Record<Name, Array<number>>
    for (let r = 0; r < runs; r++) {
      for (const n of names) {
        const t0 = performance.now()
        await figures[n]()
        rates[n].push(mib / ((performance.now() - t0) / 1000))
      }
    }
    const m = (n: Name) => median(rates[n])
    const rows: Array<Row> = [
      row({
        id: "1 cpu/file",
        figure: "read + FastCDC + SHA-256/block (CPU ceiling)",
        unit: "MiB/s",
        project: m("fileChunkHash"),
        baselineLabel: "read + SHA-256, no chunking",
        baseline: m("fileHash")
      }),
      row({
        id: "1 cpu/file",
        figure: "… + whole-blob SHA-256 (a blob key)",
        unit: "MiB/s",
        project: m("fileChunkHashBlob"),
        baselineLabel: "read + SHA-256, no chunking",
        baseline: m("fileHash")
      }),
      row({
        id: "1 cpu/memory",
        figure: "FastCDC + SHA-256/block",
        unit: "MiB/s",
        project: m("memChunkHash"),
        baselineLabel: "SHA-256, no chunking",
        baseline: m("memHash")
      }),
      row({
        id: "1 cpu/memory",
        figure: "… + whole-blob SHA-256",
        unit: "MiB/s",
        project: m("memChunkHashBlob"),
        baselineLabel: "SHA-256, no chunking",
        baseline: m("memHash"),
        note: `${mib} MiB, median of ${runs} interleaved rounds after a warm-up round`
      })
    ]
    return rows
  }
}
