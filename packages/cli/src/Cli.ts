/**
 * The `graviton` command: `serve`, `put`, `get`, `stat`, `ls`, `rm`, `verify`, `gc`, `uploads ls|rm`.
 *
 * Every command works on the store directly (the configured backend; the embedded level store in `./.graviton` by
 * default) or against a running server with `--url`. Settings come from flags, then `GRAVITON_*` environment
 * variables, then defaults. `--json` prints machine-readable output. Exit codes: 0 ok, 1 usage, 2 not found,
 * 3 failure.
 *
 * @since 0.1.0
 */
import { BinaryKey, HttpRange, type Span } from "@graviton/core"
import { GravitonConfig, StorageError } from "@graviton/runtime"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Backends from "./Backends.ts"
import * as Io from "./Io.ts"
import * as Remote from "./Remote.ts"
import * as Serve from "./Serve.ts"
import * as Target from "./Target.ts"

/** A usage problem found after parsing (bad key, bad range): exit code 1. */
export class UsageError extends Schema.TaggedError<UsageError>("@graviton/cli/UsageError")("UsageError", {
  message: Schema.String
}) {}

// ---------------------------------------------------------------------------------------------------------------
// shared flags
// ---------------------------------------------------------------------------------------------------------------

const dataDir = Flag.String("data-dir").pipe(
  Flag.withAlias("d"),
  Flag.withDescription("Data directory of the embedded store (env GRAVITON_DATA_DIR)"),
  Flag.withFallbackConfig(Config.String("GRAVITON_DATA_DIR")),
  Flag.withDefault(GravitonConfig.defaults.dataDir)
)
const backend = Flag.Literals("backend", GravitonConfig.backends).pipe(
  Flag.withDescription("Storage backend (env GRAVITON_BACKEND)"),
  Flag.withFallbackConfig(Config.Literals(GravitonConfig.backends, "GRAVITON_BACKEND")),
  Flag.withDefault(GravitonConfig.defaults.backend)
)
const url = Flag.String("url").pipe(
  Flag.withDescription("Talk to a running server instead of the store (env GRAVITON_URL)"),
  Flag.withFallbackConfig(Config.String("GRAVITON_URL")),
  Flag.optional
)
const token = Flag.Redacted("token").pipe(
  Flag.withDescription("Bearer token for --url (env GRAVITON_TOKEN)"),
  Flag.withFallbackConfig(Config.Redacted("GRAVITON_TOKEN")),
  Flag.optional
)
const json = Flag.Boolean("json").pipe(Flag.withDescription("Machine-readable output"), Flag.withDefault(false))

export const root = Command.make("graviton").pipe(
  Command.withSharedFlags({ dataDir, backend, url, token, json }),
  Command.withDescription("Content-addressed, deduplicating blob storage")
)

/** The runtime configuration: `GRAVITON_*` environment, overridden by the flags. */
const configFor = (flags: { readonly dataDir: string; readonly backend: GravitonConfig.Backend }) =>
  Effect.map(GravitonConfig.config, (c: GravitonConfig.GravitonConfig) => ({
    ...c,
    dataDir: flags.dataDir,
    backend: flags.backend
  }))

/** The target for the parsed shared flags. */
const targetLayer = (flags: {
  readonly dataDir: string
  readonly backend: GravitonConfig.Backend
  readonly url: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted<string>>
}) =>
  Option.isSome(flags.url)
    ? Remote.layer(flags.url.value, Option.getOrUndefined(Option.map(flags.token, Redacted.value)))
    : Layer.unwrap(
        Effect.map(configFor(flags), (config) =>
          Target.local(config.backend === "level" ? config.dataDir : config.backend).pipe(
            Layer.provide(Backends.runtime(config))
          )
        )
      )

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------

const parseKey = (text: string): Effect.Effect<BinaryKey.BinaryKey, UsageError> => {
  const r = BinaryKey.parse(text)
  return Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(new UsageError({ message: `invalid key: ${r.failure.message}` }))
}

