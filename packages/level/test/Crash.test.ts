import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { BinaryKey } from "@graviton/core"
import { LevelLayers, LevelStore } from "@graviton/level"
import { BlobStore } from "@graviton/runtime"
import { Generators as Gen } from "@graviton/runtime/testing"
import { Effect, Layer, Option, Stream } from "effect"
import { bytesOf, spec } from "./fixtures/crashData.ts"

const child = fileURLToPath(new URL("./fixtures/ingestChild.ts", import.meta.url))
const rounds = 20

interface Acked {
  readonly round: number
  readonly index: number
  readonly key: string
}

/** Runs one child on `dir`, SIGKILLs it `delayMs` after it reported the store open; returns what it acknowledged. */
const runChild = (dir: string, round: number, delayMs: number) =>
  Effect.promise(
    () =>
      new Promise<{ readonly acked: ReadonlyArray<Acked>; readonly stderr: string }>((resolve, reject) => {
        const proc = spawn(process.execPath, ["--conditions=@graviton/source", child, dir, String(round)], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        let stderr = ""
        let timer: NodeJS.Timeout | undefined
        proc.stdout.setEncoding("utf8")
        proc.stderr.setEncoding("utf8")
        proc.stderr.on("data", (d: string) => {
          stderr += d
        })
        proc.stdout.on("data", (d: string) => {
          out += d
          if (timer === undefined && out.includes("READY\n")) {
            timer = setTimeout(() => proc.kill("SIGKILL"), delayMs)
          }
        })
        proc.on("error", reject)
        proc.on("exit", (code, signal) => {
          if (timer !== undefined) clearTimeout(timer)
          if (signal !== "SIGKILL") {
            reject(new Error(`child exited with ${code ?? signal} before it was killed: ${stderr}`))
            return
          }
          const acked: Array<Acked> = []
          for (const line of out.split("\n")) {
            const m = /^ACK (\d+) (\S+)$/.exec(line)
            if (m !== null) acked.push({ round, index: Number(m[1]), key: m[2]! })
          }
          resolve({ acked, stderr })
        })
      })
  )

const readAll = (store: BlobStore.BlobStore, key: BinaryKey.BinaryKey) =>
  Effect.map(Stream.runCollect(store.get(key)), Gen.concat)

describe("crash safety", () => {
  it.live(
    `a child ingesting through the CAS engine is SIGKILLed at random moments (${rounds} rounds); every acknowledged blob survives byte-exact, nothing partial is visible`,
    () =>
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graviton-level-sigkill-"))
        const acknowledged = new Map<string, Acked>()
        const verified = new Set<string>()
        let totalAcked = 0
        let truncations = 0
        for (let round = 1; round <= rounds; round++) {
          // early rounds die during startup or the first puts, later ones mid-stream
          const delay = round % 4 === 1 ? Math.floor(Math.random() * 60) : Math.floor(Math.random() * 900)
          const { acked } = yield* runChild(dir, round, delay)
          totalAcked += acked.length
          for (const a of acked) acknowledged.set(a.key, a)
          yield* Effect.scoped(
            Effect.gen(function* () {
              const store = yield* BlobStore.BlobStore
              const level = yield* LevelStore.LevelStore
              if (level.recovery.truncatedBytes > 0) truncations++
              // every blob acknowledged in this round, and a sample of older ones, reads back byte-exact
              const older = [...acknowledged.values()].filter((a) => a.round < round)
              const sample = older.sort(() => Math.random() - 0.5).slice(0, 4)
              for (const a of [...acked, ...sample]) {
                const key = BinaryKey.parse(a.key)
                assert.isTrue(key._tag === "Success", a.key)
                if (key._tag !== "Success") continue
                const want = bytesOf(spec(a.round, a.index))
                assert.isTrue(Option.isSome(yield* store.stat(key.success)), `acknowledged ${a.key} is missing`)
                assert.isTrue(Gen.bytesEqual(yield* readAll(store, key.success), want), `${a.key} differs`)
              }
              // nothing partial: every visible blob (acknowledged or committed just before the kill) verifies
              const listed = yield* Stream.runCollect(store.stream())
              for (const s of listed) {
                const id = BinaryKey.format(s.key)
                if (verified.has(id)) continue
                const report = yield* store.verify(s.key)
                assert.isTrue(report.ok, `visible blob ${id} does not verify`)
                verified.add(id)
              }
              for (const id of acknowledged.keys()) assert.isTrue(verified.has(id), `${id} is not listed`)
              if (round % 5 === 0) assert.deepStrictEqual((yield* level.verify).badRows, [])
            }).pipe(
              Effect.provide(
                BlobStore.layer().pipe(
                  Layer.provideMerge(LevelLayers.layer({ path: dir, maxPackSize: 4 * 1024 * 1024 }))
                )
              )
            )
          )
        }
        // the children did work: blobs were acknowledged across rounds
        assert.isAbove(totalAcked, rounds)
        assert.isAtLeast(acknowledged.size, rounds / 2)
        yield* Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        console.log(
          `crash test: ${totalAcked} acknowledged puts, ${truncations} recoveries cut a torn tail, ${acknowledged.size} distinct blobs`
        )
      }),
    180_000
  )
})
