import { createHash } from 'node:crypto'

/**
 * A file of the adopted snapshot as the service serves it (a manifest, a
 * signature, a transfer file): its bytes and the validators a client may
 * revalidate with. The ETag is the bytes' own digest, so every instance of
 * a fleet gives the same bytes the same tag.
 */
export interface SnapshotFile {
  readonly bytes: Uint8Array
  readonly etag: string
  /** An HTTP date: the origin's Last-Modified, else when we first read these bytes. */
  readonly lastModified: string
  /** Entries of a manifest left out because the origin still lacked them past the bound. */
  readonly omitted: readonly string[]
}

export function snapshotFile(bytes: Uint8Array, lastModified?: string): SnapshotFile {
  const digest = createHash('sha256').update(bytes).digest('base64url')
  return {
    bytes,
    etag: `"${digest.slice(0, 27)}"`,
    lastModified: lastModified ?? new Date().toUTCString(),
    omitted: [],
  }
}

/**
 * A manifest without the lines of some names (each line, as parsed, is a
 * digest, two characters, the name). Only ever made of a manifest that
 * parsed, so every line has that shape.
 */
export function withoutEntries(file: SnapshotFile, gone: ReadonlySet<string>): SnapshotFile {
  const kept = Buffer.from(file.bytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '' && !gone.has(line.slice(66)))
    .map((line) => `${line}\n`)
    .join('')
  return { ...snapshotFile(Buffer.from(kept), file.lastModified), omitted: [...gone].sort() }
}

/**
 * The X-Snapshot-Omitted value of a manifest left short, or undefined: the
 * names percent-encoded, since a name may hold what a header may not.
 */
export function omittedHeader(file: SnapshotFile): string | undefined {
  return file.omitted.length === 0 ? undefined : file.omitted.map(encodeURIComponent).join(' ')
}

/**
 * Whether a client's validators match the file (RFC 9110 13.1): If-None-Match
 * wins when sent; a weak tag compares by its opaque part.
 */
export function clientHasIt(
  file: SnapshotFile,
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
): boolean {
  if (ifNoneMatch !== undefined) {
    return (
      ifNoneMatch.trim() === '*' ||
      ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)
    )
  }
  if (ifModifiedSince === undefined) return false
  const since = Date.parse(ifModifiedSince)
  return !Number.isNaN(since) && Date.parse(file.lastModified) <= since
}
