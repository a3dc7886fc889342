/**
 * The backends the bench can drive: each gives fresh stores for the engine and a raw driver for the baseline.
 * Backends that do not exist in this repository are reported as unavailable, never faked.
 */
import { LevelLayers } from "@graviton/level"
import type { Layer } from "effect"
import * as Engine from "./engine.ts"
import * as Pipeline from "./pipeline.ts"

export interface Backend {
  readonly name: string
  /** Fresh engine stores (persistent ones under `dir`). */
  readonly stores: (dir: string) => Layer.Layer<Engine.EngineStores, unknown>
  /** A fresh raw driver (persistent ones under `dir`). */
  readonly raw: (dir: string) => Promise<Pipeline.RawDriver>
}

export interface Unavailable {
  readonly name: string
  readonly reason: string
}

export const isAvailable = (b: Backend | Unavailable): b is Backend => "stores" in b

export const memory: Backend = {
  name: "memory",
  stores: () => Engine.memoryStores(),
  raw: async () => Pipeline.memoryDriver()
}

export const level: Backend = {
  name: "level",
  stores: (dir) => LevelLayers.layer({ path: dir }),
  raw: (dir) => Pipeline.levelDriver(dir)
}

/** Every backend of issue 7, in report order. */
export const all = (): ReadonlyArray<Backend | Unavailable> => [
  memory,
  level,
  { name: "pg", reason: "no PostgreSQL backend in this repository" },
  { name: "s3", reason: "no S3 backend in this repository" },
  { name: "pg+s3", reason: "no PostgreSQL/S3 backends in this repository" }
]
