import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runCommand } from '../../src/cli.js'
import type { Env } from '../../src/config/env.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { ONLINE, startBakery } from '../helpers/bakery.js'
import { makeSigningKey } from '../helpers/signing-key.js'
import type { FakeGitHub } from '../helpers/fake-github.js'
import { singleSource } from '../../src/table/resolve.js'

/**
 * `explain --live` runs the service's own decision (src/decision/), asking
 * GitHub as the service does: for every example of the table, every
 * newest-version form and every directory page, it must print exactly the
 * answer the running service gives (status, Location, Cache-Control,
 * Retry-After, body), against the same fake GitHub.
 */

interface Said {
  status: number
  location: string | undefined
  cacheControl: string | undefined
  retryAfter: string | undefined
  body: string | undefined
  /** A snapshot file's validator: its bytes are compared by it. */
  etag: string | undefined
}

async function explained(path: string, env: Env): Promise<Said> {
  const out: string[] = []
  const code = await runCommand(['explain', '--live', path], env, {
    out: (line) => out.push(...line.split('\n')),
    err: (line) => out.push(line),
  })
  if (code !== 0) throw new Error(`explain ${path}: ${out.join('\n')}`)
  const field = (name: string): string | undefined =>
    out.find((line) => line.startsWith(`  ${name.padEnd(14)} `))?.slice(17)
  const status = /^answer {5}(\d{3}) /.exec(out.find((line) => line.startsWith('answer ')) ?? '')
  return {
    status: Number(status?.[1]),
    location: field('location'),
    cacheControl: field('cache-control'),
    retryAfter: field('retry-after'),
    body: field('body'),
    etag: field('etag'),
  }
}

/** The paths to compare: the table's examples, newest forms and directory pages. */
async function paths(): Promise<string[]> {
  const table = await loadTable(DEFAULT_TABLE_FILE, singleSource('', ''))
  return [
    ...table.rules.flatMap((rule) => rule.examples.map((example) => example.path)),
    ...table.unmatched.map((example) => example.path),
    ...(table.newest?.examples.map((example) => example.path) ?? []),
    ...table.directories.flatMap((form) => form.examples),
    // Newest forms: each answer kind, at the top and below the extension's path.
    '/extensions/docker-compose-arm64.raw',
    '/extensions/k3s-v1.31-x86-64.raw',
    '/extensions/wasmtime.raw',
    '/extensions/kubernetes-v9-arm64.raw',
    '/extensions/kubernetes/kubernetes-v9-arm64.raw',
    '/extensions/nosuch.raw',
    '/extensions/nosuch/nosuch.raw',
    '/extensions/kubernetes-v1.32.2-riscv64.raw',
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
    // Directory pages, found and not.
    '/extensions/nosuch/',
    '/extensions/wasmtime/',
  ]
}

async function compare(
  t: Test,
  env: Env,
  note: string,
  prepare: (github: FakeGitHub) => void = () => undefined,
): Promise<void> {
  const { github, app } = await startBakery(t, env)
  prepare(github)
  const fullEnv = { ...ONLINE, GITHUB_URL: github.url, LOG_LEVEL: 'silent', ...env }
  for (const path of await paths()) {
    const said = await explained(path, fullEnv)
    const res = await app.inject(path)
    const etag = res.headers.etag
    const body =
      etag === undefined && res.headers['content-type']?.toString().startsWith('text/plain')
        ? res.body.replace(/\n$/, '')
        : undefined
    t.same(
      said,
      {
        status: res.statusCode,
        location: res.headers.location,
        cacheControl: res.headers['cache-control'],
        retryAfter: res.headers['retry-after'],
        body,
        etag,
      },
      `${note}: ${path}`,
    )
  }
  t.ok(github.count('HEAD') > 0, 'GitHub was asked')
}

t.test('explain --live prints the answer the service gives', async (t) => {
  await compare(t, {}, 'GitHub up')
})

t.test('the same when GitHub fails, open and closed', async (t) => {
  for (const mode of ['open', 'closed']) {
    await compare(t, { UPSTREAM_FAIL_MODE: mode }, `GitHub failing, fail ${mode}`, (github) =>
      github.fault({ kind: 'status', status: 502 }),
    )
  }
})

t.test('the same when only the manifests fail', async (t) => {
  await compare(t, {}, 'manifests failing', (github) =>
    github.fault({ kind: 'status', status: 500 }, (path) => path.endsWith('/SHA256SUMS')),
  )
})

t.test('the same with signing keys: what no signature covers is not served', async (t) => {
  const key = await makeSigningKey()
  const dir = await mkdtemp(join(tmpdir(), 'sr-explain-keys-'))
  t.teardown(async () => {
    await key.dispose()
    await rm(dir, { recursive: true, force: true })
  })
  const keys = join(dir, 'bakery.gpg')
  await writeFile(keys, key.publicKey)
  // The bakery's manifests are unsigned: the service holds nothing to serve, and says 503.
  await compare(t, { SIGNING_KEYS: keys }, 'with keys')
})
