import type { Extension } from '../catalog/catalog.js'
import type { SnapshotFile } from '../manifests/snapshot-file.js'
import type { Interpretation } from '../catalog/newest.js'
import type { Checked, CheckTarget } from '../upstream/checks.js'

/**
 * What a decision may need to know beyond memory, one thing at a time. The
 * decision (decide.ts) yields a Need and is handed back its Fact; a driver
 * (drivers.ts) decides where facts come from: the live caches and GitHub
 * (the route), memory only (the lane), or nowhere (`explain` offline).
 */
export type Need =
  /** Whether GitHub (or a mirror) has a release asset, and which. */
  | { readonly kind: 'check'; readonly target: CheckTarget }
  /** What a newest-version image name asks for, by the manifest index. */
  | { readonly kind: 'reading'; readonly file: string }
  /** One extension of a source, by name (a directory page). */
  | { readonly kind: 'extension'; readonly source: string; readonly name: string }
  /** Every extension of a source (the listing, and the choices a 404 names). */
  | { readonly kind: 'extensions'; readonly source: string }
  /** Whether a source's global manifest lists images of a name (a rule's `publisher-of`). */
  | { readonly kind: 'publishes'; readonly source: string; readonly name: string }
  /** A snapshot file (a manifest, a signature, a transfer file) as adopted. */
  | { readonly kind: 'file'; readonly target: FileTarget }

/** A snapshot file: an asset of a release, in a source. */
export interface FileTarget {
  readonly source: string
  readonly release: string
  readonly asset: string
  /** Where the origin serves it (explain says it). */
  readonly location: string
}

/** What the manifest index said: a value (and whether a copy behind it is stale), or why it could not. */
export type Catalog<T> =
  | { readonly ok: true; readonly value: T; readonly stale: boolean }
  | { readonly ok: false; readonly reason: string }

export interface Facts {
  check: Checked
  reading: Catalog<Interpretation | undefined>
  extension: Catalog<Extension | undefined>
  extensions: Catalog<readonly Extension[]>
  publishes: Catalog<boolean>
  /** The file as adopted; undefined when the origin has none (and no copy is held). */
  file: Catalog<SnapshotFile | undefined>
}

export type Fact = Facts[keyof Facts]

/** One step of a decision: yields needs, receives their facts, returns the answer. */
export type Decision<T> = Generator<Need, T, Fact>

/** Asks for one fact, typed by the need's kind. */
export function* ask<K extends keyof Facts>(
  need: Extract<Need, { kind: K }>,
): Generator<Need, Facts[K], Fact> {
  return (yield need) as Facts[K]
}

/** How a need is said to a person (explain). */
export function describeNeed(need: Need): string {
  switch (need.kind) {
    case 'check':
      return `an existence check: HEAD ${need.target.location}`
    case 'reading':
      return `the manifest index, to read ${need.file} (the newest image, or a stream)`
    case 'extension':
      return `the manifest index of ${need.source}, for extension ${need.name}`
    case 'extensions':
      return `the manifest index of ${need.source}, for every extension`
    case 'publishes':
      return `the global manifest of ${need.source}, to see whether it publishes ${need.name}`
    case 'file':
      return `the adopted snapshot of ${need.target.source}, for ${need.target.location}`
  }
}
