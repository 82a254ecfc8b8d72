import type { Answer, Warning } from '../decision/answer.js'

/** A response header: its name, lower case as the service sets it, and its value. */
export type Header = readonly [name: string, value: string]

/**
 * One response, whole: made once from what was decided (of-answer.ts) or by
 * the few routes that answer for themselves, then only written, by the
 * Fastify route (reply.ts) or the redirect lane (src/lane/), and recorded
 * (record.ts) by what it says of itself.
 */
export interface Response {
  readonly status: number
  /**
   * Every header the service sets, in the order written. The transport adds
   * only what belongs to the connection: content-length, date, connection.
   */
  readonly headers: readonly Header[]
  /** The body of a GET ('' for none); a HEAD is sent the same head without it. */
  readonly body: string | Buffer
  /** What the request log and the metrics name. */
  readonly labels: Labels
  /** Logged once when the response is sent (a redirect GitHub could not confirm). */
  readonly warning: Warning | undefined
}

/** What the log line and the metrics say of a response besides its status. */
export interface Labels extends Pick<Answer, 'rule' | 'source' | 'upstream' | 'origin' | 'image'> {
  /** A redirect's target. */
  readonly location: string | undefined
}

/** The labels of a response no decision made (health checks, refusals, webhooks). */
export const NO_LABELS: Labels = Object.freeze({
  rule: null,
  source: null,
  upstream: null,
  origin: null,
  image: null,
  location: undefined,
})

/** First on every response: nothing the service sends is to be sniffed. */
export const NOSNIFF: Header = ['x-content-type-options', 'nosniff']

export const TEXT_TYPE = 'text/plain; charset=utf-8'

/**
 * A one-line text body: clients read the status, people read the line,
 * nobody parses it. Never cached unless the caller says so (a definite
 * answer, such as a missing asset, may be cached briefly; errors never).
 * `first`: headers said before the body's own (Retry-After, Allow).
 */
export function textResponse(
  status: number,
  line: string,
  cacheControl = 'no-store',
  labels: Labels = NO_LABELS,
  first: readonly Header[] = [],
): Response {
  return {
    status,
    headers: [NOSNIFF, ...first, ['content-type', TEXT_TYPE], ['cache-control', cacheControl]],
    body: `${line}\n`,
    labels,
    warning: undefined,
  }
}

/** The header's value in a response, if it says it. */
export function headerOf(response: Response, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1]
}
