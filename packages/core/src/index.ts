/**
 * @graviton/core — the pure model: content keys, hashing, byte ranges, chunking, manifest and frame codecs.
 *
 * @since 0.1.0
 */
export * as BinaryKey from "./BinaryKey.ts"
export * as HashAlgorithm from "./HashAlgorithm.ts"
export * as Hashing from "./Hashing.ts"
