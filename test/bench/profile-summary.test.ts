import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import t from 'tap'
import {
  format,
  partOf,
  summarise,
  withSources,
  type CpuProfile,
} from '../../bench/profile-summary.js'
import { CHILD_ARGS } from '../helpers/process.js'

const SCRIPT = fileURLToPath(new URL('../../bench/profile-summary.ts', import.meta.url))

// A small profile with known self times (microseconds), one case per way a
// sample is filed: JavaScript by its own file, a native under its caller, a
// Node utility under the service code that called it, V8's pseudo-frames.
const frame = (
  id: number,
  functionName: string,
  url: string,
  children: number[] = [],
  line = 0,
) => ({
  id,
  callFrame: { functionName, url, lineNumber: line, columnNumber: 0, scriptId: '0' },
  // A leaf may come without a children list at all.
  ...(children.length > 0 ? { children } : {}),
})
const APP = 'file:///srv/app'
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 3, 4, 5, 8, 12, 13]),
    frame(2, '(program)', ''),
    frame(3, '(idle)', ''),
    frame(4, '(garbage collector)', ''),
    frame(5, 'run', `${APP}/dist/table/matcher.js`, [6], 132),
    frame(6, '', `${APP}/dist/table/matcher.js`, [7], 9),
    frame(7, 'writeLatin1String', ''),
    frame(8, 'write', `${APP}/node_modules/pino/lib/tools.js`, [9], 40),
    frame(9, 'writeSync', 'node:fs', [10], 900),
    frame(10, 'writeString', ''),
    frame(11, 'unreached', `${APP}/dist/x.js`),
    frame(12, 'readFileSync', 'node:fs', [14]),
    frame(13, 'free', ''),
    frame(14, 'stat', 'node:internal/fs/utils'),
  ],
  startTime: 1_000_000,
  // Sample id and the microseconds since the previous sample.
  samples: [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 99, 3],
  timeDeltas: [100, 1000, 200, 300, 50, 400, 20, 30, 250, 60, 70, 80, 500, 5000],
}

t.test('self time by function, natives and Node utilities filed where they belong', async (t) => {
  const summary = summarise(profile)
  t.equal(summary.totalMs, 7.56, 'all samples of known nodes (99 is not one)')
  t.equal(summary.busyMs, 1.56, 'idle left out')
  const find = (name: string) => summary.functions.find((fn) => fn.name === name)
  t.match(find('run'), {
    file: '/dist/table/matcher.js',
    line: 133,
    part: 'matcher and resolve (table/)',
    selfMs: 0.3,
  })
  t.match(find('(anonymous)'), { file: '/dist/table/matcher.js', line: 10 })
  t.match(find('writeLatin1String (native)'), {
    file: '/dist/table/matcher.js',
    line: 0,
    part: 'matcher and resolve (table/)',
    selfMs: 0.4,
  })
  t.match(find('writeSync'), { file: 'node:fs', part: 'logging (pino)', selfMs: 0.03 })
  t.match(find('writeString (native)'), { file: 'node:fs', part: 'logging (pino)', selfMs: 0.25 })
  // A Node utility with no service code above it stays Node's.
  t.match(find('readFileSync'), { file: 'node:fs', part: 'Node, other' })
  t.match(find('stat'), { file: 'node:internal/fs/utils', part: 'Node, other' })
  t.match(find('free (native)'), { file: '(native)', part: 'natives without a JavaScript caller' })
  t.match(find('(garbage collector)'), { file: '(garbage collector)', part: 'garbage collection' })
  t.equal(find('unreached'), undefined)
  t.same(
    summary.functions.map((fn) => fn.selfMs),
    [...summary.functions.map((fn) => fn.selfMs)].sort((a, b) => b - a),
    'sorted by self time',
  )
  const logging = summary.parts.find((p) => p.part === 'logging (pino)')
  t.equal(logging?.selfMs.toFixed(6), '0.300000', 'write + writeSync + writeString')
})

t.test('a window keeps only the samples taken inside it', async (t) => {
  // Sample times: 1000100, 1001100, 1001300, 1001600, ...
  const summary = summarise(profile, { fromUs: 1_001_100, toUs: 1_001_600 })
  t.same(summary.functions.map((fn) => fn.name).sort(), ['(garbage collector)', '(idle)', 'run'])
  t.equal(summary.busyMs, 0.5)
})

