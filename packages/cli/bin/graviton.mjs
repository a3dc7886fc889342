#!/usr/bin/env node
// Runs the TypeScript sources directly (Node >= 22.19 strips types) with the workspace's source condition.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const r = spawnSync(process.execPath, ["--conditions=@graviton/source", main, ...process.argv.slice(2)], {
  stdio: "inherit"
})
process.exitCode = r.status ?? (r.signal === null ? 3 : 130)
