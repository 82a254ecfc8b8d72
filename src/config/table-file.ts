import { readFile } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RedirectorError } from '../core/errors.js'
import { checkExamples } from './table-examples.js'
import type { Origins } from '../table/resolve.js'
import { compileTable, type Table } from '../table/table.js'

/** The Flatcar bakery's table, shipped with the package (src/ and dist/ alike). */
export const DEFAULT_TABLE_FILE = fileURLToPath(
  new URL('../../tables/flatcar.yaml', import.meta.url),
)

/**
 * Tables the build parsed already, each with its exact text (scripts/build.ts
 * writes it beside the bundle; src/ has none). YAML parsing was the largest
 * part of loading the built-in table at start, about 30 ms; a table whose
 * text differs in any way is parsed as usual.
 */
export const PARSED_TABLES_FILE = fileURLToPath(new URL('./parsed-tables.json', import.meta.url))

export interface ParsedTable {
  readonly text: string
  readonly doc: unknown
}

/** Parses table text: JSON for `.json` files, YAML otherwise. */
export async function parseTableText(text: string, file: string): Promise<unknown> {
  // Loaded only when a table needs it: the built-in one usually does not.
  const { parse: parseYaml, YAMLParseError } = await import('yaml')
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    // yaml's errors carry their place (its prettyErrors, on by default).
    const place =
      err instanceof YAMLParseError
        ? (err.linePos as [{ line: number; col: number }])[0]
        : undefined
    const where = place === undefined ? '' : ` at line ${place.line}, column ${place.col}`
    // yaml's first line ends with its own " at line L, column C:": said once, above.
    const reason = ((err as Error).message.split('\n')[0] as string).replace(
      / at line \d+, column \d+:$/,
      '',
    )
    throw new RedirectorError('SR_TABLE_SYNTAX', `${file}${where}: ${reason}`, { cause: err })
  }
}

/**
 * Where a table's redirects lead, once its sources are known: fixed origins
 * for a table with one source, or worked out from the table (originsOf).
 */
export type OriginsFor = Origins | ((table: Table) => Origins)

/** Compiles a table and proves it with its own examples. */
export function buildTable(doc: unknown, originsFor: OriginsFor, file: string): Table {
  let table: Table
  try {
    table = compileTable(doc)
  } catch (err) {
    const error = err as RedirectorError
    throw new RedirectorError(error.code, `${file}: ${error.message}`, { cause: err })
  }
  table = keysBesideTable(table, file)
  const origins = typeof originsFor === 'function' ? originsFor(table) : originsFor
  const unknown = table.sources.filter((source) => !(source.name in origins.sources))
  if (unknown.length > 0) {
    // Fixed origins for a table that names its sources: a caller's mistake, said plainly.
    throw new RedirectorError(
      'SR_TABLE_INVALID',
      `${file}: no release URL for source(s) ${unknown.map((source) => source.name).join(', ')}`,
    )
  }
  const failures = checkExamples(table, origins)
  if (failures.length > 0) {
    throw new RedirectorError(
      'SR_TABLE_EXAMPLE',
      `${file}: ${failures.length} example(s) fail:\n  ${failures.join('\n  ')}`,
    )
  }
  return table
}

/** A source's signing-keys file is named relative to the table's folder. */
function keysBesideTable(table: Table, file: string): Table {
  if (!table.sources.some((source) => source.signingKeys !== undefined)) return table
  const sources = table.sources.map((source) =>
    source.signingKeys === undefined
      ? source
      : { ...source, signingKeys: resolvePath(dirname(file), source.signingKeys) },
  )
  return { ...table, sources }
}

export interface LoadOptions {
  /** The setting that named the file (`PATTERN_TABLE`), for its messages. */
  readonly setting?: string
  readonly parsedTablesFile?: string
}

/** What the common reasons a file cannot be read mean, for people. */
const UNREADABLE: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'no permission to read it',
  EISDIR: 'a folder, not a file',
  ENOTDIR: 'a part of its path is not a folder',
}

export async function loadTable(
  file: string,
  origins: OriginsFor,
  { setting, parsedTablesFile = PARSED_TABLES_FILE }: LoadOptions = {},
): Promise<Table> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // readFile fails only with a system error, which has a code.
    const code = (err as NodeJS.ErrnoException).code as string
    const what = setting === undefined ? `the pattern table ${file}` : `${setting}=${file}`
    const reason = UNREADABLE[code] === undefined ? code : `${UNREADABLE[code]} (${code})`
    throw new RedirectorError('SR_TABLE_UNREADABLE', `${what} cannot be read: ${reason}`, {
      cause: err,
    })
  }
  const doc = (await parsedBefore(text, parsedTablesFile)) ?? (await parseTableText(text, file))
  return buildTable(doc, origins, file)
}

/** The build's parse of exactly this text, if it made one. */
async function parsedBefore(text: string, parsedTablesFile: string): Promise<unknown> {
  try {
    const parsed = JSON.parse(await readFile(parsedTablesFile, 'utf8')) as ParsedTable[]
    return parsed.find((table) => table.text === text)?.doc
  } catch {
    // None there (src/), or unreadable: parse the text instead.
    return undefined
  }
}
