/**
 * `BlockStore`: content-addressed blocks, keyed by the {@link BinaryKey} of their raw bytes.
 *
 * The store is a thin primitive: it keeps whatever bytes it is given under a key and does not re-hash them (the
 * `withVerification` decorator does; the CAS engine hashes before it writes). Stored bytes may be a compression
 * frame written by `withCompression`, so a stored block may be up to {@link maxStoredSize} bytes. Every write is create-only: writing an existing key leaves the stored bytes alone and
 * reports `"duplicate"`.
 *
 * **GC coordination.** Each block has a `touchedAt` time: set when it is written, refreshed when a put finds it
 * already present or when `hasMany(keys, { touch: true })` sees it. The garbage collector deletes with
 * `delete(key, { ifUntouchedSince })`, which is atomic with respect to touches: a block an ingest has just touched
 * is never removed by a sweep whose cutoff is older than the touch.
 *
 * @since 0.1.0
 */
import { BinaryKey, Frame, Hashing } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Cursor from "./internal/cursor.ts"
import * as Decorate from "./internal/decorate.ts"
import { ByteLru } from "./internal/lru.ts"
import { SortedKeys } from "./internal/sortedKeys.ts"
import * as MetricKeys from "./MetricKeys.ts"
import type * as MetricsRegistry from "./MetricsRegistry.ts"
import * as StorageError from "./StorageError.ts"

/** Largest logical block: 16 MiB. */
export const maxBlockSize = 16 * 1024 * 1024

/** Largest stored representation of a block (a frame header adds a few dozen bytes). */
export const maxStoredSize = maxBlockSize + 1024

/** Outcome of a write: `fresh` when the block was stored now, `duplicate` when it was already present. */
export type PutOutcome = "fresh" | "duplicate"

/** A block to write. */
export interface BlockEntry {
  readonly key: BinaryKey.BinaryKey
  readonly bytes: Uint8Array
}

/** One row of the GC inventory. */
export interface BlockInfo {
  readonly key: BinaryKey.BinaryKey
  /** Stored bytes (after any framing/compression). */
  readonly storedSize: number
  /** Epoch ms of the last write or touch. */
  readonly touchedAt: number
}

/** A page of the inventory; `cursor` is absent on the last page. */
export interface InventoryPage {
  readonly items: ReadonlyArray<BlockInfo>
  readonly cursor?: string | undefined
}

export interface InventoryOptions {
  /** Resume after this opaque cursor from a previous page. */
  readonly cursor?: string | undefined
  /** Page size, 1..1000 (default 1000). */
  readonly limit?: number | undefined
}

export interface HasOptions {
  /** Refresh `touchedAt` of the blocks found (atomically with the check), protecting them from a concurrent GC. */
  readonly touch?: boolean | undefined
}

export interface DeleteOptions {
  /** Delete only if the block was not written or touched at or after this epoch ms (GC's conditional delete). */
  readonly ifUntouchedSince?: number | undefined
}

