import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ARTIFACTS } from './helpers/artifacts.js'
import { formatMatrix, MATRIX_FILE, type MatrixRow } from './helpers/matrix.js'

/*
 * Prints the real-client tier's matrix (client × version × scenario) from
 * the rows each test file left in test-artifacts/e2e/<client>/matrix.jsonl.
 * scripts/e2e.sh runs it after the tier, passed or not.
 */

const rows: MatrixRow[] = []
for (const dir of readdirSync(ARTIFACTS, { withFileTypes: true })) {
  if (!dir.isDirectory()) continue
  let text: string
  try {
    text = readFileSync(join(ARTIFACTS, dir.name, MATRIX_FILE), 'utf8')
  } catch {
    continue // a client folder without a matrix (wget's logs live beside curl's rows)
  }
  for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as MatrixRow)
}
process.stdout.write(formatMatrix(rows, ['systemd-sysupdate', 'Ignition', 'curl / wget']))
