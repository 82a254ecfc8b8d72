import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { clientArtifacts } from './helpers/artifacts.js'
import { Matrix } from './helpers/matrix.js'
import { sha256, transferFile } from './helpers/bakery.js'
import { requireClients, TOOLS } from './helpers/preflight.js'
import { curlGet, MAX_TIME, wgetGet } from './helpers/download.js'
import { describe, run } from './helpers/run.js'
import { startStack } from './helpers/stack.js'

/*
 * curl and wget, the way people and scripts fetch from the bakery: every URL
 * form of the flat directory gives the published bytes, HEAD sees the same
 * redirect as GET, and a missing file is a clean failure on the service 404.
 */

const artifacts = clientArtifacts('curl')
const wgetArtifacts = clientArtifacts('wget')
requireClients('curl and wget', [TOOLS.curl, TOOLS.wget, TOOLS.sha256sum], false)
const stack = await startStack(artifacts.log('service.log'))
t.teardown(() => stack.close())
const { bakery, github, service } = stack
const curlLog = artifacts.log('curl.log')
const wgetLog = wgetArtifacts.log('wget.log')

/** `curl 7.88.1`, `wget 1.21.3`: the first number each prints for --version. */
async function versionOf(tool: string): Promise<string> {
  const printed = await run(tool, ['--version'], { log: curlLog, timeoutMs: 10_000 })
  return /\d+\.\d+(\.\d+)?/.exec(printed.stdout)?.[0] ?? 'unknown'
}
const matrix = new Matrix(
  artifacts.dir,
  'curl / wget',
  `${await versionOf('curl')} / ${await versionOf('wget')}`,
)

const downloads = await mkdtemp(join(tmpdir(), 'e2e-curl-'))
t.teardown(() => rm(downloads, { recursive: true, force: true }))

await bakery.publish('kubernetes', 'v1.32.2')
await bakery.publish('kubernetes', 'v1.33.0')
await bakery.publish('docker-compose', '2.34.0')
await bakery.publish('k3s', 'v1.31.4+k3s1')
const conf = transferFile({ service: service.url, ext: 'kubernetes' })
// Each name its own bytes, so a mix-up between them shows.
const transfer = `# kubernetes.transfer\n${conf}`
const stream = transferFile({
  service: service.url,
  ext: 'kubernetes',
  matchPattern: 'kubernetes-v1.32.@v-%a.raw',
})
bakery.addMetadata('kubernetes', 'kubernetes.conf', conf)
bakery.addMetadata('kubernetes', 'kubernetes.transfer', transfer)
bakery.addMetadata('kubernetes', 'kubernetes-v1.32.conf', stream)

/** Every URL form, and the bytes the bakery published behind it. */
const files: [path: string, expected: Buffer | string][] = [
  ['/extensions/kubernetes-v1.32.2-x86-64.raw', bakery.image('kubernetes', 'v1.32.2', 'x86-64')],
  ['/extensions/kubernetes-v1.33.0-arm64.raw', bakery.image('kubernetes', 'v1.33.0', 'arm64')],
  [
    '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw',
    bakery.image('kubernetes', 'v1.32.2', 'x86-64'),
  ],
  [
    '/extensions/docker-compose-2.34.0-x86-64.raw',
    bakery.image('docker-compose', '2.34.0', 'x86-64'),
  ],
  ['/extensions/k3s-v1.31.4+k3s1-x86-64.raw', bakery.image('k3s', 'v1.31.4+k3s1', 'x86-64')],
  ['/extensions/k3s-v1.31.4%2Bk3s1-arm64.raw', bakery.image('k3s', 'v1.31.4+k3s1', 'arm64')],
  ['/extensions/kubernetes.conf', conf],
  ['/extensions/kubernetes.transfer', transfer],
  ['/extensions/kubernetes/kubernetes-v1.32.conf', stream],
  ['/extensions/kubernetes/SHA256SUMS', bakery.extensionSums('kubernetes')],
  ['/extensions/SHA256SUMS', bakery.globalSums()],
]

let n = 0
const fresh = (): string => join(downloads, `file-${++n}`)

