/**
 * `Auth`: optional bearer-token authentication with capabilities (`read`, `write`, `delete`, `admin`).
 *
 * Tokens come from `GRAVITON_AUTH_TOKENS` (`token:cap1,cap2;token2:cap3`) and/or the file named by
 * `GRAVITON_AUTH_TOKENS_FILE` — either JSON (`{ "token": ["read", "write"] }` or
 * `[{ "token": "…", "capabilities": ["read"] }]`) or lines of `token:cap1,cap2` (blank lines and `#` comments
 * ignored). No tokens configured means authentication is off. `admin` implies every other capability.
 *
 * Only SHA-256 digests of the tokens are kept; a presented token is hashed and compared with **every** configured
 * digest using `crypto.timingSafeEqual` (no early exit), so the comparison time does not depend on which token
 * matched or how much of it. Tokens are never logged or put in error messages (configuration errors name the entry
 * by position only).
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Capabilities, type Capability } from "./GravitonApi.ts"

/** A configuration problem (malformed token list or unreadable file); never contains a token. */
export class AuthConfigError extends Schema.TaggedError<AuthConfigError>("@graviton/http/Auth/AuthConfigError")(
  "AuthConfigError",
  { message: Schema.String }
) {}

/** One configured token (kept only as its digest). */
interface Entry {
  readonly digest: Buffer
  readonly capabilities: ReadonlySet<Capability>
}

/** The configured tokens. */
export interface Tokens {
  /** False when no token is configured (every request is allowed). */
  readonly enabled: boolean
  /** Number of configured tokens. */
  readonly size: number
  /**
   * The capabilities of `token`, or `undefined` when it is not a configured token. Constant time in the token's
   * content (every configured digest is compared).
   */
  readonly lookup: (token: string) => ReadonlySet<Capability> | undefined
}

const digestOf = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

const isCapability = (s: string): s is Capability => (Capabilities as ReadonlyArray<string>).includes(s)

/** Builds the token table from `[token, capabilities]` pairs. */
export const make = (entries: ReadonlyArray<readonly [token: string, capabilities: Iterable<Capability>]>): Tokens => {
  const table: ReadonlyArray<Entry> = entries.map(([token, caps]) => {
    const set = new Set<Capability>(caps)
    if (set.has("admin")) for (const c of Capabilities) set.add(c)
    return { digest: digestOf(token), capabilities: set }
  })
  return {
    enabled: table.length > 0,
    size: table.length,
    lookup: (token) => {
      const d = digestOf(token)
      let found: Entry | undefined
      for (const e of table) {
        // every digest is compared; the match is recorded without branching out of the loop
        const eq = timingSafeEqual(d, e.digest)
        found = eq && found === undefined ? e : found
      }
      return token.length === 0 ? undefined : found?.capabilities
    }
  }
}

/** No tokens: authentication off. */
export const disabled: Tokens = make([])

const parseCaps = (text: string, where: string): Result.Result<Array<Capability>, AuthConfigError> => {
  const caps = text
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0)
  if (caps.length === 0) return Result.fail(new AuthConfigError({ message: `${where}: no capabilities` }))
  const bad = caps.find((c) => !isCapability(c))
  if (bad !== undefined) {
    return Result.fail(
      new AuthConfigError({
        message: `${where}: unknown capability (allowed: ${Capabilities.join(", ")})`
      })
    )
  }
  return Result.succeed(caps as Array<Capability>)
}

const parsePair = (
  item: string,
  where: string
): Result.Result<readonly [string, Array<Capability>], AuthConfigError> => {
  const colon = item.lastIndexOf(":")
  if (colon <= 0) return Result.fail(new AuthConfigError({ message: `${where}: expected token:capabilities` }))
  const token = item.slice(0, colon).trim()
  if (token.length === 0 || /\s/.test(token)) {
    return Result.fail(new AuthConfigError({ message: `${where}: a token must be non-empty without spaces` }))
  }
  return Result.map(parseCaps(item.slice(colon + 1), where), (caps) => [token, caps] as const)
}

