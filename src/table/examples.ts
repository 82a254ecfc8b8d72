import type { RedirectorError } from '../errors.js'
import { normaliseTarget } from '../path/normalise.js'
import { resolve, type Origins, type Resolution } from './resolve.js'
import type { Example, Table } from './table.js'

export function expandLocation(location: string, origins: Origins): string {
  return location
    .replaceAll('{releases}', origins.releases)
    .replaceAll('{fallback}', origins.fallback)
}

/**
 * Runs every example of the table through the whole table (first match wins)
 * and returns one line per failure, each naming its rule; [] when all pass.
 */
export function checkExamples(table: Table, origins: Origins): string[] {
  const failures: string[] = []
  for (const rule of table.rules) {
    for (const example of rule.examples) {
      const problem = checkExample(table, example, origins, rule.name)
      if (problem !== null) failures.push(`rule "${rule.name}": ${problem}`)
    }
  }
  for (const example of table.unmatched) {
    const problem = checkExample(table, example, origins, null)
    if (problem !== null) failures.push(`unmatched: ${problem}`)
  }
  return failures
}

function checkExample(
  table: Table,
  example: Example,
  origins: Origins,
  ruleName: string | null,
): string | null {
  let got: Resolution
  try {
    got = resolve(table, normaliseTarget(example.path), origins)
  } catch (err) {
    // normaliseTarget throws nothing but RedirectorError (bad path input).
    return `example ${example.path} is not a valid request path: ${(err as RedirectorError).message}`
  }
  const gotRule = got.kind === 'release' ? got.rule.name : null
  if (gotRule !== ruleName) {
    const by = gotRule === null ? 'no rule (fallback)' : `rule "${gotRule}"`
    return `example ${example.path} is taken by ${by}`
  }
  const expected = expandLocation(example.location, origins)
  if (got.location !== expected) {
    return `example ${example.path} leads to ${got.location}, expected ${expected}`
  }
  return null
}
