/**
 * `ManifestStore`: the manifests of committed blobs — the single place where a blob becomes visible.
 *
 * `commit` is the atomic commit point of an ingest: the summary, the attributes and every entry (index rows) appear
 * together or not at all, and the receipt it returns is minted from what was stored. Entries are streamed to the
 * store (a manifest of 2^24 entries never has to fit in memory) and validated on the way: contiguous, in order,
 * summing to the blob size, exactly `blockCount` of them — anything else fails `InvalidArgument` and publishes
 * nothing.
 *
 * @since 0.1.0
 */
import { BinaryKey, Manifest, type Span } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Cursor from "./internal/cursor.ts"
import * as Decorate from "./internal/decorate.ts"
import { ByteLru } from "./internal/lru.ts"
import { SortedKeys } from "./internal/sortedKeys.ts"
import * as MetricKeys from "./MetricKeys.ts"
import type * as MetricsRegistry from "./MetricsRegistry.ts"
import * as StorageError from "./StorageError.ts"

/** Everything needed to commit a manifest; `entries` is pulled once, in order. */
export interface ManifestDraft {
  readonly blobKey: BinaryKey.BinaryKey
  readonly chunker: string
  readonly createdAt: number
  readonly attributes: Readonly<Record<string, string>>
  readonly blockCount: number
  readonly entries: Stream.Stream<Manifest.ManifestEntry, StorageError.StorageError>
}

/** What a commit stored. */
export const CommitReceipt = Schema.Struct({
  blobKey: BinaryKey.FromString,
  size: Schema.Number,
  blockCount: Schema.Number,
  createdAt: Schema.Number,
  /** False when the blob was already committed: the stored manifest was kept, and this receipt describes it. */
  created: Schema.Boolean
})
export interface CommitReceipt extends Schema.Schema.Type<typeof CommitReceipt> {}

export interface ListOptions {
  readonly cursor?: string | undefined
  /** 1..1000, default 100. */
  readonly limit?: number | undefined
  /** Only keys whose text form starts with this. */
  readonly prefix?: string | undefined
}

export interface ListPage {
  readonly items: ReadonlyArray<Manifest.ManifestSummary>
  readonly cursor?: string | undefined
}

export interface ManifestStore {
  /**
   * Atomically publishes a manifest. Pulls `draft.entries` once and validates it (contiguous entries starting at 0,
   * indices in order, `blockCount` entries, sizes summing to `blobKey.size`, `size === blockKey.size`); any violation
   * fails `InvalidArgument` and nothing becomes visible; failure or interruption of the entries stream publishes
   * nothing either. If the blob key is already committed, the stored manifest is kept and its receipt is returned
   * with `created: false` (idempotent retry after a lost acknowledgement).
   */
  readonly commit: (draft: ManifestDraft) => Effect.Effect<CommitReceipt, StorageError.StorageError>
  /** The summary of a committed blob, or `None`. */
  readonly get: (
    key: BinaryKey.BinaryKey
  ) => Effect.Effect<Option.Option<Manifest.ManifestSummary>, StorageError.StorageError>
  /**
   * The entries of a blob in order; with `range`, only the entries whose bytes intersect it (found by index, not by
   * scanning). Fails `NotFound` when the blob is not committed.
   */
  readonly entries: (
    key: BinaryKey.BinaryKey,
    range?: Span.Span
  ) => Stream.Stream<Manifest.ManifestEntry, StorageError.StorageError>
  /** One page of summaries ordered by key text. `InvalidArgument` on a malformed cursor or limit. */
  readonly list: (options?: ListOptions) => Effect.Effect<ListPage, StorageError.StorageError>
  /** Removes a manifest (its blocks stay, for GC); `true` when it existed. */
  readonly delete: (key: BinaryKey.BinaryKey) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * Replaces (default) or merges the attributes of a committed blob; returns the new summary, or `None` when the blob
   * is not committed.
   */
  readonly updateAttributes: (
    key: BinaryKey.BinaryKey,
    attributes: Readonly<Record<string, string>>,
    options?: { readonly merge?: boolean | undefined }
  ) => Effect.Effect<Option.Option<Manifest.ManifestSummary>, StorageError.StorageError>
  /**
   * Every block key referenced by any committed manifest (each at least once; order unspecified) — the mark phase
   * of GC. A manifest committed while the stream runs may or may not be included; GC relies on block touch times for
   * those.
   */
  readonly referencedBlocks: Stream.Stream<BinaryKey.BinaryKey, StorageError.StorageError>
}

