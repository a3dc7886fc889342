/**
 * `Graviton`: the facade an application talks to. It bundles the blob store, resumable uploads, garbage
 * collection, retention and metrics behind one service, with conveniences for in-memory byte arrays and key text.
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const graviton = yield* Graviton.Graviton
 *   const { key } = yield* graviton.putBytes(new TextEncoder().encode("hello"))
 *   const bytes = yield* graviton.getBytes(key)
 * })
 * program.pipe(Effect.provide(GravitonRuntime.layerMemory()))
 * ```
 *
 * @since 0.1.0
 */
import { BinaryKey, type Span } from "@graviton/core"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as BlobStore from "./BlobStore.ts"
import * as BlockStore from "./BlockStore.ts"
import type * as ConstraintViolation from "./ConstraintViolation.ts"
import * as Gc from "./Gc.ts"
import * as IngestLeases from "./IngestLeases.ts"
import * as ManifestStore from "./ManifestStore.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import * as RetentionPolicy from "./RetentionPolicy.ts"
import * as RetentionSweeper from "./RetentionSweeper.ts"
import * as StorageError from "./StorageError.ts"
import * as Uploads from "./Uploads.ts"

export interface Graviton {
  /** The blob store (the CAS engine). */
  readonly blobs: BlobStore.BlobStore
  /** Resumable uploads. */
  readonly uploads: Uploads.Uploads
  /** Parses key text; `InvalidArgument` with the parser's explanation when malformed. */
  readonly parseKey: (text: string) => Effect.Effect<BinaryKey.BinaryKey, StorageError.StorageError>
  /** Stores a byte array. */
  readonly putBytes: (
    bytes: Uint8Array,
    options?: BlobStore.PutOptions
  ) => Effect.Effect<BlobStore.BlobWriteResult, StorageError.StorageError | ConstraintViolation.ConstraintViolation>
  /** Reads a blob (or a range of it) into one byte array. */
  readonly getBytes: (
    key: BinaryKey.BinaryKey,
    range?: Span.Span
  ) => Effect.Effect<Uint8Array, StorageError.StorageError>
  /** `BlobStore.stat`. */
  readonly stat: (
    key: BinaryKey.BinaryKey
  ) => Effect.Effect<Option.Option<BlobStore.BlobStat>, StorageError.StorageError>
  /** One mark-and-sweep pass (dry run unless `apply`); `minAge` defaults to the configured GC minimum age. */
  readonly gc: (options?: Gc.Options) => Effect.Effect<Gc.Report, StorageError.StorageError>
  /** Applies the retention policy (dry run unless `apply`). */
  readonly sweepRetention: (options?: {
    readonly apply?: boolean | undefined
  }) => Effect.Effect<RetentionSweeper.Report, StorageError.StorageError>
  /** Metrics in the Prometheus text format. */
  readonly metrics: Effect.Effect<string>
}

export const Graviton: Context.Service<Graviton, Graviton> = Context.Service("@graviton/runtime/Graviton")

export const make = Effect.fnUntraced(function* (options: { readonly gcMinAge?: Duration.Input | undefined } = {}) {
  const blobs = yield* BlobStore.BlobStore
  const uploads = yield* Uploads.Uploads
  const blocks = yield* BlockStore.BlockStore
  const manifests = yield* ManifestStore.ManifestStore
  const leases = yield* IngestLeases.IngestLeases
  const retention = yield* RetentionPolicy.RetentionPolicy
  const registry = yield* MetricsRegistry.MetricsRegistry
  const provideStores = <A, E>(
    eff: Effect.Effect<
      A,
      E,
      | BlockStore.BlockStore
      | ManifestStore.ManifestStore
      | IngestLeases.IngestLeases
      | BlobStore.BlobStore
      | RetentionPolicy.RetentionPolicy
      | MetricsRegistry.MetricsRegistry
    >
  ) =>
    eff.pipe(
      Effect.provideService(BlockStore.BlockStore, blocks),
      Effect.provideService(ManifestStore.ManifestStore, manifests),
      Effect.provideService(IngestLeases.IngestLeases, leases),
      Effect.provideService(BlobStore.BlobStore, blobs),
      Effect.provideService(RetentionPolicy.RetentionPolicy, retention),
      Effect.provideService(MetricsRegistry.MetricsRegistry, registry)
    )
  return Graviton.of({
    blobs,
    uploads,
    parseKey: (text) =>
      Effect.suspend(() => {
        const r = BinaryKey.parse(text)
        return Result.isSuccess(r)
          ? Effect.succeed(r.success)
          : Effect.fail(
              StorageError.invalidArgument("Graviton.parseKey", { message: r.failure.message, cause: r.failure })
            )
      }),
    putBytes: (bytes, putOptions) =>
      blobs.put(Stream.succeed(bytes), { expectedSize: bytes.byteLength, ...putOptions }),
    getBytes: (key, range) =>
      Effect.map(Stream.runCollect(blobs.get(key, range)), (parts) => {
        if (parts.length === 1) return parts[0]!
        const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
        let at = 0
        for (const p of parts) {
          out.set(p, at)
          at += p.byteLength
        }
        return out
      }),
    stat: (key) => blobs.stat(key),
    gc: (gcOptions) => provideStores(Gc.run({ minAge: options.gcMinAge, ...gcOptions })),
    sweepRetention: (sweepOptions) => provideStores(RetentionSweeper.run(sweepOptions)),
    metrics: registry.prometheus
  })
})

export const layer = (options?: {
  readonly gcMinAge?: Duration.Input | undefined
}): Layer.Layer<
  Graviton,
  never,
  | BlobStore.BlobStore
  | Uploads.Uploads
  | BlockStore.BlockStore
  | ManifestStore.ManifestStore
  | IngestLeases.IngestLeases
  | RetentionPolicy.RetentionPolicy
  | MetricsRegistry.MetricsRegistry
> => Layer.effect(Graviton, make(options))
