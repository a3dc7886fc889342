/**
 * The entries of a manifest being ingested. Kept as objects up to `spillAfter` entries; beyond that (when a
 * SpillPolicy is available) they are written through the core manifest encoder into a SpillBuffer — which itself
 * moves to a temp file past its byte threshold — and streamed back through the validating decoder at commit time.
 * So an ingest's memory does not grow with the number of blocks, and the spill file is deleted with the scope.
 */
import { type BinaryKey, Manifest } from "@graviton/core"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SpillPolicy from "../SpillPolicy.ts"
import * as StorageError from "../StorageError.ts"

export interface ManifestBuffer {
  readonly add: (entries: ReadonlyArray<Manifest.ManifestEntry>) => Effect.Effect<void, StorageError.StorageError>
  readonly count: () => number
  /** The entries, in order; call once, after the last `add`. */
  readonly entries: (blobKey: BinaryKey.BinaryKey) => Stream.Stream<Manifest.ManifestEntry, StorageError.StorageError>
}

const invalid = (e: Manifest.InvalidManifest) =>
  StorageError.invalidArgument("BlobStore.put", { message: e.message, cause: e })

export const make = (
  header: Manifest.ManifestHeader,
  spill: SpillPolicy.SpillPolicy | undefined,
  spillAfter: number
): Effect.Effect<ManifestBuffer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const held: Array<Manifest.ManifestEntry> = []
    let count = 0
    let spilled: { readonly buffer: SpillPolicy.SpillBuffer; readonly encoder: Manifest.Encoder } | undefined
    const buffer = spill === undefined ? undefined : yield* spill.buffer()

    const encodeInto = (
      target: { readonly buffer: SpillPolicy.SpillBuffer; readonly encoder: Manifest.Encoder },
      entries: ReadonlyArray<Manifest.ManifestEntry>
    ) => {
      const r = target.encoder.entries(entries.map((e) => e.blockKey))
      return Result.isSuccess(r) ? target.buffer.append(r.success) : Effect.fail(invalid(r.failure))
    }

    const add = (entries: ReadonlyArray<Manifest.ManifestEntry>): Effect.Effect<void, StorageError.StorageError> =>
      Effect.suspend(() => {
        count += entries.length
        if (spilled !== undefined) return encodeInto(spilled, entries)
        for (const e of entries) held.push(e)
        if (buffer === undefined || held.length <= spillAfter) return Effect.void
        const encoder = Manifest.makeEncoder()
        const begun = encoder.begin(header)
        if (Result.isFailure(begun)) return Effect.fail(invalid(begun.failure))
        const target = { buffer, encoder }
        spilled = target
        const moved = held.splice(0, held.length)
        return Effect.andThen(buffer.append(begun.success), encodeInto(target, moved))
      })

    const entries = (blobKey: BinaryKey.BinaryKey) =>
      Stream.unwrap(
        Effect.suspend(() => {
          if (spilled === undefined) return Effect.succeed(Stream.fromIterable(held))
          const { buffer: b, encoder } = spilled
          const end = encoder.end(blobKey)
          if (Result.isFailure(end)) return Effect.fail(invalid(end.failure))
          return Effect.as(
            b.append(end.success),
            Manifest.decodeStream(b.read()).pipe(
              Stream.mapError((e) =>
                StorageError.isStorageError(e)
                  ? e
                  : StorageError.corrupt("BlobStore.put", { message: `spilled manifest: ${e.message}`, cause: e })
              )
            )
          )
        })
      )

    return { add, count: () => count, entries }
  })