export const ManifestStore: Context.Service<ManifestStore, ManifestStore> = Context.Service(
  "@graviton/runtime/ManifestStore"
)

// ---------------------------------------------------------------------------------------------------------------
// shared validation for backends
// ---------------------------------------------------------------------------------------------------------------

/**
 * Validates a draft's header fields (chunker id, attributes, block count vs size) before any entry is pulled.
 * Backends call it first so they all reject the same inputs.
 */
export const validateDraft = (draft: ManifestDraft): Effect.Effect<void, StorageError.StorageError> => {
  const key = BinaryKey.format(draft.blobKey)
  const check = Manifest.make({
    blobKey: BinaryKey.unsafeMake(draft.blobKey.algorithm, draft.blobKey.digest, 0),
    chunker: draft.chunker,
    createdAt: draft.createdAt,
    attributes: draft.attributes,
    blocks: []
  })
  if (check._tag === "Failure") {
    return Effect.fail(
      StorageError.invalidArgument("ManifestStore.commit", {
        key,
        message: check.failure.message,
        cause: check.failure
      })
    )
  }
  const n = draft.blockCount
  if (!Number.isInteger(n) || n < 0 || n > Manifest.maxEntries || (n === 0) !== (draft.blobKey.size === 0)) {
    return Effect.fail(
      StorageError.invalidArgument("ManifestStore.commit", {
        key,
        message: `blockCount ${n} is impossible for a blob of ${draft.blobKey.size} bytes`
      })
    )
  }
  return Effect.void
}

/**
 * A running validator for the entries of a draft: call `next(entry)` for each in order (returns an error message or
 * undefined), then `finish()`.
 */
export const entryValidator = (draft: ManifestDraft) => {
  let index = 0
  let offset = 0
  return {
    next: (e: Manifest.ManifestEntry): string | undefined => {
      if (e.index !== index) return `entry ${index} has index ${e.index}`
      if (e.offset !== offset) return `entry ${index} starts at ${e.offset}, expected ${offset}`
      if (e.size !== e.blockKey.size || e.size < 1 || e.size > Manifest.maxBlockSize) {
        return `entry ${index} has size ${e.size} but its block key says ${e.blockKey.size}`
      }
      if (index >= draft.blockCount) return `more than the declared ${draft.blockCount} entries`
      index++
      offset += e.size
      if (offset > draft.blobKey.size) return `entries exceed the blob size ${draft.blobKey.size}`
      return undefined
    },
    finish: (): string | undefined =>
      index !== draft.blockCount
        ? `${index} entries, but ${draft.blockCount} were declared`
        : offset !== draft.blobKey.size
          ? `entries cover ${offset} bytes, but the blob has ${draft.blobKey.size}`
          : undefined
  }
}

/**
 * Pulls a draft's entries through {@link entryValidator}, handing each to `onEntry`; fails `InvalidArgument` on the
 * first violation. Backends use it to stream entries into their write batch/transaction.
 */
export const consumeEntries = <E, R>(
  draft: ManifestDraft,
  onEntries: (entries: ReadonlyArray<Manifest.ManifestEntry>) => Effect.Effect<void, E, R>
): Effect.Effect<void, StorageError.StorageError | E, R> =>
  Effect.suspend(() => {
    const v = entryValidator(draft)
    const key = BinaryKey.format(draft.blobKey)
    const fail = (message: string) =>
      Effect.fail(StorageError.invalidArgument("ManifestStore.commit", { key, message }))
    return Stream.runForEachArray(draft.entries, (arr): Effect.Effect<void, StorageError.StorageError | E, R> => {
      for (const e of arr) {
        const err = v.next(e)
        if (err !== undefined) return fail(err)
      }
      return onEntries(arr)
    }).pipe(
      Effect.andThen(
        Effect.suspend(() => {
          const err = v.finish()
          return err === undefined ? Effect.void : fail(err)
        })
      )
    )
  })

/** Validates list options; returns the decoded cursor position. */
export const decodeListOptions = (
  operation: string,
  options: ListOptions | undefined
): Effect.Effect<
  { readonly after: string | undefined; readonly limit: number; readonly prefix: string | undefined },
  StorageError.StorageError
