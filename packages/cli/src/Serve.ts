/**
 * `graviton serve`: the HTTP gateway over the configured backend, until interrupted (Ctrl-C shuts down gracefully:
 * in-flight requests finish, then the store is closed).
 *
 * @since 0.1.0
 */
import { GravitonServer } from "@graviton/http"
import type { GravitonConfig } from "@graviton/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Backends from "./Backends.ts"

const usage = (url: string, where: string) =>
  [
    `graviton: serving ${where} on ${url}`,
    "",
    `  upload:    curl -sS --data-binary @FILE -H 'content-type: application/octet-stream' ${url}/api/v1/blobs`,
    `  download:  curl -sS -o OUT ${url}/api/v1/blobs/<key>`,
    `  range:     curl -sS -H 'range: bytes=0-99' ${url}/api/v1/blobs/<key>`,
    `  list:      curl -sS ${url}/api/v1/blobs`,
    `  metrics:   curl -sS ${url}/metrics`,
    `  gc:        curl -sS -H 'content-type: application/json' -d '{}' ${url}/api/v1/admin/gc   (dry run)`,
    `  api:       ${url}/api/v1/openapi.json`,
    "",
    "Press Ctrl-C to stop."
  ].join("\n")

export const run = (config: GravitonConfig.GravitonConfig, listen: { readonly port: number; readonly host: string }) =>
  Effect.gen(function* () {
    const options = yield* GravitonServer.loadOptions
    const server = GravitonServer.layer({ ...options, port: listen.port, host: listen.host }).pipe(
      Layer.provide(Backends.runtime(config))
    )
    const where =
      config.backend === "level" ? `the embedded store in ${config.dataDir}` : `the ${config.backend} backend`
    yield* Effect.gen(function* () {
      const url = yield* GravitonServer.url
      yield* Console.log(usage(url, where))
      return yield* Effect.never
    }).pipe(Effect.provide(server))
  })
