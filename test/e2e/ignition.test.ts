import { createHash } from 'node:crypto'
import { readFile, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { butaneToIgnition } from '../../deploy/flatcar/butane-to-ignition.js'
import { clientArtifacts } from './helpers/artifacts.js'
import { sha256, transferFile } from './helpers/bakery.js'
import { COMMUNITY, FEDORA, fedoraImage, startFedoraStack } from './helpers/fedora.js'
import { provision, type Provisioned } from './helpers/ignition.js'
import { mirroredTree } from './helpers/mirror.js'
import { Matrix } from './helpers/matrix.js'
import { requireClients, TOOLS } from './helpers/preflight.js'
import { describe, run } from './helpers/run.js'
import { LIFETIME_MS, sleep, startStack } from './helpers/stack.js'

/*
 * Ignition 2.14 (Debian's package) provisioning a machine's extensions
 * through the service, as the bakery's docs show: storage.files whose
 * sources are the service's URLs. Flatcar ships 2.24; what differs between
 * the two for our answers is in docs/clients.md (nothing this file tests).
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
const release = /\b(2\.14\.\d+)/.exec(version.stdout)?.[1]
t.ok(release, `Ignition 2.14 (${version.stdout.trim()})`)
const matrix = new Matrix(artifacts.dir, 'Ignition', release ?? 'unknown')

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex')
}

/** Both of Ignition's stages finished cleanly (the files stage runs only after the fetch). */
function stagesPassed(t: Test, machine: Provisioned): void {
  t.equal(machine.fetch.code, 0, `fetch stage: ${describe(machine.fetch)}`)
  t.equal(
    machine.files?.code,
    0,
    `files stage: ${machine.files ? describe(machine.files) : 'not run'}`,
  )
}

/** A config of one file: `path` on the machine, downloaded from `source`. */
function oneFile(path: string, source: string): object {
  return { ignition: { version: '3.3.0' }, storage: { files: [{ path, contents: { source } }] } }
}

t.test('every file of the config lands with the published bytes', async (t) => {
  matrix.scenario(t, 'storage.files: images, .conf, SHA256SUMS, verification.hash')
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
  stagesPassed(t, machine)

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

  for (const path of [
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
    '/extensions/k3s-v1.31.4+k3s1-x86-64.raw',
  ]) {
    t.same(
      (await stack.answers(path)).map((line) => line.status),
      [302],
      `${path} was redirected once`,
    )
  }
  for (const path of ['/extensions/kubernetes.conf', '/extensions/kubernetes/SHA256SUMS']) {
    t.same(
      (await stack.answers(path)).map((line) => line.status),
      [200],
      `${path} was served once, from the adopted snapshot`,
    )
  }
})

t.test('the Butane an extension page offers provisions the machine (issue 30)', async (t) => {
  matrix.scenario(t, "an extension page's Butane, converted, applied")
  const ext = 'nebula'
  for (const v of ['v1.9.3', 'v1.9.4']) await bakery.publish(ext, v)
  for (const use of ['version', 'stream']) {
    const log = artifacts.log(`page-butane-${use}.log`)
    const url = `${service.url}/extensions/${ext}/?format=json&version=v1.9.3&use=${use}`
    const page = (await (await fetch(url)).json()) as {
      use: { butane: string; sha256: string; transfer: { path: string; text: string } | null }
    }
    const config = butaneToIgnition(parseYaml(page.use.butane, { version: '1.1' }), () => {
      throw new Error('the snippet has no local files')
    })
    const machine = await provision(config, log)
    t.teardown(() => machine.dispose())
    t.equal(machine.fetch.code, 0, `${use}: fetch stage: ${describe(machine.fetch)}`)
    t.equal(
      machine.files?.code,
      0,
      `${use}: files stage: ${describe(machine.files ?? machine.fetch)}`,
    )
    const at = (path: string): string => join(machine.root, path)
    const raw = `/opt/extensions/${ext}/${ext}-v1.9.3-x86-64.raw`
    const image = bakery.image(ext, 'v1.9.3', 'x86-64')
    t.equal(page.use.sha256, sha256(image), `${use}: the page names the published SHA-256`)
    t.equal(
      sha256(await readFile(at(raw))),
      sha256(image),
      `${use}: the image, verified by Ignition`,
    )
    t.equal(
      await readlink(at(`/etc/extensions/${ext}.raw`)),
      raw,
      `${use}: linked for systemd-sysext`,
    )
    if (page.use.transfer !== null) {
      t.equal(
        (await readFile(at(page.use.transfer.path))).toString(),
        page.use.transfer.text,
        'the transfer file, as the page shows it',
      )
      await updaterLanded(t, at, ext)
    } else t.equal(use, 'version', 'a pinned version has no transfer file')
  }
})

/** The page's updater units, written and the timer enabled by Ignition's preset. */
async function updaterLanded(t: Test, at: (path: string) => string, ext: string): Promise<void> {
  t.match(
    (await readFile(at(`/etc/systemd/system/sysupdate-${ext}.service`))).toString(),
    `ExecStart=/usr/lib/systemd/systemd-sysupdate --component=${ext} update`,
    'the updater service runs the component',
  )
  t.match(
    (await readFile(at('/etc/systemd/system-preset/20-ignition.preset'))).toString(),
    `enable sysupdate-${ext}.timer`,
    'its timer enabled',
  )
}

t.test("a Fedora page's Butane (variant fcos) provisions the machine", async (t) => {
  matrix.scenario(t, "a Fedora directory page's Butane (fcos 1.4.0), converted, applied")
  const fedora = await startFedoraStack(artifacts.log('fedora-page-service.log'))
  t.teardown(() => fedora.close())
  const bytes = fedora.bakery.publish(FEDORA, 'htop', '3.3.0-1.fc42')
  fedora.bakery.publish(FEDORA, 'htop', '3.2.0-1.fc42')
  const url = `${fedora.service.url}/directory/fedora/htop/?format=json&use=stream`
  const page = (await (await fetch(url)).json()) as {
    use: { butane: string; sha256: string; transfer: { path: string; text: string } }
  }
  t.match(page.use.butane, /^variant: fcos\nversion: 1\.4\.0\n/)
  const config = butaneToIgnition(parseYaml(page.use.butane, { version: '1.1' }), () => {
    throw new Error('the snippet has no local files')
  })
  const machine = await provision(config, artifacts.log('fedora-page-butane.log'))
  t.teardown(() => machine.dispose())
  t.equal(machine.fetch.code, 0, `fetch stage: ${describe(machine.fetch)}`)
  t.equal(machine.files?.code, 0, `files stage: ${describe(machine.files ?? machine.fetch)}`)
  const at = (path: string): string => join(machine.root, path)
  const raw = `/var/lib/extensions.d/${fedoraImage('htop', '3.3.0-1.fc42')}`
  t.equal(page.use.sha256, sha256(bytes), 'the page names the published SHA-256')
  t.equal(sha256(await readFile(at(raw))), sha256(bytes), 'the image, verified by Ignition')
  t.equal(await readlink(at('/var/lib/extensions/htop.raw')), raw, 'linked for systemd-sysext')
  t.equal(page.use.transfer.path, '/etc/sysupdate.htop.d/htop.transfer')
  t.equal((await readFile(at(page.use.transfer.path))).toString(), page.use.transfer.text)
  t.match(
    (await readFile(at('/etc/systemd/system-preset/20-ignition.preset'))).toString(),
    'enable systemd-sysext.service',
    'systemd-sysext enabled: Fedora CoreOS does not merge extensions by default',
  )
  await updaterLanded(t, at, 'htop')
})

t.test('a snippet whose hash does not match fails the files stage', async (t) => {
  matrix.scenario(t, "an extension page's Butane with a wrong hash is refused")
  const ext = 'nebula'
  const page = (await (
    await fetch(`${service.url}/extensions/${ext}/?format=json&version=v1.9.3`)
  ).json()) as { use: { butane: string; sha256: string } }
  const wrong = page.use.butane.replace(page.use.sha256, '0'.repeat(64))
  const config = butaneToIgnition(parseYaml(wrong, { version: '1.1' }), () => {
    throw new Error('the snippet has no local files')
  })
  const machine = await provision(config, artifacts.log('page-butane-wrong-hash.log'))
  t.teardown(() => machine.dispose())
  t.not(machine.files?.code, 0, 'so the check of the real one is real')
})

t.test('during a publish window Ignition gets the last good SHA256SUMS and .conf', async (t) => {
  matrix.scenario(t, 'a publish window: SHA256SUMS and .conf from the last good snapshot')
  const ext = 'tailscale'
  await bakery.publish(ext, 'v1.80.0')
  const conf = transferFile({ service: service.url, ext })
  bakery.addMetadata(ext, `${ext}.conf`, conf)
  const sums = bakery.extensionSums(ext)
  const config = (suffix: string) => ({
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        {
          path: `/etc/sysupdate.${ext}.d/${ext}.conf`,
          contents: {
            source: `${service.url}/extensions/${ext}.conf${suffix}`,
            verification: { hash: `sha256-${sha256(conf)}` },
          },
        },
        {
          path: `/opt/extensions/${ext}/SHA256SUMS`,
          contents: {
            source: `${service.url}/extensions/${ext}/SHA256SUMS${suffix}`,
            verification: { hash: `sha256-${sha256(sums)}` },
          },
        },
      ],
    },
  })
  // A first machine while the release is whole: the service adopts what it reads.
  const before = await provision(config(''), artifacts.log('window-before.log'))
  t.teardown(() => before.dispose())
  t.equal(before.files?.code, 0, `before: ${before.files ? describe(before.files) : ''}`)
  // The Fedora order: the metadata release deleted (to be made again later).
  github.removeAsset(ext, 'SHA256SUMS')
  github.removeAsset(ext, `${ext}.conf`)
  await sleep(LIFETIME_MS + 200) // every lifetime passed: the service asks GitHub again
  const during = await provision(config('?window'), artifacts.log('window-during.log'))
  t.teardown(() => during.dispose())
  t.equal(during.files?.code, 0, `during: ${during.files ? describe(during.files) : ''}`)
  const at = (path: string): string => join(during.root, path)
  t.equal((await readFile(at(`/etc/sysupdate.${ext}.d/${ext}.conf`))).toString(), conf)
  t.equal((await readFile(at(`/opt/extensions/${ext}/SHA256SUMS`))).toString(), sums)
  t.ok(github.count('GET', ext, 'SHA256SUMS') >= 2, 'the service did ask GitHub during the window')
})

