/**
 * `SpillPolicy`: when and where bytes that would otherwise pile up in memory go to disk, and the mechanism that does
 * it — scoped temporary {@link SpillFile}s and the {@link SpillBuffer} the engine uses for large manifests and
 * staged parts.
 *
 * **Lifetime.** A spill file is created by `open()` inside a `Scope` and deleted when that scope closes — on
 * success, failure and interruption alike (creation and the registration of its deletion are one uninterruptible
 * step, and each append's write is uninterruptible, so no write can race the deletion). Files left behind by a
 * crashed process are removed by `sweep`, which deletes spill files in the spill directory older than `maxAge`
 * (never files this instance has open, never files that do not carry the spill-file name pattern, so pointing
 * `directory` at a shared temp dir is safe).
 *
 * **`maxTotal`.** The bytes held by all open spill files of one policy instance may not exceed `maxTotal`; an
 * append that would cross it fails with a `StorageError` whose reason is `QuotaExceeded` (operation
 * `"SpillFile.append"`) and writes nothing. It is a `StorageError`, not a `ConstraintViolation`: it is a local
 * resource limit of this process, not a per-tenant policy, and the caller should treat it like a full disk.
 *
 * Every I/O failure is a `StorageError` (operation `"SpillPolicy.<method>"` or `"SpillFile.<method>"`).
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as Bytes from "./internal/policyBytes.ts"
import * as StorageError from "./StorageError.ts"

/** The default spill directory: `<os.tmpdir()>/graviton-spill`. */
export const defaultDirectory = (): string => path.join(os.tmpdir(), "graviton-spill")

/**
 * Spill settings. Decoding fills in defaults for missing keys: `threshold` 64 MiB, `directory`
 * {@link defaultDirectory}, `maxAge` 1 hour, `maxTotal` 10 GiB.
 */
export const SpillConfig = Schema.Struct({
  /** Buffers hold at most this many bytes in memory; beyond it they spill. */
  threshold: Bytes.ByteCount.pipe(Schema.withDecodingDefaultKey(Effect.succeed(64 * Bytes.MiB))),
  /** Where spill files live (created on demand). */
  directory: Schema.String.check(Schema.isMinLength(1)).pipe(
    Schema.withDecodingDefaultKey(Effect.sync(defaultDirectory))
  ),
  /** Spill files older than this are deleted by `sweep`. */
  maxAge: Schema.Duration.pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(Duration.hours(1)))),
  /** Bytes all open spill files of one policy may hold together. */
  maxTotal: Bytes.ByteCount.pipe(Schema.withDecodingDefaultKey(Effect.succeed(10 * Bytes.GiB)))
})
/** Decoded {@link SpillConfig}. */
export type SpillConfig = typeof SpillConfig.Type

/** Input to {@link fromConfig}: every field optional, `maxAge` as any `Duration.Input`. */
export interface SpillConfigInput {
  readonly threshold?: number | undefined
  readonly directory?: string | undefined
  readonly maxAge?: Duration.Input | undefined
  readonly maxTotal?: number | undefined
}

/**
 * Reads {@link SpillConfig} from the environment: `THRESHOLD`, `DIRECTORY`, `MAX_AGE` (e.g. `30 minutes`),
 * `MAX_TOTAL` (sizes as integers or with units, e.g. `64 MiB`); missing values take the defaults. Nest it under
 * the caller's prefix, e.g. `config.pipe(Config.nested("SPILL"))` reads `SPILL_THRESHOLD`.
 */
export const config: Config.Config<SpillConfig> = Config.all({
  threshold: Bytes.config("THRESHOLD").pipe(Config.withDefault(64 * Bytes.MiB)),
  directory: Config.NonEmptyString("DIRECTORY").pipe(Config.withDefault(defaultDirectory())),
  maxAge: Config.Duration("MAX_AGE").pipe(Config.withDefault(Duration.hours(1))),
  maxTotal: Bytes.config("MAX_TOTAL").pipe(Config.withDefault(10 * Bytes.GiB))
})

/** A scoped temporary file: append-only, re-readable, deleted when its scope closes. */
export interface SpillFile {
  /** Absolute path of the file (for diagnostics; do not delete it yourself). */
  readonly path: string
  /**
   * Appends a copy of `bytes` at the end. Appends are serialized. Fails `QuotaExceeded` (nothing written) when the
   * policy's `maxTotal` would be crossed, other reasons on I/O failure; after a failed append the file still holds
   * exactly the bytes of the successful ones.
   */
  readonly append: (bytes: Uint8Array) => Effect.Effect<void, StorageError.StorageError>
  /** Bytes appended so far. */
  readonly size: Effect.Effect<number>
  /**
   * The bytes appended before the stream starts, in chunks of at most `chunkSize` (default 64 KiB). May be run any
   * number of times, also while appends continue. Fails `InvalidArgument` once the file's scope has closed.
   */
  readonly read: (options?: {
    readonly chunkSize?: number | undefined
  }) => Stream.Stream<Uint8Array, StorageError.StorageError>
}

