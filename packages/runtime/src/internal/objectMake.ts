/**
 * `make` for the object stores: wraps backend primitives with the shared argument checks and fills optional
 * features with `Unsupported` failures.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as ImmutableObjectStore from "../ImmutableObjectStore.ts"
import type * as MutableObjectStore from "../MutableObjectStore.ts"
import * as StorageError from "../StorageError.ts"
import * as Checks from "./objectChecks.ts"

type Immutable = ImmutableObjectStore.ImmutableObjectStore
type Mutable = MutableObjectStore.MutableObjectStore

export interface ImmutablePrimitives {
  readonly head: Immutable["head"]
  readonly list: Immutable["list"]
  readonly get: Immutable["get"]
  readonly getRange?: Immutable["getRange"] | undefined
}

export interface MutablePrimitives extends ImmutablePrimitives {
  readonly put: Mutable["put"]
  readonly delete: Mutable["delete"]
  readonly copy: Mutable["copy"]
  readonly putRange?: Mutable["putRange"] | undefined
  readonly startMultipart?: Mutable["startMultipart"] | undefined
  readonly uploadPart?: Mutable["uploadPart"] | undefined
  readonly listParts?: Mutable["listParts"] | undefined
  readonly completeMultipart?: Mutable["completeMultipart"] | undefined
  readonly abortMultipart?: Mutable["abortMultipart"] | undefined
  readonly listMultipart?: Mutable["listMultipart"] | undefined
  /** Whether `put` honours `ifNoneMatch` / `ifMatch` (default true); when false they fail `Unsupported`. */
  readonly conditionalPut?: boolean | undefined
}

const R = "ImmutableObjectStore"
const W = "MutableObjectStore"

const invalid = (operation: string, message: string, key?: string) =>
  Effect.fail(StorageError.invalidArgument(operation, key === undefined ? { message } : { key, message }))

const unsupported = (operation: string, what: string) =>
  Effect.fail(StorageError.unsupported(operation, { message: `this backend does not support ${what}` }))

/** Collects a download into one array. */
const collect = (s: Stream.Stream<Uint8Array, StorageError.StorageError>) =>
  Effect.map(
    Stream.runFold(
      s,
      () => ({ parts: [] as Array<Uint8Array>, size: 0 }),
      (acc, chunk) => {
        acc.parts.push(chunk)
        acc.size += chunk.byteLength
        return acc
      }
    ),
    ({ parts, size }) => (parts.length === 1 ? parts[0]! : Checks.concatBytes(parts, size))
  )

export const makeImmutable = (p: ImmutablePrimitives): Immutable => {
  const getRange = p.getRange ?? ((name, span) => collect(p.get(name, span)))
  return {
    head: (name) => Effect.flatMap(Checks.validateName(`${R}.head`, name), () => p.head(name)),
    list: (options) => Effect.flatMap(Checks.decodeListOptions(`${R}.list`, options), () => p.list(options)),
    get: (name, range) =>
      Stream.unwrap(
        Effect.map(
          Effect.andThen(Checks.validateName(`${R}.get`, name), Checks.validateRange(`${R}.get`, name, range)),
          () => p.get(name, range)
        )
      ),
    getRange: (name, span) =>
      Effect.suspend(() => {
        const op = `${R}.getRange`
        if (span === undefined) return invalid(op, "getRange needs a span", name)
        return Effect.andThen(
          Effect.andThen(Checks.validateName(op, name), Checks.validateRange(op, name, span)),
          span.end - span.start > Checks.maxGetRangeSize
            ? invalid(op, `getRange returns at most ${Checks.maxGetRangeSize} bytes; use get for more`, name)
            : Effect.suspend(() => getRange(name, span))
        )
      })
  }
}

