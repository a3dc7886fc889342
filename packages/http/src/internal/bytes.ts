/**
 * Byte-stream helpers for the gateway.
 *
 * @internal
 */
import * as Stream from "effect/Stream"

/**
 * Coalesces a byte stream into buffers of `size` bytes (the last one shorter). Socket reads arrive as 16–64 KiB
 * pieces; the engine's per-chunk costs (hashing hand-off, chunker calls) are paid once per MiB instead. Holds at most
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
 * The request body as the engine should see it: coalesced into `size`-byte pieces and read ahead by up to `ahead`
 * pieces in a separate fiber, so receiving from the socket overlaps with chunking and hashing (without it the two
 * alternate: the engine waits for a piece to fill, the socket stalls while the engine works). Memory stays bounded
 * by `(ahead + 1) × size`.
 */
export const ingestBody =
  (size: number, ahead = 4) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    self.pipe(coalesce(size), Stream.buffer({ capacity: ahead }))
