/**
 * `KeyValueStore`: Graviton's metadata key/value port — string keys, byte values, ordered prefix listing with opaque
 * cursors, and an atomic `compareAndSet` that is the building block for every read-modify-write on shared backends
 * (upload progress in `RangeTracker.fromKeyValueStore`, sessions, counters).
 *
 * **Keys** are strings of 1..{@link maxKeyBytes} bytes of UTF-8. They must be well-formed Unicode (no unpaired
 * surrogates, so every key has exactly one UTF-8 encoding) and must not contain U+0000 (PostgreSQL text cannot hold
 * it). **Values** are `Uint8Array`s of 0..{@link maxValueBytes} bytes; the empty value is a value, distinct from
 * absence. Anything else fails with an `InvalidArgument` {@link StorageError.StorageError}.
 *
 * **Order.** `list` returns keys in **UTF-8 byte order**, which equals Unicode code point order. For keys made only
 * of BMP characters (U+0000..U+FFFF) this is also JavaScript's `<` order; it differs from `<` only when a
 * supplementary character (U+10000 and up, a surrogate pair in UTF-16) is compared with one in U+E000..U+FFFF, where
 * byte order puts the supplementary character last. Every backend sorts this way (LevelDB's bytewise comparator,
 * PostgreSQL `COLLATE "C"`), so pages are identical across backends.
 *
 * **Isolation.** Values are copied in and out: mutating a buffer passed to `put` or returned by `get` never changes
 * the stored value.
 *
 * An adapter to Effect's own `effect/persistence` `KeyValueStore` is {@link toPersistence} / {@link layerPersistence}.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistence from "effect/persistence/KeyValueStore"
import * as Schema from "effect/Schema"
import * as Cursor from "./internal/cursor.ts"
import { SortedKeys } from "./internal/sortedKeys.ts"
import * as StorageError from "./StorageError.ts"

/** Largest key: 1024 bytes of UTF-8. */
export const maxKeyBytes = 1024

/** Largest value: 32 MiB. */
export const maxValueBytes = 32 * 1024 * 1024

/** Largest page of {@link KeyValueStore.list}. */
export const maxListLimit = 1000

/** Default page size of {@link KeyValueStore.list}. */
export const defaultListLimit = 100

/** Schema of one listed entry; the JSON form carries the value as base64. */
export const Entry = Schema.Struct({
  key: Schema.String,
  value: Schema.Uint8Array
}).annotate({ identifier: "KeyValueEntry" })

/** One key with its value. */
export interface Entry extends Schema.Schema.Type<typeof Entry> {}

/** Schema of a page of {@link KeyValueStore.list}. */
export const ListPage = Schema.Struct({
  entries: Schema.Array(Entry),
  cursor: Schema.optional(Schema.String)
}).annotate({ identifier: "KeyValueListPage" })

/** A page of entries in key order; `cursor` is present exactly when more entries with the prefix may follow. */
export interface ListPage extends Schema.Schema.Type<typeof ListPage> {}

/** Options of {@link KeyValueStore.list}. */
export interface ListOptions {
  /** Only keys starting with this string (default: all keys). Same syntax as a key, but may be empty. */
  readonly prefix?: string | undefined
  /** Resume strictly after the last key of the page that returned this opaque cursor. */
  readonly cursor?: string | undefined
  /** Page size, 1..{@link maxListLimit} (default {@link defaultListLimit}). */
  readonly limit?: number | undefined
}

