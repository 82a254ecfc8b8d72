import t, { type Test } from 'tap'
import { clientArtifacts, type LogFile } from './helpers/artifacts.js'
import { sha256, transferFile } from './helpers/bakery.js'
import { makeTestKey } from './helpers/gpg.js'
import { requireClients, TOOLS } from './helpers/preflight.js'
import { curlGet } from './helpers/download.js'
import { describe } from './helpers/run.js'
import { LIFETIME_MS, sleep, startStack } from './helpers/stack.js'
import { Machine, sysupdateRoot } from './helpers/sysupdate.js'

/*
 * systemd-sysupdate v257 from Debian trixie, run in a chroot of the cached
 * root, installing and updating extensions through the service exactly as a
 * Flatcar machine does: `systemd-sysupdate -C <ext> list|check-new|update`
 * with the transfer file fetched from the service.
 */

const artifacts = clientArtifacts('sysupdate')
requireClients('systemd-sysupdate', [TOOLS.unshare, TOOLS.chroot, TOOLS.curl, TOOLS.gpg], true)
const { root, version } = await sysupdateRoot(artifacts.log('root.log'))
const stack = await startStack(artifacts.log('service.log'))
t.teardown(() => stack.close())
const { bakery, github, service } = stack

t.match(version, /^systemd 257\b/, `the root runs systemd v257 (${version})`)

interface Scenario {
  readonly log: LogFile
  readonly machine: Machine
}

/** A fresh machine and a log of its own for one scenario. */
async function scenario(t: Test, name: string): Promise<Scenario> {
  const log = artifacts.log(`${name}.log`)
  const machine = await Machine.create(root, log)
  t.teardown(() => machine.dispose())
  return { log, machine }
}

/** Fetches a file through the service with curl, as the bakery's docs say, onto the machine. */
async function download(t: Test, { log, machine }: Scenario, path: string, dest: string) {
  const fetched = await curlGet(`${service.url}${path}`, machine.host(dest), log, ['--create-dirs'])
  t.equal(fetched.code, 0, `curl ${path}: ${describe(fetched)}`)
}

/** Publishes versions of an extension and the bakery's transfer file for it as `file`. */
async function publish(ext: string, versions: readonly string[], file: string, verify = false) {
  for (const version of versions) await bakery.publish(ext, version)
  bakery.addMetadata(ext, file, transferFile({ service: service.url, ext, verify }))
}

/** Installs the transfer file `/extensions/<file>` where `-C <ext>` finds it. */
function installTransfer(t: Test, s: Scenario, ext: string, file: string) {
  return download(t, s, `/extensions/${file}`, `/etc/sysupdate.${ext}.d/${file}`)
}

/** What `--json=short` prints, parsed; the whole run in the message when it is not JSON. */
function json(t: Test, result: { stdout: string; code: number | null }): Record<string, unknown> {
  try {
    return JSON.parse(result.stdout) as Record<string, unknown>
  } catch {
    t.fail(`not JSON (exit ${String(result.code)}): ${result.stdout}`)
    return {}
  }
}

async function installed(t: Test, machine: Machine, ext: string, version: string) {
  const name = `${ext}-${version}-x86-64.raw`
  const bytes = await machine.readFile(`/opt/extensions/${ext}/${name}`)
  t.equal(
    sha256(bytes),
    sha256(bakery.image(ext, version, 'x86-64')),
    `${name} has the published bytes`,
  )
  t.equal(
    await machine.readlink(`/etc/extensions/${ext}.raw`),
    `../../opt/extensions/${ext}/${name}`,
    `/etc/extensions/${ext}.raw points at ${name}`,
  )
}

