import { symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { clientArtifacts, type LogFile } from './artifacts.js'
import { sha256, transferFile } from './bakery.js'
import { curlGet } from './download.js'
import { mirroredTree } from './mirror.js'
import { startService } from './service.js'
import type { Fault } from '../../helpers/fake-github.js'
import {
  COMMUNITY,
  FEDORA,
  fedoraImage,
  fedoraTransfer,
  OS_VERSION,
  startFedoraStack,
} from './fedora.js'
import { makeTestKey } from './gpg.js'
import { installDefinition } from './definition.js'
import { Matrix } from './matrix.js'
import { pollDuringPublishes } from './publish-race.js'
import { requireClients, TOOLS } from './preflight.js'
import { describe, type RunResult } from './run.js'
import { deliverRelease, LIFETIME_MS, SERVICE_ENV, sleep, startStack } from './stack.js'
import { definitionName, featuresOf } from './sysupdate-features.js'
import { Machine, sysupdateRoot, type Release } from './sysupdate.js'

/*
 * systemd-sysupdate from one Debian release, run in a chroot of its cached
 * root, installing and updating extensions through the service exactly as a
 * Flatcar machine does: `systemd-sysupdate -C <ext> list|check-new|update`
 * with the definition fetched from the service. Every scenario runs on every
 * version; where a version lacks the feature (sysupdate-features.ts), the
 * scenario proves that it does, and the matrix says n/a with the reason.
 */

/** Runs the whole sysupdate tier on the root of `release`. */
export async function sysupdateTier(release: Release): Promise<void> {
  const artifacts = clientArtifacts(`sysupdate-${release}`)
  requireClients('systemd-sysupdate', [TOOLS.unshare, TOOLS.chroot, TOOLS.curl, TOOLS.gpg], true)
  const { root, version, banner } = await sysupdateRoot(release, artifacts.log('root.log'))
  const features = featuresOf(version)
  const matrix = new Matrix(artifacts.dir, 'systemd-sysupdate', String(version))
  const stack = await startStack(artifacts.log('service.log'))
  t.teardown(() => stack.close())
  const { bakery, github, service } = stack
  const keyLog = artifacts.log('key.log')
  const key = await makeTestKey(keyLog)
  t.teardown(() => key.dispose())
  t.comment(`${release}: ${banner}`)

  interface Scenario {
    readonly log: LogFile
    readonly machine: Machine
  }

  /** A fresh machine and a log of its own for one scenario. */
  async function machine(t: Test, name: string): Promise<Scenario> {
    const log = artifacts.log(`${name}.log`)
    const machine = await Machine.create(root, log)
    t.teardown(() => machine.dispose())
    return { log, machine }
  }

  /** Fetches a file through the service with curl, as the bakery's docs say, onto the machine. */
  async function download(t: Test, { log, machine }: Scenario, path: string, dest: string) {
    const fetched = await curlGet(`${service.url}${path}`, machine.host(dest), log, [
      '--create-dirs',
    ])
    t.equal(fetched.code, 0, `curl ${path}: ${describe(fetched)}`)
  }

  /** The definition for `ext` fetched with curl from `origin` (the tree's nginx, another service). */
  async function installFrom(t: Test, s: Scenario, origin: string, ext: string) {
    const file = definitionName(features, ext)
    const got = await curlGet(
      `${origin}/extensions/${file}`,
      s.machine.host(`/etc/sysupdate.${ext}.d/${file}`),
      s.log,
      ['--create-dirs'],
    )
    t.equal(got.code, 0, `the definition from ${origin}: ${describe(got)}`)
    if (!features.createsTargetFolder) await s.machine.mkdir(`/opt/extensions/${ext}`)
  }

  /**
   * Installs the bakery's definition for `ext`, fetched through the service
   * by the name this version reads, where `-C <ext>` finds it. 254 also
   * needs the target folder made first (it never creates it).
   */
  async function install(
    t: Test,
    s: Scenario,
    ext: string,
    options: {
      verify?: boolean
      path?: string
      matchPattern?: string
      file?: string
      /** Fetched below its release, `/extensions/<ext>/<file>`, not at the top. */
      inRelease?: boolean
    } = {},
  ) {
    const file = options.file ?? definitionName(features, ext)
    bakery.addMetadata(ext, file, transferFile({ service: service.url, ext, ...options }))
    const url = options.inRelease === true ? `/extensions/${ext}/${file}` : `/extensions/${file}`
    await download(t, s, url, `/etc/sysupdate.${ext}.d/${file}`)
    if (!features.createsTargetFolder) await s.machine.mkdir(`/opt/extensions/${ext}`)
  }

  /** The versions `list` shows (newest first) and the current one, whatever the version prints. */
  async function list(t: Test, s: Scenario, ext: string) {
    const listed = await s.machine.sysupdate(ext, '--json=short', 'list')
    t.equal(listed.code, 0, `list: ${describe(listed)}`)
    const value = json(t, listed)
    if (features.jsonObjects) {
      const { all, current } = value as { all?: string[]; current?: string | null }
      return { all: all ?? [], current: current ?? null }
    }
    // 254: the table's rows as objects.
    const rows = (Array.isArray(value) ? value : []) as { version: string; assessment: string }[]
    const current = rows.find((row) => row.assessment === 'current')?.version ?? null
    return { all: rows.map((row) => row.version), current }
  }

  /** The version `check-new` offers, or null; its exit code as this version sets it. */
  async function checkNew(t: Test, s: Scenario, ext: string): Promise<string | null> {
    const checked = await s.machine.sysupdate(ext, '--json=short', 'check-new')
    let offered: string | null
    if (features.jsonObjects) {
      offered = (json(t, checked) as { available?: string | null }).available ?? null
    } else {
      offered = checked.stdout.trim() === '' ? null : checked.stdout.trim()
    }
    const none = features.checkNewFailsWhenNone ? 1 : 0
    t.equal(checked.code, offered === null ? none : 0, `check-new: ${describe(checked)}`)
    return offered
  }

  async function update(t: Test, s: Scenario, ext: string, ...args: string[]) {
    const updated = await s.machine.sysupdate(ext, 'update', ...args)
    t.equal(updated.code, 0, `update: ${describe(updated)}`)
    return updated
  }

  async function installed(t: Test, s: Scenario, ext: string, version: string) {
    const name = `${ext}-${version}-x86-64.raw`
    const bytes = await s.machine.readFile(`/opt/extensions/${ext}/${name}`)
    t.equal(
      sha256(bytes),
      sha256(bakery.image(ext, version, 'x86-64')),
      `${name} has the published bytes`,
    )
    t.equal(
      await s.machine.readlink(`/etc/extensions/${ext}.raw`),
      `../../opt/extensions/${ext}/${name}`,
      `/etc/extensions/${ext}.raw points at ${name}`,
    )
  }

  /** The images in the extension's target folder (254's folder is made empty beforehand). */
  async function images(s: Scenario, ext: string): Promise<string[]> {
    return (await s.machine.list(`/opt/extensions/${ext}`)).filter((name) => name.endsWith('.raw'))
  }

  /** The matrix row of a scenario: run where the version supports it, else proven unsupported. */
  function track(t: Test, scenario: string, supported: boolean, reason: string): void {
    if (supported) matrix.scenario(t, scenario)
    else matrix.unsupported(t, scenario, reason)
  }

  t.test('update through /extensions/<ext>/: list, check-new, update', async (t) => {
    matrix.scenario(t, 'list, check-new, update via /extensions/<ext>/')
    const s = await machine(t, 'extension-path')
    const ext = 'wasmtime'
    for (const v of ['23.0.2', '24.0.0']) await bakery.publish(ext, v)
    await install(t, s, ext)

    t.same(await list(t, s, ext), { all: ['24.0.0', '23.0.2'], current: null }, 'list')
    t.equal(await checkNew(t, s, ext), '24.0.0', 'check-new offers the newest')
    await update(t, s, ext)
    await installed(t, s, ext, '24.0.0')
    t.same(await images(s, ext), [`${ext}-24.0.0-x86-64.raw`], 'only the newest, only x86-64')
    t.equal((await list(t, s, ext)).current, '24.0.0', 'list then shows it as current')
    t.equal(await checkNew(t, s, ext), null, 'and check-new offers nothing')

    const manifest = await stack.answers(`/extensions/${ext}/SHA256SUMS`)
    t.ok(manifest.length >= 5, 'each run fetched the manifest afresh, through the service')
    t.ok(
      manifest.every((line) => line.status === 200 && line.userAgent?.startsWith('systemd-pull/')),
      'and the service served it from its adopted snapshot every time',
    )
    t.same(
      (await stack.answers(`/extensions/${ext}/${ext}-24.0.0-x86-64.raw`)).map((l) => l.status),
      [302],
      'the image was asked for below Path= once and redirected',
    )

    t.test(
      'during a publish the held manifest is served; a new version within the lifetime',
      async (t) => {
        // Publishing re-uploads the metadata release: for a while its SHA256SUMS is gone.
        bakery.withdrawIndex(ext)
        // Past every lifetime the service asks GitHub again, and keeps serving what it holds.
        await sleep(LIFETIME_MS + 200)
        const last = async () => (await stack.answers(`/extensions/${ext}/SHA256SUMS`)).at(-1)
        for (let attempt = 1; attempt <= 3; attempt++) {
          const during = await s.machine.sysupdate(ext, 'update')
          t.equal(
            during.code,
            0,
            `update ${attempt} works while the index is missing: ${describe(during)}`,
          )
        }
        t.equal((await last())?.status, 200, 'the service answers with the manifest it holds')
        await bakery.publish(ext, '25.0.1') // done once the service serves it (its webhook)
        await update(t, s, ext)
        await installed(t, s, ext, '25.0.1')
        t.same(
          await images(s, ext),
          [`${ext}-24.0.0-x86-64.raw`, `${ext}-25.0.1-x86-64.raw`],
          'the previous version is kept for roll-back',
        )
      },
    )
  })

  t.test('update through the global /extensions/', async (t) => {
    matrix.scenario(t, 'list, check-new, update via the global /extensions/')
    const s = await machine(t, 'global-path')
    const ext = 'opkssh'
    for (const v of ['v0.5.1', 'v0.6.0']) await bakery.publish(ext, v)
    await install(t, s, ext, { path: '/extensions/' })
    const { all } = await list(t, s, ext)
    t.same(all, ['v0.6.0', 'v0.5.1'], 'only this extension’s images, from the global list')
    t.equal(await checkNew(t, s, ext), 'v0.6.0')
    await update(t, s, ext)
    await installed(t, s, ext, 'v0.6.0')
    t.ok(
      (await stack.answers('/extensions/SHA256SUMS')).every((line) => line.status === 200),
      'the global SHA256SUMS came from the service’s adopted snapshot',
    )
    t.same(await stack.answers(`/extensions/${ext}/SHA256SUMS`), [], 'never the extension’s own')
  })

  t.test('a pinned update stream never leaves v1.32', async (t) => {
    matrix.scenario(t, 'pinned stream kubernetes-v1.32.@v-%a.raw stays on v1.32')
    const s = await machine(t, 'pinned-stream')
    const ext = 'kubernetes'
    for (const v of ['v1.31.6', 'v1.32.2', 'v1.33.0']) await bakery.publish(ext, v)
    await install(t, s, ext, {
      file: definitionName(features, 'kubernetes-v1.32'),
      matchPattern: 'kubernetes-v1.32.@v-%a.raw',
      inRelease: true,
    })

    t.same((await list(t, s, ext)).all, ['2'], 'only the v1.32 stream is offered')
    await update(t, s, ext)
    await installed(t, s, ext, 'v1.32.2')
    await bakery.publish(ext, 'v1.33.1')
    await bakery.publish(ext, 'v1.32.3')
    await update(t, s, ext)
    await installed(t, s, ext, 'v1.32.3')
    await bakery.publish(ext, 'v1.34.0')
    t.equal(await checkNew(t, s, ext), null, 'a newer minor is not an update for the stream')
    t.same(await images(s, ext), ['kubernetes-v1.32.2-x86-64.raw', 'kubernetes-v1.32.3-x86-64.raw'])
    const outside = (await service.requests()).filter((line) =>
      /kubernetes-v1\.3[134]\./.test(line.path),
    )
    t.same(outside, [], 'no image outside the stream was ever asked for')
  })

  t.test('InstancesMax=3: the oldest goes after the third update', async (t) => {
    matrix.scenario(t, 'InstancesMax=3 clean-up after three updates')
    const s = await machine(t, 'instances-max')
    const ext = 'nebraska'
    await bakery.publish(ext, '2.8.10')
    await install(t, s, ext)
    await update(t, s, ext)
    for (const v of ['2.8.11', '2.9.0', '2.10.0']) {
      await bakery.publish(ext, v)
      await update(t, s, ext)
      await installed(t, s, ext, v)
    }
    t.same(
      await images(s, ext),
      ['nebraska-2.10.0-x86-64.raw', 'nebraska-2.8.11-x86-64.raw', 'nebraska-2.9.0-x86-64.raw'],
      'three instances, the newest current, 2.8.10 removed',
    )
  })

  t.test('a .conf definition fetched through the service', async (t) => {
    matrix.scenario(t, '.conf definition fetched through the service')
    const s = await machine(t, 'definition-conf')
    const ext = 'docker-compose'
    for (const v of ['2.33.1+flatcar1', '2.34.0+flatcar2']) await bakery.publish(ext, v)
    // Also a dash in the name and a plus in the version.
    await install(t, s, ext, { file: `${ext}.conf` })
    t.same((await list(t, s, ext)).all, ['2.34.0+flatcar2', '2.33.1+flatcar1'])
    await update(t, s, ext)
    await installed(t, s, ext, '2.34.0+flatcar2')
    t.equal(github.count('GET', `${ext}-2.34.0+flatcar2`, `${ext}-2.34.0+flatcar2-x86-64.raw`), 1)
  })

  t.test('a .transfer definition fetched through the service', async (t) => {
    track(
      t,
      '.transfer definition fetched through the service',
      features.readsTransfer,
      'reads .conf only; .transfer from 257',
    )
    const s = await machine(t, 'definition-transfer')
    const ext = 'cilium'
    await bakery.publish(ext, 'v0.15.0')
    if (!features.readsTransfer) {
      await install(t, s, ext, { file: `${ext}.transfer` })
      const ignored = await s.machine.sysupdate(ext, 'update')
      t.not(ignored.code, 0, 'update fails')
      t.match(ignored.stderr, /No transfer definitions for component 'cilium' found/)
      return
    }
    await install(t, s, ext, { file: `${ext}.transfer` })
    const updated = await update(t, s, ext)
    t.notMatch(updated.stderr, /should have the '\.transfer' extension/, 'no warning about it')
    await installed(t, s, ext, 'v0.15.0')
  })

  t.test('the transfer file an extension page offers follows its stream', async (t) => {
    matrix.scenario(t, "an extension page's transfer file (issue 30)")
    const s = await machine(t, 'page-transfer')
    const ext = 'falco'
    for (const v of ['0.39.1', '0.39.2', '0.40.0']) await bakery.publish(ext, v)
    // The page's choice for this systemd: .transfer from 257, .conf before.
    const systemd = features.readsTransfer ? '257' : '254'
    const url = `${service.url}/extensions/${ext}/?format=json&version=0.39.1&use=stream&systemd=${systemd}`
    const page = (await (await fetch(url)).json()) as {
      use: { butane: string; transfer: { path: string; text: string } }
    }
    const { path, text } = page.use.transfer
    t.equal(path, `/etc/sysupdate.${ext}.d/${definitionName(features, ext)}`)
    t.match(text, `MatchPattern=${ext}-0.39.@v-x86-64.raw`)
    await s.machine.writeFile(path, text)
    // What the page's Butane put there at first boot: the pinned image, linked.
    const pinned = `/opt/extensions/${ext}/${ext}-0.39.1-x86-64.raw`
    await s.machine.writeFile(pinned, bakery.image(ext, '0.39.1', 'x86-64'))
    await s.machine.mkdir('/etc/extensions')
    await symlink(pinned, s.machine.host(`/etc/extensions/${ext}.raw`))
    const before = await list(t, s, ext)
    t.equal(before.current, '1', 'sysupdate counts the pinned image as installed')
    await runUpdater(t, s, page.use.butane)
    await installed(t, s, ext, '0.39.2')
    t.same(
      await images(s, ext),
      [`${ext}-0.39.1-x86-64.raw`, `${ext}-0.39.2-x86-64.raw`],
      'the stream, not the newest 0.40.0; the first one kept (InstancesMax=3)',
    )
  })

  t.test("the transfer file a Fedora page offers follows the machine's release", async (t) => {
    matrix.scenario(t, "a Fedora directory page's transfer file and updater (%w, %a)")
    const fedora = await startFedoraStack(artifacts.log('fedora-page-service.log'))
    t.teardown(() => fedora.close())
    const s = await machine(t, 'fedora-page-transfer')
    await s.machine.writeFile('/etc/os-release', `ID=fedora\nVERSION_ID=${OS_VERSION}\n`)
    const name = 'htop'
    const first = fedora.bakery.publish(FEDORA, name, '3.2.0-1')
    fedora.bakery.publish(FEDORA, name, '9.0.0-1', '41')
    const systemd = features.readsTransfer ? '257' : '254'
    const url = `${fedora.service.url}/directory/fedora/${name}/?format=json&use=stream&systemd=${systemd}`
    const page = (await (await fetch(url)).json()) as {
      use: { butane: string; transfer: { path: string; text: string } }
    }
    t.equal(page.use.transfer.path, `/etc/sysupdate.${name}.d/${definitionName(features, name)}`)
    await s.machine.writeFile(page.use.transfer.path, page.use.transfer.text)
    // What the page's Butane put there at first boot: the image of this release, linked.
    const pinned = `/var/lib/extensions.d/${fedoraImage(name, '3.2.0-1')}`
    await s.machine.writeFile(pinned, first)
    await s.machine.mkdir('/var/lib/extensions')
    await symlink(pinned, s.machine.host(`/var/lib/extensions/${name}.raw`))
    t.same((await list(t, s, name)).all, ['3.2.0-1'], 'only the images of Fedora 42')
    const bytes = fedora.bakery.publish(FEDORA, name, '3.3.0-1')
    const release = fedoraImage(name, '3.3.0-1').slice(0, -'.raw'.length)
    await deliverRelease(fedora.service.url, release, FEDORA)
    await deliverRelease(fedora.service.url, name, FEDORA)
    await servedWith(
      `${fedora.service.url}/fedora/${name}/SHA256SUMS`,
      fedoraImage(name, '3.3.0-1'),
    )
    await runUpdater(t, s, page.use.butane)
    const next = `/var/lib/extensions.d/${fedoraImage(name, '3.3.0-1')}`
    t.equal(sha256(await s.machine.readFile(next)), sha256(bytes), 'the new version, its bytes')
    t.equal(
      await s.machine.readlink(`/var/lib/extensions/${name}.raw`),
      `../extensions.d/${fedoraImage(name, '3.3.0-1')}`,
      'and linked',
    )
  })

  t.test('the target folder is made on first use', async (t) => {
    track(
      t,
      'target folder created on first update',
      features.createsTargetFolder,
      'must exist beforehand; made from 257',
    )
    const s = await machine(t, 'target-folder')
    const ext = 'zfs'
    await bakery.publish(ext, '2.2.7')
    const file = definitionName(features, ext)
    bakery.addMetadata(ext, file, transferFile({ service: service.url, ext }))
    await download(t, s, `/extensions/${file}`, `/etc/sysupdate.${ext}.d/${file}`)
    const first = await s.machine.sysupdate(ext, 'update')
    if (!features.createsTargetFolder) {
      t.not(first.code, 0, 'update fails')
      t.match(first.stderr, /Failed to resolve '\/opt\/extensions\/zfs\/'/)
      return
    }
    t.equal(first.code, 0, `update: ${describe(first)}`)
    await installed(t, s, ext, '2.2.7')
  })

  t.test('Verify=yes with a binary .gpg signature', async (t) => {
    matrix.scenario(t, 'Verify=yes, SHA256SUMS.gpg')
    const ext = 'tailscale'
    await bakery.sign(ext, key.sign)
    await bakery.publish(ext, 'v1.80.0')
    const keyrings = ['import-pubring.gpg', ...(features.pgpKeyring ? ['import-pubring.pgp'] : [])]
    for (const keyring of keyrings) {
      const s = await machine(t, `verify-gpg-${keyring}`)
      await s.machine.writeFile(`/etc/systemd/${keyring}`, key.publicKeyring)
      await install(t, s, ext, { verify: true })
      const updated = await update(t, s, ext)
      t.match(updated.stderr, /Signature verification succeeded/, `checked with ${keyring}`)
      await installed(t, s, ext, 'v1.80.0')
    }
    const tried = await signatureAnswers(ext)
    const before = features.signatureNames.slice(
      0,
      features.signatureNames.indexOf('SHA256SUMS.gpg'),
    )
    t.same(
      [...new Set(tried.map(([path, status]) => `${path} ${status}`))],
      [
        ...before.map((name) => `/extensions/${ext}/${name} 404`),
        `/extensions/${ext}/SHA256SUMS.gpg 200`,
      ],
      `the names this version tries, in order: ${features.signatureNames.join(', ')}`,
    )
    for (const name of features.signatureNames) {
      t.equal(github.count('HEAD', ext, name), 0, `${name}: no client was sent to GitHub for it`)
      t.ok(github.count('GET', ext, name) >= 1, `${name}: the service read it with the manifest`)
    }

    t.test('the same update fails without the key, so the check is real', async (t) => {
      const s = await machine(t, 'verify-unknown-key')
      await install(t, s, ext, { verify: true })
      const failed = await s.machine.sysupdate(ext, 'update')
      t.not(failed.code, 0, 'update fails')
      t.match(failed.stderr, /Signature verification failed/, 'on the signature')
      t.same(await images(s, ext), [], 'nothing is installed')
    })
  })

  t.test(
    'a mirrored tree on nginx: update, and Verify=yes with the bakery’s signature',
    async (t) => {
      matrix.scenario(t, 'mirrored tree on nginx: update, Verify=yes (issue 27)')
      const tree = await mirroredTree(github, artifacts.log('mirror.log'))
      t.teardown(() => tree.close())
      const ext = 'mirrored'
      await bakery.sign(ext, key.sign)
      await bakery.publish(ext, '1.0.0', ['x86-64'])
      const file = definitionName(features, ext)
      bakery.addMetadata(ext, file, transferFile({ service: tree.nginx.url, ext, verify: true }))
      t.match(await tree.mirror(ext), /^mirrored 1 extensions, 1 images/)
      const s = await machine(t, 'mirror-tree')
      await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
      await installFrom(t, s, tree.nginx.url, ext)
      const first = await update(t, s, ext)
      t.match(
        first.stderr,
        /Signature verification succeeded/,
        'the bakery’s signature, kept by the mirror',
      )
      await installed(t, s, ext, '1.0.0')

      await bakery.publish(ext, '1.1.0', ['x86-64'])
      t.match(
        await tree.mirror(ext),
        /2 images \(1 downloaded, [\d.]+ MiB; 1 at hand\)/,
        'the second run downloads only the new image',
      )
      await update(t, s, ext)
      await installed(t, s, ext, '1.1.0')
      const served = await tree.nginx.requests()
      t.ok(
        served.some((line) => line.startsWith(`GET /extensions/${ext}/SHA256SUMS.gpg 200`)),
        'its signature came from nginx',
      )
      t.equal(
        github.count('GET', `${ext}-1.1.0`, `${ext}-1.1.0-x86-64.raw`),
        1,
        'GitHub gave the image once: to the mirror',
      )
    },
  )

  t.test(
    'GitHub failing (500, reset, hang, 429): the service sends sysupdate to the mirror',
    async (t) => {
      matrix.scenario(t, 'GitHub failing, mirror origin: update through the service (issue 27)')
      const tree = await mirroredTree(github, artifacts.log('failover-mirror.log'))
      t.teardown(() => tree.close())
      const failover = await startService({
        githubUrl: github.url,
        repo: github.repo,
        env: {
          ...SERVICE_ENV,
          BAKERY_MIRRORS: `${tree.nginx.url}/releases/bakery`,
          // GitHub hanging: each wait short (a loopback GitHub answers in milliseconds), and a
          // request may wait for GitHub and then the mirror (1.6 s): a manifest and its signatures take 0.8 s.
          UPSTREAM_CONNECT_TIMEOUT: '300ms',
          UPSTREAM_TIMEOUT: '500ms',
          INDEX_FETCH_TIMEOUT: '400ms',
        },
        log: artifacts.log('failover-service.log'),
      })
      t.teardown(() => failover.stop())
      const faults: [string, Fault][] = [
        ['500', { kind: 'status', status: 500, storage: true }],
        ['reset', { kind: 'reset', storage: true }],
        ['hang', { kind: 'hang', storage: true }],
        ['429', { kind: 'status', status: 429, headers: { 'retry-after': '120' }, storage: true }],
      ]
      const file = (ext: string) => definitionName(features, ext)
      for (const [name] of faults) {
        const ext = `failover-${name}`
        await bakery.publish(ext, '2.0.0', ['x86-64'])
        bakery.addMetadata(ext, file(ext), transferFile({ service: failover.url, ext }))
      }
      await tree.mirror(...faults.map(([name]) => `failover-${name}`))
      for (const [name, fault] of faults) {
        const ext = `failover-${name}`
        github.fault(fault)
        t.teardown(() => github.fault(null))
        const s = await machine(t, `failover-${name}`)
        await installFrom(t, s, failover.url, ext)
        await update(t, s, ext)
        await installed(t, s, ext, '2.0.0')
        const lines = (await failover.requests()).filter(
          (line) => line.path === `/extensions/${ext}/${ext}-2.0.0-x86-64.raw`,
        )
        t.match(
          lines.at(-1)?.location,
          `${tree.nginx.url}/releases/bakery/`,
          `${name}: redirected to the mirror`,
        )
        github.fault(null)
      }
    },
  )

  t.test('Verify=yes with only an armored .asc signature', async (t) => {
    const armored = features.signatureNames.includes('SHA256SUMS.asc')
    track(t, 'Verify=yes, only SHA256SUMS.asc', armored, 'asks SHA256SUMS.gpg only; .asc from 258')
    const ext = 'incus'
    await bakery.sign(ext, key.signArmored, 'SHA256SUMS.asc')
    await bakery.publish(ext, '6.0.3')
    const s = await machine(t, 'verify-asc')
    await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
    await install(t, s, ext, { verify: true })
    if (!armored) {
      const failed = await s.machine.sysupdate(ext, 'update')
      t.not(failed.code, 0, 'update fails')
      t.match(failed.stderr, /SHA256SUMS\.gpg failed with code 404/, 'on the missing .gpg')
      return
    }
    const updated = await update(t, s, ext)
    t.match(updated.stderr, /Signature verification succeeded/)
    await installed(t, s, ext, '6.0.3')
  })

  t.test('Verify=yes with the signature missing fails cleanly on the service 404', async (t) => {
    matrix.scenario(t, 'Verify=yes, signature missing: fails cleanly')
    const s = await machine(t, 'verify-missing')
    const ext = 'falco'
    await bakery.publish(ext, '0.39.2')
    await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
    await install(t, s, ext, { verify: true })

    const failed = await s.machine.sysupdate(ext, 'update')
    t.equal(failed.timedOut, false, 'sysupdate gave up by itself')
    t.not(failed.code, 0, 'update fails')
    t.same(await images(s, ext), [], 'nothing is installed, no partial file')
    const tried = await signatureAnswers(ext)
    t.same(
      tried,
      features.signatureNames.map((name) => [`/extensions/${ext}/${name}`, 404]),
      'every name this version tries, in order, answered 404 by the service',
    )
    t.match(failed.stderr, /Failed to retrieve signature file/, 'because the signature is missing')
    // Each version reports the 404 that ended its search (262 is quiet about the probes before).
    const seen = [
      ...failed.stderr.matchAll(/HTTP request to \S+(\/extensions\/\S+) failed with code 404/g),
    ]
    t.same(
      seen.map((match) => match[1]),
      tried.slice(-1).map(([path]) => path),
      'sysupdate reported the 404 of the last name it tried',
    )
    t.ok(
      tried.every(([, status]) => status !== 302),
      'the client was never sent to GitHub: the service knows the names its revision lacks',
    )
  })

  t.test('a BEST-BEFORE entry in SHA256SUMS', async (t) => {
    track(
      t,
      'BEST-BEFORE: future accepted, past refused',
      features.bestBefore,
      'the entry is ignored; honoured from 260',
    )
    const future = isoDay(Date.now() + 365 * 86_400_000)
    const past = isoDay(Date.now() - 86_400_000)
    const ext = 'btop'
    await bakery.publish(ext, '1.4.0')
    await bakery.bestBefore(ext, past)
    if (!features.bestBefore) {
      const s = await machine(t, 'best-before-ignored')
      await install(t, s, ext)
      await update(t, s, ext)
      await installed(t, s, ext, '1.4.0')
      return
    }
    const stale = await machine(t, 'best-before-past')
    await install(t, stale, ext)
    const refused = await stale.machine.sysupdate(ext, 'update')
    t.not(refused.code, 0, `a list past ${past} is refused`)
    t.match(refused.stderr, /Best before marker indicates out-of-date file list, refusing/)
    t.same(await images(stale, ext), [], 'nothing is installed')

    await bakery.bestBefore(ext, future)
    const fresh = await machine(t, 'best-before-future')
    await install(t, fresh, ext)
    const accepted = await update(t, fresh, ext)
    t.match(accepted.stderr, /Found best before marker, and it checks out/, `${future} is fine`)
    await installed(t, fresh, ext, '1.4.0')
    const page = await fetch(`${service.url}/extensions/${ext}/`, {
      headers: { accept: 'application/json' },
    })
    t.notMatch(await page.text(), /BEST-BEFORE/, 'the directory lists images only')
  })

  t.test('acquire, then update', async (t) => {
    track(t, 'acquire, then update', features.acquire, 'no acquire verb; from 260')
    const s = await machine(t, 'acquire')
    const ext = 'llamaedge'
    await bakery.publish(ext, '0.14.16')
    await install(t, s, ext)
    const acquired = await s.machine.sysupdate(ext, 'acquire')
    if (!features.acquire) {
      t.not(acquired.code, 0, 'acquire is refused')
      t.match(acquired.stderr, /Unknown command verb '?acquire'?/)
      return
    }
    t.equal(acquired.code, 0, `acquire: ${describe(acquired)}`)
    t.match(acquired.stderr, /Successfully acquired/)
    await t.rejects(s.machine.readlink(`/etc/extensions/${ext}.raw`), 'acquired, not yet current')
    await update(t, s, ext)
    await installed(t, s, ext, '0.14.16')
    t.same(
      (await stack.answers(`/extensions/${ext}/${ext}-0.14.16-x86-64.raw`)).map((l) => l.status),
      [302],
      'the image was downloaded once, by acquire',
    )
  })

  t.test('publish races: sysupdate polls while both bakeries’ orders run', async (t) => {
    // A service that knows the bakery's key, as a production one should: only
    // a verified manifest and signature pair is ever adopted.
    const keys = join(artifacts.dir, 'bakery-keyring.gpg')
    await writeFile(keys, key.publicKeyring)
    const race = await startStack(artifacts.log('race-service.log'), { SIGNING_KEYS: keys })
    t.teardown(() => race.close())
    await race.bakery.signGlobal(key.sign)
    for (const verify of [false, true]) {
      const mode = verify ? 'yes' : 'no'
      t.test(`Verify=${mode}`, async (t) => {
        matrix.scenario(t, `publish races (both orders, in a loop), Verify=${mode}: no failed run`)
        const ext = `race-${mode}`
        await race.bakery.sign(ext, key.sign)
        await race.bakery.publish(ext, '2.0.0')
        const s = await machine(t, `race-verify-${mode}`)
        if (verify) await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
        const { file, definition, fetched } = await installDefinition(
          race,
          s.machine,
          features,
          ext,
          {
            verify,
            log: s.log,
          },
        )
        t.equal(fetched.code, 0, `curl the definition: ${describe(fetched)}`)
        const outcome = await pollDuringPublishes({
          bakery: race.bakery,
          ext,
          ms: RACE_MS,
          pauseMs: RACE_PAUSE_MS,
          idleMs: RACE_IDLE_MS,
          transfer: { [file]: definition },
          poll: () => s.machine.sysupdate(ext, 'update'),
        })
        t.comment(`${outcome.runs} runs while ${outcome.published.length} versions were published`)
        t.ok(outcome.published.length >= 4, 'both orders ran, each more than once')
        t.ok(outcome.runs >= 5, 'the client polled throughout')
        t.same(outcome.failures, [], 'no run failed')
        const installed = await images(s, ext)
        t.ok(installed.length >= 2, `it followed the publishes: ${installed.join(', ')}`)
      })
    }
  })

  t.test('systemd-pull raw --verify=checksum and =signature, at both levels', async (t) => {
    const ext = 'pulled'
    await bakery.sign(ext, key.sign)
    await bakery.signGlobal(key.sign)
    await bakery.publish(ext, '1.2.3')
    const image = `${ext}-1.2.3-x86-64.raw`
    for (const verify of ['checksum', 'signature']) {
      for (const path of [`/extensions/${image}`, `/extensions/${ext}/${image}`]) {
        t.test(`--verify=${verify} ${path}`, async (t) => {
          matrix.scenario(
            t,
            `systemd-pull raw --verify=${verify} ${path.replace(image, '<image>').replace(`/${ext}/`, '/<ext>/')}`,
          )
          const s = await machine(t, `pull-${verify}-${path.split('/').length}`)
          await s.machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
          const pulled = await s.machine.pull(
            `--verify=${verify}`,
            `${service.url}${path}`,
            '/var/tmp/pulled.raw',
          )
          t.equal(pulled.code, 0, `systemd-pull: ${describe(pulled)}`)
          t.equal(
            sha256(await s.machine.readFile('/var/tmp/pulled.raw')),
            sha256(bakery.image(ext, '1.2.3', 'x86-64')),
            'the published bytes',
          )
          t.match(
            await stack.answers(`${path}.sha256`),
            [{ status: 404, rule: 'image-checksum' }],
            'its first probe, <image>.sha256: a clean 404 from the service, not the docs site',
          )
        })
      }
    }
  })

  t.test(
    'the Fedora layout (extensions.fcos.fr): install and update by the OS version',
    async (t) => {
      matrix.scenario(
        t,
        'Fedora layout: /fedora/<name>/ and /extensions/<name>/, <name>-@v-%w-%a.raw',
      )
      const fedora = await startFedoraStack(artifacts.log('fedora-service.log'))
      t.teardown(() => fedora.close())
      const s = await machine(t, 'fedora-layout')
      // A Fedora 42 machine: sysupdate's %w is its VERSION_ID.
      await s.machine.writeFile('/etc/os-release', `ID=fedora\nVERSION_ID=${OS_VERSION}\n`)
      const url = fedora.service.url
      const cases = [
        { repo: FEDORA, name: 'btop', path: '/fedora/btop/', conf: '/fedora/btop.conf' },
        // A listed community name, by the generic tree, as the Caddyfile sends it.
        {
          repo: COMMUNITY,
          name: 'tailscale',
          path: '/extensions/tailscale/',
          conf: '/extensions/tailscale.conf',
        },
      ] as const
      for (const { repo, name, path, conf } of cases) {
        fedora.bakery.publish(repo, name, '1.0.0-1')
        // Another OS version's image of a newer version: never this machine's.
        fedora.bakery.publish(repo, name, '9.0.0-1', '41')
        fedora.bakery.addTransfer(repo, name, fedoraTransfer(url, name, path))
        const fetched = await curlGet(
          `${url}${conf}`,
          s.machine.host(`/etc/sysupdate.${name}.d/${name}.conf`),
          s.log,
          ['--create-dirs'],
        )
        t.equal(fetched.code, 0, `curl ${conf}: ${describe(fetched)}`)
        if (!features.createsTargetFolder) await s.machine.mkdir(`/opt/extensions/${name}`)
        t.same((await list(t, s, name)).all, ['1.0.0-1'], `${name}: only this OS version's images`)
        await update(t, s, name)
        const first = fedoraImage(name, '1.0.0-1')
        t.equal(
          await s.machine.readlink(`/etc/extensions/${name}.raw`),
          `../../opt/extensions/${name}/${first}`,
        )
        const bytes = fedora.bakery.publish(repo, name, '1.1.0-1')
        // GitHub's release event for the new version's release, then the manifest as published.
        const next = fedoraImage(name, '1.1.0-1')
        await deliverRelease(url, next.slice(0, -'.raw'.length), repo)
        await deliverRelease(url, name, repo)
        await servedWith(`${url}${path}SHA256SUMS`, next)
        t.equal(await checkNew(t, s, name), '1.1.0-1', `${name}: the new version is offered`)
        await update(t, s, name)
        t.equal(
          sha256(await s.machine.readFile(`/opt/extensions/${name}/${next}`)),
          sha256(bytes),
          `${next} has the published bytes`,
        )
        t.equal(
          await s.machine.readlink(`/etc/extensions/${name}.raw`),
          `../../opt/extensions/${name}/${next}`,
        )
        const answered = await fedora.answers(`${path}${next}`)
        t.match(
          answered,
          [{ status: 302, rule: /-raw$/, source: repo.split('/')[1] }],
          `${next}: redirected into ${repo}`,
        )
        t.equal(
          fedora.github.count('GET', next.slice(0, -'.raw'.length), next, repo),
          1,
          'downloaded from its own release',
        )
      }
    },
  )

  /** Runs the updater a page's Butane sets up: its service's ExecStart=, as systemd would. */
  async function runUpdater(t: Test, s: Scenario, butane: string): Promise<void> {
    const command = /ExecStart=(.*)/.exec(butane)?.[1]
    t.match(command, /^\/usr\/lib\/systemd\/systemd-sysupdate --component=\S+ update$/)
    const updated = await s.machine.exec(command as string)
    t.equal(updated.code, 0, `${command}: ${describe(updated)}`)
  }

  /** The service's answers to the signature names of one extension, in order. */
  async function signatureAnswers(ext: string): Promise<[string, number][]> {
    const names = new RegExp(`^/extensions/${ext}/SHA256SUMS\\.(sha256\\.)?(gpg|asc)$`)
    return (await service.requests())
      .filter((line) => names.test(line.path))
      .map((line) => [line.path, line.status])
  }
}

/** How long a client polls during the publish races, and how long a half-published state lasts. */
const RACE_MS = 10_000
const RACE_PAUSE_MS = 300
const RACE_IDLE_MS = 1000

/** What `--json=short` prints, parsed; the whole run in the message when it is not JSON. */
function json(t: Test, result: RunResult): unknown {
  try {
    return JSON.parse(result.stdout)
  } catch {
    t.fail(`not JSON (exit ${String(result.code)}): ${result.stdout}`)
    return {}
  }
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** Waits until a manifest the service serves lists `name` (a publish seen by the service). */
async function servedWith(url: string, name: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    const response = await fetch(url)
    if (response.status === 200 && (await response.text()).includes(`  ${name}\n`)) return
    await sleep(20)
  }
  throw new Error(`${url} does not list ${name} after 10 s`)
}