> => {
  const limit = options?.limit ?? 100
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return Effect.fail(StorageError.invalidArgument(operation, { message: `limit must be 1..1000, got ${limit}` }))
  }
  const prefix = options?.prefix
  if (prefix !== undefined && prefix.length > 256) {
    return Effect.fail(StorageError.invalidArgument(operation, { message: "prefix is longer than 256 characters" }))
  }
  if (options?.cursor === undefined) return Effect.succeed({ after: undefined, limit, prefix })
  const after = Cursor.decode(options.cursor)
  if (after === undefined) return Effect.fail(StorageError.invalidArgument(operation, { message: "malformed cursor" }))
  return Effect.succeed({ after, limit, prefix })
}

/** Index range `[start, end)` of the entries intersecting `range` in a contiguous entry array. */
export const entryIndexRange: (
  entries: ReadonlyArray<Manifest.ManifestEntry>,
  size: number,
  range: Span.Span | undefined
) => { readonly start: number; readonly end: number } = Manifest.entryIndexRange

export const receiptOf = (summary: Manifest.ManifestSummary, created: boolean): CommitReceipt => ({
  blobKey: summary.blobKey,
  size: summary.size,
  blockCount: summary.blockCount,
  createdAt: summary.createdAt,
  created
})

// ---------------------------------------------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------------------------------------------

interface Stored {
  summary: Manifest.ManifestSummary
  readonly entries: ReadonlyArray<Manifest.ManifestEntry>
}

/** An in-memory ManifestStore. */
export const makeMemory = (): ManifestStore => {
  const manifests = new Map<string, Stored>()
  const order = new SortedKeys()
  const notFound = (operation: string, key: BinaryKey.BinaryKey) =>
    StorageError.notFound(operation, { key: BinaryKey.format(key), message: "no such blob" })

  return ManifestStore.of({
    commit: (draft) =>
      Effect.gen(function* () {
        yield* validateDraft(draft)
        const buffer: Array<Manifest.ManifestEntry> = []
        yield* consumeEntries(draft, (arr) =>
          Effect.sync(() => {
            for (const e of arr) buffer.push(e)
          })
        )
        return yield* Effect.sync(() => {
          const id = BinaryKey.format(draft.blobKey)
          const existing = manifests.get(id)
          if (existing !== undefined) return receiptOf(existing.summary, false)
          const summary: Manifest.ManifestSummary = {
            blobKey: draft.blobKey,
            size: draft.blobKey.size,
            blockCount: draft.blockCount,
            chunker: draft.chunker,
            createdAt: draft.createdAt,
            attributes: { ...draft.attributes }
          }
          manifests.set(id, { summary, entries: buffer })
          order.add(id)
          return receiptOf(summary, true)
        })
      }),
    get: (key) => Effect.sync(() => Option.fromNullishOr(manifests.get(BinaryKey.format(key))?.summary)),
    entries: (key, range) =>
      Stream.unwrap(
        Effect.suspend(() => {
          const m = manifests.get(BinaryKey.format(key))
          if (m === undefined) return Effect.fail(notFound("ManifestStore.entries", key))
          const r = entryIndexRange(m.entries, m.summary.size, range)
          return Effect.succeed(Stream.fromIterable(m.entries.slice(r.start, r.end)))
        })
      ),
    list: (options) =>
      Effect.map(decodeListOptions("ManifestStore.list", options), ({ after, limit, prefix }) => {
        const page = order.page({ after, prefix, limit })
        const items = page.keys.map((id) => manifests.get(id)!.summary)
        const last = page.keys[page.keys.length - 1]
        return page.more && last !== undefined ? { items, cursor: Cursor.encode(last) } : { items }
      }),
    delete: (key) =>
      Effect.sync(() => {
        const id = BinaryKey.format(key)
        if (!manifests.delete(id)) return false
        order.remove(id)
        return true
      }),
    updateAttributes: (key, attributes, options) =>
      Effect.suspend(() => {
        const m = manifests.get(BinaryKey.format(key))
        if (m === undefined) return Effect.succeed(Option.none())
        const next = options?.merge === true ? { ...m.summary.attributes, ...attributes } : { ...attributes }
        const check = Manifest.make({
          blobKey: BinaryKey.unsafeMake(key.algorithm, key.digest, 0),
          chunker: m.summary.chunker,
          createdAt: m.summary.createdAt,
          attributes: next,
          blocks: []
        })
        if (check._tag === "Failure") {
          return Effect.fail(
            StorageError.invalidArgument("ManifestStore.updateAttributes", {
              key: BinaryKey.format(key),
              message: check.failure.message
            })
          )
        }
        m.summary = { ...m.summary, attributes: next }
        return Effect.succeed(Option.some(m.summary))
      }),
    referencedBlocks: Stream.suspend(() =>
      Stream.fromIterable([...manifests.values()]).pipe(
        Stream.flatMap((m) => Stream.fromIterable(m.entries.map((e) => e.blockKey)))
      )
    )
  })
}

