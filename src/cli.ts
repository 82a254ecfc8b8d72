import { STATUS_CODES } from 'node:http'
import { resolveSettings } from './config/settings.js'
import type { Env } from './config/env.js'
import { describeError } from './core/errors.js'
import type { Answer } from './decision/answer.js'
import { decision } from './decision/decide.js'
import { firstNeed, liveFacts, run } from './decision/drivers.js'
import { describeNeed, type Fact, type Need } from './decision/needs.js'
import { policyOf } from './decision/policy.js'
import { routeFinder, type Route } from './decision/route.js'
import { liveKnowledge } from './boot/knowledge.js'
import { healthCheckOf } from './http/health.js'
import { parseMirrorArgs } from './mirror/options.js'
import { mebibytes, NO_PROGRESS, progressBar, type Terminal } from './mirror/progress.js'
import { mirror, type MirrorSummary } from './mirror/run.js'
import type { SnapshotFile } from './manifests/snapshot-file.js'
import { tryRule, type Origins, type ReleaseTarget } from './table/resolve.js'
import { renderOutput } from './table/template.js'
import type { Table } from './table/table.js'
import type { Checked } from './upstream/checks.js'

export interface Io {
  out(line: string): void
  err(line: string): void
  /** Where a progress bar is drawn (stderr): on a terminal, by default. */
  readonly terminal?: Terminal & { readonly isTTY?: boolean }
}

export const USAGE = `usage: sysext-redirector [command]

commands:
  serve                  run the service (the default)
  check-table [FILE]     compile a pattern table and run its examples
  explain [--live] PATH  show how the service decides PATH: the rule, its
                         captures and Location, the layer that answers and
                         what it needs; --live asks GitHub as the service
                         would and prints the answer
  mirror DIR [--source NAME]... [--extension NAME]... [--arch ARCH]...
         [--keep N] [--progress | --no-progress]
                         write the adopted snapshot as a static tree in DIR,
                         the same paths the service answers (README, "Air-gapped
                         sites"): images verified against their manifests,
                         manifests last; a second run downloads only what is new
  help                   show this text

check-table and explain read the table from FILE, else PATTERN_TABLE, else the
built-in Flatcar table; explain and mirror read every other setting (GITHUB_URL,
BAKERY_REPO, BAKERY_MIRRORS, FALLBACK_URL, UPSTREAM_CHECKS, MANIFEST_INDEX, ...)
as serve does.`

/** The commands besides `serve`; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCommand(argv: readonly string[], env: Env, io: Io): Promise<number> {
  const [command, ...args] = argv
  try {
    if (command === 'check-table' && args.length <= 1) return await checkTable(args[0], env, io)
    if (command === 'explain' && args.length === 1 && args[0] !== '--live') {
      return await explain(args[0] as string, false, env, io)
    }
    if (command === 'explain' && args.length === 2 && args[0] === '--live') {
      return await explain(args[1] as string, true, env, io)
    }
    if (command === 'mirror') return await mirrorCommand(args, env, io)
    if (command === 'help' || command === '--help' || command === '-h') {
      io.out(USAGE)
      return 0
    }
  } catch (err) {
    // Config, table and path errors: say what is wrong, no stack.
    io.err(`sysext-redirector: ${describeError(err)}`)
    return 1
  }
  io.err(`sysext-redirector: ${misuseOf(command, args)}\n\n${USAGE}`)
  return 2
}

/** `mirror DIR ...`: the snapshot as a static tree; its summary line on stdout. */
async function mirrorCommand(args: readonly string[], env: Env, io: Io): Promise<number> {
  const options = parseMirrorArgs(args)
  if (typeof options === 'string') {
    io.err(`sysext-redirector: ${options}\n\n${USAGE}`)
    return 2
  }
  const settings = await resolveSettings(env)
  const warn = (line: string): void => io.err(`sysext-redirector: ${line}`)
  const knowledge = await liveKnowledge(settings, {
    warn: (details, message) => warn(`${message} ${JSON.stringify(details)}`),
  })
  const { terminal } = io
  const bar = terminal !== undefined && (options.progress ?? terminal.isTTY === true)
  const progress = bar ? progressBar(terminal) : NO_PROGRESS
  const started = performance.now()
  try {
    const { gate, dispatcher } = knowledge
    const done = await mirror(options, { settings, knowledge, gate, dispatcher, progress, warn })
    io.out(summaryLine(options.dir, done, (performance.now() - started) / 1000))
    return 0
  } finally {
    await knowledge.close()
  }
}

