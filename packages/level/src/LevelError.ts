/**
 * Error translation for the level backend: **every** failure of classic-level (LevelDB) and of the pack files
 * (`node:fs`) becomes a {@link StorageError.StorageError} through {@link fromDriver}, the one place that knows driver
 * error codes. The original error is kept as `cause`.
 *
 * | driver error | reason |
 * | --- | --- |
 * | `LEVEL_LOCKED` (another process holds the LevelDB `LOCK`) | `Unavailable`, not retryable, "store is locked by another process" |
 * | `LEVEL_DATABASE_NOT_OPEN`, `LEVEL_DATABASE_NOT_CLOSED`, `LEVEL_ITERATOR_NOT_OPEN` (closed during a call) | `Unavailable`, not retryable |
 * | `LEVEL_CORRUPTION` | `Corrupt` |
 * | `ENOSPC`, `EDQUOT` | `QuotaExceeded` |
 * | `EACCES`, `EPERM`, `EROFS` | `PermissionDenied` |
 * | `EMFILE`, `ENFILE`, `EAGAIN`, `EBUSY`, `EINTR` | `Unavailable`, retryable |
 * | `LEVEL_IO_ERROR`, `EIO` | `Unavailable`, not retryable (the disk failed; retrying the same call rarely helps) |
 * | `LEVEL_NOT_SUPPORTED` | `Unsupported` |
 * | `LEVEL_INVALID_KEY`, `LEVEL_INVALID_VALUE`, `ERR_INVALID_ARG_TYPE` | `InvalidArgument` |
 * | `ENOENT` (a pack file vanished under a live index entry) | `Corrupt` |
 * | anything else | `Unknown` |
 *
 * An error that already is a `StorageError` passes through unchanged.
 *
 * @since 0.1.0
 */
import { StorageError } from "@graviton/runtime"

/** The error code of a driver error (`code` of the error or of its `cause`, LevelDB nests the real one). */
export const codeOf = (cause: unknown): string | undefined => {
  let c: unknown = cause
  let outer: string | undefined
  for (let depth = 0; depth < 4 && typeof c === "object" && c !== null; depth++) {
    const code = (c as { readonly code?: unknown }).code
    if (typeof code === "string") {
      // LevelDB wraps the interesting code: LEVEL_DATABASE_NOT_OPEN caused by LEVEL_LOCKED
      if (code !== "LEVEL_DATABASE_NOT_OPEN" && code !== "LEVEL_DATABASE_NOT_CLOSED") return code
      outer ??= code
    }
    c = (c as { readonly cause?: unknown }).cause
  }
  return outer
}

const messageOf = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = (cause as { readonly cause?: unknown }).cause
    return inner instanceof Error && inner.message !== cause.message
      ? `${cause.message}: ${inner.message}`
      : cause.message
  }
  return String(cause)
}

/**
 * Translates a classic-level or `node:fs` failure of `operation` (`"<Port>.<method>"`) into a StorageError. This is
 * the backend's one error-mapping function; every driver call goes through it.
 */
export const fromDriver = (operation: string, cause: unknown, key?: string): StorageError.StorageError => {
  if (StorageError.isStorageError(cause)) return cause
  const code = codeOf(cause)
  const text = messageOf(cause)
  const details = (message: string, retryable?: boolean): StorageError.Details => ({
    message,
    cause,
    ...(key === undefined ? {} : { key }),
    ...(retryable === undefined ? {} : { retryable })
  })
  switch (code) {
    case "LEVEL_LOCKED":
      return StorageError.unavailable(
        operation,
        details(
          `the store is locked by another process (${text}); stop the other Graviton process or use another data directory`,
          false
        )
      )
    case "LEVEL_DATABASE_NOT_OPEN":
    case "LEVEL_DATABASE_NOT_CLOSED":
    case "LEVEL_ITERATOR_NOT_OPEN":
      return StorageError.unavailable(operation, details(`the store is not open (${text})`, false))
    case "LEVEL_CORRUPTION":
      return StorageError.corrupt(operation, details(`LevelDB reports corruption: ${text}`))
    case "ENOSPC":
    case "EDQUOT":
      return StorageError.quotaExceeded(operation, details(`out of disk space: ${text}`))
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return StorageError.permissionDenied(operation, details(`the data directory is not writable: ${text}`))
    case "EMFILE":
    case "ENFILE":
    case "EAGAIN":
    case "EBUSY":
    case "EINTR":
      return StorageError.unavailable(operation, details(`temporarily unavailable: ${text}`, true))
    case "LEVEL_IO_ERROR":
    case "EIO":
      return StorageError.unavailable(operation, details(`I/O error: ${text}`, false))
    case "LEVEL_NOT_SUPPORTED":
      return StorageError.unsupported(operation, details(text))
    case "LEVEL_INVALID_KEY":
    case "LEVEL_INVALID_VALUE":
    case "ERR_INVALID_ARG_TYPE":
      return StorageError.invalidArgument(operation, details(text))
    case "ENOENT":
      return StorageError.corrupt(operation, details(`a data file is missing: ${text}`))
    default:
      return StorageError.unknown(operation, details(code === undefined ? text : `${code}: ${text}`))
  }
}

/** The error of a store whose on-disk format this build does not understand. */
export const unsupportedFormat = (path: string, found: string, supported: number): StorageError.StorageError =>
  StorageError.unsupported("LevelStore.open", {
    key: path,
    message: `the data directory holds ${found}; this build reads Graviton level format ${supported}. Use a matching Graviton version or another directory`
  })
