import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import {
  butaneToIgnition,
  convertFile,
  dataUrl,
  filesDirReader,
  main,
} from '../../deploy/flatcar/butane-to-ignition.js'
import { checkServiceEnv } from '../../deploy/tools/service-env.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIR = join(ROOT, 'deploy/flatcar')
const BUTANE = join(DIR, 'sysext-redirector.bu')
const IGNITION = join(DIR, 'sysext-redirector.ign')
const CONVERTER = join(DIR, 'butane-to-ignition.ts')

interface IgnitionFile {
  path: string
  contents?: { source: string }
}
interface Ignition {
  storage: { files: IgnitionFile[]; directories: { path: string; user?: { id?: number } }[] }
  systemd: { units: { name: string; enabled?: boolean; contents: string }[] }
}
const ignition = JSON.parse(readFileSync(IGNITION, 'utf8')) as Ignition

/** The bytes of a `data:` URL. */
function decode(source: string): string {
  const comma = source.indexOf(',')
  const body = source.slice(comma + 1)
  return source.slice(0, comma).endsWith(';base64')
    ? Buffer.from(body, 'base64').toString('utf8')
    : decodeURIComponent(body)
}

function fileAt(path: string): string {
  const file = ignition.storage.files.find((f) => f.path === path)
  if (file?.contents === undefined) throw new Error(`the config writes no ${path}`)
  return decode(file.contents.source)
}

/** `docker run --env-file` syntax: KEY=value lines, # comments, no quoting. */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue
    const equals = line.indexOf('=')
    env[line.slice(0, equals)] = line.slice(equals + 1)
  }
  return env
}

function unit(name: string): string {
  const found = ignition.systemd.units.find((u) => u.name === name)
  if (found === undefined) throw new Error(`no unit ${name}`)
  return found.contents
}

t.test('the Ignition config is what the Butane config generates (in sync)', async (t) => {
  // Exactly the command the .bu file prints, under this test's loader.
  const child = spawn(process.execPath, [...process.execArgv, CONVERTER, BUTANE], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  t.equal((await once(child, 'exit'))[0], 0)
  t.equal(
    out,
    readFileSync(IGNITION, 'utf8'),
    'regenerate: node --import tsx deploy/flatcar/butane-to-ignition.ts deploy/flatcar/sysext-redirector.bu > deploy/flatcar/sysext-redirector.ign',
  )
  for (const local of ['redirector.env', 'caddy.env', 'Caddyfile']) {
    t.equal(
      fileAt(`/etc/sysext-redirector/${local}`),
      readFileSync(join(DIR, 'files', local), 'utf8'),
      `${local} is carried byte for byte`,
    )
  }
})

t.test("ignition-validate (Debian's ignition package) accepts it", async (t) => {
  const validator = '/usr/bin/ignition-validate'
  t.ok(existsSync(validator), `${validator} is installed (scripts/test.sh installs ignition)`)
  const { stdout, stderr } = await run(validator, [IGNITION])
  t.equal(stdout + stderr, '', 'no warnings')
})

t.test('the redirector runs with valid settings, reachable only through Caddy', async (t) => {
  const env = envFile(fileAt('/etc/sysext-redirector/redirector.env'))
  const { config, unread } = checkServiceEnv(env)
  t.strictSame(unread, [], 'every variable is one the service reads')
  t.equal(config.host, '127.0.0.1', 'the service listens on loopback only')
  t.equal(config.metrics.host, '127.0.0.1', 'so do the metrics')
  t.equal(config.protection.trustProxy, 'fly', 'the client comes from the header Caddy sets')

  const service = unit('sysext-redirector.service')
  t.match(service, /--network host/, 'its 127.0.0.1 is the host loopback Caddy dials')
  t.match(service, /--env-file \/etc\/sysext-redirector\/redirector\.env/)
  t.match(service, /--user 1000:1000 --read-only/)
  const stop = /docker stop --time (\d+) sysext-redirector/.exec(service)
  t.ok(
    Number(stop?.[1]) * 1000 > config.shutdownTimeoutMs,
    'docker stop waits out SHUTDOWN_TIMEOUT',
  )
  const stopUnit = /TimeoutStopSec=(\d+)s/.exec(service)
  t.ok(Number(stopUnit?.[1]) > Number(stop?.[1]), 'and systemd waits for docker stop')
  for (const name of ['sysext-redirector.service', 'caddy.service']) {
    t.equal(ignition.systemd.units.find((u) => u.name === name)?.enabled, true, `${name} enabled`)
  }
})

t.test('Caddy terminates TLS and proxies every request to the redirector', async (t) => {
  const { config } = checkServiceEnv(envFile(fileAt('/etc/sysext-redirector/redirector.env')))
  const site = envFile(fileAt('/etc/sysext-redirector/caddy.env')).SITE_ADDRESS as string
  t.match(site, /^[a-z0-9.-]+\.[a-z]+$/, 'a host name, so Caddy gets a certificate for it')
  const home = t.testdir({})
  // caddy adapt --validate parses, provisions and checks the config without serving.
  const { stdout } = await run(
    'caddy',
    ['adapt', '--validate', '--adapter', 'caddyfile', '--config', join(DIR, 'files/Caddyfile')],
    {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_DATA_HOME: home,
        XDG_CONFIG_HOME: home,
        SITE_ADDRESS: site,
      },
    },
  ).catch((err: Error) => {
    throw new Error(`caddy (Debian's caddy package, scripts/test.sh installs it): ${err.message}`)
  })
  const adapted = JSON.parse(stdout)
  const [server] = Object.values(adapted.apps.http.servers) as {
    routes: { match: { host: string[] }[]; handle: { routes: { handle: unknown[] }[] }[] }[]
  }[]
  const routes = server?.routes ?? []
  t.equal(routes.length, 1, 'one site, nothing else')
  t.strictSame(routes[0]?.match, [{ host: [site] }])
  t.strictSame(routes[0]?.handle[0]?.routes, [
    {
      handle: [
        {
          handler: 'reverse_proxy',
          headers: { request: { set: { 'Fly-Client-Ip': ['{http.request.remote.host}'] } } },
          upstreams: [{ dial: `${config.host}:${config.port}` }],
        },
      ],
    },
  ])
  t.equal(adapted.admin?.disabled, true, 'no admin API')

  const caddy = unit('caddy.service')
  for (const match of caddy.matchAll(/--(?:volume|env-file) (\/[^:\s]+)/g)) {
    const path = match[1] as string
    const written =
      ignition.storage.files.some((f) => f.path === path) ||
      ignition.storage.directories.some((d) => d.path === path)
    t.ok(written, `${path}, which caddy.service mounts, is written by the config`)
  }
  t.match(caddy, /--user 1001:1001/)
  for (const dir of ignition.storage.directories.filter((d) =>
    d.path.startsWith('/var/lib/caddy'),
  )) {
    t.equal(dir.user?.id, 1001, `${dir.path} belongs to Caddy's user`)
  }
})

