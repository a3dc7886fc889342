/**
 * `SchemaStore`: versioned JSON Schemas for blob metadata (attributes), per namespace, and validation against them.
 *
 * A **namespace** is 1..{@link maxNamespaceLength} characters: segments of `[A-Za-z0-9._-]` starting with a letter
 * or digit, separated by single `/` (e.g. `acme.photos/exif`). Each `register` of new schema bytes appends the next
 * **version** (1, 2, …); versions are immutable. Schemas are JSON Schema **draft 2020-12** documents (an object or a
 * boolean; a `$schema` other than the 2020-12 dialect is `Unsupported`), at most {@link maxSchemaBytes} bytes of
 * UTF-8 JSON, with content type `application/schema+json` or `application/json`. `$ref`s must resolve inside the
 * schema itself. Formats (`email`, `date-time`, `uuid`, …) are validated.
 *
 * Compiled validators are cached per (namespace, version) for the life of the store, so validation costs one
 * compilation per version. Schemas come from operators: a pathological `pattern` is compiled as given.
 *
 * @since 0.1.0
 */
import { Hashing } from "@graviton/core"
import type { ValidateFunction } from "ajv/dist/2020.js"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Json from "./internal/schemaJson.ts"
import { compare } from "./internal/sortedKeys.ts"
import * as StorageError from "./StorageError.ts"

/** Longest namespace. */
export const maxNamespaceLength = 128

/** Largest schema document: 1 MiB. */
export const maxSchemaBytes = 1024 * 1024

/** Most validation errors reported for one value. */
export const maxValidationErrors = Json.maxErrors

/** The accepted content types (compared without parameters, case-insensitively). */
export const contentTypes = ["application/schema+json", "application/json"] as const

/** A supported content type, as recorded. */
export type ContentType = (typeof contentTypes)[number]

const Version = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** Schema of a stored schema version. The JSON form carries `schema` as base64. */
export const SchemaRecord = Schema.Struct({
  namespace: Schema.String,
  /** 1 for the first registered schema, then 2, 3, … */
  version: Version,
  /** The content type given at registration, without parameters, lower case. */
  contentType: Schema.Literals(contentTypes),
  /** The schema document exactly as registered. */
  schema: Schema.Uint8Array,
  /** Lowercase hex SHA-256 of `schema` (a strong ETag). */
  digest: Schema.String,
  /** Epoch milliseconds of registration. */
  createdAt: Schema.Number
}).annotate({ identifier: "SchemaRecord" })

/** One version of a namespace's schema. */
export interface SchemaRecord extends Schema.Schema.Type<typeof SchemaRecord> {}

/** Schema of a {@link SchemaSummary}. */
export const SchemaSummary = Schema.Struct({
  namespace: Schema.String,
  version: Version,
  contentType: Schema.Literals(contentTypes),
  /** Size of the schema document in bytes. */
  size: Schema.Int,
  digest: Schema.String,
  createdAt: Schema.Number
}).annotate({ identifier: "SchemaSummary" })

/** A {@link SchemaRecord} without the document. */
export interface SchemaSummary extends Schema.Schema.Type<typeof SchemaSummary> {}

/** Schema of one validation error. */
export const ValidationIssue = Schema.Struct({
  /** JSON pointer (RFC 6901) into the validated value; `""` is the value itself. For a missing or unexpected property it points at that property. */
  path: Schema.String,
  message: Schema.String,
  /** The JSON Schema keyword that failed (`type`, `required`, `format`, …). */
  keyword: Schema.String
}).annotate({ identifier: "ValidationIssue" })

/** One reason a value does not match a schema. */
export interface ValidationIssue extends Schema.Schema.Type<typeof ValidationIssue> {}

/** Schema of a {@link ValidationResult}. */
export const ValidationResult = Schema.Struct({
  valid: Schema.Boolean,
  /** Empty when valid; at most {@link maxValidationErrors} entries otherwise. */
  errors: Schema.Array(ValidationIssue),
  /** The schema version the value was checked against. */
  version: Version
}).annotate({ identifier: "ValidationResult" })

/** The outcome of validating a value. */
export interface ValidationResult extends Schema.Schema.Type<typeof ValidationResult> {}

export interface SchemaStore {
  /**
   * Registers `schema` (a JSON Schema document) under `namespace` and returns its version: the next one (1 for a
   * new namespace), or — when the bytes are exactly those of the latest version — that version, storing nothing
   * (so retries are idempotent). Concurrent registrations of distinct schemas get distinct consecutive versions.
   * Fails `InvalidArgument` on a malformed namespace, bytes that are not UTF-8 JSON, a document over
   * {@link maxSchemaBytes}, or an invalid JSON Schema; `Unsupported` on another content type or `$schema` dialect.
   */
  readonly register: (
    namespace: string,
    schema: Uint8Array,
    contentType: string
  ) => Effect.Effect<number, StorageError.StorageError>
  /** Version `version` of the namespace's schema (the latest when omitted), or `None` when there is no such version. */
  readonly get: (
    namespace: string,
    version?: number
  ) => Effect.Effect<Option.Option<SchemaRecord>, StorageError.StorageError>
  /** Summaries of every version of `namespace` (of every namespace when omitted), by namespace then version. */
  readonly list: (namespace?: string) => Effect.Effect<ReadonlyArray<SchemaSummary>, StorageError.StorageError>
  /**
   * Validates `data` (a JSON-like value) against version `version` of the namespace's schema (the latest when
   * omitted). An invalid value is a successful `{ valid: false, errors }`; fails `NotFound` when the namespace or
   * version does not exist.
   */
  readonly validate: (
    namespace: string,
    data: unknown,
    version?: number
  ) => Effect.Effect<ValidationResult, StorageError.StorageError>
}

