/**
 * `LevelStore`: operations on a level data directory as a whole — durability, space reclamation, statistics and
 * integrity checks — provided by `LevelLayers.layer` next to the ports.
 *
 * @since 0.1.0
 */
import type { StorageError } from "@graviton/runtime"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as LevelBlockStore from "./LevelBlockStore.ts"
import type * as LevelDatabase from "./LevelDatabase.ts"

/** Space used by a data directory. */
export interface Stats extends LevelBlockStore.PackStats {
  /** Approximate bytes of the LevelDB database (index and metadata). */
  readonly indexBytes: number
}

export interface LevelStore {
  /** The data directory. */
  readonly path: string
  /** The options in force, defaults filled in. */
  readonly options: LevelDatabase.Resolved
  /** What recovery did when the directory was opened (torn tails cut, orphaned records counted). */
  readonly recovery: LevelBlockStore.RecoveryReport
  /** Makes every write so far durable (fsyncs the packs, then a synchronous LevelDB write). */
  readonly sync: Effect.Effect<void, StorageError.StorageError>
  /**
   * Reclaims pack space: every sealed pack whose live fraction is below `threshold` (default: the configured
   * `compactionThreshold`) has its live records copied to the active pack and is deleted. Run it after a GC sweep
   * when `autoCompact` is off.
   */
  readonly compact: (options?: {
    readonly threshold?: number | undefined
  }) => Effect.Effect<LevelBlockStore.CompactionReport, StorageError.StorageError>
  /** Space accounting. */
  readonly stats: Effect.Effect<Stats, StorageError.StorageError>
  /** Recomputes the dead bytes of every sealed pack from the index (after an unclean history) and returns stats. */
  readonly recount: Effect.Effect<Stats, StorageError.StorageError>
  /** Reads every block record the index points to and checks it (header, key, CRC-32). */
  readonly verify: Effect.Effect<LevelBlockStore.VerifyReport, StorageError.StorageError>
}

export const LevelStore: Context.Service<LevelStore, LevelStore> = Context.Service("@graviton/level/LevelStore")
