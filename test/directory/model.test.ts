import t from 'tap'
import { listingOf, newestUrl, pageOf } from '../../src/directory/model.js'
import { kubernetes, wasm } from '../helpers/directory.js'

t.test('the model: URLs through this service, newest and streams per arch', async (t) => {
  t.equal(newestUrl('k', 'x86-64'), '/extensions/k.raw')
  t.equal(newestUrl('k', 'arm64'), '/extensions/k-arm64.raw')
  t.equal(
    newestUrl('k', 'x86-64', 'v1.32'),
    '/extensions/k-v1.32-x86-64.raw',
    'a stream always names its arch',
  )
  t.same(listingOf([wasm, kubernetes]), {
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