/** A fresh in-memory ManifestStore per layer build. */
export const layerMemory: Layer.Layer<ManifestStore> = Layer.sync(ManifestStore, makeMemory)

// ---------------------------------------------------------------------------------------------------------------
// combinators
// ---------------------------------------------------------------------------------------------------------------

export interface CacheOptions {
  /** Budget for cached entry lists, in approximate bytes (default 16 MiB; ~100 bytes per entry). */
  readonly maxBytes?: number | undefined
  readonly registry?: MetricsRegistry.MetricsRegistry | undefined
}

/**
 * Caches summaries and whole entry lists of small manifests (byte-bounded LRU). Manifests are immutable except for
 * attributes, so `delete` and `updateAttributes` invalidate; `commit` invalidates too (a cached negative is never
 * kept — absence is not cached).
 */
export const withCache =
  (options: CacheOptions = {}) =>
  (self: ManifestStore): ManifestStore => {
    const summaries = new ByteLru<Manifest.ManifestSummary>(1024 * 1024, () => 256)
    const entryLists = new ByteLru<ReadonlyArray<Manifest.ManifestEntry>>(
      options.maxBytes ?? 16 * 1024 * 1024,
      (es) => 100 * es.length + 64
    )
    const reg = options.registry
    const note = (result: "hit" | "miss") =>
      reg === undefined ? Effect.void : reg.increment(MetricKeys.cacheRequests, { port: "ManifestStore", result })
    const invalidate = (key: BinaryKey.BinaryKey) =>
      Effect.sync(() => {
        const id = BinaryKey.format(key)
        summaries.delete(id)
        entryLists.delete(id)
      })
    const maxCachedEntries = 4096
    return ManifestStore.of({
      ...self,
      commit: (draft) => Effect.andThen(invalidate(draft.blobKey), self.commit(draft)),
      get: (key) =>
        Effect.suspend(() => {
          const hit = summaries.get(BinaryKey.format(key))
          if (hit !== undefined) return Effect.as(note("hit"), Option.some(hit))
          return Effect.tap(self.get(key), (o) =>
            Effect.andThen(
              Effect.sync(() => {
                if (Option.isSome(o)) summaries.set(BinaryKey.format(key), o.value)
              }),
              note("miss")
            )
          )
        }),
      entries: (key, range) =>
        Stream.unwrap(
          Effect.suspend(() => {
            const id = BinaryKey.format(key)
            const hit = entryLists.get(id)
            if (hit !== undefined) {
              const size = hit.length === 0 ? 0 : hit[hit.length - 1]!.offset + hit[hit.length - 1]!.size
              const r = entryIndexRange(hit, size, range)
              return Effect.as(note("hit"), Stream.fromIterable(hit.slice(r.start, r.end)))
            }
            return Effect.map(Effect.andThen(note("miss"), self.get(key)), (summary) => {
              if (range !== undefined || Option.isNone(summary) || summary.value.blockCount > maxCachedEntries) {
                return self.entries(key, range)
              }
              return Stream.unwrap(
                Effect.map(Stream.runCollect(self.entries(key)), (all) => {
                  entryLists.set(id, all)
                  return Stream.fromIterable(all)
                })
              )
            })
          })
        ),
      delete: (key) =>
        Effect.andThen(
          invalidate(key),
          Effect.tap(self.delete(key), () => invalidate(key))
        ),
      updateAttributes: (key, attrs, opts) =>
        Effect.andThen(
          invalidate(key),
          Effect.tap(self.updateAttributes(key, attrs, opts), () => invalidate(key))
        )
    })
  }

/** Layer form of {@link withCache}. */
export const layerCache = (options?: CacheOptions): Layer.Layer<ManifestStore, never, ManifestStore> =>
  Decorate.layer(ManifestStore, withCache(options))

// keep the clock import used for backends that stamp commit times
export const now: Effect.Effect<number> = Clock.currentTimeMillis