t.test('the bakery transfer file (.conf): list, check-new, update', async (t) => {
  const s = await scenario(t, 'bakery-conf')
  const ext = 'wasmtime'
  await publish(ext, ['23.0.2', '24.0.0'], `${ext}.conf`)
  await installTransfer(t, s, ext, `${ext}.conf`)

  const list = await s.machine.sysupdate(ext, '--json=short', 'list')
  t.equal(list.code, 0, `list: ${describe(list)}`)
  t.same(
    json(t, list).all,
    ['24.0.0', '23.0.2'],
    'list shows every published version, newest first',
  )

  const check = await s.machine.sysupdate(ext, '--json=short', 'check-new')
  t.equal(check.code, 0, `check-new: ${describe(check)}`)
  t.same(json(t, check).available, '24.0.0', 'check-new offers the newest')

  const update = await s.machine.sysupdate(ext, 'update')
  t.equal(update.code, 0, `update: ${describe(update)}`)
  await installed(t, s.machine, ext, '24.0.0')
  t.same(
    await s.machine.list(`/opt/extensions/${ext}`),
    [`${ext}-24.0.0-x86-64.raw`],
    'only the newest, only x86-64',
  )

  const again = await s.machine.sysupdate(ext, '--json=short', 'list')
  t.same(json(t, again).current, '24.0.0', 'list then shows it as current')

  const manifest = await stack.answers(`/extensions/${ext}/SHA256SUMS`)
  t.ok(manifest.length >= 3, 'each run fetched the manifest through the service')
  t.ok(
    manifest.every((line) => line.status === 302 && line.userAgent?.startsWith('systemd-pull/')),
    'and the service redirected systemd-pull every time',
  )
  t.same(
    (await stack.answers(`/extensions/${ext}/${ext}-24.0.0-x86-64.raw`)).map((line) => line.status),
    [302],
    'the image was asked for below Path= once and redirected',
  )

  t.test(
    'a version published later is installed by the next update within the lifetime',
    async (t) => {
      // Publishing re-uploads the metadata release: for a while its SHA256SUMS is gone.
      bakery.withdrawIndex(ext)
      // Once the service's "it exists" has expired, it asks GitHub again:
      // the first ask after that is still sent on while it does (stale while
      // revalidate), later ones get the service's own 404. A timer retries.
      await sleep(LIFETIME_MS + 200)
      const answers = async () => (await stack.answers(`/extensions/${ext}/SHA256SUMS`)).at(-1)
      for (let attempt = 1; attempt <= 3; attempt++) {
        const during = await s.machine.sysupdate(ext, 'check-new')
        t.not(during.code, 0, `check-new ${attempt} fails while the index is missing`)
        if ((await answers())?.status === 404) break
      }
      t.equal((await answers())?.status, 404, 'the service answers 404 for the missing index')
      await bakery.publish(ext, '25.0.1')
      // The service may remember the 404 this long, no longer.
      await sleep(LIFETIME_MS + 200)

      const update = await s.machine.sysupdate(ext, 'update')
      t.equal(update.code, 0, `update: ${describe(update)}`)
      await installed(t, s.machine, ext, '25.0.1')
      t.same(
        await s.machine.list(`/opt/extensions/${ext}`),
        [`${ext}-24.0.0-x86-64.raw`, `${ext}-25.0.1-x86-64.raw`],
        'the previous version is kept for roll-back',
      )
    },
  )
})

t.test('the transfer file fetched as .transfer, the name v257 expects', async (t) => {
  const s = await scenario(t, 'bakery-transfer')
  const ext = 'cilium'
  await publish(ext, ['v0.15.0'], `${ext}.transfer`)
  await installTransfer(t, s, ext, `${ext}.transfer`)

  const update = await s.machine.sysupdate(ext, 'update')
  t.equal(update.code, 0, `update: ${describe(update)}`)
  t.notMatch(update.stderr, /should have the '\.transfer' extension/, 'no warning about the name')
  await installed(t, s.machine, ext, 'v0.15.0')
})

t.test('a pinned update stream never leaves v1.32', async (t) => {
  const s = await scenario(t, 'pinned-stream')
  const ext = 'kubernetes'
  for (const v of ['v1.31.6', 'v1.32.2', 'v1.33.0']) await bakery.publish(ext, v)
  const stream = transferFile({
    service: service.url,
    ext,
    matchPattern: 'kubernetes-v1.32.@v-%a.raw',
  })
  bakery.addMetadata(ext, 'kubernetes-v1.32.conf', stream)
  bakery.addMetadata(ext, 'kubernetes-v1.32.transfer', stream)
  await download(
    t,
    s,
    '/extensions/kubernetes/kubernetes-v1.32.transfer',
    '/etc/sysupdate.kubernetes.d/kubernetes-v1.32.transfer',
  )
  // The in-release .conf form leads to the same file.
  await download(
    t,
    s,
    '/extensions/kubernetes/kubernetes-v1.32.conf',
    '/root/kubernetes-v1.32.conf',
  )
  t.equal(
    (await s.machine.readFile('/root/kubernetes-v1.32.conf')).toString(),
    (await s.machine.readFile('/etc/sysupdate.kubernetes.d/kubernetes-v1.32.transfer')).toString(),
  )

  const list = await s.machine.sysupdate(ext, '--json=short', 'list')
  t.same(json(t, list).all, ['2'], 'only the v1.32 stream is offered')
  const first = await s.machine.sysupdate(ext, 'update')
  t.equal(first.code, 0, `update: ${describe(first)}`)
  await installed(t, s.machine, ext, 'v1.32.2')

  await bakery.publish(ext, 'v1.33.1')
  await bakery.publish(ext, 'v1.32.3')
  const second = await s.machine.sysupdate(ext, 'update')
  t.equal(second.code, 0, `update: ${describe(second)}`)
  await installed(t, s.machine, ext, 'v1.32.3')

  await bakery.publish(ext, 'v1.34.0')
  const check = await s.machine.sysupdate(ext, '--json=short', 'check-new')
  t.equal(json(t, check).available ?? null, null, 'a newer minor is not an update for the stream')

  t.same(await s.machine.list('/opt/extensions/kubernetes'), [
    'kubernetes-v1.32.2-x86-64.raw',
    'kubernetes-v1.32.3-x86-64.raw',
  ])
  const outside = (await service.requests()).filter((line) =>
    /kubernetes-v1\.3[134]\./.test(line.path),
  )
  t.same(outside, [], 'no image outside the stream was ever asked for')
})

