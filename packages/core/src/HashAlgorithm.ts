/**
 * Hash algorithms that name content: `sha-256` (the default) and `blake3`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** The canonical algorithm names, as they appear in key text. */
export const names = ["sha-256", "blake3"] as const

export type HashAlgorithm = (typeof names)[number]

export const HashAlgorithm: Schema.Literals<typeof names> = Schema.Literals(names)

/** The default algorithm for blob and block keys. */
export const defaultAlgorithm: HashAlgorithm = "sha-256"

/** Digest length in bytes for each algorithm. */
export const digestLength = (algorithm: HashAlgorithm): number => (algorithm === "sha-256" ? 32 : 32)

/**
 * Multicodec codes, used as the algorithm tag of the compact binary key form (`0x12` sha2-256, `0x1e` blake3).
 */
export const code = (algorithm: HashAlgorithm): number => (algorithm === "sha-256" ? 0x12 : 0x1e)

/** The algorithm for a multicodec code, or `undefined` when the code is not supported. */
export const fromCode = (c: number): HashAlgorithm | undefined =>
  c === 0x12 ? "sha-256" : c === 0x1e ? "blake3" : undefined

/**
 * Resolves an algorithm name as written by a user: the canonical names plus the alias `sha256`, case-insensitively.
 * Returns `undefined` for anything else.
 */
export const fromName = (name: string): HashAlgorithm | undefined => {
  switch (name.toLowerCase()) {
    case "sha-256":
    case "sha256":
      return "sha-256"
    case "blake3":
      return "blake3"
    default:
      return undefined
  }
}
