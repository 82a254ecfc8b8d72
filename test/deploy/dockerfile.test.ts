import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  copyOf,
  envOf,
  execForm,
  expandArgs,
  healthcheckOf,
  instructionsOf,
  lastOf,
  imageNodeFlags,
  nodeFlagsOf,
  parseDockerfile,
  stageNamed,
  type Stage,
} from '../../deploy/tools/dockerfile.js'
import { parseConfig } from '../../src/config/service.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const runtime = dockerfile.stages.at(-1) as Stage

t.test('the Dockerfile is multi-stage and ships Node 24 LTS, slim or distroless', async (t) => {
  t.ok(dockerfile.stages.length >= 2, 'more than one stage')
  for (const stage of dockerfile.stages) {
    t.match(
      expandArgs(dockerfile, stage.base),
      /^(node:24(\.\d+)*-(bookworm|trixie)-slim|gcr\.io\/distroless\/nodejs24-debian\d+(:\S+)?)$/,
      `stage ${stage.name} is on Node 24`,
    )
  }
  const build = instructionsOf(dockerfile.stages[0] as Stage, 'RUN').map((i) => i.args)
  t.ok(build.includes('npm run build'), 'the first stage compiles')
  t.notOk(instructionsOf(runtime, 'RUN').length, 'the runtime stage runs nothing at build time')
})

t.test('the runtime runs node as a non-root user and stops on SIGTERM', async (t) => {
  const user = lastOf(runtime, 'USER')?.args ?? 'root'
  t.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user, so runAsNonRoot can check it')
  const command = [
    ...(execForm(lastOf(runtime, 'ENTRYPOINT')?.args ?? '[]') ?? ['(shell form)']),
    ...(execForm(lastOf(runtime, 'CMD')?.args ?? '[]') ?? ['(shell form)']),
  ]
  t.equal(command[0], 'node', 'node runs directly')
  t.strictSame(command.slice(1 + nodeFlagsOf(runtime).length, 2 + nodeFlagsOf(runtime).length), [
    'dist/main.js',
  ])
  t.notOk(command.includes('npm'), 'no npm in the command')
  // src/main.ts handles SIGTERM and SIGINT; SIGTERM is what platforms send.
  t.equal(lastOf(runtime, 'STOPSIGNAL')?.args, 'SIGTERM')
  t.match(readFileSync(join(ROOT, 'src/main.ts'), 'utf8'), /process\.once\('SIGTERM', stop\)/)
  const exposed = lastOf(runtime, 'EXPOSE')?.args.split(/\s+/).map(Number) ?? []
  t.ok(exposed.includes(parseConfig({}).port), 'EXPOSE names the default PORT')
  t.equal(healthcheckOf(runtime)?.[0], 'node', 'the HEALTHCHECK uses node, which the image has')
})

/** Docker's .dockerignore rules: last match wins, a match on a parent counts. */
function ignored(patterns: readonly string[], path: string): boolean {
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))
  let result = false
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/+$/, '')
    const source = pattern
      .split('/')
      .map((part) =>
        part === '**'
          ? '.*'
          : part
              .replace(/[.+^$()|[\]{}\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
    const regex = new RegExp(`^${source}$`)
    if (parents.some((parent) => regex.test(parent))) result = !negated
  }
  return result
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const path = prefix === '' ? name : `${prefix}/${name}`
    return statSync(join(dir, path)).isDirectory() ? walk(dir, path) : [path]
  })
}

t.test('.dockerignore lets in what the Dockerfile copies and keeps the rest out', async (t) => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const sources = dockerfile.stages.flatMap((stage) =>
    instructionsOf(stage, 'COPY')
      .map(copyOf)
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources),
  )
  t.ok(sources.length > 0)
  for (const source of sources) {
    const files = statSync(join(ROOT, source)).isDirectory() ? walk(ROOT, source) : [source]
    const left = files.filter((file) => ignored(patterns, file))
    t.strictSame(left, [], `everything in ${source} is in the context`)
  }
  for (const path of ['node_modules/fastify/package.json', '.git/HEAD', 'test/deploy/x.ts']) {
    t.ok(ignored(patterns, path), `${path} stays out`)
  }
  for (const path of [
    'dist/main.js',
    '.tap/x',
    'docs/deploy.md',
    'deploy/flatcar/x',
    'README.md',
  ]) {
    t.ok(ignored(patterns, path), `${path} stays out`)
  }
})

