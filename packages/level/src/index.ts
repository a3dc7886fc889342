/**
 * @graviton/level — the embedded default backend: every Graviton port on one classic-level (LevelDB) database per
 * data directory, with block bytes in append-only pack files indexed by LevelDB.
 *
 * @since 0.1.0
 */
export * as LevelBlockStore from "./LevelBlockStore.ts"
export * as LevelDatabase from "./LevelDatabase.ts"
export * as LevelError from "./LevelError.ts"
export * as LevelKeyValueStore from "./LevelKeyValueStore.ts"
export * as LevelLayers from "./LevelLayers.ts"
export * as LevelManifestStore from "./LevelManifestStore.ts"
export * as LevelMetrics from "./LevelMetrics.ts"
export * as LevelObjectStore from "./LevelObjectStore.ts"
export * as LevelReplicaIndex from "./LevelReplicaIndex.ts"
export * as LevelSchemaStore from "./LevelSchemaStore.ts"
export * as LevelStore from "./LevelStore.ts"
