/**
 * `ReplicationPolicy`: where the replicas of a block go. Pure and deterministic — the same key, count and set of
 * sectors give the same answer in every process, whatever order the sectors are listed in.
 *
 * Placement is **rendezvous (highest-random-weight) hashing**: every sector gets a pseudo-random weight for the key
 * (a hash of `(key, sector id)`), and the highest weights win. That makes placement stable under membership change:
 * adding a sector moves a key only if the new sector ranks among its top `count` (about `count / n` of the keys),
 * and removing a sector moves only the keys that had a replica on it.
 *
 * Strategies:
 * - `random({ seed })` — plain rendezvous; the seed gives an independent, equally uniform placement.
 * - `rackAware(topology)` — rendezvous order, but distinct failure domains first: one sector per **zone**, then
 *   per **rack**, then the rest by weight. A sector's zone and rack come from `topology` (by sector id) or the
 *   sector itself; a sector with neither is its own domain. Removing a sector still moves only keys placed on it.
 * - `costOptimized(pricing)` — cheapest sectors first (price from `pricing` by id, else `costPerGiB`, else last),
 *   ties broken by rendezvous weight.
 *
 * Sectors with `healthy: false` are never selected. When fewer eligible sectors exist than asked for, all of them
 * are returned (callers compare the length with the replication factor).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { rendezvousWeight } from "./internal/policyHash.ts"

/** A placement target: a named `BlockStore` with optional failure-domain and pricing information. */
export const Sector = Schema.Struct({
  id: Schema.String.check(Schema.isMinLength(1, { message: "sector id cannot be empty" })),
  rack: Schema.optionalKey(Schema.String),
  zone: Schema.optionalKey(Schema.String),
  costPerGiB: Schema.optionalKey(
    Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0, { message: "cost cannot be negative" }))
  ),
  /** `false` excludes the sector from placement; absent means healthy. */
  healthy: Schema.optionalKey(Schema.Boolean)
})
/** Decoded {@link Sector}. */
export type Sector = typeof Sector.Type

/** Failure-domain overrides by sector id. */
export const Topology = Schema.Record(
  Schema.String,
  Schema.Struct({ rack: Schema.optionalKey(Schema.String), zone: Schema.optionalKey(Schema.String) })
)
export type Topology = typeof Topology.Type

/** Price per GiB overrides by sector id. */
export const Pricing = Schema.Record(Schema.String, Schema.Number.check(Schema.isFinite()))
export type Pricing = typeof Pricing.Type

/** A strategy as data (for config), turned into the service by {@link fromSpec}. */
export const Spec = Schema.Union([
  Schema.TaggedStruct("Random", { seed: Schema.optionalKey(Schema.Int) }),
  Schema.TaggedStruct("RackAware", { topology: Schema.optionalKey(Topology) }),
  Schema.TaggedStruct("CostOptimized", { pricing: Schema.optionalKey(Pricing) })
])
/** Decoded {@link Spec}. */
export type Spec = typeof Spec.Type

/** The part of a replication status the policy looks at (`ReplicaIndex.status` gives one). */
export interface ReplicationStatusLike {
  /** Replicas wanted. */
  readonly target: number
  /** Replicas recorded. */
  readonly actual: number
  /** Recorded replicas that are healthy. */
  readonly healthy: number
  /** Byte ranges some replica is missing, if tracked. */
  readonly missingRanges?: ReadonlyArray<unknown> | undefined
}

/** Deterministic replica placement; see the module doc for the strategies. */
export interface ReplicationPolicy {
  /** Up to `count` distinct healthy sectors for `key`, best first. Deterministic; independent of input order. */
  readonly selectSectors: (key: string, count: number, available: ReadonlyArray<Sector>) => ReadonlyArray<Sector>
  /**
   * Whether the key's replicas need work: fewer healthy replicas than the target, more replicas than the target,
   * or missing ranges.
   */
  readonly needsRebalance: (status: ReplicationStatusLike) => boolean
  /**
   * Up to `count` new sectors to add replicas of `key` to, never one in `current`; the rack-aware strategy avoids
   * the failure domains of the healthy sectors in `current` first. Deterministic.
   */
  readonly selectRepairTargets: (
    key: string,
    current: ReadonlyArray<Sector>,
    available: ReadonlyArray<Sector>,
    count: number
  ) => ReadonlyArray<Sector>
}

/** The `ReplicationPolicy` service tag. */
export const ReplicationPolicy: Context.Service<ReplicationPolicy, ReplicationPolicy> = Context.Service(
  "@graviton/runtime/ReplicationPolicy"
)

const eligible = (available: ReadonlyArray<Sector>, exclude?: ReadonlySet<string>): Array<Sector> => {
  const seen = new Set<string>()
  const out: Array<Sector> = []
  for (const s of available) {
    if (s.healthy === false || seen.has(s.id) || exclude?.has(s.id)) continue
    seen.add(s.id)
    out.push(s)
  }
  return out
}