export const SchemaStore: Context.Service<SchemaStore, SchemaStore> = Context.Service("@graviton/runtime/SchemaStore")

// ---------------------------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------------------------

const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/

/** Why `namespace` is not a valid namespace, or `undefined` when it is one. */
export const namespaceProblem = (namespace: unknown): string | undefined => {
  if (typeof namespace !== "string") return "a namespace must be a string"
  if (namespace.length === 0 || namespace.length > maxNamespaceLength) {
    return `a namespace must have 1..${maxNamespaceLength} characters, got ${namespace.length}`
  }
  if (!NAMESPACE_RE.test(namespace)) {
    return "a namespace is segments of [A-Za-z0-9._-] starting with a letter or digit, separated by single '/'"
  }
  return undefined
}

const validateNamespace = (operation: string, namespace: unknown) => {
  const p = namespaceProblem(namespace)
  return p === undefined
    ? Effect.succeed(namespace as string)
    : Effect.fail(
        StorageError.invalidArgument(operation, {
          message: p,
          ...(typeof namespace === "string" ? { key: namespace.slice(0, 160) } : {})
        })
      )
}

const validateVersion = (operation: string, namespace: string, version: unknown) =>
  version === undefined || (typeof version === "number" && Number.isSafeInteger(version) && version >= 1)
    ? Effect.succeed(version as number | undefined)
    : Effect.fail(
        StorageError.invalidArgument(operation, {
          key: namespace,
          message: `version must be a positive integer, got ${String(version)}`
        })
      )

/** The recorded content type for `contentType`, or `undefined` when it is not supported. */
export const normalizeContentType = (contentType: string): ContentType | undefined => {
  const essence = contentType.split(";")[0]!.trim().toLowerCase()
  return contentTypes.find((t) => t === essence)
}

// ---------------------------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------------------------

/** A registration after validation, as handed to {@link Primitives.append}. */
export interface Registration {
  readonly namespace: string
  readonly schema: Uint8Array
  readonly contentType: ContentType
  readonly digest: string
}

/** What a backend implements; {@link make} validates, parses and compiles, and caches validators. */
export interface Primitives {
  /**
   * Atomically: when the namespace's latest version has `digest`, returns it with `created: false`; otherwise
   * stores the registration as the next version (timestamped by the backend) and returns it with `created: true`.
   */
  readonly append: (
    registration: Registration
  ) => Effect.Effect<{ readonly version: number; readonly created: boolean }, StorageError.StorageError>
  /** The record of a version, or of the latest when `version` is undefined. */
  readonly get: (
    namespace: string,
    version: number | undefined
  ) => Effect.Effect<Option.Option<SchemaRecord>, StorageError.StorageError>
  /** Summaries, by namespace (UTF-8 byte order) then version, of one namespace or all. */
  readonly list: (
    namespace: string | undefined
  ) => Effect.Effect<ReadonlyArray<SchemaSummary>, StorageError.StorageError>
}

/**
 * Builds a {@link SchemaStore} from {@link Primitives}: every argument is validated, schemas are parsed and compiled
 * before anything is stored, and compiled validators are cached per (namespace, version) — versions are immutable,
 * so the cache never goes stale.
 */