/** Parses `token:cap1,cap2;token2:cap3` (the `GRAVITON_AUTH_TOKENS` format). Empty text gives no tokens. */
export const parseList = (
  text: string
): Result.Result<ReadonlyArray<readonly [string, Array<Capability>]>, AuthConfigError> => {
  const out: Array<readonly [string, Array<Capability>]> = []
  const items = text
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  for (let i = 0; i < items.length; i++) {
    const r = parsePair(items[i]!, `GRAVITON_AUTH_TOKENS entry ${i + 1}`)
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(out)
}

/** Parses a tokens file: JSON (object or array form) or `token:caps` lines. */
export const parseFile = (
  text: string
): Result.Result<ReadonlyArray<readonly [string, Array<Capability>]>, AuthConfigError> => {
  const trimmed = text.trim()
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let json: unknown
    try {
      json = JSON.parse(trimmed)
    } catch {
      return Result.fail(new AuthConfigError({ message: "tokens file: invalid JSON" }))
    }
    const pairs: Array<readonly [unknown, unknown]> = Array.isArray(json)
      ? json.map((e: unknown) =>
          typeof e === "object" && e !== null
            ? [(e as { token?: unknown }).token, (e as { capabilities?: unknown }).capabilities]
            : [undefined, undefined]
        )
      : Object.entries(json as Record<string, unknown>)
    const out: Array<readonly [string, Array<Capability>]> = []
    for (let i = 0; i < pairs.length; i++) {
      const [token, caps] = pairs[i]!
      const where = `tokens file entry ${i + 1}`
      if (typeof token !== "string" || token.length === 0 || /\s/.test(token)) {
        return Result.fail(new AuthConfigError({ message: `${where}: a token must be a non-empty string` }))
      }
      const capText = Array.isArray(caps) ? caps.join(",") : typeof caps === "string" ? caps : ""
      const parsed = parseCaps(capText, where)
      if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
      out.push([token, parsed.success])
    }
    return Result.succeed(out)
  }
  const out: Array<readonly [string, Array<Capability>]> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line.length === 0 || line.startsWith("#")) continue
    const r = parsePair(line, `tokens file line ${i + 1}`)
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(out)
}

/** Loads tokens from an inline list and/or a file path (either may be absent). */
export const load = (options: {
  readonly tokens?: Redacted.Redacted<string> | string | undefined
  readonly file?: string | undefined
}): Effect.Effect<Tokens, AuthConfigError> =>
  Effect.gen(function* () {
    const entries: Array<readonly [string, Array<Capability>]> = []
    const inline =
      options.tokens === undefined
        ? undefined
        : Redacted.isRedacted(options.tokens)
          ? Redacted.value(options.tokens)
          : options.tokens
    if (inline !== undefined) {
      const r = parseList(inline)
      if (Result.isFailure(r)) return yield* r.failure
      entries.push(...r.success)
    }
    if (options.file !== undefined && options.file.length > 0) {
      const path = options.file
      const text = yield* Effect.try({
        try: () => readFileSync(path, "utf8"),
        catch: () => new AuthConfigError({ message: "GRAVITON_AUTH_TOKENS_FILE could not be read" })
      })
      const r = parseFile(text)
      if (Result.isFailure(r)) return yield* r.failure
      entries.push(...r.success)
    }
    return make(entries)
  })

/** Reads `AUTH_TOKENS` (redacted) and `AUTH_TOKENS_FILE` under the caller's prefix (default reads `GRAVITON_*`). */
export const config: Config.Config<{
  readonly tokens: Option.Option<Redacted.Redacted<string>>
  readonly file: Option.Option<string>
}> = Config.all({
  tokens: Config.option(Config.Redacted("AUTH_TOKENS")),
  file: Config.option(Config.String("AUTH_TOKENS_FILE"))
})

/** Reads and loads the tokens from the environment (`GRAVITON_AUTH_TOKENS`, `GRAVITON_AUTH_TOKENS_FILE`). */
export const fromConfig: Effect.Effect<Tokens, AuthConfigError | Config.ConfigError> = Effect.flatMap(
  config.pipe(Config.nested("GRAVITON")),
  ({ tokens, file }) => load({ tokens: Option.getOrUndefined(tokens), file: Option.getOrUndefined(file) })
)
