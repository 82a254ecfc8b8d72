import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { runCommand } from '../../src/cli.js'
import { DEFAULT_TABLE_FILE } from '../../src/config/table-file.js'
import type { Env } from '../../src/config/env.js'
import { bakeryAssets, BAKERY, imageBytes, ONLINE, publish } from '../helpers/bakery.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { COMMUNITY, FEDORA, shippedTable } from '../helpers/fedora.js'

/*
 * `sysext-redirector mirror DIR` against the fake GitHub holding the test
 * bakery: what it writes, what a second run downloads, an interrupted run
 * resumed, and every bad input refused with the tree left as it was.
 */

async function rig(t: Test) {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => github.close())
  const dir = await mkdtemp(join(tmpdir(), 'mirror-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const env: Env = { ...ONLINE, GITHUB_URL: github.url }
  return { github, dir, env }
}

async function mirrorRun(args: string[], env: Env) {
  const out: string[] = []
  const err: string[] = []
  const code = await runCommand(['mirror', ...args], env, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** Images downloaded: GETs of a `.raw` download URL (their storage hops not counted). */
const images = (github: FakeGitHub) =>
  github.requests.filter(
    (r) => r.method === 'GET' && r.path.endsWith('.raw') && !r.path.startsWith('/storage'),
  ).length

t.test(
  'the whole bakery: the paths the service answers, verified, manifests as adopted',
  async (t) => {
    const { github, dir, env } = await rig(t)
    const run = await mirrorRun([dir], env)
    t.equal(run.code, 0, run.err)
    t.match(run.out, /^mirrored 6 extensions, 19 images \(19 downloaded, [\d.]+ MiB; 0 at hand\)/)
    const assets = bakeryAssets()
    t.equal(await text(dir, 'extensions/SHA256SUMS'), assets.SHA256SUMS?.SHA256SUMS)
    t.equal(await text(dir, 'extensions/kubernetes/SHA256SUMS'), assets.kubernetes?.SHA256SUMS)
    t.equal(await text(dir, 'extensions/kubernetes.conf'), '[Transfer]\n')
    t.equal(await text(dir, 'extensions/kubernetes/kubernetes.conf'), '[Transfer]\n')
    const file = 'kubernetes-v1.32.2-x86-64.raw'
    t.equal(await text(dir, `extensions/${file}`), imageBytes(file))
    t.equal(await text(dir, `extensions/kubernetes/${file}`), imageBytes(file))
    t.equal(
      await text(dir, 'extensions/k3s-v1.31.4+k3s2-x86-64.raw'),
      imageBytes('k3s-v1.31.4+k3s2-x86-64.raw'),
    )
    // The newest names, as the service's newest layer answers them.
    t.equal(
      await text(dir, 'extensions/kubernetes.raw'),
      imageBytes('kubernetes-v1.33.0-x86-64.raw'),
    )
    t.equal(
      await text(dir, 'extensions/kubernetes-arm64.raw'),
      imageBytes('kubernetes-v1.33.0-arm64.raw'),
    )
    t.equal(
      await text(dir, 'extensions/wasmtime/wasmtime-arm64.raw'),
      imageBytes('wasmtime-24.0.0-arm64.raw'),
    )
    // GitHub's layout beside it, for the service's BAKERY_MIRRORS.
    t.equal(await text(dir, `releases/bakery/kubernetes-v1.32.2/${file}`), imageBytes(file))
    t.equal(await text(dir, 'releases/bakery/SHA256SUMS/SHA256SUMS'), assets.SHA256SUMS?.SHA256SUMS)
    t.equal(await text(dir, 'releases/bakery/kubernetes/kubernetes.conf'), '[Transfer]\n')
    const a = await stat(join(dir, `extensions/${file}`))
    const b = await stat(join(dir, `releases/bakery/kubernetes-v1.32.2/${file}`))
    t.equal(a.ino, b.ino, 'one copy of the bytes, several names')
    t.equal(images(github), 19, 'each image downloaded once')
  },
)

t.test('a second run with nothing new downloads no image; a new version alone', async (t) => {
  const { github, dir, env } = await rig(t)
  t.equal((await mirrorRun([dir], env)).code, 0)
  github.clearRequests()
  const again = await mirrorRun([dir], env)
  t.equal(again.code, 0, again.err)
  t.match(again.out, /\(0 downloaded, 0\.0 MiB; 19 at hand\)/)
  t.equal(images(github), 0)
})

t.test(
  'cut off mid-image: the run fails, the tree is as it was; the next run resumes',
  async (t) => {
    const { github, dir, env } = await rig(t)
    t.equal((await mirrorRun([dir], env)).code, 0)
    const before = await text(dir, 'extensions/kubernetes/SHA256SUMS')
    const globalBefore = await text(dir, 'extensions/SHA256SUMS')
    const file = 'kubernetes-v1.34.0-x86-64.raw'
    publish(github, { kubernetes: { ...BAKERY.kubernetes, 'v1.34.0': ['x86-64'] } })
    github.fault({ kind: 'cut', after: 7, storage: 'only' }, (name) => name.endsWith(file))
    const cut = await mirrorRun([dir], env)
    t.equal(cut.code, 1)
    t.match(cut.err, `${file}: cut off after 7 bytes`)
    t.match(cut.err, 'run again to resume from there (SR_MIRROR_FAILED)')
    t.equal(
      await text(dir, 'extensions/kubernetes/SHA256SUMS'),
      before,
      'the manifests as they were',
    )
    t.equal(await text(dir, 'extensions/SHA256SUMS'), globalBefore)
    await t.rejects(stat(join(dir, 'extensions', file)), 'the image not in the tree')
    const partials = (await readdir(join(dir, '.sysext-mirror', 'objects'))).filter((name) =>
      name.endsWith('.partial'),
    )
    t.equal(partials.length, 1, 'its bytes so far kept')
    t.equal((await stat(join(dir, '.sysext-mirror', 'objects', partials[0] as string))).size, 7)
    github.fault(null)
    github.clearRequests()
    const resumed = await mirrorRun([dir], env)
    t.equal(resumed.code, 0, resumed.err)
    const ranged = github.requests.filter((r) => r.headers.range !== undefined)
    t.same(
      ranged.filter((r) => r.path.startsWith('/storage')).map((r) => r.headers.range),
      ['bytes=7-'],
      'resumed where it was cut off',
    )
    t.equal(await text(dir, `extensions/${file}`), imageBytes(file))
    t.match(await text(dir, 'extensions/kubernetes/SHA256SUMS'), file, 'and then its manifest')
    t.match(resumed.out, /\(1 downloaded/)
  },
)

t.test('bytes that do not match the manifest are deleted, and the run fails', async (t) => {
  const { github, dir, env } = await rig(t)
  const file = 'docker-28.0.1-x86-64.raw'
  github.addAsset('docker-28.0.1', file, 'not what the manifest lists\n')
  const run = await mirrorRun([dir], env)
  t.equal(run.code, 1)
  t.match(
    run.err,
    new RegExp(
      `${file}: its SHA-256 is [0-9a-f]{64}, but its manifest lists [0-9a-f]{64}; deleted`,
    ),
  )
  await t.rejects(stat(join(dir, 'extensions/SHA256SUMS')), 'no manifest written')
  const own = await readdir(join(dir, '.sysext-mirror', 'objects'))
  t.notOk(
    own.some((name) => name.endsWith('.partial')),
    'nothing of the bad bytes kept',
  )
})

t.test(
  'choices: extensions, architectures, versions kept; manifests as chosen, unsigned',
  async (t) => {
    const { github, dir, env } = await rig(t)
    github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'a signature')
    const args = [dir, '--extension', 'kubernetes', '--arch', 'x86-64', '--keep', '2']
    const run = await mirrorRun(args, env)
    t.equal(run.code, 0, run.err)
    t.match(run.out, /^mirrored 1 extensions, 2 images/)
    const listed = (await text(dir, 'extensions/kubernetes/SHA256SUMS')).split('\n').filter(Boolean)
    t.same(
      listed.map((line) => line.split('  ')[1]),
      ['kubernetes-v1.32.10-x86-64.raw', 'kubernetes-v1.33.0-x86-64.raw'],
    )
    t.same(
      (await text(dir, 'extensions/SHA256SUMS')).split('\n').filter(Boolean),
      listed,
      'the global manifest lists the same',
    )
    await t.rejects(stat(join(dir, 'extensions/kubernetes/SHA256SUMS.gpg')))
    t.match(run.err, 'extensions/kubernetes/SHA256SUMS.gpg left out: it signs the whole manifest')
    await t.rejects(stat(join(dir, 'extensions/docker.conf')), 'other extensions left out')

    const fewer = await mirrorRun(
      [dir, '--extension', 'kubernetes', '--arch', 'x86-64', '--keep', '1'],
      env,
    )
    t.equal(fewer.code, 0)
    t.match(
      fewer.out,
      /, 3 removed,/,
      'the version no longer kept: its two names and its release copy',
    )
    await t.rejects(stat(join(dir, 'extensions/kubernetes-v1.32.10-x86-64.raw')))
    const objects = await readdir(join(dir, '.sysext-mirror', 'objects'))
    t.equal(objects.length, 1, 'and its bytes')
  },
)

t.test('the whole manifests keep their signatures, byte for byte', async (t) => {
  const { github, dir, env } = await rig(t)
  github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'a signature')
  github.addAsset('SHA256SUMS', 'SHA256SUMS.asc', 'an armored signature')
  t.equal((await mirrorRun([dir], env)).code, 0)
  t.equal(await text(dir, 'extensions/kubernetes/SHA256SUMS.gpg'), 'a signature')
  t.equal(await text(dir, 'extensions/SHA256SUMS.asc'), 'an armored signature')
  t.equal(await text(dir, 'releases/bakery/kubernetes/SHA256SUMS.gpg'), 'a signature')
})

t.test('bad input: a clear error, nothing written', async (t) => {
  const { dir, env } = await rig(t)
  const usage: [string[], string][] = [
    [[], 'mirror needs DIR, the folder to write'],
    [[dir, dir], 'mirror takes one DIR'],
    [[dir, '--keep', '0'], '--keep takes a whole number of versions from 1, not 0'],
    [[dir, '--arch', 'riscv'], '--arch takes x86-64 or arm64, not riscv'],
    [[dir, '--source'], '--source needs a value'],
    [[dir, '--fast'], 'unknown option --fast'],
  ]
  for (const [args, message] of usage) {
    const run = await mirrorRun(args, env)
    t.equal(run.code, 2, message)
    t.match(run.err, message)
  }
  const file = join(dir, 'a-file')
  await writeFile(file, 'x')
  const failing: [string[], Env, string][] = [
    [[file], env, `DIR ${file} is a file, not a folder (SR_MIRROR_DIR)`],
    [
      ['/sys/sysext-mirror-test'],
      env,
      'cannot write to DIR /sys/sysext-mirror-test: not permitted (EPERM) (SR_MIRROR_DIR)',
    ],
    [
      [dir, '--source', 'fedora'],
      env,
      "--source fedora: the table's sources are bakery (SR_CONFIG_INVALID)",
    ],
    [
      [dir, '--extension', 'kube'],
      env,
      '--extension kube: bakery publishes none of that name; it publishes crio, docker,',
    ],
    [[dir], { ...env, MANIFEST_INDEX: 'false' }, 'MANIFEST_INDEX and SNAPSHOTS must be on'],
    [[dir], { ...env, BAKERY_MIRRORS: 'ftp://x' }, 'BAKERY_MIRRORS="ftp://x" is not valid'],
  ]
  for (const [args, withEnv, message] of failing) {
    const run = await mirrorRun(args, withEnv)
    t.equal(run.code, 1, message)
    t.match(run.err, message)
  }
  t.same(await readdir(dir), ['.sysext-mirror', 'a-file'], 'no tree written')
})

t.test('one run at a time; a lock whose run is gone is taken over', async (t) => {
  const { dir, env } = await rig(t)
  const lock = join(dir, '.sysext-mirror', 'lock')
  await mkdir(dirname(lock), { recursive: true })
  await writeFile(lock, String(process.pid))
  const held = await mirrorRun([dir], env)
  t.equal(held.code, 1)
  t.match(held.err, `DIR ${dir} is being written by another mirror run (process ${process.pid})`)
  await writeFile(lock, '999999999')
  const run = await mirrorRun([dir], env)
  t.equal(run.code, 0, run.err)
  await t.rejects(stat(lock), 'let go at the end')
})

t.test('GitHub asking us to wait stops the run, the tree as it was', async (t) => {
  const { github, dir, env } = await rig(t)
  github.fault({ kind: 'status', status: 429, headers: { 'retry-after': '600' } }, (name) =>
    name.endsWith('.raw'),
  )
  const run = await mirrorRun([dir], env)
  t.equal(run.code, 1)
  t.match(run.err, 'GitHub asked us to wait (rate limited); run again later (SR_MIRROR_FAILED)')
  await t.rejects(stat(join(dir, 'extensions')))
})

t.test('a progress bar on a terminal; one summary line otherwise', async (t) => {
  const { dir, env } = await rig(t)
  const drawn: string[] = []
  const out: string[] = []
  const terminal = { isTTY: true, columns: 200, write: (text: string) => drawn.push(text) }
  const code = await runCommand(['mirror', dir], env, {
    out: (line) => out.push(line),
    err: () => undefined,
    terminal,
  })
  t.equal(code, 0)
  t.match(drawn.join(''), /mirror \[#{24}\] 19\/19 images/)
  t.equal(drawn.at(-1), '\r\x1b[K', 'cleared before the summary')
  t.equal(out.length, 1)
  const quiet: string[] = []
  await runCommand(['mirror', dir, '--no-progress'], env, {
    out: () => undefined,
    err: () => undefined,
    terminal: { ...terminal, write: (text: string) => quiet.push(text) },
  })
  t.same(quiet, [], 'told not to')
})

async function text(dir: string, path: string): Promise<string> {
  return readFile(join(dir, path), 'utf8')
}

t.test('what the service cannot give ends the run, said by its answer', async (t) => {
  const { github, dir, env } = await rig(t)
  github.fault({ kind: 'status', status: 500 }, (name) => name === 'kubernetes/kubernetes.conf')
  const transfer = await mirrorRun([dir], { ...env, INDEX_RETRY: '1s' })
  t.equal(transfer.code, 1)
  t.match(
    transfer.err,
    '/extensions/kubernetes.conf: the service answers 503 Service Unavailable: kubernetes.conf of release kubernetes cannot be read from GitHub yet',
  )
  github.fault(null)
  github.removeAsset('docker-28.0.1', 'docker-28.0.1-x86-64.raw')
  const image = await mirrorRun([dir], env)
  t.equal(image.code, 1)
  t.match(
    image.err,
    'docker-28.0.1-x86-64.raw: the service answers 404 Not Found: release docker-28.0.1 has no asset docker-28.0.1-x86-64.raw (SR_MIRROR_FAILED)',
  )
  github.fault({ kind: 'status', status: 500 })
  const down = await mirrorRun([dir], env)
  t.equal(down.code, 1)
  t.match(down.err, 'the extensions of bakery cannot be read: ')
  await t.rejects(stat(join(dir, 'extensions')), 'nothing written by any of them')
})

t.test(
  'a table without directory forms: the flat directory at /extensions/; a form with no manifest',
  async (t) => {
    const { dir, env } = await rig(t)
    const flatcar = await readFile(DEFAULT_TABLE_FILE, 'utf8')
    const forms = /^directories:\n(?: .*\n|\n)*/m
    t.match(flatcar, forms)
    const tables = await mkdtemp(join(tmpdir(), 'tables-'))
    t.teardown(() => rm(tables, { recursive: true, force: true }))
    const without = join(tables, 'without.yaml')
    await writeFile(without, flatcar.replace(forms, ''))
    const run = await mirrorRun([dir], { ...env, PATTERN_TABLE: without })
    t.equal(run.code, 0, run.err)
    t.ok((await stat(join(dir, 'extensions/kubernetes/SHA256SUMS'))).isFile())
    const elsewhere = join(tables, 'elsewhere.yaml')
    await writeFile(
      elsewhere,
      flatcar.replace(
        forms,
        'directories:\n  - name: other\n    path: /other/\n    examples: [/other/]\n\n',
      ),
    )
    const other = await mirrorRun([join(dir, 'other')], { ...env, PATTERN_TABLE: elsewhere })
    t.equal(other.code, 1)
    t.match(other.err, '/other/crio/SHA256SUMS: the service serves no manifest there')
  },
)

t.test(
  'the Fedora sysexts, one source chosen: name folders, as its table serves them',
  async (t) => {
    const line = (file: string) =>
      `${createHash('sha256').update(imageBytes(file)).digest('hex')}  ${file}\n`
    const file = 'tailscale-1.80.0-42-x86-64.raw'
    const github = await startFakeGitHub({
      repo: FEDORA,
      more: {
        [COMMUNITY]: {
          latest: { SHA256SUMS: line(file) },
          tailscale: { SHA256SUMS: line(file), 'tailscale.conf': '[Transfer]\n' },
          'tailscale-1.80.0-42-x86-64': { [file]: imageBytes(file) },
        },
      },
    })
    t.teardown(() => github.close())
    const dir = await mkdtemp(join(tmpdir(), 'mirror-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const env = {
      ...ONLINE,
      GITHUB_URL: github.url,
      PATTERN_TABLE: shippedTable('fedora-sysexts.yaml'),
    }
    const run = await mirrorRun([dir, '--source', 'community'], env)
    t.equal(run.code, 0, run.err)
    t.match(run.out, /^mirrored 1 extensions, 1 images/)
    t.equal(await text(dir, `community/tailscale/${file}`), imageBytes(file))
    t.equal(await text(dir, 'community/tailscale/SHA256SUMS'), line(file))
    t.equal(await text(dir, 'community/SHA256SUMS'), line(file))
    t.equal(await text(dir, 'community/tailscale.conf'), '[Transfer]\n')
    t.equal(
      await text(dir, `releases/community/tailscale-1.80.0-42-x86-64/${file}`),
      imageBytes(file),
    )
    await t.rejects(stat(join(dir, 'fedora')), 'the other source left out')
  },
)

t.test('a DIR no folder can be made at says why', async (t) => {
  const { dir, env } = await rig(t)
  const loop = join(dir, 'loop')
  await symlink(loop, loop)
  const run = await mirrorRun([loop], env)
  t.equal(run.code, 1)
  t.match(run.err, `cannot write to DIR ${loop}: ELOOP (SR_MIRROR_DIR)`)
})
