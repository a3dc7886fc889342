/**
 * `SemaphoreLimit`: a bounded number of concurrent operations per key (tenant), built on `effect/Semaphore`.
 *
 * Every acquisition is **scoped**: the permit is returned when the surrounding `Scope` closes — on success, failure
 * and interruption alike. Taking a permit and registering its release happen in one uninterruptible step, so a
 * permit is never leaked, and an acquisition interrupted while waiting takes nothing.
 *
 * Three ways to acquire: `acquire` waits as long as needed, `tryAcquire` fails at once with `ConstraintViolation`
 * (`ConcurrencyExceeded`) when the key is full, `acquireWithin` waits at most a given duration and then fails the
 * same way. Waiters are served in arrival order.
 *
 * One semaphore is kept per key that has been used (a few dozen bytes each).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as ConstraintViolation from "./ConstraintViolation.ts"

/** Permits per key: a default and per-key overrides. */
export interface LimitConfig {
  /** Permits per key without an override (`Infinity` for unbounded). */
  readonly defaultLimit: number
  /** Per-key permit counts. */
  readonly overrides?: Readonly<Record<string, number>> | undefined
}

/** Bounded concurrency per key; every acquisition is scoped. */
export interface SemaphoreLimit {
  /** Takes one permit for `key`, waiting until one is free; released when the scope closes. */
  readonly acquire: (key: string) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Takes one permit for `key` if one is free now, else fails `ConstraintViolation` (`ConcurrencyExceeded` with the
   * key's limit; the violation's `tenant` is `key`). Released when the scope closes.
   */
  readonly tryAcquire: (key: string) => Effect.Effect<void, ConstraintViolation.ConstraintViolation, Scope.Scope>
  /** Like `acquire`, but gives up after `timeout` with `ConcurrencyExceeded` (having taken nothing). */
  readonly acquireWithin: (
    key: string,
    timeout: Duration.Input
  ) => Effect.Effect<void, ConstraintViolation.ConstraintViolation, Scope.Scope>
  /** Permits currently free for `key`. */
  readonly available: (key: string) => Effect.Effect<number>
  /** The number of permits `key` has. */
  readonly limit: (key: string) => Effect.Effect<number>
}

/** The `SemaphoreLimit` service tag. */
export const SemaphoreLimit: Context.Service<SemaphoreLimit, SemaphoreLimit> = Context.Service(
  "@graviton/runtime/SemaphoreLimit"
)

interface Entry {
  readonly limit: number
  readonly semaphore: Semaphore.Semaphore
  held: number
}

/** An in-memory limiter. Limits must be non-negative integers or `Infinity`. */
export const make = (config: LimitConfig): SemaphoreLimit => {
  const entries = new Map<string, Entry>()
  const limitOf = (key: string): number => config.overrides?.[key] ?? config.defaultLimit
  const entryOf = (key: string): Entry => {
    let e = entries.get(key)
    if (e === undefined) {
      const limit = limitOf(key)
      e = { limit, semaphore: Semaphore.makeUnsafe(limit), held: 0 }
      entries.set(key, e)
    }
    return e
  }

  // Waiting acquisition. `takeScoped` takes the permit and registers its release atomically; our own bookkeeping
  // is registered first and guarded by a flag, so an interruption anywhere leaves `held` consistent.
  const acquire = (key: string): Effect.Effect<void, never, Scope.Scope> =>
    Effect.suspend(() => {
      const e = entryOf(key)
      let counted = false
      return Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (counted) e.held--
        })
      ).pipe(
        Effect.andThen(e.semaphore.takeScoped(1)),
        Effect.andThen(
          Effect.sync(() => {
            e.held++
            counted = true
          })
        )
      )
    })

  const tryAcquire = (key: string): Effect.Effect<void, ConstraintViolation.ConstraintViolation, Scope.Scope> =>
    Effect.uninterruptible(
      Effect.suspend(() => {
        const e = entryOf(key)
        return Effect.flatMap(e.semaphore.takeIfAvailable(1), (ok) => {
          if (!ok) return Effect.fail(ConstraintViolation.concurrencyExceeded(key, e.limit))
          e.held++
          return Effect.addFinalizer(() =>
            Effect.andThen(
              Effect.sync(() => {
                e.held--
              }),
              e.semaphore.release(1)
            )
          )
        })
      })
    )

  return SemaphoreLimit.of({
    acquire,
    tryAcquire,
    acquireWithin: (key, timeout) =>
      acquire(key).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(ConstraintViolation.concurrencyExceeded(key, limitOf(key)))
        })
      ),
    available: (key) =>
      Effect.sync(() => {
        const e = entries.get(key)
        return e === undefined ? limitOf(key) : Math.max(0, e.limit - e.held)
      }),
    limit: (key) => Effect.sync(() => limitOf(key))
  })
}

/** A fresh limiter per layer build. */
export const layer = (config: LimitConfig): Layer.Layer<SemaphoreLimit> =>
  Layer.sync(SemaphoreLimit, () => make(config))

/** A limiter that never blocks. */
export const unlimited: Layer.Layer<SemaphoreLimit> = layer({ defaultLimit: Number.POSITIVE_INFINITY })

/** Runs `effect` holding one permit for `key` (waiting for it), released when `effect` ends. */
export const withPermit =
  (limiter: SemaphoreLimit, key: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
    Effect.scoped(Effect.andThen(limiter.acquire(key), effect))
