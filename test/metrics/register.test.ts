import fastify from 'fastify'
import t, { type Test } from 'tap'
import { imageLabels, type Answer } from '../../src/decision/answer.js'
import type { AnsweredRequest } from '../../src/http/request-log.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { registerMetrics } from '../../src/metrics/register.js'

const RELEASES = 'https://github.com/flatcar/sysext-bakery/releases/download'
const IMAGE = `${RELEASES}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`

/** A request the redirect lane answered, as it reports it, with the decision's answer. */
function answered(extra: Partial<Omit<AnsweredRequest, 'answer'>> = {}): AnsweredRequest {
  const request = {
    reqId: 'req-1',
    method: 'GET',
    url: '/extensions/kubernetes-v1.32.2-x86-64.raw',
    rule: 'raw',
    source: 'bakery' as string | null,
    upstream: 'exists' as AnsweredRequest['upstream'],
    status: 302,
    location: IMAGE as string | undefined,
    durationMs: 0.4,
    client: '127.0.0.1',
    userAgent: 'curl/8',
    ...extra,
  }
  // The decision names the image of a redirect to one (src/decision/answer.ts).
  const image = imageLabels('kubernetes-v1.32.2', request.location?.split('/').at(-1) ?? '')
  return {
    ...request,
    answer: { upstream: request.upstream, image, source: request.source } as Answer,
  }
}

async function counted(t: Test) {
  const app = fastify()
  const metrics = createMetrics()
  const count = registerMetrics(app, metrics)
  await app.ready()
  t.teardown(() => app.close())
  return { count, text: () => metrics.registry.metrics() }
}

t.test('requests the lane answered are counted and timed like any other', async (t) => {
  const { count, text } = await counted(t)
  count(answered())
  count(answered({ durationMs: 1 }))
  count(answered({ durationMs: 2.5, rule: 'fallback', upstream: 'unchecked' }))
  count(answered({ rule: null, status: 404, location: undefined, upstream: null }))
  const body = await text()
  t.match(body, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 2$/m)
  t.match(body, /^sysext_redirector_requests_total\{rule="fallback",status="302"\} 1$/m)
  t.match(body, /^sysext_redirector_requests_total\{rule="none",status="404"\} 1$/m, 'no rule')
  t.match(
    body,
    /^sysext_redirector_request_duration_seconds_bucket\{le="0\.001",rule="raw"\} 2$/m,
    'milliseconds as seconds: 1 ms is in le="0.001"',
  )
  t.match(
    body,
    /^sysext_redirector_request_duration_seconds_bucket\{le="0\.0025",rule="fallback"\} 1$/m,
  )
  t.match(
    body,
    /^sysext_redirector_downloads_total\{source="bakery",extension="kubernetes",version="v1\.32\.2",arch="x86-64"\} 2$/m,
  )
})

t.test('the lane counts a download only for a GET redirect to a confirmed image', async (t) => {
  const { count, text } = await counted(t)
  count(answered({ method: 'HEAD' }))
  count(answered({ upstream: 'unchecked' }))
  count(answered({ upstream: 'unknown' }))
  count(answered({ status: 301 }))
  count(answered({ location: `${RELEASES}/kubernetes/SHA256SUMS` }))
  count(answered({ location: undefined }))
  const body = await text()
  t.notMatch(body, /^sysext_redirector_downloads_total\{/m)
  t.match(body, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 5$/m)
})
