/**
 * Applies the {@link RetentionPolicy.RetentionPolicy} to every committed blob: blobs whose retention period has
 * elapsed are deleted (their blocks are then reclaimed by `Gc`), blobs due for archiving are reported. Dry-run
 * unless `apply` is set.
 *
 * @since 0.1.0
 */
import { BinaryKey } from "@graviton/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BlobStore from "./BlobStore.ts"
import * as MetricKeys from "./MetricKeys.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import * as RetentionPolicy from "./RetentionPolicy.ts"
import type * as StorageError from "./StorageError.ts"

export const Report = Schema.Struct({
  dryRun: Schema.Boolean,
  scanned: Schema.Number,
  /** Blobs whose retention has elapsed. */
  expired: Schema.Number,
  /** Bytes of the expired blobs. */
  expiredBytes: Schema.Number,
  /** Blobs deleted (0 on a dry run). */
  deleted: Schema.Number,
  /** Blobs that should move to colder storage. */
  archivable: Schema.Number,
  /** Up to 100 of the expired keys, for the operator. */
  sample: Schema.Array(Schema.String)
}).annotate({ identifier: "RetentionReport" })
export interface Report extends Schema.Schema.Type<typeof Report> {}

export const run = (
  options: { readonly apply?: boolean | undefined } = {}
): Effect.Effect<Report, StorageError.StorageError, BlobStore.BlobStore | RetentionPolicy.RetentionPolicy> =>
  Effect.gen(function* () {
    const blobs = yield* BlobStore.BlobStore
    const policy = yield* RetentionPolicy.RetentionPolicy
    const registry = yield* Effect.serviceOption(MetricsRegistry.MetricsRegistry)
    const now = yield* Clock.currentTimeMillis
    const apply = options.apply === true
    let scanned = 0
    let expired = 0
    let expiredBytes = 0
    let deleted = 0
    let archivable = 0
    const sample: Array<string> = []
    yield* Stream.runForEach(blobs.stream(), (stat) =>
      Effect.gen(function* () {
        scanned++
        const info = { key: BinaryKey.format(stat.key), createdAt: stat.createdAt, attributes: stat.attributes }
        if (policy.canDelete(info, now)) {
          expired++
          expiredBytes += stat.size
          if (sample.length < 100) sample.push(info.key)
          if (apply && (yield* blobs.delete(stat.key))) deleted++
        } else if (policy.shouldArchive(info, now)) archivable++
      })
    )
    if (Option.isSome(registry) && deleted > 0)
      yield* registry.value.increment(MetricKeys.retentionDeleted, {}, deleted)
    return { dryRun: !apply, scanned, expired, expiredBytes, deleted, archivable, sample }
  })
