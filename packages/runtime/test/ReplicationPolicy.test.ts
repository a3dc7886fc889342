import { createHash } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { ReplicationPolicy } from "@graviton/runtime"
import { Schema } from "effect"

type Sector = ReplicationPolicy.Sector

const keyOf = (i: number) => `sha-256:${createHash("sha256").update(String(i)).digest("hex")}:${i}`
const KEYS = Array.from({ length: 2000 }, (_, i) => keyOf(i))

const sectors = (n: number, from = 0): Array<Sector> => Array.from({ length: n }, (_, i) => ({ id: `s${from + i}` }))
const ids = (ss: ReadonlyArray<Sector>) => ss.map((s) => s.id)

const strategies: ReadonlyArray<readonly [string, ReplicationPolicy.ReplicationPolicy]> = [
  ["random", ReplicationPolicy.random()],
  ["random seed 7", ReplicationPolicy.random({ seed: 7 })],
  ["rackAware", ReplicationPolicy.rackAware()],
  ["costOptimized", ReplicationPolicy.costOptimized()]
]

const shuffle = <A>(xs: ReadonlyArray<A>, seed: number): Array<A> => {
  const out = xs.slice()
  let s = seed >>> 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe("ReplicationPolicy", () => {
  describe.each(strategies)("%s", (_name, policy) => {
    it.prop(
      "selects min(count, eligible) distinct healthy sectors, independent of input order",
      [
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 12 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 6 })),
        Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1999 })),
        Schema.Int
      ],
      ([n, count, k, seed]) => {
        const all = sectors(n).map((s, i) => (i % 5 === 4 ? { ...s, healthy: false } : s))
        const healthy = all.filter((s) => s.healthy !== false)
        const a = policy.selectSectors(KEYS[k]!, count, all)
        const b = policy.selectSectors(KEYS[k]!, count, shuffle(all, seed))
        assert.deepStrictEqual(ids(a), ids(b))
        assert.strictEqual(a.length, Math.min(count, healthy.length))
        assert.strictEqual(new Set(ids(a)).size, a.length)
        assert.isTrue(a.every((s) => s.healthy !== false))
      }
    )

    it("removing a sector only moves keys that were on it", () => {
      const before = sectors(10)
      for (const removed of ["s0", "s3", "s9"]) {
        const after = before.filter((s) => s.id !== removed)
        for (const key of KEYS.slice(0, 500)) {
          const was = ids(policy.selectSectors(key, 3, before))
          const now = ids(policy.selectSectors(key, 3, after))
          if (!was.includes(removed)) assert.deepStrictEqual(now, was, key)
          else
            assert.isTrue(
              was.filter((id) => id !== removed).every((id) => now.includes(id)),
              key
            ) // survivors stay
        }
      }
    })

    it("a sector marked unhealthy is avoided like a removed one", () => {
      const all = sectors(6)
      const sick = all.map((s) => (s.id === "s2" ? { ...s, healthy: false } : s))
      const gone = all.filter((s) => s.id !== "s2")
      for (const key of KEYS.slice(0, 200)) {
        assert.deepStrictEqual(ids(policy.selectSectors(key, 2, sick)), ids(policy.selectSectors(key, 2, gone)))
      }
    })

    it("needsRebalance flags under-, over-replication and missing ranges", () => {
      assert.isFalse(policy.needsRebalance({ target: 3, actual: 3, healthy: 3 }))
      assert.isTrue(policy.needsRebalance({ target: 3, actual: 3, healthy: 2 }))
      assert.isTrue(policy.needsRebalance({ target: 3, actual: 2, healthy: 2 }))
      assert.isTrue(policy.needsRebalance({ target: 3, actual: 4, healthy: 4 }))
      assert.isTrue(policy.needsRebalance({ target: 3, actual: 3, healthy: 3, missingRanges: [{ start: 0, end: 1 }] }))
    })

    it("selectRepairTargets never returns a current sector, and is deterministic", () => {
      const all = sectors(8)
      for (const key of KEYS.slice(0, 200)) {
        const current = policy.selectSectors(key, 3, all)
        const damaged = current.map((s, i) => (i === 0 ? { ...s, healthy: false } : s))
        const targets = policy.selectRepairTargets(key, damaged, all, 1)
        assert.strictEqual(targets.length, 1)
        assert.isFalse(ids(current).includes(targets[0]!.id))
        assert.deepStrictEqual(ids(policy.selectRepairTargets(key, damaged, shuffle(all, 3), 1)), ids(targets))
      }
      assert.deepStrictEqual(policy.selectRepairTargets(KEYS[0]!, all, all, 2), [])
    })

    it("non-positive or non-finite counts select nothing", () => {
      assert.deepStrictEqual(policy.selectSectors(KEYS[0]!, 0, sectors(3)), [])
      assert.deepStrictEqual(policy.selectSectors(KEYS[0]!, -1, sectors(3)), [])
      assert.deepStrictEqual(policy.selectSectors(KEYS[0]!, Number.NaN, sectors(3)), [])
    })
  })

  describe("rendezvous stability and spread (random)", () => {
    it.each([
      [5, 1],
      [5, 3],
      [10, 3],
      [20, 2]
    ])("adding one sector to %i moves about count/(n+1) of placements (count %i)", (n, count) => {
      const policy = ReplicationPolicy.random()
      const before = sectors(n)
      const after = [...before, { id: "new" }]
      let moved = 0
      for (const key of KEYS) {
        const was = ids(policy.selectSectors(key, count, before))
        const now = ids(policy.selectSectors(key, count, after))
        if (now.join() === was.join()) continue
        moved++
        // a key moves only to take the new sector, keeping all but one of its old replicas
        assert.isTrue(now.includes("new"))
        assert.strictEqual(now.filter((id) => was.includes(id)).length, count - 1)
      }
      const expected = count / (n + 1)
      const fraction = moved / KEYS.length
      assert.isAtMost(fraction, expected * 1.25 + 0.01, `moved ${fraction}, expected ~${expected}`)
      assert.isAtLeast(fraction, expected * 0.75 - 0.01, `moved ${fraction}, expected ~${expected}`)
    })

    it("spreads replicas evenly over the sectors", () => {
      const policy = ReplicationPolicy.random()
      const all = sectors(8)
      const load = new Map<string, number>()
      for (const key of KEYS)
        for (const s of policy.selectSectors(key, 3, all)) load.set(s.id, (load.get(s.id) ?? 0) + 1)
      const mean = (KEYS.length * 3) / 8
      for (const [, n] of load) assert.isTrue(Math.abs(n - mean) < mean * 0.15, `load ${n} vs mean ${mean}`)
    })

    it("different seeds give independent placements", () => {
      const a = ReplicationPolicy.random({ seed: 1 })
      const b = ReplicationPolicy.random({ seed: 2 })
      const all = sectors(10)
      const same = KEYS.filter((k) => a.selectSectors(k, 1, all)[0]!.id === b.selectSectors(k, 1, all)[0]!.id).length
      assert.isTrue(Math.abs(same / KEYS.length - 0.1) < 0.03)
    })
  })

  describe("rackAware", () => {
    // 3 zones x 2 racks x 2 sectors
    const grid: Array<Sector> = []
    for (const zone of ["a", "b", "c"])
      for (const rack of ["1", "2"])
        for (const n of [1, 2]) grid.push({ id: `${zone}${rack}-${n}`, zone, rack: `${zone}${rack}` })

    it("puts replicas in distinct zones first, then distinct racks", () => {
      const policy = ReplicationPolicy.rackAware()
      for (const key of KEYS.slice(0, 500)) {
        const three = policy.selectSectors(key, 3, grid)
        assert.strictEqual(new Set(three.map((s) => s.zone)).size, 3)
        const six = policy.selectSectors(key, 6, grid)
        assert.strictEqual(new Set(six.map((s) => s.rack)).size, 6)
        const eight = policy.selectSectors(key, 8, grid)
        assert.strictEqual(new Set(ids(eight)).size, 8)
      }
    })

    it("removing a sector only moves keys that were on it, also across failure domains", () => {
      const policy = ReplicationPolicy.rackAware()
      for (const removed of grid) {
        const after = grid.filter((s) => s.id !== removed.id)
        for (const key of KEYS.slice(0, 150)) {
          const was = ids(policy.selectSectors(key, 4, grid))
          if (!was.includes(removed.id)) assert.deepStrictEqual(ids(policy.selectSectors(key, 4, after)), was, key)
        }
      }
    })

    it("still spreads within the domains by rendezvous weight", () => {
      const policy = ReplicationPolicy.rackAware()
      const first = new Map<string, number>()
      for (const key of KEYS) {
        const s = policy.selectSectors(key, 1, grid)[0]!
        first.set(s.id, (first.get(s.id) ?? 0) + 1)
      }
      assert.strictEqual(first.size, grid.length)
    })

    it("the topology map overrides the sectors' own domains", () => {
      const flat = sectors(4) // no domains: s0,s1 in zone x; s2,s3 in zone y via topology
      const policy = ReplicationPolicy.rackAware({
        s0: { zone: "x" },
        s1: { zone: "x" },
        s2: { zone: "y" },
        s3: { zone: "y" }
      })
      for (const key of KEYS.slice(0, 300)) {
        const two = ids(policy.selectSectors(key, 2, flat))
        const zones = two.map((id) => (id === "s0" || id === "s1" ? "x" : "y"))
        assert.notStrictEqual(zones[0], zones[1])
      }
    })

    it("repair targets avoid the zones of the healthy replicas", () => {
      const policy = ReplicationPolicy.rackAware()
      for (const key of KEYS.slice(0, 300)) {
        const current = policy.selectSectors(key, 3, grid)
        const lost = current[1]!
        const survivors = current.filter((s) => s.id !== lost.id)
        const [target] = policy.selectRepairTargets(
          key,
          current.map((s) => (s.id === lost.id ? { ...s, healthy: false } : s)),
          grid.filter((s) => s.id !== lost.id),
          1
        )
        assert.isDefined(target)
        assert.strictEqual(target!.zone, lost.zone) // the only zone without a healthy replica
        assert.isFalse(survivors.some((s) => s.id === target!.id))
      }
    })
  })

  describe("costOptimized", () => {
    const priced: Array<Sector> = [
      { id: "cheap-1", costPerGiB: 1 },
      { id: "cheap-2", costPerGiB: 1 },
      { id: "mid", costPerGiB: 5 },
      { id: "dear", costPerGiB: 20 },
      { id: "unknown" }
    ]

    it("takes the cheapest sectors first, unknown prices last", () => {
      const policy = ReplicationPolicy.costOptimized()
      for (const key of KEYS.slice(0, 100)) {
        const got = ids(policy.selectSectors(key, 5, priced))
        assert.deepStrictEqual(got.slice(0, 2).sort(), ["cheap-1", "cheap-2"])
        assert.deepStrictEqual(got.slice(2), ["mid", "dear", "unknown"])
      }
    })

    it("breaks ties by rendezvous weight, so tied sectors share the load", () => {
      const policy = ReplicationPolicy.costOptimized()
      const firsts = new Set(KEYS.slice(0, 200).map((k) => policy.selectSectors(k, 1, priced)[0]!.id))
      assert.deepStrictEqual([...firsts].sort(), ["cheap-1", "cheap-2"])
    })

    it("the pricing map overrides costPerGiB", () => {
      const policy = ReplicationPolicy.costOptimized({ dear: 0 })
      assert.strictEqual(policy.selectSectors(KEYS[0]!, 1, priced)[0]!.id, "dear")
    })
  })

  describe("as data", () => {
    it("sectors and strategies decode from JSON-shaped values", () => {
      const s = Schema.decodeUnknownSync(ReplicationPolicy.Sector)({ id: "s1", zone: "a", costPerGiB: 0.02 })
      assert.deepStrictEqual(s, { id: "s1", zone: "a", costPerGiB: 0.02 })
      assert.throws(() => Schema.decodeUnknownSync(ReplicationPolicy.Sector)({ id: "" }))
      assert.throws(() => Schema.decodeUnknownSync(ReplicationPolicy.Sector)({ id: "x", costPerGiB: -1 }))
      const spec = Schema.decodeUnknownSync(ReplicationPolicy.Spec)({
        _tag: "RackAware",
        topology: { s1: { zone: "a" } }
      })
      const policy = ReplicationPolicy.fromSpec(spec)
      assert.strictEqual(policy.selectSectors(KEYS[0]!, 2, sectors(3)).length, 2)
      assert.deepStrictEqual(
        ids(ReplicationPolicy.fromSpec({ _tag: "Random", seed: 7 }).selectSectors(KEYS[1]!, 3, sectors(9))),
        ids(ReplicationPolicy.random({ seed: 7 }).selectSectors(KEYS[1]!, 3, sectors(9)))
      )
    })
  })
})
