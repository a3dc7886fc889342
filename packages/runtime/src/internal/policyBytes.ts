/**
 * Byte counts shared by the policy modules: a Schema for a non-negative safe-integer number of bytes, and a config
 * reader that accepts either a plain integer (`1048576`) or a human byte size (`64 MiB`, `1 TiB`, `100GiB`).
 */
import * as ByteSize from "effect/ByteSize"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"

/** Binary size units in bytes. */
export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB
export const TiB = 1024 * GiB

/** A non-negative safe integer number of bytes. */
export const ByteCount = Schema.Number.check(
  Schema.isInt({ message: "a byte count must be an integer" }),
  Schema.isGreaterThanOrEqualTo(0, { message: "a byte count cannot be negative" })
)

/** A positive safe integer number of bytes. */
export const PositiveByteCount = Schema.Number.check(
  Schema.isInt({ message: "a byte count must be an integer" }),
  Schema.isGreaterThan(0, { message: "a byte count must be positive" })
)

/** Parses `"1048576"`, `"64 MiB"`, `"1.5 kB"`; `undefined` when it is not a whole, safe number of bytes. */
export const parseByteCount = (input: string): number | undefined => {
  const text = input.trim()
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    return Number.isSafeInteger(n) ? n : undefined
  }
  const compact = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text)
  if (compact === null) return undefined
  const size = ByteSize.fromString(`${compact[1]} ${compact[2]}`)
  if (Option.isNone(size)) return undefined
  const n = ByteSize.toNumber(size.value)
  return Option.isSome(n) && Number.isSafeInteger(n.value) ? n.value : undefined
}

const fromString = (target: typeof ByteCount) =>
  Schema.String.pipe(
    Schema.decodeTo(
      target,
      SchemaTransformation.transformEffect({
        decode: (input: string, options) => {
          const n = parseByteCount(input)
          return n === undefined
            ? Effect.fail(
                new SchemaIssue.InvalidValue(
                  { message: `expected a byte count such as 1048576 or "64 MiB", got ${JSON.stringify(input)}` },
                  input,
                  options
                )
              )
            : Effect.succeed(n)
        },
        encode: (n: number) => Effect.succeed(String(n))
      })
    )
  )

/** A config value holding a byte count, as a plain integer or a byte size with a unit. */
export const config = (name: string): Config.Config<number> => Config.schema(fromString(ByteCount), name)

/** {@link config} for a count that must be positive. */
export const configPositive = (name: string): Config.Config<number> =>
  Config.schema(fromString(PositiveByteCount), name)
