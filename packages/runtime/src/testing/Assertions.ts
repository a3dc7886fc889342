/**
 * Assertions shared by the contract suites.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as StorageError from "../StorageError.ts"

/** Runs `eff`, expects it to fail with a {@link StorageError.StorageError} of reason `tag`, and returns the error. */
export const expectReason = <A, E, R>(
  eff: Effect.Effect<A, E, R>,
  tag: StorageError.ReasonTag
): Effect.Effect<StorageError.StorageError, never, R> =>
  Effect.flatMap(Effect.result(eff), (r) => {
    if (r._tag === "Success") return Effect.sync(() => assert.fail(`expected a StorageError(${tag}), got a success`))
    const e = r.failure
    if (!StorageError.isStorageError(e)) {
      return Effect.sync(() => assert.fail(`expected a StorageError(${tag}), got ${String(e)}`))
    }
    return Effect.sync(() => {
      assert.strictEqual(e.reason._tag, tag, e.message)
      return e
    })
  })
