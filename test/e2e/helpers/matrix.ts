import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'

/** Each test file's rows, in its artifacts folder; scripts/e2e-matrix.ts prints them all. */
export const MATRIX_FILE = 'matrix.jsonl'

/** One cell: a scenario a client version ran, or one it cannot run and was shown not to. */
export interface MatrixRow {
  readonly client: string
  readonly version: string
  readonly scenario: string
  /** `passed` or `failed`; `n/a` when the version lacks the feature (`reason` says which). */
  readonly result: 'passed' | 'failed' | 'n/a'
  readonly reason?: string
  /** Set on `n/a`: whether the check that the version really lacks it passed. */
  readonly proven?: boolean
  readonly ms: number
}

/**
 * The tier's matrix, client × version × scenario. A row is written when its
 * subtest ends, from the subtest's own result, so the matrix cannot say
 * "passed" for a scenario whose assertions failed.
 */
export class Matrix {
  readonly #file: string

  /** Rows go to `dir` (a client's artifacts folder, emptied at the start of its run). */
  constructor(
    dir: string,
    readonly client: string,
    readonly version: string,
  ) {
    this.#file = join(dir, MATRIX_FILE)
    writeFileSync(this.#file, '')
  }

  /** A scenario the version supports: passed when every assertion of `t` passed. */
  scenario(t: Test, scenario: string): void {
    const started = Date.now()
    t.teardown(() => {
      this.#write({ scenario, result: t.passing() ? 'passed' : 'failed', ms: Date.now() - started })
    })
  }

  /**
   * A scenario the version cannot run. `t` proves it cannot (the feature is
   * refused or ignored as the version's release notes say); if that proof
   * fails, the row says failed: the feature table in sysupdate-features.ts
   * is then wrong for this version.
   */
  unsupported(t: Test, scenario: string, reason: string): void {
    const started = Date.now()
    t.teardown(() => {
      const proven = t.passing()
      this.#write({
        scenario,
        result: proven ? 'n/a' : 'failed',
        reason,
        proven,
        ms: Date.now() - started,
      })
    })
  }

  #write(row: Omit<MatrixRow, 'client' | 'version'>): void {
    const line: MatrixRow = { client: this.client, version: this.version, ...row }
    appendFileSync(this.#file, `${JSON.stringify(line)}\n`)
  }
}

/**
 * The matrix as text, one grid per client: a row per scenario, a column per
 * version. `expected` names the clients that must have rows: a test file that
 * crashed before its first scenario shows up as missing, not as nothing.
 */
export function formatMatrix(rows: readonly MatrixRow[], expected: readonly string[]): string {
  const lines: string[] = []
  const clients = [...new Set([...expected, ...rows.map((row) => row.client)])]
  for (const client of clients) {
    const mine = rows.filter((row) => row.client === client)
    if (mine.length === 0) {
      lines.push(`${client}: no results (the test file did not run to its first scenario)`, '')
      continue
    }
    const versions = [...new Set(mine.map((row) => row.version))].sort((a, b) =>
      a.localeCompare(b, 'en', { numeric: true }),
    )
    const scenarios = [...new Set(mine.map((row) => row.scenario))]
    const cell = (scenario: string, version: string): string => {
      const row = mine.find((one) => one.scenario === scenario && one.version === version)
      if (row === undefined) return 'missing'
      if (row.result === 'n/a') return `n/a: ${row.reason ?? ''}`
      return row.result === 'passed' ? 'passed' : 'FAILED'
    }
    const header = [`${client} scenario`, ...versions]
    const table = [header, ...scenarios.map((s) => [s, ...versions.map((v) => cell(s, v))])]
    const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)))
    for (const [i, row] of table.entries()) {
      lines.push(
        row
          .map((text, j) => text.padEnd(widths[j] ?? 0))
          .join(' | ')
          .trimEnd(),
      )
      if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'))
    }
    lines.push('')
  }
  return lines.join('\n')
}
