/**
 * Exit codes of the `graviton` command: 0 ok, 1 usage, 2 not found, 3 failure — and the one-line error message
 * printed for each failure (never a stack trace).
 *
 * @since 0.1.0
 */
import { ConstraintViolation, StorageError } from "@graviton/runtime"
import * as Cause from "effect/Cause"
import { CliError } from "effect/cli"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

export const ok = 0
export const usage = 1
export const notFound = 2
export const failure = 3

export interface Outcome {
  readonly code: number
  /** `error` code for --json output, absent on success. */
  readonly error?: string | undefined
  readonly message?: string | undefined
}

/** Classifies a failure value. */
export const classify = (e: unknown): Outcome => {
  if (CliError.isCliError(e)) {
    if (e._tag === "ShowHelp") return e.errors.length === 0 ? { code: ok } : { code: usage, error: "usage" }
    return { code: usage, error: "usage", message: e.message }
  }
  if (StorageError.isStorageError(e)) {
    const tag = e.reason._tag
    if (tag === "NotFound") return { code: notFound, error: "not_found", message: e.reason.message }
    if (tag === "InvalidArgument") return { code: usage, error: "invalid_argument", message: e.reason.message }
    return {
      code: failure,
      error: tag.replace(/[A-Z]/g, (c, i) => (i === 0 ? c : `_${c}`)).toLowerCase(),
      message: e.message
    }
  }
  if (ConstraintViolation.isConstraintViolation(e)) {
    return { code: failure, error: e.reason._tag.toLowerCase(), message: e.message }
  }
  const tagged = e as { readonly _tag?: unknown; readonly message?: unknown }
  if (tagged._tag === "UsageError") return { code: usage, error: "usage", message: String(tagged.message) }
  if (tagged._tag === "IoError") return { code: failure, error: "io", message: String(tagged.message) }
  return { code: failure, error: "failure", message: e instanceof Error ? e.message : String(e) }
}

/** Classifies a program's exit. Interruption (Ctrl-C) is a failure with code 130 by convention. */
export const ofExit = <A, E>(exit: Exit.Exit<A, E>): Outcome => {
  if (Exit.isSuccess(exit)) return { code: ok }
  const err = Cause.findErrorOption(exit.cause)
  if (Option.isSome(err)) return classify(err.value)
  if (Cause.hasInterruptsOnly(exit.cause)) return { code: 130, error: "interrupted" }
  return { code: failure, error: "defect", message: Cause.pretty(exit.cause).split("\n")[0] ?? "unexpected failure" }
}
