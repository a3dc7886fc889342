/**
 * Unsigned LEB128 varints for non-negative safe integers (up to 2^53 - 1, at most 8 bytes).
 * Arithmetic is done with division rather than bit shifts so values above 2^31 stay exact.
 */

/** Most bytes a safe-integer varint can take. */
export const maxBytes = 8

export const encodedLength = (value: number): number => {
  let n = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    n++
  }
  return n
}

/** Writes `value` at `offset`; returns the offset after it. */
export const encodeInto = (value: number, out: Uint8Array, offset: number): number => {
  while (value >= 0x80) {
    out[offset++] = (value % 128) | 0x80
    value = Math.floor(value / 128)
  }
  out[offset++] = value
  return offset
}

/**
 * Reads a varint at `offset`. Returns `undefined` when truncated, over-long (non-canonical trailing zero byte), or
 * larger than 2^53 - 1.
 */
export const decodeAt = (
  bytes: Uint8Array,
  offset: number
): { readonly value: number; readonly next: number } | undefined => {
  let value = 0
  let scale = 1
  for (let i = 0; i < maxBytes; i++) {
    const pos = offset + i
    if (pos >= bytes.byteLength) return undefined
    const b = bytes[pos]!
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return undefined
      if (!Number.isSafeInteger(value)) return undefined
      return { value, next: pos + 1 }
    }
    scale *= 128
  }
  return undefined
}
