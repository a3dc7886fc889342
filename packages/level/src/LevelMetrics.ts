/**
 * Backend metrics of the level store, recorded into the {@link MetricsRegistry.MetricsRegistry} when one is in the
 * context of `LevelLayers.layer` (and silently skipped otherwise). Labels stay bounded: `kind` is one of a fixed set
 * of batch kinds, `phase` one of a fixed set of maintenance phases; never keys or file names.
 *
 * | metric | kind | what |
 * | --- | --- | --- |
 * | `graviton_level_batch_rows` | histogram `{kind}` | rows per LevelDB write batch (`block`, `touch`, `manifest`, `delete`, `compaction`, `kv`) |
 * | `graviton_level_batch_bytes` | histogram `{kind}` | bytes of keys + values per LevelDB write batch |
 * | `graviton_level_pack_appends_total` | counter | records appended to pack files |
 * | `graviton_level_pack_bytes_written_total` | counter | bytes appended to pack files (headers included) |
 * | `graviton_level_pack_syncs_total` | counter | fdatasyncs of the active pack (group-committed) |
 * | `graviton_level_pack_sync_seconds` | histogram | duration of a pack sync, including the writes it waited for |
 * | `graviton_level_pack_rolls_total` | counter | packs sealed because they reached `maxPackSize` |
 * | `graviton_level_compactions_total` | counter | packs rewritten or dropped by compaction |
 * | `graviton_level_compaction_bytes_copied_total` | counter | live record bytes copied out of compacted packs |
 * | `graviton_level_compaction_bytes_reclaimed_total` | counter | pack bytes returned to the file system |
 * | `graviton_level_recovery_truncated_bytes_total` | counter | torn pack tail bytes cut on open |
 * | `graviton_level_pack_files` | gauge | pack files on disk |
 * | `graviton_level_pack_bytes` | gauge | bytes of all pack files |
 * | `graviton_level_pack_dead_bytes` | gauge | bytes of deleted or orphaned records still in packs |
 * | `graviton_level_index_bytes` | gauge | approximate bytes of the LevelDB database on disk |
 *
 * @since 0.1.0
 */
import { MetricKeys, type MetricsRegistry } from "@graviton/runtime"
import * as Effect from "effect/Effect"

const rowBoundaries: ReadonlyArray<number> = Array.from({ length: 14 }, (_, i) => 4 ** i / 4).filter((n) => n >= 1)

export const batchRows = MetricKeys.histogram(
  "graviton_level_batch_rows",
  "Rows per LevelDB write batch, by kind",
  rowBoundaries
)
export const batchBytes = MetricKeys.histogram(
  "graviton_level_batch_bytes",
  "Key and value bytes per LevelDB write batch, by kind",
  MetricKeys.sizeBoundaries
)
export const packAppends = MetricKeys.counter("graviton_level_pack_appends_total", "Records appended to pack files")
export const packBytesWritten = MetricKeys.counter(
  "graviton_level_pack_bytes_written_total",
  "Bytes appended to pack files, record headers included"
)
export const packSyncs = MetricKeys.counter("graviton_level_pack_syncs_total", "Group-committed fdatasyncs of packs")
export const packSyncSeconds = MetricKeys.histogram(
  "graviton_level_pack_sync_seconds",
  "Duration of a pack sync, including the in-flight writes it waited for",
  MetricKeys.durationBoundaries
)
export const packRolls = MetricKeys.counter("graviton_level_pack_rolls_total", "Packs sealed at maxPackSize")
export const compactions = MetricKeys.counter("graviton_level_compactions_total", "Packs rewritten or dropped")
export const compactionBytesCopied = MetricKeys.counter(
  "graviton_level_compaction_bytes_copied_total",
  "Live record bytes copied out of compacted packs"
)
export const compactionBytesReclaimed = MetricKeys.counter(
  "graviton_level_compaction_bytes_reclaimed_total",
  "Pack bytes returned to the file system by compaction"
)
export const recoveryTruncatedBytes = MetricKeys.counter(
  "graviton_level_recovery_truncated_bytes_total",
  "Torn pack tail bytes cut when the store was opened"
)
export const packFiles = MetricKeys.gauge("graviton_level_pack_files", "Pack files on disk")
export const packBytes = MetricKeys.gauge("graviton_level_pack_bytes", "Bytes of all pack files")
export const packDeadBytes = MetricKeys.gauge(
  "graviton_level_pack_dead_bytes",
  "Bytes of deleted or orphaned records still held in pack files"
)
export const indexBytes = MetricKeys.gauge("graviton_level_index_bytes", "Approximate LevelDB bytes on disk")

/** Every metric key this backend defines. */
export const all: ReadonlyArray<MetricKeys.MetricKey> = [
  batchRows,
  batchBytes,
  packAppends,
  packBytesWritten,
  packSyncs,
  packSyncSeconds,
  packRolls,
  compactions,
  compactionBytesCopied,
  compactionBytesReclaimed,
  recoveryTruncatedBytes,
  packFiles,
  packBytes,
  packDeadBytes,
  indexBytes
]

/** Batch kinds used as the `kind` label. */
export type BatchKind = "block" | "touch" | "manifest" | "delete" | "compaction" | "kv" | "recovery"

/**
 * A synchronous recorder over an optional registry (metric updates are synchronous effects, so the pack code's
 * callbacks can record without an Effect context). Every method is a no-op without a registry.
 */
export interface Recorder {
  readonly batch: (kind: BatchKind, rows: number, bytes: number) => void
  readonly increment: (key: MetricKeys.CounterKey, by?: number) => void
  readonly set: (key: MetricKeys.GaugeKey, value: number) => void
  readonly observe: (key: MetricKeys.HistogramKey, value: number) => void
}

/** A {@link Recorder} writing into `registry` (or doing nothing when it is undefined). */
export const recorder = (registry: MetricsRegistry.MetricsRegistry | undefined): Recorder => {
  if (registry === undefined) {
    return { batch: () => {}, increment: () => {}, set: () => {}, observe: () => {} }
  }
  return {
    batch: (kind, rows, bytes) => {
      Effect.runSync(registry.observe(batchRows, rows, { kind }))
      Effect.runSync(registry.observe(batchBytes, bytes, { kind }))
    },
    increment: (key, by = 1) => Effect.runSync(registry.increment(key, {}, by)),
    set: (key, value) => Effect.runSync(registry.set(key, value)),
    observe: (key, value) => Effect.runSync(registry.observe(key, value))
  }
}