t.test('curl -L and wget download every form with the published bytes', async (t) => {
  matrix.scenario(t, 'every URL form gives the published bytes')
  for (const [path, expected] of files) {
    const want = sha256(expected)
    const viaCurl = fresh()
    const curl = await curlGet(`${service.url}${path}`, viaCurl, curlLog)
    t.equal(curl.code, 0, `curl ${path}: ${describe(curl)}`)
    t.equal(
      sha256(await readFile(viaCurl).catch(() => Buffer.alloc(0))),
      want,
      `curl ${path}: bytes`,
    )

    const viaWget = fresh()
    const wget = await wgetGet(`${service.url}${path}`, viaWget, wgetLog)
    t.equal(wget.code, 0, `wget ${path}: ${describe(wget)}`)
    t.equal(
      sha256(await readFile(viaWget).catch(() => Buffer.alloc(0))),
      want,
      `wget ${path}: bytes`,
    )
  }
})

t.test('the downloaded SHA256SUMS check the downloaded images (sha256sum -c)', async (t) => {
  matrix.scenario(t, "sha256sum -c against each level's SHA256SUMS")
  // Per version, per extension and global: each level lists the same bytes.
  const dir = await mkdtemp(join(downloads, 'check-'))
  const images = ['kubernetes-v1.32.2-x86-64.raw', 'kubernetes-v1.32.2-arm64.raw']
  for (const name of images) {
    await writeFile(
      join(dir, name),
      bakery.image('kubernetes', 'v1.32.2', name.includes('arm64') ? 'arm64' : 'x86-64'),
    )
  }
  const levels = {
    'per-version': github.url + `/${github.repo}/releases/download/kubernetes-v1.32.2/SHA256SUMS`,
    'per-extension': `${service.url}/extensions/kubernetes/SHA256SUMS`,
    global: `${service.url}/extensions/SHA256SUMS`,
  }
  for (const [level, url] of Object.entries(levels)) {
    const sums = join(dir, `${level}.SHA256SUMS`)
    const got = await curlGet(url, sums, curlLog)
    t.equal(got.code, 0, `${level}: ${describe(got)}`)
    const check = await run('sha256sum', ['--check', '--strict', '--ignore-missing', sums], {
      log: curlLog,
      timeoutMs: 30_000,
      cwd: dir,
    })
    t.equal(check.code, 0, `${level} SHA256SUMS: ${describe(check)}`)
    for (const name of images) t.match(check.stdout, `${name}: OK`, `${level} lists ${name}`)
  }
})

t.test('curl -I sees the same answer as GET', async (t) => {
  matrix.scenario(t, 'HEAD (curl -I) sees the same answer as GET')
  const write = ['--write-out', '%{http_code} %{redirect_url}', '--output', '/dev/null']
  const options = { log: curlLog, timeoutMs: 30_000 }
  for (const [path] of files) {
    const url = `${service.url}${path}`
    const head = await run('curl', ['--silent', '--head', ...MAX_TIME, ...write, url], options)
    const get = await run('curl', ['--silent', ...MAX_TIME, ...write, url], options)
    const [status, location] = head.stdout.split(' ')
    if (path.endsWith('.raw')) {
      t.equal(status, '302', `HEAD ${path}`)
      t.match(
        location,
        `${github.url}/${github.repo}/releases/download/`,
        `HEAD ${path} leads to the release`,
      )
    } else {
      t.same([status, location], ['200', ''], `HEAD ${path}: served from the snapshot`)
    }
    t.equal(get.stdout, head.stdout, `GET ${path} answers the same`)
  }
})

t.test('a missing file fails cleanly on the service 404', async (t) => {
  matrix.scenario(t, 'a missing file fails cleanly on the 404')
  const missing = [
    '/extensions/kubernetes-v1.99.0-x86-64.raw',
    '/extensions/nosuch.conf',
    '/extensions/nosuch/SHA256SUMS',
  ]
  for (const path of missing) {
    const curl = await curlGet(`${service.url}${path}`, fresh(), curlLog)
    t.equal(curl.code, 22, `curl --fail ${path} exits 22 (HTTP error)`)
    t.match(curl.stderr, /404/, 'on a 404')
    const wget = await wgetGet(`${service.url}${path}`, fresh(), wgetLog)
    t.equal(wget.code, 8, `wget ${path} exits 8 (server error response)`)
    t.match(wget.stderr, /404/, 'on a 404')
    t.same(
      (await stack.answers(path)).map((line) => line.status),
      [404, 404],
      'the service answered both with 404 itself',
    )
  }
  t.equal(github.count('GET', 'kubernetes-v1.99.0'), 0, 'neither client was sent to GitHub')
  const asked = github.requests.filter((request) => request.path.includes('/nosuch/'))
  t.ok(
    asked.every((request) => request.headers['user-agent']?.startsWith('sysext-redirector')),
    'for the missing snapshot files only the service asked GitHub, never a client',
  )
})
