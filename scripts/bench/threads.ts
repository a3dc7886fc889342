/**
 * CPU time of this process per kind of thread, read from `/proc/self/task/<tid>/stat` (Linux; elsewhere every figure
 * is absent). On a 2-core machine a ratio is bounded by how many core-seconds each side needs, so the notes of the
 * throughput rows say where those went: the calling thread, the ingest/verify worker threads, V8's platform threads
 * (concurrent marking and sweeping: garbage collection, mostly), libuv's pool (file and LevelDB I/O) and the rest.
 */
import { readdirSync, readFileSync } from "node:fs"

export type Kind = "main" | "workers" | "v8" | "io" | "other"

export type Usage = Readonly<Record<Kind, number>>

const kinds: ReadonlyArray<Kind> = ["main", "workers", "v8", "io", "other"]

const labels: Record<Kind, string> = {
  main: "calling thread",
  workers: "worker threads",
  v8: "V8 helpers (GC)",
  io: "libuv pool (I/O)",
  other: "other"
}

/** Clock ticks per second of `/proc` CPU times (USER_HZ: 100 on every Linux this runs on). */
const TICKS = 100

const kindOf = (tid: string, name: string): Kind => {
  if (tid === String(process.pid)) return "main"
  if (name === "WorkerThread") return "workers"
  if (/^v8/i.test(name)) return "v8"
  if (name.startsWith("libuv")) return "io"
  return "other"
}

/** CPU seconds used so far by each live thread, keyed by thread id; undefined where `/proc` is not readable. */
const sample = (): Map<string, { readonly kind: Kind; readonly seconds: number }> | undefined => {
  let tids: Array<string>
  try {
    tids = readdirSync("/proc/self/task")
  } catch {
    return undefined
  }
  const out = new Map<string, { kind: Kind; seconds: number }>()
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name
      out.set(tid, { kind: kindOf(tid, name), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS })
    } catch {
      // the thread ended between the listing and the read: its time is lost either way
    }
  }
  return out
}

const zero = (): Record<Kind, number> => ({ main: 0, workers: 0, v8: 0, io: 0, other: 0 })

/** Runs `f` and returns its value with the CPU seconds each kind of thread used meanwhile (undefined off Linux). */
export const measure = async <A>(f: () => Promise<A>): Promise<{ readonly value: A; readonly cpu?: Usage }> => {
  const before = sample()
  const value = await f()
  const after = sample()
  if (before === undefined || after === undefined) return { value }
  const cpu = zero()
  for (const [tid, t] of after) cpu[t.kind] += Math.max(0, t.seconds - (before.get(tid)?.seconds ?? 0))
  return { value, cpu }
}

/** The mean of several usages (each kind averaged); undefined when any is. */
export const mean = (xs: ReadonlyArray<Usage | undefined>): Usage | undefined => {
  if (xs.length === 0 || xs.some((x) => x === undefined)) return undefined
  const out = zero()
  for (const x of xs as ReadonlyArray<Usage>) for (const k of kinds) out[k] += x[k] / xs.length
  return out
}

/** `2.61 core-s per GiB (calling thread 0.62, worker threads 0.90, …)`, scaled from `bytes` to a GiB. */
export const describe = (u: Usage | undefined, bytes: number): string => {
  if (u === undefined) return "CPU per thread not available"
  const scale = 2 ** 30 / bytes
  const total = kinds.reduce((n, k) => n + u[k], 0) * scale
  const parts = kinds.filter((k) => u[k] * scale >= 0.005).map((k) => `${labels[k]} ${(u[k] * scale).toFixed(2)}`)
  return `${total.toFixed(2)} core-s per GiB (${parts.join(", ")})`
}
