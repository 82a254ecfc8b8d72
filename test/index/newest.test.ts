import t from 'tap'
import { imagesOf, type Extension } from '../../src/index/catalog.js'
import type { ManifestEntry } from '../../src/index/manifest.js'
import {
  answerFor,
  interpret,
  listOf,
  namesFitting,
  newestFileOf,
  readingsOf,
  resolveNewest,
  type CatalogSource,
} from '../../src/index/newest.js'

const entries = (...names: string[]): ManifestEntry[] =>
  names.map((name) => ({ sha256: 'a'.repeat(64), name }))

/**
 * The catalog logic over manifests held in memory (the store and the fetcher
 * are tested against the fake GitHub in store.test.ts and index.test.ts).
 * It records every name looked up, to prove which names are asked for.
 */
class MemorySource implements CatalogSource {
  readonly asked: string[] = []
  readonly #manifests: Map<string, ManifestEntry[]>

  constructor(manifests: Record<string, string[]>) {
    this.#manifests = new Map(Object.entries(manifests).map(([k, v]) => [k, entries(...v)]))
  }

  async candidates(): Promise<ReadonlySet<string>> {
    return new Set(this.#manifests.keys())
  }

  async extension(name: string): Promise<Extension | undefined> {
    this.asked.push(name)
    const images = imagesOf(name, this.#manifests.get(name) ?? [])
    return images.length === 0 ? undefined : { name, images }
  }

  async extensions(): Promise<readonly Extension[]> {
    const all = await Promise.all([...this.#manifests.keys()].map((name) => this.extension(name)))
    return all.filter((e) => e !== undefined)
  }
}

const bakery = (): MemorySource =>
  new MemorySource({
    kubernetes: [
      'kubernetes-v1.31.4-x86-64.raw',
      'kubernetes-v1.31.4-arm64.raw',
      'kubernetes-v1.32.2-x86-64.raw',
      'kubernetes-v1.32.2-arm64.raw',
      'kubernetes-v1.32.10-x86-64.raw',
    ],
    docker: ['docker-28.0.1-x86-64.raw', 'docker-28.0.1-arm64.raw'],
    'docker-compose': ['docker-compose-2.34.0-x86-64.raw', 'docker-compose-2.33.1-x86-64.raw'],
    // A release named like an extension but holding one version's images.
    'crio-v1.30.0': ['crio-v1.30.0-x86-64.raw'],
    crio: ['crio-v1.30.0-x86-64.raw', 'crio-v1.30.0-rc1-x86-64.raw'],
    x86: ['x86-1.0-arm64.raw'],
    wasmtime: ['wasmtime-24.0.0-arm64.raw'],
  })

t.test('newestFileOf: /extensions/<name>.raw only', async (t) => {
  t.equal(newestFileOf('/extensions/kubernetes.raw'), 'kubernetes.raw')
  t.equal(newestFileOf('/extensions/kubernetes-v1.32-x86-64.raw'), 'kubernetes-v1.32-x86-64.raw')
  t.equal(
    newestFileOf('/extensions/kubernetes/kubernetes.raw'),
    null,
    'below a sub-path: sysupdate territory',
  )
  t.equal(newestFileOf('/mirror/extensions/kubernetes.raw'), null, 'below a prefix')
  t.equal(newestFileOf('/extensions/kubernetes.conf'), null)
  t.equal(newestFileOf('/extensions/.raw'), null)
  t.equal(newestFileOf('/extensions/'), null)
})

t.test('readingsOf: explicit architectures first, then the x86-64 default', async (t) => {
  t.same(readingsOf('kubernetes.raw'), [
    { rest: 'kubernetes', arch: 'x86-64', explicitArch: false },
  ])
  t.same(readingsOf('kubernetes-arm64.raw'), [
    { rest: 'kubernetes', arch: 'arm64', explicitArch: true },
    { rest: 'kubernetes-arm64', arch: 'x86-64', explicitArch: false },
  ])
  t.same(readingsOf('k-v1-x86-64.raw'), [
    { rest: 'k-v1', arch: 'x86-64', explicitArch: true },
    { rest: 'k-v1-x86-64', arch: 'x86-64', explicitArch: false },
  ])
  t.same(readingsOf('-arm64.raw'), [{ rest: '-arm64', arch: 'x86-64', explicitArch: false }])
})

t.test('namesFitting: candidates the name starts with, longest first', async (t) => {
  const names = ['docker', 'docker-compose', 'dock', 'kubernetes']
  t.same(namesFitting('docker-compose-2.34', names), ['docker-compose', 'docker'])
  t.same(namesFitting('docker-compose', names), ['docker-compose', 'docker'])
  t.same(namesFitting('dockerd', names), [])
  t.same(namesFitting('kubernetes', names), ['kubernetes'])
})

t.test('interpret: the index tells names with dashes apart', async (t) => {
  const source = bakery()
  const read = async (file: string): Promise<unknown> => {
    const found = await interpret(file, source)
    return found === undefined ? undefined : [found.extension.name, found.arch, found.stream]
  }
  t.same(await read('kubernetes.raw'), ['kubernetes', 'x86-64', undefined])
  t.same(await read('kubernetes-arm64.raw'), ['kubernetes', 'arm64', undefined])
  t.same(await read('kubernetes-v1.32-x86-64.raw'), ['kubernetes', 'x86-64', 'v1.32'])
  t.same(await read('docker-compose.raw'), ['docker-compose', 'x86-64', undefined])
  t.same(await read('docker-compose-arm64.raw'), ['docker-compose', 'arm64', undefined])
  t.same(await read('docker-compose-2.34-x86-64.raw'), ['docker-compose', 'x86-64', '2.34'])
  t.same(await read('docker-28-arm64.raw'), ['docker', 'arm64', '28'])
  t.same(
    await read('crio-v1.30.0-rc1-x86-64.raw'),
    ['crio', 'x86-64', 'v1.30.0-rc1'],
    'crio-v1.30.0 is a release, not an extension',
  )
  t.same(
    await read('x86-64.raw'),
    undefined,
    'an extension x86 is no reason to read x86-64.raw as it',
  )
  t.same(await read('x86-arm64.raw'), ['x86', 'arm64', undefined])
  t.same(await read('kubernetes-v1.32.raw'), undefined, 'a stream needs an explicit architecture')
  t.same(await read('nosuch.raw'), undefined)
  t.same(await read('nosuch-arm64.raw'), undefined)
})

t.test('interpret looks names up only among the candidates, however long the path', async (t) => {
  const source = bakery()
  const started = performance.now()
  t.equal(await interpret(`${'-'.repeat(16_000)}-x86-64.raw`, source), undefined)
  t.equal(
    (await interpret(`${'docker-'.repeat(2_000)}x86-64.raw`, source))?.extension.name,
    'docker',
  )
  t.ok(performance.now() - started < 2_000, 'linear in the path, bounded by the candidates')
  t.ok(
    source.asked.every((name) => name === 'docker' || name === 'docker-compose'),
    'no other name was asked for',
  )
})

t.test('resolveNewest: the newest image, or a 404 naming the choices', async (t) => {
  const source = bakery()
  const cases: [string, string][] = [
    ['kubernetes.raw', 'kubernetes-v1.32.10/kubernetes-v1.32.10-x86-64.raw'],
    ['kubernetes-arm64.raw', 'kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw'],
    ['kubernetes-v1.31-x86-64.raw', 'kubernetes-v1.31.4/kubernetes-v1.31.4-x86-64.raw'],
    ['kubernetes-v1-arm64.raw', 'kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw'],
    ['docker-compose.raw', 'docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw'],
    ['docker-compose-2.33-x86-64.raw', 'docker-compose-2.33.1/docker-compose-2.33.1-x86-64.raw'],
    ['crio.raw', 'crio-v1.30.0-rc1/crio-v1.30.0-rc1-x86-64.raw'],
  ]
  for (const [file, target] of cases) {
    const answer = await resolveNewest(file, source)
    t.equal(
      answer.kind === 'image' ? `${answer.release}/${answer.image.file}` : answer.message,
      target,
      file,
    )
  }
  const notFound: [string, string][] = [
    [
      'nosuch.raw',
      'no extension matches nosuch.raw; extensions: kubernetes, docker, docker-compose, crio, x86, wasmtime',
    ],
    ['wasmtime.raw', 'wasmtime has no x86-64 image; architectures: arm64'],
    ['docker-compose-arm64.raw', 'docker-compose has no arm64 image; architectures: x86-64'],
    [
      'kubernetes-v1.99-x86-64.raw',
      'kubernetes has no x86-64 image whose version starts with v1.99.; streams: v1.32, v1.31',
    ],
    ['kubernetes-v1.32.10-arm64.raw', 'kubernetes v1.32.10 has no arm64 image; it has x86-64'],
    [
      'kubernetes-v1.32.2-x86-64.raw',
      'kubernetes v1.32.2 has no x86-64 image; it has x86-64, arm64',
    ],
  ]
  for (const [file, message] of notFound) {
    t.same(await resolveNewest(file, source), { kind: 'not-found', message }, file)
  }
})

t.test('answerFor: streams offered are those with the architecture', async (t) => {
  const source = bakery()
  const kubernetes = (await source.extension('kubernetes')) as Extension
  t.same(answerFor({ extension: kubernetes, arch: 'arm64', stream: 'v1.32.1' }), {
    kind: 'not-found',
    message:
      'kubernetes has no arm64 image whose version starts with v1.32.1.; streams: v1.32, v1.31',
  })
})

t.test('listOf keeps a 404 to one readable line', async (t) => {
  t.equal(listOf([], '/extensions/'), 'none (see /extensions/)')
  t.equal(listOf(['a', 'b'], '/extensions/'), 'a, b')
  const many = Array.from({ length: 30 }, (_, i) => `e${i}`)
  t.equal(
    listOf(many, '/extensions/'),
    `${many.slice(0, 25).join(', ')} and 5 more (see /extensions/)`,
  )
})
