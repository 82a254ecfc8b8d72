import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { runCommand, USAGE } from '../src/cli.js'
import type { Env } from '../src/config/env.js'

async function run(
  argv: string[],
  env: Env = {},
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCommand(argv, env, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'

t.test('help and usage errors', async (t) => {
  for (const help of ['help', '--help', '-h'])
    t.same(await run([help]), { code: 0, out: USAGE, err: '' })
  const usage = (problem: string) => ({
    code: 2,
    out: '',
    err: `sysext-redirector: ${problem}\n\n${USAGE}`,
  })
  t.same(await run(['frobnicate']), usage('unknown command "frobnicate"'), 'the command named')
  t.same(await run([]), usage('no command given'))
  t.same(
    await run(['explain']),
    usage('explain takes one PATH, after --live if given'),
    'explain needs a path',
  )
  t.same(await run(['explain', '--live']), usage('explain takes one PATH, after --live if given'))
  t.same(await run(['check-table', 'a', 'b']), usage('check-table takes at most one FILE, not 2'))
})

t.test('check-table passes the built-in table', async (t) => {
  const res = await run(['check-table'])
  t.equal(res.code, 0)
  t.match(res.out, /tables\/flatcar\.yaml: 9 rules, \d+ examples, all pass$/)
})

t.test("check-table finds a fork's broken rule before its users do", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cli-'))
  const file = join(dir, 'fork.yaml')
  await writeFile(
    file,
    `rules:
  - name: conf
    path: /extensions/{name}.conf
    release: '{name}'
    asset: '{name}.transfer'
    examples:
      - path: /extensions/a.conf
        location: '{releases}/a/a.conf'
`,
  )
  const res = await run(['check-table', file])
  t.equal(res.code, 1)
  t.match(res.err, `sysext-redirector: ${file}: 1 example(s) fail:`)
  t.match(res.err, 'rule "conf": example /extensions/a.conf leads to')
  await writeFile(
    file,
    'rules:\n  - name: conf\n    path: /{x}\n    release: "{y}"\n    asset: a\n',
  )
  const invalid = await run(['check-table'], { PATTERN_TABLE: file })
  t.equal(invalid.code, 1, 'PATTERN_TABLE is the default file')
  t.equal(
    invalid.err,
    `sysext-redirector: ${file}: rule "conf": "release" uses {y}, which the path does not capture (SR_TABLE_INVALID)`,
  )
  // A missing file is named by the setting that named it, or as the file given.
  const missing = join(dirname(file), 'missing.yaml')
  t.equal(
    (await run(['check-table'], { PATTERN_TABLE: missing })).err,
    `sysext-redirector: PATTERN_TABLE=${missing} cannot be read: no such file (ENOENT) (SR_TABLE_UNREADABLE)`,
  )
  t.equal(
    (await run(['check-table', missing], { PATTERN_TABLE: file })).err,
    `sysext-redirector: the pattern table ${missing} cannot be read: no such file (ENOENT) (SR_TABLE_UNREADABLE)`,
  )
  t.equal(
    (await run(['explain', '/x'], { PATTERN_TABLE: missing })).err,
    `sysext-redirector: PATTERN_TABLE=${missing} cannot be read: no such file (ENOENT) (SR_TABLE_UNREADABLE)`,
  )
  const bad = await run(['check-table'], { BAKERY_REPO: 'nope' })
  t.equal(bad.code, 1)
  t.match(bad.err, 'BAKERY_REPO="nope" is not valid')
})

t.test('explain shows the rule, its captures and the Location', async (t) => {
  const res = await run([
    'explain',
    '/extensions/docker-compose/docker-compose-2.34.0-x86-64.raw?x=1',
  ])
  t.equal(res.code, 0)
  t.equal(
    res.out,
    [
      'path       /extensions/docker-compose/docker-compose-2.34.0-x86-64.raw (query "x=1")',
      'skipped    raw: does not fit /{prefix*}/extensions/{ext}-{version}-{arch:x86-64|arm64}.raw',
      'rule       raw-below-path  /{prefix*}/extensions/{sub*}/{ext}-{version}-{arch:x86-64|arm64}.raw',
      'captures   prefix="" sub="docker-compose" ext="docker-compose" version="2.34.0" arch="x86-64"',
      'release    docker-compose-2.34.0',
      'asset      docker-compose-2.34.0-x86-64.raw',
      'cache      versioned',
      `location   ${REL}/docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw`,
      'newest     /extensions/{sub}/{name}.raw: read as a stream if GitHub has no docker-compose-2.34.0-x86-64.raw',
      'layer      table',
      `needs      an existence check: HEAD ${REL}/docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw`,
      'answer     depends on it: run with --live to ask GitHub',
    ].join('\n'),
  )
})

t.test('explain says why nothing matched', async (t) => {
  const res = await run(['explain', '/extensions/kubernetes-v1.32.2-riscv64.raw'], {
    FALLBACK_URL: 'https://docs.example',
    MANIFEST_INDEX: 'false',
  })
  t.equal(res.code, 0)
  t.match(res.out, /^path {7}\/extensions\/kubernetes-v1\.32\.2-riscv64\.raw\n/)
  t.equal(res.out.match(/^skipped /gm)?.length, 9, 'every rule says why it passed')
  t.match(res.out, 'rule       none matched: the fallback takes it, path and query kept')
  t.match(res.out, 'location   https://docs.example/extensions/kubernetes-v1.32.2-riscv64.raw')
})

t.test('explain follows the environment and rejects bad paths', async (t) => {
  const fork = await run(['explain', '/extensions/SHA256SUMS'], { BAKERY_REPO: 'acme/bakery' })
  t.match(
    fork.out,
    'location   https://github.com/acme/bakery/releases/download/SHA256SUMS/SHA256SUMS',
  )
  const bad = await run(['explain', '/extensions/%zz'])
  t.same(bad, {
    code: 1,
    out: '',
    err: 'sysext-redirector: path has an invalid percent-encoding (SR_PATH_ENCODING)',
  })
})

t.test('explain --live with checks and the index off asks nobody', async (t) => {
  const res = await run(['explain', '--live', '/extensions/kubernetes-v1.32.2-x86-64.raw'], {
    UPSTREAM_CHECKS: 'false',
    MANIFEST_INDEX: 'false',
  })
  t.equal(res.code, 0)
  t.notMatch(res.out, /^asked/m)
  t.match(res.out, /^answer {5}302 Found\n {2}location {7}https:\/\/github\.com\//m)
  t.match(res.out, /^ {2}upstream {7}unchecked$/m)
  t.equal((await run(['explain', '--live'])).code, 2, 'a path is needed')
})

t.test('check-table counts the examples of a table with rules only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'table-'))
  const file = join(dir, 'rules-only.yaml')
  await writeFile(
    file,
    'rules:\n  - name: all\n    path: /{name}.raw\n    release: "{name}"\n    asset: "{name}.raw"\n    examples:\n      - path: /a.raw\n        location: "{releases}/a/a.raw"\n',
  )
  const res = await run(['check-table', file])
  t.equal(res.out, `${file}: 1 rules, 1 examples, all pass`)
})

t.test('explain says the source of a rule in a table of several', async (t) => {
  const tables = new URL('../tables/', import.meta.url).pathname
  const listed = await run(['explain', '/community/tailscale.conf'], {
    PATTERN_TABLE: join(tables, 'fedora-sysexts.yaml'),
  })
  t.match(listed.out, /^source {5}community$/m)
  t.match(
    listed.out,
    /^location {3}https:\/\/github\.com\/fedora-sysexts\/community\/releases\/download\/tailscale\/tailscale\.conf$/m,
  )
  const published = await run(['explain', '/extensions/tailscale.conf'], {
    PATTERN_TABLE: join(tables, 'fedora-sysexts-published.yaml'),
  })
  t.match(
    published.out,
    /^source {5}whichever publishes tailscale \(its global manifest lists it\); otherwise fedora$/m,
  )
  t.match(
    published.out,
    /\/fedora\/releases\/download\/tailscale\/tailscale\.conf \(in the otherwise source\)$/m,
  )
  t.match(
    published.out,
    /^needs {6}the global manifest of fedora, to see whether it publishes tailscale$/m,
  )
  const flatcar = await run(['explain', '/extensions/kubernetes.conf'])
  t.notMatch(flatcar.out, /^source /m, 'one source: not said')
  const refused = await run(['check-table'], {
    PATTERN_TABLE: join(tables, 'fedora-sysexts.yaml'),
    BAKERY_REPO: 'acme/fork',
  })
  t.equal(refused.code, 1)
  t.match(
    refused.err,
    'BAKERY_REPO replaces the repository of a table with one source; this table has 2 (fedora, community)',
  )
})

t.test('explain: the health checks are the service’s own answers, not the table’s', async (t) => {
  for (const live of [[], ['--live']]) {
    const healthz = await run(['explain', ...live, '/healthz'], { UPSTREAM_CHECKS: 'false' })
    t.equal(healthz.code, 0)
    t.equal(
      healthz.out,
      [
        'path       /healthz',
        'layer      service  the liveness check, answered before the table',
        'answer     200 OK',
        '  body           ok',
      ].join('\n'),
    )
    const readyz = await run(['explain', ...live, '/readyz?x=1'])
    t.match(readyz.out, 'layer      service  the readiness check, answered before the table')
    t.match(readyz.out, 'answer     200 OK\n  body           ready')
  }
  t.match((await run(['explain', '/healthz/x'])).out, 'layer      fallback', 'only the path itself')
})
