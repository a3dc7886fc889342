/**
 * `MutableObjectStore`: name-addressed objects with writes. Its service includes every
 * {@link ImmutableObjectStore.ImmutableObjectStore} method (same contracts; see that module for names, ETags,
 * listing order and download streams) and adds `put`, `delete`, `copy`, `putRange` and multipart uploads.
 *
 * **Atomic writes.** `put`, `copy` and `completeMultipart` replace an object as a whole: readers see the previous
 * version (or absence) until the new one is complete, never a mix. A `put` body that fails or is interrupted leaves
 * the previous object untouched; the body's own error is returned as is. `putRange` is the exception: it edits an
 * object in place (for staging resumable-upload parts) and is not atomic with respect to other writers of the same
 * object.
 *
 * **Optional features.** Backends may lack `putRange`, multipart uploads, `listMultipart` or conditional puts
 * (`ifNoneMatch` / `ifMatch`); they then fail those calls with `Unsupported` ({@link make} does this for primitives
 * left out). The contract suite has matching capability flags.
 *
 * **Both tags.** {@link layerMemory} provides this tag and `ImmutableObjectStore` from one store. For a decorated
 * stack, decorate the mutable store (`Decorators.layerMetrics(MutableObjectStore.MutableObjectStore)`, …) and derive
 * the read-only view from it with {@link layerImmutable}, so both tags see the same objects and reads are measured
 * once.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import * as ImmutableObjectStore from "./ImmutableObjectStore.ts"
import * as Checks from "./internal/objectChecks.ts"
import * as Make from "./internal/objectMake.ts"
import * as Memory from "./internal/objectMemory.ts"
import type * as StorageError from "./StorageError.ts"

/** Highest multipart part number (10000). */
export const maxPartNumber: number = Checks.maxPartNumber

/** Largest object (and largest `putRange` extent) the in-memory store keeps: 1 GiB; beyond it `QuotaExceeded`. */
export const memoryMaxObjectSize: number = Memory.maxObjectSize

export interface PutOptions {
  readonly contentType?: string | undefined
  /** User metadata (see `ImmutableObjectStore.ObjectInfo.metadata` for the allowed keys and values). */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** `"*"`: create only; fails `Conflict` when the object exists. */
  readonly ifNoneMatch?: "*" | undefined
  /** Replace only the object with this ETag; fails `Conflict` when it is absent or its ETag differs. */
  readonly ifMatch?: string | undefined
}

