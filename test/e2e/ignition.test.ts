import { createHash } from 'node:crypto'
import { readFile, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { clientArtifacts } from './helpers/artifacts.js'
import { sha256, transferFile } from './helpers/bakery.js'
import { provision } from './helpers/ignition.js'
import { requireClients, TOOLS } from './helpers/preflight.js'
import { describe, run } from './helpers/run.js'
import { startStack } from './helpers/stack.js'

/*
 * Ignition 2.14 (Debian's package) provisioning a machine's extensions
 * through the service, as the bakery's docs show: storage.files whose
 * sources are the service's URLs.
 */

const artifacts = clientArtifacts('ignition')
requireClients('Ignition', [TOOLS.ignition, TOOLS.setfiles], true)
const stack = await startStack(artifacts.log('service.log'))
t.teardown(() => stack.close())
const { bakery, github, service } = stack

const version = await run(TOOLS.ignition.path, ['-version'], {
  log: artifacts.log('version.log'),
  timeoutMs: 10_000,
})
t.match(version.stdout, /^Ignition .*\b2\.14\./, `Ignition 2.14 (${version.stdout.trim()})`)

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex')
}

t.test('every file of the config lands with the published bytes', async (t) => {
  const log = artifacts.log('provision.log')
  await bakery.publish('kubernetes', 'v1.32.2')
  await bakery.publish('k3s', 'v1.31.4+k3s1')
  const conf = transferFile({ service: service.url, ext: 'kubernetes' })
  bakery.addMetadata('kubernetes', 'kubernetes.conf', conf)
  const kubernetes = bakery.image('kubernetes', 'v1.32.2', 'x86-64')
  const k3s = bakery.image('k3s', 'v1.31.4+k3s1', 'x86-64')
  const raw = '/opt/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw'

  const machine = await provision(
    {
      ignition: { version: '3.3.0' },
      storage: {
        files: [
          {
            path: raw,
            mode: 0o644,
            contents: {
              source: `${service.url}/extensions/kubernetes-v1.32.2-x86-64.raw`,
              verification: { hash: `sha256-${sha256(kubernetes)}` },
            },
          },
          {
            path: '/etc/sysupdate.kubernetes.d/kubernetes.conf',
            contents: { source: `${service.url}/extensions/kubernetes.conf` },
          },
          {
            path: '/opt/extensions/kubernetes/SHA256SUMS',
            contents: { source: `${service.url}/extensions/kubernetes/SHA256SUMS` },
          },
          {
            path: '/opt/extensions/k3s/k3s-v1.31.4+k3s1-x86-64.raw',
            contents: {
              source: `${service.url}/extensions/k3s-v1.31.4+k3s1-x86-64.raw`,
              verification: { hash: `sha512-${sha512(k3s)}` },
            },
          },
        ],
        links: [{ path: '/etc/extensions/kubernetes.raw', target: raw, hard: false }],
      },
    },
    log,
  )
  t.teardown(() => machine.dispose())
  t.equal(machine.fetch.code, 0, `fetch stage: ${describe(machine.fetch)}`)
  t.equal(
    machine.files?.code,
    0,
    `files stage: ${machine.files ? describe(machine.files) : 'not run'}`,
  )

  const at = (path: string): string => join(machine.root, path)
  t.equal(sha256(await readFile(at(raw))), sha256(kubernetes), 'the image, checked by Ignition too')
  t.equal((await stat(at(raw))).mode & 0o777, 0o644)
  t.equal((await readFile(at('/etc/sysupdate.kubernetes.d/kubernetes.conf'))).toString(), conf)
  t.equal(
    (await readFile(at('/opt/extensions/kubernetes/SHA256SUMS'))).toString(),
    bakery.extensionSums('kubernetes'),
    'the extension SHA256SUMS',
  )
  t.equal(
    sha256(await readFile(at('/opt/extensions/k3s/k3s-v1.31.4+k3s1-x86-64.raw'))),
    sha256(k3s),
    'a version with a plus',
  )
  t.equal(await readlink(at('/etc/extensions/kubernetes.raw')), raw)

  const sources = [
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
    '/extensions/kubernetes.conf',
    '/extensions/kubernetes/SHA256SUMS',
    '/extensions/k3s-v1.31.4+k3s1-x86-64.raw',
  ]
  for (const path of sources) {
    t.same(
      (await stack.answers(path)).map((line) => line.status),
      [302],
      `${path} was redirected once`,
    )
  }
})

t.test('a missing asset makes Ignition fail on the service 404', async (t) => {
  const log = artifacts.log('missing.log')
  const machine = await provision(
    {
      ignition: { version: '3.3.0' },
      storage: {
        files: [
          {
            path: '/opt/extensions/kubernetes/kubernetes-v1.99.0-x86-64.raw',
            contents: { source: `${service.url}/extensions/kubernetes-v1.99.0-x86-64.raw` },
          },
        ],
      },
    },
    log,
  )
  t.teardown(() => machine.dispose())
  t.equal(machine.fetch.code, 0, `fetch stage: ${describe(machine.fetch)}`)
  t.equal(machine.files?.timedOut, false, 'Ignition gave up by itself: a 404 is final')
  t.not(machine.files?.code, 0, 'the files stage fails')
  t.match(machine.files?.stdout, /Not Found|404/, 'on the 404')
  await t.rejects(
    stat(join(machine.root, '/opt/extensions/kubernetes/kubernetes-v1.99.0-x86-64.raw')),
    'nothing is written',
  )
  t.same(
    (await stack.answers('/extensions/kubernetes-v1.99.0-x86-64.raw')).map((line) => line.status),
    [404],
    'the service answered 404 itself',
  )
  t.equal(
    github.count('GET', 'kubernetes-v1.99.0', 'kubernetes-v1.99.0-x86-64.raw'),
    0,
    'Ignition was never sent to GitHub',
  )
})
