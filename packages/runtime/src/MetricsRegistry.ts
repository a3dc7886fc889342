/**
 * `MetricsRegistry`: records Graviton's metrics on Effect `Metric` and renders them (snapshot, Prometheus text).
 *
 * `layer` records into the ambient Effect metric registry, so Effect's own exporters (OpenTelemetry and friends)
 * see the same series; `layerFresh` uses a private registry, which is what tests want (exact counts, no leaks between
 * tests). Label values are bounded: at most {@link maxSeriesPerMetric} label sets per metric, later ones are folded
 * into a series whose labels all read `other`, and values are sanitised to `[A-Za-z0-9_.:-]{1,64}`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricKeys from "./MetricKeys.ts"

/** Most distinct label sets one metric keeps before folding into `other`. */
export const maxSeriesPerMetric = 512

/** One series of a snapshot. */
export interface Sample {
  readonly name: string
  readonly kind: MetricKeys.MetricKey["kind"]
  readonly description: string
  readonly labels: Readonly<Record<string, string>>
  /** Counter total or gauge value; histogram sum. */
  readonly value: number
  /** Histogram observations count. */
  readonly count?: number
  /** Histogram cumulative buckets `[upperBound, count]`. */
  readonly buckets?: ReadonlyArray<readonly [number, number]>
}

export interface MetricsRegistry {
  /** Adds `by` (default 1) to a counter. */
  readonly increment: (key: MetricKeys.CounterKey, labels?: MetricKeys.Labels, by?: number) => Effect.Effect<void>
  /** Sets a gauge. */
  readonly set: (key: MetricKeys.GaugeKey, value: number, labels?: MetricKeys.Labels) => Effect.Effect<void>
  /** Adds `delta` (may be negative) to a gauge. */
  readonly add: (key: MetricKeys.GaugeKey, delta: number, labels?: MetricKeys.Labels) => Effect.Effect<void>
  /** Records one histogram observation. */
  readonly observe: (key: MetricKeys.HistogramKey, value: number, labels?: MetricKeys.Labels) => Effect.Effect<void>
  /** The current value of one counter series (0 when never incremented). */
  readonly counterValue: (key: MetricKeys.CounterKey, labels?: MetricKeys.Labels) => Effect.Effect<number>
  /** Every series recorded through this registry. */
  readonly snapshot: Effect.Effect<ReadonlyArray<Sample>>
  /** Prometheus text exposition format (version 0.0.4) of {@link snapshot}. */
  readonly prometheus: Effect.Effect<string>
}

export const MetricsRegistry: Context.Service<MetricsRegistry, MetricsRegistry> = Context.Service(
  "@graviton/runtime/MetricsRegistry"
)

const sanitize = (v: string): string => {
  const s = v.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 64)
  return s.length === 0 ? "_" : s
}

const normalize = (labels: MetricKeys.Labels | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (labels === undefined) return out
  for (const name of Object.keys(labels).sort()) {
    const v = labels[name as MetricKeys.LabelName]
    if (v !== undefined) out[name] = sanitize(v)
  }
  return out
}