/** Attributes of an object assembled by a multipart upload. */
export interface MultipartOptions {
  readonly contentType?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/** One uploaded part. */
export interface PartInfo {
  readonly partNumber: number
  /** Hex MD5 of the part's bytes. */
  readonly etag: string
  readonly size: number
}

/** A part named in `completeMultipart`. */
export interface CompletedPart {
  readonly partNumber: number
  readonly etag: string
}

/** A multipart upload in progress. */
export interface MultipartUpload {
  readonly uploadId: string
  readonly name: string
  /** Epoch ms when it was started. */
  readonly initiated: number
}

export interface ListMultipartOptions {
  readonly prefix?: string | undefined
  readonly cursor?: string | undefined
  /** Page size, 1..1000 (default 1000). */
  readonly limit?: number | undefined
}

/** A page of uploads in progress, ordered by name then upload id. */
export interface MultipartPage {
  readonly uploads: ReadonlyArray<MultipartUpload>
  readonly cursor?: string | undefined
}

export interface MutableObjectStore extends ImmutableObjectStore.ImmutableObjectStore {
  /**
   * Stores the bytes of `body` under `name`, replacing any object there, and returns its info (ETag = hex MD5).
   * Atomic: the object becomes visible only after the whole body was read; a body that fails or is interrupted
   * publishes nothing and leaves the previous object (or absence) untouched. The body is not pulled before the
   * returned effect runs and each chunk is pulled once. `ifNoneMatch: "*"` and `ifMatch` make the write conditional
   * (checked atomically with the publication; a failed condition may be reported before the body is read) and fail
   * `Conflict`; giving both fails `InvalidArgument`. Fails `InvalidArgument` on a bad name, content type or metadata.
   */
  readonly put: <E, R>(
    name: string,
    body: Stream.Stream<Uint8Array, E, R>,
    options?: PutOptions
  ) => Effect.Effect<ImmutableObjectStore.ObjectInfo, StorageError.StorageError | E, R>
  /** Removes the object; `true` when there was one. */
  readonly delete: (name: string) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * Copies the content, content type and metadata of `from` to `to` (replacing `to`) and returns the new info. The
   * copy is independent of the source. A copy of a single-put object has the source's ETag. Copying an object onto
   * itself refreshes `lastModified`. Fails `NotFound` when `from` is missing.
   */
  readonly copy: (from: string, to: string) => Effect.Effect<ImmutableObjectStore.ObjectInfo, StorageError.StorageError>
  /**
   * Writes `bytes` at `offset` into `name`, creating the object when absent and extending it as needed; a gap
   * between the old end and `offset` is zero-filled. Not create-only and not conditional: it edits whatever object is
   * there (keeping its content type and metadata), and the ETag changes to the MD5 of the new content. Used to stage
   * resumable-upload parts, which may arrive out of order, overlap and be retried. Fails `InvalidArgument` on a
   * negative or fractional offset, `Unsupported` on backends without it.
   */
  readonly putRange: (name: string, offset: number, bytes: Uint8Array) => Effect.Effect<void, StorageError.StorageError>
  /**
   * Starts a multipart upload that will create `name` with these attributes and returns its opaque upload id
   * (backends may encode the name into it). Fails `Unsupported` on backends without multipart uploads.
   */
  readonly startMultipart: (
    name: string,
    options?: MultipartOptions
  ) => Effect.Effect<string, StorageError.StorageError>
  /**
   * Stores part `partNumber` (1..10000) of an upload; uploading the same number again replaces it. Parts may be
   * uploaded in any order and concurrently. Backends may require every part but the last to have a minimum size
   * (S3: 5 MiB), enforced at completion. Fails `NotFound` for an unknown (completed, aborted) upload.
   */
  readonly uploadPart: (
    uploadId: string,
    partNumber: number,
    body: Uint8Array
  ) => Effect.Effect<PartInfo, StorageError.StorageError>
  /** The parts uploaded so far, ascending by part number. Fails `NotFound` for an unknown upload. */
  readonly listParts: (uploadId: string) => Effect.Effect<ReadonlyArray<PartInfo>, StorageError.StorageError>
  /**
   * Assembles the listed parts, in the given order, into the object (replacing any object of that name, atomically)
   * and ends the upload; parts not listed are discarded. ETag: `"<md5 of the concatenated part md5s>-<count>"`.
   * Fails `InvalidArgument` when `parts` is empty or not strictly ascending by part number, `Conflict` when a listed
   * part was not uploaded or its ETag differs from the uploaded one (nothing is published and the upload stays
   * open), `NotFound` for an unknown upload (including one already completed).
   */
  readonly completeMultipart: (
    uploadId: string,
    parts: ReadonlyArray<CompletedPart>
  ) => Effect.Effect<ImmutableObjectStore.ObjectInfo, StorageError.StorageError>
  /** Discards an upload and its parts; `true` when it existed. */
  readonly abortMultipart: (uploadId: string) => Effect.Effect<boolean, StorageError.StorageError>
  /**
   * Uploads in progress whose object names start with `prefix`, paged like `list`. Fails `Unsupported` on backends
   * that cannot enumerate uploads.
   */
  readonly listMultipart: (options?: ListMultipartOptions) => Effect.Effect<MultipartPage, StorageError.StorageError>
}

export const MutableObjectStore: Context.Service<MutableObjectStore, MutableObjectStore> = Context.Service(
  "@graviton/runtime/MutableObjectStore"
)

/**
 * The primitives a backend implements. `getRange` is derived from `get`; `putRange`, the multipart methods and
 * `listMultipart` default to failing `Unsupported`. A backend without conditional puts sets
 * `conditionalPut: false` and {@link make} fails puts with `ifNoneMatch`/`ifMatch` with `Unsupported`.
 */
export type MakeOptions = Make.MutablePrimitives

/**
 * Builds a {@link MutableObjectStore} from primitives, checking every argument first (names, ranges, options,
 * offsets, part numbers, upload ids, the order of completed parts, limits), so primitives receive valid input and
 * all backends reject the same things.
 */
export const make: (options: MakeOptions) => MutableObjectStore = Make.makeMutable

/** The read-only view of a mutable store (its `head`, `list`, `get` and `getRange`). */
export const toImmutable: (store: MutableObjectStore) => ImmutableObjectStore.ImmutableObjectStore = Make.toImmutable

/** Provides `ImmutableObjectStore` as the read-only view of the `MutableObjectStore` in context. */
export const layerImmutable: Layer.Layer<ImmutableObjectStore.ImmutableObjectStore, never, MutableObjectStore> =
  Layer.effect(ImmutableObjectStore.ImmutableObjectStore, MutableObjectStore.useSync(toImmutable))

/** The ETag of a single-put object: hex MD5 of its bytes. */
export const etagOf: (bytes: Uint8Array) => string = Checks.md5Hex

/** The ETag of a multipart object from its parts' ETags, in order. */
export const multipartEtagOf: (partEtags: ReadonlyArray<string>) => string = Checks.multipartEtag

/** An ETag without quotes or weak marker (`"abc"` → `abc`), for comparisons. */
export const normalizeEtag: (etag: string) => string = Checks.normalizeEtag

/**
 * An in-memory MutableObjectStore: concurrency-safe (every check-and-set runs in one synchronous step), copies bytes
 * in and out, takes `lastModified` from the `Clock`. Objects are limited to {@link memoryMaxObjectSize}.
 */
export const makeMemory = (): MutableObjectStore => Memory.makeMemory()

/** A fresh in-memory store, provided as both `MutableObjectStore` and `ImmutableObjectStore` (the same objects). */
export const layerMemory: Layer.Layer<MutableObjectStore | ImmutableObjectStore.ImmutableObjectStore> =
  layerImmutable.pipe(Layer.provideMerge(Layer.sync(MutableObjectStore, makeMemory)))
