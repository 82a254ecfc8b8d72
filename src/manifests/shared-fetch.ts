import type { Asked, SharedStore } from '../fleet/store.js'
import type { FetchOutcome, ManifestFetcher, Validators } from './fetch.js'

/**
 * Manifest fetches through the fleet's shared store (src/fleet/store.ts):
 * an instance whose copy is due asks the store first, and GitHub only when
 * no instance has asked within the manifest's lifetime (one asks, the
 * others wait for it). What the store keeps of each release:
 *
 * - the answer, under the release's generation: `{kind: copy, etag,
 *   lastModified}` (GitHub had it; these validators name the bytes),
 *   `{kind: missing}` or `{kind: failed, reason}`;
 * - beside it, the bytes of the newest copy any instance downloaded, with
 *   their validators: an instance whose own copy has other validators (a
 *   new one, or one that missed an update) takes them from there; one with
 *   the same validators has nothing to fetch (as after a 304).
 */
export interface SharedFetchSettings {
  /** How long a copy, or a 404, is fresh (INDEX_TTL). */
  readonly ttlMs: number
  /** How long a failure stands before GitHub is asked again (INDEX_RETRY). */
  readonly retryMs: number
  /** How long the bytes are kept (INDEX_STALE_MAX): no instance serves a copy older. */
  readonly staleMaxMs: number
  /** How long an instance waits for another's fetch (INDEX_FETCH_TIMEOUT). */
  readonly fetchTimeoutMs: number
}

type SharedAnswer =
  | { readonly kind: 'copy'; readonly etag?: string; readonly lastModified?: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'failed'; readonly reason: string }

export function sharedFetcher(
  fetch: ManifestFetcher,
  shared: SharedStore,
  settings: SharedFetchSettings,
  /** The store's name for a release (register.ts qualifies it with its source). */
  keyOf: (release: string) => string,
): ManifestFetcher {
  return async (release, validators) => {
    // The store's name for it: two sources may both have a release `latest`.
    const key = keyOf(release)
    let own: FetchOutcome | undefined
    const ask = async (): Promise<Asked> => {
      own = await fetch(release, validators)
      if (own.kind === 'body') {
        shared.keepData(
          'manifest',
          key,
          withValidators(own.validators, own.bytes),
          settings.staleMaxMs,
        )
      }
      return asked(own, validators, settings)
    }
    const fresh = await shared.answer('manifest', key, 'SHA256SUMS', ask, settings.fetchTimeoutMs)
    // This instance asked GitHub: its own outcome, which holds the bytes.
    const outcome = own ?? (await fromStore(fresh.value, fresh.ttlMs, validators, key, shared))
    shared.told('manifest', outcome === null ? 'alone' : fresh.result)
    return outcome ?? fetch(release, validators)
  }
}

/** What the fleet's answer means for this instance; null when it must ask GitHub itself. */
async function fromStore(
  value: Buffer,
  freshForMs: number,
  validators: Validators | undefined,
  key: string,
  shared: SharedStore,
): Promise<FetchOutcome | null> {
  const answer = parseAnswer(value)
  if (answer === null) return null
  if (answer.kind !== 'copy') return { ...answer, freshForMs }
  if (sameCopy(answer, validators)) return { kind: 'not-modified', freshForMs }
  const data = splitData(await shared.data('manifest', key))
  if (data !== null && sameCopy(answer, data.validators)) {
    return { kind: 'body', bytes: data.bytes, validators: data.validators, freshForMs }
  }
  // The bytes are gone from the store (or newer ones are on their way).
  return null
}

function asked(
  own: FetchOutcome,
  sent: Validators | undefined,
  settings: SharedFetchSettings,
): Asked {
  const answer: SharedAnswer =
    own.kind === 'body'
      ? { kind: 'copy', ...own.validators }
      : own.kind === 'not-modified'
        ? { kind: 'copy', ...sent }
        : own.kind === 'missing'
          ? { kind: 'missing' }
          : { kind: 'failed', reason: own.reason }
  const ttlMs = own.kind === 'failed' ? settings.retryMs : settings.ttlMs
  // Held back by this instance's pause is not news for the fleet.
  const share = !(own.kind === 'failed' && own.held === true)
  return { value: Buffer.from(JSON.stringify(answer)), ttlMs, share }
}

/** Whether the validators name the copy the answer names (an ETag, else a date). */
export function sameCopy(answer: Validators, validators: Validators | undefined): boolean {
  if (validators === undefined) return false
  if (answer.etag !== undefined) return answer.etag === validators.etag
  return answer.lastModified !== undefined && answer.lastModified === validators.lastModified
}

/** The bytes kept beside the answers: a line of JSON validators, then the manifest. */
export function withValidators(validators: Validators, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(validators)}\n`), bytes])
}

export function splitData(
  data: Buffer | null,
): { readonly validators: Validators; readonly bytes: Buffer } | null {
  if (data === null) return null
  const newline = data.indexOf(10)
  if (newline < 0) return null
  const validators = parseJson(data.subarray(0, newline).toString())
  if (validators === null) return null
  return { validators: validators as Validators, bytes: data.subarray(newline + 1) }
}

/** An answer as asked() keeps it; null for anything else (written by another version?). */
export function parseAnswer(value: Buffer): SharedAnswer | null {
  const parsed = parseJson(value.toString()) as { kind?: unknown; reason?: unknown } | null
  if (parsed === null) return null
  if (parsed.kind === 'copy' || parsed.kind === 'missing') return parsed as SharedAnswer
  if (parsed.kind === 'failed' && typeof parsed.reason === 'string') return parsed as SharedAnswer
  return null
}

function parseJson(text: string): object | null {
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : null
  } catch {
    return null
  }
}