export interface KeyValueStore {
  /** The value stored under `key`, or `None` when absent. The returned array is the caller's to keep. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>, StorageError.StorageError>
  /**
   * Stores `value` under `key`, replacing any previous value (last writer wins). Once this succeeds the value
   * survives a restart of a persistent backend. Fails `InvalidArgument` on a bad key or a value over
   * {@link maxValueBytes}.
   */
  readonly put: (key: string, value: Uint8Array) => Effect.Effect<void, StorageError.StorageError>
  /** Removes `key`; `true` when a value was removed, `false` when it was already absent. */
  readonly delete: (key: string) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * One page of entries whose key starts with `prefix`, in UTF-8 byte order of the keys. Following the returned
   * cursor visits every key that exists throughout the walk exactly once; keys inserted or removed during the walk
   * may or may not appear, but no key appears twice. Fails `InvalidArgument` on a malformed cursor, prefix or limit.
   */
  readonly list: (options?: ListOptions) => Effect.Effect<ListPage, StorageError.StorageError>
  /**
   * Atomically replaces the value of `key` when its current value equals `expected` byte for byte, and reports
   * whether it did. `expected: undefined` means "must be absent"; `next: undefined` deletes. Of any number of
   * concurrent calls with the same `expected`, at most one succeeds (exactly one when `expected` is current), also
   * across processes on shared backends. `compareAndSet(k, undefined, undefined)` succeeds exactly when `k` is absent
   * and changes nothing.
   */
  readonly compareAndSet: (
    key: string,
    expected: Uint8Array | undefined,
    next: Uint8Array | undefined
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /** `get` decoded as UTF-8; fails `Corrupt` when the stored bytes are not valid UTF-8. */
  readonly getString: (key: string) => Effect.Effect<Option.Option<string>, StorageError.StorageError>
  /** `put` of the UTF-8 encoding of `value`. */
  readonly putString: (key: string, value: string) => Effect.Effect<void, StorageError.StorageError>
}

export const KeyValueStore: Context.Service<KeyValueStore, KeyValueStore> = Context.Service(
  "@graviton/runtime/KeyValueStore"
)

// ---------------------------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------------------------

const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")

/**
 * Why `text` is not a valid identifier of at most `maxBytes` bytes of UTF-8 (well-formed Unicode, no U+0000,
 * non-empty unless `allowEmpty`), naming it `what` ("a key", "an id"); `undefined` when it is valid. Shared by the
 * ports whose identifiers end up as keys.
 */
export const textProblem = (text: unknown, what: string, maxBytes: number, allowEmpty = false): string | undefined => {
  if (typeof text !== "string") return `${what} must be a string, got ${typeof text}`
  if (text.length === 0) return allowEmpty ? undefined : `${what} must not be empty`
  if (!text.isWellFormed()) return `${what} must be well-formed Unicode (no unpaired surrogates)`
  if (text.includes("\u0000")) return `${what} must not contain U+0000`
  const n = utf8Length(text)
  if (n > maxBytes) return `${what} must be at most ${maxBytes} bytes of UTF-8, got ${n}`
  return undefined
}

/** Why `key` is not a valid key (`allowEmpty` for prefixes), or `undefined` when it is one. */
export const keyProblem = (key: unknown, allowEmpty = false): string | undefined =>
  textProblem(key, "a key", maxKeyBytes, allowEmpty)

const shown = (key: unknown): string | undefined =>
  typeof key === "string" ? (key.length > 120 ? `${key.slice(0, 120)}…` : key) : undefined

const details = (key: unknown, message: string): StorageError.Details => {
  const k = shown(key)
  return k === undefined ? { message } : { key: k, message }
}

/** Fails `InvalidArgument` unless `key` is a valid key. Shared by every backend so they reject the same input. */
export const validateKey = (operation: string, key: unknown): Effect.Effect<string, StorageError.StorageError> => {
  const p = keyProblem(key)
  return p === undefined
    ? Effect.succeed(key as string)
    : Effect.fail(StorageError.invalidArgument(operation, details(key, p)))
}

/** Fails `InvalidArgument` unless `value` is a `Uint8Array` of at most {@link maxValueBytes} bytes. */
export const validateValue = (
  operation: string,
  key: string,
  value: unknown,
  what = "value"
): Effect.Effect<Uint8Array, StorageError.StorageError> => {
  if (!(value instanceof Uint8Array)) {
    return Effect.fail(StorageError.invalidArgument(operation, details(key, `${what} must be a Uint8Array`)))
  }
  if (value.byteLength > maxValueBytes) {
    return Effect.fail(
      StorageError.invalidArgument(
        operation,
        details(key, `${what} of ${value.byteLength} bytes exceeds the ${maxValueBytes}-byte limit`)
      )
    )
  }
  return Effect.succeed(value)
}

/** A listing request after validation: `after` is the decoded cursor. */
export interface ScanQuery {
  readonly prefix: string
  readonly after: string | undefined
  readonly limit: number
}

/** Validates list options and decodes the cursor. */
export const decodeListOptions = (
  operation: string,
  options: ListOptions | undefined
): Effect.Effect<ScanQuery, StorageError.StorageError> => {
  const limit = options?.limit ?? defaultListLimit
  if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) {
    return Effect.fail(
      StorageError.invalidArgument(operation, { message: `limit must be 1..${maxListLimit}, got ${limit}` })
    )
  }
  const prefix = options?.prefix ?? ""
  const p = keyProblem(prefix, true)
  if (p !== undefined) return Effect.fail(StorageError.invalidArgument(operation, details(prefix, `prefix: ${p}`)))
  if (options?.cursor === undefined) return Effect.succeed({ prefix, after: undefined, limit })
  const after = typeof options.cursor === "string" ? Cursor.decode(options.cursor) : undefined
  if (after === undefined || keyProblem(after) !== undefined) {
    return Effect.fail(StorageError.invalidArgument(operation, { message: "malformed list cursor" }))
  }
  return Effect.succeed({ prefix, after, limit })
}

