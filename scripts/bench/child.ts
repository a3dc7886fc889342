/**
 * Running part of a scenario in a fresh child process: the scenario module is started again with
 * `child <json>`, rebuilds a {@link Context} from the JSON, runs its part and prints its rows as the last line of
 * stdout. A child starts from a clean heap and page cache state instead of inheriting the gigabytes earlier runs
 * of the bench process allocated (which cost later ingest runs up to a third of their speed). Baselines still run
 * in the same process as the figures they are compared with.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Context, Row } from "./report.ts"

/** What a child is told: the serialisable part of the {@link Context}, plus what the part needs. */
export interface Input<A> {
  readonly sizes: Context["sizes"]
  readonly quick: boolean
  readonly tmp: string
  readonly cache: string
  readonly selected: ReadonlyArray<string>
  readonly args: A
}

/** Runs `moduleUrl` (an `import.meta.url`) as a child with `args`; resolves with the rows it printed. */
export const rows = <A>(moduleUrl: string, ctx: Context, args: A): Promise<Array<Row>> => {
  const input: Input<A> = {
    sizes: ctx.sizes,
    quick: ctx.quick,
    tmp: ctx.tmp,
    cache: ctx.cache,
    selected: [...ctx.selected],
    args
  }
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@graviton/source", fileURLToPath(moduleUrl), "child", JSON.stringify(input)],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (d: string) => {
      out += d
    })
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bench child ${fileURLToPath(moduleUrl)} exited with ${code}`))
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as Array<Row>)
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** In a module started by {@link rows}: its input, or `undefined` when the module was merely imported. */
export const input = <A>(moduleUrl: string): Input<A> | undefined =>
  process.argv[2] === "child" && process.argv[1] === fileURLToPath(moduleUrl)
    ? (JSON.parse(process.argv[3]!) as Input<A>)
    : undefined

/** The context of a child: logs to stderr, drops detail tables. */
export const context = <A>(input: Input<A>): Context => {
  const started = Date.now()
  return {
    sizes: input.sizes,
    quick: input.quick,
    tmp: input.tmp,
    cache: input.cache,
    selected: new Set(input.selected),
    log: (line) =>
      process.stderr.write(`[child ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`),
    detail: () => undefined
  }
}

/** Prints a child's rows (the last line of stdout, which {@link rows} parses). */
export const reply = (out: ReadonlyArray<Row>): void => {
  process.stdout.write(`${JSON.stringify(out)}\n`)
}