t.test('converter: data URLs as Butane escapes them, base64 when shorter', async (t) => {
  t.equal(dataUrl(Buffer.from('A=b&c:d@e+f$g~h.i_j-k')), 'data:,A=b&c:d@e+f$g~h.i_j-k')
  t.equal(dataUrl(Buffer.from('a b/c?\n')), 'data:,a%20b%2Fc%3F%0A')
  t.equal(
    dataUrl(Buffer.from(' '.repeat(12))),
    'data:;base64,ICAgICAgICAgICAg',
    'base64 when shorter',
  )
  t.equal(dataUrl(Buffer.alloc(0)), 'data:,')
})

t.test('converter: translates the fields it knows and names those it does not', async (t) => {
  const local = (path: string): Buffer => Buffer.from(`<${path}>`)
  const out = butaneToIgnition(
    {
      variant: 'flatcar',
      version: '1.0.0',
      passwd: {
        users: [{ name: 'a', ssh_authorized_keys: ['k'], home_dir: '/h', no_create_home: true }],
        groups: [{ name: 'g', gid: 7 }],
      },
      storage: {
        files: [{ path: '/f', contents: { local: 'x' } }],
        links: [{ path: '/l', target: '/f', hard: false }],
      },
      systemd: {
        units: [{ name: 'u.service', mask: true, dropins: [{ name: 'd.conf', contents: 'x' }] }],
      },
    },
    local,
  )
  t.strictSame(out, {
    ignition: { version: '3.3.0' },
    passwd: {
      users: [{ name: 'a', sshAuthorizedKeys: ['k'], homeDir: '/h', noCreateHome: true }],
      groups: [{ name: 'g', gid: 7 }],
    },
    storage: {
      files: [{ path: '/f', contents: { source: 'data:,%3Cx%3E' } }],
      links: [{ path: '/l', target: '/f', hard: false }],
    },
    systemd: {
      units: [{ name: 'u.service', mask: true, dropins: [{ name: 'd.conf', contents: 'x' }] }],
    },
  })
  const base = { variant: 'flatcar', version: '1.0.0' }
  const refuses = (doc: unknown, message: RegExp): void => {
    t.throws(() => butaneToIgnition(doc, local), message)
  }
  refuses([], /^config: expected a mapping/)
  refuses(
    { variant: 'fcos', version: '1.5.0' },
    /only flatcar 1\.0\.0 or fcos 1\.4\.0 is supported/,
  )
  refuses({ variant: 'flatcar', version: '1.4.0' }, /\(got flatcar 1\.4\.0\)/)
  t.same(
    butaneToIgnition({ variant: 'fcos', version: '1.4.0' }, local),
    { ignition: { version: '3.3.0' } },
    'fcos 1.4.0 gives the same spec',
  )
  refuses({ ...base, kernel_arguments: {} }, /kernel_arguments: not supported/)
  refuses({ ...base, storage: { trees: [] } }, /storage\.trees: not supported/)
  refuses(
    { ...base, storage: { files: [{ path: '/f', append: [] }] } },
    /storage\.files\[0\]\.append: not supported/,
  )
  refuses(
    { ...base, storage: { files: [{ path: ['/f'] }] } },
    /storage\.files\[0\]\.path: expected a single value/,
  )
  refuses({ ...base, storage: { files: [{ path: { a: 1 } }] } }, /path: expected a single value/)
  refuses({ ...base, storage: 'x' }, /storage: expected a mapping/)
  refuses({ ...base, storage: { files: {} } }, /storage\.files: expected a list/)
  refuses({ ...base, storage: { files: ['x'] } }, /storage\.files\[0\]: expected a mapping/)
  refuses(
    { ...base, passwd: { users: [{ ssh_authorized_keys: 'k' }] } },
    /ssh_authorized_keys: expected a list of values/,
  )
  refuses(
    { ...base, passwd: { users: [{ groups: [['a']] }] } },
    /groups: expected a list of values/,
  )
  refuses({ ...base, passwd: { users: [{ groups: [{}] }] } }, /groups: expected a list of values/)
  const file = (contents: unknown) => ({ ...base, storage: { files: [{ path: '/f', contents }] } })
  refuses(file('x'), /contents: expected a mapping/)
  refuses(file({ inline: 'a', local: 'b' }), /contents: expected exactly one of inline or local/)
  refuses(file({ inline: 3 }), /contents\.inline: only inline or local/)
  // A URL Ignition fetches, as the directory's snippets give it (issue 30).
  const remote = (contents: unknown) =>
    (butaneToIgnition(file(contents), local) as { storage: { files: [{ contents: unknown }] } })
      .storage.files[0].contents
  t.strictSame(remote({ source: 'https://x/a.raw' }), { source: 'https://x/a.raw' })
  const hash = `sha256-${'ab'.repeat(32)}`
  t.strictSame(remote({ source: 'https://x/a.raw', verification: { hash } }), {
    source: 'https://x/a.raw',
    verification: { hash },
  })
  refuses(file({ source: 3 }), /contents\.source: expected a URL/)
  refuses(
    file({ source: 'https://x', inline: 'a' }),
    /contents\.inline: not supported beside source/,
  )
  refuses(file({ source: 'https://x', verification: 'h' }), /verification: expected hash alone/)
  refuses(
    file({ source: 'https://x', verification: { hash, size: 1 } }),
    /verification: expected hash alone/,
  )
  refuses(
    file({ source: 'https://x', verification: { hash: 'md5-00' } }),
    /verification\.hash: expected sha256-HEX or sha512-HEX/,
  )
  refuses({ ...base, toString: 1, constructor: 1 }, /toString: not supported/)
})

