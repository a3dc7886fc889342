/**
 * Shared argument checks, ETag computation and byte-stream helpers for the object stores. Every backend goes through
 * the same checks (via `ImmutableObjectStore.make` / `MutableObjectStore.make`), so they reject the same inputs.
 */
import { createHash, type Hash } from "node:crypto"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as StorageError from "../StorageError.ts"
import * as Cursor from "./cursor.ts"

/** Longest object name, in UTF-8 bytes. */
export const maxNameBytes = 1024
/** Largest chunk a download stream emits. */
export const maxChunkSize = 1024 * 1024
/** Largest page of a listing. */
export const maxListLimit = 1000
/** Highest multipart part number. */
export const maxPartNumber = 10_000
/** Largest span `getRange` buffers. */
export const maxGetRangeSize = 64 * 1024 * 1024
/** Largest total size of user metadata (keys plus values), as S3 allows. */
export const maxMetadataBytes = 2048
/** Longest content type. */
export const maxContentTypeLength = 256
/** Longest multipart upload id a caller may pass. */
export const maxUploadIdLength = 4096

const fail = (operation: string, key: string | undefined, message: string) =>
  Effect.fail(StorageError.invalidArgument(operation, key === undefined ? { message } : { key, message }))

/** What is wrong with an object name, or `undefined` when it is valid. */
export const nameProblem = (name: unknown): string | undefined => {
  if (typeof name !== "string") return "an object name must be a string"
  if (name.length === 0) return "an object name cannot be empty"
  if (!name.isWellFormed()) return "an object name must be well-formed Unicode (no lone surrogates)"
  if (name.includes("\u0000")) return "an object name cannot contain NUL"
  if (name.startsWith("/")) return "an object name cannot start with '/'"
  const bytes = Buffer.byteLength(name, "utf8")
  if (bytes > maxNameBytes) return `an object name is at most ${maxNameBytes} UTF-8 bytes, got ${bytes}`
  return undefined
}

/** A name short enough to quote in an error. */
const quoted = (name: unknown): string | undefined =>
  typeof name === "string" ? (name.length > 200 ? `${name.slice(0, 200)}…` : name) : undefined

/** Fails `InvalidArgument` when `name` is not a valid object name. */
export const validateName = (operation: string, name: string): Effect.Effect<void, StorageError.StorageError> => {
  const problem = nameProblem(name)
  return problem === undefined ? Effect.void : fail(operation, quoted(name), problem)
}

/** A half-open byte range `[start, end)`. */
export interface Span {
  readonly start: number
  readonly end: number
}

/** Fails `InvalidArgument` unless `range` is `0 <= start <= end` with safe integers (the object size is not known). */
export const validateRange = (
  operation: string,
  name: string,
  range: Span | undefined
): Effect.Effect<void, StorageError.StorageError> => {
  if (range === undefined) return Effect.void
  if (typeof range !== "object" || range === null) return fail(operation, quoted(name), "a range must be an object")
  const { start, end } = range
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    return fail(operation, quoted(name), `range bounds must be integers, got [${start}, ${end})`)
  }
  if (start < 0 || end < start) {
    return fail(operation, quoted(name), `a range must satisfy 0 <= start <= end, got [${start}, ${end})`)
  }
  return Effect.void
}

/** The message prefix of the error for a range that does not fit in the object. */
export const rangeOutsideMessage = "range outside the object"

/** Fails `InvalidArgument` when `range` reaches past the end of an object of `size` bytes. */
export const checkRangeWithin = (
  operation: string,
  name: string,
  range: Span | undefined,
  size: number
): Effect.Effect<void, StorageError.StorageError> =>
  range === undefined || range.end <= size
    ? Effect.void
    : fail(operation, quoted(name), `${rangeOutsideMessage}: [${range.start}, ${range.end}) of ${size} bytes`)

/** Whether `error` is the `InvalidArgument` produced by {@link checkRangeWithin}. */
export const isRangeOutside = (error: unknown): boolean =>
  StorageError.hasReason(error, "InvalidArgument") && error.reason.message.startsWith(rangeOutsideMessage)

const metadataKey = /^[a-z0-9][a-z0-9._-]*$/
const printable = /^[\x20-\x7e]*$/

/** What is wrong with user metadata, or `undefined` when it is valid. */
export const metadataProblem = (metadata: unknown): string | undefined => {
  if (metadata === undefined) return undefined
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    return "metadata must be a record of strings"
  }
  let total = 0
  for (const [k, v] of Object.entries(metadata)) {
    if (!metadataKey.test(k)) {
      return `metadata key ${JSON.stringify(k.slice(0, 64))} must be lowercase ASCII letters, digits, '.', '_' or '-'`
    }
    if (typeof v !== "string" || !printable.test(v)) {
      return `metadata value of ${JSON.stringify(k)} must be a printable ASCII string`
    }
    total += k.length + v.length
  }
  if (total > maxMetadataBytes) return `metadata is at most ${maxMetadataBytes} bytes, got ${total}`
  return undefined
}

/** What is wrong with a content type, or `undefined` when it is valid. */
export const contentTypeProblem = (contentType: unknown): string | undefined => {
  if (contentType === undefined) return undefined
  if (
    typeof contentType !== "string" ||
    contentType.length === 0 ||
    contentType.length > maxContentTypeLength ||
    !printable.test(contentType)
  ) {
    return `a content type must be 1..${maxContentTypeLength} printable ASCII characters`
  }
  return undefined
}

