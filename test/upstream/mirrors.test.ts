import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { Fault } from '../helpers/fake-github.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { ASSETS, IMAGE, MISSING, requestLine, settle, setup } from '../helpers/upstream.js'
import { bakeryAssets, startBakery } from '../helpers/bakery.js'
import { runCommand } from '../../src/cli.js'
import type { Env } from '../../src/config/env.js'
import { testApp } from '../helpers/app.js'
import { startRedisServer } from '../helpers/redis-server.js'

/*
 * Mirror origins (README, "Mirrors"): the fake GitHub fails in each way a
 * real one does, and a second fake holds a copy of its releases, laid out as
 * GitHub's downloads. Every answer is asked of the real app.
 */

/** A copy of the releases on a second host; its base URL as BAKERY_MIRRORS takes it. */
async function startMirror(t: Test, assets = ASSETS): Promise<{ fake: FakeGitHub; base: string }> {
  const fake = await startFakeGitHub({ assets })
  t.teardown(() => fake.close())
  return { fake, base: `${fake.url}/${fake.repo}/releases/download` }
}

// A manifest as the bakery writes it: one image, its SHA-256 and name.
const SUMS = `${'a'.repeat(64)}  kubernetes-v1.32.2-x86-64.raw\n`

const SHORT = { UPSTREAM_CONNECT_TIMEOUT: '300ms', UPSTREAM_TIMEOUT: '300ms' }

async function rig(t: Test, env: Env = {}) {
  const mirror = await startMirror(t)
  const setupDone = await setup(t, { BAKERY_MIRRORS: mirror.base, ...SHORT, ...env })
  return { ...setupDone, mirror }
}

const FAULTS: [string, Fault][] = [
  ['500', { kind: 'status', status: 500 }],
  ['a reset connection', { kind: 'reset' }],
  ['a hang', { kind: 'hang' }],
  ['429, its pause', { kind: 'status', status: 429, headers: { 'retry-after': '60' } }],
]

for (const [name, fault] of FAULTS) {
  t.test(
    `GitHub failing (${name}): the image is redirected to the mirror that has it`,
    async (t) => {
      const { app, github, mirror, logs, checks } = await rig(t)
      github.fault(fault)
      const response = await app.inject({ url: IMAGE.path })
      t.equal(response.statusCode, 302)
      t.equal(response.headers.location, `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`)
      // Kept briefly: clients go back to GitHub once it answers again.
      t.equal(response.headers['cache-control'], 'public, max-age=5')
      const line = requestLine(logs, IMAGE.path)
      t.equal(line.origin, mirror.base, 'the log names the origin')
      t.equal(line.upstream, 'exists')
      t.equal(mirror.fake.count('HEAD', IMAGE.tag, IMAGE.name), 1, 'the mirror asked once')
      await settle(checks)
    },
  )
}

t.test('GitHub says missing, a mirror has it: the mirror; neither: 404', async (t) => {
  const { app, github, mirror } = await rig(t)
  github.removeAsset(IMAGE.tag, IMAGE.name)
  const found = await app.inject({ url: IMAGE.path })
  t.equal(found.headers.location, `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`)
  const none = await app.inject({ url: MISSING.path })
  t.equal(none.statusCode, 404, 'missing everywhere')
  t.equal(mirror.fake.count('HEAD', MISSING.tag, MISSING.name), 1, 'the mirror was asked')
})

t.test('GitHub answering: the mirrors are never asked', async (t) => {
  const { app, github, mirror, logs } = await rig(t)
  const response = await app.inject({ url: IMAGE.path })
  t.equal(
    response.headers.location,
    `${github.url}/${github.repo}/releases/download/${IMAGE.tag}/${IMAGE.name}`,
  )
  t.equal(requestLine(logs, IMAGE.path).origin, 'github')
  t.equal(mirror.fake.requests.length, 0)
})

t.test(
  'GitHub failing and no mirror has it: as without mirrors (unconfirmed, to GitHub)',
  async (t) => {
    const { app, github, mirror } = await rig(t)
    github.fault({ kind: 'status', status: 500 })
    mirror.fake.fault({ kind: 'status', status: 503 })
    const response = await app.inject({ url: IMAGE.path })
    t.equal(response.statusCode, 302)
    t.match(response.headers.location, github.url)
    t.equal(response.headers['cache-control'], 'public, max-age=5')
  },
)

