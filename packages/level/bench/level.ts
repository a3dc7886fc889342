/**
 * Level backend benchmark (not a test): `npm run bench -w @graviton/level`, or
 * `node --conditions=@graviton/source bench/level.ts [--mib 1024] [--dir /tmp] [--write-mode] [--json out.json]`.
 *
 * On N MiB (default 1 GiB) of random data in a file, in one run, it prints:
 * - the raw pipeline ceiling: read the file + FastCDC + SHA-256 per block, nothing stored;
 * - the CAS engine ingesting the file into a level store (pack files indexed by LevelDB, durability `commit`), with
 *   the rate of each quarter of the data, to show it is sustained (optionally also durability `write`);
 * - raw classic-level batched puts of the same blocks (64 per batch; LevelDB defaults, and a 64 MiB write buffer),
 *   i.e. what a values-in-LevelDB block store could reach at best, also per quarter;
 * - raw pack-file appends of the same blocks (the byte path of the shipped design, no index);
 * - a full-blob read through the engine (every block verified) next to raw reads of the same blocks (classic-level
 *   gets, and pack reads), in manifest order with the engine's read-ahead;
 * - the ratios against the targets: ingest >= 0.6x the ceiling, read >= 0.7x raw.
 *
 * Scenario functions are exported for the whole-project bench.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { BinaryKey, Chunker } from "@graviton/core"
import { LevelLayers } from "@graviton/level"
import { BlobStore, BlockStore, ManifestStore } from "@graviton/runtime"
import { ClassicLevel } from "classic-level"
import { Effect, Layer, Stream } from "effect"
import { type Location, PackFiles } from "../src/internal/packFiles.ts"

const MiB = 1024 * 1024

/** A figure: bytes over seconds, with optional per-quarter rates. */
export interface Figure {
  readonly name: string
  readonly bytes: number
  readonly seconds: number
  readonly quarters?: ReadonlyArray<number> | undefined
}

export const mibps = (f: Figure): number => f.bytes / MiB / f.seconds

/** Writes `bytes` of AES-CTR keystream (incompressible, reproducible) to `file`. */
export const makeDataFile = async (file: string, bytes: number): Promise<void> => {
  const cipher = createCipheriv("aes-128-ctr", randomBytes(16), randomBytes(16))
  const fd = fs.openSync(file, "w")
  const zero = Buffer.alloc(8 * MiB)
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(zero.byteLength, bytes - done)
      fs.writeSync(fd, cipher.update(zero.subarray(0, n)))
      done += n
    }
  } finally {
    fs.closeSync(fd)
  }
}

const readStream = (file: string) => fs.createReadStream(file, { highWaterMark: MiB })

/** Tracks when each quarter of `total` bytes went by; `rates()` gives MiB/s per quarter. */
const quarterClock = (total: number) => {
  const marks: Array<number> = [performance.now()]
  let seen = 0
  return {
    add: (n: number) => {
      seen += n
      while (marks.length < 5 && seen >= (total * marks.length) / 4) marks.push(performance.now())
    },
    start: () => {
      marks.length = 0
      marks.push(performance.now())
      seen = 0
    },
    rates: (): Array<number> => marks.slice(1).map((t, i) => total / 4 / MiB / ((t - marks[i]!) / 1000))
  }
}

/** Read + FastCDC + SHA-256 per block, nothing stored: the raw pipeline ceiling. */
export const ceiling = async (file: string): Promise<Figure> => {
  const chunker = Chunker.instantiate(Chunker.defaults)
  let bytes = 0
  const t0 = performance.now()
  for await (const chunk of readStream(file)) {
    const buf = chunk as Buffer
    bytes += buf.byteLength
    for (const b of chunker.push(buf)) createHash("sha256").update(b).digest()
  }
  for (const b of chunker.finish()) createHash("sha256").update(b).digest()
  return { name: "read + FastCDC + SHA-256 (ceiling)", bytes, seconds: (performance.now() - t0) / 1000 }
}

