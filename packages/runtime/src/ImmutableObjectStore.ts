/**
 * `ImmutableObjectStore`: read access to name-addressed objects (staging areas of resumable uploads, assets, and the
 * S3 backend's native objects). {@link MutableObjectStore} extends it with writes.
 *
 * **Names** are 1..1024 bytes of UTF-8: well-formed Unicode, no NUL, no leading `/`. Anything else fails with
 * `InvalidArgument` on every method. Names are listed in **UTF-8 byte order** on every backend (as S3, LevelDB and
 * PostgreSQL `COLLATE "C"` order them), which differs from JavaScript string order only for characters above U+FFFF.
 *
 * **ETags** identify content: the lowercase hex MD5 of the bytes for an object written by a single `put` (as S3
 * does), and `"<hex MD5 of the concatenated binary MD5s of the parts>-<part count>"` for an object assembled by a
 * multipart upload. They are given without quotes; methods that accept an ETag also accept the quoted HTTP form.
 *
 * **Downloads** (`get`) are lazy (nothing is read until the stream runs; the object is looked up when the stream
 * starts, so a stream built before a write and run after it sees the new object), emit chunks of at most
 * {@link maxChunkSize} bytes, and release everything they hold when the consumer stops early (`Stream.take`,
 * interruption). A download reads one consistent version of the object even if it is replaced meanwhile.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Checks from "./internal/objectChecks.ts"
import * as Make from "./internal/objectMake.ts"
import * as Memory from "./internal/objectMemory.ts"
import type * as StorageError from "./StorageError.ts"

/** Longest object name, in UTF-8 bytes (1024). */
export const maxNameBytes: number = Checks.maxNameBytes

/** Largest chunk a download emits (1 MiB). */
export const maxChunkSize: number = Checks.maxChunkSize

/** Largest page of {@link ImmutableObjectStore.list} (1000, also the default). */
export const maxListLimit: number = Checks.maxListLimit

/** Largest span {@link ImmutableObjectStore.getRange} returns (64 MiB); use `get` for more. */
export const maxGetRangeSize: number = Checks.maxGetRangeSize

/** Largest total of user metadata keys plus values (2 KiB, S3's limit). */
export const maxMetadataBytes: number = Checks.maxMetadataBytes

/** What a store knows about one object. */
export interface ObjectInfo {
  readonly name: string
  /** Size in bytes. */
  readonly size: number
  /** Content identifier (see the module doc), unquoted. */
  readonly etag: string
  readonly contentType?: string | undefined
  /** Epoch ms of the last write. */
  readonly lastModified: number
  /**
   * User metadata. Keys are lowercase ASCII letters, digits, `.`, `_`, `-` (starting with a letter or digit); values
   * are printable ASCII; keys plus values total at most {@link maxMetadataBytes}. The record is the caller's copy.
   */
  readonly metadata: Readonly<Record<string, string>>
}

/** A half-open byte range `[start, end)`; valid for an object of `size` bytes when `0 <= start <= end <= size`. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

export interface ListOptions {
  /** Only names starting with this string (default: all). */
  readonly prefix?: string | undefined
  /** Resume after this opaque cursor from a previous page of the same listing. */
  readonly cursor?: string | undefined
  /** Page size, 1..1000 (default 1000). */
  readonly limit?: number | undefined
}

/** One page of a listing, ordered by name; `cursor` is present only when more names may follow. */
export interface ListPage {
  readonly objects: ReadonlyArray<ObjectInfo>
  readonly cursor?: string | undefined
}

export interface ImmutableObjectStore {
  /** What the store knows about `name`, or `None` when there is no such object. */
  readonly head: (name: string) => Effect.Effect<Option.Option<ObjectInfo>, StorageError.StorageError>
  /**
   * One page of objects whose names start with `prefix`, in UTF-8 byte order of names. Paging with the returned
   * cursor visits every object that exists throughout the walk exactly once (objects created or deleted meanwhile
   * may or may not appear). Fails `InvalidArgument` on a malformed cursor, a limit outside 1..1000 or a bad prefix.
   */
  readonly list: (options?: ListOptions) => Effect.Effect<ListPage, StorageError.StorageError>
  /**
   * The bytes of `name`, or of `range` of it, as a lazy stream of chunks of at most {@link maxChunkSize} bytes.
   * Fails `NotFound` when there is no such object, and `InvalidArgument` when the range is malformed (not integers,
   * `start < 0`, `end < start`) or does not fit the object (`end > size`; detect this case with
   * {@link isRangeOutside}). The empty range `[size, size)` is valid and emits nothing. HTTP-style clipping of
   * ranges is the caller's job (use `head` first).
   */
  readonly get: (name: string, range?: ByteRange) => Stream.Stream<Uint8Array, StorageError.StorageError>
  /**
   * The bytes of `span` of `name` in one array (for small ranges: at most {@link maxGetRangeSize} bytes, else
   * `InvalidArgument`). Fails like {@link ImmutableObjectStore.get}.
   */
  readonly getRange: (name: string, span: ByteRange) => Effect.Effect<Uint8Array, StorageError.StorageError>
}

