import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { chmod, cp, mkdir, mkdtemp, readdir, rename, rm, stat, symlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, posix, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import {
  copyOf,
  envOf,
  execForm,
  healthcheckOf,
  instructionsOf,
  lastOf,
  nodeFlagsOf,
  parseDockerfile,
  stageNamed,
  type Dockerfile,
  type Stage,
} from '../../deploy/tools/dockerfile.js'
import { cacheFileFor } from '../../src/boot/code-cache.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { CHILD_ARGS } from '../helpers/process.js'

/**
 * No Docker engine runs here, so this replays the Dockerfile's runtime stage:
 * every stage it copies from is rebuilt in a temporary folder by the stage's
 * own COPY and RUN lines (`npm ci` reuses the project's node_modules,
 * installed from the same lock file), the runtime stage's COPY lines lay out
 * the image, and its ENTRYPOINT + CMD run from there as the
 * image's USER (when we are root). Then /healthz, a redirect, the HEALTHCHECK
 * and the STOPSIGNAL are tried against it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const runtime = dockerfile.stages.at(-1) as Stage

// The build and its warm-up run take seconds on a busy machine; the default is 30 s.
t.setTimeout(180_000)

/** A child process environment without tap's loader and coverage hooks. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME
  return { ...env, ...extra }
}

async function run(command: string, cwd: string): Promise<void> {
  const child = spawn('/bin/sh', ['-c', command], { cwd, env: cleanEnv({}), stdio: 'pipe' })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`\`${command}\` in ${cwd} failed (${code}):\n${output}`)
}

/** How one RUN line of a stage is replayed here; anything else is refused. */
async function replayRun(stage: Stage, command: string, dir: string): Promise<void> {
  if (/^npm ci\b/.test(command)) {
    // The full install is the one the project's own `npm ci` already made.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  } else if (/^npm run [\w:-]+$/.test(command)) {
    // What `npm run` does, without npm's own second of start-up and without
    // the type check that opens the build script (`npm run typecheck` checks
    // the same sources in CI): the rest, the bundle and its warm-up, runs.
    const scripts = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts
    const script = String(scripts[command.slice(8)]).replace(/^tsc\b[^&]*&&\s*/, '')
    await run(`PATH="$PWD/node_modules/.bin:$PATH" ${script}`, dir)
  } else {
    throw new Error(`stage ${stage.name}: no replay for RUN ${command}`)
  }
}

const CODE_CACHE = new URL('../../src/boot/code-cache.ts', import.meta.url).href

/** What a fresh node with these flags makes of a code cache for the bundle (without running it). */
async function cacheState(
  bundle: string,
  cache: string,
  flags: readonly string[],
): Promise<string> {
  const script = `const { compileWithCodeCache } = await import(${JSON.stringify(CODE_CACHE)})
console.log(compileWithCodeCache(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}).state)`
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...flags, ...CHILD_ARGS, '--input-type=module', '-e', script],
    { env: cleanEnv({}) },
  )
  return stdout.trim()
}

interface Built {
  readonly dir: string
  readonly workdir: string
}

/** Maps a path inside a replayed stage (absolute, or relative to WORKDIR) to the host. */
function hostPath(built: Built, path: string): string {
  const inside = posix.resolve(built.workdir, path)
  const rest = posix.relative(built.workdir, inside)
  if (rest.startsWith('..')) throw new Error(`${path} is outside WORKDIR ${built.workdir}`)
  return join(built.dir, rest)
}

async function replayStage(
  file: Dockerfile,
  stage: Stage,
  scratch: string,
  built: Map<string, Promise<Built>>,
): Promise<Built> {
  const dir = await mkdtemp(join(scratch, `${stage.name ?? 'stage'}-`))
  await chmod(dir, 0o755)
  const self: Built = { dir, workdir: lastOf(stage, 'WORKDIR')?.args ?? '/' }
  for (const instruction of stage.instructions) {
    if (instruction.keyword === 'RUN') await replayRun(stage, instruction.args, dir)
    if (instruction.keyword !== 'COPY') continue
    const copy = copyOf(instruction)
    const from =
      copy.from === undefined
        ? { dir: ROOT, workdir: '/' }
        : await buildOnce(file, stageNamed(file, copy.from), scratch, built)
    const dest = hostPath(self, copy.dest)
    const intoDir = copy.dest.endsWith('/') || copy.dest === '.' || copy.sources.length > 1
    for (const source of copy.sources) {
      const src = hostPath(from, source)
      const target = intoDir && !(await stat(src)).isDirectory() ? join(dest, basename(src)) : dest
      // A replayed stage is scratch: its output is moved, not copied (seconds for node_modules).
      if (copy.from === undefined) await cp(src, target, { recursive: true })
      else await mkdir(dirname(target), { recursive: true }).then(() => rename(src, target))
    }
  }
  return self
}

