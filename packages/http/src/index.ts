/**
 * @graviton/http — the HTTP gateway (effect/http-api on NodeHttpServer) and its typed client.
 *
 * @since 0.1.0
 */
/** Error responses (`{ error, message }`, one class per status) and the runtime-failure → status mapping. */
export * as ApiError from "./ApiError.ts"
/** Bearer tokens with capabilities (parsing, constant-time lookup, `GRAVITON_AUTH_TOKENS*`). */
export * as Auth from "./Auth.ts"
/** The schema-first API definition shared by server and client (OpenAPI source). */
export * as GravitonApi from "./GravitonApi.ts"
/** The typed client and streaming helpers. */
export * as GravitonClient from "./GravitonClient.ts"
/** The server layer (`layer`, `layerConfig`, `url`). */
export * as GravitonServer from "./GravitonServer.ts"
