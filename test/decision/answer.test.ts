import t from 'tap'
import { imageLabels, page, redirect, text } from '../../src/decision/answer.js'

t.test('imageLabels: an image as the bakery names it, or null', async (t) => {
  const cases: [string, string, object | null][] = [
    [
      'kubernetes-v1.32.2',
      'kubernetes-v1.32.2-x86-64.raw',
      { extension: 'kubernetes', version: 'v1.32.2', arch: 'x86-64' },
    ],
    [
      'docker-compose-2.34.0',
      'docker-compose-2.34.0-arm64.raw',
      { extension: 'docker-compose', version: '2.34.0', arch: 'arm64' },
    ],
    [
      'crio-v1.30.0-rc1',
      'crio-v1.30.0-rc1-x86-64.raw',
      { extension: 'crio', version: 'v1.30.0-rc1', arch: 'x86-64' },
    ],
    [
      'k3s-v1.32.2+k3s1',
      'k3s-v1.32.2+k3s1-x86-64.raw',
      { extension: 'k3s', version: 'v1.32.2+k3s1', arch: 'x86-64' },
    ],
    ['kubernetes', 'SHA256SUMS', null],
    ['kubernetes', 'kubernetes.conf', null],
    ['kubernetes', 'kubernetes-x86-64.raw', null],
    ['1.0', '1.0-x86-64.raw', null],
    ['a-1', 'a-1-.raw', null],
    ['SHA256SUMS', 'SHA256SUMS', null],
  ]
  for (const [release, asset, labels] of cases) t.same(imageLabels(release, asset), labels, asset)
})

t.test('the constructors fill every field', async (t) => {
  const meta = { layer: 'table', rule: 'raw', upstream: 'exists' } as const
  t.same(redirect('https://x/y', 'public, max-age=1', meta), {
    status: 302,
    location: 'https://x/y',
    cacheControl: 'public, max-age=1',
    retryAfter: undefined,
    body: '',
    layer: 'table',
    rule: 'raw',
    source: null,
    captures: {},
    image: null,
    upstream: 'exists',
    origin: null,
    page: undefined,
    warning: undefined,
  })
  t.match(text(503, 'later', 'no-store', meta, '5'), {
    status: 503,
    body: 'later',
    retryAfter: '5',
  })
  t.match(
    page(
      200,
      {
        kind: 'listing',
        extensions: [],
        source: null,
        base: '/extensions/',
        layout: { kind: 'flatcar' },
      },
      'public, max-age=60',
      'bakery',
    ),
    {
      layer: 'directory',
      rule: 'directory',
      upstream: null,
      page: { kind: 'listing' },
    },
  )
})
