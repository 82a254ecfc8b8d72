import { readFile } from 'node:fs/promises'
import { SourceMap } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/**
 * Where a V8 CPU profile (`node --cpu-prof`) spends its time, by function
 * (self time: samples in the function itself, not its callees), by file, and
 * by part of the service. A native function (a V8 builtin or a binding such
 * as the socket write) counts for the file and part of the JavaScript that
 * called it, so a socket write shows up under node:net, a log write under
 * sonic-boom. Usage:
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--from US --to US]
 * --from and --to keep the samples of a time window (CLOCK_MONOTONIC
 * microseconds, the profile's own clock, as process.hrtime gives it):
 * bench/run.ts passes the measured run's window so start-up is left out.
 * Open the same file in Chrome DevTools (Performance panel) for a flame graph.
 */

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: readonly number[]
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  /** Microseconds, CLOCK_MONOTONIC. */
  readonly startTime: number
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Samples taken from `fromUs` up to `toUs` (the profile's clock). */
export interface Window {
  readonly fromUs: number
  readonly toUs: number
}

export interface FunctionCost {
  /** `name (native)` for a builtin or binding, filed under its caller. */
  readonly name: string
  readonly file: string
  readonly line: number
  readonly part: string
  readonly selfMs: number
}

export interface ProfileSummary {
  readonly totalMs: number
  /** Time not spent waiting in the event loop: (idle) excluded. */
  readonly busyMs: number
  readonly functions: readonly FunctionCost[]
  readonly parts: readonly { readonly part: string; readonly selfMs: number }[]
}

/**
 * Which part of the service a file belongs to, first match wins. Compiled
 * files live in dist/ (or src/ when run through tsx); dependencies by package.
 */
const PARTS: readonly (readonly [RegExp, string])[] = [
  [/^\((garbage collector)\)$/, 'garbage collection'],
  [/^\(idle\)$/, 'idle'],
  [/^\((program|root)\)$/, 'native (V8/libuv, not attributed)'],
  [/\/(dist|src)\/table\//, 'matcher and resolve (table/)'],
  [/\/(dist|src)\/path\//, 'path normalisation (path/)'],
  [
    /\/(dist|src)\/http\/request-log|\/node_modules\/(pino|sonic-boom|thread-stream|quick-format-unescaped|fast-redact|on-exit-leak-free|safe-stable-stringify|@pinojs)\//,
    'logging (pino)',
  ],
  [
    /\/(dist|src)\/protection\/|\/node_modules\/(@fastify\/rate-limit|toad-cache)\//,
    'rate limiting',
  ],
  [
    /\/(dist|src)\/metrics\/|\/node_modules\/(prom-client|tdigest|bintrees)\//,
    'metrics (prom-client)',
  ],
  [/\/(dist|src)\/upstream\/|\/node_modules\/lru-cache\//, 'upstream checks and their cache'],
  [/\/node_modules\/undici\//, 'undici (upstream HEADs)'],
  [/\/(dist|src)\/http\/redirect/, 'redirect route'],
  [/\/(dist|src)\//, 'service, other'],
  [/\/node_modules\/find-my-way\//, 'Fastify routing (find-my-way)'],
  [/\/node_modules\/fastify\/lib\/reply/, 'Fastify reply and headers'],
  [/\/node_modules\/(fastify|avvio|light-my-request|@fastify)\//, 'Fastify core and hooks'],
  [/^node:(_http_|http)/, 'Node http (parse, headers, write)'],
  [
    /^node:(net|stream|internal\/streams|internal\/stream_base)/,
    'Node net and streams (socket I/O)',
  ],
  [
    /^node:(events|internal\/process\/task_queues|internal\/timers|timers)/,
    'Node events, promises, timers',
  ],
  [/^node:internal\/(modules|bootstrap|deps\/cjs-module-lexer)/, 'module loading (start-up)'],
  [/^node:/, 'Node, other'],
  [/^\(native\)$/, 'natives without a JavaScript caller'],
]

export function partOf(file: string): string {
  for (const [pattern, part] of PARTS) if (pattern.test(file)) return part
  return 'other'
}

/**
 * The profile with each frame of a bundle (the service runs as one file,
 * scripts/build.ts) moved to the source file and line its source map
 * (`<bundle>.map`) names, so that time is filed by module as before. Frames
 * of files without a map, or positions it does not cover, stay as they are.
 */
export async function withSources(profile: CpuProfile): Promise<CpuProfile> {
  const maps = new Map<string, Promise<SourceMap | null>>()
  const nodes: ProfileNode[] = []
  for (const node of profile.nodes) {
    const { url, lineNumber, columnNumber } = node.callFrame
    if (!url.startsWith('file://')) {
      nodes.push(node)
      continue
    }
    if (!maps.has(url)) maps.set(url, sourceMapOf(url))
    const entry = (await maps.get(url))?.findEntry(lineNumber, columnNumber)
    const source = entry !== undefined && 'originalSource' in entry ? entry : undefined
    nodes.push(
      source === undefined
        ? node
        : {
            ...node,
            callFrame: {
              ...node.callFrame,
              url: new URL(source.originalSource, url).href,
              lineNumber: source.originalLine,
              columnNumber: source.originalColumn,
            },
          },
    )
  }
  return { ...profile, nodes }
}

async function sourceMapOf(url: string): Promise<SourceMap | null> {
  try {
    return new SourceMap(JSON.parse(await readFile(`${fileURLToPath(url)}.map`, 'utf8')))
  } catch {
    return null // no map beside the file: its frames stay as they are
  }
}

export function summarise(profile: CpuProfile, window?: Window): ProfileSummary {
  const sites = siteOfEveryNode(profile.nodes)
  const selfUs = new Map<string, { site: Site; us: number }>()
  let totalUs = 0
  let idleUs = 0
  let now = profile.startTime
  profile.samples.forEach((id, i) => {
    // One delta per sample, by the format.
    const delta = profile.timeDeltas[i] as number
    now += delta
    if (window !== undefined && (now < window.fromUs || now > window.toUs)) return
    const site = sites.get(id)
    if (site === undefined) return
    totalUs += delta
    if (site.file === '(idle)') idleUs += delta
    const key = `${site.name}\u0000${site.file}\u0000${site.line}`
    const entry = selfUs.get(key) ?? { site, us: 0 }
    entry.us += delta
    selfUs.set(key, entry)
  })
  const functions = [...selfUs.values()]
    .map(({ site, us }) => ({ ...site, selfMs: us / 1000 }))
    .sort((a, b) => b.selfMs - a.selfMs)
  const parts = new Map<string, number>()
  for (const fn of functions) parts.set(fn.part, (parts.get(fn.part) ?? 0) + fn.selfMs)
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    functions,
    parts: [...parts]
      .map(([part, selfMs]) => ({ part, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
  }
}

interface Site {
  readonly name: string
  readonly file: string
  readonly line: number
  readonly part: string
}

/**
 * Node's general-purpose modules (a file write, a Buffer conversion) are
 * charged to the part of the service that called them: under load the only
 * synchronous file write is the request log, for example.
 */
const UTILITY =
  /^node:(fs|buffer|util|url|path|string_decoder|perf_hooks|internal\/(fs|buffer|util|url|validators|errors))/

/**
 * Where each node's self time is filed. JavaScript: its own function and
 * file. A native with a JavaScript caller: under the caller's file. V8's
 * pseudo-frames ((idle), (program), (garbage collector)): under their name.
 */
function siteOfEveryNode(nodes: readonly ProfileNode[]): Map<number, Site> {
  const parent = new Map<number, ProfileNode>()
  for (const node of nodes) for (const child of node.children ?? []) parent.set(child, node)
  const callerWhere = (
    node: ProfileNode,
    test: (url: string) => boolean,
  ): ProfileNode | undefined => {
    let caller = parent.get(node.id)
    while (caller !== undefined && !test(caller.callFrame.url)) caller = parent.get(caller.id)
    return caller
  }
  const sites = new Map<number, Site>()
  for (const node of nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const name = functionName === '' ? '(anonymous)' : functionName
    let site: Omit<Site, 'part'>
    if (url !== '') site = { name, file: shorten(url), line: lineNumber + 1 }
    else if (functionName.startsWith('(')) site = { name, file: functionName, line: 0 }
    else {
      const caller = callerWhere(node, (u) => u !== '')
      site = {
        name: `${name} (native)`,
        file: caller === undefined ? '(native)' : shorten(caller.callFrame.url),
        line: 0,
      }
    }
    let part = partOf(site.file)
    if (UTILITY.test(site.file)) {
      const user = callerWhere(node, (u) => u !== '' && !u.startsWith('node:'))
      if (user !== undefined) part = partOf(shorten(user.callFrame.url))
    }
    sites.set(node.id, { ...site, part })
  }
  return sites
}

/** file:///x/node_modules/pino/lib/tools.js -> /node_modules/pino/lib/tools.js */
function shorten(url: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules !== -1) return path.slice(modules)
  const own = /\/(dist|src)\/.*$/.exec(path)
  return own !== null ? own[0] : path
}

/** The parts, then the top functions by self time grouped under their file. */
export function format(summary: ProfileSummary, top = 25): string {
  const pct = (ms: number): string => `${((100 * ms) / summary.busyMs).toFixed(1).padStart(5)}%`
  const lines = [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (not idle); percentages are of busy time`,
    '',
    'by part of the service (self time):',
  ]
  for (const { part, selfMs } of summary.parts) {
    if (part === 'idle') continue
    lines.push(`  ${pct(selfMs)} ${selfMs.toFixed(0).padStart(7)} ms  ${part}`)
  }
  const busy = summary.functions.filter((fn) => fn.part !== 'idle').slice(0, top)
  const files = new Map<string, FunctionCost[]>()
  for (const fn of busy) files.set(fn.file, [...(files.get(fn.file) ?? []), fn])
  const fileTotal = (fns: readonly FunctionCost[]): number =>
    fns.reduce((sum, fn) => sum + fn.selfMs, 0)
  lines.push('', `top ${busy.length} functions by self time, grouped by file:`)
  for (const [file, fns] of [...files].sort((a, b) => fileTotal(b[1]) - fileTotal(a[1]))) {
    lines.push(`  ${pct(fileTotal(fns))}  ${file}`)
    for (const fn of fns) {
      lines.push(
        `      ${pct(fn.selfMs)}  ${`${fn.name}${fn.line > 0 ? `:${fn.line}` : ''}`.padEnd(40)} [${fn.part}]`,
      )
    }
  }
  return lines.join('\n')
}

async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  })
  const [file] = positionals
  if (file === undefined) {
    console.error(
      'usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--from US --to US]',
    )
    process.exitCode = 2
    return
  }
  const profile = await withSources(JSON.parse(await readFile(file, 'utf8')) as CpuProfile)
  const window =
    values.from === undefined && values.to === undefined
      ? undefined
      : { fromUs: Number(values.from ?? -Infinity), toUs: Number(values.to ?? Infinity) }
  console.log(format(summarise(profile, window), Number(values.top)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2))
}
