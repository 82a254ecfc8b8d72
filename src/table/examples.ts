import type { RedirectorError } from '../errors.js'
import { readingsFor } from '../index/newest.js'
import { matchPath } from '../table/matcher.js'
import { normaliseTarget, type Target } from '../path/normalise.js'
import type { NewestExample } from './layers.js'
import { resolve, type Origins, type Resolution } from './resolve.js'
import type { Example, Table } from './table.js'

export function expandLocation(location: string, origins: Origins): string {
  return location
    .replaceAll('{releases}', origins.releases)
    .replaceAll('{fallback}', origins.fallback)
}

/**
 * Runs every example of the table through the whole table (first match
 * wins, then the index's layers) and returns one line per failure, each
 * naming its rule or layer; [] when all pass.
 */
export function checkExamples(table: Table, origins: Origins): string[] {
  const failures: string[] = []
  for (const rule of table.rules) {
    for (const example of rule.examples) {
      const problem = checkExample(table, example, origins, rule.name)
      if (problem !== null) failures.push(`rule "${rule.name}": ${problem}`)
    }
  }
  for (const example of table.newest?.examples ?? []) {
    const problem = checkNewest(table, example)
    if (problem !== null) failures.push(`newest: ${problem}`)
  }
  for (const form of table.directories) {
    for (const path of form.examples) {
      const problem = checkDirectory(table, path, form.name)
      if (problem !== null) failures.push(`${form.name}: ${problem}`)
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
  const target = targetOf(example.path)
  if (typeof target === 'string') return target
  const got: Resolution = resolve(table, target, origins)
  const gotRule = got.kind === 'release' ? got.rule.name : null
  if (gotRule !== ruleName) {
    const by = gotRule === null ? 'no rule (fallback)' : `rule "${gotRule}"`
    return `example ${example.path} is taken by ${by}`
  }
  if (ruleName === null) {
    const layer = indexLayerOf(table, target.path)
    if (layer !== null) return `example ${example.path} is taken by ${layer}`
  }
  const expected = expandLocation(example.location, origins)
  if (got.location !== expected) {
    return `example ${example.path} leads to ${got.location}, expected ${expected}`
  }
  return null
}

/** A newest-version example: a newest form takes it, and reads it as the example says. */
function checkNewest(table: Table, example: NewestExample): string | null {
  const target = targetOf(example.path)
  if (typeof target === 'string') return target
  const layer = indexLayerOf(table, target.path)
  if (layer === null || !layer.startsWith('newest')) {
    return `example ${example.path} is taken by ${layer ?? 'no newest form'}`
  }
  const file = `${layer.slice(layer.indexOf(' ') + 1)}.raw`
  const [reading] = readingsFor(file, new Set([example.extension]))
  const said = (r: { name: string; stream: string | undefined; arch: string }): string =>
    `${r.name} ${r.stream ?? '(newest)'} ${r.arch}`
  const expected = { name: example.extension, stream: example.stream, arch: example.arch }
  if (reading === undefined) return `example ${example.path} does not read as ${said(expected)}`
  if (said(reading) !== said(expected)) {
    return `example ${example.path} reads as ${said(reading)}, expected ${said(expected)}`
  }
  return null
}

function checkDirectory(table: Table, path: string, name: string): string | null {
  const target = targetOf(path)
  if (typeof target === 'string') return target
  const got = resolve(table, target, { releases: '', fallback: '' })
  if (got.kind === 'release') return `example ${path} is taken by rule "${got.rule.name}"`
  const layer = indexLayerOf(table, target.path)
  return layer === `directory ${name}`
    ? null
    : `example ${path} is taken by ${layer ?? 'the fallback'}`
}

/** Which of the index's layers takes a path no rule takes, as `directory <name>` or `newest <image name>`. */
function indexLayerOf(table: Table, path: string): string | null {
  for (const form of table.directories) {
    if (matchPath(form.matcher, path) !== null) return `directory ${form.name}`
  }
  for (const form of table.newest?.forms ?? []) {
    const captures = matchPath(form.matcher, path)
    if (captures !== null) return `newest ${captures.name as string}`
  }
  return null
}

function targetOf(path: string): Target | string {
  try {
    return normaliseTarget(path)
  } catch (err) {
    // normaliseTarget throws nothing but RedirectorError (bad path input).
    return `example ${path} is not a valid request path: ${(err as RedirectorError).message}`
  }
}