/** The blocks the engine cuts from `file`, with their keys (held in memory for the raw baselines). */
export const blocksOf = async (
  file: string
): Promise<Array<{ readonly key: BinaryKey.BinaryKey; readonly text: string; readonly bytes: Uint8Array }>> => {
  const chunker = Chunker.instantiate(Chunker.defaults)
  const out: Array<{ key: BinaryKey.BinaryKey; text: string; bytes: Uint8Array }> = []
  const add = (b: Uint8Array) => {
    const key = BinaryKey.ofBytes(b)
    out.push({ key, text: BinaryKey.format(key), bytes: b })
  }
  for await (const chunk of readStream(file)) for (const b of chunker.push(chunk as Buffer)) add(b)
  for (const b of chunker.finish()) add(b)
  return out
}

/** Ingests `file` through the CAS engine into a level store at `dir`; returns the figure and the blob key. */
export const engineIngest = (
  file: string,
  dir: string,
  options: Omit<LevelLayers.Options, "path"> = {},
  name = "engine ingest on level (packs)"
) =>
  ingestWith(file, name).pipe(
    Effect.provide(BlobStore.layer().pipe(Layer.provide(LevelLayers.layer({ ...options, path: dir }))))
  )

/** The same ingest on in-memory stores: the engine's own cost, for context. */
export const engineIngestMemory = (file: string) =>
  ingestWith(file, "engine ingest on memory stores (context)").pipe(Effect.provide(BlobStore.layerMemory))

const ingestWith = (file: string, name: string) =>
  Effect.gen(function* () {
    const total = fs.statSync(file).size
    const clock = quarterClock(total)
    const store = yield* BlobStore.BlobStore
    const body = Stream.fromAsyncIterable(readStream(file), (e) => e).pipe(
      Stream.map((c) => c as Uint8Array),
      Stream.tap((c) => Effect.sync(() => clock.add(c.byteLength)))
    )
    clock.start()
    const t0 = performance.now()
    const result = yield* store.put(body)
    const seconds = (performance.now() - t0) / 1000
    return { figure: { name, bytes: total, seconds, quarters: clock.rates() } satisfies Figure, key: result.key }
  })

/** Streams the whole blob back through the engine (verifying every block). */
export const engineRead = (dir: string, key: BinaryKey.BinaryKey, name = "engine full-blob read on level (verified)") =>
  readWith(key, name).pipe(Effect.provide(BlobStore.layer().pipe(Layer.provide(LevelLayers.layer({ path: dir })))))

/** Ingest then full read on memory stores: the engine's own read cost, for context. */
export const engineReadMemory = (file: string) =>
  Effect.gen(function* () {
    const { key } = yield* ingestWith(file, "")
    yield* readWith(key, "")
    return yield* readWith(key, "engine full-blob read on memory stores (context)")
  }).pipe(Effect.provide(BlobStore.layerMemory))

const readWith = (key: BinaryKey.BinaryKey, name: string) =>
  Effect.gen(function* () {
    const store = yield* BlobStore.BlobStore
    let bytes = 0
    const t0 = performance.now()
    yield* Stream.runForEach(store.get(key), (c) =>
      Effect.sync(() => {
        bytes += c.byteLength
      })
    )
    return { name, bytes, seconds: (performance.now() - t0) / 1000 } satisfies Figure
  })

/** The entries of a committed blob, in order. */
export const manifestOf = (dir: string, key: BinaryKey.BinaryKey) =>
  Effect.gen(function* () {
    const manifests = yield* ManifestStore.ManifestStore
    return yield* Stream.runCollect(manifests.entries(key))
  }).pipe(Effect.provide(LevelLayers.layer({ path: dir })))

/**
 * The level BlockStore alone, driven like the engine drives it: batches of 16 blocks, `hasMany(touch)` then
 * `putMany`, 4 batches in flight; then `get` of every block with 4 in flight.
 */
