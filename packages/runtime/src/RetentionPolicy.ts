/**
 * `RetentionPolicy`: how long a blob must be kept, and when it may be archived. Pure: it answers questions about a
 * blob's key, creation time and attributes; the sweeper that deletes or archives (built with the engine) asks it.
 *
 * A policy is **data** ({@link Spec}, a Schema, so it can come from JSON config) turned into the service by
 * {@link make}:
 * - `Infinite` — keep forever;
 * - `TimeBased { days }` — keep for `days` after creation, then deletable;
 * - `AttributeBased { rules, fallback }` — the **first** rule whose attribute matches decides (`retainDays` or
 *   `forever`); blobs no rule matches use `fallback` (`Infinite` or `TimeBased`). A rule matches when the blob
 *   has the attribute and its value `equals` the given string, or `matches` the given regular expression, or —
 *   with neither — whatever its value.
 *
 * Each variant and each rule may set `archiveAfterDays`: the blob should move to colder storage at that age, as
 * long as it is not deletable yet. Times are epoch milliseconds; a day is 86 400 000 ms.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

const DAY_MS = 86_400_000

const Days = Schema.Number.check(
  Schema.isFinite({ message: "days must be finite" }),
  Schema.isGreaterThanOrEqualTo(0, { message: "days cannot be negative" })
)

const compiles = (pattern: string): boolean => {
  try {
    new RegExp(pattern, "u")
    return true
  } catch {
    return false
  }
}

/** Keep forever. */
export const Infinite = Schema.TaggedStruct("Infinite", {
  archiveAfterDays: Schema.optionalKey(Days)
})
export type Infinite = typeof Infinite.Type

/** Keep `days` after creation. */
export const TimeBased = Schema.TaggedStruct("TimeBased", {
  days: Days,
  archiveAfterDays: Schema.optionalKey(Days)
})
export type TimeBased = typeof TimeBased.Type

/** One attribute rule; exactly one of `retainDays` / `forever`, at most one of `equals` / `matches`. */
export const Rule = Schema.Struct({
  /** The attribute to look at. */
  attribute: Schema.String.check(Schema.isMinLength(1, { message: "attribute cannot be empty" })),
  /** Match when the value is exactly this. */
  equals: Schema.optionalKey(Schema.String),
  /** Match when the value matches this regular expression (JavaScript syntax, `u` flag). */
  matches: Schema.optionalKey(
    Schema.String.check(Schema.makeFilter((p: string) => compiles(p) || `invalid regular expression ${p}`))
  ),
  /** Keep matching blobs this many days. */
  retainDays: Schema.optionalKey(Days),
  /** Keep matching blobs forever. */
  forever: Schema.optionalKey(Schema.Literal(true)),
  /** Archive matching blobs at this age. */
  archiveAfterDays: Schema.optionalKey(Days)
}).check(
  Schema.makeFilter(
    (r: { readonly retainDays?: number; readonly forever?: true }) =>
      (r.retainDays === undefined) !== (r.forever === undefined) || "a rule needs exactly one of retainDays or forever"
  ),
  Schema.makeFilter(
    (r: { readonly equals?: string; readonly matches?: string }) =>
      r.equals === undefined || r.matches === undefined || "a rule takes equals or matches, not both"
  )
)
export type Rule = typeof Rule.Type

/** First matching rule decides, else `fallback`. */
export const AttributeBased = Schema.TaggedStruct("AttributeBased", {
  rules: Schema.Array(Rule),
  fallback: Schema.Union([Infinite, TimeBased])
})
export type AttributeBased = typeof AttributeBased.Type

/** A retention policy as data. */
export const Spec = Schema.Union([Infinite, TimeBased, AttributeBased])
/** Decoded {@link Spec}. */
export type Spec = typeof Spec.Type

/** A rejected policy document. */
export class InvalidRetentionPolicy extends Schema.TaggedError<InvalidRetentionPolicy>(
  "@graviton/runtime/RetentionPolicy/InvalidRetentionPolicy"
)("InvalidRetentionPolicy", { message: Schema.String }) {}

/** Validates an unknown value (e.g. parsed JSON) as a {@link Spec}. Total: never throws. */
export const decode = (input: unknown): Result.Result<Spec, InvalidRetentionPolicy> =>
  Result.mapError(Schema.decodeUnknownResult(Spec)(input), (e) => new InvalidRetentionPolicy({ message: e.message }))

/** Parses a JSON policy document. Total: malformed JSON and invalid policies are typed errors. */
export const decodeJson = (text: string): Result.Result<Spec, InvalidRetentionPolicy> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return Result.fail(new InvalidRetentionPolicy({ message: `not JSON: ${(e as Error).message}` }))
  }
  return decode(parsed)
}

const validated = <S extends Spec>(spec: S): S => {
  const r = decode(spec)
  if (Result.isFailure(r)) throw new RangeError(r.failure.message)
  return spec
}

