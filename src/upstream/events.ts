/** What one upstream check found: GitHub has the asset, has not, or could not say. */
export type CheckOutcome = 'exists' | 'missing' | 'unknown'

/**
 * What the upstream checks report as they work, for metrics. `check` is
 * called once per upstream HEAD that finished; `cache` once per lookup:
 * `hit` a fresh answer, `stale` an expired positive answer served while it is
 * refreshed in the background, `miss` a lookup that waited for GitHub.
 */
export interface UpstreamEvents {
  check(outcome: CheckOutcome, durationSeconds: number): void
  cache(result: 'hit' | 'miss' | 'stale'): void
}

export const noUpstreamEvents: UpstreamEvents = {
  check: () => undefined,
  cache: () => undefined,
}