export const levelBlockStore = (
  blocks: ReadonlyArray<{ readonly key: BinaryKey.BinaryKey; readonly bytes: Uint8Array }>,
  dir: string
) =>
  Effect.gen(function* () {
    const store = yield* BlockStore.BlockStore
    const total = blocks.reduce((n, b) => n + b.bytes.byteLength, 0)
    const groups: Array<ReadonlyArray<{ readonly key: BinaryKey.BinaryKey; readonly bytes: Uint8Array }>> = []
    for (let i = 0; i < blocks.length; i += 16) groups.push(blocks.slice(i, i + 16))
    let t0 = performance.now()
    yield* Effect.forEach(
      groups,
      (g) =>
        Effect.andThen(
          store.hasMany(
            g.map((b) => b.key),
            { touch: true }
          ),
          store.putMany(g)
        ),
      { concurrency: 4, discard: true }
    )
    const write: Figure = {
      name: "level BlockStore alone: hasMany+putMany x16, 4 in flight",
      bytes: total,
      seconds: (performance.now() - t0) / 1000
    }
    t0 = performance.now()
    yield* Effect.forEach(blocks, (b) => store.get(b.key), { concurrency: 4, discard: true })
    const read: Figure = {
      name: "level BlockStore alone: get, 4 in flight",
      bytes: total,
      seconds: (performance.now() - t0) / 1000
    }
    return { write, read }
  }).pipe(Effect.provide(LevelLayers.layer({ path: dir })))

/** Raw classic-level batched puts (64 per batch) of `blocks`; values in LevelDB. */
export const rawLevelPuts = async (
  blocks: ReadonlyArray<{ readonly text: string; readonly bytes: Uint8Array }>,
  dir: string,
  options: { readonly writeBufferSize?: number | undefined } = {},
  name = "raw classic-level batched puts (defaults)"
): Promise<Figure> => {
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: "view", ...options })
  await db.open()
  const total = blocks.reduce((n, b) => n + b.bytes.byteLength, 0)
  const clock = quarterClock(total)
  clock.start()
  const t0 = performance.now()
  for (let i = 0; i < blocks.length; i += 64) {
    const batch = blocks.slice(i, i + 64)
    await db.batch(batch.map((b) => ({ type: "put" as const, key: b.text, value: b.bytes })))
    for (const b of batch) clock.add(b.bytes.byteLength)
  }
  const seconds = (performance.now() - t0) / 1000
  await db.close()
  return { name, bytes: total, seconds, quarters: clock.rates() }
}

/** Raw classic-level gets of `blocks` in order, `concurrency` in flight (the engine's read-ahead). */
export const rawLevelGets = async (
  blocks: ReadonlyArray<{ readonly text: string }>,
  dir: string,
  concurrency = 4,
  name = "raw classic-level gets of the same blocks"
): Promise<Figure> => {
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: "view" })
  await db.open()
  let bytes = 0
  const t0 = performance.now()
  await inOrder(blocks.length, concurrency, async (i) => {
    const v = await db.get(blocks[i]!.text)
    bytes += v?.byteLength ?? 0
  })
  const seconds = (performance.now() - t0) / 1000
  await db.close()
  return { name, bytes, seconds }
}

/** Raw pack appends of `blocks` (groups of 16, 4 groups in flight, one fsync at the end). */
export const rawPackAppends = async (
  blocks: ReadonlyArray<{ readonly text: string; readonly bytes: Uint8Array }>,
  dir: string,
  name = "raw pack-file appends (16 per writev, fsync at end)"
): Promise<Figure & { readonly locations: ReadonlyArray<Location> }> => {
  const packs = await PackFiles.open({ dir, maxPackSize: 256 * MiB, maxOpenPacks: 64 })
  const locations: Array<Location> = []
  const total = blocks.reduce((n, b) => n + b.bytes.byteLength, 0)
  const clock = quarterClock(total)
  clock.start()
  const t0 = performance.now()
  const groups = Math.ceil(blocks.length / 16)
  await inOrder(groups, 4, async (g) => {
    const group = blocks.slice(g * 16, g * 16 + 16)
    const locs = await packs.append(group.map((b) => ({ key: b.text, data: b.bytes })))
    locs.forEach((l, j) => {
      locations[g * 16 + j] = l
    })
    for (const b of group) clock.add(b.bytes.byteLength)
  })
  await packs.sync()
  const seconds = (performance.now() - t0) / 1000
  await packs.close()
  return { name, bytes: total, seconds, quarters: clock.rates(), locations }
}

