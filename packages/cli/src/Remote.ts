/**
 * The CLI's target when `--url` is given: the Graviton HTTP API through the typed client of `@graviton/http`.
 * Server answers become `StorageError`s with the reason their status implies, so exit codes match local use.
 *
 * @since 0.1.0
 */
import { ApiError, GravitonClient } from "@graviton/http"
import { StorageError } from "@graviton/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Target from "./Target.ts"

/** A client failure as a storage error (the server's own message is kept; transport details are not). */
export const toStorageError =
  (operation: string) =>
  (e: GravitonClient.ClientError): StorageError.StorageError => {
    if (ApiError.isApiError(e)) {
      const status = ApiError.statusOf(e)
      const details = { message: e.message }
      if (status === 404) return StorageError.notFound(operation, details)
      if (status === 400 || status === 416 || status === 422) return StorageError.invalidArgument(operation, details)
      if (status === 401 || status === 403) return StorageError.permissionDenied(operation, details)
      if (status === 409 || status === 412) return StorageError.conflict(operation, details)
      if (status === 503) return StorageError.unavailable(operation, details)
      if (status === 507) return StorageError.quotaExceeded(operation, details)
      return StorageError.unknown(operation, details)
    }
    if (e._tag === "SchemaError") {
      return StorageError.unknown(operation, { message: "the server's answer does not decode", cause: e })
    }
    return StorageError.unavailable(operation, { message: "cannot reach the server", cause: e })
  }

/** A target talking to the server at `baseUrl`. */
export const layer = (baseUrl: string, token: string | undefined): Layer.Layer<Target.Target> =>
  Layer.effect(
    Target.Target,
    Effect.map(GravitonClient.GravitonClient, (client: GravitonClient.GravitonClient) =>
      Target.Target.of({
        describe: baseUrl,
        put: (body, options) =>
          client
            .upload(body, {
              size: options.expectedSize,
              contentType: options.attributes?.["content-type"],
              expectedKey: options.expectedKey
            })
            .pipe(Effect.mapError((e) => (isClientError(e) ? toStorageError("put")(e) : e))),
        get: (key, range) => client.download(key, { range }).pipe(Stream.mapError(toStorageError("get"))),
        stat: (key) =>
          Effect.map(
            client.stat(key).pipe(Effect.mapError(toStorageError("stat"))),
            Option.map((s) => ({
              key: s.key,
              size: s.size,
              createdAt: s.lastModified ?? 0,
              blockCount: 0,
              chunker: "",
              attributes: { "content-type": s.contentType }
            }))
          ),
        list: (options) =>
          client.list(options).pipe(
            Effect.map((page) =>
              page.cursor === undefined ? { items: page.items } : { items: page.items, cursor: page.cursor }
            ),
            Effect.mapError(toStorageError("list"))
          ),
        delete: (key) => client.delete(key).pipe(Effect.mapError(toStorageError("delete"))),
        verify: (key) => client.verify(key).pipe(Effect.mapError(toStorageError("verify"))),
        gc: (options) =>
          client.gc({ apply: options.apply, minAge: options.minAge }).pipe(Effect.mapError(toStorageError("gc"))),
        listUploads: client.allUploads.pipe(Effect.mapError(toStorageError("uploads ls"))),
        cancelUpload: (id) => client.cancelUpload(id).pipe(Effect.mapError(toStorageError("uploads rm")))
      })
    )
  ).pipe(Layer.provide(GravitonClient.layerNode({ baseUrl: baseUrl.replace(/\/+$/, ""), token })))

/** Whether a failure of `upload` came from the client (and not from the body being uploaded). */
const isClientError = (e: unknown): e is GravitonClient.ClientError => {
  if (ApiError.isApiError(e)) return true
  const tag = (e as { _tag?: unknown } | null)?._tag
  return tag === "SchemaError" || tag === "HttpClientError" || tag === "RequestError" || tag === "ResponseError"
}
