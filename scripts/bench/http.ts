/**
 * Scenario 5, HTTP: `@graviton/http`'s own bench (packages/http/bench/http.ts `run`) — GravitonServer on an
 * ephemeral port over the in-memory GravitonRuntime, curl and a Node client (each a process of its own), against the same runtime's BlobStore
 * used directly. Engine and HTTP figures alternate over several rounds and the medians are reported, so each HTTP
 * figure has its engine baseline measured right before and after it.
 */
import * as HttpBench from "../../packages/http/bench/http.ts"
import { type Row, row, type Scenario, unavailable } from "./report.ts"

const clients = 32

export const scenario: Scenario = {
  names: ["http"],
  run: async (ctx) => {
    const mib = ctx.sizes.httpMiB
    const rounds = ctx.quick ? 1 : 5
    ctx.log(
      `http: ${mib} MiB up/down and 4 KiB PUT/GET (${clients} clients, ${ctx.sizes.httpSeconds} s), ${rounds} rounds`
    )
    const f = await HttpBench.run({ mib, seconds: ctx.sizes.httpSeconds, clients, rounds })
    const note = `median of ${rounds} interleaved engine/HTTP rounds; GravitonRuntime.layerMemory(); the client is a process of its own`
    const target = { op: ">=", value: 0.8 } as const
    const transfers = (
      id: string,
      verb: string,
      curl: number | undefined,
      node: number,
      engine: number,
      baselineLabel: string
    ): Array<Row> => [
      curl === undefined
        ? unavailable(id, `${verb} ${mib} MiB through the gateway, curl client`, "curl is not on the PATH", target)
        : row({
            id,
            figure: `${verb} ${mib} MiB through the gateway, curl client`,
            unit: "MiB/s",
            project: curl,
            baselineLabel,
            baseline: engine,
            target,
            note
          }),
      row({
        id,
        figure: `${verb} ${mib} MiB through the gateway, Node http client`,
        unit: "MiB/s",
        project: node,
        baselineLabel,
        baseline: engine,
        note: "the Node client process takes a large share of the 2 cores the server and the engine baseline use"
      })
    ]
    const rows: Array<Row> = [
      ...transfers(
        "5 http/upload",
        "POST",
        f.curlUploadMiBs,
        f.httpUploadMiBs,
        f.engineUploadMiBs,
        "engine put, in process (same runtime)"
      ),
      ...transfers(
        "5 http/download",
        "GET",
        f.curlDownloadMiBs,
        f.httpDownloadMiBs,
        f.engineDownloadMiBs,
        "engine get, in process (same runtime)"
      ),
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
