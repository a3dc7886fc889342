/**
 * Header helpers shared by the server and the client: strict integers, entity tags, HTTP dates and the tus
 * `Upload-Metadata` / `Upload-Checksum` codecs. All parsers are total (they return `undefined` on bad input).
 *
 * @internal
 */

const DIGITS = /^[0-9]{1,16}$/

/** A non-negative safe integer written as plain ASCII digits, or `undefined`. */
export const parseNonNegativeInt = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const t = text.trim()
  if (!DIGITS.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

/** The quoted strong entity tag of a blob: its key text in double quotes. */
export const etagOf = (keyText: string): string => `"${keyText}"`

/** Splits an `If-Match` / `If-None-Match` list into its members (`*` stays `*`), weak prefixes kept. */
const etagList = (header: string): Array<string> =>
  header
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

/** `If-None-Match` (weak comparison, RFC 9110 §13.1.2): true when it matches the current tag. */
export const noneMatchHits = (header: string, etag: string): boolean =>
  etagList(header).some((t) => t === "*" || t === etag || t === `W/${etag}`)

/** `If-Match` (strong comparison, RFC 9110 §13.1.1): true when the precondition holds. */
export const ifMatchHolds = (header: string, etag: string): boolean =>
  etagList(header).some((t) => t === "*" || t === etag)

/** An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export const httpDate = (epochMillis: number): string => new Date(epochMillis).toUTCString()

/** Parses an HTTP date to epoch milliseconds, or `undefined`. */
export const parseHttpDate = (text: string): number | undefined => {
  const t = Date.parse(text)
  return Number.isNaN(t) ? undefined : t
}

/**
 * `If-Range` (RFC 9110 §13.1.5): whether the range may be served. An entity tag must match strongly; a date must
 * equal the `Last-Modified` time (second precision). Anything else means "send the whole representation".
 */
export const ifRangeHolds = (header: string, etag: string, lastModified: number): boolean => {
  const h = header.trim()
  if (h.startsWith('"') || h.startsWith("W/")) return h === etag
  const date = parseHttpDate(h)
  return date !== undefined && Math.floor(date / 1000) === Math.floor(lastModified / 1000)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const META_KEY = /^[^\s,]+$/

/**
 * Decodes tus `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be omitted). Keys must be
 * unique, non-empty, without spaces or commas; values must be valid base64 of UTF-8 text. `undefined` when malformed.
 */
export const parseUploadMetadata = (header: string): Record<string, string> | undefined => {
  const out: Record<string, string> = {}
  if (header.trim().length === 0) return out
  for (const raw of header.split(",")) {
    const pair = raw.trim()
    if (pair.length === 0) return undefined
    const parts = pair.split(" ")
    if (parts.length > 2) return undefined
    const key = parts[0]!
    const value = parts[1] ?? ""
    if (!META_KEY.test(key) || Object.hasOwn(out, key)) return undefined
    if (!BASE64.test(value) || value.length % 4 !== 0) return undefined
    const bytes = Buffer.from(value, "base64")
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes)
    out[key] = text
  }
  return out
}

/** Encodes metadata as tus `Upload-Metadata`. */
export const formatUploadMetadata = (metadata: Readonly<Record<string, string>>): string =>
  Object.entries(metadata)
    .map(([k, v]) => (v.length === 0 ? k : `${k} ${Buffer.from(v, "utf8").toString("base64")}`))
    .join(",")

/** Parses `Upload-Checksum: <algorithm> <base64>`; `undefined` when malformed. */
export const parseUploadChecksum = (
  header: string
): { readonly algorithm: string; readonly digest: string } | undefined => {
  const m = /^\s*([A-Za-z0-9-]+) +([A-Za-z0-9+/]+={0,2})\s*$/.exec(header)
  if (m === null) return undefined
  return { algorithm: m[1]!.toLowerCase(), digest: m[2]! }
}
