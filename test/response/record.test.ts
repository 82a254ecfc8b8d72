import { Writable } from 'node:stream'
import fastify from 'fastify'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { imageLabels } from '../../src/decision/answer.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { recorder, registerRecord, type Served } from '../../src/response/record.js'
import { writeReply } from '../../src/response/reply.js'
import { NO_LABELS, textResponse } from '../../src/response/response.js'

const RELEASES = 'https://github.com/flatcar/sysext-bakery/releases/download'
const IMAGE = `${RELEASES}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`

/** A request served, as the lane or the route records it. */
function served(extra: Partial<Served> = {}): Served {
  const request = {
    reqId: 'req-1',
    method: 'GET',
    url: '/extensions/kubernetes-v1.32.2-x86-64.raw',
    rule: 'raw',
    source: 'bakery' as string | null,
    upstream: 'exists' as Served['upstream'],
    origin: 'github' as string | null,
    status: 302,
    location: IMAGE as string | undefined,
    durationMs: 0.4,
    client: '127.0.0.1',
    userAgent: 'curl/8',
    ...extra,
  }
  // The decision names the image of a redirect to one (src/decision/answer.ts).
  const image = imageLabels('kubernetes-v1.32.2', request.location?.split('/').at(-1) ?? '')
  return { image, ...request }
}

/** A recorder over fresh metrics, its log lines kept. */
async function counted(t: Test) {
  const metrics = createMetrics()
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  const count = recorder(pino(stream), metrics)
  t.teardown(() => metrics.registry.clear())
  return { count, lines, text: () => metrics.registry.metrics() }
}

t.test('every request recorded is counted and timed', async (t) => {
  const { count, text } = await counted(t)
  count(served())
  count(served({ durationMs: 1 }))
  count(served({ durationMs: 2.5, rule: 'fallback', upstream: 'unchecked' }))
  count(served({ rule: null, status: 404, location: undefined, upstream: null }))
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

t.test('a download is counted only for a GET redirect to a confirmed image', async (t) => {
  const { count, text } = await counted(t)
  count(served({ method: 'HEAD' }))
  count(served({ upstream: 'unchecked' }))
  count(served({ upstream: 'unknown' }))
  count(served({ status: 301 }))
  count(served({ location: `${RELEASES}/kubernetes/SHA256SUMS` }))
  count(served({ location: undefined }))
  const body = await text()
  t.notMatch(body, /^sysext_redirector_downloads_total\{/m)
  t.match(body, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 5$/m)
})

t.test('every request recorded gets its one log line', async (t) => {
  const { count, lines } = await counted(t)
  count(served())
  count(served({ rule: null, status: 404, location: undefined, upstream: null, source: null }))
  t.match(lines, [
    { msg: 'request', rule: 'raw', source: 'bakery', status: 302, location: IMAGE },
    { msg: 'request', rule: null, status: 404 },
  ])
  t.equal(lines.length, 2)
  t.notOk('location' in (lines[1] as object), 'no location without one')
})

t.test('Fastify’s requests are recorded once done, by the response written or none', async (t) => {
  const recorded: Served[] = []
  const app = fastify()
  const record = (one: Served) => void recorded.push(one)
  registerRecord(app, record)
  const labels = { ...NO_LABELS, rule: 'raw', source: 'bakery', location: IMAGE }
  app.get('/written', (_request, reply) =>
    writeReply(reply, textResponse(404, 'gone', 'no-store', labels)),
  )
  // A route that sends without a Response (none of ours does): recorded without labels.
  app.get('/bare', (_request, reply) => reply.code(204).send())
  t.teardown(() => app.close())
  await app.inject({ url: '/written', headers: { 'user-agent': 'curl/8' } })
  await app.inject('/bare')
  t.match(recorded, [
    {
      method: 'GET',
      url: '/written',
      rule: 'raw',
      source: 'bakery',
      status: 404,
      location: IMAGE,
      userAgent: 'curl/8',
    },
    {
      method: 'GET',
      url: '/bare',
      rule: null,
      source: null,
      upstream: null,
      image: null,
      status: 204,
      location: undefined,
    },
  ])
  t.equal(app.recordServed, record, 'the one sink, for the paths no hook sees')
})
