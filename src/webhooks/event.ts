import type { Origins } from '../table/resolve.js'

/**
 * The part of a GitHub `release` webhook payload we act on: which tags it
 * touches. A release that is published, edited, deleted or unpublished can
 * change what a tag's assets are, so every action counts; an edit that
 * renamed the tag touches the old name too.
 * https://docs.github.com/webhooks/webhook-events-and-payloads#release
 */
export type ReleaseEvent =
  | {
      readonly ok: true
      readonly action: string
      readonly tags: readonly string[]
      /** `repository.full_name`: which source the tags are in. */
      readonly repository: string | undefined
    }
  | { readonly ok: false; readonly reason: string }

export function readReleaseEvent(payload: unknown): ReleaseEvent {
  if (!isObject(payload)) return { ok: false, reason: 'payload is not a JSON object' }
  const { action, release, changes, repository } = payload
  if (typeof action !== 'string') return { ok: false, reason: 'payload has no action' }
  const tag = isObject(release) ? release.tag_name : undefined
  if (typeof tag !== 'string' || tag === '') {
    return { ok: false, reason: 'payload has no release.tag_name' }
  }
  const tags = [tag]
  const renamed =
    isObject(changes) && isObject(changes.tag_name) ? changes.tag_name.from : undefined
  if (typeof renamed === 'string' && renamed !== '' && renamed !== tag) tags.push(renamed)
  const fullName = isObject(repository) ? repository.full_name : undefined
  return { ok: true, action, tags, repository: typeof fullName === 'string' ? fullName : undefined }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The source a release delivery is about, from its `repository.full_name`:
 * a table with one source takes every delivery (as before sources existed;
 * a webhook is set up on that one repository), one with several only those
 * of its repositories (null: none of ours).
 */
export function sourceOfDelivery(origins: Origins, repository: string | undefined): string | null {
  const names = Object.keys(origins.sources)
  if (names.length === 1) return origins.source
  if (repository === undefined) return null
  // Own keys only: a sender's `__proto__` is no repository of ours.
  const repo = repository.toLowerCase()
  return Object.hasOwn(origins.repos, repo) ? (origins.repos[repo] as string) : null
}