/** What a mirror run did, in one line. */
export function summaryLine(dir: string, done: MirrorSummary, seconds: number): string {
  const atHand = done.images - done.downloaded
  return (
    `mirrored ${done.extensions} extensions, ${done.images} images ` +
    `(${done.downloaded} downloaded, ${mebibytes(done.bytes)}; ${atHand} at hand), ` +
    `${done.files} snapshot files, ${done.removed} removed, in ${seconds.toFixed(1)} s: ${dir}`
  )
}

/** What was wrong with the command line, named, for the line above the usage. */
function misuseOf(command: string | undefined, args: readonly string[]): string {
  if (command === 'check-table') return `check-table takes at most one FILE, not ${args.length}`
  if (command === 'explain') return 'explain takes one PATH, after --live if given'
  if (command === undefined) return 'no command given'
  return `unknown command ${JSON.stringify(command)}`
}

async function checkTable(file: string | undefined, env: Env, io: Io): Promise<number> {
  const { table, tableFile: path } = await resolveSettings(env, file)
  const examples =
    table.rules.reduce((sum, rule) => sum + rule.examples.length, table.unmatched.length) +
    (table.newest?.examples.length ?? 0) +
    table.directories.reduce((sum, form) => sum + form.examples.length, 0)
  io.out(`${path}: ${table.rules.length} rules, ${examples} examples, all pass`)
  return 0
}

/**
 * Runs the service's own decision for one path (src/decision/): the same
 * route and steps, with facts from nowhere (offline: it stops at the first
 * thing it would have to ask) or from GitHub (--live).
 */
async function explain(rawPath: string, live: boolean, env: Env, io: Io): Promise<number> {
  const health = healthCheckOf(rawPath)
  if (health !== undefined) {
    // Answered by the service before any table, live or not (a listening service is ready).
    io.out(`path       ${health.path}`)
    io.out(`layer      service  ${health.what}, answered before the table`)
    io.out('answer     200 OK')
    io.out(`  body           ${health.body}`)
    return 0
  }
  const settings = await resolveSettings(env)
  const { config, table, origins } = settings
  const route = routeFinder({ table, origins, index: config.index.enabled })(rawPath)
  if (route.kind === 'refused') throw route.error
  showRoute(route, table, origins, io)
  const policy = policyOf(config, table, origins)
  const steps = decision(route, policy)
  if (!live) {
    const first = firstNeed(steps)
    if ('need' in first) {
      io.out(`needs      ${describeNeed(first.need)}`)
      io.out('answer     depends on it: run with --live to ask GitHub')
    } else {
      showAnswer(first.answer, io)
    }
    return 0
  }
  const knowledge = await liveKnowledge(settings)
  try {
    const seen = (need: Need, fact: Fact): void => {
      io.out(`asked      ${describeNeed(need)}: ${describeFact(need, fact)}`)
    }
    const answer = await run(steps, liveFacts(knowledge), seen, policy.waitMs)
    showAnswer(answer, io)
  } finally {
    await knowledge.close()
  }
  return 0
}

