import { normaliseTarget } from '../path/normalise.js'
import { inSource, resolve, type Origins } from '../table/resolve.js'
import { renderOutput, type Token } from '../table/template.js'
import type { Table } from '../table/table.js'
import type { Checked, CheckTarget } from '../upstream/checks.js'
import type { ManifestEntry } from '../catalog/manifest.js'
import type { Admit } from './store.js'

/**
 * When a new revision of a source's manifest is whole: every file it lists
 * that the adopted revision did not list exists at the origin (GitHub, or a
 * mirror where GitHub cannot say), asked where a
 * client would ask for it (the table's `manifests.images` path, through the
 * table's rules, in the manifest's own source). The first revision of a
 * manifest is adopted as it comes: holding it back would serve nothing.
 */
export interface AdmissionOptions {
  readonly table: Table
  readonly origins: Origins
  /** The source whose manifests these are. */
  readonly source: string
  /** The existence check (src/upstream/checks.ts), cached and budgeted like any other. */
  readonly exists: (target: CheckTarget) => Checked | Promise<Checked>
}

export function admission(options: AdmissionOptions): Admit {
  const targetOf = imageTargets(options)
  return async (_release, entries, adopted) => {
    if (adopted === undefined) return null
    const before = new Set(adopted.map((entry) => entry.name))
    const missing: string[] = []
    let unsure = 0
    for (const entry of newEntries(entries, before)) {
      const target = targetOf(entry.name)
      if (target === null) continue
      const { answer: outcome } = await options.exists(target)
      if (outcome === 'missing') missing.push(entry.name)
      if (outcome === 'unknown') unsure++
    }
    if (missing.length === 0 && unsure === 0) return null
    const parts = []
    if (missing.length > 0)
      parts.push(
        `${missing.length} new file(s) not at the origin yet (${missing.slice(0, 3).join(', ')})`,
      )
    if (unsure > 0) parts.push(`${unsure} new file(s) the origin could not confirm`)
    return { reason: parts.join('; '), missing }
  }
}

function* newEntries(
  entries: readonly ManifestEntry[],
  before: ReadonlySet<string>,
): Generator<ManifestEntry> {
  for (const entry of entries) if (!before.has(entry.name)) yield entry
}

/** Where a listed file lives: a redirect rule's target in this source; null when no such rule takes it. */
export function imageTargets(
  options: Pick<AdmissionOptions, 'table' | 'origins' | 'source'>,
): (file: string) => CheckTarget | null {
  const { table, origins, source } = options
  const images: readonly Token[] = table.manifests.images
  return (file) => {
    // A listed name is a file name (the parse refuses anything else): it always makes a path.
    const path = normaliseTarget(renderOutput(images, { file: encodeURIComponent(file) }))
    const found = resolve(table, path, origins)
    if (found.kind !== 'release' || found.rule.snapshot) return null
    const target = found.source === source ? found : inSource(found, source, origins)
    const { release, asset, location } = target
    return { source, release, asset, location, cache: target.rule.cache }
  }
}
