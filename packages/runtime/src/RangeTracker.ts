/**
 * `RangeTracker`: persisted sets of completed byte spans, one per upload or blob id. Resumable uploads record each
 * staged part here, so any process serving the upload knows what has arrived and what is still missing.
 *
 * Sets are core {@link RangeSet.RangeSet}s of half-open {@link Span.Span}s `[start, end)`. An id that was never
 * written, or was deleted, has the **empty** set: absence is not an error. Ids are strings of 1..{@link maxIdBytes}
 * bytes of UTF-8 (well-formed, no U+0000).
 *
 * Any backend with a {@link KeyValueStore.KeyValueStore} gets a correct, cross-process-safe tracker from
 * {@link fromKeyValueStore}: sets are stored in a compact binary form and every update is a compare-and-set loop.
 *
 * @since 0.1.0
 */
import { RangeSet, Span } from "@graviton/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Codec from "./internal/kvRangeSetCodec.ts"
import * as KeyValueStore from "./KeyValueStore.ts"
import * as StorageError from "./StorageError.ts"

/** Largest id: 512 bytes of UTF-8 (leaving room for a key prefix in a {@link KeyValueStore.KeyValueStore}). */
export const maxIdBytes = 512

export interface RangeTracker {
  /**
   * Adds `span` to the completed set of `id` and returns the resulting set. Idempotent (marking a span twice, or a
   * span already covered, changes nothing) and commutative: concurrent calls from any number of fibers or processes
   * all land, overlapping and adjacent spans merge, and the final set is exactly their union. An empty span changes
   * nothing. Fails `InvalidArgument` on a bad id or span bounds (negative, fractional, `end < start`).
   */
  readonly markComplete: (id: string, span: Span.Span) => Effect.Effect<RangeSet.RangeSet, StorageError.StorageError>
  /** The completed set of `id`; empty when nothing was recorded. */
  readonly getCompleted: (id: string) => Effect.Effect<RangeSet.RangeSet, StorageError.StorageError>
  /**
   * The gaps of `id` within `[0, total)`: the byte spans not yet completed, in order (empty when everything is there,
   * `[0, total)` when nothing is). Completed spans beyond `total` are ignored. Fails `InvalidArgument` unless `total`
   * is a non-negative safe integer.
   */
  readonly getPending: (id: string, total: number) => Effect.Effect<RangeSet.RangeSet, StorageError.StorageError>
  /** Whether every byte of `[0, size)` is completed (always true for `size` 0). Same `size` rule as `getPending`. */
  readonly isComplete: (id: string, size: number) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * Atomically replaces the set of `id` with `update` when it currently equals `expected` (same offsets), and
   * reports whether it did. The empty set stands for "nothing recorded": `expected` empty matches an unknown id, and
   * `update` empty removes the record. Of concurrent calls with the same `expected`, at most one succeeds. Fails
   * `InvalidArgument` when either set is not normalized (a hand-built value).
   */
  readonly compareAndSet: (
    id: string,
    expected: RangeSet.RangeSet,
    update: RangeSet.RangeSet
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /** Forgets `id`; `true` when it had a non-empty set. */
  readonly delete: (id: string) => Effect.Effect<boolean, StorageError.StorageError>
}

export const RangeTracker: Context.Service<RangeTracker, RangeTracker> = Context.Service(
  "@graviton/runtime/RangeTracker"
)

// ---------------------------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------------------------

const validateId = (operation: string, id: unknown): Effect.Effect<string, StorageError.StorageError> => {
  const p = KeyValueStore.textProblem(id, "an id", maxIdBytes)
  return p === undefined
    ? Effect.succeed(id as string)
    : Effect.fail(
        StorageError.invalidArgument(operation, {
          message: p,
          ...(typeof id === "string" ? { key: id.slice(0, 120) } : {})
        })
      )
}

const validateSpan = (
  operation: string,
  id: string,
  span: unknown
): Effect.Effect<Span.Span, StorageError.StorageError> => {
  if (typeof span !== "object" || span === null) {
    return Effect.fail(StorageError.invalidArgument(operation, { key: id, message: "span must be { start, end }" }))
  }
  const s = span as { readonly start?: unknown; readonly end?: unknown }
  const r = Span.make(s.start as number, s.end as number)
  return Result.isSuccess(r)
    ? Effect.succeed(r.success)
    : Effect.fail(StorageError.invalidArgument(operation, { key: id, message: `invalid span: ${r.failure.message}` }))
}

const validateSize = (operation: string, id: string, size: unknown, what: string) =>
  typeof size === "number" && Number.isSafeInteger(size) && size >= 0
    ? Effect.succeed(size)
    : Effect.fail(
        StorageError.invalidArgument(operation, {
          key: id,
          message: `${what} must be a non-negative safe integer, got ${String(size)}`
        })
      )

const isRangeSet = Schema.is(RangeSet.RangeSet)

const validateSet = (operation: string, id: string, set: unknown, what: string) =>
  isRangeSet(set)
    ? Effect.succeed(set)
    : Effect.fail(
        StorageError.invalidArgument(operation, { key: id, message: `${what} is not a normalized range set` })
      )

const universe = (total: number): Span.Span => ({ start: 0, end: total })

// ---------------------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------------------

/** What a backend implements; {@link make} validates arguments first and derives the rest. */
export interface Primitives {
  /** The stored set of an (already validated) id; empty when unknown. */
  readonly get: (id: string) => Effect.Effect<RangeSet.RangeSet, StorageError.StorageError>
  /** Atomic compare-and-set on validated, normalized sets (`update` empty removes the record). */
  readonly compareAndSet: (
    id: string,
    expected: RangeSet.RangeSet,
    update: RangeSet.RangeSet
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /** Removes the record; `true` when there was a non-empty set. */
  readonly delete: (id: string) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * A native atomic add (for backends that have one); derived as a `get` + `compareAndSet` loop otherwise. Receives
   * a validated, non-empty span.
   */
  readonly markComplete?: (id: string, span: Span.Span) => Effect.Effect<RangeSet.RangeSet, StorageError.StorageError>
}

/**
 * Builds a {@link RangeTracker} from {@link Primitives}: validates every argument (so backends reject the same
 * input), derives `markComplete` as a lock-free compare-and-set loop when not given, and derives `getPending` and
 * `isComplete` from `get`.
 */
export const make = (p: Primitives): RangeTracker => {
  const casLoop = (id: string, span: Span.Span): Effect.Effect<RangeSet.RangeSet, StorageError.StorageError> =>
    Effect.flatMap(p.get(id), (current) => {
      const next = RangeSet.add(current, span)
      if (RangeSet.equals(next, current)) return Effect.succeed(current)
      return Effect.flatMap(p.compareAndSet(id, current, next), (ok) =>
        ok ? Effect.succeed(next) : Effect.andThen(Effect.yieldNow, casLoop(id, span))
      )
    })
  const markComplete = p.markComplete ?? casLoop
  const getCompleted = (operation: string, id: string) => Effect.flatMap(validateId(operation, id), p.get)
  return RangeTracker.of({
    markComplete: (id, span) =>
      Effect.gen(function* () {
        const op = "RangeTracker.markComplete"
        const i = yield* validateId(op, id)
        const s = yield* validateSpan(op, i, span)
        if (Span.isEmpty(s)) return yield* p.get(i)
        return yield* markComplete(i, s)
      }),
    getCompleted: (id) => getCompleted("RangeTracker.getCompleted", id),
    getPending: (id, total) =>
      Effect.gen(function* () {
        const op = "RangeTracker.getPending"
        const i = yield* validateId(op, id)
        const t = yield* validateSize(op, i, total, "total")
        return RangeSet.complement(yield* p.get(i), universe(t))
      }),
    isComplete: (id, size) =>
      Effect.gen(function* () {
        const op = "RangeTracker.isComplete"
        const i = yield* validateId(op, id)
        const n = yield* validateSize(op, i, size, "size")
        return n === 0 || RangeSet.containsSpan(yield* p.get(i), universe(n))
      }),
    compareAndSet: (id, expected, update) =>
      Effect.gen(function* () {
        const op = "RangeTracker.compareAndSet"
        const i = yield* validateId(op, id)
        const e = yield* validateSet(op, i, expected, "expected")
        const u = yield* validateSet(op, i, update, "update")
        return yield* p.compareAndSet(i, e, u)
      }),
    delete: (id) => Effect.flatMap(validateId("RangeTracker.delete", id), p.delete)
  })
}

/** An in-memory RangeTracker over a `Map`; every update is one synchronous step, so it is atomic. */
export const makeMemory = (): RangeTracker => {
  const sets = new Map<string, RangeSet.RangeSet>()
  const current = (id: string) => sets.get(id) ?? RangeSet.empty
  const store = (id: string, set: RangeSet.RangeSet) => {
    if (RangeSet.isEmpty(set)) sets.delete(id)
    else sets.set(id, set)
  }
  return make({
    get: (id) => Effect.sync(() => current(id)),
    compareAndSet: (id, expected, update) =>
      Effect.sync(() => {
        if (!RangeSet.equals(current(id), expected)) return false
        store(id, update)
        return true
      }),
    delete: (id) => Effect.sync(() => sets.delete(id)),
    markComplete: (id, span) =>
      Effect.sync(() => {
        const next = RangeSet.add(current(id), span)
        store(id, next)
        return next
      })
  })
}

/** A fresh in-memory RangeTracker per layer build. */
export const layerMemory: Layer.Layer<RangeTracker> = Layer.sync(RangeTracker, makeMemory)

/** Default key prefix of {@link layerKeyValueStore}. */
export const defaultPrefix = "graviton/ranges/"

/**
 * A RangeTracker stored in a {@link KeyValueStore.KeyValueStore}: the set of `id` lives under `prefix + id` in a
 * compact varint encoding (an empty set is no key at all), and every update is a `compareAndSet` loop on that key,
 * so it is as atomic — across processes — as the store's `compareAndSet`. A stored value that does not decode fails
 * with `Corrupt`.
 */
export const fromKeyValueStore = (kv: KeyValueStore.KeyValueStore, prefix: string = defaultPrefix): RangeTracker => {
  const keyOf = (id: string) => `${prefix}${id}`
  interface Current {
    readonly bytes: Uint8Array | undefined
    readonly set: RangeSet.RangeSet
  }
  const read = (id: string): Effect.Effect<Current, StorageError.StorageError> =>
    Effect.flatMap(kv.get(keyOf(id)), (o): Effect.Effect<Current, StorageError.StorageError> => {
      if (Option.isNone(o)) return Effect.succeed({ bytes: undefined, set: RangeSet.empty })
      const d = Codec.decode(o.value)
      return d.ok
        ? Effect.succeed({ bytes: o.value, set: d.set })
        : Effect.fail(StorageError.corrupt("RangeTracker.get", { key: id, message: `stored range set: ${d.message}` }))
    })
  const encodeOrDelete = (set: RangeSet.RangeSet) => (RangeSet.isEmpty(set) ? undefined : Codec.encode(set))
  const compareAndSet = (
    id: string,
    expected: RangeSet.RangeSet,
    update: RangeSet.RangeSet
  ): Effect.Effect<boolean, StorageError.StorageError> =>
    Effect.flatMap(read(id), (cur) => {
      if (!RangeSet.equals(cur.set, expected)) return Effect.succeed(false)
      const next = encodeOrDelete(update)
      if (cur.bytes === undefined && next === undefined) return Effect.succeed(true)
      return Effect.flatMap(kv.compareAndSet(keyOf(id), cur.bytes, next), (ok) =>
        // lost a race: the set may still equal `expected` (re-encoded by someone else), so look again
        ok ? Effect.succeed(true) : Effect.andThen(Effect.yieldNow, compareAndSet(id, expected, update))
      )
    })
  return make({
    get: (id) => Effect.map(read(id), (c) => c.set),
    compareAndSet,
    delete: (id) =>
      Effect.flatMap(read(id), (cur) =>
        cur.bytes === undefined
          ? Effect.succeed(false)
          : Effect.map(kv.delete(keyOf(id)), (removed) => removed && !RangeSet.isEmpty(cur.set))
      )
  })
}

/** {@link fromKeyValueStore} as a layer over the {@link KeyValueStore.KeyValueStore} in context. */
export const layerKeyValueStore = (
  prefix: string = defaultPrefix
): Layer.Layer<RangeTracker, never, KeyValueStore.KeyValueStore> =>
  Layer.effect(
    RangeTracker,
    Effect.map(
      KeyValueStore.KeyValueStore as Effect.Effect<KeyValueStore.KeyValueStore, never, KeyValueStore.KeyValueStore>,
      (kv) => fromKeyValueStore(kv, prefix)
    )
  )
