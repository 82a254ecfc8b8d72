/**
 * Request ids for log lines, `req-1`, `req-2`, … in base 36, as Fastify makes
 * them by default. One sequence per app, shared by Fastify (its genReqId) and
 * the redirect lane, so ids stay unique whichever path answered.
 */
export function requestIds(): () => string {
  // Kept a small integer (V8's fast case), as Fastify does: it wraps after 2^31.
  const MAX = 0x7fffffff
  let last = 0
  return () => {
    last = (last + 1) & MAX
    return `req-${last.toString(36)}`
  }
}
