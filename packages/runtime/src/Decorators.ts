/**
 * Cross-cutting decorators that apply to **every** port: metrics, retry, timeout and tracing. Each is a
 * `(self) => self` function over a port's service and a Layer (`Decorators.layerRetry(BlockStore.BlockStore)`) that
 * requires the port and provides the decorated one.
 *
 * Port-specific decorators live with their port: `BlockStore.withCache`, `BlockStore.withVerification`,
 * `BlockStore.withCompression`, `ManifestStore.withCache`; fault injection for tests is `FaultInjection`.
 *
 * **Stacking order** (innermost first), as `GravitonRuntime` composes it:
 *
 * ```
 * backend → withTimeout → withRetry → withMetrics → withTracing → (withCache / withVerification)
 * ```
 *
 * - `withTimeout` inside `withRetry`: the timeout bounds **each attempt**, and a timed-out attempt is retried
 *   (Timeout is retryable). Putting it outside would bound the whole retry loop instead.
 * - `withRetry` marks the error not retryable when it gives up, so an outer `withRetry` does not retry again
 *   (retries never multiply across layers).
 * - `withMetrics` outside `withRetry` counts one operation per caller call (with its total latency); each retry is
 *   counted in `graviton_retries_total`.
 *
 * Streams are retried only when they fail before emitting their first element (after that, bytes have reached the
 * caller and a transparent restart would duplicate them), and timed out per pull (an idle timeout). Calls that take a
 * stream as input (`BlobStore.put(body)`, `ManifestStore.commit(draft)` with its `entries`, object `put`s) are never
 * retried: their input may be one-shot (an HTTP request body) and a retry would re-read it from where it stopped.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Decorate from "./internal/decorate.ts"
import * as MetricKeys from "./MetricKeys.ts"
import * as MetricsRegistry from "./MetricsRegistry.ts"
import * as StorageError from "./StorageError.ts"

type Tag<I, S> = Context.Service<I, S>

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): "ok" | "error" | "interrupted" =>
  Exit.isSuccess(exit) ? "ok" : Exit.hasInterrupts(exit) ? "interrupted" : "error"

const reasonOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const err = Exit.findErrorOption(exit)
  if (err._tag === "None") return Exit.hasInterrupts(exit) ? undefined : "Defect"
  const e = err.value
  if (StorageError.isStorageError(e)) return e.reason._tag
  return typeof e === "object" && e !== null && "_tag" in e ? String((e as { _tag: unknown })._tag) : "Unknown"
}

// ---------------------------------------------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------------------------------------------

/**
 * Counts every operation (`graviton_port_operations_total{port,operation,outcome}`), its duration
 * (`graviton_operation_duration_seconds{port,operation}`), operations in flight, and failures by reason
 * (`graviton_backend_failures_total{port,operation,reason}`). A stream counts once, when it ends.
 */
export const withMetrics =
  <I, S extends object>(tag: Tag<I, S>, registry: MetricsRegistry.MetricsRegistry, backend?: string) =>
  (self: S): S => {
    const port = Decorate.portName(tag)
    const base = backend === undefined ? { port } : { port, backend }
    const record = (method: string, started: number, exit: Exit.Exit<unknown, unknown>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const labels = { ...base, operation: method }
        const reason = reasonOf(exit)
        return Effect.all(
          [
            registry.add(MetricKeys.inflight, -1, base),
            registry.increment(MetricKeys.portOperations, { ...labels, outcome: outcomeOf(exit) }),
            registry.observe(MetricKeys.operationDuration, (now - started) / 1000, labels),
            reason === undefined ? Effect.void : registry.increment(MetricKeys.backendFailures, { ...labels, reason })
          ],
          { discard: true }
        )
      })
    const start = Effect.andThen(registry.add(MetricKeys.inflight, 1, base), Clock.currentTimeMillis)
    return Decorate.decorate(port, self, {
      effect: (call, eff) =>
        Effect.flatMap(start, (started) => Effect.onExit(eff, (exit) => record(call.method, started, exit))),
      stream: (call, s) =>
        Stream.unwrap(Effect.map(start, (started) => Stream.onExit(s, (exit) => record(call.method, started, exit))))
    })
  }

/** Layer form of {@link withMetrics}. */
export const layerMetrics = <I, S extends object>(
  tag: Tag<I, S>,
  backend?: string
): Layer.Layer<I, never, I | MetricsRegistry.MetricsRegistry> =>
  Decorate.layerWith(tag, MetricsRegistry.MetricsRegistry, (self, registry) =>
    withMetrics(tag, registry, backend)(self)
  )

// ---------------------------------------------------------------------------------------------------------------
// retry
// ---------------------------------------------------------------------------------------------------------------

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly times?: number | undefined
  /** First delay (default 50 ms); doubles per retry. */
  readonly base?: Duration.Input | undefined
  /** Largest delay (default 2 s). */
  readonly maxDelay?: Duration.Input | undefined
  /** Counts retries in `graviton_retries_total` when given. */
  readonly registry?: MetricsRegistry.MetricsRegistry | undefined
}

/**
 * Retries operations that fail with a **retryable** {@link StorageError.StorageError} (Unavailable, Timeout, or
 * any reason a backend marked retryable), with exponential backoff on the Clock. Non-retryable errors pass through at
 * once. When the retries are used up, the last error is returned marked not retryable ("retries exhausted").
 */
