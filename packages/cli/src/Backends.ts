/**
 * Maps a {@link GravitonConfig.GravitonConfig}'s `backend` to the stores the runtime is built on. The embedded
 * `level` backend is the default; `memory` keeps everything in the process (lost on exit).
 *
 * @since 0.1.0
 */
import { LevelLayers } from "@graviton/level"
import { type GravitonConfig, GravitonRuntime, StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The stores for `config.backend`. */
export const stores = (
  config: GravitonConfig.GravitonConfig
): Layer.Layer<GravitonRuntime.Stores, StorageError.StorageError> => {
  switch (config.backend) {
    case "memory":
      return GravitonRuntime.memoryStores
    case "level":
      // level provides the stores and more (its own leases, LevelStore); the runtime uses the stores
      return LevelLayers.layer({ path: config.dataDir }) as unknown as Layer.Layer<
        GravitonRuntime.Stores,
        StorageError.StorageError
      >
    case "pg":
    case "pg+s3":
      return Layer.effectContext(
        Effect.fail(
          StorageError.unsupported("graviton.backend", {
            message: `the ${config.backend} backend is not available in this build yet; use level or memory`
          })
        )
      )
  }
}

/** The full runtime for `config`. */
export const runtime = (
  config: GravitonConfig.GravitonConfig
): Layer.Layer<GravitonRuntime.Services, StorageError.StorageError> =>
  GravitonRuntime.layer(stores(config), config, { backend: config.backend })
