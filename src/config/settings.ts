import { originsOf, parseConfig, type Config } from './service.js'
import type { Env } from './env.js'
import type { Origins } from '../table/resolve.js'
import type { Table } from '../table/table.js'
import { DEFAULT_TABLE_FILE, loadTable } from './table-file.js'

/**
 * What the service and the CLI run with, resolved once from the
 * environment: the parsed settings, the pattern table (PATTERN_TABLE's, or
 * the built-in one, its examples checked) and where its redirects lead.
 * Every module takes its part from here; none reads the environment or
 * works the origins out again.
 */
export interface Settings {
  readonly config: Config
  readonly table: Table
  /** The table's file, as the start-up line and messages name it. */
  readonly tableFile: string
  readonly origins: Origins
}

/** `file`, when given (check-table FILE), instead of the table the settings name. */
export async function resolveSettings(env: Env, file?: string): Promise<Settings> {
  const config = parseConfig(env)
  const named = file ?? config.patternTable
  const tableFile = named ?? DEFAULT_TABLE_FILE
  // A file from PATTERN_TABLE is named by it in every message about it.
  const setting = file === undefined && named !== undefined ? 'PATTERN_TABLE' : undefined
  // Worked out once, when loadTable checks the table's examples with them.
  let origins: Origins | undefined
  const table = await loadTable(tableFile, (one) => (origins = originsOf(config, one)), {
    setting,
  })
  return { config, table, tableFile, origins: origins as Origins }
}