export const withRetry =
  <I, S extends object>(tag: Tag<I, S>, options: RetryOptions = {}) =>
  (self: S): S => {
    const port = Decorate.portName(tag)
    const times = options.times ?? 3
    const base = Duration.toMillis(Duration.fromInputUnsafe(options.base ?? 50))
    const maxDelay = Duration.toMillis(Duration.fromInputUnsafe(options.maxDelay ?? 2000))
    const delay = (attempt: number) => Math.min(maxDelay, base * 2 ** attempt)
    const counted = (method: string) =>
      options.registry === undefined
        ? Effect.void
        : options.registry.increment(MetricKeys.retries, { port, operation: method })
    const giveUp = <E>(e: E, attempt: number): E =>
      attempt > 0 && StorageError.isStorageError(e) ? (StorageError.exhausted(e) as E) : e

    const retryEffect = <A, E, R>(
      method: string,
      eff: Effect.Effect<A, E, R>,
      attempt: number
    ): Effect.Effect<A, E, R> =>
      Effect.catch(eff, (e) =>
        StorageError.isRetryable(e) && attempt < times
          ? Effect.andThen(
              Effect.andThen(counted(method), Effect.sleep(delay(attempt))),
              retryEffect(method, eff, attempt + 1)
            )
          : Effect.fail(giveUp(e, attempt))
      )

    const retryStream = <A, E, R>(method: string, s: Stream.Stream<A, E, R>, attempt: number): Stream.Stream<A, E, R> =>
      Stream.suspend(() => {
        let emitted = false
        return s.pipe(
          Stream.tap(() =>
            Effect.sync(() => {
              emitted = true
            })
          ),
          Stream.catch((e) =>
            !emitted && StorageError.isRetryable(e) && attempt < times
              ? Stream.unwrap(
                  Effect.as(
                    Effect.andThen(counted(method), Effect.sleep(delay(attempt))),
                    retryStream(method, s, attempt + 1)
                  )
                )
              : Stream.fail(emitted ? e : giveUp(e, attempt))
          )
        )
      })

    return Decorate.decorate(port, self, {
      effect: (call, eff) => (Decorate.hasStreamArgument(call) ? eff : retryEffect(call.method, eff, 0)),
      stream: (call, s) => retryStream(call.method, s, 0)
    })
  }

/** Layer form of {@link withRetry}. */
export const layerRetry = <I, S extends object>(tag: Tag<I, S>, options?: RetryOptions): Layer.Layer<I, never, I> =>
  Decorate.layer(tag, withRetry(tag, options))

// ---------------------------------------------------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------------------------------------------------

export interface TimeoutOptions {
  /** Bound for each operation (effects) and for each pull (streams). */
  readonly duration: Duration.Input
  /** Per-method overrides, e.g. `{ inventory: "2 minutes" }`. */
  readonly methods?: Readonly<Record<string, Duration.Input>> | undefined
}

/**
 * Fails an operation with a retryable `Timeout` reason when it takes longer than the bound. The timed-out effect is
 * interrupted. A stream is bounded per pull: it fails when it waits longer than the bound for its next element.
 */
export const withTimeout =
  <I, S extends object>(tag: Tag<I, S>, options: TimeoutOptions) =>
  (self: S): S => {
    const port = Decorate.portName(tag)
    const boundOf = (method: string) => options.methods?.[method] ?? options.duration
    const err = (method: string) =>
      StorageError.timeout(`${port}.${method}`, {
        message: `no answer within ${Duration.format(Duration.fromInputUnsafe(boundOf(method)))}`
      })
    return Decorate.decorate(port, self, {
      effect: (call, eff) =>
        Effect.timeoutOrElse(eff, {
          duration: boundOf(call.method),
          orElse: () => Effect.fail(err(call.method))
        }) as typeof eff,
      stream: (call, s) =>
        Stream.timeoutOrElse(s, {
          duration: boundOf(call.method),
          orElse: () => Stream.fail(err(call.method))
        }) as typeof s
    })
  }

/** Layer form of {@link withTimeout}. */
export const layerTimeout = <I, S extends object>(tag: Tag<I, S>, options: TimeoutOptions): Layer.Layer<I, never, I> =>
  Decorate.layer(tag, withTimeout(tag, options))

// ---------------------------------------------------------------------------------------------------------------
// tracing
// ---------------------------------------------------------------------------------------------------------------

/**
 * Wraps every operation in a span named `<Port>.<method>` (attributes: `graviton.port`, `graviton.operation`, and
 * `graviton.key` when the first argument is a key or name).
 */
export const withTracing =
  <I, S extends object>(tag: Tag<I, S>) =>
  (self: S): S => {
    const port = Decorate.portName(tag)
    const attributes = (call: Decorate.Call) => {
      const attrs: Record<string, unknown> = { "graviton.port": port, "graviton.operation": call.method }
      const first = call.args[0]
      if (typeof first === "string") attrs["graviton.key"] = first
      else if (typeof first === "object" && first !== null && "digest" in first && "algorithm" in first) {
        const k = first as { algorithm: string; digest: string; size: number }
        attrs["graviton.key"] = `${k.algorithm}:${k.digest}:${k.size}`
      }
      return attrs
    }
    // no stack trace per span: it would always point into this decorator, and capturing one per storage call cost
    // a sixth of a small put
    return Decorate.decorate(port, self, {
      effect: (call, eff) =>
        Effect.withSpan(eff, `${port}.${call.method}`, { attributes: attributes(call), captureStackTrace: false }),
      stream: (call, s) =>
        Stream.withSpan(s, `${port}.${call.method}`, { attributes: attributes(call), captureStackTrace: false })
    })
  }

/** Layer form of {@link withTracing}. */
export const layerTracing = <I, S extends object>(tag: Tag<I, S>): Layer.Layer<I, never, I> =>
  Decorate.layer(tag, withTracing(tag))
