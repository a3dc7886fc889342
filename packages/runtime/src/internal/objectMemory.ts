/**
 * The in-memory object store behind `MutableObjectStore.makeMemory` and `ImmutableObjectStore.layerMemory`.
 *
 * Every check-and-set runs in one synchronous step, so concurrent fibers see each write whole. Stored bytes never
 * alias the caller's arrays. An entry's buffer may be larger than the object (spare capacity lets `putRange` grow an
 * object in amortized constant time); bytes past the object's size are always zero. A buffer handed to a running
 * download or shared by a copy is *frozen*: it is never written again, and `putRange` on a frozen entry writes into
 * a fresh copy, so downloads read one consistent version.
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as ImmutableObjectStore from "../ImmutableObjectStore.ts"
import type * as MutableObjectStore from "../MutableObjectStore.ts"
import * as StorageError from "../StorageError.ts"
import * as Checks from "./objectChecks.ts"
import { makeMutable } from "./objectMake.ts"
import { SortedKeys } from "./sortedKeys.ts"

/** Largest object the memory store keeps (1 GiB). */
export const maxObjectSize = 1024 * 1024 * 1024

interface Entry {
  readonly name: string
  buf: Uint8Array
  size: number
  frozen: boolean
  /** Computed lazily after `putRange`. */
  etag: string | undefined
  readonly contentType: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  lastModified: number
}

interface Part {
  readonly bytes: Uint8Array
  readonly etag: string
}

interface Upload {
  readonly uploadId: string
  readonly name: string
  readonly contentType: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  readonly initiated: number
  readonly parts: Map<number, Part>
}

const R = "ImmutableObjectStore"
const W = "MutableObjectStore"

const notFound = (operation: string, key: string, message = "no such object") =>
  StorageError.notFound(operation, { key, message })

const conflict = (operation: string, key: string, message: string) => StorageError.conflict(operation, { key, message })

const tooLarge = (operation: string, key: string, size: number) =>
  StorageError.quotaExceeded(operation, {
    key,
    message: `the memory store keeps objects of at most ${maxObjectSize} bytes; this one needs ${size}`
  })

