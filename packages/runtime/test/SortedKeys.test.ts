import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { compare, SortedKeys } from "../src/internal/sortedKeys.ts"

/** Key pieces: BMP, high-BMP and astral characters, so prefixes collide and surrogate order matters. */
const units = ["a", "b", "ab", "\u00e9", "\uffee", "\u{1f600}"] as const
const prefixes = ["", "a", "b", "\u{1f600}"] as const
const Unit = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: units.length - 1 }))
const KeyParts = Schema.Array(Unit).check(Schema.isMaxLength(4))
/** An operation: kind (0, 1 add; 2 remove; 3 page), key (or `after`), has-after flag, prefix index, limit. */
const OpSchema = Schema.Tuple([
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })),
  KeyParts,
  Schema.Boolean,
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: prefixes.length - 1 })),
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 6 }))
])
const Ops = Schema.Array(OpSchema)

const keyOf = (parts: ReadonlyArray<number>) => parts.map((u) => units[u]!).join("")

interface PageQuery {
  readonly after: string | undefined
  readonly prefix: string
  readonly limit: number
}

/** The model's answer to a page query: a sorted copy of a plain Set. */
const modelPage = (model: Set<string>, q: PageQuery) => {
  const all = [...model]
    .sort(compare)
    .filter((k) => k.startsWith(q.prefix) && (q.after === undefined || compare(k, q.after) > 0))
  return { keys: all.slice(0, q.limit), more: all.length > q.limit }
}

describe("SortedKeys", () => {
  it.prop(
    "any interleaving of add, remove and page agrees with a sorted Set",
    [Ops],
    ([ops]) => {
      const keys = new SortedKeys()
      const model = new Set<string>()
      for (const [kind, parts, hasAfter, prefix, limit] of ops) {
        const key = keyOf(parts)
        if (kind <= 1) {
          keys.add(key)
          model.add(key)
        } else if (kind === 2) {
          keys.remove(key)
          model.delete(key)
        } else {
          const q: PageQuery = { after: hasAfter ? key : undefined, prefix: prefixes[prefix]!, limit }
          assert.deepStrictEqual(keys.page(q), modelPage(model, q), JSON.stringify(q))
        }
        assert.strictEqual(keys.size, model.size)
      }
      for (const k of model) assert.isTrue(keys.has(k))
      const everything = keys.page({ limit: model.size + 1 })
      assert.deepStrictEqual(everything.keys, [...model].sort(compare))
      assert.isFalse(everything.more)
    },
    { arbitrary: { runs: 300, size: 60 } }
  )

  it("appends ascending keys, merges out-of-order ones at the next query, and never duplicates", () => {
    const keys = new SortedKeys()
    for (const k of ["b", "d", "f"]) keys.add(k)
    for (const k of ["e", "a", "c", "e", "d"]) keys.add(k)
    assert.strictEqual(keys.size, 6)
    assert.deepStrictEqual(keys.page({ limit: 10 }).keys, ["a", "b", "c", "d", "e", "f"])
    assert.strictEqual(keys.lowerBound("c"), 2)
    assert.strictEqual(keys.upperBound("c"), 3)
    keys.remove("c")
    keys.add("c")
    keys.remove("c")
    assert.deepStrictEqual(keys.page({ after: "a", limit: 2 }), { keys: ["b", "d"], more: true })
  })
})
