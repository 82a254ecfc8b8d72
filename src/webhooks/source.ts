import type { Origins } from '../table/resolve.js'

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
