import type { Config } from '../config/service.js'
import type { Origins } from '../table/resolve.js'
import { parseTemplate } from '../table/template.js'
import type { Table } from '../table/table.js'
import type { Policy } from './decide.js'
import { lifetimesOf } from './lifetimes.js'

// The Flatcar bakery's release of an image, for a table without a newest layer.
const DEFAULT_IMAGE_RELEASE = parseTemplate('{ext}-{version}')

/** The decision's policy from the parsed configuration and the table. */
export function policyOf(config: Config, table: Table, origins: Origins): Policy {
  return {
    origins,
    lifetimes: lifetimesOf(config.redirectMaxAge, config.upstream.ttlMs),
    checking: config.upstream.enabled,
    indexing: config.index.enabled,
    // Snapshots are read by the manifest index and adopted after checks: both must be on.
    snapshots: config.upstream.enabled && config.index.enabled && config.index.snapshots,
    failMode: config.upstream.failMode,
    checkRetryAfter: retryAfter(config.upstream.ttlMs.unknown),
    indexRetryAfter: retryAfter(config.index.retryMs),
    newestRelease: table.newest?.release ?? DEFAULT_IMAGE_RELEASE,
    waitMs: (config.upstream.connectTimeoutMs + config.upstream.responseTimeoutMs) * asked(origins),
  }
}

/** How many origins one check may ask in turn: GitHub, then each mirror of the source with most. */
function asked(origins: Origins): number {
  return 1 + Math.max(0, ...Object.values(origins.mirrors).map((mirrors) => mirrors.bases.length))
}

/** Whole seconds, at least one. */
function retryAfter(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)))
}