function buildOnce(
  file: Dockerfile,
  stage: Stage,
  scratch: string,
  built: Map<string, Promise<Built>>,
): Promise<Built> {
  const key = stage.name as string
  if (!built.has(key)) built.set(key, replayStage(file, stage, scratch, built))
  return built.get(key) as Promise<Built>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Waits until /readyz answers 200, or fails with the output if the process dies. */
async function ready(url: string, child: ChildProcess, output: () => string): Promise<void> {
  // Generous: a loaded CI machine starts node slowly; a healthy one takes ~1 s.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`)
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not ready after 30 s:\n${output()}`)
}

t.test('the runtime stage, replayed without Docker, serves and stops cleanly', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'sysext-redirector-image-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  await chmod(scratch, 0o755)

  // Stages the runtime copies from are built first, side by side.
  const built = new Map<string, Promise<Built>>()
  const froms = instructionsOf(runtime, 'COPY').flatMap((i) => copyOf(i).from ?? [])
  await Promise.all(
    froms.map((name) => buildOnce(dockerfile, stageNamed(dockerfile, name), scratch, built)),
  )
  const image = await replayStage(dockerfile, runtime, scratch, built)

  t.strictSame(
    (await readdir(image.dir)).sort(),
    ['dist', 'tables'],
    'the image holds the build and the table, and no node_modules',
  )
  const bundle = join(image.dir, 'dist/lib/sysext-redirector.cjs')
  const flags = nodeFlagsOf(runtime)
  const cacheFile = cacheFileFor(bundle, process.version, flags)
  t.strictSame(
    (await readdir(join(image.dir, 'dist'), { recursive: true })).sort(),
    [
      'THIRD-PARTY-LICENSES.txt',
      'lib',
      'lib/parsed-tables.json',
      'lib/sysext-redirector.cjs',
      `lib/${basename(cacheFile)}`,
      'lib/sysext-redirector.cjs.map',
      'main.js',
      'package.json',
    ].sort(),
    'the entry, the bundle with its code cache and source map, the parsed tables, the licences',
  )
  const licences = readFileSync(join(image.dir, 'dist/THIRD-PARTY-LICENSES.txt'), 'utf8')
  for (const name of ['fastify', 'undici', 'pino', 'prom-client', 'yaml', 'lru-cache']) {
    t.match(licences, new RegExp(`^${name}@\\d+\\.\\d+\\.\\d+ \\(`, 'm'), `${name}'s licence`)
  }

  // The build's warm-up made the cache under the ENTRYPOINT's flags; a node
  // started with them uses it, one started without refuses it.
  t.equal(await cacheState(bundle, cacheFile, flags), 'accepted', 'the code cache fits')
  t.equal(await cacheState(bundle, cacheFile, []), 'rejected', 'and only under those flags')

  const entrypoint = execForm(lastOf(runtime, 'ENTRYPOINT')?.args ?? '[]') as string[]
  const cmd = execForm(lastOf(runtime, 'CMD')?.args ?? '[]') as string[]
  const command = [...entrypoint, ...cmd]
  t.equal(command[0], 'node', 'node runs directly, in exec form, so it gets the signals')

  const fake = await startFakeGitHub({
    assets: { 'kubernetes-v1.32.2': { 'kubernetes-v1.32.2-x86-64.raw': 'image bytes' } },
  })
  t.teardown(() => fake.close())
  const port = await freePort()
  const env = cleanEnv({
    ...envOf(runtime),
    PORT: String(port),
    HOST: '127.0.0.1',
    GITHUB_URL: fake.url,
    // Once the metrics listener exists, keep it off the default 9091 of other tests.
    METRICS_PORT: String(await freePort()),
  })
  // As root we can be the image's USER: proves nothing needs root or a writable file.
  const [uid, gid] = (lastOf(runtime, 'USER')?.args ?? '').split(':').map(Number)
  const asUser = process.getuid?.() === 0 && uid !== undefined ? { uid, gid: gid ?? uid } : {}
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: hostPath(image, '.'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser,
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${port}`
  await ready(url, child, () => output)

  const health = await fetch(`${url}/healthz`)
  t.equal(health.status, 200, '/healthz answers')
  const path = '/extensions/kubernetes-v1.32.2-x86-64.raw'
  const redirect = await fetch(`${url}${path}`, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  const location = redirect.headers.get('location') as string
  t.equal(
    location,
    `${fake.url}/flatcar/sysext-bakery/releases/download/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`,
  )
  t.equal(await (await fetch(location)).text(), 'image bytes', 'the redirect leads to the bytes')

  const healthcheck = healthcheckOf(runtime) as string[]
  const probe = spawn(healthcheck[0] as string, healthcheck.slice(1), { env, stdio: 'ignore' })
  t.equal((await once(probe, 'exit'))[0], 0, 'the HEALTHCHECK command passes')

  const signal = lastOf(runtime, 'STOPSIGNAL')?.args as NodeJS.Signals
  child.kill(signal)
  const [code] = await exited
  t.equal(code, 0, `${signal} stops it cleanly`)
  t.match(output, /"msg":"stopped"/)
  t.notMatch(output, /"level":[56]0/, 'no error was logged')
  t.comment(`image laid out in ${relative(tmpdir(), image.dir)}`)
})

t.test('the image puts tables/ where the compiled code looks for it', (t) => {
  // src/config/table-file.ts resolves the built-in table as ../../tables from dist/table/.
  const workdir = lastOf(runtime, 'WORKDIR')?.args as string
  const copies = instructionsOf(runtime, 'COPY').map(copyOf)
  const dests = copies.map((copy) => posix.resolve(workdir, copy.dest))
  t.ok(dests.includes(posix.join(workdir, 'dist')), 'dist/ under WORKDIR')
  t.ok(dests.includes(posix.join(workdir, 'tables')), 'tables/ beside dist/')
  t.end()
})
