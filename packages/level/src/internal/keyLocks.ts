/**
 * Per-key readers/writer locks for one process. LevelDB admits a single process, so serializing conflicting
 * operations on a key inside this process makes read-check-write sequences (create-only puts, compare-and-set,
 * conditional deletes against touches) atomic.
 *
 * A call locks a set of keys at once; keys are always acquired in sorted order, so two calls can never deadlock.
 * `shared` holders run together; an `exclusive` holder runs alone on its key. Waiting is interruptible, and locks are
 * released however the guarded effect ends.
 */
import * as Effect from "effect/Effect"
import * as Semaphore from "effect/Semaphore"

const EXCLUSIVE = 1 << 20

interface Slot {
  readonly semaphore: Semaphore.Semaphore
  refs: number
}

export type Mode = "shared" | "exclusive"

export class KeyLocks {
  private readonly slots = new Map<string, Slot>()

  /** Number of keys with holders or waiters (for tests). */
  get size(): number {
    return this.slots.size
  }

  /** Runs `effect` holding the given keys in `mode`. */
  with<A, E, R>(keys: ReadonlyArray<string>, mode: Mode, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      const sorted = [...new Set(keys)].sort()
      if (sorted.length === 0) return effect
      const slots = sorted.map((k) => this.retain(k))
      const permits = mode === "exclusive" ? EXCLUSIVE : 1
      let guarded = effect
      for (let i = slots.length - 1; i >= 0; i--) guarded = slots[i]!.semaphore.withPermits(permits)(guarded)
      return Effect.ensuring(
        guarded,
        Effect.sync(() => {
          for (const k of sorted) this.releaseSlot(k)
        })
      )
    })
  }

  private retain(key: string): Slot {
    let slot = this.slots.get(key)
    if (slot === undefined) {
      slot = { semaphore: Semaphore.makeUnsafe(EXCLUSIVE), refs: 0 }
      this.slots.set(key, slot)
    }
    slot.refs++
    return slot
  }

  private releaseSlot(key: string): void {
    const slot = this.slots.get(key)
    if (slot === undefined) return
    slot.refs--
    if (slot.refs === 0) this.slots.delete(key)
  }
}
