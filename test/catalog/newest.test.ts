import t from 'tap'
import { answerFor, interpret, listOf, namesFitting, readingsOf } from '../../src/catalog/newest.js'

import type { Extension } from '../../src/catalog/catalog.js'
import { bakery } from '../helpers/memory-source.js'

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

t.test('answerFor: streams offered are those with the architecture', async (t) => {
  const source = bakery()
  const kubernetes = (await source.extension('kubernetes')) as Extension
  t.same(answerFor({ extension: kubernetes, arch: 'arm64', stream: 'v1.32.1' }), {
    kind: 'not-found',
    message:
      'kubernetes has no arm64 image whose version starts with v1.32.1.; streams: v1.32, v1.31',
  })
  // A table without the versioned rule leaves exact names to this layer.
  t.same(answerFor({ extension: kubernetes, arch: 'arm64', stream: 'v1.32.10' }), {
    kind: 'not-found',
    message: 'kubernetes v1.32.10 has no arm64 image; it has x86-64',
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