t.test('Verify=yes with a signed SHA256SUMS', async (t) => {
  const log = artifacts.log('verify-key.log')
  const key = await makeTestKey(log)
  t.teardown(() => key.dispose())
  const ext = 'tailscale'
  await bakery.sign(ext, key.sign)
  await publish(ext, ['v1.80.0'], `${ext}.transfer`, true)

  t.test('the update succeeds when the key is in the import keyring', async (t) => {
    const s = await scenario(t, 'verify-signed')
    await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
    await installTransfer(t, s, ext, `${ext}.transfer`)
    const update = await s.machine.sysupdate(ext, 'update')
    t.equal(update.code, 0, `update: ${describe(update)}`)
    t.match(update.stderr, /Signature verification succeeded/, 'sysupdate checked the signature')
    await installed(t, s.machine, ext, 'v1.80.0')
    t.ok(
      (await stack.answers(`/extensions/${ext}/SHA256SUMS.gpg`)).some(
        (line) => line.status === 302,
      ),
      'the signature was redirected to its release',
    )
  })

  t.test('the same update fails without the key, so the check is real', async (t) => {
    const s = await scenario(t, 'verify-unknown-key')
    await installTransfer(t, s, ext, `${ext}.transfer`)
    const update = await s.machine.sysupdate(ext, 'update')
    t.not(update.code, 0, 'update fails')
    t.match(update.stderr, /Signature verification failed/, 'on the signature')
    t.same(await s.machine.list(`/opt/extensions/${ext}`), [], 'nothing is installed')
  })

  t.test('with the signature missing the update fails cleanly on the service 404', async (t) => {
    const s = await scenario(t, 'verify-missing')
    const ext = 'falco'
    await publish(ext, ['0.39.2'], `${ext}.transfer`, true)
    await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
    await installTransfer(t, s, ext, `${ext}.transfer`)

    const update = await s.machine.sysupdate(ext, 'update')
    t.equal(update.timedOut, false, 'sysupdate gave up by itself')
    t.not(update.code, 0, 'update fails')
    t.match(update.stderr, /Failed to retrieve signature file/, 'because the signature is missing')
    t.same(
      await s.machine.list(`/opt/extensions/${ext}`),
      [],
      'nothing is installed, no partial file',
    )

    const signature = /^\/extensions\/falco\/SHA256SUMS\.(gpg|asc|sha256\.asc|sha256\.gpg)$/
    const tried = (await service.requests()).filter((line) => signature.test(line.path))
    t.ok(
      tried.length > 0,
      `sysupdate asked for a signature (${tried.map((l) => l.path).join(', ')})`,
    )
    t.same(
      tried.map((line) => [line.path, line.status]),
      tried.map((line) => [line.path, 404]),
      'the service answered 404 for every signature name tried',
    )
    const failed = [
      ...update.stderr.matchAll(/HTTP request to \S+(\/extensions\/\S+) failed with code 404/g),
    ]
    t.same(
      failed.map((match) => match[1]).sort(),
      tried.map((line) => line.path).sort(),
      'sysupdate saw those 404s, and no other',
    )
    for (const line of tried) {
      const name = line.path.slice('/extensions/falco/'.length)
      t.equal(github.count('GET', ext, name), 0, `${name}: the client was never sent to GitHub`)
    }
  })
})

t.test('an extension name with a dash and versions with a plus', async (t) => {
  const s = await scenario(t, 'dash-and-plus')
  const ext = 'docker-compose'
  await publish(ext, ['2.33.1+flatcar1', '2.34.0+flatcar2'], `${ext}.conf`)
  await installTransfer(t, s, ext, `${ext}.conf`)

  const list = await s.machine.sysupdate(ext, '--json=short', 'list')
  t.same(json(t, list).all, ['2.34.0+flatcar2', '2.33.1+flatcar1'])
  const update = await s.machine.sysupdate(ext, 'update')
  t.equal(update.code, 0, `update: ${describe(update)}`)
  await installed(t, s.machine, ext, '2.34.0+flatcar2')
  t.equal(github.count('GET', `${ext}-2.34.0+flatcar2`, `${ext}-2.34.0+flatcar2-x86-64.raw`), 1)
})

t.test('the global index: Path= at /extensions/', async (t) => {
  const s = await scenario(t, 'global-index')
  const ext = 'opkssh'
  await bakery.publish(ext, 'v0.5.1')
  await bakery.publish(ext, 'v0.6.0')
  await s.machine.writeFile(
    `/etc/sysupdate.${ext}.d/${ext}.transfer`,
    transferFile({ service: service.url, ext, path: '/extensions/' }),
  )
  const update = await s.machine.sysupdate(ext, 'update')
  t.equal(update.code, 0, `update: ${describe(update)}`)
  await installed(t, s.machine, ext, 'v0.6.0')
  t.same(
    (await stack.answers('/extensions/SHA256SUMS')).map((line) => line.status),
    [302],
    'the global SHA256SUMS came through the service',
  )
})
