import { originsOf, parseConfig } from './config.js'
import type { Env } from './config/env.js'
import { normaliseTarget } from './path/normalise.js'
import { DEFAULT_TABLE_FILE, loadTable } from './table/load.js'
import { fallback, tryRule } from './table/resolve.js'
import type { Table } from './table/table.js'

export interface Io {
  out(line: string): void
  err(line: string): void
}

export const USAGE = `usage: sysext-redirector [command]

commands:
  serve                  run the service (the default)
  check-table [FILE]     compile a pattern table and run its examples
  explain PATH           show which rule takes PATH, its captures and Location
  help                   show this text

check-table and explain read the table from FILE, else PATTERN_TABLE, else the
built-in Flatcar table, and the URLs from GITHUB_URL, BAKERY_REPO, FALLBACK_URL.`

/** The commands besides `serve`; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCommand(argv: readonly string[], env: Env, io: Io): Promise<number> {
  const [command, ...args] = argv
  try {
    if (command === 'check-table' && args.length <= 1) return await checkTable(args[0], env, io)
    if (command === 'explain' && args.length === 1) return await explain(args[0] as string, env, io)
    if (command === 'help' || command === '--help' || command === '-h') {
      io.out(USAGE)
      return 0
    }
  } catch (err) {
    // Config, table and path errors: say what is wrong, no stack.
    io.err(`sysext-redirector: ${(err as Error).message}`)
    return 1
  }
  io.err(USAGE)
  return 2
}

async function checkTable(file: string | undefined, env: Env, io: Io): Promise<number> {
  const path = file ?? env.PATTERN_TABLE ?? DEFAULT_TABLE_FILE
  const table = await loadTable(path, originsOf(parseConfig(env)))
  const examples = table.rules.reduce(
    (sum, rule) => sum + rule.examples.length,
    table.unmatched.length,
  )
  io.out(`${path}: ${table.rules.length} rules, ${examples} examples, all pass`)
  return 0
}

async function explain(rawPath: string, env: Env, io: Io): Promise<number> {
  const config = parseConfig(env)
  const origins = originsOf(config)
  const table: Table = await loadTable(config.patternTable ?? DEFAULT_TABLE_FILE, origins)
  const target = normaliseTarget(rawPath)
  io.out(`path       ${target.path}${target.query === '' ? '' : ` (query "${target.query}")`}`)
  for (const rule of table.rules) {
    const hit = tryRule(rule, target.path, origins)
    if (typeof hit === 'string') {
      io.out(`skipped    ${rule.name}: ${hit}`)
      continue
    }
    io.out(`rule       ${rule.name}  ${rule.pathTemplate}`)
    const captures = Object.entries(hit.captures).map(
      ([name, value]) => `${name}=${JSON.stringify(value)}`,
    )
    io.out(`captures   ${captures.join(' ')}`)
    io.out(`release    ${hit.release}`)
    io.out(`asset      ${hit.asset}`)
    io.out(`cache      ${rule.cache}`)
    io.out(`location   ${hit.location}`)
    return 0
  }
  io.out('rule       none matched: the fallback takes it, path and query kept')
  io.out(`location   ${fallback(target, origins).location}`)
  return 0
}
