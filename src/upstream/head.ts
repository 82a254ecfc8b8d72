import { Agent, type Dispatcher } from 'undici'

export interface HeadTimeouts {
  readonly connectTimeoutMs: number
  readonly responseTimeoutMs: number
}

export interface HeadResult {
  readonly outcome: CheckOutcome
  /** The status GitHub answered, or the error code when it did not answer. */
  readonly detail: number | string
}

const USER_AGENT = 'sysext-redirector (upstream check)'

/** Told GitHub's status and headers (the gate reads its "slow down" from them). */
export type StatusObserver = (status: number, headers: Readonly<Record<string, unknown>>) => void

/** A keep-alive pool for the checks; both timeouts also bound each request. */
export function createUpstreamAgent(timeouts: HeadTimeouts): Agent {
  return new Agent({
    connect: { timeout: timeouts.connectTimeoutMs },
    headersTimeout: timeouts.responseTimeoutMs,
    bodyTimeout: timeouts.responseTimeoutMs,
  })
}

/**
 * Asks GitHub whether a download URL leads anywhere: a HEAD that does not
 * follow the redirect (the signed storage link behind it is of no use to
 * us). 302 or 200 is yes, 404 is no, anything else, a timeout or a broken
 * connection is "cannot say". Never rejects.
 */
export async function headCheck(
  dispatcher: Dispatcher,
  location: string,
  timeouts: HeadTimeouts,
  observe?: StatusObserver,
  outcomeOf: OutcomeOf = githubOutcome,
): Promise<HeadResult> {
  const url = new URL(location)
  // The whole exchange, waiting for a pooled connection included, is bounded:
  // an injected dispatcher may have no connect timeout of its own.
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new Error('upstream check timed out')),
    timeouts.connectTimeoutMs + timeouts.responseTimeoutMs,
  )
  const result = await ask(dispatcher, url, timeouts, controller.signal, observe, outcomeOf).catch(
    (err: { code?: string; message?: string }): HeadResult => ({
      outcome: 'unknown',
      detail: err.code ?? String(err.message),
    }),
  )
  clearTimeout(timer)
  return result
}

async function ask(
  dispatcher: Dispatcher,
  url: URL,
  timeouts: HeadTimeouts,
  signal: AbortSignal,
  observe: StatusObserver | undefined,
  outcomeOf: OutcomeOf,
): Promise<HeadResult> {
  const response = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'HEAD',
    // undici closes the connection after a HEAD unless told otherwise, in
    // case a broken server sends a body; GitHub does not, so keep it alive.
    reset: false,
    headers: { 'user-agent': USER_AGENT },
    headersTimeout: timeouts.responseTimeoutMs,
    bodyTimeout: timeouts.responseTimeoutMs,
    signal,
  })
  await response.body.dump()
  observe?.(response.statusCode, response.headers)
  return { outcome: outcomeOf(response.statusCode, response.headers), detail: response.statusCode }
}

/** What an answer's status (and headers) says of the file. */
export type OutcomeOf = (status: number, headers: Readonly<Record<string, unknown>>) => CheckOutcome

function githubOutcome(status: number): CheckOutcome {
  if (status === 302 || status === 200) return 'exists'
  return status === 404 ? 'missing' : 'unknown'
}

/**
 * A mirror's answer: the file itself (200), or a redirect that stays on the
 * mirror's own host (its storage, a bucket's index); a redirect to anywhere
 * else would send clients outside the configured origins, and says nothing.
 */
export function mirrorOutcome(base: string): OutcomeOf {
  return (status, headers) => {
    if (status === 200) return 'exists'
    if (status === 404 || status === 410) return 'missing'
    const location = headers.location
    if (status >= 300 && status < 400 && typeof location === 'string') {
      return isWithin(location, base) ? 'exists' : 'unknown'
    }
    return 'unknown'
  }
}

/** Whether a Location (relative to the base URL) stays on the base URL's origin. */
export function isWithin(location: string, base: string): boolean {
  try {
    return new URL(location, `${base}/`).origin === new URL(base).origin
  } catch {
    return false
  }
}

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
