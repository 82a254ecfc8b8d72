import fastify from 'fastify'
import t from 'tap'
import { noGateEvents, UpstreamGate } from '../../src/upstream/gate.js'
import { Agent } from 'undici'
import { parseUpstreamConfig } from '../../src/config/upstream.js'
import { registerUpstreamChecks } from '../../src/upstream/register.js'
import { testApp } from '../helpers/app.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import {
  ASSETS,
  IMAGE,
  INDEX,
  MISSING,
  requestLine,
  setup,
  TestClock,
} from '../helpers/upstream.js'

const REL = '/flatcar/sysext-bakery/releases/download'

t.test('a missing asset is a 404 for GET and HEAD, briefly cacheable', async (t) => {
  const { github, app, logs } = await setup(t, { CHECK_TTL_MISSING: '45s' })
  for (const method of ['GET', 'HEAD'] as const) {
    const reply = await app.inject({ method, url: `${MISSING.path}?x=1` })
    t.equal(reply.statusCode, 404, method)
    t.equal(reply.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(reply.headers['cache-control'], 'public, max-age=45')
    t.equal(reply.headers['x-content-type-options'], 'nosniff')
    t.equal(reply.headers.location, undefined, 'no redirect')
    t.equal(
      reply.body,
      method === 'GET'
        ? 'Not Found: release kubernetes-v9.9.9 has no asset kubernetes-v9.9.9-x86-64.raw\n'
        : '',
    )
  }
  t.match(requestLine(logs, `${MISSING.path}?x=1`), {
    rule: 'raw',
    upstream: 'missing',
    status: 404,
  })
  t.equal(github.count('HEAD'), 1)
})

t.test('an existing asset: the same redirect as without checks', async (t) => {
  const { github, app, logs } = await setup(t)
  const reply = await app.inject({ url: '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw' })
  t.equal(reply.statusCode, 302)
  t.equal(reply.headers.location, `${github.url}${REL}/${IMAGE.tag}/${IMAGE.name}`)
  t.equal(reply.headers['cache-control'], 'public, max-age=86400')
  t.match(requestLine(logs, '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw'), {
    upstream: 'exists',
    rule: 'raw-below-path',
  })
  t.same(
    github.requests.map((r) => [r.method, r.path]),
    [['HEAD', `${REL}/${IMAGE.tag}/${IMAGE.name}`]],
    'exactly the Location, by HEAD',
  )
})

t.test('a literal + is checked as it is redirected', async (t) => {
  const { github, app } = await setup(t)
  github.addAsset('k3s-v1.32.2+k3s1', 'k3s-v1.32.2+k3s1-x86-64.raw', 'image')
  const reply = await app.inject({ url: '/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw' })
  t.equal(reply.statusCode, 302)
  t.equal(github.count('HEAD', 'k3s-v1.32.2+k3s1', 'k3s-v1.32.2+k3s1-x86-64.raw'), 1)
})

t.test('the fallback is never checked', async (t) => {
  const { github, app, logs, events } = await setup(t)
  for (const path of ['/', '/docs/extensions/?q=1', '/extensions/kubernetes-v1.32.2-riscv64.raw']) {
    const reply = await app.inject({ url: path })
    t.equal(reply.statusCode, 302, path)
    t.match(reply.headers.location, /^https:\/\/flatcar\.github\.io\/sysext-bakery\//)
    t.match(requestLine(logs, path), { rule: 'fallback', upstream: 'unchecked' })
  }
  t.same(github.requests, [])
  t.same(events.caches, [], 'no lookups either')
})

t.test('requests that are not redirects log upstream: null', async (t) => {
  const { app, logs } = await setup(t)
  await app.inject({ url: '/healthz' })
  t.equal(requestLine(logs, '/healthz').upstream, null)
})

t.test('UPSTREAM_CHECKS=false: pure rewriting, nothing sent upstream', async (t) => {
  const { github, app, logs, events } = await setup(t, { UPSTREAM_CHECKS: 'false' })
  t.equal(app.upstreamChecks, null)
  for (const target of [IMAGE, INDEX, MISSING]) {
    const reply = await app.inject({ url: target.path })
    t.equal(reply.statusCode, 302, target.path)
    t.equal(reply.headers.location, `${github.url}${REL}/${target.tag}/${target.name}`)
    t.equal(requestLine(logs, target.path).upstream, 'unchecked')
  }
  t.same(github.requests, [])
  t.same(events.caches, [])
})

t.test('when GitHub cannot say: fail open by default, logged at warn', async (t) => {
  const { github, app, logs } = await setup(t)
  github.fault({ kind: 'status', status: 502 })
  const reply = await app.inject({ url: MISSING.path })
  t.equal(reply.statusCode, 302, 'redirected anyway')
  t.equal(reply.headers.location, `${github.url}${REL}/${MISSING.tag}/${MISSING.name}`)
  t.match(requestLine(logs, MISSING.path), { upstream: 'unknown', status: 302 })
  t.match(
    logs.find((line) => line.msg === 'upstream check failed; redirecting unconfirmed'),
    { level: 40, location: reply.headers.location },
  )
  t.match(
    logs.find((line) => line.msg === 'upstream check got no answer'),
    {
      level: 40,
      module: 'upstream',
      upstream: 502,
    },
  )
})

t.test('fail closed: 503 with Retry-After, never a 4xx', async (t) => {
  const { github, app, logs } = await setup(t, {
    UPSTREAM_FAIL_MODE: 'closed',
    CHECK_TTL_UNKNOWN: '1500ms',
  })
  github.fault({ kind: 'reset' })
  for (const method of ['GET', 'HEAD'] as const) {
    const reply = await app.inject({ method, url: IMAGE.path })
    t.equal(reply.statusCode, 503, method)
    t.equal(reply.headers['retry-after'], '2', 'the wait before GitHub is asked again')
    t.equal(reply.headers['cache-control'], 'no-store')
    t.equal(reply.headers.location, undefined)
    t.equal(
      reply.body,
      method === 'GET'
        ? `Service Unavailable: cannot confirm with GitHub that release ${IMAGE.tag} has asset ${IMAGE.name}; try again shortly\n`
        : '',
    )
  }
  t.match(requestLine(logs, IMAGE.path), { upstream: 'unknown', status: 503 })
  github.fault(null)
  t.equal((await app.inject({ url: MISSING.path })).statusCode, 404, 'known answers still count')
})

t.test('fail closed with a known answer: the stale answer, not a 503', async (t) => {
  const { github, app, clock } = await setup(t, { UPSTREAM_FAIL_MODE: 'closed' })
  t.equal((await app.inject({ url: INDEX.path })).statusCode, 302)
  github.fault({ kind: 'status', status: 500 })
  clock.advance(3_600_000)
  t.equal((await app.inject({ url: INDEX.path })).statusCode, 302)
})

t.test('the app closes the Agent it made', async (t) => {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const { app } = await testApp({ GITHUB_URL: github.url, UPSTREAM_CHECKS: 'true' })
  const checks = app.upstreamChecks
  if (checks === null) throw new Error('checks are on by default')
  const target = {
    source: 'bakery',
    release: IMAGE.tag,
    asset: IMAGE.name,
    location: `${github.url}${REL}/${IMAGE.tag}/${IMAGE.name}`,
    cache: 'versioned' as const,
  }
  t.equal((await checks.lookupNow(target)).answer, 'exists')
  checks.invalidate()
  await app.close()
  t.equal((await checks.lookupNow(target)).answer, 'unknown', 'its pool is gone')
  t.equal(github.count('HEAD'), 1)
})

t.test('an injected dispatcher is used and left open', async (t) => {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const { app } = await testApp({ GITHUB_URL: github.url, UPSTREAM_CHECKS: 'true' }, { dispatcher })
  t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302)
  await app.close()
  t.equal(dispatcher.destroyed, false)
  t.equal(dispatcher.closed, false)
  t.equal(github.count('HEAD'), 1)
})

t.test('registered alone: default clock and no events', async (t) => {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const app = fastify()
  t.teardown(() => app.close())
  const gate = new UpstreamGate({
    clock: performance,
    checksPerSecond: 50,
    checksPerClient: 5,
    events: noGateEvents,
    log: { warn: () => undefined },
  })
  const checks = registerUpstreamChecks(app, parseUpstreamConfig({}), { gate })
  if (checks === null) throw new Error('checks are on by default')
  t.equal(app.upstreamChecks, checks, 'decorated as app.upstreamChecks')
  const location = `${github.url}${REL}/${MISSING.tag}/${MISSING.name}`
  const target = {
    source: 'bakery',
    release: MISSING.tag,
    asset: MISSING.name,
    location,
    cache: 'versioned' as const,
  }
  t.equal((await checks.lookupNow(target)).answer, 'missing')
  t.equal((await checks.lookupNow(target)).answer, 'missing', 'cached under the real clock')
  t.equal(github.count('HEAD'), 1)
})

t.test("registered alone: a client's share, every name counted as listed", async (t) => {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const app = fastify()
  t.teardown(() => app.close())
  const held: string[] = []
  const gate = new UpstreamGate({
    clock: new TestClock(),
    checksPerSecond: 2,
    checksPerClient: 1,
    events: { paused: () => undefined, heldBack: (reason) => held.push(reason) },
    log: { warn: () => undefined },
  })
  const checks = registerUpstreamChecks(app, parseUpstreamConfig({}), { gate })
  if (checks === null) throw new Error('checks are on by default')
  const targetOf = (asset: typeof IMAGE) => ({
    source: 'bakery',
    release: asset.tag,
    asset: asset.name,
    location: `${github.url}${REL}/${asset.tag}/${asset.name}`,
    cache: 'versioned' as const,
  })
  t.equal((await checks.lookupNow(targetOf(IMAGE), '192.0.2.1')).answer, 'exists')
  t.equal(
    (await checks.lookupNow(targetOf(MISSING), '192.0.2.1')).answer,
    'unknown',
    'its share spent',
  )
  t.same(held, ['client'], 'not the budget: listed names may take all of it')
  t.equal(
    (await checks.lookupNow(targetOf(MISSING), '192.0.2.2')).answer,
    'missing',
    'not remembered',
  )
  t.equal(github.count('HEAD'), 2)
})
