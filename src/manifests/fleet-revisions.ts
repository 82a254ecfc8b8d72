import type { SharedStore } from '../fleet/store.js'
import type { Validators } from './fetch.js'

/**
 * The adopted revision of each manifest, shared by a fleet (REDIS_URL): an
 * instance that adopts a revision offers it to the store, which keeps it
 * only when it is newer than the one kept, and tells the other instances;
 * an instance about to read a manifest from GitHub first takes the fleet's,
 * when it is newer than its own. So every instance serves the revision one
 * of them adopted, and none goes back to an older one.
 */
export interface SharedRevision {
  /** Its order among revisions: the newest Last-Modified of its files, in ms; 0 when none says. */
  readonly rank: number
  readonly manifest: Uint8Array
  readonly validators: Validators
  /** Each signature read with it: its bytes, or null where the origin has none. */
  readonly signatures: readonly SharedSignature[]
}

export interface SharedSignature {
  readonly name: string
  readonly bytes: Uint8Array | null
  readonly validators: Validators
}

/** The fleet's revisions, as the manifest store reads and offers them. */
export interface FleetRevisions {
  /** The fleet's adopted revision of a release; null when none, or the store cannot say. */
  read(release: string): Promise<SharedRevision | null>
  /** This instance adopted a revision: kept for the fleet if it is newer than the fleet's. */
  offer(release: string, revision: SharedRevision): void
}

export function fleetRevisions(
  shared: SharedStore,
  /** The store's name for a release (qualified by its source). */
  keyOf: (release: string) => string,
  /** How long the fleet keeps a revision (INDEX_STALE_MAX). */
  ttlMs: number,
): FleetRevisions {
  return {
    read: async (release) => decodeRevision(await shared.adopted(keyOf(release))),
    offer: (release, revision) => {
      // Without a date nothing orders it: each instance reads GitHub for itself then.
      if (revision.rank > 0) {
        shared.offerAdopted(keyOf(release), revision.rank, encodeRevision(revision), ttlMs)
      }
    },
  }
}

/** The newest of these Last-Modified dates, in ms; 0 when none parses. */
export function rankOf(validators: readonly Validators[]): number {
  let rank = 0
  for (const { lastModified } of validators) {
    const ms = lastModified === undefined ? NaN : Date.parse(lastModified)
    if (ms > rank) rank = ms
  }
  return rank
}

export function encodeRevision(revision: SharedRevision): Buffer {
  return Buffer.from(
    JSON.stringify({
      rank: revision.rank,
      validators: revision.validators,
      manifest: Buffer.from(revision.manifest).toString('base64'),
      signatures: revision.signatures.map((one) => ({
        name: one.name,
        bytes: one.bytes === null ? null : Buffer.from(one.bytes).toString('base64'),
        validators: one.validators,
      })),
    }),
  )
}

/** A revision as encodeRevision wrote it; null for none, or for anything else (another version's). */
export function decodeRevision(bytes: Buffer | null): SharedRevision | null {
  if (bytes === null) return null
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString())
  } catch {
    return null
  }
  if (!isRecord(doc) || typeof doc.rank !== 'number' || typeof doc.manifest !== 'string')
    return null
  if (!isValidators(doc.validators) || !Array.isArray(doc.signatures)) return null
  const signatures: SharedSignature[] = []
  for (const one of doc.signatures as unknown[]) {
    if (!isRecord(one) || typeof one.name !== 'string' || !isValidators(one.validators)) return null
    if (one.bytes !== null && typeof one.bytes !== 'string') return null
    const signature = one.bytes === null ? null : Buffer.from(one.bytes, 'base64')
    signatures.push({ name: one.name, bytes: signature, validators: one.validators })
  }
  const manifest = Buffer.from(doc.manifest, 'base64')
  return { rank: doc.rank, validators: doc.validators, manifest, signatures }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isValidators(value: unknown): value is Validators {
  if (!isRecord(value)) return false
  const { etag, lastModified } = value
  return (
    (etag === undefined || typeof etag === 'string') &&
    (lastModified === undefined || typeof lastModified === 'string')
  )
}