/**
 * Bytes kept in memory up to the policy's `threshold`, then moved — transparently, once — to a spill file that
 * lives as long as the buffer's scope. The engine uses it for large manifests and staged parts.
 */
export interface SpillBuffer {
  /** Appends a copy of `bytes`; may spill (then fails like {@link SpillFile.append}). Appends are serialized. */
  readonly append: (bytes: Uint8Array) => Effect.Effect<void, StorageError.StorageError>
  /** Bytes appended so far. */
  readonly size: Effect.Effect<number>
  /** Whether the contents now live in a spill file. */
  readonly spilled: Effect.Effect<boolean>
  /** The bytes appended before the stream starts; re-readable (copies out of memory, or reads from the file). */
  readonly read: () => Stream.Stream<Uint8Array, StorageError.StorageError>
}

/** What `sweep` did. */
export interface SweepResult {
  /** Paths deleted. */
  readonly deleted: ReadonlyArray<string>
  /** Spill files kept because they are younger than `maxAge` or open in this process. */
  readonly kept: number
}

/** When and where to spill, plus scoped spill files and buffers; see the module doc. */
export interface SpillPolicy {
  /** The settings in force. */
  readonly config: SpillConfig
  /** Whether a buffer holding `bufferedBytes` must spill: `bufferedBytes > threshold`. */
  readonly shouldSpill: (bufferedBytes: number) => boolean
  /** The spill directory, created if missing. */
  readonly selectSpillDir: Effect.Effect<string, StorageError.StorageError>
  /**
   * Deletes `file` when `age` is at least `maxAge` and it is a spill file not open in this process; `true` when it
   * was deleted (an already-missing file counts as not deleted). Fails `InvalidArgument` for a path that is not a
   * spill file (so it cannot be aimed at arbitrary files).
   */
  readonly cleanup: (file: string, age: Duration.Input) => Effect.Effect<boolean, StorageError.StorageError>
  /** Creates an empty spill file in the spill directory, deleted when the scope closes. */
  readonly open: () => Effect.Effect<SpillFile, StorageError.StorageError, Scope.Scope>
  /** A memory-first buffer bound to the current scope. */
  readonly buffer: () => Effect.Effect<SpillBuffer, never, Scope.Scope>
  /**
   * Deletes spill files in the spill directory whose modification time is at least `maxAge` before the `Clock`'s
   * now (leftovers of a crashed process); a missing directory is an empty sweep.
   */
  readonly sweep: Effect.Effect<SweepResult, StorageError.StorageError>
  /** Bytes held by this policy's open spill files. */
  readonly openBytes: Effect.Effect<number>
}

/** The `SpillPolicy` service tag. */
export const SpillPolicy: Context.Service<SpillPolicy, SpillPolicy> = Context.Service("@graviton/runtime/SpillPolicy")

const FILE_PREFIX = "graviton-spill-"
const FILE_SUFFIX = ".tmp"
const FILE_RE = /^graviton-spill-[0-9a-z-]+\.tmp$/

/** Whether `file` has the name of a spill file. */
export const isSpillFileName = (file: string): boolean => FILE_RE.test(path.basename(file))

const ioError = (operation: string, cause: unknown, key?: string): StorageError.StorageError => {
  const code = (cause as { code?: unknown } | undefined)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  const details = { message, cause, ...(key === undefined ? {} : { key }) }
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return StorageError.quotaExceeded(operation, details)
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return StorageError.permissionDenied(operation, details)
    case "ENOENT":
      return StorageError.notFound(operation, details)
    case "EMFILE":
    case "ENFILE":
    case "EBUSY":
      return StorageError.unavailable(operation, details)
    default:
      return StorageError.unknown(operation, details)
  }
}

const io = <A>(operation: string, f: () => Promise<A>, key?: string): Effect.Effect<A, StorageError.StorageError> =>
  Effect.tryPromise({ try: f, catch: (cause) => ioError(operation, cause, key) })

