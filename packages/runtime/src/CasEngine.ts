/**
 * The CAS engine: a {@link BlobStore.BlobStore} over a {@link BlockStore.BlockStore} and a
 * {@link ManifestStore.ManifestStore}.
 *
 * **Ingest** pulls the body once: every chunk feeds the whole-blob hasher, the chunker cuts blocks, each block is
 * hashed, and blocks are written in batches with bounded parallelism — `hasMany(…, { touch: true })` first, then
 * `putMany` of only the missing ones. Memory stays O(parallelism × batch × max block) whatever the blob size. After
 * the last byte the expected key/size are checked and `ManifestStore.commit` publishes the blob, last. Failure or
 * interruption anywhere before that publishes nothing.
 *
 * **GC safety.** An ingest holds an {@link IngestLeases.IngestLeases} lease from before its first block touch until
 * after its commit, and every block it relies on is written or touched (`hasMany(…, { touch: true })`) during it,
 * so a concurrent `Gc.run` never deletes one of them. See `IngestLeases` for the argument.
 *
 * With `hashing: "worker"` (the default) chunking and hashing run on two worker threads, which share the block
 * hashes and one of which also hashes the whole blob (`internal/ingestBlocks.ts`), while the calling thread copies
 * the body into hand-over buffers, stores and commits.
 *
 * **Reads** fetch only the blocks that intersect the range, in `getMany` batches of `readBatch` blocks with
 * `readAhead` blocks in flight, verify each block's size and digest before emitting any of its bytes (on a worker
 * thread for batches of 512 KiB and more, `internal/verifyBlocks.ts`), and slice exactly at both ends. Reads of at
 * most 1 MiB spanning at most `readBatch` blocks (range requests, small blobs) fetch them in one `getMany` first.
 *
 * @since 0.1.0
 */
import { BinaryKey, Chunker, type HashAlgorithm, Hashing, type Manifest, Span } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as BlobStore from "./BlobStore.ts"
import * as BlockStoreM from "./BlockStore.ts"
import * as ConstraintPolicy from "./ConstraintPolicy.ts"
import * as IngestLeases from "./IngestLeases.ts"
import * as IngestBlocks from "./internal/ingestBlocks.ts"
import * as IngestPool from "./internal/ingestPool.ts"
import * as ManifestBuffer from "./internal/manifestBuffer.ts"
import * as VerifyBlocks from "./internal/verifyBlocks.ts"
import * as ManifestStoreM from "./ManifestStore.ts"
import * as MetricKeys from "./MetricKeys.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import * as SpillPolicy from "./SpillPolicy.ts"
import * as StorageError from "./StorageError.ts"

export interface EngineConfig {
  /** Chunker parameters (default FastCDC 16/64/256 KiB). */
  readonly chunker: Chunker.ValidParams
  /** Hash algorithm for block and blob keys (default sha-256). */
  readonly algorithm: HashAlgorithm.HashAlgorithm
  /** Block batches written concurrently (default 4). */
  readonly parallelism: number
  /** Blocks per `hasMany`/`putMany` batch (default 16). */
  readonly batchSize: number
  /**
   * Blocks fetched ahead while reading (default 256, i.e. four batches: typically 16 MiB per read stream — Ceph RGW's
   * default GET window is the same 16 MiB — and at most 64 MiB with 256 KiB blocks). A full read waits on the disk,
   * the verifying worker and GC pauses in turn; more in flight keeps both cores busy. On level, alternating in one
   * process over one 512 MiB blob: 32 ahead / 16 per batch ~610–650 MiB/s, 128 / 32 ~810–870, 256 / 64 ~930–960.
   * Servers with many slow concurrent downloads may lower it (`GRAVITON_READ_AHEAD`); range reads only fetch the
   * blocks they touch, whatever it is.
   */
  readonly readAhead: number
  /**
   * Blocks fetched per `getMany` while reading (default 64); `readAhead / readBatch` batches are in flight. Backends
   * read a batch's blocks together (level: one positional read for blocks lying back to back in a pack), and each
   * batch is verified with one worker round trip.
   */
  readonly readBatch: number
  /** Manifest entries kept as objects before they spill through the SpillPolicy (default 100 000). */
  readonly spillAfterEntries: number
  /**
   * `worker` (default): chunking, block hashing and the whole-blob hash shared by two worker threads, storage on
   * the caller's (SHA-256 only; bodies declared under 256 KiB stay inline); `inline`: everything on the caller's
   * thread.
   */
  readonly hashing: "worker" | "inline"
}

