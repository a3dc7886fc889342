/**
 * Byte-stream helpers for the gateway.
 *
 * @internal
 */
import * as Stream from "effect/Stream"

/**
 * Coalesces a byte stream into buffers of `size` bytes (the last one shorter). Socket reads arrive as 16–64 KiB
 * pieces; a staged upload part is then written a megabyte at a time instead of once per read. Holds at most
 * one buffer of `size` bytes; pieces that already have `size` bytes or more pass through without a copy when
 * nothing is pending.
 */
export const coalesce =
  (size: number) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    self.pipe(
      Stream.mapAccum(
        () => ({ buf: undefined as Uint8Array | undefined, len: 0 }),
        (state, chunk: Uint8Array) => {
          const out: Array<Uint8Array> = []
          let { buf, len } = state
          let off = 0
          if (len === 0 && chunk.byteLength >= size) {
            out.push(chunk)
            return [{ buf, len }, out] as const
          }
          while (off < chunk.byteLength) {
            buf ??= new Uint8Array(size)
            const n = Math.min(size - len, chunk.byteLength - off)
            buf.set(chunk.subarray(off, off + n), len)
            len += n
            off += n
            if (len === size) {
              out.push(buf)
              buf = undefined
              len = 0
            }
          }
          return [{ buf, len }, out] as const
        },
        { onHalt: (state) => (state.len > 0 && state.buf !== undefined ? [state.buf.subarray(0, state.len)] : []) }
      )
    )

/**
 * A request body read ahead by up to `ahead` socket reads (16–64 KiB each) in a separate fiber, so receiving from
 * the socket overlaps with the engine's work (without it the two alternate: the engine waits for a read, the
 * socket stalls while the engine works). Not coalesced: the engine packs small pieces into its own hand-over
 * buffers, so a copy here would be a second one (and a fresh megabyte to page in per MiB received).
 */
export const readAhead =
  (ahead = 64) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    self.pipe(Stream.buffer({ capacity: ahead }))

/**
 * The body of a resumable-upload part: coalesced into `size`-byte pieces (staged parts are written piece by piece,
 * so fewer, larger writes) and read ahead by up to `ahead` pieces. Memory stays bounded by `(ahead + 1) × size`.
 */
export const partBody =
  (size: number, ahead = 4) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    self.pipe(coalesce(size), Stream.buffer({ capacity: ahead }))
