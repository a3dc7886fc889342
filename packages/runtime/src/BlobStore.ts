/**
 * `BlobStore`: logical blobs addressed by the key of their whole content.
 *
 * The default implementation is the CAS engine ({@link layer}): blobs are chunked, each distinct block is stored once
 * in a {@link BlockStore.BlockStore}, and a manifest committed to a {@link ManifestStore.ManifestStore} makes the blob
 * visible — atomically and last. `layerMemory` is that engine over in-memory stores.
 *
 * @since 0.1.0
 */
import { BinaryKey, type Span } from "@graviton/core"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as BlockStore from "./BlockStore.ts"
import * as CasEngine from "./CasEngine.ts"
import type * as ConstraintViolation from "./ConstraintViolation.ts"
import * as IngestLeases from "./IngestLeases.ts"
import * as ManifestStore from "./ManifestStore.ts"
import type * as StorageError from "./StorageError.ts"

/** What an ingest did. */
export const BlobWriteResult = Schema.Struct({
  key: BinaryKey.FromString,
  size: Schema.Number,
  blockCount: Schema.Number,
  freshBlocks: Schema.Number,
  duplicateBlocks: Schema.Number,
  freshBytes: Schema.Number,
  duplicateBytes: Schema.Number,
  /** False when the blob was already committed before this upload (all its blocks were then duplicates). */
  created: Schema.Boolean,
  durationMs: Schema.Number
}).annotate({ identifier: "BlobWriteResult" })
export interface BlobWriteResult extends Schema.Schema.Type<typeof BlobWriteResult> {}

/** What is known about a committed blob. */
export const BlobStat = Schema.Struct({
  key: BinaryKey.FromString,
  size: Schema.Number,
  createdAt: Schema.Number,
  blockCount: Schema.Number,
  chunker: Schema.String,
  attributes: Schema.Record(Schema.String, Schema.String)
}).annotate({ identifier: "BlobStat" })
export interface BlobStat extends Schema.Schema.Type<typeof BlobStat> {}

/** The result of re-reading and re-hashing a whole blob. */
export const VerifyReport = Schema.Struct({
  key: BinaryKey.FromString,
  /** True when every block is present and intact and the whole content hashes to the key. */
  ok: Schema.Boolean,
  blocksChecked: Schema.Number,
  bytesChecked: Schema.Number,
  missingBlocks: Schema.Array(BinaryKey.FromString),
  corruptBlocks: Schema.Array(BinaryKey.FromString),
  /** Whether the concatenated content hashes to the blob key (false when blocks are missing). */
  contentMatches: Schema.Boolean
}).annotate({ identifier: "VerifyReport" })
export interface VerifyReport extends Schema.Schema.Type<typeof VerifyReport> {}

export interface PutOptions {
  /** User attributes stored with the manifest (content type, file name, …). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
  /** The key the content must hash to; on mismatch the put fails `Conflict` and nothing is published. */
  readonly expectedKey?: BinaryKey.BinaryKey | undefined
  /** The exact size the content must have (e.g. HTTP `Content-Length`); mismatch fails `InvalidArgument`. */
  readonly expectedSize?: number | undefined
  /** Tenant for constraint policies (quota, concurrency, rate); default `"default"`. */
  readonly tenant?: string | undefined
}

export interface ListOptions {
  readonly cursor?: string | undefined
  /** 1..1000, default 100. */
  readonly limit?: number | undefined
  /** Only keys whose text form starts with this (e.g. `sha-256:ab`). */
  readonly prefix?: string | undefined
}

export interface ListPage {
  readonly items: ReadonlyArray<BlobStat>
  readonly cursor?: string | undefined
}

export interface BlobStore {
  /**
   * Ingests a byte stream and returns its key with dedup statistics. The body is pulled once, lazily; the blob is
   * published only after every byte was read and stored and the expected key/size (if given) matched. Failure or
   * interruption at any point publishes nothing (stored blocks are left for GC). Putting content that already exists
   * succeeds with `created: false`. Fails `ConstraintViolation` when a policy refuses the upload (before any byte is
   * pulled when the size is declared), and with the body's own error when the body fails.
   */
  readonly put: <E, R>(
    body: Stream.Stream<Uint8Array, E, R>,
    options?: PutOptions
  ) => Effect.Effect<BlobWriteResult, StorageError.StorageError | ConstraintViolation.ConstraintViolation | E, R>
  /**
   * Streams the blob's bytes, or the half-open `range` of them (`0 <= start <= end <= size`, else
   * `InvalidArgument`). Every block is verified (size and digest) before any of its bytes are emitted; a missing
   * or damaged block fails `Corrupt`. Fails `NotFound` when the blob is not committed. Lazy; stopping early releases
   * everything.
   */
  readonly get: (key: BinaryKey.BinaryKey, range?: Span.Span) => Stream.Stream<Uint8Array, StorageError.StorageError>
  /** What is known about a committed blob, or `None`. */
  readonly stat: (key: BinaryKey.BinaryKey) => Effect.Effect<Option.Option<BlobStat>, StorageError.StorageError>
  /** Whether the blob is committed. */
  readonly exists: (key: BinaryKey.BinaryKey) => Effect.Effect<boolean, StorageError.StorageError>
  /** Unpublishes a blob (its blocks are reclaimed by GC); `true` when it existed. */
  readonly delete: (key: BinaryKey.BinaryKey) => Effect.Effect<boolean, StorageError.StorageError>
  /** One page of blobs ordered by key text; the cursor resumes strictly after the last item. */
  readonly list: (options?: ListOptions) => Effect.Effect<ListPage, StorageError.StorageError>
  /** Every committed blob, paging internally. */
  readonly stream: (options?: {
    readonly prefix?: string | undefined
  }) => Stream.Stream<BlobStat, StorageError.StorageError>
  /** Re-reads every block and re-hashes the whole content. Fails `NotFound` when the blob is not committed. */
  readonly verify: (key: BinaryKey.BinaryKey) => Effect.Effect<VerifyReport, StorageError.StorageError>
}

export const BlobStore: Context.Service<BlobStore, BlobStore> = Context.Service("@graviton/runtime/BlobStore")

/** The CAS engine as a BlobStore over the BlockStore and ManifestStore in context. */
export const layer = (
  config?: CasEngine.EngineConfigInput
): Layer.Layer<BlobStore, never, BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases> =>
  Layer.effect(BlobStore, CasEngine.make(config))

/** Fresh in-memory block store, manifest store and ingest leases. */
export const layerMemoryStores: Layer.Layer<
  BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases
> = Layer.mergeAll(BlockStore.layerMemory, ManifestStore.layerMemory, IngestLeases.layerMemory)

/** The CAS engine over fresh in-memory stores. */
export const layerMemory: Layer.Layer<BlobStore> = layer().pipe(Layer.provide(layerMemoryStores))

/** Like {@link layerMemory}, also exposing the underlying stores (for GC and for tests that inspect blocks). */
export const layerMemoryWithStores = (
  config?: CasEngine.EngineConfigInput
): Layer.Layer<BlobStore | BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases> =>
  layer(config).pipe(Layer.provideMerge(layerMemoryStores))