/** Builds a registry recording into the given Effect metric registry map. */
export const make = (registry: Metric.MetricRegistry): MetricsRegistry => {
  const metrics = new Map<string, Metric.Metric<number, unknown>>()
  const series = new Map<string, { readonly key: MetricKeys.MetricKey; readonly labelSets: Set<string> }>()

  const base = (key: MetricKeys.MetricKey): Metric.Metric<number, unknown> => {
    let m = metrics.get(key.name)
    if (m === undefined) {
      m =
        key.kind === "counter"
          ? Metric.counter(key.name, { description: key.description, incremental: true })
          : key.kind === "gauge"
            ? Metric.gauge(key.name, { description: key.description })
            : Metric.histogram(key.name, { description: key.description, boundaries: key.boundaries })
      metrics.set(key.name, m)
    }
    return m
  }

  /** The label set a series is recorded under (past the per-metric limit: every value "other"), and its id. */
  const bounded = (
    key: MetricKeys.MetricKey,
    labels: MetricKeys.Labels | undefined
  ): { readonly attrs: Record<string, string>; readonly id: string } => {
    const attrs = normalize(labels)
    const id = JSON.stringify(attrs)
    let entry = series.get(key.name)
    if (entry === undefined) {
      entry = { key, labelSets: new Set() }
      series.set(key.name, entry)
    }
    if (entry.labelSets.has(id)) return { attrs, id }
    if (entry.labelSets.size < maxSeriesPerMetric) {
      entry.labelSets.add(id)
      return { attrs, id }
    }
    const other: Record<string, string> = {}
    for (const k of Object.keys(attrs)) other[k] = "other"
    const otherId = JSON.stringify(other)
    entry.labelSets.add(otherId)
    return { attrs: other, id: otherId }
  }

  const run = <A>(effect: Effect.Effect<A>): Effect.Effect<A> =>
    Effect.provideService(effect, Metric.MetricRegistry, registry)

  /**
   * One metric instance per series, reused: Effect caches a metric's registry key on the instance, so a fresh
   * `withAttributes` per update recomputed it every time (a tenth of a small put).
   */
  const attributed = new Map<string, Metric.Metric<number, unknown>>()
  const metricFor = (key: MetricKeys.MetricKey, labels: MetricKeys.Labels | undefined) => {
    const { attrs, id } = bounded(key, labels)
    const cacheKey = `${key.name}\u0000${id}`
    let m = attributed.get(cacheKey)
    if (m === undefined) {
      m = Metric.withAttributes(base(key), attrs)
      attributed.set(cacheKey, m)
    }
    return m
  }

  const snapshot = run(
    Effect.map(Metric.snapshot, (snaps) => {
      const out: Array<Sample> = []
      for (const s of snaps) {
        const entry = series.get(s.id)
        if (entry === undefined) continue
        const labels = (s.attributes ?? {}) as Record<string, string>
        const state = s.state as {
          count?: number | bigint
          value?: number | bigint
          sum?: number
          buckets?: ReadonlyArray<[number, number]>
        }
        if (entry.key.kind === "histogram") {
          out.push({
            name: s.id,
            kind: "histogram",
            description: entry.key.description,
            labels,
            value: state.sum ?? 0,
            count: Number(state.count ?? 0),
            buckets: (state.buckets ?? []).map(([b, c]) => [b, c] as const)
          })
        } else {
          out.push({
            name: s.id,
            kind: entry.key.kind,
            description: entry.key.description,
            labels,
            value: Number(entry.key.kind === "counter" ? (state.count ?? 0) : (state.value ?? 0))
          })
        }
      }
      return out
    })
  )

  return MetricsRegistry.of({
    increment: (key, labels, by = 1) => run(Metric.update(metricFor(key, labels), by)),
    set: (key, value, labels) => run(Metric.update(metricFor(key, labels), value)),
    add: (key, delta, labels) => run(Metric.modify(metricFor(key, labels), delta)),
    observe: (key, value, labels) => run(Metric.update(metricFor(key, labels), value)),
    counterValue: (key, labels) =>
      run(
        Effect.map(Metric.value(Metric.withAttributes(base(key), normalize(labels))), (s) =>
          Number((s as { count: number | bigint }).count)
        )
      ),
    snapshot,
    prometheus: Effect.map(snapshot, renderPrometheus)
  })
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const renderLabels = (labels: Readonly<Record<string, string>>, extra?: readonly [string, string]): string => {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k]!)}"`)
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const num = (n: number): string =>
  Number.isNaN(n) ? "NaN" : n === Number.POSITIVE_INFINITY ? "+Inf" : n === Number.NEGATIVE_INFINITY ? "-Inf" : `${n}`

/** Renders samples in the Prometheus text exposition format, grouped by metric with HELP and TYPE lines. */
export const renderPrometheus = (samples: ReadonlyArray<Sample>): string => {
  const byName = new Map<string, Array<Sample>>()
  for (const s of samples) {
    const list = byName.get(s.name)
    if (list === undefined) byName.set(s.name, [s])
    else list.push(s)
  }
  const lines: Array<string> = []
  for (const name of [...byName.keys()].sort()) {
    const group = byName.get(name)!
    const first = group[0]!
    lines.push(`# HELP ${name} ${escapeHelp(first.description)}`)
    lines.push(`# TYPE ${name} ${first.kind}`)
    for (const s of group) {
      if (s.kind === "histogram") {
        for (const [le, c] of s.buckets ?? [])
          lines.push(`${name}_bucket${renderLabels(s.labels, ["le", num(le)])} ${c}`)
        lines.push(`${name}_bucket${renderLabels(s.labels, ["le", "+Inf"])} ${s.count ?? 0}`)
        lines.push(`${name}_sum${renderLabels(s.labels)} ${num(s.value)}`)
        lines.push(`${name}_count${renderLabels(s.labels)} ${s.count ?? 0}`)
      } else {
        lines.push(`${name}${renderLabels(s.labels)} ${num(s.value)}`)
      }
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}

/** Records into the ambient Effect metric registry (shared with Effect's exporters). */
export const layer: Layer.Layer<MetricsRegistry> = Layer.effect(
  MetricsRegistry,
  Effect.map(Metric.MetricRegistry as Effect.Effect<Metric.MetricRegistry>, make)
)

/** Records into a private registry: exact values, nothing shared. Use in tests. */
export const layerFresh: Layer.Layer<MetricsRegistry> = Layer.sync(MetricsRegistry, () => make(new Map()))
