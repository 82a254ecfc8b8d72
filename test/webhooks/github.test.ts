import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { NOT_CONFIGURED } from '../../src/webhooks/github.js'
import { sign } from '../../src/webhooks/signature.js'
import { releasesBase } from '../../src/table/resolve.js'
import { BAKERY, publish, startBakery } from '../helpers/bakery.js'
import { requestLine } from '../helpers/upstream.js'

const SECRET = 'It is a secret to everybody'

function deliver(
  app: FastifyInstance,
  event: string,
  payload: unknown,
  options: { secret?: string; form?: boolean; signature?: string } = {},
) {
  const json = JSON.stringify(payload)
  const body = options.form === true ? `payload=${encodeURIComponent(json)}` : json
  // What GitHub sends: the event, a delivery id, the signature of the body.
  return post(app, body, {
    'content-type':
      options.form === true ? 'application/x-www-form-urlencoded' : 'application/json',
    'x-github-event': event,
    // Each its own delivery: a repeated id is ignored (see the test of replays).
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': options.signature ?? sign(options.secret ?? SECRET, body),
    'user-agent': 'GitHub-Hookshot/abc123',
  })
}

/** A delivery of raw bytes with the headers given. */
function post(app: FastifyInstance, payload: string | undefined, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/hooks/github', payload, headers })
}

/** Headers of a release delivery signed with SECRET. */
const signed = (body: string, contentType = 'application/json'): Record<string, string> => ({
  'content-type': contentType,
  'x-github-event': 'release',
  'x-hub-signature-256': sign(SECRET, body),
})

const released = (tag: string, action = 'published'): unknown => ({
  action,
  release: { tag_name: tag, name: tag, draft: false, prerelease: false, assets: [] },
  repository: { full_name: 'flatcar/sysext-bakery' },
})

t.test('a published release is served at once', async (t) => {
  const { github, app, logs } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  const rel = releasesBase(github.url, 'flatcar/sysext-bakery')
  const newest = async (): Promise<unknown> =>
    (await app.inject('/extensions/kubernetes.raw')).headers.location
  t.equal(await newest(), `${rel}/kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw`)
  const early = await app.inject('/extensions/kubernetes-v1.34.0-x86-64.raw')
  t.equal(early.statusCode, 404, 'asked for before it is published: missing, and remembered')

  publish(github, { ...BAKERY, kubernetes: { ...BAKERY.kubernetes, 'v1.34.0': ['x86-64'] } })
  t.equal(
    await newest(),
    `${rel}/kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw`,
    'caches still hold the old answer',
  )
  t.equal((await app.inject('/extensions/kubernetes-v1.34.0-x86-64.raw')).statusCode, 404)

  // GitHub sends one event per release the bakery's CI touches.
  const version = await deliver(app, 'release', released('kubernetes-v1.34.0'))
  t.equal(version.statusCode, 200)
  t.equal(
    version.body,
    'OK: release kubernetes-v1.34.0 published; dropped 2 manifest(s) and 1 check(s)\n',
  )
  const metadata = await deliver(app, 'release', released('kubernetes', 'edited'))
  t.equal(metadata.body, 'OK: release kubernetes edited; dropped 2 manifest(s) and 0 check(s)\n')
  // The manifests are read again at once; the adopted ones are served until then.
  await app.snapshots.get('bakery')?.settled()
  t.equal(
    await newest(),
    `${rel}/kubernetes-v1.34.0/kubernetes-v1.34.0-x86-64.raw`,
    'no clock moved: served once read again',
  )
  t.equal((await app.inject('/extensions/kubernetes-v1.34.0-x86-64.raw')).statusCode, 302)
  t.match(requestLine(logs, '/hooks/github'), { rule: 'webhook', status: 200 })
  t.match(
    logs.find((l) => l.msg === 'release webhook: caches dropped'),
    {
      action: 'published',
      tags: ['kubernetes-v1.34.0'],
      manifests: ['SHA256SUMS', 'kubernetes'],
      checks: 1,
    },
  )
})

