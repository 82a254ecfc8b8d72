import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { RedirectorError } from '../errors.js'
import { checkExamples } from './examples.js'
import type { Origins } from './resolve.js'
import { compileTable, type Table } from './table.js'

/** The Flatcar bakery's table, shipped with the package (src/ and dist/ alike). */
export const DEFAULT_TABLE_FILE = fileURLToPath(
  new URL('../../tables/flatcar.yaml', import.meta.url),
)

/** Parses table text: JSON for `.json` files, YAML otherwise. */
export function parseTableText(text: string, file: string): unknown {
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    const where = err instanceof YAMLParseError ? ` at line ${err.linePos?.[0].line}` : ''
    const reason = (err as Error).message.split('\n')[0]
    throw new RedirectorError('SR_TABLE_SYNTAX', `${file}${where}: ${reason}`, { cause: err })
  }
}

/** Compiles a table and proves it with its own examples. */
export function buildTable(doc: unknown, origins: Origins, file: string): Table {
  let table: Table
  try {
    table = compileTable(doc)
  } catch (err) {
    const error = err as RedirectorError
    throw new RedirectorError(error.code, `${file}: ${error.message}`, { cause: err })
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

export async function loadTable(file: string, origins: Origins): Promise<Table> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // readFile fails only with a system error, which has a code.
    const reason = (err as NodeJS.ErrnoException).code as string
    throw new RedirectorError('SR_TABLE_SYNTAX', `cannot read pattern table ${file}: ${reason}`, {
      cause: err,
    })
  }
  return buildTable(parseTableText(text, file), origins, file)
}
