/**
 * @graviton/runtime/testing — contract suites every backend runs, plus generators.
 *
 * @since 0.1.0
 */
export * as BlockStoreSuite from "./BlockStoreSuite.ts"
export * as Generators from "./Generators.ts"