/** Raw pack reads (one pread each, locations known, no index) of the same blocks, `concurrency` in flight. */
export const rawPackReads = async (
  blocks: ReadonlyArray<{ readonly text: string }>,
  locations: ReadonlyArray<Location>,
  dir: string,
  concurrency = 4,
  name = "raw pack reads of the same blocks (no index)"
): Promise<Figure> => {
  const packs = await PackFiles.open({ dir, maxPackSize: 256 * MiB, maxOpenPacks: 64 })
  let bytes = 0
  const t0 = performance.now()
  await inOrder(blocks.length, concurrency, async (i) => {
    const data = await packs.read(locations[i]!, blocks[i]!.text, false)
    bytes += data.byteLength
  })
  const seconds = (performance.now() - t0) / 1000
  await packs.close()
  return { name, bytes, seconds }
}

/** Runs `f(0..n-1)` with at most `concurrency` in flight. */
const inOrder = async (n: number, concurrency: number, f: (i: number) => Promise<void>): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < n) await f(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane))
}

// ---------------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------------

const row = (f: Figure, extra = "") =>
  `${f.name.padEnd(52)} ${mibps(f).toFixed(0).padStart(6)} MiB/s  ${f.seconds.toFixed(2).padStart(7)} s${
    f.quarters === undefined ? "" : `   quarters: ${f.quarters.map((q) => q.toFixed(0)).join(" / ")}`
  }${extra}`

/** The median (by rate) of several runs of a figure. */
const median = (figures: ReadonlyArray<Figure>): Figure => {
  const sorted = [...figures].sort((a, b) => mibps(a) - mibps(b))
  return sorted[Math.floor(sorted.length / 2)]!
}

