/**
 * Generic method interception for port services: every member that returns (or is) an `Effect` or a `Stream` is
 * routed through an interceptor, everything else is kept as is. Decorators (metrics, retry, timeout, tracing, fault
 * injection) are written once against this and apply to every port.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** What an interceptor sees of one call. */
export interface Call {
  /** Port name, e.g. `BlockStore`. */
  readonly port: string
  /** Method name, e.g. `put`. */
  readonly method: string
  /** The call's arguments (empty for effect- or stream-valued members). */
  readonly args: ReadonlyArray<unknown>
}

export interface Interceptor {
  readonly effect: <A, E, R>(call: Call, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly stream: <A, E, R>(call: Call, self: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>
}

/** The short port name of a service key: `@graviton/runtime/BlockStore` → `BlockStore`. */
export const portName = (tag: { readonly key: string }): string => {
  const i = tag.key.lastIndexOf("/")
  return i < 0 ? tag.key : tag.key.slice(i + 1)
}

/** Whether a call takes a stream, directly or as a property of an argument (its input may be one-shot). */
export const hasStreamArgument = (call: Call): boolean => {
  for (const a of call.args) {
    if (typeof a !== "object" || a === null || ArrayBuffer.isView(a)) continue
    if (Stream.isStream(a)) return true
    // only plain option/draft records are inspected (never byte arrays or class instances)
    const proto = Object.getPrototypeOf(a)
    if (proto !== Object.prototype && proto !== null) continue
    for (const k in a) if (Stream.isStream((a as Record<string, unknown>)[k])) return true
  }
  return false
}

const NO_ARGS: ReadonlyArray<unknown> = []

/** Wraps every Effect- or Stream-returning member of `service`. */
export const decorate = <S extends object>(port: string, service: S, interceptor: Interceptor): S => {
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(service)) {
    const member = (service as Record<string, unknown>)[name]
    if (typeof member === "function") {
      const fn = member as (...args: Array<unknown>) => unknown
      out[name] = (...args: Array<unknown>) => {
        const result = fn.apply(service, args)
        if (Effect.isEffect(result)) return interceptor.effect({ port, method: name, args }, result)
        if (Stream.isStream(result)) return interceptor.stream({ port, method: name, args }, result)
        return result
      }
    } else if (Effect.isEffect(member)) {
      out[name] = interceptor.effect({ port, method: name, args: NO_ARGS }, member)
    } else if (Stream.isStream(member)) {
      out[name] = interceptor.stream({ port, method: name, args: NO_ARGS }, member)
    } else {
      out[name] = member
    }
  }
  return out as S
}

/** The Layer form of a `(self) => self` decorator: requires the port and provides the decorated port. */
export const layer = <I, S>(tag: Context.Service<I, S>, f: (self: S) => S): Layer.Layer<I, never, I> =>
  Layer.effect(tag, Effect.map(tag as Effect.Effect<S, never, I>, f))

/** Like {@link layer}, for decorators that need one more service. */
export const layerWith = <I, S, I2, S2>(
  tag: Context.Service<I, S>,
  dep: Context.Service<I2, S2>,
  f: (self: S, dep: S2) => S
): Layer.Layer<I, never, I | I2> =>
  Layer.effect(
    tag,
    Effect.flatMap(dep as Effect.Effect<S2, never, I2>, (d) =>
      Effect.map(tag as Effect.Effect<S, never, I>, (s) => f(s, d))
    )
  )
