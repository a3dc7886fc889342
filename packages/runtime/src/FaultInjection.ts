/**
 * A fault-injection decorator for tests: make a port fail, stall, die or be interrupted **before** or **after** a
 * chosen occurrence of a chosen method. "After" runs the real operation first, so it models a lost acknowledgement
 * (the write happened, the caller saw an error) — the case crash laws care about.
 *
 * ```ts
 * const faults = FaultInjection.makeInjector([
 *   FaultInjection.failAt("put", 3, StorageError.unavailable("BlockStore.put")),
 *   FaultInjection.interruptAt("commit", 1, "after")
 * ])
 * const layer = FaultInjection.layer(BlockStore.BlockStore, faults).pipe(Layer.provide(BlockStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Decorate from "./internal/decorate.ts"

export type Action =
  | { readonly _tag: "Fail"; readonly error: unknown }
  | { readonly _tag: "Die"; readonly defect: unknown }
  | { readonly _tag: "Delay"; readonly duration: Duration.Input }
  | { readonly _tag: "Interrupt" }

export interface Rule {
  /** Method name, or `"*"` for any method. */
  readonly method: string
  /** 1-based occurrence of that method to hit; `undefined` hits every call. */
  readonly occurrence?: number | undefined
  readonly when: "before" | "after"
  readonly action: Action
}

/** Mutable fault plan shared by the decorated service and the test. */
export interface Injector {
  /** Adds a rule. */
  readonly add: (rule: Rule) => void
  /** Removes every rule (call counts are kept). */
  readonly clear: () => void
  /** How many times `method` was called through the decorator so far. */
  readonly calls: (method: string) => number
  /** How many faults have fired so far. */
  readonly fired: () => number
  /** @internal */
  readonly match: (method: string, when: "before" | "after", occurrence: number) => Action | undefined
  /** @internal */
  readonly count: (method: string) => number
}

export const makeInjector = (rules: ReadonlyArray<Rule> = []): Injector => {
  let plan = [...rules]
  let fired = 0
  const counts = new Map<string, number>()
  return {
    add: (rule) => {
      plan.push(rule)
    },
    clear: () => {
      plan = []
    },
    calls: (method) => counts.get(method) ?? 0,
    fired: () => fired,
    count: (method) => {
      const n = (counts.get(method) ?? 0) + 1
      counts.set(method, n)
      return n
    },
    match: (method, when, occurrence) => {
      const rule = plan.find(
        (r) =>
          (r.method === "*" || r.method === method) &&
          r.when === when &&
          (r.occurrence === undefined || r.occurrence === occurrence)
      )
      if (rule !== undefined) fired++
      return rule?.action
    }
  }
}

export const failAt = (
  method: string,
  occurrence: number | undefined,
  error: unknown,
  when: "before" | "after" = "before"
): Rule => ({
  method,
  occurrence,
  when,
  action: { _tag: "Fail", error }
})
export const dieAt = (
  method: string,
  occurrence: number | undefined,
  defect: unknown,
  when: "before" | "after" = "before"
): Rule => ({
  method,
  occurrence,
  when,
  action: { _tag: "Die", defect }
})
export const delayAt = (
  method: string,
  occurrence: number | undefined,
  duration: Duration.Input,
  when: "before" | "after" = "before"
): Rule => ({
  method,
  occurrence,
  when,
  action: { _tag: "Delay", duration }
})
export const interruptAt = (
  method: string,
  occurrence: number | undefined,
  when: "before" | "after" = "before"
): Rule => ({
  method,
  occurrence,
  when,
  action: { _tag: "Interrupt" }
})

const perform = (action: Action | undefined): Effect.Effect<void, never> => {
  if (action === undefined) return Effect.void
  switch (action._tag) {
    case "Fail":
      return Effect.fail(action.error) as unknown as Effect.Effect<void>
    case "Die":
      return Effect.die(action.defect)
    case "Delay":
      return Effect.sleep(action.duration)
    case "Interrupt":
      return Effect.interrupt
  }
}

/** Decorates a port so the injector's rules fire around its methods. */
export const withFaults =
  <I, S extends object>(tag: Context.Service<I, S>, injector: Injector) =>
  (self: S): S =>
    Decorate.decorate(Decorate.portName(tag), self, {
      effect: (call, eff) =>
        Effect.suspend(() => {
          const n = injector.count(call.method)
          return perform(injector.match(call.method, "before", n)).pipe(
            Effect.andThen(eff),
            Effect.tap(() => perform(injector.match(call.method, "after", n)))
          )
        }) as typeof eff,
      stream: (call, s) =>
        Stream.suspend(() => {
          const n = injector.count(call.method)
          return Stream.fromEffect(perform(injector.match(call.method, "before", n))).pipe(
            Stream.drain,
            Stream.concat(s),
            Stream.concat(Stream.drain(Stream.fromEffect(perform(injector.match(call.method, "after", n)))))
          )
        }) as typeof s
    })

/** Layer form of {@link withFaults}. */
export const layer = <I, S extends object>(tag: Context.Service<I, S>, injector: Injector): Layer.Layer<I, never, I> =>
  Decorate.layer(tag, withFaults(tag, injector))