export interface BlockStore {
  /**
   * Stores `bytes` under `key` unless the key is present. Returns `"fresh"` when written now, `"duplicate"` when
   * already present (and then refreshes `touchedAt`; the stored bytes are not replaced). Fails `InvalidArgument`
   * when `bytes` is empty or longer than {@link maxStoredSize}. Once this succeeds the block survives a restart of
   * a persistent backend. The store keeps no reference to `bytes` after the returned effect completes (it copies
   * what it keeps), so the caller may reuse the buffer then.
   */
  readonly put: (key: BinaryKey.BinaryKey, bytes: Uint8Array) => Effect.Effect<PutOutcome, StorageError.StorageError>
  /** `put` for many blocks; outcomes are in input order. Not atomic as a whole: each block is written or not. */
  readonly putMany: (
    blocks: ReadonlyArray<BlockEntry>
  ) => Effect.Effect<ReadonlyArray<PutOutcome>, StorageError.StorageError>
  /** The stored bytes, or `None` when absent. The returned array is the caller's to keep. */
  readonly get: (key: BinaryKey.BinaryKey) => Effect.Effect<Option.Option<Uint8Array>, StorageError.StorageError>
  /** `get` for many keys, in input order. */
  readonly getMany: (
    keys: ReadonlyArray<BinaryKey.BinaryKey>
  ) => Effect.Effect<ReadonlyArray<Option.Option<Uint8Array>>, StorageError.StorageError>
  /** Whether the block is present. */
  readonly has: (key: BinaryKey.BinaryKey) => Effect.Effect<boolean, StorageError.StorageError>
  /** Presence of many blocks, in input order; with `touch`, refreshes `touchedAt` of the present ones. */
  readonly hasMany: (
    keys: ReadonlyArray<BinaryKey.BinaryKey>,
    options?: HasOptions
  ) => Effect.Effect<ReadonlyArray<boolean>, StorageError.StorageError>
  /**
   * Removes the block; `true` when something was removed. With `ifUntouchedSince`, removes only a block whose
   * `touchedAt` is older than the cutoff, atomically with respect to concurrent touches.
   */
  readonly delete: (
    key: BinaryKey.BinaryKey,
    options?: DeleteOptions
  ) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * One page of all stored blocks, ordered by key text, with stored size and `touchedAt`. Paging with the returned
   * cursor visits every block present throughout the walk exactly once. Fails `InvalidArgument` on a malformed
   * cursor or limit.
   */
  readonly inventory: (options?: InventoryOptions) => Effect.Effect<InventoryPage, StorageError.StorageError>
}

export const BlockStore: Context.Service<BlockStore, BlockStore> = Context.Service("@graviton/runtime/BlockStore")

/** The primitives a backend must implement; {@link make} derives the batch operations it leaves out. */
export type MakeOptions = Pick<BlockStore, "put" | "get" | "hasMany" | "delete" | "inventory"> &
  Partial<Pick<BlockStore, "putMany" | "getMany" | "has">> & {
    /** Parallelism used to derive batch operations from single ones (default 8). */
    readonly concurrency?: number | undefined
  }

/** Builds a {@link BlockStore} from primitives, deriving `putMany`, `getMany` and `has` when not given. */
export const make = (options: MakeOptions): BlockStore => {
  const concurrency = options.concurrency ?? 8
  return BlockStore.of({
    put: options.put,
    get: options.get,
    hasMany: options.hasMany,
    delete: options.delete,
    inventory: options.inventory,
    putMany:
      options.putMany ?? ((blocks) => Effect.forEach(blocks, (b) => options.put(b.key, b.bytes), { concurrency })),
    getMany: options.getMany ?? ((keys) => Effect.forEach(keys, (k) => options.get(k), { concurrency })),
    has: options.has ?? ((key) => Effect.map(options.hasMany([key]), (r) => r[0] === true))
  })
}

/** Validates a block write; shared by every backend so they reject the same inputs. */
export const validatePut = (
  operation: string,
  key: BinaryKey.BinaryKey,
  bytes: Uint8Array
): Effect.Effect<void, StorageError.StorageError> => {
  if (bytes.byteLength === 0) {
    return Effect.fail(
      StorageError.invalidArgument(operation, { key: BinaryKey.format(key), message: "a block cannot be empty" })
    )
  }
  if (bytes.byteLength > maxStoredSize) {
    return Effect.fail(
      StorageError.invalidArgument(operation, {
        key: BinaryKey.format(key),
        message: `block of ${bytes.byteLength} bytes exceeds the ${maxStoredSize}-byte limit`
      })
    )
  }
  return Effect.void
}

/** Validates inventory options and decodes the cursor to the last key text returned. */
export const decodeInventoryOptions = (
  operation: string,
  options: InventoryOptions | undefined
): Effect.Effect<{ readonly after: string | undefined; readonly limit: number }, StorageError.StorageError> => {
  const limit = options?.limit ?? 1000
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return Effect.fail(StorageError.invalidArgument(operation, { message: `limit must be 1..1000, got ${limit}` }))
  }
  if (options?.cursor === undefined) return Effect.succeed({ after: undefined, limit })
  const after = Cursor.decode(options.cursor)
  if (after === undefined) {
    return Effect.fail(StorageError.invalidArgument(operation, { message: "malformed inventory cursor" }))
  }
  return Effect.succeed({ after, limit })
}