export type EngineConfigInput = Partial<EngineConfig>

export const defaultConfig: EngineConfig = {
  chunker: Chunker.defaults,
  algorithm: "sha-256",
  parallelism: 4,
  batchSize: 16,
  readAhead: 256,
  readBatch: 64,
  spillAfterEntries: 100_000,
  hashing: "worker"
}

export const resolveConfig = (input: EngineConfigInput | undefined): EngineConfig => ({
  chunker: input?.chunker ?? defaultConfig.chunker,
  algorithm: input?.algorithm ?? defaultConfig.algorithm,
  parallelism: Math.max(1, input?.parallelism ?? defaultConfig.parallelism),
  batchSize: Math.max(1, input?.batchSize ?? defaultConfig.batchSize),
  readAhead: Math.max(1, input?.readAhead ?? defaultConfig.readAhead),
  readBatch: Math.max(1, input?.readBatch ?? defaultConfig.readBatch),
  spillAfterEntries: Math.max(1, input?.spillAfterEntries ?? defaultConfig.spillAfterEntries),
  hashing: input?.hashing ?? defaultConfig.hashing
})

type PendingBlock = IngestBlocks.PendingBlock

interface BatchOutcome {
  readonly entries: ReadonlyArray<Manifest.ManifestEntry>
  readonly fresh: number
  readonly freshBytes: number
  readonly duplicate: number
  readonly duplicateBytes: number
}

const keyText = BinaryKey.format

/** Builds the engine over the BlockStore and ManifestStore in context. */
export const make = Effect.fnUntraced(function* (input?: EngineConfigInput) {
  const config = resolveConfig(input)
  const blocks = yield* BlockStoreM.BlockStore
  const manifests = yield* ManifestStoreM.ManifestStore
  const leases = yield* IngestLeases.IngestLeases
  const registry = yield* Effect.serviceOption(MetricsRegistry.MetricsRegistry)
  const constraints = yield* Effect.serviceOption(ConstraintPolicy.ConstraintPolicy)
  const spill = yield* Effect.serviceOption(SpillPolicy.SpillPolicy)
  return makeWith(config, blocks, manifests, leases, {
    registry: Option.getOrUndefined(registry),
    constraints: Option.getOrUndefined(constraints),
    spill: Option.getOrUndefined(spill)
  })
})

/** Optional collaborators of the engine. */
export interface Collaborators {
  /** Records blob metrics. */
  readonly registry?: MetricsRegistry.MetricsRegistry | undefined
  /** Admission control (size, quota, concurrency, rate) for every put. */
  readonly constraints?: ConstraintPolicy.ConstraintPolicy | undefined
  /** Where large manifests spill during ingest. */
  readonly spill?: SpillPolicy.SpillPolicy | undefined
}

