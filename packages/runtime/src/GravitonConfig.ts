/**
 * `GravitonConfig`: everything a Graviton runtime is configured by, read with Effect `Config` from `GRAVITON_*`
 * environment variables (or any ConfigProvider):
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `GRAVITON_BACKEND` | `level`, `memory`, `pg`, `pg+s3` | `level` |
 * | `GRAVITON_DATA_DIR` | data directory of the embedded backend | `./.graviton` |
 * | `GRAVITON_CHUNKER` | chunker id, e.g. `fastcdc-v1:16384:65536:262144` or `fixed-v1:1048576` | FastCDC 16/64/256 KiB |
 * | `GRAVITON_HASH` | `sha-256` or `blake3` | `sha-256` |
 * | `GRAVITON_COMPRESSION` | `none`, `zstd`, `auto` (zstd where it saves space) | `none` |
 * | `GRAVITON_PARALLELISM` / `GRAVITON_READ_AHEAD` | block batches written / blocks read ahead per stream | 4 / 256 |
 * | `GRAVITON_READ_BATCH` | blocks fetched (and verified) per backend call while reading | 64 |
 * | `GRAVITON_BLOCK_CACHE_BYTES` / `GRAVITON_MANIFEST_CACHE_BYTES` | cache budgets (0 disables) | 64 MiB / 16 MiB |
 * | `GRAVITON_RETRIES` / `GRAVITON_TIMEOUT` | retries per backend call / per-attempt timeout | 3 / `30 seconds` |
 * | `GRAVITON_CONSTRAINTS_*` | `MAX_BLOB_SIZE`, `MAX_CONCURRENT_UPLOADS`, `QUOTA_PER_TENANT`, `RATE_LIMIT_BYTES_PER_SECOND`, `RATE_LIMIT_BURST_SIZE` | 100 GiB, 10, 1 TiB, none |
 * | `GRAVITON_SPILL_*` | `THRESHOLD`, `DIRECTORY`, `MAX_AGE`, `MAX_TOTAL` | 64 MiB, tmp, 1 hour, 10 GiB |
 * | `GRAVITON_RETENTION_POLICY` | JSON retention spec, e.g. `{"_tag":"TimeBased","days":30}` | keep forever |
 * | `GRAVITON_GC_MIN_AGE` | GC spares blocks touched more recently | `1 hour` |
 * | `GRAVITON_UPLOAD_TTL` | lifetime of a resumable upload session | `24 hours` |
 *
 * Backend packages read their own settings under the same prefix (`GRAVITON_PG_*`, `GRAVITON_S3_*`, `GRAVITON_LEVEL_*`).
 *
 * @since 0.1.0
 */
import { Chunker, HashAlgorithm } from "@graviton/core"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as ConstraintPolicy from "./ConstraintPolicy.ts"
import * as RetentionPolicy from "./RetentionPolicy.ts"
import * as SpillPolicy from "./SpillPolicy.ts"

export const backends = ["level", "memory", "pg", "pg+s3"] as const
export type Backend = (typeof backends)[number]

export const compressions = ["none", "zstd", "auto"] as const
export type Compression = (typeof compressions)[number]

export interface GravitonConfig {
  readonly backend: Backend
  readonly dataDir: string
  readonly chunker: Chunker.ValidParams
  readonly algorithm: HashAlgorithm.HashAlgorithm
  readonly compression: Compression
  readonly parallelism: number
  readonly readAhead: number
  readonly readBatch: number
  readonly blockCacheBytes: number
  readonly manifestCacheBytes: number
  readonly retries: number
  readonly timeout: Duration.Duration
  readonly constraints: ConstraintPolicy.ConstraintConfig
  readonly spill: SpillPolicy.SpillConfig
  readonly retention: RetentionPolicy.Spec
  readonly gcMinAge: Duration.Duration
  readonly uploadTtl: Duration.Duration
}

/** The defaults (embedded level backend in `./.graviton`). */
export const defaults: GravitonConfig = {
  backend: "level",
  dataDir: "./.graviton",
  chunker: Chunker.defaults,
  algorithm: HashAlgorithm.defaultAlgorithm,
  compression: "none",
  parallelism: 4,
  readAhead: 256,
  readBatch: 64,
  blockCacheBytes: 64 * 1024 * 1024,
  manifestCacheBytes: 16 * 1024 * 1024,
  retries: 3,
  timeout: Duration.seconds(30),
  constraints: ConstraintPolicy.defaults,
  spill: SpillPolicy.resolveConfig(),
  retention: { _tag: "Infinite" },
  gcMinAge: Duration.hours(1),
  uploadTtl: Duration.hours(24)
}

/** Overrides on top of {@link defaults}. */
export const make = (overrides: Partial<GravitonConfig> = {}): GravitonConfig => ({ ...defaults, ...overrides })

/** A chunker id that parses (the filter reports why it does not). */
const ChunkerIdString = Schema.String.check(
  Schema.makeFilter((id: string) => {
    const r = Chunker.parseId(id)
    return Result.isSuccess(r) ? undefined : r.failure.message
  })
)

const chunkerConfig = (name: string): Config.Config<Chunker.ValidParams> =>
  Config.schema(ChunkerIdString, name).pipe(Config.map((id) => Result.getOrThrow(Chunker.parseId(id))))

/** Reads the configuration; nest it to change the prefix (the default reads `GRAVITON_*`). */
export const config: Config.Config<GravitonConfig> = Config.all({
  backend: Config.Literals(backends, "BACKEND").pipe(Config.withDefault(defaults.backend)),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault(defaults.dataDir)),
  chunker: chunkerConfig("CHUNKER").pipe(Config.withDefault(defaults.chunker)),
  algorithm: Config.Literals(HashAlgorithm.names, "HASH").pipe(Config.withDefault(defaults.algorithm)),
  compression: Config.Literals(compressions, "COMPRESSION").pipe(Config.withDefault(defaults.compression)),
  parallelism: Config.Int("PARALLELISM").pipe(Config.withDefault(defaults.parallelism)),
  readAhead: Config.Int("READ_AHEAD").pipe(Config.withDefault(defaults.readAhead)),
  readBatch: Config.Int("READ_BATCH").pipe(Config.withDefault(defaults.readBatch)),
  blockCacheBytes: Config.Int("BLOCK_CACHE_BYTES").pipe(Config.withDefault(defaults.blockCacheBytes)),
  manifestCacheBytes: Config.Int("MANIFEST_CACHE_BYTES").pipe(Config.withDefault(defaults.manifestCacheBytes)),
  retries: Config.Int("RETRIES").pipe(Config.withDefault(defaults.retries)),
  timeout: Config.Duration("TIMEOUT").pipe(Config.withDefault(defaults.timeout)),
  constraints: ConstraintPolicy.config.pipe(Config.nested("CONSTRAINTS")),
  spill: SpillPolicy.config.pipe(Config.nested("SPILL")),
  retention: RetentionPolicy.config.pipe(Config.nested("RETENTION")),
  gcMinAge: Config.Duration("GC_MIN_AGE").pipe(Config.withDefault(defaults.gcMinAge)),
  uploadTtl: Config.Duration("UPLOAD_TTL").pipe(Config.withDefault(defaults.uploadTtl))
}).pipe(Config.nested("GRAVITON"))
