/**
 * Lexical helpers shared by the `Range` and `Content-Range` parsers in HttpRange (RFC 9110 §5.6, §14).
 */

/** Longest header value the parsers look at; anything longer is rejected before any scanning. */
export const maxHeaderLength = 256

/** Strips optional whitespace (RFC 9110 OWS: only SP and HTAB) from both ends. */
export const trimOws = (s: string): string => {
  let i = 0
  let j = s.length
  while (i < j && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++
  while (j > i && (s.charCodeAt(j - 1) === 0x20 || s.charCodeAt(j - 1) === 0x09)) j--
  return s.slice(i, j)
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** True for an RFC 9110 `token` (e.g. a range unit). */
export const isToken = (s: string): boolean => TOKEN_RE.test(s)

const DIGITS_RE = /^[0-9]+$/

/**
 * Parses `1*DIGIT` (leading zeros allowed, as the grammar does). Returns the value, `"InvalidNumber"` for anything
 * that is not only ASCII digits (signs, decimals, exponents, spaces, empty), or `"TooLarge"` beyond 2^53 - 1.
 */
export const parseDigits = (s: string): number | "InvalidNumber" | "TooLarge" => {
  if (!DIGITS_RE.test(s)) return "InvalidNumber"
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : "TooLarge"
}

/** Shortens untrusted text for error messages and error fields (at most 160 characters). */
export const clip = (s: string): string => (s.length > 160 ? `${s.slice(0, 157)}...` : s)

/** Quotes untrusted text for a message: JSON-escaped (so control characters are visible) and shortened. */
export const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s)
