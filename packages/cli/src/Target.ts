/**
 * What the CLI operates on: the store directly (a local runtime over the configured backend) or a running server
 * (`--url`). Both speak the same interface, so every command works either way.
 *
 * @since 0.1.0
 */
import type { BinaryKey, Span } from "@graviton/core"
import {
  type BlobStore,
  type ConstraintViolation,
  type Gc,
  Graviton,
  type StorageError,
  type Uploads
} from "@graviton/runtime"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"

export type Failure = StorageError.StorageError | ConstraintViolation.ConstraintViolation

export interface Target {
  /** Where the commands go, for messages: a data dir or a URL. */
  readonly describe: string
  readonly put: <E>(
    body: Stream.Stream<Uint8Array, E>,
    options: BlobStore.PutOptions
  ) => Effect.Effect<BlobStore.BlobWriteResult, Failure | E>
  readonly get: (key: BinaryKey.BinaryKey, range?: Span.Span) => Stream.Stream<Uint8Array, Failure>
  readonly stat: (key: BinaryKey.BinaryKey) => Effect.Effect<Option.Option<BlobStore.BlobStat>, Failure>
  readonly list: (options: BlobStore.ListOptions) => Effect.Effect<BlobStore.ListPage, Failure>
  readonly delete: (key: BinaryKey.BinaryKey) => Effect.Effect<boolean, Failure>
  readonly verify: (key: BinaryKey.BinaryKey) => Effect.Effect<BlobStore.VerifyReport, Failure>
  readonly gc: (options: Gc.Options) => Effect.Effect<Gc.Report, Failure>
  readonly listUploads: Effect.Effect<ReadonlyArray<Uploads.UploadSession>, Failure>
  readonly cancelUpload: (id: string) => Effect.Effect<boolean, Failure>
}

export const Target: Context.Service<Target, Target> = Context.Service("@graviton/cli/Target")

/** A target over a local runtime (the Graviton facade in context). */
export const local = (describe: string): Layer.Layer<Target, never, Graviton.Graviton> =>
  Layer.effect(
    Target,
    Effect.map(Graviton.Graviton, (g: Graviton.Graviton) =>
      Target.of({
        describe,
        put: (body, options) => g.blobs.put(body, options),
        get: (key, range) => g.blobs.get(key, range),
        stat: (key) => g.blobs.stat(key),
        list: (options) => g.blobs.list(options),
        delete: (key) => g.blobs.delete(key),
        verify: (key) => g.blobs.verify(key),
        gc: (options) => g.gc(options),
        listUploads: Effect.gen(function* () {
          const out: Array<Uploads.UploadSession> = []
          let cursor: string | undefined
          do {
            const page: Uploads.ListPage = yield* g.uploads.list({ cursor, limit: 1000 })
            out.push(...page.sessions)
            cursor = page.cursor
          } while (cursor !== undefined)
          return out
        }),
        cancelUpload: (id) => g.uploads.cancel(id)
      })
    )
  )