interface MemoryEntry {
  readonly key: BinaryKey.BinaryKey
  readonly bytes: Uint8Array
  touchedAt: number
}

/** An in-memory BlockStore (copies bytes in and out; `touchedAt` from the `Clock`, so TestClock drives it). */
export const makeMemory = (): BlockStore => {
  const blocks = new Map<string, MemoryEntry>()
  const order = new SortedKeys()
  return make({
    put: (key, bytes) =>
      Effect.flatMap(validatePut("BlockStore.put", key, bytes), () =>
        Effect.map(Clock.currentTimeMillis, (now): PutOutcome => {
          const id = BinaryKey.format(key)
          const existing = blocks.get(id)
          if (existing !== undefined) {
            existing.touchedAt = now
            return "duplicate"
          }
          blocks.set(id, { key, bytes: new Uint8Array(bytes), touchedAt: now })
          order.add(id)
          return "fresh"
        })
      ),
    get: (key) =>
      Effect.sync(() => {
        const e = blocks.get(BinaryKey.format(key))
        return e === undefined ? Option.none() : Option.some(new Uint8Array(e.bytes))
      }),
    hasMany: (keys, options) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        keys.map((k) => {
          const e = blocks.get(BinaryKey.format(k))
          if (e === undefined) return false
          if (options?.touch === true) e.touchedAt = now
          return true
        })
      ),
    delete: (key, options) =>
      Effect.sync(() => {
        const id = BinaryKey.format(key)
        const e = blocks.get(id)
        if (e === undefined) return false
        if (options?.ifUntouchedSince !== undefined && e.touchedAt >= options.ifUntouchedSince) return false
        blocks.delete(id)
        order.remove(id)
        return true
      }),
    inventory: (options) =>
      Effect.map(decodeInventoryOptions("BlockStore.inventory", options), ({ after, limit }) => {
        const page = order.page({ after, limit })
        const items = page.keys.map((id) => {
          const e = blocks.get(id)!
          return { key: e.key, storedSize: e.bytes.byteLength, touchedAt: e.touchedAt }
        })
        const last = page.keys[page.keys.length - 1]
        return page.more && last !== undefined ? { items, cursor: Cursor.encode(last) } : { items }
      })
  })
}

/** A fresh in-memory BlockStore per layer build. */
export const layerMemory: Layer.Layer<BlockStore> = Layer.sync(BlockStore, makeMemory)

// ---------------------------------------------------------------------------------------------------------------
// combinators
// ---------------------------------------------------------------------------------------------------------------

export interface CacheOptions {
  /** Byte budget of cached block bytes (default 64 MiB). */
  readonly maxBytes?: number | undefined
  /** Records hits and misses (`graviton_cache_requests_total{port="BlockStore"}`) and held bytes when given. */
  readonly registry?: MetricsRegistry.MetricsRegistry | undefined
  /**
   * `getMany` calls for more keys than this are scans (a blob streamed whole): their misses are fetched with one inner
   * `getMany` but not cached, so a large read neither flushes the cache nor pays a copy per block (default 4).
   */
  readonly admitBatch?: number | undefined
}

/**
 * A read-through, byte-bounded LRU cache of block bytes. Blocks are immutable, so a cached block stays valid until
 * it is deleted; `delete` invalidates (before the inner delete, so a concurrent `get` cannot re-populate a stale
 * entry after it). Cached arrays are copied on the way out, so callers cannot corrupt the cache. `getMany` serves
 * hits from the cache and fetches every miss with one inner `getMany`; see {@link CacheOptions.admitBatch}.
 */
