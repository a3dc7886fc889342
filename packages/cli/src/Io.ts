/**
 * Byte I/O for the CLI: files and stdin as streams, stdout and atomically written files as sinks, and a progress
 * line on a TTY.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeSink, NodeStream } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** A local I/O failure (file missing, unreadable, disk full…). */
export class IoError extends Schema.TaggedError<IoError>("@graviton/cli/IoError")("IoError", {
  message: Schema.String
}) {}

const ioError = (what: string) => (cause: unknown) =>
  new IoError({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** The bytes of a file, or of stdin for `-`. */
export const source = (file: string): Stream.Stream<Uint8Array, IoError> =>
  NodeStream.fromReadable<Uint8Array, IoError>({
    evaluate: () => (file === "-" ? process.stdin : fs.createReadStream(file, { highWaterMark: 1024 * 1024 })),
    onError: ioError(file === "-" ? "reading stdin" : `reading ${file}`),
    closeOnDone: file !== "-"
  })

/** Size of a regular file, or `undefined` for stdin and non-regular files. */
export const sizeOf = (file: string): Effect.Effect<number | undefined, IoError> =>
  file === "-"
    ? Effect.succeed(undefined)
    : Effect.try({
        try: () => {
          const st = fs.statSync(file)
          if (st.isDirectory()) throw new Error("is a directory")
          return st.isFile() ? st.size : undefined
        },
        catch: ioError(`reading ${file}`)
      })

/** Writes a stream to stdout. */
export const toStdout = <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<void, E | IoError> =>
  Stream.run(
    bytes,
    NodeSink.fromWritable<IoError, Uint8Array>({
      evaluate: () => process.stdout,
      onError: ioError("writing stdout"),
      endOnDone: false
    })
  )

/**
 * Writes a stream to `file` atomically: into a temporary file in the same directory, fsynced, then renamed over
 * `file`. On failure or interruption the temporary file is removed and `file` is untouched.
 */
export const toFileAtomically = <E>(
  bytes: Stream.Stream<Uint8Array, E>,
  file: string
): Effect.Effect<void, E | IoError> => {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.graviton-${randomUUID()}.tmp`)
  const write = Stream.run(
    bytes,
    NodeSink.fromWritable<IoError, Uint8Array>({
      evaluate: () => fs.createWriteStream(tmp, { flags: "wx" }),
      onError: ioError(`writing ${file}`)
    })
  )
  const commit = Effect.try({
    try: () => {
      const fd = fs.openSync(tmp, "r")
      try {
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      fs.renameSync(tmp, file)
    },
    catch: ioError(`writing ${file}`)
  })
  return Effect.andThen(write, commit).pipe(
    Effect.onExit((exit) =>
      exit._tag === "Success" ? Effect.void : Effect.sync(() => fs.rmSync(tmp, { force: true }))
    )
  )
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"]
/** `1536` → `1.5 KiB`. */
export const formatBytes = (n: number): string => {
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`
}

/**
 * A progress line on stderr (bytes, percentage when the total is known, throughput), redrawn at most every 100 ms,
 * only when stderr is a TTY. Returns the stream unchanged otherwise.
 */
export const withProgress = <E>(
  bytes: Stream.Stream<Uint8Array, E>,
  total: number | undefined,
  enabled: boolean = process.stderr.isTTY === true
): Stream.Stream<Uint8Array, E> => {
  if (!enabled) return bytes
  return Stream.suspend(() => {
    const started = performance.now()
    let done = 0
    let last = 0
    const draw = (final: boolean) => {
      const now = performance.now()
      if (!final && now - last < 100) return
      last = now
      const secs = Math.max(0.001, (now - started) / 1000)
      const pct = total !== undefined && total > 0 ? ` ${((done / total) * 100).toFixed(1).padStart(5)}%` : ""
      const width = 30
      const bar =
        total !== undefined && total > 0
          ? ` [${"#".repeat(Math.round((done / total) * width)).padEnd(width, " ")}]`
          : ""
      process.stderr.write(
        `\r${bar}${pct} ${formatBytes(done)} at ${formatBytes(done / secs)}/s   ${final ? "\n" : ""}`
      )
    }
    return bytes.pipe(
      Stream.tap((c) =>
        Effect.sync(() => {
          done += c.byteLength
          draw(false)
        })
      ),
      Stream.onExit(() => Effect.sync(() => draw(true)))
    )
  })
}
