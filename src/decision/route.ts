import { isRedirectorError, type RedirectorError } from '../core/errors.js'
import { normaliseTarget, type Target } from '../path/normalise.js'
import { directoryPage, newestName, type DirectoryForm, type NewestName } from '../table/layers.js'
import { resolve, type FallbackTarget, type Origins, type ReleaseTarget } from '../table/resolve.js'
import type { Table } from '../table/table.js'

/**
 * Where a request target leads before anything outside memory is asked:
 * the first half of the decision, pure and the same for every request with
 * this target, so it is worked out once per target (decide.ts remembers it).
 *
 * The layers, in order: the path is normalised (refused when it cannot be);
 * the table's rules are tried (first match wins); a path no rule takes may
 * be a directory page or a newest-version name, when the manifest index is
 * on; anything else goes to the fallback site. A newest-version name a rule
 * takes too (`kubernetes-v1.32-x86-64.raw` reads as release
 * `kubernetes-v1.32`) stays the rule's unless GitHub says it is missing.
 */
export type Route =
  | { readonly kind: 'refused'; readonly error: RedirectorError }
  | {
      readonly kind: 'release'
      readonly target: Target
      readonly resolution: ReleaseTarget
      /** The form and image name to read as a stream when GitHub says missing; null: none. */
      readonly newest: NewestName | null
    }
  | {
      readonly kind: 'directory'
      readonly target: Target
      readonly form: DirectoryForm
      /** The extension of an extension page; null for the listing. */
      readonly extension: string | null
    }
  | { readonly kind: 'newest'; readonly target: Target; readonly name: NewestName }
  | { readonly kind: 'fallback'; readonly target: Target; readonly resolution: FallbackTarget }

export interface RouteOptions {
  readonly table: Table
  readonly origins: Origins
  /** Whether the manifest index is on: without it, its forms reach the fallback. */
  readonly index: boolean
}

export function routeFinder(options: RouteOptions): (rawTarget: string) => Route {
  const { table, origins } = options
  const directories = options.index ? table.directories : []
  const newestForms = options.index && table.newest !== null ? table.newest.forms : []
  return (rawTarget) => {
    let target: Target
    try {
      target = normaliseTarget(rawTarget)
    } catch (err) {
      /* c8 ignore next -- normaliseTarget throws nothing but RedirectorError */
      if (!isRedirectorError(err)) throw err
      return { kind: 'refused', error: err }
    }
    const resolution = resolve(table, target, origins)
    const name = newestName(newestForms, target.path)
    if (resolution.kind === 'release') return { kind: 'release', target, resolution, newest: name }
    const page = directoryPage(directories, target.path)
    if (page !== null) return { kind: 'directory', target, ...page }
    if (name !== null) return { kind: 'newest', target, name }
    return { kind: 'fallback', target, resolution }
  }
}