export const withCache =
  (options: CacheOptions = {}) =>
  (self: BlockStore): BlockStore => {
    const lru = new ByteLru<Uint8Array>(options.maxBytes ?? 64 * 1024 * 1024, (b) => b.byteLength)
    const reg = options.registry
    const note = (result: "hit" | "miss", count = 1) =>
      reg === undefined || count === 0
        ? Effect.void
        : Effect.andThen(
            reg.increment(MetricKeys.cacheRequests, { port: "BlockStore", result }, count),
            reg.set(MetricKeys.cacheBytes, lru.bytes, { port: "BlockStore" })
          )
    const get = (key: BinaryKey.BinaryKey) =>
      Effect.suspend(() => {
        const id = BinaryKey.format(key)
        const hit = lru.get(id)
        if (hit !== undefined) return Effect.as(note("hit"), Option.some(new Uint8Array(hit)))
        return Effect.tap(self.get(key), (o) => {
          if (Option.isSome(o)) lru.set(id, new Uint8Array(o.value))
          return note("miss")
        })
      })
    const admitBatch = options.admitBatch ?? 4
    const getMany = (keys: ReadonlyArray<BinaryKey.BinaryKey>) =>
      Effect.suspend(() => {
        const out: Array<Option.Option<Uint8Array>> = new Array(keys.length)
        const missed: Array<number> = []
        for (let i = 0; i < keys.length; i++) {
          const hit = lru.get(BinaryKey.format(keys[i]!))
          if (hit === undefined) missed.push(i)
          else out[i] = Option.some(new Uint8Array(hit))
        }
        const noted = Effect.andThen(note("hit", keys.length - missed.length), note("miss", missed.length))
        if (missed.length === 0) return Effect.as(noted, out)
        return Effect.flatMap(self.getMany(missed.map((i) => keys[i]!)), (found) => {
          const admit = keys.length <= admitBatch
          missed.forEach((i, k) => {
            const o = found[k] ?? Option.none()
            out[i] = o
            if (admit && Option.isSome(o)) lru.set(BinaryKey.format(keys[i]!), new Uint8Array(o.value))
          })
          return Effect.as(noted, out)
        })
      })
    return BlockStore.of({
      ...self,
      get,
      getMany,
      delete: (key, opts) =>
        Effect.suspend(() => {
          lru.delete(BinaryKey.format(key))
          return Effect.tap(self.delete(key, opts), () => Effect.sync(() => lru.delete(BinaryKey.format(key))))
        })
    })
  }

/** Layer form of {@link withCache}. */
export const layerCache = (options?: CacheOptions): Layer.Layer<BlockStore, never, BlockStore> =>
  Decorate.layer(BlockStore, withCache(options))

/**
 * Re-hashes every block read and fails with a `Corrupt` reason when its size or digest does not match its key.
 * Compose it outside `withCompression` (it must see the decompressed bytes).
 */
export const withVerification = (self: BlockStore): BlockStore => {
  const check = (key: BinaryKey.BinaryKey, o: Option.Option<Uint8Array>) =>
    Option.isNone(o) || verifies(key, o.value)
      ? Effect.succeed(o)
      : Effect.fail(
          StorageError.corrupt("BlockStore.get", {
            key: BinaryKey.format(key),
            message: `stored block does not match its key (got ${o.value.byteLength} bytes)`
          })
        )
  return BlockStore.of({
    ...self,
    get: (key) => Effect.flatMap(self.get(key), (o) => check(key, o)),
    getMany: (keys) => Effect.flatMap(self.getMany(keys), (os) => Effect.forEach(os, (o, i) => check(keys[i]!, o)))
  })
}

/** Layer form of {@link withVerification}. */
export const layerVerification: Layer.Layer<BlockStore, never, BlockStore> = Decorate.layer(
  BlockStore,
  withVerification
)

/** Whether `bytes` are the content named by `key` (size and digest). */
export const verifies = (key: BinaryKey.BinaryKey, bytes: Uint8Array): boolean =>
  bytes.byteLength === key.size && Hashing.digestHex(key.algorithm, bytes) === key.digest