/** Builds the engine from explicit stores. */
export const makeWith = (
  config: EngineConfig,
  blocks: BlockStoreM.BlockStore,
  manifests: ManifestStoreM.ManifestStore,
  leases: IngestLeases.IngestLeases,
  collaborators: Collaborators = {}
): BlobStore.BlobStore => {
  const { registry, constraints, spill } = collaborators
  const count = (operation: string, outcome: "ok" | "error") =>
    registry === undefined ? Effect.void : registry.increment(MetricKeys.blobOperations, { operation, outcome })
  const recordPut = (r: BlobStore.BlobWriteResult) =>
    registry === undefined
      ? Effect.void
      : Effect.all(
          [
            registry.increment(MetricKeys.bytesIngested, {}, r.size),
            registry.increment(MetricKeys.freshBlocks, {}, r.freshBlocks),
            registry.increment(MetricKeys.duplicateBlocks, {}, r.duplicateBlocks),
            registry.increment(MetricKeys.freshBytes, {}, r.freshBytes),
            registry.increment(MetricKeys.duplicateBytes, {}, r.duplicateBytes),
            registry.observe(MetricKeys.blobSize, r.size)
          ],
          { discard: true }
        )
  const counted =
    (operation: string) =>
    <A, E, R>(eff: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      registry === undefined
        ? eff
        : Effect.onExit(eff, (exit) => count(operation, exit._tag === "Success" ? "ok" : "error"))

  const writeBatch = (batch: ReadonlyArray<PendingBlock>): Effect.Effect<BatchOutcome, StorageError.StorageError> =>
    Effect.gen(function* () {
      const present = yield* blocks.hasMany(
        batch.map((b) => b.key),
        { touch: true }
      )
      // a key may repeat inside one batch: write it once
      const toWrite: Array<PendingBlock> = []
      const seen = new Set<string>()
      for (let i = 0; i < batch.length; i++) {
        if (present[i] === true) continue
        const id = keyText(batch[i]!.key)
        if (seen.has(id)) continue
        seen.add(id)
        toWrite.push(batch[i]!)
      }
      const outcomes = toWrite.length === 0 ? [] : yield* blocks.putMany(toWrite)
      const freshIds = new Set<string>()
      for (let i = 0; i < toWrite.length; i++) if (outcomes[i] === "fresh") freshIds.add(keyText(toWrite[i]!.key))
      let fresh = 0
      let freshBytes = 0
      const entries = batch.map((b) => {
        const id = keyText(b.key)
        if (freshIds.delete(id)) {
          fresh++
          freshBytes += b.bytes.byteLength
        }
        return { index: b.index, blockKey: b.key, offset: b.offset, size: b.bytes.byteLength }
      })
      const duplicateBytes = batch.reduce((n, b) => n + b.bytes.byteLength, 0) - freshBytes
      // the store keeps no reference to the bytes once put returns: pooled hand-over buffers may be reused
      for (const b of batch) b.release?.()
      return { entries, fresh, freshBytes, duplicate: batch.length - fresh, duplicateBytes }
    })

  const put: BlobStore.BlobStore["put"] = (body, options) =>
    Effect.gen(function* () {
      const expectedKey = options?.expectedKey
      const expectedSize = options?.expectedSize ?? expectedKey?.size
      if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
        return yield* StorageError.invalidArgument("BlobStore.put", {
          message: `invalid expected size ${expectedSize}`
        })
      }
      const attributes = options?.attributes ?? {}
      const admission =
        constraints === undefined
          ? undefined
          : yield* constraints.admit(options?.tenant ?? "default", { declaredSize: expectedSize, attributes })
      // the declared size is checked first, so content longer than declared is InvalidArgument, not TooLarge
      const declared =
        expectedSize === undefined
          ? body
          : Stream.suspend(() => {
              let seen = 0
              return body.pipe(
                Stream.mapEffect((c) => {
                  seen += c.byteLength
                  return seen > expectedSize
                    ? Effect.fail(
                        StorageError.invalidArgument("BlobStore.put", {
                          message: `content is longer than the expected ${expectedSize} bytes`
                        })
                      )
                    : Effect.succeed(c)
                })
              )
            })
      const source = admission === undefined ? declared : admission.limit(declared)
      yield* leases.acquire
      const started = yield* Clock.currentTimeMillis
      const chunker = Chunker.instantiate(config.chunker)
      const blobAlgorithm = expectedKey?.algorithm ?? config.algorithm
      const entries = yield* ManifestBuffer.make(
        { chunker: chunker.id, createdAt: started, attributes },
        spill,
        config.spillAfterEntries
      )
      let fresh = 0
      let freshBytes = 0
      let duplicate = 0
      let duplicateBytes = 0
      // a body declared small is hashed here: the worker round trips would cost more than the hashing
      const small = expectedSize !== undefined && expectedSize < INLINE_BELOW
      const ingest =
        config.hashing === "worker" &&
        !small &&
        config.algorithm === "sha-256" &&
        blobAlgorithm === "sha-256" &&
        sharedPool() !== undefined
          ? IngestBlocks.offThread(source, sharedPool()!.job(chunker.id))
          : IngestBlocks.inline(source, chunker, config.algorithm, blobAlgorithm)

      yield* ingest.blocks.pipe(
        Stream.grouped(config.batchSize),
        Stream.mapEffect(writeBatch, { concurrency: config.parallelism }),
        Stream.runForEach((o) =>
          Effect.andThen(
            Effect.sync(() => {
              fresh += o.fresh
              freshBytes += o.freshBytes
              duplicate += o.duplicate
              duplicateBytes += o.duplicateBytes
            }),
            entries.add(o.entries)
          )
        )
      )

      const { digest, size } = ingest.result()
      const blobKey = BinaryKey.unsafeMake(blobAlgorithm, digest, size)
      if (expectedSize !== undefined && size !== expectedSize) {
        return yield* StorageError.invalidArgument("BlobStore.put", {
          key: keyText(blobKey),
          message: `content has ${size} bytes, expected ${expectedSize}`
        })
      }
      if (expectedKey !== undefined && !BinaryKey.equals(expectedKey, blobKey)) {
        return yield* StorageError.conflict("BlobStore.put", {
          key: keyText(blobKey),
          message: `content hashes to ${keyText(blobKey)}, not the expected ${keyText(expectedKey)}`
        })
      }
      if (admission !== undefined) {
        // content already stored costs no quota; a concurrent duplicate is refunded after the commit below
        const exists = Option.isSome(yield* manifests.get(blobKey))
        yield* admission.commit(exists ? 0 : size)
      }
      const receipt = yield* manifests.commit({
        blobKey,
        chunker: chunker.id,
        createdAt: started,
        attributes,
        blockCount: entries.count(),
        entries: entries.entries(blobKey)
      })
      if (admission !== undefined && !receipt.created) yield* admission.commit(0)
      const finished = yield* Clock.currentTimeMillis
      return {
        key: blobKey,
        size,
        blockCount: entries.count(),
        freshBlocks: fresh,
        duplicateBlocks: duplicate,
        freshBytes,
        duplicateBytes,
        created: receipt.created,
        durationMs: finished - started
      } satisfies BlobStore.BlobWriteResult
    }).pipe(Effect.scoped, Effect.tap(recordPut), counted("put"))

  const notFound = (operation: string, key: BinaryKey.BinaryKey) =>
    StorageError.notFound(operation, { key: keyText(key), message: "no such blob" })

  // the pool is asked for per batch, so an engine that only reads small ranges never starts the workers
  const verifier = config.hashing === "worker" ? VerifyBlocks.offThread(sharedPool) : VerifyBlocks.inline

  /** Fetches the blocks of `batch` together and verifies each (size and digest); Corrupt when one is missing or bad. */
  const fetchVerified = (batch: ReadonlyArray<Manifest.ManifestEntry>, operation: string) =>
    Effect.gen(function* () {
      const keys = batch.map((e) => e.blockKey)
      const found = yield* blocks.getMany(keys)
      const out: Array<Uint8Array> = []
      for (let i = 0; i < batch.length; i++) {
        const o = found[i]
        if (o === undefined || Option.isNone(o)) {
          return yield* StorageError.corrupt(operation, {
            key: keyText(keys[i]!),
            message: "a block of this blob is missing"
          })
        }
        out.push(o.value)
      }
      const bad = yield* verifier.check(keys, out)
      if (bad.length > 0) {
        return yield* StorageError.corrupt(operation, {
          key: keyText(keys[bad[0]!]!),
          message: "a block of this blob failed verification"
        })
      }
      return out
    })

  const served = (bytes: Uint8Array) =>
    registry === undefined ? Effect.void : registry.increment(MetricKeys.bytesServed, {}, bytes.byteLength)

  const get: BlobStore.BlobStore["get"] = (key, range) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const stat = yield* manifests.get(key)
        if (Option.isNone(stat)) return yield* notFound("BlobStore.get", key)
        const size = stat.value.size
        const span = range ?? Span.unsafeMake(0, size)
        if (
          !Number.isSafeInteger(span.start) ||
          !Number.isSafeInteger(span.end) ||
          span.start < 0 ||
          span.end < span.start ||
          span.end > size
        ) {
          return yield* StorageError.invalidArgument("BlobStore.get", {
            key: keyText(key),
            message: `range [${span.start}, ${span.end}) is outside the blob of ${size} bytes`
          })
        }
        if (span.start === span.end) return Stream.empty
        /** The bytes of `batch`'s blocks that lie in the span, verified. */
        const sliced = (batch: ReadonlyArray<Manifest.ManifestEntry>) =>
          Effect.map(fetchVerified(batch, "BlobStore.get"), (all) =>
            all.map((bytes, i) => {
              const entry = batch[i]!
              const from = Math.max(0, span.start - entry.offset)
              const to = Math.min(entry.size, span.end - entry.offset)
              return from === 0 && to === entry.size ? bytes : bytes.subarray(from, to)
            })
          )
        if (span.end - span.start <= SMALL_READ) {
          // a small range or blob (an HTTP Range request, a small object): its blocks in one batch, without the
          // read-ahead pipeline, whose fibers and queues cost more than the read itself
          const batch = yield* Stream.runCollect(Stream.take(manifests.entries(key, span), config.readBatch + 1))
          if (batch.length <= config.readBatch) return Stream.fromIterable(yield* sliced(batch))
        }
        return manifests
          .entries(key, span)
          .pipe(
            Stream.grouped(config.readBatch),
            Stream.mapEffect(sliced, { concurrency: Math.max(1, Math.ceil(config.readAhead / config.readBatch)) }),
            Stream.flattenIterable
          )
      })
    ).pipe(
      Stream.tap(served),
      Stream.onExit((exit) =>
        registry === undefined ? Effect.void : count("get", exit._tag === "Success" ? "ok" : "error")
      )
    )

  const stat: BlobStore.BlobStore["stat"] = (key) =>
    Effect.map(
      manifests.get(key),
      Option.map((s) => statOf(s))
    )

  const list: BlobStore.BlobStore["list"] = (options) =>
    Effect.map(manifests.list(options), (page) =>
      page.cursor === undefined
        ? { items: page.items.map(statOf) }
        : { items: page.items.map(statOf), cursor: page.cursor }
    )

  const verify: BlobStore.BlobStore["verify"] = (key) =>
    Effect.gen(function* () {
      const summary = yield* manifests.get(key)
      if (Option.isNone(summary)) return yield* notFound("BlobStore.verify", key)
      const hasher = Hashing.make(key.algorithm)
      const missing: Array<BinaryKey.BinaryKey> = []
      const corrupt: Array<BinaryKey.BinaryKey> = []
      let blocksChecked = 0
      let bytesChecked = 0
      yield* manifests.entries(key).pipe(
        Stream.grouped(config.readBatch),
        Stream.mapEffect(
          (batch) =>
            Effect.map(blocks.getMany(batch.map((e) => e.blockKey)), (found) =>
              batch.map((entry, i) => [entry, found[i] ?? Option.none<Uint8Array>()] as const)
            ),
          { concurrency: Math.max(1, Math.ceil(config.readAhead / config.readBatch)) }
        ),
        Stream.flattenIterable,
        Stream.runForEach(([entry, o]) =>
          Effect.sync(() => {
            blocksChecked++
            if (Option.isNone(o)) missing.push(entry.blockKey)
            else {
              bytesChecked += o.value.byteLength
              if (!BlockStoreM.verifies(entry.blockKey, o.value)) corrupt.push(entry.blockKey)
              hasher.update(o.value)
            }
          })
        )
      )
      const contentMatches = missing.length === 0 && bytesChecked === key.size && hasher.digestHex() === key.digest
      return {
        key,
        ok: contentMatches && corrupt.length === 0,
        blocksChecked,
        bytesChecked,
        missingBlocks: missing,
        corruptBlocks: corrupt,
        contentMatches
      }
    }).pipe(counted("verify"))

  return {
    put,
    get,
    stat,
    exists: (key) => Effect.map(manifests.get(key), Option.isSome),
    delete: (key) => counted("delete")(manifests.delete(key)),
    list,
    stream: (options) =>
      Stream.paginate(undefined as string | undefined, (cursor) =>
        Effect.map(
          manifests.list({ cursor, limit: 1000, prefix: options?.prefix }),
          (page) =>
            [page.items.map(statOf), page.cursor === undefined ? Option.none() : Option.some(page.cursor)] as const
        )
      ),
    verify
  }
}

/**
 * Reads of at most this many bytes (ranges or whole blobs) fetch their blocks in one `getMany` before emitting, when
 * they span at most `readBatch` blocks.
 */
const SMALL_READ = 1024 * 1024

/** Bodies declared smaller than this are chunked and hashed on the calling thread even with `hashing: "worker"`. */
const INLINE_BELOW = 256 * 1024

let poolInstance: IngestPool.IngestPool | undefined | null = null
/**
 * The ingest workers of the process, started on first use (they do not keep the process alive when idle), and
 * started again when they died: an ingest running on a pool that dies fails with a StorageError, the next one gets
 * fresh workers.
 */
const sharedPool = (): IngestPool.IngestPool | undefined => {
  if (poolInstance === null || poolInstance?.alive() === false) poolInstance = IngestPool.make()
  return poolInstance
}

const statOf = (s: Manifest.ManifestSummary): BlobStore.BlobStat => ({
  key: s.blobKey,
  size: s.size,
  createdAt: s.createdAt,
  blockCount: s.blockCount,
  chunker: s.chunker,
  attributes: s.attributes
})
