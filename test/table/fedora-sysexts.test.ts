import t, { type Test } from 'tap'
import { originsOf, parseConfig } from '../../src/config/service.js'
import { loadTable } from '../../src/config/table-file.js'
import type { TestApp } from '../helpers/app.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { COMMUNITY, DOCS, FEDORA, fedoraApp, SECRET, shippedTable } from '../helpers/fedora.js'
import { releaseDelivery } from '../helpers/fleet.js'

/**
 * tables/fedora-sysexts.yaml against every URL form of extensions.fcos.fr's
 * Caddyfile (github.com/fedora-sysexts/fedora-sysexts.github.io), served by
 * the real app from a fake GitHub holding both repositories. The expected
 * Locations are worked out from that Caddyfile's rules by hand, row by row:
 * they are what Caddy answers (a 302 each, the query dropped; the fallback
 * keeps it).
 */

type Repo = typeof FEDORA | typeof COMMUNITY
/** A request path, and the repository, tag and asset Caddy redirects it to (null: the docs site). */
type Form = [path: string, target: [Repo, string, string] | null]

const CRIO = 'kubernetes-cri-o-1.32-1.32.3-1.fc42-42-x86-64'
const BTOP = 'btop-1.4.0-2.fc41-41-aarch64'
const TAILSCALE = 'tailscale-1.82.5-1-42-x86-64'
const YOUKI = 'youki-next-0.6.0-1-42-x86-64'

const FORMS: Form[] = [
  // /community/: images by file stem, any prefix; transfer files; indexes (no prefix).
  [`/community/tailscale/${TAILSCALE}.raw`, [COMMUNITY, TAILSCALE, `${TAILSCALE}.raw`]],
  [`/a/b/community/tailscale/${TAILSCALE}.raw?x=1`, [COMMUNITY, TAILSCALE, `${TAILSCALE}.raw`]],
  ['/community/tailscale.conf', [COMMUNITY, 'tailscale', 'tailscale.conf']],
  ['/mirror/community/tailscale.conf', [COMMUNITY, 'tailscale', 'tailscale.conf']],
  ['/community/tailscale/tailscale.conf', [COMMUNITY, 'tailscale', 'tailscale.conf']],
  ['/community/tailscale/other.conf', [COMMUNITY, 'tailscale', 'tailscale.conf']],
  ['/community/tailscale/SHA256SUMS', [COMMUNITY, 'tailscale', 'SHA256SUMS']],
  ['/community/SHA256SUMS', [COMMUNITY, 'latest', 'SHA256SUMS']],
  ['/mirror/community/SHA256SUMS', null],
  ['/mirror/community/tailscale/SHA256SUMS', null],
  // /fedora/: the same forms in the other repository.
  [`/fedora/kubernetes-cri-o-1.32/${CRIO}.raw`, [FEDORA, CRIO, `${CRIO}.raw`]],
  [`/x/fedora/btop/${BTOP}.raw`, [FEDORA, BTOP, `${BTOP}.raw`]],
  ['/fedora/btop.conf', [FEDORA, 'btop', 'btop.conf']],
  ['/fedora/btop/btop.conf', [FEDORA, 'btop', 'btop.conf']],
  ['/fedora/btop/SHA256SUMS', [FEDORA, 'btop', 'SHA256SUMS']],
  ['/fedora/SHA256SUMS', [FEDORA, 'latest', 'SHA256SUMS']],
  // /extensions/: the listed community names, youki* included...
  [`/extensions/tailscale/${TAILSCALE}.raw`, [COMMUNITY, TAILSCALE, `${TAILSCALE}.raw`]],
  [`/extensions/youki-next/${YOUKI}.raw`, [COMMUNITY, YOUKI, `${YOUKI}.raw`]],
  ['/extensions/tailscale.conf', [COMMUNITY, 'tailscale', 'tailscale.conf']],
  ['/extensions/youki-next.conf', [COMMUNITY, 'youki-next', 'youki-next.conf']],
  ['/extensions/nordvpn-gui/x.conf', [COMMUNITY, 'nordvpn-gui', 'nordvpn-gui.conf']],
  ['/extensions/youki-next/x.conf', [COMMUNITY, 'youki-next', 'youki-next.conf']],
  ['/extensions/tailscale/SHA256SUMS', [COMMUNITY, 'tailscale', 'SHA256SUMS']],
  ['/extensions/youki-next/SHA256SUMS', [COMMUNITY, 'youki-next', 'SHA256SUMS']],
  // ...and every other name, from the fedora repository.
  [`/extensions/kubernetes-cri-o-1.32/${CRIO}.raw`, [FEDORA, CRIO, `${CRIO}.raw`]],
  [`/extensions/tailscale-extra/${CRIO}.raw`, [FEDORA, CRIO, `${CRIO}.raw`]],
  ['/extensions/btop.conf', [FEDORA, 'btop', 'btop.conf']],
  ['/extensions/nordvpn-cli.conf', [FEDORA, 'nordvpn-cli', 'nordvpn-cli.conf']],
  ['/extensions/btop/x.conf', [FEDORA, 'btop', 'btop.conf']],
  ['/extensions/btop/SHA256SUMS?x=1', [FEDORA, 'btop', 'SHA256SUMS']],
  ['/extensions/SHA256SUMS', [FEDORA, 'latest', 'SHA256SUMS']],
  ['/mirror/extensions/tailscale/SHA256SUMS', null],
  // Everything else: the documentation site, path and query kept.
  ['/', null],
  ['/docs/page.html?lang=en', null],
  ['/extensions/', null],
  ['/extensions/btop.raw', null],
  ['/fedora/btop/', null],
  ['/community/SHA256SUMS.asc', null],
]