const normalizeCount = (count: number): number => (Number.isFinite(count) && count > 0 ? Math.floor(count) : 0)

const needsRebalance = (status: ReplicationStatusLike): boolean =>
  status.healthy < status.target || status.actual > status.target || (status.missingRanges?.length ?? 0) > 0

interface Ranked {
  readonly sector: Sector
  readonly weight: number
}

const byWeight = (a: Ranked, b: Ranked): number =>
  b.weight - a.weight || (a.sector.id < b.sector.id ? -1 : a.sector.id > b.sector.id ? 1 : 0)

const rankByWeight = (key: string, sectors: ReadonlyArray<Sector>, seed: number): Array<Ranked> =>
  sectors.map((sector) => ({ sector, weight: rendezvousWeight(key, sector.id, seed) })).sort(byWeight)

/** Builds a policy from an ordering and an optional failure-domain function. */
const fromRanking = (
  rank: (key: string, sectors: ReadonlyArray<Sector>) => ReadonlyArray<Sector>,
  domains?: (s: Sector) => readonly [string, string]
): ReplicationPolicy => {
  const pick = (
    ordered: ReadonlyArray<Sector>,
    count: number,
    seeded: ReadonlyArray<Sector>
  ): ReadonlyArray<Sector> => {
    if (domains === undefined) return ordered.slice(0, count)
    const used = [new Set<string>(), new Set<string>()] as const
    const mark = (s: Sector) => {
      const [a, b] = domains(s)
      used[0].add(a)
      used[1].add(b)
    }
    for (const s of seeded) mark(s)
    const taken = new Set<string>()
    const out: Array<Sector> = []
    for (const level of [0, 1, 2] as const) {
      for (const s of ordered) {
        if (out.length >= count) return out
        if (taken.has(s.id)) continue
        if (level < 2 && used[level as 0 | 1].has(domains(s)[level as 0 | 1])) continue
        taken.add(s.id)
        out.push(s)
        mark(s)
      }
    }
    return out
  }
  return ReplicationPolicy.of({
    selectSectors: (key, count, available) => {
      const n = normalizeCount(count)
      return n === 0 ? [] : pick(rank(key, eligible(available)), n, [])
    },
    needsRebalance,
    selectRepairTargets: (key, current, available, count) => {
      const n = normalizeCount(count)
      if (n === 0) return []
      const exclude = new Set(current.map((s) => s.id))
      const healthyCurrent = current.filter((s) => s.healthy !== false)
      return pick(rank(key, eligible(available, exclude)), n, healthyCurrent)
    }
  })
}

/** Plain rendezvous hashing; `seed` selects an independent placement (default 0). */
export const random = (options: { readonly seed?: number | undefined } = {}): ReplicationPolicy => {
  const seed = options.seed ?? 0
  return fromRanking((key, sectors) => rankByWeight(key, sectors, seed).map((r) => r.sector))
}

/** Distinct zones first, then distinct racks, then by rendezvous weight. */
export const rackAware = (topology: Topology = {}): ReplicationPolicy =>
  fromRanking(
    (key, sectors) => rankByWeight(key, sectors, 0).map((r) => r.sector),
    (s) => {
      const t = Object.hasOwn(topology, s.id) ? topology[s.id] : undefined
      const zone = t?.zone ?? s.zone
      const rack = t?.rack ?? s.rack
      const zoneKey = zone !== undefined ? `z:${zone}` : rack !== undefined ? `r:${rack}` : `s:${s.id}`
      const rackKey = rack !== undefined ? `r:${zone ?? ""}/${rack}` : `s:${s.id}`
      return [zoneKey, rackKey] as const
    }
  )

/** Cheapest first (unknown prices last), ties by rendezvous weight. */
export const costOptimized = (pricing: Pricing = {}): ReplicationPolicy => {
  const cost = (s: Sector): number =>
    (Object.hasOwn(pricing, s.id) ? pricing[s.id] : undefined) ?? s.costPerGiB ?? Number.POSITIVE_INFINITY
  return fromRanking((key, sectors) =>
    sectors
      .map((sector) => ({ sector, weight: rendezvousWeight(key, sector.id, 0), cost: cost(sector) }))
      .sort((a, b) => (a.cost === b.cost ? byWeight(a, b) : a.cost < b.cost ? -1 : 1))
      .map((r) => r.sector)
  )
}

/** The service described by `spec`. */
export const fromSpec = (spec: Spec): ReplicationPolicy => {
  switch (spec._tag) {
    case "Random":
      return random({ seed: spec.seed })
    case "RackAware":
      return rackAware(spec.topology)
    case "CostOptimized":
      return costOptimized(spec.pricing)
  }
}

/** The policy as a layer. */
export const layer = (policy: ReplicationPolicy): Layer.Layer<ReplicationPolicy> =>
  Layer.succeed(ReplicationPolicy, policy)

/** Rendezvous placement with seed 0: the default. */
export const layerRandom: Layer.Layer<ReplicationPolicy> = Layer.sync(ReplicationPolicy, () => random())
