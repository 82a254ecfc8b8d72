import type { RedirectorError } from '../core/errors.js'
import { readingsFor } from '../catalog/newest.js'
import { normaliseTarget, type Target } from '../path/normalise.js'
import { directoryPage, newestName, type NewestExample } from '../table/layers.js'
import { resolve, type Origins, type Resolution } from '../table/resolve.js'
import type { Example, Table } from '../table/table.js'

/** An example's Location: `{releases}` (the default source), `{releases:<source>}`, `{fallback}`. */
export function expandLocation(location: string, origins: Origins): string {
  return location
    .replace(/\{releases:([a-z0-9-]+)\}/g, (whole, name: string) => origins.sources[name] ?? whole)
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
      const problem = checkDirectory(table, path, form.name, origins)
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
    if (layer !== null) return `example ${example.path} is taken by ${layerName(layer)}`
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
  if (layer?.kind !== 'newest') {
    return `example ${example.path} is taken by ${layer === null ? 'no newest form' : layerName(layer)}`
  }
  const [reading] = readingsFor(layer.file, new Set([example.extension]))
  const said = (r: { name: string; stream: string | undefined; arch: string }): string =>
    `${r.name} ${r.stream ?? '(newest)'} ${r.arch}`
  const expected = { name: example.extension, stream: example.stream, arch: example.arch }
  if (reading === undefined) return `example ${example.path} does not read as ${said(expected)}`
  if (said(reading) !== said(expected)) {
    return `example ${example.path} reads as ${said(reading)}, expected ${said(expected)}`
  }
  return null
}

function checkDirectory(table: Table, path: string, name: string, origins: Origins): string | null {
  const target = targetOf(path)
  if (typeof target === 'string') return target
  const got = resolve(table, target, origins)
  if (got.kind === 'release') return `example ${path} is taken by rule "${got.rule.name}"`
  const layer = indexLayerOf(table, target.path)
  if (layer?.kind === 'directory' && layer.name === name) return null
  return `example ${path} is taken by ${layer === null ? 'the fallback' : layerName(layer)}`
}

type IndexLayer = { kind: 'directory'; name: string } | { kind: 'newest'; file: string }

/** Which of the index's layers takes a path no rule takes: the forms the service routes by. */
function indexLayerOf(table: Table, path: string): IndexLayer | null {
  const page = directoryPage(table.directories, path)
  if (page !== null) return { kind: 'directory', name: page.form.name }
  const name = newestName(table.newest?.forms ?? [], path)
  return name === null ? null : { kind: 'newest', file: name.file }
}

function layerName(layer: IndexLayer): string {
  return layer.kind === 'directory'
    ? `directory ${layer.name}`
    : `newest ${layer.file.slice(0, -'.raw'.length)}`
}

function targetOf(path: string): Target | string {
  try {
    return normaliseTarget(path)
  } catch (err) {
    // normaliseTarget throws nothing but RedirectorError (bad path input).
    return `example ${path} is not a valid request path: ${(err as RedirectorError).message}`
  }
}