// ---------------------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a backend implements; {@link make} validates every argument first (so primitives see only valid keys,
 * values and decoded cursors), copies nothing, and derives `list` paging, `getString` and `putString`.
 */
export interface Primitives {
  readonly get: (key: string) => Effect.Effect<Option.Option<Uint8Array>, StorageError.StorageError>
  readonly put: (key: string, value: Uint8Array) => Effect.Effect<void, StorageError.StorageError>
  readonly delete: (key: string) => Effect.Effect<boolean, StorageError.StorageError>
  readonly compareAndSet: (
    key: string,
    expected: Uint8Array | undefined,
    next: Uint8Array | undefined
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * Up to `limit` entries with keys starting with `prefix` and strictly greater than `after` (when given), in UTF-8
   * byte order, and whether more such keys follow.
   */
  readonly scan: (
    query: ScanQuery
  ) => Effect.Effect<{ readonly entries: ReadonlyArray<Entry>; readonly more: boolean }, StorageError.StorageError>
}

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Builds a {@link KeyValueStore} from {@link Primitives}: validation, cursors and string helpers are derived. */
export const make = (p: Primitives): KeyValueStore => {
  const get = (key: string) => Effect.flatMap(validateKey("KeyValueStore.get", key), p.get)
  const put = (key: string, value: Uint8Array) =>
    Effect.flatMap(validateKey("KeyValueStore.put", key), (k) =>
      Effect.flatMap(validateValue("KeyValueStore.put", k, value), (v) => p.put(k, v))
    )
  return KeyValueStore.of({
    get,
    put,
    delete: (key) => Effect.flatMap(validateKey("KeyValueStore.delete", key), p.delete),
    list: (options) =>
      Effect.flatMap(decodeListOptions("KeyValueStore.list", options), (query) =>
        Effect.map(p.scan(query), ({ entries, more }): ListPage => {
          const last = entries[entries.length - 1]
          return more && last !== undefined ? { entries, cursor: Cursor.encode(last.key) } : { entries }
        })
      ),
    compareAndSet: (key, expected, next) =>
      Effect.gen(function* () {
        const op = "KeyValueStore.compareAndSet"
        const k = yield* validateKey(op, key)
        const e = expected === undefined ? undefined : yield* validateValue(op, k, expected, "expected value")
        const n = next === undefined ? undefined : yield* validateValue(op, k, next, "next value")
        return yield* p.compareAndSet(k, e, n)
      }),
    getString: (key) =>
      Effect.flatMap(get(key), (o) => {
        if (Option.isNone(o)) return Effect.succeed(Option.none<string>())
        try {
          return Effect.succeed(Option.some(strictDecoder.decode(o.value)))
        } catch (cause) {
          return Effect.fail(
            StorageError.corrupt("KeyValueStore.getString", { key, message: "value is not valid UTF-8", cause })
          )
        }
      }),
    putString: (key, value) =>
      typeof value === "string"
        ? put(key, encoder.encode(value))
        : Effect.fail(StorageError.invalidArgument("KeyValueStore.putString", details(key, "value must be a string")))
  })
}

/** Byte-exact equality. */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && Buffer.compare(a, b) === 0

/**
 * An in-memory KeyValueStore: a `Map` plus a sorted key index. Every operation is one synchronous step, so
 * `compareAndSet` is atomic with respect to every other fiber. Values are copied in and out.
 */
export const makeMemory = (): KeyValueStore => {
  const values = new Map<string, Uint8Array>()
  const order = new SortedKeys()
  return make({
    get: (key) =>
      Effect.sync(() => {
        const v = values.get(key)
        return v === undefined ? Option.none() : Option.some(new Uint8Array(v))
      }),
    put: (key, value) =>
      Effect.sync(() => {
        const copy = new Uint8Array(value)
        if (!values.has(key)) order.add(key)
        values.set(key, copy)
      }),
    delete: (key) =>
      Effect.sync(() => {
        if (!values.delete(key)) return false
        order.remove(key)
        return true
      }),
    compareAndSet: (key, expected, next) =>
      Effect.sync(() => {
        const current = values.get(key)
        const matches =
          expected === undefined ? current === undefined : current !== undefined && bytesEqual(current, expected)
        if (!matches) return false
        if (next === undefined) {
          if (values.delete(key)) order.remove(key)
        } else {
          if (current === undefined) order.add(key)
          values.set(key, new Uint8Array(next))
        }
        return true
      }),
    scan: (query) =>
      Effect.sync(() => {
        const page = order.page(query)
        return { entries: page.keys.map((key) => ({ key, value: new Uint8Array(values.get(key)!) })), more: page.more }
      })
  })
}

/** A fresh in-memory KeyValueStore per layer build. */
export const layerMemory: Layer.Layer<KeyValueStore> = Layer.sync(KeyValueStore, makeMemory)

// ---------------------------------------------------------------------------------------------------------------
// helpers derived from the primitives
// ---------------------------------------------------------------------------------------------------------------

/**
 * Atomic read-modify-write: applies `f` to the current value (`None` when absent) and stores its result (`None`
 * deletes) with `compareAndSet`, re-reading and re-applying `f` whenever another writer got there first. `f` may run
 * several times and must be pure. When `f` returns the current value unchanged nothing is written. Returns the value
 * that was stored (or `None`). Lock-free: every retry means some other writer succeeded.
 */
export const modify = (
  store: KeyValueStore,
  key: string,
  f: (current: Option.Option<Uint8Array>) => Option.Option<Uint8Array>
): Effect.Effect<Option.Option<Uint8Array>, StorageError.StorageError> => {
  const loop: Effect.Effect<Option.Option<Uint8Array>, StorageError.StorageError> = Effect.flatMap(
    store.get(key),
    (current) => {
      const next = f(current)
      const unchanged = Option.isNone(current)
        ? Option.isNone(next)
        : Option.isSome(next) && bytesEqual(current.value, next.value)
      if (unchanged) return Effect.succeed(next)
      return Effect.flatMap(
        store.compareAndSet(key, Option.getOrUndefined(current), Option.getOrUndefined(next)),
        (ok) => (ok ? Effect.succeed(next) : Effect.andThen(Effect.yieldNow, loop))
      )
    }
  )
  return Effect.suspend(() => loop)
}

/**
 * Reads `key` as JSON decoded with `schema`; `None` when absent. Fails `Corrupt` when the stored bytes are not
 * JSON or do not decode with the schema.
 */
export const getJson = <A, I>(
  store: KeyValueStore,
  key: string,
  schema: Schema.Codec<A, I>
): Effect.Effect<Option.Option<A>, StorageError.StorageError> => {
  const decode = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.toCodecJson(schema)))
  return Effect.flatMap(store.getString(key), (o) =>
    Option.isNone(o)
      ? Effect.succeed(Option.none())
      : decode(o.value).pipe(
          Effect.map(Option.some),
          Effect.mapError((cause) =>
            StorageError.corrupt("KeyValueStore.getJson", {
              key,
              message: `stored JSON does not decode: ${cause.message}`,
              cause
            })
          )
        )
  )
}

