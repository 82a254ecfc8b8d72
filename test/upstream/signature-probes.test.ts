import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { sign } from '../../src/webhooks/signature.js'
import { startBakery } from '../helpers/bakery.js'
import type { FakeGitHub } from '../helpers/fake-github.js'
import type { TestClock } from '../helpers/upstream.js'

/*
 * sysupdate 262 with Verify=yes asks for SHA256SUMS.sha256.asc,
 * SHA256SUMS.sha256.gpg, SHA256SUMS.gpg and SHA256SUMS.asc in turn and stops
 * at the first that exists: on a bakery that signs with .gpg, two certain
 * 404s on every run of every machine (issue 14, point 3). They must not cost
 * GitHub a request each every CHECK_TTL_MISSING: what a release signs with is
 * learnt once per CHECK_TTL_SIGNATURE (and again after a webhook for it).
 */

const SECRET = 'It is a secret to everybody'
// Signatures redirected after their checks (SNAPSHOTS=false): what this file proves is how
// those checks are cached; served from the snapshot, see test/manifests/snapshots.test.ts.
const REDIRECTED = { SNAPSHOTS: 'false' }
const HOUR = 3_600_000
const PROBES = [
  'SHA256SUMS.sha256.asc',
  'SHA256SUMS.sha256.gpg',
  'SHA256SUMS.gpg',
  'SHA256SUMS.asc',
]

/** One run of sysupdate 262 with Verify=yes below `base`: the manifest, then the probes in turn. */
async function poll(app: FastifyInstance, base: string): Promise<string[]> {
  const seen = [`SHA256SUMS ${(await app.inject(`${base}SHA256SUMS`)).statusCode}`]
  for (const name of PROBES) {
    const status = (await app.inject(`${base}${name}`)).statusCode
    seen.push(`${name} ${status}`)
    if (status !== 404) break
  }
  return seen
}

/** HEADs the service sent GitHub for signature names of one release. */
function signatureHeads(github: FakeGitHub, release: string): number {
  return PROBES.reduce((sum, name) => sum + github.count('HEAD', release, name), 0)
}

function releaseDelivery(app: FastifyInstance, tag: string, action = 'edited') {
  const body = JSON.stringify({
    action,
    release: { tag_name: tag, name: tag, draft: false, prerelease: false, assets: [] },
  })
  return app.inject({
    method: 'POST',
    url: '/hooks/github',
    payload: body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'release',
      'x-hub-signature-256': sign(SECRET, body),
    },
  })
}

/** 1,000 polls, one every 15 s (a fleet of 240 machines polling hourly), over about 4 hours. */
async function fleet(app: FastifyInstance, clock: TestClock, base: string): Promise<string[]> {
  let last: string[] = []
  for (let i = 0; i < 1000; i++) {
    last = await poll(app, base)
    clock.advance(15_000)
  }
  return last
}

t.test(
  '1,000 polls of a signed extension: each signature name asked once per lifetime',
  async (t) => {
    const { github, app, clock } = await startBakery(t, REDIRECTED)
    github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature\n')
    const last = await fleet(app, clock, '/extensions/kubernetes/')
    t.same(
      last,
      [
        'SHA256SUMS 302',
        'SHA256SUMS.sha256.asc 404',
        'SHA256SUMS.sha256.gpg 404',
        'SHA256SUMS.gpg 302',
      ],
      'a 262 run: two 404s, then the signature',
    )
    // 1,000 polls over 15,000 s: with the default lifetime of an hour, 5 lifetimes.
    const lifetimes = Math.ceil((1000 * 15_000) / HOUR)
    const heads = signatureHeads(github, 'kubernetes')
    t.ok(heads <= 3 * lifetimes, `${heads} HEADs for 3 names over ${lifetimes} lifetimes`)
    t.ok(heads >= 3, 'each name was asked at least once: the answers are GitHub’s')
  },
)

t.test('the global index too, and CHECK_TTL_SIGNATURE sets the lifetime', async (t) => {
  const { github, app, clock } = await startBakery(t, { ...REDIRECTED, CHECK_TTL_SIGNATURE: '10m' })
  const last = await fleet(app, clock, '/extensions/')
  t.same(last.slice(-1), ['SHA256SUMS.asc 404'], 'unsigned: every probe is a 404')
  const heads = signatureHeads(github, 'SHA256SUMS')
  const lifetimes = Math.ceil((1000 * 15_000) / 600_000)
  t.ok(heads <= 4 * lifetimes, `${heads} HEADs for 4 names over ${lifetimes} lifetimes`)
  t.ok(heads > 4, 'and asked again once the lifetime passed')
})

t.test('when the bakery starts signing, the answer follows', async (t) => {
  const { github, app, clock } = await startBakery(t, {
    ...REDIRECTED,
    GITHUB_WEBHOOK_SECRET: SECRET,
  })
  t.same((await poll(app, '/extensions/docker/')).at(-1), 'SHA256SUMS.asc 404')

  t.test('at once after a webhook for the release', async (t) => {
    github.addAsset('docker', 'SHA256SUMS.asc', 'signature\n')
    t.same((await poll(app, '/extensions/docker/')).at(-1), 'SHA256SUMS.asc 404', 'still known')
    t.equal((await releaseDelivery(app, 'docker')).statusCode, 200)
    t.same((await poll(app, '/extensions/docker/')).at(-1), 'SHA256SUMS.asc 302')
  })

  t.test('within the lifetime without one', async (t) => {
    github.addAsset('docker', 'SHA256SUMS.sha256.gpg', 'signature\n')
    t.same((await poll(app, '/extensions/docker/')).at(-1), 'SHA256SUMS.asc 302', 'still known')
    clock.advance(HOUR)
    t.same((await poll(app, '/extensions/docker/')).at(-1), 'SHA256SUMS.sha256.gpg 302')
  })
})
