/**
 * @graviton/runtime — storage ports as Effect services, typed errors, policies, metrics, decorators and the CAS
 * engine.
 *
 * @since 0.1.0
 */
export * as BlockStore from "./BlockStore.ts"
export * as ConstraintViolation from "./ConstraintViolation.ts"
export * as Decorators from "./Decorators.ts"
export * as FaultInjection from "./FaultInjection.ts"
export * as MetricKeys from "./MetricKeys.ts"
export * as MetricsRegistry from "./MetricsRegistry.ts"
export * as StorageError from "./StorageError.ts"
