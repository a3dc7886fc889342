/**
 * Opaque listing cursors. A cursor encodes the last key returned (base64url of UTF-8), so paging resumes strictly
 * after it: keys inserted concurrently before the cursor are not returned, keys after it are, and no key that existed
 * throughout appears twice or is skipped.
 */
export const encode = (lastKey: string): string => Buffer.from(lastKey, "utf8").toString("base64url")

/** Decodes a cursor; `undefined` when it is malformed. */
export const decode = (cursor: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor) || cursor.length > 8192) return undefined
  const s = Buffer.from(cursor, "base64url").toString("utf8")
  return encode(s) === cursor ? s : undefined
}
