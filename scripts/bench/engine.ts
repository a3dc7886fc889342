/**
 * Driving the project: the CAS engine (`BlobStore.layer`) over a backend's stores, with a counting BlockStore
 * decorator between them so scenarios can report bytes written to and fetched from the backend.
 */
import { BinaryKey, Span } from "@graviton/core"
import { BlobStore, BlockStore, type CasEngine, IngestLeases, ManifestStore, MetricsRegistry } from "@graviton/runtime"
import { Effect, Layer, ManagedRuntime, Option, Stream } from "effect"

/** What crossed the BlockStore boundary. */
export interface Counters {
  /** Bytes handed to `put`/`putMany` that were stored fresh (after compression when it sits above). */
  storedBytes: number
  /** Bytes returned by `get`/`getMany`. */
  fetchedBytes: number
  /** Blocks returned by `get`/`getMany`. */
  fetchedBlocks: number
}

export const counters = (): Counters => ({ storedBytes: 0, fetchedBytes: 0, fetchedBlocks: 0 })

/** Counts stored and fetched bytes of the BlockStore it wraps. */
export const counting =
  (c: Counters) =>
  (self: BlockStore.BlockStore): BlockStore.BlockStore => {
    const fetched = (o: Option.Option<Uint8Array>) => {
      if (Option.isSome(o)) {
        c.fetchedBytes += o.value.byteLength
        c.fetchedBlocks++
      }
    }
    const after =
      <A>(f: (a: A) => void) =>
      (a: A): A => {
        f(a)
        return a
      }
    return BlockStore.BlockStore.of({
      ...self,
      put: (key, bytes) =>
        Effect.map(
          self.put(key, bytes),
          after((o) => {
            if (o === "fresh") c.storedBytes += bytes.byteLength
          })
        ),
      putMany: (blocks) =>
        Effect.map(
          self.putMany(blocks),
          after((os) => {
            os.forEach((o, i) => {
              if (o === "fresh") c.storedBytes += blocks[i]!.bytes.byteLength
            })
          })
        ),
      get: (key) => Effect.map(self.get(key), after(fetched)),
      getMany: (keys) =>
        Effect.map(
          self.getMany(keys),
          after((os) => os.forEach(fetched))
        )
    })
  }

/** What the engine needs from a backend. */
export type EngineStores = BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases

export interface EngineOptions {
  readonly config?: CasEngine.EngineConfigInput | undefined
  /** Per-block zstd between the engine and the counter (so the counter sees stored, compressed bytes). */
  readonly compression?: "zstd" | "auto" | undefined
}

/** A running engine over `stores` (built once; `dispose` releases the backend). */
export interface Engine {
  readonly counters: Counters
  readonly put: (source: Iterable<Uint8Array>) => Promise<BlobStore.BlobWriteResult>
  /** Reads the blob (or `range` of it); returns the bytes streamed. */
  readonly read: (key: BinaryKey.BinaryKey, range?: { readonly start: number; readonly end: number }) => Promise<number>
  readonly dispose: () => Promise<void>
}

export const start = async (
  stores: Layer.Layer<EngineStores, unknown>,
  options: EngineOptions = {}
): Promise<Engine> => {
  const c = counters()
  const decorate = (inner: BlockStore.BlockStore) => {
    const counted = counting(c)(inner)
    return options.compression === undefined
      ? counted
      : BlockStore.withCompression({ codec: options.compression })(counted)
  }
  const decorated = Layer.effect(BlockStore.BlockStore, Effect.map(BlockStore.BlockStore, decorate))
  const layer = BlobStore.layer(options.config).pipe(
    Layer.provide(decorated),
    Layer.provide(stores),
    Layer.provide(MetricsRegistry.layerFresh)
  )
  const runtime = ManagedRuntime.make(layer)
  const blobs = await runtime.runPromise(BlobStore.BlobStore)
  return {
    counters: c,
    put: (source) => runtime.runPromise(blobs.put(Stream.fromIterable(source, { chunkSize: 1 }))),
    read: (key, range) =>
      runtime.runPromise(
        Stream.runFold(
          blobs.get(key, range === undefined ? undefined : Span.unsafeMake(range.start, range.end)),
          () => 0,
          (n, b: Uint8Array) => n + b.byteLength
        )
      ),
    dispose: () => runtime.dispose()
  }
}

/** The memory backend's stores (fresh per call). */
export const memoryStores = (): Layer.Layer<EngineStores> => BlobStore.layerMemoryStores

/**
 * A BlockStore that remembers the keys it was given and drops the bytes: the engine over it does all of its own
 * work (chunking, both hashes, batching, dedup lookups, the manifest) and stores nothing, like the CPU ceiling.
 */
export const discarding = (): BlockStore.BlockStore => {
  const keys = new Set<string>()
  return BlockStore.make({
    put: (key) =>
      Effect.sync(() => {
        const id = BinaryKey.format(key)
        if (keys.has(id)) return "duplicate" as const
        keys.add(id)
        return "fresh" as const
      }),
    get: () => Effect.succeed(Option.none()),
    hasMany: (ks) => Effect.sync(() => ks.map((k) => keys.has(BinaryKey.format(k)))),
    delete: (key) => Effect.sync(() => keys.delete(BinaryKey.format(key))),
    inventory: () => Effect.succeed({ items: [] })
  })
}

/** Stores for the engine that keep manifests in memory and discard block bytes (see {@link discarding}). */
export const discardingStores = (): Layer.Layer<EngineStores> =>
  Layer.mergeAll(Layer.sync(BlockStore.BlockStore, discarding), ManifestStore.layerMemory, IngestLeases.layerMemory)