t.test('a missing asset makes Ignition fail on the service 404', async (t) => {
  matrix.scenario(t, 'a missing asset: the 404 is final, no retry')
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

t.test('what Ignition sends: its headers on the first hop only', async (t) => {
  matrix.scenario(t, 'headers: User-Agent to the service, none of its own to GitHub')
  const log = artifacts.log('headers.log')
  await bakery.publish('sysdig', '0.40.1')
  const path = '/extensions/sysdig-0.40.1-x86-64.raw'
  const machine = await provision(oneFile('/opt/sysdig.raw', `${service.url}${path}`), log)
  t.teardown(() => machine.dispose())
  t.equal(machine.files?.code, 0, `files stage: ${machine.files ? describe(machine.files) : ''}`)
  const [answer] = await stack.answers(path)
  t.match(answer?.userAgent, /^Ignition\/.*\b2\.14\./, 'the service sees Ignition/<version>')
  const download = github.requests.find(
    (request) => request.method === 'GET' && request.path.endsWith('/sysdig-0.40.1-x86-64.raw'),
  )
  // Ignition clears every header when it follows a redirect: GitHub sees Go's defaults.
  t.match(download?.headers['user-agent'], /^Go-http-client\//, 'GitHub sees Go’s User-Agent')
  t.equal(download?.headers.accept, undefined, 'and not the Accept Ignition sent the service')
})

t.test('a 503 is retried until the service can answer, whatever Retry-After says', async (t) => {
  matrix.scenario(t, '5xx retried (Retry-After ignored), then the file lands')
  // GitHub fails, and the service (fail closed) answers 503 with Retry-After: 3.
  const closed = await startStack(artifacts.log('service-fail-closed.log'), {
    UPSTREAM_FAIL_MODE: 'closed',
    CHECK_TTL_UNKNOWN: '3s',
  })
  t.teardown(() => closed.close())
  await closed.bakery.publish('kubevirt', 'v1.4.0')
  const path = '/extensions/kubevirt-v1.4.0-x86-64.raw'
  closed.github.fault({ kind: 'status', status: 502 })
  const provisioning = provision(
    oneFile('/opt/kubevirt.raw', `${closed.service.url}${path}`),
    artifacts.log('retry.log'),
  )
  const refusals = async () => (await closed.answers(path)).filter((line) => line.status === 503)
  for (let waited = 0; (await refusals()).length < 3 && waited < 20_000; waited += 100) {
    await sleep(100)
  }
  closed.github.fault(null)
  const machine = await provisioning
  t.teardown(() => machine.dispose())
  t.equal(machine.files?.code, 0, `files stage: ${machine.files ? describe(machine.files) : ''}`)
  t.equal(
    sha256(await readFile(join(machine.root, '/opt/kubevirt.raw'))),
    sha256(closed.bakery.image('kubevirt', 'v1.4.0', 'x86-64')),
    'the file landed once GitHub was back',
  )
  const answers = await closed.answers(path)
  t.ok(answers.filter((line) => line.status === 503).length >= 3, 'Ignition retried the 503')
  t.equal(answers.at(-1)?.status, 302, 'until the service could redirect')
  const [first, second] = answers
  t.ok(
    first !== undefined && second !== undefined && second.time - first.time < 3000,
    'the first retry came well before Retry-After: 3 (Ignition waits 200 ms, doubling)',
  )
})

t.test('a 429 is final: why RATE_LIMIT_STATUS defaults to 503', async (t) => {
  matrix.scenario(t, 'a 429 is final (the rate limit answers 503 by default)')
  const limited = await startStack(
    artifacts.log('service-429.log'),
    { RATE_LIMIT_MAX: '1', RATE_LIMIT_STATUS: '429' },
    false, // its one request a minute is the client's
  )
  t.teardown(() => limited.close())
  await limited.bakery.publish('tmux', '3.5a')
  const path = '/extensions/tmux-3.5a-x86-64.raw'
  await fetch(`${limited.service.url}${path}`, { redirect: 'manual' }) // spends the one request
  const machine = await provision(
    oneFile('/opt/tmux.raw', `${limited.service.url}${path}`),
    artifacts.log('rate-limited.log'),
  )
  t.teardown(() => machine.dispose())
  t.equal(machine.files?.timedOut, false, 'Ignition gave up by itself')
  t.not(machine.files?.code, 0, 'provisioning fails on the first 429')
  t.same(
    (await limited.answers(path)).map((line) => line.status),
    [302, 429],
    'one 429, never retried',
  )
})

t.test('the Fedora layout: an image by its full URL, from either repository', async (t) => {
  matrix.scenario(t, 'Fedora layout (extensions.fcos.fr): /fedora/<name>/<image>.raw by full URL')
  const fedora = await startFedoraStack(artifacts.log('fedora-service.log'))
  t.teardown(() => fedora.close())
  const btop = fedora.bakery.publish(FEDORA, 'btop', '1.4.0-2.fc42')
  const tailscale = fedora.bakery.publish(COMMUNITY, 'tailscale', '1.82.5-1')
  const files = [
    { path: `/fedora/btop/${fedoraImage('btop', '1.4.0-2.fc42')}`, bytes: btop },
    { path: `/community/tailscale/${fedoraImage('tailscale', '1.82.5-1')}`, bytes: tailscale },
  ]
  const machine = await provision(
    {
      ignition: { version: '3.3.0' },
      storage: {
        files: files.map(({ path, bytes }) => ({
          path: `/var/lib/extensions.d${path}`,
          contents: {
            source: `${fedora.service.url}${path}`,
            verification: { hash: `sha256-${sha256(bytes)}` },
          },
        })),
      },
    },
    artifacts.log('fedora-provision.log'),
  )
  t.teardown(() => machine.dispose())
  stagesPassed(t, machine)
  for (const { path, bytes } of files) {
    const landed = await readFile(join(machine.root, `/var/lib/extensions.d${path}`))
    t.equal(sha256(landed), sha256(bytes), `${path}: the published bytes`)
    t.match(
      await fedora.answers(path),
      [{ status: 302, source: path.split('/')[1] }],
      `${path}: one redirect`,
    )
  }
})

t.test('a mirrored tree on nginx: versioned and newest images, the transfer file', async (t) => {
  matrix.scenario(t, 'storage.files from a mirrored tree on nginx (issue 27)')
  const tree = await mirroredTree(github, artifacts.log('mirror.log'))
  t.teardown(() => tree.close())
  const ext = 'airgapped'
  await bakery.publish(ext, '1.0.0')
  await bakery.publish(ext, '1.1.0')
  const conf = transferFile({ service: tree.nginx.url, ext })
  bakery.addMetadata(ext, `${ext}.conf`, conf)
  t.match(await tree.mirror(ext), /^mirrored 1 extensions, 4 images/)
  const old = bakery.image(ext, '1.0.0', 'x86-64')
  const newest = bakery.image(ext, '1.1.0', 'arm64')
  const machine = await provision(
    {
      ignition: { version: '3.3.0' },
      storage: {
        files: [
          {
            path: `/opt/extensions/${ext}/${ext}-1.0.0-x86-64.raw`,
            contents: {
              source: `${tree.nginx.url}/extensions/${ext}-1.0.0-x86-64.raw`,
              verification: { hash: `sha512-${sha512(old)}` },
            },
          },
          {
            path: `/opt/extensions/${ext}/${ext}-arm64.raw`,
            contents: { source: `${tree.nginx.url}/extensions/${ext}-arm64.raw` },
          },
          {
            path: `/etc/sysupdate.${ext}.d/${ext}.conf`,
            contents: { source: `${tree.nginx.url}/extensions/${ext}.conf` },
          },
        ],
      },
    },
    artifacts.log('mirror-provision.log'),
  )
  t.teardown(() => machine.dispose())
  stagesPassed(t, machine)
  const at = (path: string): string => join(machine.root, path)
  t.equal(sha256(await readFile(at(`/opt/extensions/${ext}/${ext}-1.0.0-x86-64.raw`))), sha256(old))
  t.equal(
    sha256(await readFile(at(`/opt/extensions/${ext}/${ext}-arm64.raw`))),
    sha256(newest),
    'the newest-version name: the newest arm64 image',
  )
  t.equal((await readFile(at(`/etc/sysupdate.${ext}.d/${ext}.conf`))).toString(), conf)
  const served = await tree.nginx.requests()
  t.ok(served.includes(`GET /extensions/${ext}-arm64.raw 200`), 'Ignition was answered by nginx')
})
