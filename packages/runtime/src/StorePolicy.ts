/**
 * `StorePolicy`: how a store lays out and replicates blobs — plain data (Schemas) consumed by the engine.
 *
 * - {@link BlobLayout}: `Chunked { chunker, compression }` (content-defined or fixed blocks, deduplicated; the
 *   default), `SingleObject { partSize }` (the blob as one object, uploaded in parts — for object stores that serve
 *   ranges natively), or `Framed { compression }` (one framed object per blob, see core `Frame`).
 * - {@link ReplicationMode}: when a write is acknowledged — `SyncAll` (every replica written), `SyncQuorum { n }`
 *   (`n` replicas written, the rest in the background), `Async` (one replica written, the rest in the background).
 * - `replication.factor`: replicas per block (1 = no replication); a quorum may not exceed it.
 * - `verifyOnRead`: re-hash blocks when reading (on by default).
 *
 * Decoding fills in defaults for every missing field, so `{}` is the {@link defaults} policy, and is total: invalid
 * input gives an {@link InvalidStorePolicy}, never an exception.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Bytes from "./internal/policyBytes.ts"

/** The default chunker id (FastCDC, 16/64/256 KiB), as recorded in manifests by core `Chunker`. */
export const defaultChunker = "fastcdc-v1:16384:65536:262144"

/** Block compression: none, always zstd, or zstd only where it pays off. */
export const Compression = Schema.Literals(["none", "zstd", "auto"])
export type Compression = typeof Compression.Type

/**
 * A chunker id in core `Chunker` syntax (`fastcdc-v1:<min>:<avg>:<max>` or `fixed-v1:<size>`); the parameter
 * ranges are validated by `Chunker.parseId` when the engine instantiates it.
 */
export const ChunkerId = Schema.String.check(
  Schema.isPattern(/^(fastcdc-v1:[1-9]\d{0,15}:[1-9]\d{0,15}:[1-9]\d{0,15}|fixed-v1:[1-9]\d{0,15})$/, {
    message: "expected a chunker id like fastcdc-v1:16384:65536:262144 or fixed-v1:1048576"
  })
)

/** Content-addressed blocks (the default). */
export const Chunked = Schema.TaggedStruct("Chunked", {
  chunker: ChunkerId.pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultChunker))),
  compression: Compression.pipe(Schema.withDecodingDefaultKey(Effect.succeed<Compression>("none")))
})
export type Chunked = typeof Chunked.Type

/** One object per blob, written in parts of `partSize` bytes (default 8 MiB; S3 needs at least 5 MiB). */
export const SingleObject = Schema.TaggedStruct("SingleObject", {
  partSize: Bytes.PositiveByteCount.check(
    Schema.isLessThanOrEqualTo(5 * Bytes.GiB, { message: "partSize must be at most 5 GiB" })
  ).pipe(Schema.withDecodingDefaultKey(Effect.succeed(8 * Bytes.MiB)))
})
export type SingleObject = typeof SingleObject.Type

/** One framed object per blob. */
export const Framed = Schema.TaggedStruct("Framed", {
  compression: Schema.Literals(["none", "zstd"]).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed<"none" | "zstd">("none"))
  )
})
export type Framed = typeof Framed.Type

/** How blob bytes are laid out in the store. */
export const BlobLayout = Schema.Union([Chunked, SingleObject, Framed])
/** Decoded {@link BlobLayout}. */
export type BlobLayout = typeof BlobLayout.Type

/** When a replicated write is acknowledged. */
export const ReplicationMode = Schema.Union([
  Schema.TaggedStruct("SyncAll", {}),
  Schema.TaggedStruct("SyncQuorum", {
    n: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "a quorum needs at least 1 replica" }))
  }),
  Schema.TaggedStruct("Async", {})
])
/** Decoded {@link ReplicationMode}. */
export type ReplicationMode = typeof ReplicationMode.Type

/** Replication mode and factor; a quorum cannot exceed the factor. */
export const Replication = Schema.Struct({
  mode: ReplicationMode.pipe(Schema.withDecodingDefaultKey(Effect.succeed({ _tag: "SyncAll" as const }))),
  factor: Schema.Int.check(
    Schema.isGreaterThanOrEqualTo(1, { message: "the replication factor must be at least 1" })
  ).pipe(Schema.withDecodingDefaultKey(Effect.succeed(1)))
}).check(
  Schema.makeFilter(
    (r: { readonly mode: ReplicationMode; readonly factor: number }) =>
      r.mode._tag !== "SyncQuorum" ||
      r.mode.n <= r.factor ||
      `a quorum of ${r.mode.n} exceeds the replication factor ${r.factor}`
  )
)
export type Replication = typeof Replication.Type

/** A store policy as data. */
export const Spec = Schema.Struct({
  layout: BlobLayout.pipe(Schema.withDecodingDefaultKey(Effect.succeed({ _tag: "Chunked" as const }))),
  replication: Replication.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  verifyOnRead: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
})
/** A decoded store policy. */
export type StorePolicy = typeof Spec.Type

/** Chunked with the default chunker and no compression, one replica (`SyncAll`), verify on read. */
export const defaults: StorePolicy = {
  layout: { _tag: "Chunked", chunker: defaultChunker, compression: "none" },
  replication: { mode: { _tag: "SyncAll" }, factor: 1 },
  verifyOnRead: true
}

/** The store policy in force. */
export const StorePolicy: Context.Service<StorePolicy, StorePolicy> = Context.Service("@graviton/runtime/StorePolicy")

/** A rejected policy document; `message` says which field is wrong and why. */
export class InvalidStorePolicy extends Schema.TaggedError<InvalidStorePolicy>(
  "@graviton/runtime/StorePolicy/InvalidStorePolicy"
)("InvalidStorePolicy", { message: Schema.String }) {}

/** Validates an unknown value (e.g. parsed JSON), filling in defaults. Total. */
export const decode = (input: unknown): Result.Result<StorePolicy, InvalidStorePolicy> =>
  Result.mapError(Schema.decodeUnknownResult(Spec)(input), (e) => new InvalidStorePolicy({ message: e.message }))

/** Parses a JSON policy document. Total: malformed JSON and invalid policies are typed errors. */
export const decodeJson = (text: string): Result.Result<StorePolicy, InvalidStorePolicy> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return Result.fail(new InvalidStorePolicy({ message: `not JSON: ${(e as Error).message}` }))
  }
  return decode(parsed)
}

/** The JSON form of a policy ({@link decodeJson} reads it back to an equal policy). */
export const encodeJson = (policy: StorePolicy): string => JSON.stringify(Schema.encodeSync(Spec)(policy))

/** Provides `policy`. */
export const layer = (policy: StorePolicy): Layer.Layer<StorePolicy> => Layer.succeed(StorePolicy, policy)

/** Provides {@link defaults}. */
export const layerDefault: Layer.Layer<StorePolicy> = layer(defaults)

/**
 * Reads the policy as a JSON document from `POLICY` (nest it, e.g. `Config.nested("STORE")` reads
 * `STORE_POLICY`); missing means {@link defaults}.
 */
export const config: Config.Config<StorePolicy> = Config.schema(Schema.fromJsonString(Spec), "POLICY").pipe(
  Config.withDefault(defaults)
)

/** A policy read with {@link config} (or the given config). */
export const layerConfig = (
  source: Config.Config<StorePolicy> = config
): Layer.Layer<StorePolicy, Config.ConfigError> => Layer.effect(StorePolicy, source)
