import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { butaneToIgnition } from '../../deploy/flatcar/butane-to-ignition.js'
import { imageBytes, sums, type Assets } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { COMMUNITY, DOCS, FEDORA, fedoraApp } from '../helpers/fedora.js'

/**
 * The directory pages of the Fedora tables (issue 30's Fedora clause): the
 * shipped tables, the real app, a fake GitHub holding both repositories laid
 * out as the Fedora sysexts publish (each image a release of its own, a
 * name's release with its SHA256SUMS, `latest` with every image's).
 */
function repository(images: Record<string, readonly string[]>): Assets {
  const assets: Assets = {}
  const all: string[] = []
  for (const [name, files] of Object.entries(images)) {
    assets[name] = { SHA256SUMS: sums(files), [`${name}.conf`]: '[Transfer]\n' }
    for (const file of files) assets[file.slice(0, -'.raw'.length)] = { [file]: imageBytes(file) }
    all.push(...files)
  }
  assets.latest = { SHA256SUMS: sums(all) }
  return assets
}

const BTOP = [
  'btop-1.4.0-2.fc42-42-x86-64.raw',
  'btop-1.4.0-2.fc42-42-arm64.raw',
  'btop-1.4.0-1.fc41-41-x86-64.raw',
]

for (const table of ['fedora-sysexts.yaml', 'fedora-sysexts-published.yaml']) {
  t.test(`${table}: pages below /directory/, in the Fedora layout's shapes`, async (t) => {
    const github = await startFakeGitHub({
      repo: FEDORA,
      assets: repository({ btop: BTOP }),
      more: { [COMMUNITY]: repository({ tailscale: ['tailscale-1.82.5-1-42-x86-64.raw'] }) },
    })
    t.teardown(() => github.close())
    const { app } = await fedoraApp(t, table, github, { MANIFEST_INDEX: 'true' })
    const json = async (url: string) => {
      const reply = await app.inject({ url, headers: { accept: 'application/json' } })
      return { status: reply.statusCode, body: JSON.parse(reply.body) }
    }

    t.match(await json('/directory/fedora/'), {
      status: 200,
      body: {
        source: 'fedora',
        layout: 'fedora',
        extensions: [
          {
            name: 'btop',
            url: '/directory/fedora/btop/',
            newest: { 'x86-64': { url: '/fedora/btop/btop-1.4.0-2.fc42-42-x86-64.raw' } },
          },
        ],
      },
    })
    const listing = await app.inject({ url: '/directory/fedora/' })
    t.match(listing.body, 'per architecture; systemd-sysupdate follows new ones.')
    const page = await json('/directory/fedora/btop/?use=stream')
    t.match(page, {
      status: 200,
      body: {
        folder: '/fedora/btop/',
        sha256sums: '/fedora/btop/SHA256SUMS',
        streams: [{ stream: '42' }, { stream: '41' }],
        use: { choice: { version: '1.4.0-2.fc42-42', follow: 'stream' }, stream: '42' },
      },
    })
    const use = page.body.use as { butane: string; transfer: { text: string } }
    t.match(use.transfer.text, 'Path=http://localhost:80/fedora/btop/\n')
    t.match(use.transfer.text, 'MatchPattern=btop-@v-%w-%a.raw\n')
    const config = butaneToIgnition(parseYaml(use.butane, { version: '1.1' }), () => {
      throw new Error('no local files')
    }) as { storage: { files: { path: string; contents: { source: string } }[] } }
    const [image] = config.storage.files
    t.equal(image?.path, '/var/lib/extensions.d/btop-1.4.0-2.fc42-42-x86-64.raw')

    // Every URL the page offers answers: the image into its own release, the manifest from the snapshot.
    const source = new URL(image?.contents.source as string)
    const redirect = await app.inject({ url: source.pathname })
    t.equal(redirect.statusCode, 302, source.pathname)
    t.equal(
      redirect.headers.location,
      `${github.url}/${FEDORA}/releases/download/btop-1.4.0-2.fc42-42-x86-64/btop-1.4.0-2.fc42-42-x86-64.raw`,
    )
    const manifest = await app.inject({ url: page.body.sha256sums })
    t.equal(manifest.statusCode, 200)
    t.equal(manifest.body, sums(BTOP))

    const html = await app.inject({ url: '/directory/fedora/btop/?stream=41' })
    t.equal(html.statusCode, 200)
    t.match(html.body, '<h2 id="streams">Fedora releases</h2>')
    t.match(html.body, 'Butane (Fedora CoreOS)')
    t.match(html.body, 'follow Fedora 41')
    t.match(html.body, 'use <a href="/fedora/btop/">/fedora/btop/</a> as <code>Path=</code>')
    t.match(html.body, '<th scope="col">Image</th>', 'no always-newest URLs in this layout')
    t.match((await json('/directory/fedora/btop/?stream=40')).status, 400)

    t.match(await json('/directory/community/tailscale/'), {
      status: 200,
      body: { source: 'community', folder: '/community/tailscale/' },
    })
    t.match(await json('/directory/fedora/tailscale/'), {
      status: 404,
      body: { error: 'no extension named tailscale', extensions: ['btop'] },
    })
    // The documentation site keeps its own pages.
    const docs = await app.inject({ url: '/fedora/btop/' })
    t.equal(docs.headers.location, `${DOCS}/fedora/btop/`)
  })
}
