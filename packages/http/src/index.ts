/**
 * @graviton/http — the HTTP gateway (effect/http-api on NodeHttpServer) and its typed client.
 *
 * @since 0.1.0
 */
export * as ApiError from "./ApiError.ts"
export * as Auth from "./Auth.ts"
export * as GravitonApi from "./GravitonApi.ts"
export * as GravitonClient from "./GravitonClient.ts"
export * as GravitonServer from "./GravitonServer.ts"