/** Fails `InvalidArgument` on a bad content type or metadata. */
export const validateAttributes = (
  operation: string,
  name: string,
  options: { readonly contentType?: string | undefined; readonly metadata?: unknown } | undefined
): Effect.Effect<void, StorageError.StorageError> => {
  const problem = contentTypeProblem(options?.contentType) ?? metadataProblem(options?.metadata)
  return problem === undefined ? Effect.void : fail(operation, quoted(name), problem)
}

/** Fails `InvalidArgument` unless `n` is an integer `0 <= n <= max`. */
export const validateOffset = (
  operation: string,
  name: string,
  what: string,
  n: number
): Effect.Effect<void, StorageError.StorageError> =>
  Number.isSafeInteger(n) && n >= 0 ? Effect.void : fail(operation, quoted(name), `${what} must be an integer >= 0`)

/** Fails `InvalidArgument` unless `n` is an integer part number 1..10000. */
export const validatePartNumber = (
  operation: string,
  uploadId: string,
  n: number
): Effect.Effect<void, StorageError.StorageError> =>
  Number.isInteger(n) && n >= 1 && n <= maxPartNumber
    ? Effect.void
    : fail(operation, quoted(uploadId), `a part number must be an integer 1..${maxPartNumber}, got ${n}`)

/** Fails `InvalidArgument` on an empty or overlong upload id. */
export const validateUploadId = (
  operation: string,
  uploadId: string
): Effect.Effect<void, StorageError.StorageError> =>
  typeof uploadId === "string" && uploadId.length > 0 && uploadId.length <= maxUploadIdLength
    ? Effect.void
    : fail(operation, undefined, `an upload id must be a non-empty string of at most ${maxUploadIdLength} characters`)

/** Validates a `limit` (default 1000) and a listing prefix; decodes a cursor made by {@link encodeCursor}. */
export const decodeListOptions = (
  operation: string,
  options:
    | {
        readonly prefix?: string | undefined
        readonly cursor?: string | undefined
        readonly limit?: number | undefined
      }
    | undefined
): Effect.Effect<
  { readonly prefix: string; readonly after: string | undefined; readonly limit: number },
  StorageError.StorageError
> => {
  const limit = options?.limit ?? maxListLimit
  if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) {
    return fail(operation, undefined, `limit must be 1..${maxListLimit}, got ${limit}`)
  }
  const prefix = options?.prefix ?? ""
  if (typeof prefix !== "string" || !prefix.isWellFormed() || Buffer.byteLength(prefix, "utf8") > maxNameBytes) {
    return fail(operation, undefined, `a prefix must be well-formed Unicode of at most ${maxNameBytes} UTF-8 bytes`)
  }
  if (options?.cursor === undefined) return Effect.succeed({ prefix, after: undefined, limit })
  const after = typeof options.cursor === "string" ? Cursor.decode(options.cursor) : undefined
  if (after === undefined) return fail(operation, undefined, "malformed listing cursor")
  return Effect.succeed({ prefix, after, limit })
}

/** An opaque cursor resuming strictly after `last` (a name, or any string a backend orders by). */
export const encodeCursor = (last: string): string => Cursor.encode(last)

/**
 * A string whose JavaScript (UTF-16 code unit) order is the UTF-8 byte order of `name`: each UTF-8 byte becomes one
 * code unit. Names are listed in UTF-8 byte order on every backend (as S3, LevelDB and PostgreSQL `COLLATE "C"` do).
 */
export const sortKey = (name: string): string => Buffer.from(name, "utf8").toString("latin1")

/** Compares names in UTF-8 byte order. */
export const compareNames = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

// ---------------------------------------------------------------------------------------------------------------
// ETags
// ---------------------------------------------------------------------------------------------------------------

/** Hex MD5 of `bytes`: the ETag of a single-put object. */
export const md5Hex = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("hex")

/** An incremental MD5. */
export const md5 = (): Hash => createHash("md5")

/** `"<hex md5 of the concatenated binary part md5s>-<part count>"`: the ETag of a multipart object. */
export const multipartEtag = (partEtags: ReadonlyArray<string>): string => {
  const h = createHash("md5")
  for (const e of partEtags) h.update(Buffer.from(normalizeEtag(e), "hex"))
  return `${h.digest("hex")}-${partEtags.length}`
}

/** Strips a weak marker and surrounding quotes, as HTTP and S3 render ETags. */
export const normalizeEtag = (etag: string): string => {
  let e = etag.startsWith("W/") ? etag.slice(2) : etag
  if (e.length >= 2 && e.startsWith('"') && e.endsWith('"')) e = e.slice(1, -1)
  return e
}

// ---------------------------------------------------------------------------------------------------------------
// bytes
// ---------------------------------------------------------------------------------------------------------------

/**
 * A lazy stream of copies of `bytes[start, end)` in chunks of at most {@link maxChunkSize}: each chunk is copied when
 * it is pulled, so stopping early copies nothing more.
 */
export const sliceStream = (bytes: Uint8Array, start: number, end: number): Stream.Stream<Uint8Array> =>
  Stream.fromPull(
    Effect.sync(() => {
      let offset = start
      return Effect.suspend(() => {
        if (offset >= end) return Cause.done()
        const n = Math.min(maxChunkSize, end - offset)
        const chunk = bytes.slice(offset, offset + n)
        offset += n
        return Effect.succeed([chunk] as const)
      })
    })
  )

/** Concatenates arrays; a single array of the full size is returned as is (callers pass arrays they own). */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>, total?: number): Uint8Array => {
  const size = total ?? parts.reduce((n, p) => n + p.byteLength, 0)
  if (parts.length === 1 && parts[0]!.byteLength === size) return parts[0]!
  const out = new Uint8Array(size)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}