function showRoute(
  route: Exclude<Route, { kind: 'refused' }>,
  table: Table,
  origins: Origins,
  io: Io,
): void {
  const { target } = route
  io.out(`path       ${target.path}${target.query === '' ? '' : ` (query "${target.query}")`}`)
  for (const rule of table.rules) {
    if (route.kind === 'release' && route.resolution.rule === rule) break
    io.out(`skipped    ${rule.name}: ${tryRule(rule, target.path, origins) as string}`)
  }
  if (route.kind === 'release') {
    const { rule, captures, release, asset, location } = route.resolution
    io.out(`rule       ${rule.name}  ${rule.pathTemplate}`)
    const shown = Object.entries(captures).map(
      ([name, value]) => `${name}=${JSON.stringify(value)}`,
    )
    io.out(`captures   ${shown.join(' ')}`)
    io.out(`release    ${release}`)
    io.out(`asset      ${asset}`)
    if (table.sources.length > 1) io.out(`source     ${sourceLine(route.resolution)}`)
    io.out(`cache      ${rule.cache}`)
    io.out(`location   ${location}${rule.publisher === null ? '' : ' (in the otherwise source)'}`)
    if (route.newest !== null) {
      io.out(
        `newest     ${route.newest.form.pathTemplate}: read as a stream if GitHub has no ${asset}`,
      )
    }
    io.out('layer      table')
    return
  }
  if (route.kind === 'fallback') {
    io.out('rule       none matched: the fallback takes it, path and query kept')
    io.out(`location   ${route.resolution.location}`)
    io.out('layer      fallback')
    return
  }
  io.out('rule       none matched')
  if (route.kind === 'directory') {
    const which = route.extension === null ? 'the listing' : `extension ${route.extension}`
    io.out(`layer      directory  ${route.form.pathTemplate}: ${which}`)
  } else {
    io.out(`layer      newest  ${route.name.form.pathTemplate}: ${route.name.file}`)
  }
}

function showAnswer(answer: Answer, io: Io): void {
  io.out(`answer     ${answer.status} ${STATUS_CODES[answer.status] as string}`)
  const lines: [string, string | null | undefined][] = [
    ['location', answer.location],
    ['cache-control', answer.cacheControl],
    ['retry-after', answer.retryAfter],
    ['body', answer.body === '' ? undefined : answer.body],
    ['page', answer.page?.kind],
    ['etag', answer.file?.etag],
    ['served', answer.file && `${answer.file.bytes.length} bytes from the adopted snapshot`],
    ['layer', answer.layer],
    ['rule', answer.rule],
    ['source', answer.source],
    ['upstream', answer.upstream],
    ['origin', answer.origin],
  ]
  for (const [name, value] of lines) {
    if (value !== undefined && value !== null) io.out(`  ${name.padEnd(14)} ${value}`)
  }
}

function describeFact(need: Need, fact: Fact): string {
  if (need.kind === 'check') return describeCheck(fact as Checked)
  const catalog = fact as Exclude<Fact, Checked>
  // An explain run starts with nothing cached: no copy it reads is stale.
  if (!catalog.ok) return `unavailable (${catalog.reason})`
  if (catalog.value === undefined) return 'nothing'
  if (Array.isArray(catalog.value)) return `${catalog.value.length} extensions`
  if (need.kind === 'file') return `adopted (etag ${(catalog.value as SnapshotFile).etag})`
  const value = catalog.value as { name?: string; extension?: { name: string }; stream?: string }
  if (value.name !== undefined) return 'found'
  const stream = value.stream === undefined ? 'the newest' : `stream ${value.stream}`
  return `extension ${value.extension?.name as string}, ${stream}`
}

/** What the checks found, and where: GitHub's word, or the mirror that has it and why. */
function describeCheck({ answer, mirror, github }: Checked): string {
  if (mirror === null) return answer
  const why =
    github === 'mirrors-first'
      ? 'this client goes to the mirrors first'
      : `GitHub: ${github as string}`
  return `${answer} on mirror ${mirror} (${why})`
}

/** Where a rule leads: its source, or the publisher of a name and the source otherwise. */
function sourceLine(resolution: ReleaseTarget): string {
  const { publisher } = resolution.rule
  if (publisher === null) return resolution.source
  const name = renderOutput(publisher.name, resolution.captures)
  return `whichever publishes ${name} (its global manifest lists it); otherwise ${publisher.otherwise}`
}
