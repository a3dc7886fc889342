/**
 * @graviton/runtime — storage ports as Effect services, typed errors, policies, metrics, decorators and the CAS
 * engine.
 *
 * @since 0.1.0
 */
export * as BlobStore from "./BlobStore.ts"
export * as BlockStore from "./BlockStore.ts"
export * as CasEngine from "./CasEngine.ts"
export * as ConstraintPolicy from "./ConstraintPolicy.ts"
export * as ConstraintViolation from "./ConstraintViolation.ts"
export * as Decorators from "./Decorators.ts"
export * as FaultInjection from "./FaultInjection.ts"
export * as Gc from "./Gc.ts"
export * as ImmutableObjectStore from "./ImmutableObjectStore.ts"
export * as IngestLeases from "./IngestLeases.ts"
export * as KeyValueStore from "./KeyValueStore.ts"
export * as ManifestStore from "./ManifestStore.ts"
export * as MetricKeys from "./MetricKeys.ts"
export * as MetricsRegistry from "./MetricsRegistry.ts"
export * as MutableObjectStore from "./MutableObjectStore.ts"
export * as Quota from "./Quota.ts"
export * as RangeTracker from "./RangeTracker.ts"
export * as ReplicaIndex from "./ReplicaIndex.ts"
export * as ReplicationPolicy from "./ReplicationPolicy.ts"
export * as RetentionPolicy from "./RetentionPolicy.ts"
export * as SchemaStore from "./SchemaStore.ts"
export * as SemaphoreLimit from "./SemaphoreLimit.ts"
export * as SpillPolicy from "./SpillPolicy.ts"
export * as StorageError from "./StorageError.ts"
export * as StorePolicy from "./StorePolicy.ts"
export * as Throttle from "./Throttle.ts"
export * as Uploads from "./Uploads.ts"
