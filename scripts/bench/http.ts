/**
 * Scenario 5, HTTP: `@graviton/http`'s own bench (packages/http/bench/http.ts `run`) — GravitonServer on an
 * ephemeral port over the in-memory GravitonRuntime, a child-process client, against the same runtime's BlobStore
 * used directly. Engine and HTTP figures alternate over several rounds and the medians are reported, so each HTTP
 * figure has its engine baseline measured right before and after it.
 */
import * as HttpBench from "../../packages/http/bench/http.ts"
import { type Row, row, type Scenario } from "./report.ts"

const clients = 32

export const scenario: Scenario = {
  names: ["http"],
  run: async (ctx) => {
    const mib = ctx.sizes.httpMiB
    const rounds = ctx.quick ? 1 : 3
    ctx.log(
      `http: ${mib} MiB up/down and 4 KiB PUT/GET (${clients} clients, ${ctx.sizes.httpSeconds} s), ${rounds} rounds`
    )
    const f = await HttpBench.run({ mib, seconds: ctx.sizes.httpSeconds, clients, rounds })
    const note = `median of ${rounds} interleaved engine/HTTP rounds; GravitonRuntime.layerMemory(); client in a child process`
    const rows: Array<Row> = [
      row({
        id: "5 http/upload",
        figure: `POST ${mib} MiB through the gateway`,
        unit: "MiB/s",
        project: f.httpUploadMiBs,
        baselineLabel: "engine put, in process (same runtime)",
        baseline: f.engineUploadMiBs,
        target: { op: ">=", value: 0.8 },
        note
      }),
      row({
        id: "5 http/download",
        figure: `GET ${mib} MiB through the gateway`,
        unit: "MiB/s",
        project: f.httpDownloadMiBs,
        baselineLabel: "engine get, in process (same runtime)",
        baseline: f.engineDownloadMiBs,
        target: { op: ">=", value: 0.8 }
      }),
      row({
        id: "5 http/small",
        figure: `4 KiB PUT, ${clients} concurrent clients`,
        unit: "req/s",
        project: f.httpPutPerSecond,
        baselineLabel: `engine put, ${clients} concurrent`,
        baseline: f.enginePutPerSecond
      }),
      row({
        id: "5 http/small",
        figure: `4 KiB GET, ${clients} concurrent clients`,
        unit: "req/s",
        project: f.httpGetPerSecond,
        baselineLabel: `engine get, ${clients} concurrent`,
        baseline: f.engineGetPerSecond
      })
    ]
    return rows
  }
}