const main = async () => {
  const { values } = parseArgs({
    options: {
      mib: { type: "string", default: "1024" },
      runs: { type: "string", default: "3" },
      dir: { type: "string", default: os.tmpdir() },
      "write-mode": { type: "boolean", default: false },
      json: { type: "string" }
    }
  })
  const size = Number(values.mib) * MiB
  const runs = Math.max(1, Number(values.runs))
  const root = fs.mkdtempSync(path.join(values.dir, "graviton-level-bench-"))
  const file = path.join(root, "data.bin")
  const fresh = (name: string) => {
    const d = path.join(root, name)
    fs.rmSync(d, { recursive: true, force: true })
    return d
  }
  const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>)
  try {
    console.log(
      `level bench: ${values.mib} MiB of random data, median of ${runs} runs per figure (interleaved), in ${root} (Node ${process.version}, ${os.cpus().length} CPUs)`
    )
    await makeDataFile(file, size)
    const blocks = await blocksOf(file)
    // warm the file into the page cache and the chunker into its optimised code
    await ceiling(file)
    const samples = new Map<string, Array<Figure>>()
    const add = (f: Figure) => {
      const list = samples.get(f.name) ?? []
      list.push(f)
      samples.set(f.name, list)
      return f
    }
    let key: BinaryKey.BinaryKey | undefined
    let packLocations: ReadonlyArray<Location> = []
    for (let r = 0; r < runs; r++) {
      add(await ceiling(file))
      const ingested = await run(engineIngest(file, fresh("engine")))
      add(ingested.figure)
      key = ingested.key
      if (values["write-mode"]) {
        add(
          (
            await run(
              engineIngest(
                file,
                fresh("engine-write"),
                { durability: "write" },
                "engine ingest on level, durability write"
              )
            )
          ).figure
        )
      }
      add((await run(engineIngestMemory(file))).figure)
      const store = await run(levelBlockStore(blocks, fresh("store")))
      add(store.write)
      add(store.read)
      add(await rawLevelPuts(blocks, fresh("raw-level")))
      add(
        await rawLevelPuts(
          blocks,
          fresh("raw-level-64m"),
          { writeBufferSize: 64 * MiB },
          "raw classic-level batched puts (64 MiB write buffer)"
        )
      )
      const packs = await rawPackAppends(blocks, fresh("raw-packs"))
      packLocations = packs.locations
      add({ name: packs.name, bytes: packs.bytes, seconds: packs.seconds, quarters: packs.quarters })
    }
    // reads: the same blocks in manifest order, each path warmed once, then measured `runs` times interleaved
    const entries = await run(manifestOf(path.join(root, "engine"), key!))
    const order = entries.map((e) => ({ text: BinaryKey.format(e.blockKey) }))
    const byText = new Map(blocks.map((b, i) => [b.text, packLocations[i]!] as const))
    const orderLocations = order.map((o) => byText.get(o.text)!)
    await run(engineRead(path.join(root, "engine"), key!))
    await rawLevelGets(order, path.join(root, "raw-level"))
    await rawPackReads(order, orderLocations, path.join(root, "raw-packs"))
    for (let r = 0; r < runs; r++) {
      add(await run(engineRead(path.join(root, "engine"), key!)))
      add(await rawLevelGets(order, path.join(root, "raw-level")))
      add(await rawPackReads(order, orderLocations, path.join(root, "raw-packs")))
      add(await run(engineReadMemory(file)))
    }

    const m = (name: string) => median(samples.get(name) ?? [])
    const top = m("read + FastCDC + SHA-256 (ceiling)")
    const ingest = m("engine ingest on level (packs)")
    const memIngest = m("engine ingest on memory stores (context)")
    const rawDefaults = m("raw classic-level batched puts (defaults)")
    const read = m("engine full-blob read on level (verified)")
    const rawGets = m("raw classic-level gets of the same blocks")
    const rawPack = m("raw pack reads of the same blocks (no index)")
    const x = (a: Figure, b: Figure) => `${(mibps(a) / mibps(b)).toFixed(2)}x`
    console.log("\ningest")
    console.log(row(top))
    console.log(row(ingest, `   ${x(ingest, top)} ceiling`))
    if (values["write-mode"]) {
      const w = m("engine ingest on level, durability write")
      console.log(row(w, `   ${x(w, top)} ceiling`))
    }
    console.log(row(memIngest, `   ${x(memIngest, top)} ceiling`))
    console.log(row(m("level BlockStore alone: hasMany+putMany x16, 4 in flight")))
    console.log(row(rawDefaults))
    console.log(row(m("raw classic-level batched puts (64 MiB write buffer)")))
    console.log(row(m("raw pack-file appends (16 per writev, fsync at end)")))
    console.log("\nfull-blob read (same blocks, manifest order, 4 in flight)")
    console.log(row(read, `   ${x(read, rawGets)} raw gets, ${x(read, rawPack)} raw pack reads`))
    const memRead = m("engine full-blob read on memory stores (context)")
    console.log(row(memRead))
    console.log(row(m("level BlockStore alone: get, 4 in flight")))
    console.log(row(rawGets))
    console.log(row(rawPack))

    const ingestRatio = mibps(ingest) / mibps(top)
    const slowestQuarter = Math.min(...(ingest.quarters ?? [0])) / mibps(top)
    const readRatio = mibps(read) / mibps(rawGets)
    console.log("")
    console.log(
      `ingest: ${ingestRatio.toFixed(2)}x ceiling, slowest quarter ${slowestQuarter.toFixed(2)}x (target >= 0.6): ${
        ingestRatio >= 0.6 && slowestQuarter >= 0.6 ? "OK" : "BELOW TARGET"
      }; the engine on memory stores reaches ${x(memIngest, top)}, level keeps ${x(ingest, memIngest)} of that`
    )
    console.log(
      `read:   ${readRatio.toFixed(2)}x raw classic-level gets (target >= 0.7): ${readRatio >= 0.7 ? "OK" : "BELOW TARGET"}; the engine on memory stores reads at ${x(memRead, rawGets)} raw gets`
    )
    console.log(
      `values in LevelDB (raw batched puts, defaults): ${x(rawDefaults, top)} ceiling, slowest quarter ${(
        Math.min(...(rawDefaults.quarters ?? [0])) / mibps(top)
      ).toFixed(2)}x — below the target before any engine cost, hence pack files`
    )
    if (values.json !== undefined) {
      const out = [...samples.entries()].map(([name, list]) => ({
        name,
        mibps: list.map(mibps),
        median: mibps(median(list))
      }))
      fs.writeFileSync(values.json, JSON.stringify({ mib: Number(values.mib), runs, figures: out }, null, 2))
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

if (import.meta.main) await main()