/** A fake GitHub with both repositories and every asset FORMS leads to. */
async function github(t: Test): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({ repo: FEDORA, more: { [COMMUNITY]: {} } })
  t.teardown(() => fake.close())
  for (const [, target] of FORMS) {
    if (target !== null) fake.addAsset(target[1], target[2], `${target[0]} ${target[1]}`, target[0])
  }
  return fake
}

async function listedApp(t: Test, env: Record<string, string> = {}) {
  const fake = await github(t)
  return { fake, ...(await fedoraApp(t, 'fedora-sysexts.yaml', fake, env)) }
}

const lastLine = (logs: TestApp['logs'], path: string) =>
  logs.filter((line) => line.msg === 'request' && line.path === path).at(-1)

t.test('every URL form of the Caddyfile, answered as Caddy answers it', async (t) => {
  const { fake, app, logs } = await listedApp(t)
  for (const [path, target] of FORMS) {
    const reply = await app.inject({ url: path })
    const expected =
      target === null
        ? `${DOCS}${path}`
        : `${fake.url}/${target[0]}/releases/download/${target[1]}/${target[2]}`
    t.equal(reply.statusCode, 302, path)
    t.equal(reply.headers.location, expected, path)
    const line = lastLine(logs, path)
    t.equal(
      line?.source,
      target === null ? undefined : target[0].split('/')[1],
      `${path}: source logged`,
    )
  }
  t.equal(fake.count('HEAD', undefined, undefined, COMMUNITY) > 0, true, 'community checked')
  t.equal(fake.count('HEAD', undefined, undefined, FEDORA) > 0, true, 'fedora checked')
})

t.test('a missing asset is a 404 in either repository, not a redirect', async (t) => {
  const { app } = await listedApp(t)
  for (const path of [
    '/community/tailscale/tailscale-0.0.1-1-42-x86-64.raw',
    '/fedora/nosuch.conf',
  ]) {
    const reply = await app.inject({ url: path })
    t.equal(reply.statusCode, 404, path)
    t.equal(reply.headers.location, undefined)
  }
  // The same tag in the other repository exists: each source is asked on its own.
  t.equal((await app.inject({ url: '/fedora/tailscale.conf' })).statusCode, 404)
  t.equal((await app.inject({ url: '/community/tailscale.conf' })).statusCode, 302)
})

t.test('a webhook from one repository invalidates that source only', async (t) => {
  const { fake, app, logs } = await listedApp(t)
  t.equal((await app.inject({ url: '/community/btop.conf' })).statusCode, 404)
  t.equal((await app.inject({ url: '/fedora/btop/other.conf' })).statusCode, 302)
  // Both repositories change; only the community's delivery comes yet.
  fake.addAsset('btop', 'btop.conf', 'new', COMMUNITY)
  fake.removeAsset('btop', 'btop.conf', FEDORA)
  const send = async (repository: string | undefined) => {
    const { body, headers } = releaseDelivery(SECRET, 'btop', 'published', repository)
    return app.inject({ method: 'POST', url: '/hooks/github', body, headers })
  }
  const delivered = await send(COMMUNITY)
  t.equal(delivered.statusCode, 200, delivered.body)
  t.match(
    logs.find((line) => line.msg === 'release webhook: caches dropped'),
    {
      source: 'community',
      tags: ['btop'],
      checks: 1,
    },
  )
  t.equal((await app.inject({ url: '/community/btop.conf' })).statusCode, 302, 'community: new')
  t.equal(
    (await app.inject({ url: '/fedora/btop/other.conf' })).statusCode,
    302,
    'fedora: as known',
  )

  const stranger = await send('someone/else')
  t.equal(stranger.statusCode, 202)
  t.equal(
    stranger.body,
    'Accepted: the release is in another repository, not one this service serves; ignored\n',
  )
  const unnamed = await send(undefined)
  t.equal(unnamed.statusCode, 202)
  t.match(unnamed.body, /no repository/)
  t.equal((await send('Fedora-Sysexts/Fedora')).statusCode, 200, 'names compare as GitHub does')
  t.equal((await app.inject({ url: '/fedora/btop/other.conf' })).statusCode, 404, 'fedora: new')
})

t.test('BAKERY_REPO cannot say which of two sources it replaces', async (t) => {
  const config = parseConfig({ BAKERY_REPO: 'acme/fork' })
  await t.rejects(
    loadTable(shippedTable('fedora-sysexts.yaml'), (table) => originsOf(config, table)),
    {
      code: 'SR_CONFIG_INVALID',
      message:
        'BAKERY_REPO replaces the repository of a table with one source; this table has 2 (fedora, community): change their repositories in the table',
    },
  )
})