/** Keep everything forever (optionally archiving at an age). */
export const infinite = (options: { readonly archiveAfterDays?: number } = {}): Infinite =>
  validated({ _tag: "Infinite", ...options })

/** Keep `days` after creation. Throws `RangeError` for a negative or non-finite count. */
export const timeBased = (days: number, options: { readonly archiveAfterDays?: number } = {}): TimeBased =>
  validated({ _tag: "TimeBased", days, ...options })

/** First matching rule decides, else `fallback`. Throws `RangeError` for an invalid rule (see {@link Rule}). */
export const attributeBased = (
  rules: ReadonlyArray<Rule>,
  fallback: Infinite | TimeBased = { _tag: "Infinite" }
): AttributeBased => validated({ _tag: "AttributeBased", rules, fallback })

/** What the policy needs to know about a blob. */
export interface BlobInfo {
  readonly key: string
  /** Epoch ms. */
  readonly createdAt: number
  readonly attributes: Readonly<Record<string, string>>
}

/** Pure retention decisions for blobs; see the module doc. */
export interface RetentionPolicy {
  /** The policy data. */
  readonly spec: Spec
  /** How long `blob` must be kept after creation; `None` means forever. */
  readonly retentionPeriod: (blob: BlobInfo) => Option.Option<Duration.Duration>
  /** Whether `blob` may be deleted at `now` (epoch ms): its retention period has fully elapsed. */
  readonly canDelete: (blob: BlobInfo, now: number) => boolean
  /** Whether `blob` should be archived at `now`: it reached its `archiveAfterDays` age and is not deletable yet. */
  readonly shouldArchive: (blob: BlobInfo, now: number) => boolean
}

/** The `RetentionPolicy` service tag. */
export const RetentionPolicy: Context.Service<RetentionPolicy, RetentionPolicy> = Context.Service(
  "@graviton/runtime/RetentionPolicy"
)

interface Decision {
  /** Retention in days; undefined = forever. */
  readonly days: number | undefined
  readonly archiveAfterDays: number | undefined
}

/** Builds the service from a (valid) spec. */
export const make = (spec: Spec): RetentionPolicy => {
  const simple = (s: Infinite | TimeBased): Decision => ({
    days: s._tag === "TimeBased" ? s.days : undefined,
    archiveAfterDays: s.archiveAfterDays
  })
  let decide: (blob: BlobInfo) => Decision
  if (spec._tag === "AttributeBased") {
    const fallback = simple(spec.fallback)
    const rules = spec.rules.map((r) => ({
      attribute: r.attribute,
      test:
        r.equals !== undefined
          ? (v: string) => v === r.equals
          : r.matches !== undefined
            ? (
                (re: RegExp) => (v: string) =>
                  re.test(v)
              )(new RegExp(r.matches, "u"))
            : () => true,
      decision: { days: r.forever === true ? undefined : r.retainDays, archiveAfterDays: r.archiveAfterDays }
    }))
    decide = (blob) => {
      for (const rule of rules) {
        const v = Object.hasOwn(blob.attributes, rule.attribute) ? blob.attributes[rule.attribute] : undefined
        if (v !== undefined && rule.test(v)) return rule.decision
      }
      return fallback
    }
  } else {
    const d = simple(spec)
    decide = () => d
  }
  const deletable = (d: Decision, blob: BlobInfo, now: number) =>
    d.days !== undefined && now - blob.createdAt >= d.days * DAY_MS
  return RetentionPolicy.of({
    spec,
    retentionPeriod: (blob) => {
      const d = decide(blob)
      return d.days === undefined ? Option.none() : Option.some(Duration.days(d.days))
    },
    canDelete: (blob, now) => deletable(decide(blob), blob, now),
    shouldArchive: (blob, now) => {
      const d = decide(blob)
      return (
        d.archiveAfterDays !== undefined &&
        now - blob.createdAt >= d.archiveAfterDays * DAY_MS &&
        !deletable(d, blob, now)
      )
    }
  })
}

/** The policy as a layer. */
export const layer = (spec: Spec): Layer.Layer<RetentionPolicy> => Layer.sync(RetentionPolicy, () => make(spec))

/** Keep everything forever: the default. */
export const layerInfinite: Layer.Layer<RetentionPolicy> = layer({ _tag: "Infinite" })

/**
 * Reads the policy as a JSON document from `POLICY` (e.g. `GRAVITON_RETENTION_POLICY` once nested under
 * `GRAVITON_RETENTION`); missing means `Infinite`.
 */
export const config: Config.Config<Spec> = Config.schema(Schema.fromJsonString(Spec), "POLICY").pipe(
  Config.withDefault<Spec>({ _tag: "Infinite" })
)

/** A policy read with {@link config} (or the given config). */
export const layerConfig = (source: Config.Config<Spec> = config): Layer.Layer<RetentionPolicy, Config.ConfigError> =>
  Layer.effect(RetentionPolicy, Config.map(source, make))
