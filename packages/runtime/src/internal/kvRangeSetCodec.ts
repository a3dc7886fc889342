/**
 * Compact binary encoding of a normalized `RangeSet`, used where range sets are stored as `KeyValueStore` values
 * (`RangeTracker.fromKeyValueStore`).
 *
 * Layout: a format byte (`1`), the span count, then per span the gap since the previous span's end (the first span's
 * start) and the span's length — all unsigned LEB128 varints of safe integers. An upload received in order is one
 * span, a few bytes; a set of `n` spans of typical offsets takes about `4n` bytes.
 *
 * Decoding is total: anything that is not exactly a normalized set in this layout (unknown format, truncated or
 * trailing bytes, zero-length spans, adjacent spans, offsets beyond 2^53 - 1) yields a message, never a throw.
 */
import type { Span } from "@graviton/core"
import { RangeSet } from "@graviton/core"

const FORMAT = 1

const pushVarint = (out: Array<number>, value: number): void => {
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
}

/** Encodes a normalized set (the caller guarantees normalization; `RangeSet` values are). */
export const encode = (set: RangeSet.RangeSet): Uint8Array => {
  const out: Array<number> = [FORMAT]
  const spans = RangeSet.spans(set)
  pushVarint(out, spans.length)
  let prevEnd = 0
  for (const s of spans) {
    pushVarint(out, s.start - prevEnd)
    pushVarint(out, s.end - s.start)
    prevEnd = s.end
  }
  return Uint8Array.from(out)
}

type Decoded = { readonly ok: true; readonly set: RangeSet.RangeSet } | { readonly ok: false; readonly message: string }

/** Decodes bytes written by {@link encode}; `{ ok: false, message }` for anything else. */
export const decode = (bytes: Uint8Array): Decoded => {
  let pos = 0
  const fail = (message: string): Decoded => ({ ok: false, message })
  const readVarint = (): number | undefined => {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = bytes[pos]
      if (b === undefined) return undefined
      pos++
      value += (b & 0x7f) * scale
      if (!Number.isSafeInteger(value)) return undefined
      if ((b & 0x80) === 0) return i > 0 && b === 0 ? undefined : value
      scale *= 0x80
    }
    return undefined
  }
  if (bytes[0] !== FORMAT) return fail(`unknown range set format ${bytes[0] ?? "(empty)"}`)
  pos = 1
  const count = readVarint()
  if (count === undefined) return fail("malformed span count")
  // every span takes at least 2 bytes, so a count beyond that is garbage (and cannot make us allocate)
  if (count > (bytes.byteLength - pos) / 2) return fail(`span count ${count} exceeds the encoded data`)
  const spans: Array<Span.Span> = []
  let prevEnd = 0
  for (let i = 0; i < count; i++) {
    const gap = readVarint()
    const length = readVarint()
    if (gap === undefined || length === undefined) return fail(`malformed span ${i}`)
    if (i > 0 && gap === 0) return fail(`span ${i} touches the previous span`)
    if (length === 0) return fail(`span ${i} is empty`)
    const start = prevEnd + gap
    const end = start + length
    if (!Number.isSafeInteger(end)) return fail(`span ${i} ends beyond 2^53 - 1`)
    spans.push({ start, end })
    prevEnd = end
  }
  if (pos !== bytes.byteLength) return fail(`${bytes.byteLength - pos} trailing bytes`)
  return { ok: true, set: RangeSet.fromSpans(spans) }
}