export const make = (p: Primitives): SchemaStore => {
  const compiler = new Json.JsonSchemaCompiler()
  const validators = new Map<string, ValidateFunction>()
  const cacheKey = (namespace: string, version: number) => `${namespace}\u0000${version}`

  const validatorFor = (record: SchemaRecord): Effect.Effect<ValidateFunction, StorageError.StorageError> =>
    Effect.suspend(() => {
      const k = cacheKey(record.namespace, record.version)
      const hit = validators.get(k)
      if (hit !== undefined) return Effect.succeed(hit)
      const parsed = Json.parse(record.schema)
      const compiled = parsed.ok ? compiler.compile(parsed.schema) : parsed
      if (!compiled.ok) {
        return Effect.fail(
          StorageError.corrupt("SchemaStore.validate", {
            key: `${record.namespace}@${record.version}`,
            message: `stored schema does not compile: ${compiled.message}`
          })
        )
      }
      validators.set(k, compiled.validate)
      return Effect.succeed(compiled.validate)
    })

  return SchemaStore.of({
    register: (namespace, schema, contentType) =>
      Effect.gen(function* () {
        const op = "SchemaStore.register"
        const ns = yield* validateNamespace(op, namespace)
        if (typeof contentType !== "string") {
          return yield* StorageError.invalidArgument(op, { key: ns, message: "content type must be a string" })
        }
        const type = normalizeContentType(contentType)
        if (type === undefined) {
          return yield* StorageError.unsupported(op, {
            key: ns,
            message: `content type "${contentType.slice(0, 100)}" is not supported (use ${contentTypes.join(" or ")})`
          })
        }
        if (!(schema instanceof Uint8Array)) {
          return yield* StorageError.invalidArgument(op, { key: ns, message: "schema must be a Uint8Array" })
        }
        if (schema.byteLength > maxSchemaBytes) {
          return yield* StorageError.invalidArgument(op, {
            key: ns,
            message: `schema of ${schema.byteLength} bytes exceeds the ${maxSchemaBytes}-byte limit`
          })
        }
        const parsed = Json.parse(schema)
        if (!parsed.ok) {
          return yield* (parsed.reason === "Unsupported" ? StorageError.unsupported : StorageError.invalidArgument)(
            op,
            { key: ns, message: parsed.message }
          )
        }
        const compiled = compiler.compile(parsed.schema)
        if (!compiled.ok) {
          return yield* StorageError.invalidArgument(op, {
            key: ns,
            message: `not a valid JSON Schema: ${compiled.message}`
          })
        }
        const bytes = new Uint8Array(schema)
        const { version } = yield* p.append({
          namespace: ns,
          schema: bytes,
          contentType: type,
          digest: Hashing.digestHex("sha-256", bytes)
        })
        const k = cacheKey(ns, version)
        if (!validators.has(k)) validators.set(k, compiled.validate)
        return version
      }),
    get: (namespace, version) =>
      Effect.gen(function* () {
        const ns = yield* validateNamespace("SchemaStore.get", namespace)
        const v = yield* validateVersion("SchemaStore.get", ns, version)
        return yield* p.get(ns, v)
      }),
    list: (namespace) =>
      namespace === undefined
        ? p.list(undefined)
        : Effect.flatMap(validateNamespace("SchemaStore.list", namespace), p.list),
    validate: (namespace, data, version) =>
      Effect.gen(function* () {
        const op = "SchemaStore.validate"
        const ns = yield* validateNamespace(op, namespace)
        const v = yield* validateVersion(op, ns, version)
        const record = yield* p.get(ns, v)
        if (Option.isNone(record)) {
          return yield* StorageError.notFound(op, {
            key: v === undefined ? ns : `${ns}@${v}`,
            message: v === undefined ? "no schema registered in this namespace" : `no version ${v} in this namespace`
          })
        }
        const validate = yield* validatorFor(record.value)
        return { ...Json.run(validate, data), version: record.value.version }
      })
  })
}

interface StoredVersion {
  readonly contentType: ContentType
  readonly schema: Uint8Array
  readonly digest: string
  readonly createdAt: number
}

/**
 * An in-memory SchemaStore: versions per namespace in arrays. `append` is one synchronous step (the timestamp is
 * read before it), so concurrent registrations get distinct consecutive versions. Bytes are copied in and out.
 */
export const makeMemory = (): SchemaStore => {
  const namespaces = new Map<string, Array<StoredVersion>>()
  const record = (namespace: string, index: number, v: StoredVersion): SchemaRecord => ({
    namespace,
    version: index + 1,
    contentType: v.contentType,
    schema: new Uint8Array(v.schema),
    digest: v.digest,
    createdAt: v.createdAt
  })
  const summary = (namespace: string, index: number, v: StoredVersion): SchemaSummary => ({
    namespace,
    version: index + 1,
    contentType: v.contentType,
    size: v.schema.byteLength,
    digest: v.digest,
    createdAt: v.createdAt
  })
  return make({
    append: (r) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        let versions = namespaces.get(r.namespace)
        if (versions === undefined) {
          versions = []
          namespaces.set(r.namespace, versions)
        }
        const latest = versions[versions.length - 1]
        if (latest !== undefined && latest.digest === r.digest && latest.schema.byteLength === r.schema.byteLength) {
          return { version: versions.length, created: false }
        }
        versions.push({
          contentType: r.contentType,
          schema: new Uint8Array(r.schema),
          digest: r.digest,
          createdAt: now
        })
        return { version: versions.length, created: true }
      }),
    get: (namespace, version) =>
      Effect.sync(() => {
        const versions = namespaces.get(namespace)
        if (versions === undefined || versions.length === 0) return Option.none()
        const index = version === undefined ? versions.length - 1 : version - 1
        const v = versions[index]
        return v === undefined ? Option.none() : Option.some(record(namespace, index, v))
      }),
    list: (namespace) =>
      Effect.sync(() => {
        const names =
          namespace === undefined
            ? Array.from(namespaces.keys()).sort(compare)
            : namespaces.has(namespace)
              ? [namespace]
              : []
        return names.flatMap((ns) => namespaces.get(ns)!.map((v, i) => summary(ns, i, v)))
      })
  })
}

/** A fresh in-memory SchemaStore per layer build. */
export const layerMemory: Layer.Layer<SchemaStore> = Layer.sync(SchemaStore, makeMemory)
