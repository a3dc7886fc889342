import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { LevelLayers } from "@graviton/level"
import { CrashLaws } from "@graviton/runtime/testing"
import { afterAll } from "vitest"

// every session opens (and closes) the same directory: a restart of the process, as far as the store can tell
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graviton-level-crash-laws-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

CrashLaws.run("level (reopened directory)", LevelLayers.layer({ path: dir }))
CrashLaws.run(
  "level (reopened directory, 1 MiB packs)",
  LevelLayers.layer({ path: `${dir}-small`, maxPackSize: 1024 * 1024 })
)
afterAll(() => fs.rmSync(`${dir}-small`, { recursive: true, force: true }))
