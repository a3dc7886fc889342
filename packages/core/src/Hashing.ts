/**
 * Streaming hashers for the supported algorithms: SHA-256 through `node:crypto` (OpenSSL, SHA-NI where present) and
 * BLAKE3 through the native `@napi-rs/blake-hash` addon (measured at ~3× SHA-256 on this hardware; the WASM and JS
 * BLAKE3 implementations measured slower than SHA-256, so they are not offered).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Blake3Hasher } from "@napi-rs/blake-hash"
import type { HashAlgorithm } from "./HashAlgorithm.ts"

/** An incremental hasher. `digest` may be called once; the hasher is then spent. */
export interface Hasher {
  readonly algorithm: HashAlgorithm
  /** Feeds bytes; returns the hasher for chaining. */
  update(bytes: Uint8Array): Hasher
  /** The raw digest bytes. */
  digest(): Uint8Array
  /** The digest as lowercase hex. */
  digestHex(): string
}

class Sha256Hasher implements Hasher {
  readonly algorithm = "sha-256" as const
  private readonly h = createHash("sha256")
  update(bytes: Uint8Array): Hasher {
    this.h.update(bytes)
    return this
  }
  digest(): Uint8Array {
    const b = this.h.digest()
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }
  digestHex(): string {
    return this.h.digest("hex")
  }
}

class Blake3 implements Hasher {
  readonly algorithm = "blake3" as const
  private readonly h = new Blake3Hasher()
  update(bytes: Uint8Array): Hasher {
    this.h.update(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    return this
  }
  digest(): Uint8Array {
    const b = this.h.digestBuffer()
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }
  digestHex(): string {
    return this.h.digest("hex")
  }
}

/** A fresh incremental hasher for `algorithm`. */
export const make = (algorithm: HashAlgorithm): Hasher => (algorithm === "sha-256" ? new Sha256Hasher() : new Blake3())

/** One-shot digest of `bytes`, as lowercase hex. */
export const digestHex = (algorithm: HashAlgorithm, bytes: Uint8Array): string =>
  make(algorithm).update(bytes).digestHex()

/** One-shot raw digest of `bytes`. */
export const digest = (algorithm: HashAlgorithm, bytes: Uint8Array): Uint8Array =>
  make(algorithm).update(bytes).digest()