export const makeMemory = (): MutableObjectStore.MutableObjectStore => {
  const objects = new Map<string, Entry>()
  const order = new SortedKeys()
  const uploads = new Map<string, Upload>()

  const etagOf = (e: Entry): string => {
    if (e.etag === undefined) e.etag = Checks.md5Hex(e.buf.subarray(0, e.size))
    return e.etag
  }

  const infoOf = (e: Entry): ImmutableObjectStore.ObjectInfo => ({
    name: e.name,
    size: e.size,
    etag: etagOf(e),
    ...(e.contentType === undefined ? {} : { contentType: e.contentType }),
    lastModified: e.lastModified,
    metadata: { ...e.metadata }
  })

  const publish = (e: Entry): void => {
    const key = Checks.sortKey(e.name)
    objects.set(key, e)
    order.add(key)
  }

  const lookup = (name: string): Entry | undefined => objects.get(Checks.sortKey(name))

  const precondition = (
    operation: string,
    name: string,
    options: MutableObjectStore.PutOptions | undefined
  ): StorageError.StorageError | undefined => {
    const existing = lookup(name)
    if (options?.ifNoneMatch === "*" && existing !== undefined) {
      return conflict(operation, name, "the object exists (ifNoneMatch: *)")
    }
    if (options?.ifMatch !== undefined) {
      if (existing === undefined) return conflict(operation, name, "the object does not exist (ifMatch)")
      if (etagOf(existing) !== Checks.normalizeEtag(options.ifMatch)) {
        return conflict(operation, name, `the object's ETag is not ${options.ifMatch} (ifMatch)`)
      }
    }
    return undefined
  }

  return makeMutable({
    head: (name) =>
      Effect.sync(() => {
        const e = lookup(name)
        return e === undefined ? Option.none() : Option.some(infoOf(e))
      }),

    list: (options) =>
      Effect.map(Checks.decodeListOptions(`${R}.list`, options), ({ prefix, after, limit }) => {
        const page = order.page({
          after: after === undefined ? undefined : Checks.sortKey(after),
          prefix: Checks.sortKey(prefix),
          limit
        })
        const found = page.keys.map((k) => infoOf(objects.get(k)!))
        const last = found[found.length - 1]
        return page.more && last !== undefined
          ? { objects: found, cursor: Checks.encodeCursor(last.name) }
          : { objects: found }
      }),

    get: (name, range) =>
      Stream.unwrap(
        Effect.suspend(() => {
          const op = `${R}.get`
          const e = lookup(name)
          if (e === undefined) return Effect.fail(notFound(op, name))
          const start = range?.start ?? 0
          const end = range?.end ?? e.size
          return Effect.map(Checks.checkRangeWithin(op, name, range, e.size), () => {
            e.frozen = true
            return Checks.sliceStream(e.buf, start, end)
          })
        })
      ),

    getRange: (name, span) =>
      Effect.suspend(() => {
        const op = `${R}.getRange`
        const e = lookup(name)
        if (e === undefined) return Effect.fail(notFound(op, name))
        const { buf } = e
        return Effect.as(Checks.checkRangeWithin(op, name, span, e.size), buf.slice(span.start, span.end))
      }),

    put: (name, body, options) =>
      Effect.suspend(() => {
        const op = `${W}.put`
        const early = precondition(op, name, options)
        if (early !== undefined) return Effect.fail(early)
        const parts: Array<Uint8Array> = []
        const hash = Checks.md5()
        let size = 0
        const read = Stream.runForEach(body, (chunk) =>
          Effect.suspend(() => {
            size += chunk.byteLength
            if (size > maxObjectSize) return Effect.fail(tooLarge(op, name, size))
            const copy = new Uint8Array(chunk)
            parts.push(copy)
            hash.update(copy)
            return Effect.void
          })
        )
        return Effect.flatMap(read, () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const failed = precondition(op, name, options)
            if (failed !== undefined) return Effect.fail(failed)
            const buf = Checks.concatBytes(parts, size)
            const e: Entry = {
              name,
              buf,
              size,
              frozen: false,
              etag: hash.digest("hex"),
              contentType: options?.contentType,
              metadata: { ...options?.metadata },
              lastModified: now
            }
            publish(e)
            return Effect.succeed(infoOf(e))
          })
        )
      }),

    delete: (name) =>
      Effect.sync(() => {
        const key = Checks.sortKey(name)
        if (!objects.delete(key)) return false
        order.remove(key)
        return true
      }),

    copy: (from, to) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const src = lookup(from)
        if (src === undefined) return Effect.fail(notFound(`${W}.copy`, from, "no such source object"))
        src.frozen = true
        const e: Entry = {
          name: to,
          buf: src.buf,
          size: src.size,
          frozen: true,
          etag: src.etag,
          contentType: src.contentType,
          metadata: { ...src.metadata },
          lastModified: now
        }
        publish(e)
        return Effect.succeed(infoOf(e))
      }),

    putRange: (name, offset, bytes) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const end = offset + bytes.byteLength
        if (end > maxObjectSize) return Effect.fail(tooLarge(`${W}.putRange`, name, end))
        let e = lookup(name)
        if (e === undefined) {
          e = {
            name,
            buf: new Uint8Array(0),
            size: 0,
            frozen: false,
            etag: undefined,
            contentType: undefined,
            metadata: {},
            lastModified: now
          }
          publish(e)
        }
        const size = Math.max(e.size, end)
        if (e.frozen || e.buf.byteLength < size) {
          const capacity =
            e.buf.byteLength < size ? Math.min(maxObjectSize, Math.max(size, e.buf.byteLength * 2)) : e.buf.byteLength
          const next = new Uint8Array(capacity)
          next.set(e.buf.subarray(0, e.size))
          e.buf = next
          e.frozen = false
        }
        e.buf.set(bytes, offset)
        e.size = size
        e.etag = undefined
        e.lastModified = now
        return Effect.void
      }),

    startMultipart: (name, options) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const uploadId = randomUUID()
        uploads.set(uploadId, {
          uploadId,
          name,
          contentType: options?.contentType,
          metadata: { ...options?.metadata },
          initiated: now,
          parts: new Map()
        })
        return uploadId
      }),

    uploadPart: (uploadId, partNumber, body) =>
      Effect.suspend(() => {
        const op = `${W}.uploadPart`
        const upload = uploads.get(uploadId)
        if (upload === undefined) return Effect.fail(notFound(op, uploadId, "no such multipart upload"))
        if (body.byteLength > maxObjectSize) return Effect.fail(tooLarge(op, upload.name, body.byteLength))
        const bytes = new Uint8Array(body)
        const etag = Checks.md5Hex(bytes)
        upload.parts.set(partNumber, { bytes, etag })
        return Effect.succeed({ partNumber, etag, size: bytes.byteLength })
      }),

    listParts: (uploadId) =>
      Effect.suspend(() => {
        const upload = uploads.get(uploadId)
        if (upload === undefined) {
          return Effect.fail(notFound(`${W}.listParts`, uploadId, "no such multipart upload"))
        }
        const parts = [...upload.parts.entries()]
          .sort(([a], [b]) => a - b)
          .map(([partNumber, p]) => ({ partNumber, etag: p.etag, size: p.bytes.byteLength }))
        return Effect.succeed(parts)
      }),

    completeMultipart: (uploadId, parts) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const op = `${W}.completeMultipart`
        const upload = uploads.get(uploadId)
        if (upload === undefined) return Effect.fail(notFound(op, uploadId, "no such multipart upload"))
        const chosen: Array<Part> = []
        let size = 0
        for (const { partNumber, etag } of parts) {
          const part = upload.parts.get(partNumber)
          if (part === undefined) return Effect.fail(conflict(op, upload.name, `part ${partNumber} was not uploaded`))
          if (part.etag !== Checks.normalizeEtag(etag)) {
            return Effect.fail(conflict(op, upload.name, `part ${partNumber} has ETag ${part.etag}, not ${etag}`))
          }
          chosen.push(part)
          size += part.bytes.byteLength
        }
        if (size > maxObjectSize) return Effect.fail(tooLarge(op, upload.name, size))
        const e: Entry = {
          name: upload.name,
          buf: Checks.concatBytes(
            chosen.map((p) => p.bytes),
            size
          ),
          size,
          // a single part's buffer may be shared with the (discarded) part: never write it in place
          frozen: chosen.length === 1,
          etag: Checks.multipartEtag(chosen.map((p) => p.etag)),
          contentType: upload.contentType,
          metadata: upload.metadata,
          lastModified: now
        }
        uploads.delete(uploadId)
        publish(e)
        return Effect.succeed(infoOf(e))
      }),

    abortMultipart: (uploadId) => Effect.sync(() => uploads.delete(uploadId)),

    listMultipart: (options) =>
      Effect.map(Checks.decodeListOptions(`${W}.listMultipart`, options), ({ prefix, after, limit }) => {
        const keyOf = (name: string, uploadId: string) => `${Checks.sortKey(name)}\u0000${uploadId}`
        let afterKey: string | undefined
        if (after !== undefined) {
          const i = after.indexOf("\u0000")
          afterKey = i < 0 ? Checks.sortKey(after) : keyOf(after.slice(0, i), after.slice(i + 1))
        }
        const matching = [...uploads.values()]
          .filter((u) => u.name.startsWith(prefix))
          .map((u) => ({ u, key: keyOf(u.name, u.uploadId) }))
          .filter((x) => afterKey === undefined || x.key > afterKey)
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        const page = matching.slice(0, limit).map(({ u }) => ({
          uploadId: u.uploadId,
          name: u.name,
          initiated: u.initiated
        }))
        const last = page[page.length - 1]
        return matching.length > limit && last !== undefined
          ? { uploads: page, cursor: Checks.encodeCursor(`${last.name}\u0000${last.uploadId}`) }
          : { uploads: page }
      })
  })
}