t.test('converter: local files stay below the files directory', async (t) => {
  const dir = t.testdir({ files: { 'a.txt': 'hello\n' }, 'c.bu': 'x' })
  const read = filesDirReader(dir)
  t.equal(read('files/a.txt').toString(), 'hello\n')
  t.throws(() => read('../c.bu'), /local \.\.\/c\.bu: must be a relative path below/)
  t.throws(() => read(join(dir, 'files/a.txt')), /must be a relative path below/)
  t.throws(() => read('files/../../x'), /must be a relative path below/)
})

t.test('converter: command line', async (t) => {
  const dir = t.testdir({
    'c.bu':
      'variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /x\n      mode: 0600\n      contents:\n        local: x.txt\n',
    other: { 'x.txt': 'y' },
  })
  const printed: string[] = []
  const stderr = process.stderr.write
  let errors = ''
  process.stderr.write = ((text: string) => ((errors += text), true)) as typeof process.stderr.write
  t.teardown(() => {
    process.stderr.write = stderr
  })
  t.equal(
    main([join(dir, 'c.bu'), '--files-dir', join(dir, 'other')], (text) => printed.push(text)),
    0,
  )
  t.equal(
    printed[0],
    `${JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/x', mode: 384, contents: { source: 'data:,y' } }] } }, null, 2)}\n`,
    'mode 0600 read as octal, local read below --files-dir',
  )
  t.equal(
    main([], () => {}),
    2,
  )
  t.equal(
    main(['a.bu', '--files'], () => {}),
    2,
  )
  t.equal(
    main(['a.bu', '--files-dir'], () => {}),
    2,
  )
  t.equal(
    main(['a.bu', '--files-dir', 'd', 'extra'], () => {}),
    2,
  )
  t.match(errors, /^usage: butane-to-ignition FILE\.bu \[--files-dir DIR\]\n/)
  t.throws(
    () => convertFile(join(dir, 'c.bu')),
    /local x\.txt|ENOENT/,
    'default files dir is the .bu folder',
  )
})