t.test('a renamed tag drops both names; form-encoded deliveries work too', async (t) => {
  const { app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  await app.inject('/extensions/docker.raw')
  const res = await deliver(
    app,
    'release',
    {
      action: 'edited',
      release: { tag_name: 'docker-28.0.2' },
      changes: { tag_name: { from: 'docker-28.0.1' } },
    },
    { form: true },
  )
  t.equal(res.statusCode, 200)
  t.equal(
    res.body,
    'OK: release docker-28.0.2, docker-28.0.1 edited; dropped 2 manifest(s) and 1 check(s)\n',
  )
})

t.test('a bad or missing signature: 401, and nothing is dropped', async (t) => {
  const { github, app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  await app.inject('/extensions/kubernetes.raw')
  const before = github.requests.length
  for (const options of [{ secret: 'guessed' }, { signature: '' }, { signature: 'sha256=00' }]) {
    const res = await deliver(app, 'release', released('kubernetes'), options)
    t.equal(res.statusCode, 401)
    t.equal(res.body, 'Unauthorized: missing or wrong X-Hub-Signature-256\n')
  }
  const unsigned = await post(app, '{}', {
    'content-type': 'application/json',
    'x-github-event': 'release',
  })
  t.equal(unsigned.statusCode, 401)
  const empty = await post(app, undefined, { 'x-github-event': 'ping' })
  t.equal(empty.statusCode, 401, 'no body, no signature')
  await app.inject('/extensions/kubernetes.raw')
  t.equal(github.requests.length, before, 'the caches were not touched')
})

t.test('body size: its own limit, not the 64 KiB of other routes', async (t) => {
  const { app } = await startBakery(t, {
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_WEBHOOK_MAX_BYTES: '200000',
  })
  const padding = 'x'.repeat(150_000)
  const big = await deliver(app, 'release', { ...(released('kubernetes') as object), padding })
  t.equal(big.statusCode, 200, '150 KB is accepted by this route')
  const huge = await deliver(app, 'release', {
    ...(released('kubernetes') as object),
    padding: padding.repeat(2),
  })
  t.equal(huge.statusCode, 413)
  t.equal(huge.body, 'Payload Too Large: at most 200000 bytes\n')
})

t.test('other events are acknowledged and ignored; broken payloads are 400', async (t) => {
  const { app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  const ping = await deliver(app, 'ping', { zen: 'Design for failure.', hook_id: 1 })
  t.equal(ping.statusCode, 200)
  t.equal(ping.body, 'pong\n')
  const push = await deliver(app, 'push', { ref: 'refs/heads/main' })
  t.equal(push.statusCode, 202)
  t.equal(push.body, 'Accepted: push events are ignored\n')
  const odd = await deliver(app, 'Weird Event!', {})
  t.equal(odd.body, 'Accepted: unnamed events are ignored\n')
  const garbage = await post(app, 'not json', signed('not json'))
  t.equal(garbage.statusCode, 400)
  t.equal(garbage.body, 'Bad Request: payload is not a JSON object\n')
  const formless = await post(
    app,
    'other=1',
    signed('other=1', 'application/x-www-form-urlencoded'),
  )
  t.equal(
    formless.body,
    'Bad Request: payload is not a JSON object\n',
    'a form without its payload field',
  )
  const noTag = await deliver(app, 'release', { action: 'published', release: {} })
  t.equal(noTag.body, 'Bad Request: payload has no release.tag_name\n')
})

t.test('without GITHUB_WEBHOOK_SECRET the endpoint is off, and says so', async (t) => {
  const { app, github } = await startBakery(t)
  await app.inject('/extensions/kubernetes.raw')
  const before = github.requests.length
  const res = await deliver(app, 'release', released('kubernetes'))
  t.equal(res.statusCode, 404)
  t.equal(res.body, `${NOT_CONFIGURED}\n`)
  t.match(res.body, /GITHUB_WEBHOOK_SECRET is unset/)
  t.equal(res.headers.connection, 'close', 'its body is never read')
  await app.inject('/extensions/kubernetes.raw')
  t.equal(github.requests.length, before, 'nothing was dropped: no new question to GitHub')
})

t.test('with upstream checks off, the webhook drops manifests alone', async (t) => {
  const { app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET, UPSTREAM_CHECKS: 'false' })
  await app.inject('/extensions/docker.raw')
  const res = await deliver(app, 'release', released('docker-28.0.1'))
  t.equal(res.body, 'OK: release docker-28.0.1 published; dropped 2 manifest(s) and 0 check(s)\n')
})

t.test('with the index off, the webhook still drops upstream checks', async (t) => {
  const { app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET, MANIFEST_INDEX: 'false' })
  await app.inject('/extensions/docker-28.0.1-x86-64.raw')
  const res = await deliver(app, 'release', released('docker-28.0.1'))
  t.equal(res.body, 'OK: release docker-28.0.1 published; dropped 0 manifest(s) and 1 check(s)\n')
})

t.test('a replayed delivery is ignored; a storm for one release is merged', async (t) => {
  const { app, logs } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  await app.inject('/extensions/kubernetes.raw')
  const body = JSON.stringify(released('kubernetes'))
  const headers = { ...signed(body), 'x-github-delivery': 'same-delivery' }
  const first = await post(app, body, headers)
  t.match(first.body, /^OK: release kubernetes published; dropped 2 manifest/)
  const replay = await post(app, body, headers)
  t.equal(replay.statusCode, 200)
  t.equal(replay.body, 'OK: this delivery was handled before; ignored\n')
  const underNewId = await post(app, body, { ...headers, 'x-github-delivery': 'another-id' })
  t.equal(underNewId.body, 'OK: this delivery was handled before; ignored\n', 'known by its body')
  const storm = await deliver(app, 'release', released('kubernetes', 'edited'))
  t.equal(
    storm.body,
    'OK: release kubernetes edited; dropped 0 manifest(s) and 0 check(s); 1 merged with a change just before, dropped shortly\n',
    'within the window: merged, dropped once at its end',
  )
  t.match(logs.filter((line) => line.msg === 'release webhook: caches dropped').at(-1), {
    merged: 1,
  })
})

t.test('a delivery without a body: signed only if signed for no bytes', async (t) => {
  const { app } = await startBakery(t, { GITHUB_WEBHOOK_SECRET: SECRET })
  const ping = { 'x-github-event': 'ping', 'x-github-delivery': 'empty-1' }
  const signedEmpty = await post(app, undefined, {
    ...ping,
    'x-hub-signature-256': sign(SECRET, ''),
  })
  t.equal(signedEmpty.statusCode, 200)
  t.equal(signedEmpty.body, 'pong\n')
  const wrong = await post(app, undefined, {
    ...ping,
    'x-github-delivery': 'empty-2',
    'x-hub-signature-256': sign('another secret', ''),
  })
  t.equal(wrong.statusCode, 401)
})
