/**
 * @graviton/core — the pure model: content keys, hashing, byte ranges, chunking, manifest and frame codecs.
 *
 * @since 0.1.0
 */
export * as BinaryKey from "./BinaryKey.ts"
export * as Chunker from "./Chunker.ts"
export * as Frame from "./Frame.ts"
export * as HashAlgorithm from "./HashAlgorithm.ts"
export * as Hashing from "./Hashing.ts"
export * as HttpRange from "./HttpRange.ts"
export * as Manifest from "./Manifest.ts"
export * as RangeSet from "./RangeSet.ts"
export * as Span from "./Span.ts"
