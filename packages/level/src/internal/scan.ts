/**
 * Streams over LevelDB key ranges. A stream opens one iterator (which reads from the implicit snapshot LevelDB
 * takes when it is created, so a stream sees one consistent view), pulls pages of `pageSize` rows, and closes the
 * iterator when the stream ends, fails, or is stopped early.
 */
import type { StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as LevelDatabase from "../LevelDatabase.ts"

export interface Range {
  readonly gt?: Uint8Array | undefined
  readonly gte?: Uint8Array | undefined
  readonly lt?: Uint8Array | undefined
  readonly lte?: Uint8Array | undefined
  readonly reverse?: boolean | undefined
  readonly limit?: number | undefined
  /** An explicit LevelDB snapshot to read from. */
  readonly snapshot?: unknown
}

const clean = (range: Range): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(range)) if (v !== undefined) out[k] = v
  return out
}

/**
 * The rows of `range`, page by page, each decoded with `decode`; a row that does not decode (`undefined`) fails the
 * stream with `onBad(key)`.
 */
export const rows = <A>(
  database: LevelDatabase.LevelDatabase,
  operation: string,
  range: Range,
  decode: (key: Uint8Array, value: Uint8Array) => A | undefined,
  onBad: (key: Uint8Array) => StorageError.StorageError,
  pageSize = 1024
): Stream.Stream<A, StorageError.StorageError> =>
  Stream.unwrap(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => database.db.iterator(clean(range))),
        (it) => Effect.promise(() => it.close().catch(() => undefined))
      ),
      (it) =>
        Stream.paginate(0, () =>
          Effect.flatMap(
            database.use(operation, () => it.nextv(pageSize)),
            (page) => {
              const out: Array<A> = []
              for (const [k, v] of page) {
                const a = decode(k, v)
                if (a === undefined) return Effect.fail(onBad(k))
                out.push(a)
              }
              // nextv may return fewer rows than asked for (it caps a page by bytes); only an empty page ends the range
              return Effect.succeed([out, page.length === 0 ? Option.none() : Option.some(0)] as const)
            }
          )
        )
    )
  )

/** One page of rows (at most `limit`), read at once. */
export const page = (
  database: LevelDatabase.LevelDatabase,
  operation: string,
  range: Range
): Effect.Effect<ReadonlyArray<readonly [Uint8Array, Uint8Array]>, StorageError.StorageError> =>
  database.use(operation, () => database.db.iterator(clean(range)).all())
