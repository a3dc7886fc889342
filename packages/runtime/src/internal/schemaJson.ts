/**
 * JSON Schema (draft 2020-12) parsing, compilation and validation for `SchemaStore`, on Ajv.
 *
 * One {@link JsonSchemaCompiler} per store: Ajv instances hold compiled code, and schemas are compiled with
 * `addUsedSchema: false`, so schemas that share an `$id` (several versions of one schema) never collide. Everything
 * here is total: bad input yields a `{ ok: false }` result, never a throw.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js"
import addFormatsModule from "ajv-formats"

/** The dialect URI of draft 2020-12 (the only one accepted in `$schema`). */
export const dialect = "https://json-schema.org/draft/2020-12/schema"

/** Most validation errors reported for one value. */
export const maxErrors = 100

/** One problem with a validated value. */
export interface Issue {
  /** JSON pointer (RFC 6901) to the offending location in the value; `""` is the value itself. */
  readonly path: string
  readonly message: string
  /** The JSON Schema keyword that failed (`type`, `required`, …). */
  readonly keyword: string
}

export type Parsed =
  | { readonly ok: true; readonly schema: boolean | object }
  | { readonly ok: false; readonly reason: "InvalidArgument" | "Unsupported"; readonly message: string }

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Parses schema bytes: strict UTF-8 JSON whose top level is an object or a boolean, in the 2020-12 dialect. */
export const parse = (bytes: Uint8Array): Parsed => {
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return { ok: false, reason: "InvalidArgument", message: "schema is not valid UTF-8" }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { ok: false, reason: "InvalidArgument", message: `schema is not valid JSON: ${(e as Error).message}` }
  }
  if (typeof json === "boolean") return { ok: true, schema: json }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, reason: "InvalidArgument", message: "a JSON Schema must be an object or a boolean" }
  }
  const declared = (json as { readonly $schema?: unknown }).$schema
  if (declared !== undefined) {
    if (typeof declared !== "string") {
      return { ok: false, reason: "InvalidArgument", message: "$schema must be a string" }
    }
    if (declared.replace(/#$/, "") !== dialect) {
      return {
        ok: false,
        reason: "Unsupported",
        message: `only JSON Schema draft 2020-12 is supported ($schema "${dialect}"), got "${declared.slice(0, 200)}"`
      }
    }
  }
  return { ok: true, schema: json }
}

export type Compiled =
  | { readonly ok: true; readonly validate: ValidateFunction }
  | { readonly ok: false; readonly message: string }

const escapePointer = (token: string): string => token.replace(/~/g, "~0").replace(/\//g, "~1")

const issueOf = (e: ErrorObject): Issue => {
  const params = e.params as Record<string, unknown>
  // point at the property itself for errors about a (missing or extra) property
  const prop =
    e.keyword === "required"
      ? params.missingProperty
      : e.keyword === "additionalProperties" || e.keyword === "unevaluatedProperties"
        ? (params.additionalProperty ?? params.unevaluatedProperty)
        : undefined
  const path = typeof prop === "string" ? `${e.instancePath}/${escapePointer(prop)}` : e.instancePath
  return { path, message: e.message ?? `failed ${e.keyword}`, keyword: e.keyword }
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020
) => unknown

/** A compiler with its own Ajv instance (formats from `ajv-formats` are validated). */
export class JsonSchemaCompiler {
  private readonly ajv: Ajv2020

  constructor() {
    this.ajv = new Ajv2020({
      allErrors: true,
      strict: false,
      addUsedSchema: false,
      validateFormats: true,
      logger: false
    })
    addFormats(this.ajv)
  }

  /** Compiles a parsed schema; fails with Ajv's explanation for an invalid schema or an unresolvable `$ref`. */
  compile(schema: boolean | object): Compiled {
    try {
      return { ok: true, validate: this.ajv.compile(schema) }
    } catch (e) {
      return { ok: false, message: e instanceof Error ? e.message : String(e) }
    } finally {
      if (typeof schema === "object") this.forget(schema)
    }
  }

  /**
   * Drops Ajv's own cache entry for a compiled schema object (callers keep the compiled function), so registering
   * many schemas does not grow the instance. `removeSchema` also unregisters the schema's `$id`, so it is skipped
   * when that `$id` names a schema Ajv knows (a meta-schema) — user schemas are never registered by id here.
   */
  private forget(schema: object): void {
    try {
      const id = (schema as { readonly $id?: unknown }).$id
      if (typeof id === "string" && this.ajv.getSchema(id) !== undefined) return
      this.ajv.removeSchema(schema)
    } catch {
      // best effort: a schema Ajv cannot look up is simply left cached
    }
  }
}

/** Runs a compiled validator: at most {@link maxErrors} issues, in Ajv's order. Never throws. */
export const run = (
  validate: ValidateFunction,
  data: unknown
): { readonly valid: boolean; readonly errors: ReadonlyArray<Issue> } => {
  let valid: boolean
  try {
    valid = validate(data) === true
  } catch (e) {
    // e.g. data that is not JSON-like enough for a keyword (a cyclic value hitting a stack limit)
    return {
      valid: false,
      errors: [{ path: "", message: `value could not be validated: ${(e as Error).message}`, keyword: "" }]
    }
  }
  if (valid) return { valid, errors: [] }
  const errors = (validate.errors ?? []).slice(0, maxErrors).map(issueOf)
  return { valid, errors }
}