/** Normalizes the input (defaults for missing fields). */
export const resolveConfig = (input: SpillConfigInput = {}): SpillConfig => ({
  threshold: input.threshold ?? 64 * Bytes.MiB,
  directory: input.directory ?? defaultDirectory(),
  maxAge: Duration.fromInputUnsafe(input.maxAge ?? Duration.hours(1)),
  maxTotal: input.maxTotal ?? 10 * Bytes.GiB
})

/** Builds a policy. No I/O happens until a method is used. */
export const fromConfig = (input: SpillConfigInput = {}): SpillPolicy => {
  const cfg = resolveConfig(input)
  const dir = path.resolve(cfg.directory)
  const maxAgeMs = Duration.toMillis(cfg.maxAge)
  const open = new Set<string>()
  let total = 0

  const selectSpillDir = io("SpillPolicy.selectSpillDir", () => fs.mkdir(dir, { recursive: true }), dir).pipe(
    Effect.as(dir)
  )

  const unlinkQuietly = (file: string) =>
    Effect.promise(() =>
      fs.unlink(file).then(
        () => true,
        () => false
      )
    )

  const openFile = (): Effect.Effect<SpillFile, StorageError.StorageError, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        yield* selectSpillDir
        const file = path.join(dir, `${FILE_PREFIX}${process.pid}-${randomUUID()}${FILE_SUFFIX}`)
        const handle = yield* io("SpillPolicy.open", () => fs.open(file, "wx+", 0o600), file)
        open.add(file)
        return { file, handle, state: { size: 0, closed: false } }
      }),
      ({ file, handle, state }) =>
        Effect.gen(function* () {
          state.closed = true
          total -= state.size
          yield* Effect.promise(() => handle.close().catch(() => undefined))
          yield* unlinkQuietly(file)
          open.delete(file)
        })
    ).pipe(
      Effect.map(({ file, handle, state }): SpillFile => {
        const lock = Semaphore.makeUnsafe(1)
        const write = (bytes: Uint8Array, position: number) =>
          io(
            "SpillFile.append",
            async () => {
              let off = 0
              while (off < bytes.byteLength) {
                const { bytesWritten } = await handle.write(bytes, off, bytes.byteLength - off, position + off)
                if (bytesWritten <= 0) throw new Error("short write to spill file")
                off += bytesWritten
              }
            },
            file
          )
        const append = (bytes: Uint8Array): Effect.Effect<void, StorageError.StorageError> =>
          lock.withPermit(
            Effect.uninterruptible(
              Effect.suspend(() => {
                const n = bytes.byteLength
                if (state.closed) {
                  return Effect.fail(
                    StorageError.invalidArgument("SpillFile.append", { key: file, message: "spill file is closed" })
                  )
                }
                if (n === 0) return Effect.void
                if (total + n > cfg.maxTotal) {
                  return Effect.fail(
                    StorageError.quotaExceeded("SpillFile.append", {
                      key: file,
                      message: `spilling ${n} more bytes would exceed maxTotal of ${cfg.maxTotal} bytes (${total} held)`
                    })
                  )
                }
                total += n
                return write(new Uint8Array(bytes), state.size).pipe(
                  Effect.onExit((exit) =>
                    Effect.sync(() => {
                      if (Exit.isSuccess(exit)) state.size += n
                      else total -= n
                    })
                  )
                )
              })
            )
          )
        const read = (options?: { readonly chunkSize?: number | undefined }) =>
          Stream.suspend(() => {
            const chunk = Math.max(1, Math.floor(options?.chunkSize ?? 64 * Bytes.KiB))
            const end = state.size
            type Page = readonly [ReadonlyArray<Uint8Array>, Option.Option<number>]
            return Stream.paginate(0, (position: number) =>
              Effect.suspend((): Effect.Effect<Page, StorageError.StorageError> => {
                if (state.closed) {
                  return Effect.fail(
                    StorageError.invalidArgument("SpillFile.read", { key: file, message: "spill file is closed" })
                  )
                }
                const len = Math.min(chunk, end - position)
                if (len <= 0) return Effect.succeed([[], Option.none()])
                return io(
                  "SpillFile.read",
                  async () => {
                    const buf = new Uint8Array(len)
                    let off = 0
                    while (off < len) {
                      const { bytesRead } = await handle.read(buf, off, len - off, position + off)
                      if (bytesRead <= 0) throw new Error("spill file ended early")
                      off += bytesRead
                    }
                    return buf
                  },
                  file
                ).pipe(
                  Effect.map((buf): Page => [[buf], position + len < end ? Option.some(position + len) : Option.none()])
                )
              })
            )
          })
        return { path: file, append, size: Effect.sync(() => state.size), read }
      })
    )

  const buffer = (): Effect.Effect<SpillBuffer, never, Scope.Scope> =>
    Effect.gen(function* () {
      const parent = yield* Effect.scope
      const lock = Semaphore.makeUnsafe(1)
      let chunks: Array<Uint8Array> = []
      let size = 0
      let file: SpillFile | undefined
      const spill = (incoming: Uint8Array) =>
        Effect.gen(function* () {
          // The file gets its own child scope so a failed transition deletes it at once.
          const child = yield* Scope.fork(parent)
          const exit = yield* Effect.exit(
            Effect.gen(function* () {
              const f = yield* Scope.provide(child)(openFile())
              for (const c of chunks) yield* f.append(c)
              yield* f.append(incoming)
              return f
            })
          )
          if (Exit.isFailure(exit)) {
            yield* Scope.close(child, exit)
            return yield* exit
          }
          file = exit.value
          chunks = []
          size += incoming.byteLength
        })
      const append = (bytes: Uint8Array): Effect.Effect<void, StorageError.StorageError> =>
        lock.withPermit(
          Effect.suspend(() => {
            if (file !== undefined) {
              const f = file
              return Effect.tap(f.append(bytes), () =>
                Effect.sync(() => {
                  size += bytes.byteLength
                })
              )
            }
            if (!(size + bytes.byteLength > cfg.threshold)) {
              return Effect.sync(() => {
                if (bytes.byteLength > 0) chunks.push(new Uint8Array(bytes))
                size += bytes.byteLength
              })
            }
            return Effect.uninterruptible(spill(bytes))
          })
        )
      const read = (): Stream.Stream<Uint8Array, StorageError.StorageError> =>
        Stream.suspend(() => {
          if (file !== undefined) return file.read()
          const snapshot = chunks.slice()
          return Stream.fromIterable(snapshot).pipe(Stream.map((c) => new Uint8Array(c)))
        })
      const result: SpillBuffer = {
        append,
        size: Effect.sync(() => size),
        spilled: Effect.sync(() => file !== undefined),
        read
      }
      return result
    })

  const cleanup = (file: string, age: Duration.Input): Effect.Effect<boolean, StorageError.StorageError> =>
    Effect.suspend(() => {
      const resolved = path.resolve(file)
      if (!isSpillFileName(resolved)) {
        return Effect.fail(
          StorageError.invalidArgument("SpillPolicy.cleanup", { key: file, message: "not a spill file" })
        )
      }
      if (open.has(resolved) || Duration.toMillis(Duration.fromInputUnsafe(age)) < maxAgeMs) {
        return Effect.succeed(false)
      }
      return io("SpillPolicy.cleanup", () => fs.unlink(resolved), resolved).pipe(
        Effect.as(true),
        Effect.catchReason("StorageError", "NotFound", () => Effect.succeed(false))
      )
    })

  const sweep: Effect.Effect<SweepResult, StorageError.StorageError> = Effect.gen(function* () {
    const names = yield* io("SpillPolicy.sweep", async () => {
      try {
        return await fs.readdir(dir)
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return []
        throw e
      }
    })
    const now = yield* Clock.currentTimeMillis
    const deleted: Array<string> = []
    let kept = 0
    for (const name of names) {
      if (!FILE_RE.test(name)) continue
      const file = path.join(dir, name)
      const stat = yield* io("SpillPolicy.sweep", () => fs.stat(file).catch(() => undefined), file)
      if (stat === undefined) continue
      if (yield* cleanup(file, Math.max(0, now - stat.mtimeMs))) deleted.push(file)
      else kept++
    }
    return { deleted, kept }
  })

  return SpillPolicy.of({
    config: cfg,
    shouldSpill: (bufferedBytes) => bufferedBytes > cfg.threshold,
    selectSpillDir,
    cleanup,
    open: openFile,
    buffer,
    sweep,
    openBytes: Effect.sync(() => total)
  })
}

/** A policy per layer build. */
export const layer = (input: SpillConfigInput = {}): Layer.Layer<SpillPolicy> =>
  Layer.sync(SpillPolicy, () => fromConfig(input))

/** A policy whose settings are read with {@link config} (or the given config, e.g. a nested one). */
export const layerConfig = (
  source: Config.Config<SpillConfig> = config
): Layer.Layer<SpillPolicy, Config.ConfigError> =>
  Layer.effect(
    SpillPolicy,
    Effect.map(source, (c) => fromConfig(c))
  )
