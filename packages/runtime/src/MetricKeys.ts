/**
 * The names, kinds and label sets of every metric Graviton records. Labels are bounded by construction: only the
 * names in {@link LabelName} are allowed, and values come from code (port, operation, outcome, reason), never from
 * user data such as keys, tenants or file names.
 *
 * @since 0.1.0
 */

/** The only label names a Graviton metric may carry. */
export type LabelName = "backend" | "port" | "operation" | "outcome" | "reason" | "result" | "queue" | "kind" | "phase"

export type Labels = Partial<Record<LabelName, string>>

export interface CounterKey {
  readonly kind: "counter"
  readonly name: string
  readonly description: string
}
export interface GaugeKey {
  readonly kind: "gauge"
  readonly name: string
  readonly description: string
}
export interface HistogramKey {
  readonly kind: "histogram"
  readonly name: string
  readonly description: string
  /** Upper bounds of the buckets, ascending. */
  readonly boundaries: ReadonlyArray<number>
}
export type MetricKey = CounterKey | GaugeKey | HistogramKey

export const counter = (name: string, description: string): CounterKey => ({ kind: "counter", name, description })
export const gauge = (name: string, description: string): GaugeKey => ({ kind: "gauge", name, description })
export const histogram = (name: string, description: string, boundaries: ReadonlyArray<number>): HistogramKey => ({
  kind: "histogram",
  name,
  description,
  boundaries
})

/** Seconds buckets from 0.5 ms to ~65 s. */
export const durationBoundaries: ReadonlyArray<number> = Array.from({ length: 18 }, (_, i) => 0.0005 * 2 ** i)

/** Byte-size buckets from 1 KiB to 4 GiB. */
export const sizeBoundaries: ReadonlyArray<number> = Array.from({ length: 12 }, (_, i) => 1024 * 4 ** i)

// ----- blobs (CAS engine) -----
export const blobOperations = counter("graviton_blob_operations_total", "Blob operations by operation and outcome")
export const bytesIngested = counter("graviton_bytes_ingested_total", "Logical bytes accepted by blob ingest")
export const bytesServed = counter("graviton_bytes_served_total", "Logical bytes returned by blob reads")
export const freshBlocks = counter("graviton_fresh_blocks_total", "Blocks written because they were new")
export const duplicateBlocks = counter("graviton_duplicate_blocks_total", "Blocks skipped because they were present")
export const freshBytes = counter("graviton_fresh_bytes_total", "Logical bytes of blocks written because they were new")
export const duplicateBytes = counter("graviton_duplicate_bytes_total", "Logical bytes deduplicated")
export const storedBytes = counter("graviton_stored_bytes_total", "Bytes written to block storage after compression")
export const blobSize = histogram("graviton_blob_size_bytes", "Size of ingested blobs", sizeBoundaries)

// ----- ports (every decorated port) -----
export const portOperations = counter(
  "graviton_port_operations_total",
  "Port operations by port, operation and outcome (ok, error, interrupted)"
)
export const backendFailures = counter(
  "graviton_backend_failures_total",
  "Failed port operations by port, operation and error reason"
)
export const operationDuration = histogram(
  "graviton_operation_duration_seconds",
  "Duration of port operations",
  durationBoundaries
)
export const inflight = gauge("graviton_inflight_operations", "Port operations in flight")
export const retries = counter("graviton_retries_total", "Retried port operations")
export const cacheRequests = counter("graviton_cache_requests_total", "Cache lookups by port and result (hit, miss)")
export const cacheBytes = gauge("graviton_cache_bytes", "Bytes held by a cache")
export const queueDepth = gauge("graviton_queue_depth", "Items waiting in an internal queue")

// ----- garbage collection, retention, uploads -----
export const gcBlocksScanned = counter("graviton_gc_blocks_scanned_total", "Blocks examined by GC sweeps")
export const gcBlocksDeleted = counter("graviton_gc_blocks_deleted_total", "Blocks deleted by GC sweeps")
export const gcBytesDeleted = counter("graviton_gc_bytes_deleted_total", "Stored bytes reclaimed by GC sweeps")
export const retentionDeleted = counter("graviton_retention_deleted_total", "Blobs deleted by the retention sweeper")
export const uploadsActive = gauge("graviton_uploads_active", "Resumable upload sessions open")
export const constraintRejections = counter(
  "graviton_constraint_rejections_total",
  "Requests rejected by a constraint policy, by reason"
)