/** Stores `value` encoded with `schema` as JSON. Fails `InvalidArgument` when it does not encode. */
export const putJson = <A, I>(
  store: KeyValueStore,
  key: string,
  schema: Schema.Codec<A, I>,
  value: A
): Effect.Effect<void, StorageError.StorageError> =>
  Schema.encodeEffect(Schema.fromJsonString(Schema.toCodecJson(schema)))(value).pipe(
    Effect.mapError((cause) =>
      StorageError.invalidArgument("KeyValueStore.putJson", {
        key,
        message: `value does not encode: ${cause.message}`,
        cause
      })
    ),
    Effect.flatMap((json) => store.putString(key, json))
  )

/**
 * Every entry with `prefix`, page by page (a convenience for small key spaces; it holds the whole result).
 * Same visiting guarantee as paging by hand.
 */
export const listAll = (
  store: KeyValueStore,
  prefix = ""
): Effect.Effect<ReadonlyArray<Entry>, StorageError.StorageError> =>
  Effect.gen(function* () {
    const out: Array<Entry> = []
    let cursor: string | undefined
    do {
      const page = yield* store.list({ prefix, cursor, limit: maxListLimit })
      for (const e of page.entries) out.push(e)
      cursor = page.cursor
    } while (cursor !== undefined)
    return out
  })