t.test(
  'mirrors in order: one that redirects outside itself is passed over, and said',
  async (t) => {
    const second = await startMirror(t)
    const outside = await startFakeGitHub()
    t.teardown(() => outside.close())
    // A "mirror" whose server sends every request somewhere else.
    const first = `${outside.url}/${outside.repo}/releases/download`
    outside.fault({ kind: 'status', status: 302, headers: { location: 'https://evil.example/x' } })
    const { app, github, logs } = await setup(t, {
      BAKERY_MIRRORS: `${first},${second.base}`,
      ...SHORT,
    })
    github.fault({ kind: 'status', status: 500 })
    const response = await app.inject({ url: IMAGE.path })
    t.equal(response.headers.location, `${second.base}/${IMAGE.tag}/${IMAGE.name}`)
    t.ok(
      logs.some((line) => line.msg === 'mirror check got no answer' && line.mirror === first),
      'the mirror that led elsewhere is named in the log',
    )
  },
)

t.test('concurrent requests share one check of each origin', async (t) => {
  const { app, github, mirror } = await rig(t)
  github.fault({ kind: 'status', status: 500 })
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => app.inject({ url: IMAGE.path })),
  )
  t.same(new Set(answers.map((answer) => answer.statusCode)), new Set([302]))
  t.equal(github.count('HEAD', IMAGE.tag, IMAGE.name), 1, 'GitHub asked once')
  t.equal(mirror.fake.count('HEAD', IMAGE.tag, IMAGE.name), 1, 'the mirror asked once')
})

t.test(
  'a mirror answer lasts as long as GitHub’s failure would, then GitHub is asked again',
  async (t) => {
    const { app, github, clock, checks } = await rig(t)
    github.fault({ kind: 'status', status: 500 })
    await app.inject({ url: IMAGE.path })
    github.fault(null)
    clock.advance(5001)
    // Served while refreshed in the background (an "exists" that expired)...
    await app.inject({ url: IMAGE.path })
    await settle(checks)
    const back = await app.inject({ url: IMAGE.path })
    t.match(back.headers.location, github.url, '...and back to GitHub once it answers')
    t.equal(back.headers['cache-control'], 'public, max-age=86400')
  },
)

t.test('redirects are counted by origin', async (t) => {
  const { app, github, mirror } = await rig(t)
  const arm = 'kubernetes-v1.32.2-arm64.raw'
  github.addAsset(IMAGE.tag, arm, 'image')
  mirror.fake.addAsset(IMAGE.tag, arm, 'image')
  github.fault({ kind: 'status', status: 500 }, (tagAndName) => tagAndName.endsWith(arm))
  await app.inject({ url: IMAGE.path })
  await app.inject({ url: `/extensions/${arm}` })
  const body = await app.metrics.registry.metrics()
  t.match(body, /sysext_redirector_redirects_by_origin_total\{origin="github"\} 1\n/)
  t.match(
    body,
    `sysext_redirector_redirects_by_origin_total{origin="${mirror.base}"} 1\n`,
    'the mirror',
  )
})

t.test('mirrors first for IPv6 clients: ::1 goes to the mirror, 127.0.0.1 to GitHub', async (t) => {
  const { app, github, mirror } = await rig(t, { BAKERY_MIRRORS_FIRST: 'ipv6' })
  const six = await app.inject({ url: IMAGE.path, remoteAddress: '::1' })
  t.equal(six.headers.location, `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`)
  // Kept as long as GitHub's would be: the mirror is this client's origin.
  t.equal(six.headers['cache-control'], 'public, max-age=86400')
  t.equal(github.count('HEAD', IMAGE.tag, IMAGE.name), 0, 'GitHub not asked for it')
  const four = await app.inject({ url: IMAGE.path, remoteAddress: '127.0.0.1' })
  t.match(four.headers.location, github.url)
  const mapped = await app.inject({ url: IMAGE.path, remoteAddress: '::ffff:127.0.0.1' })
  t.match(mapped.headers.location, github.url, 'an IPv4-mapped address is IPv4')
  mirror.fake.removeAsset(IMAGE.tag, IMAGE.name)
  const other = await app.inject({
    url: IMAGE.path.replace('x86-64', 'arm64'),
    remoteAddress: '::1',
  })
  t.equal(other.statusCode, 404, 'neither has the arm64 image')
})

