/**
 * `Throttle`: a token bucket on the Effect `Clock`, for pacing byte streams (`{ bytesPerSecond, burstSize }`).
 *
 * The bucket holds at most `burstSize` tokens (one token = one byte), starts **full**, and refills continuously at
 * `bytesPerSecond`. Time comes from `Clock`, and waiting is `Effect.sleep`, so under `TestClock` the pacing is
 * exact and instantaneous in real time.
 *
 * **Reservations and debt.** `take(n)` reserves its tokens immediately — in one synchronous step, so concurrent
 * callers are served first-come first-served — and the bucket may go negative (debt). The caller then sleeps until
 * the debt it created is repaid. Consequences:
 * - `take(n)` with `n > burstSize` is allowed: it waits `(n - available) / bytesPerSecond` and the long-run rate is
 *   still `bytesPerSecond` (no need to split it; {@link throttleBytes} splits large chunks anyway so the output is
 *   smooth).
 * - Wake-ups are rounded up to the next millisecond; the rounding never accumulates, because the bucket state is
 *   computed from the clock, not from the sleeps.
 * - If a waiting `take` is interrupted its tokens are returned to the bucket (capped at `burstSize`).
 *
 * `tryTake(n)` never waits and never creates debt: it succeeds only when `n` tokens are available now (so it always
 * fails for `n > burstSize`).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Bytes from "./internal/policyBytes.ts"

/** Token-bucket parameters. `bytesPerSecond` is a positive finite rate; `burstSize` a positive integer. */
export const ThrottleConfig = Schema.Struct({
  /** Sustained rate in bytes per second. */
  bytesPerSecond: Schema.Number.check(
    Schema.isFinite({ message: "bytesPerSecond must be finite" }),
    Schema.isGreaterThan(0, { message: "bytesPerSecond must be positive" })
  ),
  /** Bucket capacity in bytes: how much may pass at once after an idle period. */
  burstSize: Bytes.PositiveByteCount
})
/** Decoded {@link ThrottleConfig}. */
export type ThrottleConfig = typeof ThrottleConfig.Type

/** One token bucket; see the module doc for reservation and debt semantics. */
export interface Throttle {
  /** The parameters of this bucket. */
  readonly config: ThrottleConfig
  /**
   * Takes `n` tokens, waiting (on the `Clock`) until they are paid for. Reservations are FIFO; `n` may exceed
   * `burstSize` (the bucket goes into debt). `n <= 0` returns at once. Interrupting the wait refunds the tokens.
   */
  readonly take: (n: number) => Effect.Effect<void>
  /** Takes `n` tokens only if they are available now; never waits, never creates debt. */
  readonly tryTake: (n: number) => Effect.Effect<boolean>
  /** Tokens available now (negative while reservations are in debt). */
  readonly available: Effect.Effect<number>
}

/** The `Throttle` service tag (one bucket, e.g. a global upload limit). */
export const Throttle: Context.Service<Throttle, Throttle> = Context.Service("@graviton/runtime/Throttle")

/**
 * Builds a token bucket. Nothing is read from the clock until the first call, when the bucket is full. Throws a
 * `RangeError` for a non-positive or non-finite rate or burst (decode untrusted input through {@link ThrottleConfig}).
 */
export const make = (config: ThrottleConfig): Throttle => {
  const rate = config.bytesPerSecond
  const burst = config.burstSize
  if (!(rate > 0) || !Number.isFinite(rate) || !(burst > 0)) {
    throw new RangeError(`invalid throttle: bytesPerSecond=${rate}, burstSize=${burst}`)
  }
  let tokens = burst
  let last: number | undefined
  // Must be called inside one synchronous block together with the update that uses it.
  const refill = (now: number) => {
    if (last === undefined) {
      last = now
      return
    }
    if (now > last) {
      tokens = Math.min(burst, tokens + ((now - last) * rate) / 1000)
      last = now
    }
  }
  const now = Clock.clockWith((clock) => Effect.sync(() => clock.currentTimeMillisUnsafe()))
  return Throttle.of({
    config,
    take: (n) =>
      n <= 0
        ? Effect.void
        : Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(now, (t) => {
              refill(t)
              tokens -= n
              if (tokens >= 0) return Effect.void
              const waitMs = Math.ceil((-tokens * 1000) / rate)
              return restore(Effect.sleep(waitMs)).pipe(
                Effect.onInterrupt(() =>
                  Effect.sync(() => {
                    tokens = Math.min(burst, tokens + n)
                  })
                )
              )
            })
          ),
    tryTake: (n) =>
      Effect.map(now, (t) => {
        if (n <= 0) return true
        refill(t)
        if (tokens < n) return false
        tokens -= n
        return true
      }),
    available: Effect.map(now, (t) => {
      refill(t)
      return tokens
    })
  })
}

/** A layer holding one bucket. */
export const layer = (config: ThrottleConfig): Layer.Layer<Throttle> => Layer.sync(Throttle, () => make(config))

/**
 * Paces a byte stream through `throttle`: each chunk is emitted once its bytes are paid for. Chunks larger than
 * `burstSize` are split into `burstSize` views (no copy), so output is smooth rather than one long pause per chunk.
 * Each run of the stream shares the same bucket (the bucket is the rate limit, not the stream).
 */
export const throttleBytes =
  (throttle: Throttle) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> => {
    const piece = throttle.config.burstSize
    return self.pipe(
      Stream.mapArray((chunks) => {
        if (chunks.every((c) => c.byteLength <= piece)) return chunks
        const out: Array<Uint8Array> = []
        for (const c of chunks) {
          if (c.byteLength <= piece) out.push(c)
          else for (let off = 0; off < c.byteLength; off += piece) out.push(c.subarray(off, off + piece))
        }
        return out as unknown as Arr.NonEmptyReadonlyArray<Uint8Array>
      }),
      Stream.mapEffect((chunk) => Effect.as(throttle.take(chunk.byteLength), chunk))
    )
  }