t.test('parser: continuations, comments, flags and forms', async (t) => {
  const file = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      'ARG BASE=node:24-bookworm-slim',
      'ARG QUOTED="x"',
      '',
      'FROM ${BASE} AS one',
      'ENV A=1 B="two words" C=\'3\'',
      'ENV LEGACY some value',
      'RUN echo a \\',
      '  # a comment inside the continuation',
      '  && echo b',
      'COPY --from=zero --chown=1:1 ["a b", "c", "/dest/"]',
      'HEALTHCHECK --interval=5s CMD curl -f http://x/',
      'FROM $BASE',
      'HEALTHCHECK NONE',
      'CMD node x.js',
    ].join('\r\n'),
  )
  t.equal(file.globalArgs.length, 2)
  t.equal(
    expandArgs(file, '${BASE}+$BASE+${QUOTED}+${UNKNOWN}'),
    'node:24-bookworm-slim+node:24-bookworm-slim+x+${UNKNOWN}',
  )
  const [one, two] = file.stages as [Stage, Stage]
  t.equal(one.name, 'one')
  t.equal(two.name, undefined)
  t.equal(stageNamed(file, 'one'), one)
  t.throws(() => stageNamed(file, 'zero'), /no stage named zero/)
  t.strictSame(envOf(one), { A: '1', B: 'two words', C: '3', LEGACY: 'some value' })
  const run = lastOf(one, 'RUN')
  t.equal(run?.args, 'echo a && echo b')
  t.equal(run?.line, 8)
  const copy = lastOf(one, 'COPY')
  t.strictSame(copy?.flags, { from: 'zero', chown: '1:1' })
  t.strictSame(copyOf(copy as never), { from: 'zero', sources: ['a b', 'c'], dest: '/dest/' })
  t.strictSame(healthcheckOf(one), ['/bin/sh', '-c', 'curl -f http://x/'])
  t.equal(healthcheckOf(two), undefined, 'HEALTHCHECK NONE')
  t.equal(healthcheckOf({ name: 'x', base: 'y', instructions: [] }), undefined, 'no HEALTHCHECK')
  t.equal(execForm(lastOf(two, 'CMD')?.args as string), undefined, 'shell form')
  t.equal(execForm('[not json'), undefined)
  t.equal(execForm('[1, 2]'), undefined, 'not strings')
  t.strictSame(execForm('["node", "x.js"]'), ['node', 'x.js'])
})

t.test('parser: what it refuses', async (t) => {
  t.throws(() => parseDockerfile('FROM'), /line 1: cannot read FROM/)
  t.throws(() => parseDockerfile('RUN x\nFROM y'), /line 1: RUN before the first FROM/)
  t.throws(() => parseDockerfile('FROM x\nRUN a \\'), /line 2: the file ends inside a continuation/)
  const [stage] = parseDockerfile('FROM x\nCOPY onlyone').stages as [Stage]
  t.throws(() => copyOf(lastOf(stage, 'COPY') as never), /line 2: COPY needs a source and a dest/)
})

t.test('the run script, npm start and the image run node with the same flags', async (t) => {
  const flags = nodeFlagsOf(runtime)
  t.ok(flags.includes('--max-semi-space-size=4'), 'the young generation kept small')
  t.strictSame(
    imageNodeFlags(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')),
    flags,
    'what the build and the benchmark read: the last stage',
  )
  const expected = ['node', ...flags, 'dist/main.js'].join(' ')
  const serve = readFileSync(join(ROOT, 'scripts/serve.sh'), 'utf8')
  t.match(serve, new RegExp(`^exec ${expected}$`, 'm'), 'scripts/serve.sh')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  t.equal(pkg.scripts.start, expected, 'npm start')
})

t.test('nodeFlagsOf refuses an ENTRYPOINT of another form', async (t) => {
  for (const entrypoint of ['["npm", "start"]', 'node dist/main.js', '["node", "server.js"]']) {
    const stage = parseDockerfile(`FROM x\nENTRYPOINT ${entrypoint}\n`).stages[0] as Stage
    t.throws(() => nodeFlagsOf(stage), /ENTRYPOINT is not/, entrypoint)
  }
  const none = parseDockerfile('FROM x\nCMD ["node", "dist/main.js"]\n').stages[0] as Stage
  t.throws(() => nodeFlagsOf(none), /ENTRYPOINT is not/, 'no ENTRYPOINT at all')
})