t.test('mirrors first for every client', async (t) => {
  const { app, github, mirror } = await rig(t, { BAKERY_MIRRORS_FIRST: 'all' })
  const four = await app.inject({ url: IMAGE.path, remoteAddress: '192.0.2.4' })
  t.equal(four.headers.location, `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`)
  t.equal(github.count('HEAD'), 0)
  mirror.fake.removeAsset(IMAGE.tag, IMAGE.name)
  const gone = await app.inject({ url: IMAGE.path.replace('x86-64', 'arm64') })
  t.equal(gone.statusCode, 404)
  t.equal(github.count('HEAD'), 1, 'GitHub asked once the mirror had none')
})

t.test('a snapshot file is adopted from a mirror when GitHub has none to give', async (t) => {
  const mirror = await startMirror(t, {
    ...ASSETS,
    kubernetes: { ...ASSETS.kubernetes, SHA256SUMS: SUMS },
  })
  const { app, github } = await setup(t, {
    BAKERY_MIRRORS: mirror.base,
    MANIFEST_INDEX: 'true',
    ...SHORT,
  })
  github.fault({ kind: 'status', status: 500 })
  const sums = await app.inject({ url: '/extensions/kubernetes/SHA256SUMS' })
  t.equal(sums.statusCode, 200, sums.body)
  t.equal(sums.body, SUMS, "the mirror's copy")
  const conf = await app.inject({ url: '/extensions/kubernetes.conf' })
  t.equal(conf.statusCode, 200)
  t.equal(conf.body, '[Transfer]\n')
})

t.test('a fleet shares what a mirror said: one HEAD for the fleet', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const mirror = await startMirror(t)
  const first = await setup(t, { BAKERY_MIRRORS: mirror.base, REDIS_URL: redis.url, ...SHORT })
  first.github.fault({ kind: 'status', status: 500 })
  const env = { GITHUB_URL: first.github.url, UPSTREAM_CHECKS: 'true', RATE_LIMIT_MAX: '0' }
  const { app: second } = await testApp({
    ...env,
    ...SHORT,
    BAKERY_MIRRORS: mirror.base,
    REDIS_URL: redis.url,
  })
  t.teardown(() => second.close())
  await storeUp(first.app)
  await storeUp(second)
  const via = `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`
  t.equal((await first.app.inject({ url: IMAGE.path })).headers.location, via)
  t.equal((await second.inject({ url: IMAGE.path })).headers.location, via, 'from the store')
  t.equal(first.github.count('HEAD'), 1, 'GitHub asked once')
  t.equal(mirror.fake.count('HEAD'), 1, 'the mirror asked once')

  // An instance that does not have that mirror takes the stored answer as "cannot say".
  const { app: other } = await testApp({
    ...env,
    ...SHORT,
    BAKERY_MIRRORS: 'http://127.0.0.1:9/elsewhere',
    REDIS_URL: redis.url,
  })
  t.teardown(() => other.close())
  await storeUp(other)
  const unsure = await other.inject({ url: IMAGE.path })
  t.match(unsure.headers.location, first.github.url, 'never a mirror it was not given')
  t.equal(unsure.headers['cache-control'], 'public, max-age=5')
})

/** Until the app's shared store says it is in use. */
async function storeUp(app: FastifyInstance): Promise<void> {
  const metric = app.metrics.registry.getSingleMetric('sysext_redirector_shared_store_up')
  for (let tries = 0; tries < 400; tries++) {
    const up = (await metric?.get())?.values.find((value) => value.labels.store === 'redis')
    if (up?.value === 1) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('the shared store never came up')
}

t.test('explain --live names the origin, and why', async (t) => {
  const mirror = await startMirror(t)
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  github.fault({ kind: 'status', status: 500 })
  const env = {
    GITHUB_URL: github.url,
    BAKERY_MIRRORS: mirror.base,
    UPSTREAM_CHECKS: 'true',
    ...SHORT,
  }
  const said = async (extra: Env = {}) => {
    const out: string[] = []
    const code = await runCommand(
      ['explain', '--live', IMAGE.path],
      { ...env, ...extra },
      {
        out: (line) => out.push(...line.split('\n')),
        err: (line) => out.push(line),
      },
    )
    t.equal(code, 0)
    return out.join('\n')
  }
  const failing = await said()
  t.match(failing, `exists on mirror ${mirror.base} (GitHub: unknown)`)
  t.match(failing, new RegExp(`^ {2}origin {9}${mirror.base}$`, 'm'))
  github.fault(null)
  const first = await said({ BAKERY_MIRRORS_FIRST: 'all' })
  t.match(first, `exists on mirror ${mirror.base} (this client goes to the mirrors first)`)
})

t.test('a newest-version name, GitHub failing: the newest image, on the mirror', async (t) => {
  const fake = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => fake.close())
  const base = `${fake.url}/${fake.repo}/releases/download`
  const { app, github } = await startBakery(t, { BAKERY_MIRRORS: base, ...SHORT })
  github.fault({ kind: 'status', status: 500 })
  const newest = await app.inject({ url: '/extensions/kubernetes.raw' })
  t.equal(newest.statusCode, 302)
  t.equal(newest.headers.location, `${base}/kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw`)
  t.equal(
    newest.headers['cache-control'],
    'public, max-age=5',
    'kept briefly: GitHub may answer again',
  )
})