t.test('parts by file', async (t) => {
  const cases: [string, string][] = [
    ['/node_modules/find-my-way/index.js', 'Fastify routing (find-my-way)'],
    ['/node_modules/fastify/lib/reply.js', 'Fastify reply and headers'],
    ['/node_modules/@fastify/rate-limit/index.js', 'rate limiting'],
    ['/src/protection/rate-limit.ts', 'rate limiting'],
    ['/node_modules/prom-client/lib/counter.js', 'metrics (prom-client)'],
    ['/node_modules/lru-cache/dist/esm/index.js', 'upstream checks and their cache'],
    ['/dist/http/redirect.js', 'redirect route'],
    ['/dist/http/request-log.js', 'logging (pino)'],
    ['/dist/app.js', 'service, other'],
    ['node:_http_outgoing', 'Node http (parse, headers, write)'],
    ['node:net', 'Node net and streams (socket I/O)'],
    ['node:internal/modules/cjs/loader', 'module loading (start-up)'],
    ['/opt/elsewhere.js', 'other'],
  ]
  for (const [file, part] of cases) t.equal(partOf(file), part, file)
})

t.test('format: parts, then the top functions grouped by file', async (t) => {
  const text = format(summarise(profile))
  t.match(text, /^profile: 8 ms sampled, 2 ms busy/)
  t.notMatch(text, /\] idle|\bidle$/m, 'idle is not a part worth listing')
  t.match(text, /^ +\d+\.\d% +\/dist\/table\/matcher\.js$/m)
  t.match(text, /^ +\d+\.\d% +run:133 +\[matcher and resolve \(table\/\)\]$/m)
  t.match(text, /writeLatin1String \(native\) /)
  const top2 = format(summarise(profile), 2)
  t.match(top2, /top 2 functions by self time/)
})

async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [...CHILD_ARGS, SCRIPT, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, out, err }
}

t.test('the command line', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'p.cpuprofile')
  await writeFile(file, JSON.stringify(profile))
  const all = await cli([file, '--top', '3'])
  t.equal(all.code, 0)
  t.match(all.out, /top 3 functions/)
  const from = await cli([file, '--from', '1001100'])
  t.match(from.out, /profile: 7 ms sampled/)
  const to = await cli([file, '--to', '1001100'])
  t.match(to.out, /profile: 1 ms sampled/)
  const usage = await cli([])
  t.equal(usage.code, 2)
  t.match(usage.err, /^usage: /)
})

t.test('frames of a bundle are filed under the sources its map names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'profile-map-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'src/lane'), { recursive: true })
  const source = join(dir, 'src/lane/answer.ts')
  await writeFile(
    source,
    '\n\nexport function answerHere(n: number): number {\n  return n + 1\n}\n',
  )
  const bundle = join(dir, 'dist/bundle.cjs')
  await build({
    entryPoints: [source],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    outfile: bundle,
    sourcemap: 'linked',
    logLevel: 'silent',
  })
  await writeFile(join(dir, 'dist/no-map.cjs'), 'function plain() {}\n')
  // Where esbuild put the function: the profile's zero-based line and column.
  const lines = (await readFile(bundle, 'utf8')).split('\n')
  const line = lines.findIndex((text) => text.includes('function answerHere'))
  const column = (lines[line] as string).indexOf('function answerHere')
  const at = (id: number, url: string, lineNumber: number, columnNumber: number) => ({
    id,
    callFrame: { functionName: `f${id}`, url, lineNumber, columnNumber },
  })
  const bundled: CpuProfile = {
    nodes: [
      at(1, pathToFileURL(bundle).href, line, column),
      at(2, pathToFileURL(join(dir, 'dist/no-map.cjs')).href, 0, 0),
      at(3, 'node:net', 10, 2),
    ],
    startTime: 0,
    samples: [],
    timeDeltas: [],
  }
  const mapped = await withSources(bundled)
  t.strictSame(
    mapped.nodes[0]?.callFrame,
    {
      functionName: 'f1',
      url: pathToFileURL(source).href,
      lineNumber: 2,
      columnNumber: 7,
    },
    'the source file and zero-based line of the function',
  )
  t.equal(partOf('/src/lane/answer.ts'), 'service, other', 'and so filed by its source file')
  t.strictSame(
    mapped.nodes.slice(1),
    bundled.nodes.slice(1),
    'without a map, and node: frames, stay',
  )
})