/** `a-b` (inclusive), `a-`, `-n`, as in HTTP `Range`, resolved against the blob size. */
const parseRange = (text: string, size: number): Effect.Effect<Span.Span, UsageError> => {
  const spec = HttpRange.parse(`bytes=${text}`)
  if (Result.isFailure(spec)) return Effect.fail(new UsageError({ message: `invalid range: ${spec.failure.message}` }))
  const span = HttpRange.resolve(spec.success, size)
  return Result.isSuccess(span)
    ? Effect.succeed(span.success)
    : Effect.fail(new UsageError({ message: `range ${text} is outside the blob of ${size} bytes` }))
}

/** `30s`, `15m`, `2h`, `7d`, `0`, or any Effect duration text (`1 hour`). */
export const parseDuration = (text: string): Effect.Effect<Duration.Duration, UsageError> => {
  const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(text.trim())
  if (m !== null) {
    const n = Number(m[1])
    const unit = m[2] ?? "s"
    const ms = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as "ms"]
    return Effect.succeed(Duration.millis(n * ms))
  }
  const d = Duration.fromInput(text as Duration.Input)
  return Option.isSome(d)
    ? Effect.succeed(d.value)
    : Effect.fail(new UsageError({ message: `invalid duration ${text}` }))
}

const print = (jsonOut: boolean, value: unknown, text: () => string) =>
  Console.log(jsonOut ? JSON.stringify(value, null, 2) : text())

const notFound = (operation: string, key: BinaryKey.BinaryKey) =>
  StorageError.notFound(operation, { key: BinaryKey.format(key), message: "no such blob" })

const keyArg = Argument.String("key").pipe(Argument.withDescription("Blob key, e.g. sha-256:<hex>:<size>"))

// ---------------------------------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------------------------------

const serve = Command.make(
  "serve",
  {
    port: Flag.Int("port").pipe(
      Flag.withDescription("Port to listen on (env GRAVITON_PORT)"),
      Flag.withFallbackConfig(Config.Int("GRAVITON_PORT")),
      Flag.withDefault(8081)
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("Address to bind (env GRAVITON_HOST)"),
      Flag.withFallbackConfig(Config.String("GRAVITON_HOST")),
      Flag.withDefault("127.0.0.1")
    )
  },
  Effect.fn(function* ({ port, host }) {
    const flags = yield* root
    const config = yield* configFor(flags)
    yield* Serve.run(config, { port, host })
  })
).pipe(Command.withDescription("Run the HTTP server (default: embedded store in ./.graviton on 127.0.0.1:8081)"))

const put = Command.make(
  "put",
  {
    file: Argument.String("file").pipe(Argument.withDescription("File to store, or - for stdin")),
    contentType: Flag.String("content-type").pipe(Flag.withDescription("Content type to record"), Flag.optional),
    expectedKey: Flag.String("expect").pipe(
      Flag.withDescription("Fail unless the content hashes to this key"),
      Flag.optional
    )
  },
  Effect.fn(function* ({ file, contentType, expectedKey }) {
    const flags = yield* root
    const target = yield* Target.Target
    const size = yield* Io.sizeOf(file)
    const expected = Option.isSome(expectedKey) ? yield* parseKey(expectedKey.value) : undefined
    const attributes: Record<string, string> = {}
    if (Option.isSome(contentType)) attributes["content-type"] = contentType.value
    if (file !== "-") attributes.filename = file.split(/[\\/]/).pop() ?? file
    const body = Io.withProgress(Io.source(file), size, !flags.json && process.stderr.isTTY === true)
    const r = yield* target.put(body, {
      attributes,
      ...(size === undefined ? {} : { expectedSize: size }),
      ...(expected === undefined ? {} : { expectedKey: expected })
    })
    const out = {
      key: BinaryKey.format(r.key),
      size: r.size,
      blockCount: r.blockCount,
      freshBlocks: r.freshBlocks,
      duplicateBlocks: r.duplicateBlocks,
      freshBytes: r.freshBytes,
      duplicateBytes: r.duplicateBytes
    }
    yield* print(flags.json, out, () => out.key)
  })
).pipe(Command.withDescription("Store a file (or stdin) and print its key"))

