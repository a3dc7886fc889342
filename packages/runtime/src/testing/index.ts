/**
 * @graviton/runtime/testing — contract suites every backend runs, plus generators.
 *
 * @since 0.1.0
 */

export * as Assertions from "./Assertions.ts"
export * as BlobStoreSuite from "./BlobStoreSuite.ts"
export * as BlockStoreSuite from "./BlockStoreSuite.ts"
export * as CrashLaws from "./CrashLaws.ts"
export * as Generators from "./Generators.ts"
export * as KeyValueStoreSuite from "./KeyValueStoreSuite.ts"
export * as ManifestStoreSuite from "./ManifestStoreSuite.ts"
export * as ObjectStoreSuite from "./ObjectStoreSuite.ts"
export * as RangeTrackerSuite from "./RangeTrackerSuite.ts"
export * as ReplicaIndexSuite from "./ReplicaIndexSuite.ts"
export * as SchemaStoreSuite from "./SchemaStoreSuite.ts"