export const makeMutable = (p: MutablePrimitives): Mutable => {
  const reads = makeImmutable(p)
  const conditional = p.conditionalPut !== false
  return {
    ...reads,
    put: (name, body, options) =>
      Effect.suspend(() => {
        const op = `${W}.put`
        const checks = Effect.andThen(Checks.validateName(op, name), Checks.validateAttributes(op, name, options))
        const inm = options?.ifNoneMatch
        const im = options?.ifMatch
        if (inm !== undefined && inm !== "*") return invalid(op, 'ifNoneMatch must be "*"', name)
        if (im !== undefined && (typeof im !== "string" || Checks.normalizeEtag(im).length === 0)) {
          return invalid(op, "ifMatch must be a non-empty ETag", name)
        }
        if (inm !== undefined && im !== undefined) return invalid(op, "give ifNoneMatch or ifMatch, not both", name)
        if (!conditional && (inm !== undefined || im !== undefined)) return unsupported(op, "conditional puts")
        return Effect.flatMap(checks, () => p.put(name, body, options))
      }),
    delete: (name) => Effect.flatMap(Checks.validateName(`${W}.delete`, name), () => p.delete(name)),
    copy: (from, to) =>
      Effect.flatMap(Effect.andThen(Checks.validateName(`${W}.copy`, from), Checks.validateName(`${W}.copy`, to)), () =>
        p.copy(from, to)
      ),
    putRange: (name, offset, bytes) => {
      const op = `${W}.putRange`
      const impl = p.putRange
      if (impl === undefined) return unsupported(op, "putRange")
      return Effect.suspend(() => {
        if (!(bytes instanceof Uint8Array)) return invalid(op, "putRange needs a Uint8Array", name)
        return Effect.andThen(
          Effect.andThen(Checks.validateName(op, name), Checks.validateOffset(op, name, "an offset", offset)),
          Number.isSafeInteger(offset + bytes.byteLength)
            ? Effect.suspend(() => impl(name, offset, bytes))
            : invalid(op, "offset plus length is too large", name)
        )
      })
    },
    startMultipart: (name, options) => {
      const op = `${W}.startMultipart`
      const impl = p.startMultipart
      if (impl === undefined) return unsupported(op, "multipart uploads")
      return Effect.flatMap(
        Effect.andThen(Checks.validateName(op, name), Checks.validateAttributes(op, name, options)),
        () => impl(name, options)
      )
    },
    uploadPart: (uploadId, partNumber, body) => {
      const op = `${W}.uploadPart`
      const impl = p.uploadPart
      if (impl === undefined) return unsupported(op, "multipart uploads")
      return Effect.suspend(() => {
        if (!(body instanceof Uint8Array)) return invalid(op, "a part body must be a Uint8Array")
        return Effect.flatMap(
          Effect.andThen(Checks.validateUploadId(op, uploadId), Checks.validatePartNumber(op, uploadId, partNumber)),
          () => impl(uploadId, partNumber, body)
        )
      })
    },
    listParts: (uploadId) => {
      const op = `${W}.listParts`
      const impl = p.listParts
      if (impl === undefined) return unsupported(op, "multipart uploads")
      return Effect.flatMap(Checks.validateUploadId(op, uploadId), () => impl(uploadId))
    },
    completeMultipart: (uploadId, parts) => {
      const op = `${W}.completeMultipart`
      const impl = p.completeMultipart
      if (impl === undefined) return unsupported(op, "multipart uploads")
      return Effect.flatMap(Checks.validateUploadId(op, uploadId), () => {
        if (!Array.isArray(parts) || parts.length === 0) return invalid(op, "completion needs at least one part")
        let previous = 0
        for (const part of parts as ReadonlyArray<MutableObjectStore.CompletedPart>) {
          const n = part?.partNumber
          if (!Number.isInteger(n) || n < 1 || n > Checks.maxPartNumber) {
            return invalid(op, `a part number must be an integer 1..${Checks.maxPartNumber}, got ${n}`)
          }
          if (n <= previous)
            return invalid(op, `parts must be strictly ascending by part number (${n} after ${previous})`)
          if (typeof part.etag !== "string") return invalid(op, `part ${n} needs an ETag`)
          previous = n
        }
        return impl(uploadId, parts)
      })
    },
    abortMultipart: (uploadId) => {
      const op = `${W}.abortMultipart`
      const impl = p.abortMultipart
      if (impl === undefined) return unsupported(op, "multipart uploads")
      return Effect.flatMap(Checks.validateUploadId(op, uploadId), () => impl(uploadId))
    },
    listMultipart: (options) => {
      const op = `${W}.listMultipart`
      const impl = p.listMultipart
      if (impl === undefined) return unsupported(op, "listing multipart uploads")
      return Effect.flatMap(Checks.decodeListOptions(op, options), () => impl(options))
    }
  }
}

/** The read-only members of a mutable store. */
export const toImmutable = (store: Mutable): Immutable => ({
  head: store.head,
  list: store.list,
  get: store.get,
  getRange: store.getRange
})
