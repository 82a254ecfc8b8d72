import t from 'tap'
import { extensionHtml } from '../../src/directory/html.js'
import { listingOf, newestUrl, PAGE_ROWS, pageOf } from '../../src/directory/model.js'
import { btop, FEDORA_PLACE, kubernetes, useFor, wasm } from '../helpers/directory.js'

t.test('the model: URLs through this service, newest and streams per arch', async (t) => {
  t.equal(newestUrl('k', 'x86-64'), '/extensions/k.raw')
  t.equal(newestUrl('k', 'arm64'), '/extensions/k-arm64.raw')
  t.equal(
    newestUrl('k', 'x86-64', 'v1.32'),
    '/extensions/k-v1.32-x86-64.raw',
    'a stream always names its arch',
  )
  t.same(listingOf([wasm, kubernetes]), {
    layout: 'flatcar',
    extensions: [
      {
        name: 'kubernetes',
        url: '/extensions/kubernetes/',
        newestVersion: 'v1.32.10',
        architectures: ['x86-64', 'arm64'],
        versions: 3,
        newest: {
          'x86-64': {
            version: 'v1.32.10',
            url: '/extensions/kubernetes.raw',
            file: '/extensions/kubernetes-v1.32.10-x86-64.raw',
          },
          arm64: {
            version: 'v1.32.2',
            url: '/extensions/kubernetes-arm64.raw',
            file: '/extensions/kubernetes-v1.32.2-arm64.raw',
          },
        },
      },
      {
        name: 'wasmtime',
        url: '/extensions/wasmtime/',
        newestVersion: '24.0.0',
        architectures: ['arm64'],
        versions: 1,
        newest: {
          arm64: {
            version: '24.0.0',
            url: '/extensions/wasmtime-arm64.raw',
            file: '/extensions/wasmtime-24.0.0-arm64.raw',
          },
        },
      },
    ],
  })
  const page = pageOf(kubernetes)
  t.same(page.streams, [
    {
      stream: 'v1.32',
      newest: {
        'x86-64': {
          version: 'v1.32.10',
          url: '/extensions/kubernetes-v1.32-x86-64.raw',
          file: '/extensions/kubernetes-v1.32.10-x86-64.raw',
        },
        arm64: {
          version: 'v1.32.2',
          url: '/extensions/kubernetes-v1.32-arm64.raw',
          file: '/extensions/kubernetes-v1.32.2-arm64.raw',
        },
      },
    },
    {
      stream: 'v1.31',
      newest: {
        'x86-64': {
          version: 'v1.31.4',
          url: '/extensions/kubernetes-v1.31-x86-64.raw',
          file: '/extensions/kubernetes-v1.31.4-x86-64.raw',
        },
      },
    },
  ])
  t.same(
    page.versions.map((v) => [v.version, Object.keys(v.images)]),
    [
      ['v1.32.10', ['x86-64']],
      ['v1.32.2', ['x86-64', 'arm64']],
      ['v1.31.4', ['x86-64']],
    ],
  )
  t.same(page.versions[1]?.images.arm64, {
    file: 'kubernetes-v1.32.2-arm64.raw',
    url: '/extensions/kubernetes-v1.32.2-arm64.raw',
    sha256: '1'.repeat(64),
  })
  t.equal(page.sha256sums, '/extensions/kubernetes/SHA256SUMS')
})

t.test(
  'a page shows the newest PAGE_ROWS versions and streams, and how many there are',
  async (t) => {
    const total = PAGE_ROWS + 5
    const images = Array.from({ length: total }, (_, i) => {
      const version = `1.${total - 1 - i}.0` // newest first, each in a stream of its own
      return { version, arch: 'x86-64' as const, file: `big-${version}-x86-64.raw`, sha256: 'a' }
    })
    const page = pageOf({ name: 'big', images })
    t.equal(page.versions.length, PAGE_ROWS)
    t.equal(page.versionsTotal, total)
    t.equal(page.versions[0]?.version, `1.${total - 1}.0`, 'the newest first')
    t.equal(page.versions.at(-1)?.version, '1.5.0', 'the oldest five left out')
    t.equal(page.streams.length, PAGE_ROWS)
    t.equal(page.streamsTotal, total)
    t.equal(page.streams[0]?.newest['x86-64']?.version, `1.${total - 1}.0`)
    const html = extensionHtml(page, null, '/extensions/', useFor({ name: 'big', images }))
    t.match(html, `The newest ${PAGE_ROWS} of ${total} versions;`)
    t.match(html, `The newest ${PAGE_ROWS} of ${total} streams;`)
    t.match(html, '<h2 id="versions">Newest versions</h2>')
    t.notMatch(
      extensionHtml(pageOf(kubernetes), null, '/extensions/', useFor(kubernetes)),
      /The newest \d+ of/,
      'a small page shows all',
    )
  },
)

t.test(
  'the Fedora layout: images and SHA256SUMS in the name folder, releases as streams',
  async (t) => {
    const listing = listingOf([btop], FEDORA_PLACE)
    t.same(listing, {
      layout: 'fedora',
      extensions: [
        {
          name: 'btop',
          url: '/directory/fedora/btop/',
          newestVersion: '1.4.0-2.fc42-42',
          architectures: ['x86-64', 'arm64'],
          versions: 4,
          newest: {
            'x86-64': {
              version: '1.4.0-2.fc42-42',
              // No always-newest names in this layout: the newest image's own URL.
              url: '/fedora/btop/btop-1.4.0-2.fc42-42-x86-64.raw',
              file: '/fedora/btop/btop-1.4.0-2.fc42-42-x86-64.raw',
            },
            arm64: {
              version: '1.4.0-2.fc42-42',
              url: '/fedora/btop/btop-1.4.0-2.fc42-42-arm64.raw',
              file: '/fedora/btop/btop-1.4.0-2.fc42-42-arm64.raw',
            },
          },
        },
      ],
    })
    const page = pageOf(btop, FEDORA_PLACE)
    t.match(page, {
      url: '/directory/fedora/btop/',
      layout: 'fedora',
      folder: '/fedora/btop/',
      sha256sums: '/fedora/btop/SHA256SUMS',
    })
    t.same(
      page.streams.map((s) => [s.stream, s.newest['x86-64']?.file, s.newest.arm64?.file]),
      [
        [
          '42',
          '/fedora/btop/btop-1.4.0-2.fc42-42-x86-64.raw',
          '/fedora/btop/btop-1.4.0-2.fc42-42-arm64.raw',
        ],
        ['41', '/fedora/btop/btop-1.4.0-2.fc41-41-x86-64.raw', undefined],
        ['40', undefined, '/fedora/btop/btop-1.2.0-1.fc40-40-arm64.raw'],
      ],
    )
    t.equal(page.versions[0]?.images['x86-64']?.url, '/fedora/btop/btop-1.4.0-2.fc42-42-x86-64.raw')
  },
)
