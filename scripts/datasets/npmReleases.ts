/**
 * A versioned real-data set: successive releases of one npm package as plain `.tar` files.
 *
 * Each release is fetched once with `npm pack <name>@<version>` into the cache directory, gunzipped to
 * `<name>-<version>.tar`, and the `.tgz` removed; later runs use the cached `.tar` and need no network.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"

/** Ten consecutive releases (patch and minor) of `typescript`, ~31 MiB of tar each. */
export const typescript = {
  name: "typescript",
  versions: ["5.4.2", "5.4.3", "5.4.4", "5.4.5", "5.5.2", "5.5.3", "5.5.4", "5.6.2", "5.6.3", "5.7.2"]
} as const

export interface Release {
  readonly version: string
  /** Path of the plain `.tar`. */
  readonly path: string
  readonly bytes: number
}

const npmCommand = (): { readonly command: string; readonly prefix: ReadonlyArray<string> } => {
  // under `npm run`, npm_execpath is npm's own CLI script: run it with this node
  const execPath = process.env.npm_execpath
  return execPath?.endsWith(".js") === true
    ? { command: process.execPath, prefix: [execPath] }
    : { command: "npm", prefix: [] }
}

/** The `.tar` of `name@version` in `cacheDir`, fetched and unpacked first if needed. Throws when npm fails. */
export const fetchRelease = (cacheDir: string, name: string, version: string): Release => {
  mkdirSync(cacheDir, { recursive: true })
  const tar = join(cacheDir, `${name}-${version}.tar`)
  if (!existsSync(tar)) {
    const npm = npmCommand()
    const r = spawnSync(
      npm.command,
      [...npm.prefix, "pack", `${name}@${version}`, "--pack-destination", cacheDir, "--ignore-scripts", "--silent"],
      { encoding: "utf8", timeout: 180_000 }
    )
    const tgz = join(cacheDir, `${name}-${version}.tgz`)
    if (r.status !== 0 || !existsSync(tgz)) {
      throw new Error(
        `npm pack ${name}@${version} failed: ${(r.stderr || r.error?.message || "").trim().slice(0, 300)}`
      )
    }
    writeFileSync(`${tar}.partial`, gunzipSync(readFileSync(tgz)))
    renameSync(`${tar}.partial`, tar)
    rmSync(tgz)
  }
  return { version, path: tar, bytes: statSync(tar).size }
}

/** Every release of `set`, in order (at most `count`). */
export const fetchAll = (
  cacheDir: string,
  set: { readonly name: string; readonly versions: ReadonlyArray<string> },
  count: number = set.versions.length
): ReadonlyArray<Release> => set.versions.slice(0, count).map((v) => fetchRelease(cacheDir, set.name, v))