t.test('mirrors first, the service asking for itself (no client): GitHub first', async (t) => {
  const { checks, github, mirror } = await rig(t, { BAKERY_MIRRORS_FIRST: 'ipv6' })
  const target = {
    source: 'bakery',
    release: IMAGE.tag,
    asset: IMAGE.name,
    location: `${github.url}/${github.repo}/releases/download/${IMAGE.tag}/${IMAGE.name}`,
    cache: 'versioned',
  } as const
  t.same(await checks.lookupNow(target), {
    answer: 'exists',
    mirror: null,
    github: null,
    release: IMAGE.tag,
    asset: IMAGE.name,
    source: 'bakery',
  })
  t.equal(mirror.fake.requests.length, 0)
})

t.test('a fleet shares the answers of mirrors-first clients apart from the others', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const mirror = await startMirror(t)
  const env = {
    BAKERY_MIRRORS: mirror.base,
    BAKERY_MIRRORS_FIRST: 'ipv6',
    REDIS_URL: redis.url,
    ...SHORT,
  }
  const first = await setup(t, env)
  const { app: second } = await testApp({
    GITHUB_URL: first.github.url,
    UPSTREAM_CHECKS: 'true',
    RATE_LIMIT_MAX: '0',
    ...env,
  })
  t.teardown(() => second.close())
  await storeUp(first.app)
  await storeUp(second)
  const six = { url: IMAGE.path, remoteAddress: '2001:db8::1' }
  t.equal(
    (await first.app.inject(six)).headers.location,
    `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`,
  )
  t.equal((await second.inject(six)).headers.location, `${mirror.base}/${IMAGE.tag}/${IMAGE.name}`)
  t.equal(mirror.fake.count('HEAD'), 1, 'the mirror asked once for the fleet')
  const four = await second.inject({ url: IMAGE.path, remoteAddress: '192.0.2.1' })
  t.match(four.headers.location, first.github.url, 'an IPv4 client: GitHub, its own answer')
})

t.test(
  'a mirror answering garbage: passed over, named in the log; a bad manifest never adopted',
  async (t) => {
    // Not HTTP at all: bytes, then the connection closed.
    const junk = createServer((socket) => {
      socket.on('error', () => undefined)
      socket.end('garbage, not HTTP\r\n\r\n', () => socket.destroy())
    })
    await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => junk.close(() => resolve())))
    const garbage = `http://127.0.0.1:${(junk.address() as AddressInfo).port}/releases`
    const second = await startMirror(t, {
      ...ASSETS,
      kubernetes: { ...ASSETS.kubernetes, SHA256SUMS: 'no manifest at all' },
    })
    const { app, github, logs } = await setup(t, {
      BAKERY_MIRRORS: `${garbage},${second.base}`,
      MANIFEST_INDEX: 'true',
      ...SHORT,
    })
    github.fault({ kind: 'status', status: 500 })
    const image = await app.inject({ url: IMAGE.path })
    t.equal(image.headers.location, `${second.base}/${IMAGE.tag}/${IMAGE.name}`)
    t.ok(
      logs.some((line) => line.msg === 'mirror check got no answer' && line.mirror === garbage),
      'the garbage mirror named',
    )
    const sums = await app.inject({ url: '/extensions/kubernetes/SHA256SUMS' })
    t.equal(sums.statusCode, 503, 'a manifest that does not parse is refused, as from GitHub')
    t.ok(
      logs.some((line) => String(line.reason).startsWith('refused: ')),
      'and the refusal logged',
    )
  },
)
