import t, { type Test } from 'tap'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { COMMUNITY, FEDORA, fedoraApp, SECRET } from '../helpers/fedora.js'
import { releaseDelivery } from '../helpers/fleet.js'

/**
 * tables/fedora-sysexts-published.yaml: `/extensions/` without a hand-kept
 * list, each name sent to whichever repository's global SHA256SUMS (release
 * `latest`) lists it. Served by the real app from a fake GitHub holding both
 * repositories, with manifests this file writes.
 */
type Repo = typeof FEDORA | typeof COMMUNITY

const image = (name: string, version = '1.0-1-42') => `${name}-${version}-x86-64.raw`
const line = (file: string) => `${'0'.repeat(64)}  ${file}\n`

/** A global manifest listing one image of each name. */
function latest(...names: string[]): string {
  return names.map((name) => line(image(name))).join('')
}

/**
 * btop is fedora's, tailscale community's, both is in the two, ghost in
 * neither; community's docker-compose must not make docker community's.
 * Every name has its transfer file, its SHA256SUMS and one image in both
 * repositories, so where a request goes shows in its Location alone.
 */
const NAMES = ['btop', 'tailscale', 'both', 'ghost', 'docker', 'docker-compose', 'fresh']

async function github(t: Test): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({ repo: FEDORA, more: { [COMMUNITY]: {} } })
  t.teardown(() => fake.close())
  fake.addAsset('latest', 'SHA256SUMS', latest('btop', 'both', 'docker'), FEDORA)
  fake.addAsset('latest', 'SHA256SUMS', latest('tailscale', 'both', 'docker-compose'), COMMUNITY)
  for (const repo of [FEDORA, COMMUNITY] as const) {
    for (const name of NAMES) publish(fake, repo, name)
  }
  return fake
}

function publish(fake: FakeGitHub, repo: Repo, name: string): void {
  fake.addAsset(name, `${name}.conf`, `[Transfer]\n# ${repo}\n`, repo)
  fake.addAsset(name, 'SHA256SUMS', line(image(name)), repo)
  const stem = image(name).slice(0, -'.raw'.length)
  fake.addAsset(stem, image(name), `${repo} image`, repo)
}

async function publishedApp(t: Test, env: Record<string, string> = {}) {
  const fake = await github(t)
  const built = await fedoraApp(t, 'fedora-sysexts-published.yaml', fake, {
    MANIFEST_INDEX: 'true',
    // Every form redirected, so each answer names its repository; snapshot files read the
    // same chosen source (test/manifests/snapshots.test.ts serves them).
    SNAPSHOTS: 'false',
    ...env,
  })
  const where = async (path: string): Promise<string> => {
    const reply = await built.app.inject({ url: path })
    const location = reply.headers.location
    if (reply.statusCode !== 302 || typeof location !== 'string')
      return `${reply.statusCode} ${reply.body}`
    const repo = [FEDORA, COMMUNITY].find((one) => location.startsWith(`${fake.url}/${one}/`))
    return repo === undefined ? location : (repo.split('/')[1] as string)
  }
  return { fake, where, ...built }
}

/** Every form of /extensions/ for a name: the short transfer URL, in its folder, its index, an image. */
const forms = (name: string) => [
  `/extensions/${name}.conf`,
  `/extensions/${name}/${name}.conf`,
  `/extensions/${name}/SHA256SUMS`,
  `/extensions/${name}/${image(name)}`,
]

t.test('a name goes to the one repository that publishes it, in every form', async (t) => {
  const { where, logs } = await publishedApp(t)
  for (const path of forms('tailscale')) t.equal(await where(path), 'community', path)
  for (const path of forms('btop')) t.equal(await where(path), 'fedora', path)
  t.match(
    logs.filter((one) => one.msg === 'request' && one.path === '/extensions/tailscale.conf'),
    [{ rule: 'extensions-transfer', source: 'community', status: 302 }],
    'the log says which',
  )
  // The other trees still say their repository, whatever the manifests list.
  t.equal(await where('/fedora/tailscale.conf'), 'fedora')
  t.equal(await where('/community/btop.conf'), 'community')
  t.equal(await where('/extensions/SHA256SUMS'), 'fedora', 'the global index is fedora’s')
})

t.test('in both, in neither: the declared source (fedora)', async (t) => {
  const { where } = await publishedApp(t)
  for (const path of forms('both')) t.equal(await where(path), 'fedora', `both: ${path}`)
  for (const path of forms('ghost')) t.equal(await where(path), 'fedora', `neither: ${path}`)
  // docker-compose (community) is no image of docker: docker is fedora's alone.
  t.equal(await where('/extensions/docker.conf'), 'fedora')
  t.equal(await where('/extensions/docker-compose.conf'), 'community')
})

t.test('a manifest that cannot be read: the declared source, kept briefly', async (t) => {
  const { fake, app, where } = await publishedApp(t, { INDEX_RETRY: '60s' })
  fake.fault(
    { kind: 'status', status: 500 },
    (name, repo) => repo === COMMUNITY && name === 'latest/SHA256SUMS',
  )
  t.equal(await where('/extensions/tailscale.conf'), 'fedora', 'community cannot say: fedora')
  const guessed = await app.inject({ url: '/extensions/tailscale.conf' })
  t.equal(guessed.headers['cache-control'], 'public, max-age=5', 'an unsure answer is short-lived')
  t.equal(await where('/extensions/btop.conf'), 'fedora')
  fake.fault(null)
  // Only after INDEX_RETRY would the index ask again: a fresh app sees the manifests again.
  const fresh = await publishedApp(t)
  t.equal(await fresh.where('/extensions/tailscale.conf'), 'community')
  const sure = await fresh.app.inject({ url: '/extensions/tailscale.conf' })
  t.equal(sure.headers['cache-control'], 'public, max-age=60', 'a sure one lives as its rule says')
})

t.test('without the manifest index, every name goes to the declared source', async (t) => {
  const { where, fake } = await publishedApp(t, { MANIFEST_INDEX: 'false' })
  t.equal(await where('/extensions/tailscale.conf'), 'fedora')
  t.equal(fake.count('GET', 'latest', 'SHA256SUMS'), 0, 'no manifest read')
})

t.test('a new community name works at /extensions/ once its release event arrives', async (t) => {
  const { fake, app, where } = await publishedApp(t)
  t.equal(await where('/extensions/fresh.conf'), 'fedora', 'not listed yet')
  fake.addAsset(
    'latest',
    'SHA256SUMS',
    latest('tailscale', 'both', 'docker-compose', 'fresh'),
    COMMUNITY,
  )
  t.equal(await where('/extensions/fresh.conf'), 'fedora', 'the index does not know yet')
  const { body, headers } = releaseDelivery(SECRET, 'fresh', 'published', COMMUNITY)
  const delivered = await app.inject({ method: 'POST', url: '/hooks/github', body, headers })
  t.equal(delivered.statusCode, 200, delivered.body)
  // The global manifest is read again at once (the adopted one served meanwhile).
  await app.snapshots.get('community')?.settled()
  t.equal(await where('/extensions/fresh.conf'), 'community', 'at once, no table change')
})