// ---------------------------------------------------------------------------------------------------------------
// effect/persistence adapter
// ---------------------------------------------------------------------------------------------------------------

const persistenceError = (method: string, key?: string) => (e: StorageError.StorageError) =>
  new Persistence.KeyValueStoreError({
    method,
    message: e.message,
    cause: e,
    ...(key === undefined ? {} : { key })
  })

const lenientDecoder = new TextDecoder()

/**
 * An `effect/persistence` `KeyValueStore` over `store`, so Effect libraries that persist through that interface
 * (caches, `Persistence`, event logs) keep their data in Graviton's backend. Strings are stored as UTF-8; `get`
 * decodes leniently (invalid bytes become U+FFFD). `modify` and `modifyUint8Array` are atomic (a
 * {@link modify} CAS loop). `clear`, `clearPrefix`, `size` and `keys` walk the listing page by page. Failures become
 * `KeyValueStoreError`s carrying the {@link StorageError.StorageError} as `cause`.
 */
export const toPersistence = (store: KeyValueStore): Persistence.KeyValueStore => {
  const keysWith = (prefix: string) => Effect.map(listAll(store, prefix), (entries) => entries.map((e) => e.key))
  const removeAll = (method: string, prefix: string) =>
    Effect.flatMap(keysWith(prefix), (keys) => Effect.forEach(keys, (k) => store.delete(k), { discard: true })).pipe(
      Effect.mapError(persistenceError(method))
    )
  const modifyBytes = (method: string, key: string, f: (value: Uint8Array) => Uint8Array) =>
    modify(store, key, Option.map(f)).pipe(
      Effect.map(Option.getOrUndefined),
      Effect.mapError(persistenceError(method, key))
    )
  return Persistence.make({
    get: (key) =>
      store.get(key).pipe(
        Effect.map((o) => (Option.isNone(o) ? undefined : lenientDecoder.decode(o.value))),
        Effect.mapError(persistenceError("get", key))
      ),
    getUint8Array: (key) =>
      store.get(key).pipe(Effect.map(Option.getOrUndefined), Effect.mapError(persistenceError("getUint8Array", key))),
    set: (key, value) =>
      store
        .put(key, typeof value === "string" ? encoder.encode(value) : value)
        .pipe(Effect.mapError(persistenceError("set", key))),
    remove: (key) => store.delete(key).pipe(Effect.asVoid, Effect.mapError(persistenceError("remove", key))),
    has: (key) => store.get(key).pipe(Effect.map(Option.isSome), Effect.mapError(persistenceError("has", key))),
    clear: removeAll("clear", ""),
    clearPrefix: (prefix) => removeAll("clearPrefix", prefix),
    size: keysWith("").pipe(
      Effect.map((keys) => keys.length),
      Effect.mapError(persistenceError("size"))
    ),
    keys: keysWith("").pipe(Effect.mapError(persistenceError("keys"))),
    isEmpty: store.list({ limit: 1 }).pipe(
      Effect.map((page) => page.entries.length === 0),
      Effect.mapError(persistenceError("isEmpty"))
    ),
    modifyUint8Array: (key, f) => modifyBytes("modifyUint8Array", key, f),
    modify: (key, f) =>
      modifyBytes("modify", key, (v) => encoder.encode(f(lenientDecoder.decode(v)))).pipe(
        Effect.map((v) => (v === undefined ? undefined : lenientDecoder.decode(v)))
      )
  })
}

/** Provides Effect's `effect/persistence` `KeyValueStore` over the Graviton {@link KeyValueStore} (see {@link toPersistence}). */
export const layerPersistence: Layer.Layer<Persistence.KeyValueStore, never, KeyValueStore> = Layer.effect(
  Persistence.KeyValueStore,
  Effect.map(KeyValueStore as Effect.Effect<KeyValueStore, never, KeyValueStore>, toPersistence)
)