export const ImmutableObjectStore: Context.Service<ImmutableObjectStore, ImmutableObjectStore> = Context.Service(
  "@graviton/runtime/ImmutableObjectStore"
)

/** The primitives a read-only backend implements; `getRange` is derived from `get` when left out. */
export type MakeOptions = Make.ImmutablePrimitives

/**
 * Builds an {@link ImmutableObjectStore} from primitives. Arguments are checked before a primitive is called (names,
 * static range shape, limits, prefixes), so primitives receive valid input and every backend rejects the same
 * things. Primitives still check ranges against the object size ({@link checkRangeWithin}) and decode cursors.
 */
export const make: (options: MakeOptions) => ImmutableObjectStore = Make.makeImmutable

/** What is wrong with an object name, or `undefined` when it is valid. */
export const nameProblem: (name: unknown) => string | undefined = Checks.nameProblem

/** Fails `InvalidArgument` when `name` is not a valid object name. */
export const validateName: (operation: string, name: string) => Effect.Effect<void, StorageError.StorageError> =
  Checks.validateName

/** Fails `InvalidArgument` when `range` reaches past the end of an object of `size` bytes. */
export const checkRangeWithin: (
  operation: string,
  name: string,
  range: ByteRange | undefined,
  size: number
) => Effect.Effect<void, StorageError.StorageError> = Checks.checkRangeWithin

/** Whether `error` reports a range that does not fit the object (as opposed to a malformed range). */
export const isRangeOutside: (error: unknown) => boolean = Checks.isRangeOutside

/** Validates list options and decodes a cursor made by {@link encodeCursor} to the last name returned. */
export const decodeListOptions: (
  operation: string,
  options: ListOptions | undefined
) => Effect.Effect<
  { readonly prefix: string; readonly after: string | undefined; readonly limit: number },
  StorageError.StorageError
> = Checks.decodeListOptions

/** An opaque cursor resuming a listing strictly after the name `last`. */
export const encodeCursor: (last: string) => string = Checks.encodeCursor

/** Compares two names in listing order (UTF-8 bytes). */
export const compareNames: (a: string, b: string) => number = Checks.compareNames

/**
 * Every object under `prefix` as a stream, paging lazily with `pageSize` (default 1000). Objects that exist
 * throughout appear exactly once.
 */
export const listAll = (
  store: ImmutableObjectStore,
  options: { readonly prefix?: string | undefined; readonly pageSize?: number | undefined } = {}
): Stream.Stream<ObjectInfo, StorageError.StorageError> =>
  Stream.paginate<string | undefined, ObjectInfo, StorageError.StorageError>(undefined, (cursor) =>
    Effect.map(
      store.list({ prefix: options.prefix, cursor, limit: options.pageSize }),
      (page) =>
        [
          page.objects,
          page.cursor === undefined ? Option.none<string | undefined>() : Option.some<string | undefined>(page.cursor)
        ] as const
    )
  )

/** An object to preload into a memory store. */
export interface SeedObject {
  readonly name: string
  readonly bytes: Uint8Array
  readonly contentType?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/**
 * An in-memory read-only store holding `objects` (written through the mutable memory store, so they get ETags and
 * the current `Clock` time). Fails `InvalidArgument` on an invalid seed object.
 */
export const makeMemory = (
  objects: Iterable<SeedObject> = []
): Effect.Effect<ImmutableObjectStore, StorageError.StorageError> =>
  Effect.suspend(() => {
    const store = Memory.makeMemory()
    return Effect.as(
      Effect.forEach(
        objects,
        (o) =>
          store.put(o.name, Stream.succeed(o.bytes), {
            contentType: o.contentType,
            metadata: o.metadata
          }),
        { discard: true }
      ),
      Make.toImmutable(store)
    )
  })

/** An empty in-memory read-only store (fresh per build). For a shared store with writes use `MutableObjectStore.layerMemory`. */
export const layerMemory: Layer.Layer<ImmutableObjectStore> = Layer.effect(
  ImmutableObjectStore,
  Effect.orDie(makeMemory())
)

/** An in-memory read-only store preloaded with `objects`. */
export const layerMemoryWith = (
  objects: Iterable<SeedObject>
): Layer.Layer<ImmutableObjectStore, StorageError.StorageError> =>
  Layer.effect(ImmutableObjectStore, makeMemory(objects))