export interface CompressionOptions {
  /** `zstd` always stores a zstd frame; `auto` (default) keeps it only when it saves space, else stores raw bytes. */
  readonly codec?: "zstd" | "auto" | undefined
  /** zstd level (default 3). */
  readonly level?: number | undefined
  /** Counts `graviton_stored_bytes_total` when given. */
  readonly registry?: MetricsRegistry.MetricsRegistry | undefined
}

/**
 * Per-block zstd compression using the core frame codec. A block that compresses is stored as a frame (header with
 * its key, codec and sizes, then the payload); one that does not (with `auto`) is stored raw. Reads recognise a frame
 * by its magic **and** its header naming the requested key — raw content can only look like that by containing its
 * own digest — so stores written with and without compression read back the same.
 */
export const withCompression =
  (options: CompressionOptions = {}) =>
  (self: BlockStore): BlockStore => {
    const codec = options.codec ?? "auto"
    const encode = (key: BinaryKey.BinaryKey, bytes: Uint8Array): Uint8Array => {
      // out-of-range sizes go through unchanged, so the inner store rejects them like any other backend
      if (bytes.byteLength === 0 || bytes.byteLength > Frame.maxBlockSize) return bytes
      const framed = Frame.encode(key, bytes, { codec, level: options.level })
      const h = Frame.decodeHeader(framed)
      return codec === "auto" && Result.isSuccess(h) && h.success.codec === "none" ? bytes : framed
    }
    const decode = (
      key: BinaryKey.BinaryKey,
      stored: Uint8Array
    ): Effect.Effect<Uint8Array, StorageError.StorageError> => {
      if (stored.byteLength < Frame.fixedHeaderLength || !startsWith(stored, Frame.magic)) return Effect.succeed(stored)
      const h = Frame.decodeHeader(stored)
      if (Result.isFailure(h) || !BinaryKey.equals(h.success.key, key)) return Effect.succeed(stored)
      const d = Frame.decode(stored, { expectedKey: key })
      return Result.isSuccess(d)
        ? Effect.succeed(d.success.bytes)
        : Effect.fail(
            StorageError.corrupt("BlockStore.get", {
              key: BinaryKey.format(key),
              message: `stored frame does not decode: ${d.failure.message}`,
              cause: d.failure
            })
          )
    }
    const stored = (n: number) =>
      options.registry === undefined ? Effect.void : options.registry.increment(MetricKeys.storedBytes, {}, n)
    const putOne = (key: BinaryKey.BinaryKey, bytes: Uint8Array) =>
      Effect.suspend(() => {
        const payload = encode(key, bytes)
        return Effect.tap(self.put(key, payload), (o) => (o === "fresh" ? stored(payload.byteLength) : Effect.void))
      })
    return BlockStore.of({
      ...self,
      put: putOne,
      putMany: (blocks) =>
        Effect.suspend(() => {
          const encoded = blocks.map((b) => ({ key: b.key, bytes: encode(b.key, b.bytes) }))
          return Effect.tap(self.putMany(encoded), (outcomes) =>
            stored(encoded.reduce((n, b, i) => (outcomes[i] === "fresh" ? n + b.bytes.byteLength : n), 0))
          )
        }),
      get: (key) =>
        Effect.flatMap(self.get(key), (o) =>
          Option.isNone(o) ? Effect.succeed(o) : Effect.map(decode(key, o.value), Option.some)
        ),
      getMany: (keys) =>
        Effect.flatMap(self.getMany(keys), (os) =>
          Effect.forEach(os, (o, i) =>
            Option.isNone(o) ? Effect.succeed(o) : Effect.map(decode(keys[i]!, o.value), Option.some)
          )
        )
    })
  }

/** Layer form of {@link withCompression}. */
export const layerCompression = (options?: CompressionOptions): Layer.Layer<BlockStore, never, BlockStore> =>
  Decorate.layer(BlockStore, withCompression(options))

const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean => {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}