const get = Command.make(
  "get",
  {
    key: keyArg,
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Write to this file (atomically) instead of stdout; - for stdout"),
      Flag.optional
    ),
    range: Flag.String("range").pipe(Flag.withDescription("Bytes a-b (inclusive), a- or -n"), Flag.optional)
  },
  Effect.fn(function* ({ key, output, range }) {
    const target = yield* Target.Target
    const k = yield* parseKey(key)
    let span: Span.Span | undefined
    if (Option.isSome(range)) {
      const stat = yield* target.stat(k)
      if (Option.isNone(stat)) return yield* notFound("get", k)
      span = yield* parseRange(range.value, stat.value.size)
    }
    const bytes = target.get(k, span)
    if (Option.isNone(output) || output.value === "-") yield* Io.toStdout(bytes)
    else yield* Io.toFileAtomically(bytes, output.value)
  })
).pipe(Command.withDescription("Write a blob (or a range of it) to stdout or a file"))

const stat = Command.make(
  "stat",
  { key: keyArg },
  Effect.fn(function* ({ key }) {
    const flags = yield* root
    const target = yield* Target.Target
    const k = yield* parseKey(key)
    const s = yield* target.stat(k)
    if (Option.isNone(s)) return yield* notFound("stat", k)
    const out = {
      key: BinaryKey.format(s.value.key),
      size: s.value.size,
      createdAt: new Date(s.value.createdAt).toISOString(),
      blockCount: s.value.blockCount,
      chunker: s.value.chunker,
      attributes: s.value.attributes
    }
    yield* print(flags.json, out, () =>
      [
        `key        ${out.key}`,
        `size       ${out.size} (${Io.formatBytes(out.size)})`,
        `created    ${out.createdAt}`,
        `blocks     ${out.blockCount}`,
        `chunker    ${out.chunker}`,
        ...Object.entries(out.attributes).map(([k2, v]) => `attribute  ${k2}=${v}`)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("Show what is known about a blob"))

const ls = Command.make(
  "ls",
  {
    prefix: Flag.String("prefix").pipe(Flag.withDescription("Only keys starting with this"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("Page size (1..1000)"), Flag.withDefault(100)),
    cursor: Flag.String("cursor").pipe(Flag.withDescription("Continue after a previous page"), Flag.optional),
    all: Flag.Boolean("all").pipe(Flag.withDescription("Follow cursors to the end"), Flag.withDefault(false))
  },
  Effect.fn(function* ({ prefix, limit, cursor, all }) {
    const flags = yield* root
    const target = yield* Target.Target
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return yield* new UsageError({ message: "--limit must be 1..1000" })
    }
    let next = Option.getOrUndefined(cursor)
    const items: Array<{ key: string; size: number; createdAt: string }> = []
    do {
      const page = yield* target.list({ prefix: Option.getOrUndefined(prefix), limit, cursor: next })
      for (const s of page.items) {
        items.push({ key: BinaryKey.format(s.key), size: s.size, createdAt: new Date(s.createdAt).toISOString() })
      }
      next = page.cursor
    } while (all && next !== undefined)
    yield* print(flags.json, { items, cursor: next ?? null }, () =>
      [
        ...items.map((i) => `${i.key}  ${String(i.size).padStart(12)}  ${i.createdAt}`),
        ...(next === undefined ? [] : [`(more: --cursor ${next})`])
      ].join("\n")
    )
  })
).pipe(Command.withDescription("List blobs"))

const rm = Command.make(
  "rm",
  { key: keyArg },
  Effect.fn(function* ({ key }) {
    const flags = yield* root
    const target = yield* Target.Target
    const k = yield* parseKey(key)
    if (!(yield* target.delete(k))) return yield* notFound("rm", k)
    yield* print(flags.json, { key: BinaryKey.format(k), deleted: true }, () => `deleted ${BinaryKey.format(k)}`)
  })
).pipe(Command.withDescription("Delete a blob (its blocks are reclaimed by gc)"))

const verify = Command.make(
  "verify",
  { key: keyArg },
  Effect.fn(function* ({ key }) {
    const flags = yield* root
    const target = yield* Target.Target
    const k = yield* parseKey(key)
    const r = yield* target.verify(k)
    const out = {
      key: BinaryKey.format(r.key),
      ok: r.ok,
      blocksChecked: r.blocksChecked,
      bytesChecked: r.bytesChecked,
      missingBlocks: r.missingBlocks.map(BinaryKey.format),
      corruptBlocks: r.corruptBlocks.map(BinaryKey.format),
      contentMatches: r.contentMatches
    }
    yield* print(flags.json, out, () =>
      out.ok
        ? `ok ${out.key} (${out.blocksChecked} blocks, ${Io.formatBytes(out.bytesChecked)})`
        : [
            `FAILED ${out.key}`,
            ...out.missingBlocks.map((b) => `missing ${b}`),
            ...out.corruptBlocks.map((b) => `corrupt ${b}`)
          ].join("\n")
    )
    if (!r.ok) {
      return yield* StorageError.corrupt("verify", { key: out.key, message: "the blob failed verification" })
    }
  })
).pipe(Command.withDescription("Re-read and re-hash a blob"))

const gc = Command.make(
  "gc",
  {
    apply: Flag.Boolean("apply").pipe(Flag.withDescription("Delete (default: dry run)"), Flag.withDefault(false)),
    minAge: Flag.String("min-age").pipe(
      Flag.withDescription("Spare blocks touched more recently (e.g. 1h, 30m, 0)"),
      Flag.optional
    )
  },
  Effect.fn(function* ({ apply, minAge }) {
    const flags = yield* root
    const target = yield* Target.Target
    const age = Option.isSome(minAge) ? yield* parseDuration(minAge.value) : undefined
    const r = yield* target.gc({ apply, ...(age === undefined ? {} : { minAge: age }) })
    yield* print(flags.json, r, () =>
      [
        `${r.dryRun ? "dry run" : "applied"}: scanned ${r.scanned} blocks, ${r.referenced} referenced`,
        `${r.candidates} unreferenced (${Io.formatBytes(r.candidateBytes)}), ${r.deleted} deleted (${Io.formatBytes(r.deletedBytes)})`,
        ...(r.dryRun && r.candidates > 0 ? ["run with --apply to delete them"] : [])
      ].join("\n")
    )
  })
).pipe(Command.withDescription("Collect blocks no blob references"))

const uploadsLs = Command.make(
  "ls",
  {},
  Effect.fn(function* () {
    const flags = yield* root
    const target = yield* Target.Target
    const sessions = yield* target.listUploads
    const items = sessions.map((s) => ({
      id: s.id,
      state: s.state,
      length: s.length ?? null,
      createdAt: new Date(s.createdAt).toISOString(),
      expiresAt: new Date(s.expiresAt).toISOString(),
      metadata: s.metadata
    }))
    yield* print(flags.json, { items }, () =>
      items
        .map((i) => `${i.id}  ${i.state.padEnd(10)}  ${String(i.length ?? "?").padStart(12)}  expires ${i.expiresAt}`)
        .join("\n")
    )
  })
).pipe(Command.withDescription("List resumable uploads"))

const uploadsRm = Command.make(
  "rm",
  { id: Argument.String("id").pipe(Argument.withDescription("Upload id")) },
  Effect.fn(function* ({ id }) {
    const flags = yield* root
    const target = yield* Target.Target
    if (!(yield* target.cancelUpload(id))) {
      return yield* StorageError.notFound("uploads rm", { key: id, message: "no such upload" })
    }
    yield* print(flags.json, { id, cancelled: true }, () => `cancelled ${id}`)
  })
).pipe(Command.withDescription("Cancel a resumable upload and delete its staged bytes"))

const uploads = Command.make("uploads").pipe(
  Command.withDescription("Manage resumable uploads"),
  Command.withSubcommands([uploadsLs, uploadsRm])
)

/** The target, built from the shared flags when a command that needs it runs (serve does not). */
const target = Layer.unwrap(Effect.map(root, targetLayer))

export const cli = root.pipe(
  Command.withSubcommands([
    serve,
    put.pipe(Command.provide(target)),
    get.pipe(Command.provide(target)),
    stat.pipe(Command.provide(target)),
    ls.pipe(Command.provide(target)),
    rm.pipe(Command.provide(target)),
    verify.pipe(Command.provide(target)),
    gc.pipe(Command.provide(target)),
    uploads.pipe(Command.provide(target))
  ])
)
