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
  ci*) mkdir -p node_modules ;;
  "run build") mkdir -p dist && echo 'console.log("node " + process.version + " " + process.execArgv.join(" "))' > dist/main.js ;;
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
    const serve = (): { npm: string[]; out: string } => {
      writeFileSync(calls, '')
      const run = spawnSync('bash', [join(dir, 'scripts/serve.sh')], {
        env: {
          ...process.env,
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
      ['npm ci --no-audit --no-fund', 'npm run build'],
      'first start: install and build',
    )
    t.match(
      first.out,
      /^node v24\.\d+\.\d+ --max-semi-space-size=4 --optimize-for-size$/m,
      'Node.js 24, the image’s flags',
    )
    t.same(serve().npm, [], 'a restart: neither, so no registry needed')

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
      ['npm ci --no-audit --no-fund', 'npm run build'],
      'the lock file changed: both',
    )
    rmSync(join(dir, 'dist'), { recursive: true })
    t.same(serve().npm, ['npm run build'], 'dist/ gone: built again')
  },
)
