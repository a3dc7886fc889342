#!/usr/bin/env node
// Runs the TypeScript sources directly (Node >= 22.19 strips types) with the workspace's source condition.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
// glibc returns freed memory to the kernel as soon as a little sits free at the top of its heap, so a server that
// streams blobs faults the same pages in again and again (full reads measured 40–80 % faster without that, see the
// README's Performance section). Only glibc reads this; an explicit GLIBC_TUNABLES wins.
const tunables = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432"
const r = spawnSync(process.execPath, ["--conditions=@graviton/source", main, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { GLIBC_TUNABLES: tunables, ...process.env }
})
process.exitCode = r.status ?? (r.signal === null ? 3 : 130)
