/**
 * Garbage collection of blocks no manifest references: mark (`ManifestStore.referencedBlocks`) and sweep
 * (`BlockStore.inventory`), dry-run unless `apply` is set.
 *
 * Safe against concurrent ingest: the cutoff is taken before the mark phase, bounded by the oldest
 * {@link IngestLeases.IngestLeases} lease, and every delete is conditional on the block not having been touched
 * since the cutoff. See `IngestLeases` for the argument.
 *
 * Memory: the mark set holds one string per distinct referenced block (~100 bytes each).
 *
 * @since 0.1.0
 */
import { BinaryKey } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BlockStore from "./BlockStore.ts"
import * as IngestLeases from "./IngestLeases.ts"
import * as ManifestStore from "./ManifestStore.ts"
import * as MetricKeys from "./MetricKeys.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import type * as StorageError from "./StorageError.ts"

export interface Options {
  /** Delete candidates (default false: report only). */
  readonly apply?: boolean | undefined
  /** Only blocks untouched for at least this long are candidates (default 1 hour). */
  readonly minAge?: Duration.Input | undefined
  /** Clock skew allowance between processes, subtracted from the oldest lease (default 5 seconds). */
  readonly skew?: Duration.Input | undefined
  /** Inventory page size (default 1000). */
  readonly pageSize?: number | undefined
  /** Concurrent deletes (default 8). */
  readonly concurrency?: number | undefined
}

export const Report = Schema.Struct({
  dryRun: Schema.Boolean,
  /** Blocks in the inventory. */
  scanned: Schema.Number,
  /** Distinct blocks referenced by manifests. */
  referenced: Schema.Number,
  /** Unreferenced blocks older than the cutoff. */
  candidates: Schema.Number,
  /** Stored bytes of the candidates. */
  candidateBytes: Schema.Number,
  /** Blocks actually deleted (0 on a dry run). */
  deleted: Schema.Number,
  /** Stored bytes reclaimed. */
  deletedBytes: Schema.Number,
  /** Candidates a concurrent ingest touched before they could be deleted. */
  skipped: Schema.Number,
  /** Unreferenced blocks spared because they are younger than the cutoff. */
  tooYoung: Schema.Number,
  /** The cutoff used (epoch ms). */
  cutoff: Schema.Number,
  durationMs: Schema.Number
}).annotate({ identifier: "GcReport" })
export interface Report extends Schema.Schema.Type<typeof Report> {}

/** Runs one mark-and-sweep pass over the stores in context. */
export const run = (
  options: Options = {}
): Effect.Effect<
  Report,
  StorageError.StorageError,
  BlockStore.BlockStore | ManifestStore.ManifestStore | IngestLeases.IngestLeases
> =>
  Effect.gen(function* () {
    const blocks = yield* BlockStore.BlockStore
    const manifests = yield* ManifestStore.ManifestStore
    const leases = yield* IngestLeases.IngestLeases
    const registry = yield* Effect.serviceOption(MetricsRegistry.MetricsRegistry)
    const started = yield* Clock.currentTimeMillis
    const minAge = Duration.toMillis(Duration.fromInputUnsafe(options.minAge ?? "1 hour"))
    const skew = Duration.toMillis(Duration.fromInputUnsafe(options.skew ?? "5 seconds"))
    const oldest = yield* leases.oldest
    const cutoff = Math.min(started - minAge, oldest === undefined ? Number.POSITIVE_INFINITY : oldest - skew)
    const apply = options.apply === true

    // mark
    const marked = new Set<string>()
    yield* Stream.runForEach(manifests.referencedBlocks, (k) =>
      Effect.sync(() => {
        marked.add(BinaryKey.format(k))
      })
    )

    // sweep
    let scanned = 0
    let candidates = 0
    let candidateBytes = 0
    let deleted = 0
    let deletedBytes = 0
    let skipped = 0
    let tooYoung = 0
    let cursor: string | undefined
    do {
      const page: BlockStore.InventoryPage = yield* blocks.inventory({ cursor, limit: options.pageSize ?? 1000 })
      const doomed: Array<BlockStore.BlockInfo> = []
      for (const item of page.items) {
        scanned++
        if (marked.has(BinaryKey.format(item.key))) continue
        if (item.touchedAt >= cutoff) {
          tooYoung++
          continue
        }
        candidates++
        candidateBytes += item.storedSize
        doomed.push(item)
      }
      if (apply && doomed.length > 0) {
        const results = yield* Effect.forEach(doomed, (item) => blocks.delete(item.key, { ifUntouchedSince: cutoff }), {
          concurrency: options.concurrency ?? 8
        })
        for (let i = 0; i < doomed.length; i++) {
          if (results[i] === true) {
            deleted++
            deletedBytes += doomed[i]!.storedSize
          } else skipped++
        }
      }
      cursor = page.cursor
    } while (cursor !== undefined)

    if (Option.isSome(registry)) {
      const r = registry.value
      yield* r.increment(MetricKeys.gcBlocksScanned, {}, scanned)
      yield* r.increment(MetricKeys.gcBlocksDeleted, {}, deleted)
      yield* r.increment(MetricKeys.gcBytesDeleted, {}, deletedBytes)
    }
    const finished = yield* Clock.currentTimeMillis
    return {
      dryRun: !apply,
      scanned,
      referenced: marked.size,
      candidates,
      candidateBytes,
      deleted,
      deletedBytes,
      skipped,
      tooYoung,
      cutoff: Number.isFinite(cutoff) ? cutoff : started,
      durationMs: finished - started
    }
  })
