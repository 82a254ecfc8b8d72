import type { RedirectorError } from '../core/errors.js'
import type { SnapshotFile } from '../manifests/snapshot-file.js'
import { answerFor, isPublishedVersion, listOf, type NewestAnswer } from '../catalog/newest.js'
import type { DirectoryForm, NewestName } from '../table/layers.js'
import type { Publisher } from '../table/sources.js'
import { inSource, type Origins, type ReleaseTarget } from '../table/resolve.js'
import { renderOutput, type Token } from '../table/template.js'
import type { FailMode } from '../config/upstream.js'
import { mirrorLocation, type Checked } from '../upstream/checks.js'
import {
  GITHUB_ORIGIN,
  imageLabels,
  page,
  redirect,
  served,
  text,
  type Answer,
  type ImageLabels,
} from './answer.js'
import { byClass, NO_STORE, type Lifetimes } from './lifetimes.js'
import { ask, type Decision } from './needs.js'
import { refusal } from './refused.js'
import type { Route } from './route.js'

/** What the decision is told once, at start: the configuration it applies. */
export interface Policy {
  readonly origins: Origins
  readonly lifetimes: Lifetimes
  /** UPSTREAM_CHECKS: whether release targets are checked with GitHub. */
  readonly checking: boolean
  /** MANIFEST_INDEX: whether the sources' manifests may be read (a rule's `publisher-of`). */
  readonly indexing: boolean
  /** Whether a snapshot rule's files are served from the adopted snapshot (checks and index on). */
  readonly snapshots: boolean
  readonly failMode: FailMode
  /** Seconds before asking again when GitHub could not say (fail closed). */
  readonly checkRetryAfter: string
  /** Seconds before asking again when the manifest index cannot be read. */
  readonly indexRetryAfter: string
  /** The release of an image, from `{ext}` and `{version}` (the table's newest layer). */
  readonly newestRelease: readonly Token[]
  /**
   * The longest a request waits for GitHub in all (one check's bound:
   * UPSTREAM_CONNECT_TIMEOUT + UPSTREAM_TIMEOUT, once more for each mirror
   * a check may go on to); past it, "cannot say".
   */
  readonly waitMs: number
}

/**
 * The decision for one request, as steps: it yields what it needs to know
 * (an existence check, a reading of the manifest index) and returns the
 * Answer. Which layer answers, and with what, is decided here and nowhere
 * else; drivers.ts runs it live, from memory, or for `explain`.
 */
export function* decision(route: Route, policy: Policy): Decision<Answer> {
  switch (route.kind) {
    case 'refused':
      return refusedAnswer(route.error)
    case 'fallback':
      return fixed(route, () =>
        redirect(route.resolution.location, policy.lifetimes.fallback, {
          layer: 'fallback',
          rule: 'fallback',
          upstream: 'unchecked',
        }),
      )
    case 'directory':
      return yield* directory(route.extension, route.form, policy)
    case 'newest':
      return yield* newest(route.name, policy)
    case 'release':
      return yield* release(route, policy)
  }
}

/** A table rule's target: checked with GitHub, then maybe read as a stream. */
function* release(route: Extract<Route, { kind: 'release' }>, policy: Policy): Decision<Answer> {
  const { resolution } = route
  // Most rules name their source: no step (and nothing made) for them.
  const chosen =
    resolution.rule.publisher !== null && policy.indexing
      ? yield* publisherOf(resolution, policy)
      : null
  const target = chosen?.target ?? resolution
  const unsure = chosen?.unsure ?? false
  if (target.rule.snapshot && policy.snapshots) return yield* snapshotFile(route, target, policy)
  let checked: Checked | 'unchecked' = 'unchecked'
  if (policy.checking) {
    const { source, release, asset, location } = target
    checked = yield* ask({
      kind: 'check',
      target: { source, release, asset, location, cache: target.rule.cache },
    })
  }
  const outcome = checked === 'unchecked' ? checked : checked.answer
  // Only a name GitHub does not have (or nobody asked about) may be a stream.
  if (route.newest === null || outcome === 'exists' || outcome === 'unknown') {
    return tableAnswer(route, target, unsure, checked, policy)
  }
  const reading = yield* ask({ kind: 'reading', file: route.newest.file })
  // An index that cannot answer changes nothing; nor does an exact version.
  if (!reading.ok || reading.value === undefined || isPublishedVersion(reading.value)) {
    return tableAnswer(route, target, unsure, checked, policy)
  }
  const found = answerFor(reading.value)
  if (found.kind === 'not-found') {
    // No stream either: say first what the table's answer said, then the choices.
    const said = missingAsset(target.release, target.asset)
    return notFound(`${said}; ${found.message}`, policy)
  }
  return yield* newestImage(found, reading.stale, policy)
}

/**
 * The source a `publisher-of` rule leads to: the one whose global manifest
 * lists the name, when exactly one does; the rule's declared source when
 * none or several do, or when a manifest cannot be read (then `unsure`: the
 * answer is kept briefly, as an unconfirmed one). Sources are asked in table
 * order.
 */
function* publisherOf(
  target: ReleaseTarget,
  policy: Policy,
): Decision<{ target: ReleaseTarget; unsure: boolean }> {
  const name = renderOutput((target.rule.publisher as Publisher).name, target.captures)
  const publishing: string[] = []
  for (const source of Object.keys(policy.origins.sources)) {
    const listed = yield* ask({ kind: 'publishes', source, name })
    if (!listed.ok) return { target, unsure: true }
    if (listed.value) publishing.push(source)
  }
  const only = publishing.length === 1 ? (publishing[0] as string) : target.source
  const chosen = only === target.source ? target : inSource(target, only, policy.origins)
  return { target: chosen, unsure: false }
}

/**
 * A snapshot rule's file: its bytes as adopted; a 404 when the origin has
 * none and no copy is held; a 503 when no copy can be had yet.
 */
function* snapshotFile(
  route: Extract<Route, { kind: 'release' }>,
  target: ReleaseTarget,
  policy: Policy,
): Decision<Answer> {
  const { rule, source, release, asset, location, captures } = target
  const read = yield* ask({ kind: 'file', target: { source, release, asset, location } })
  const meta = { layer: 'table', rule: rule.name, source, captures } as const
  if (!read.ok) {
    const warning = { details: { reason: read.reason }, message: 'snapshot file unavailable' }
    const line = `Service Unavailable: ${asset} of release ${release} cannot be read from GitHub yet; try again shortly`
    const unknown = { ...meta, upstream: 'unknown', warning } as const
    return text(503, line, NO_STORE, unknown, policy.indexRetryAfter)
  }
  if (read.value === undefined) {
    const line = `Not Found: ${missingAsset(release, asset)}`
    return text(404, line, policy.lifetimes.missing, { ...meta, upstream: 'missing' })
  }
  // One answer per route and file: the lane keeps the bytes it wrote for it.
  const file = read.value
  let byFile = servedByRoute.get(route)
  if (byFile === undefined) {
    byFile = new WeakMap()
    servedByRoute.set(route, byFile)
  }
  let made = byFile.get(file)
  if (made === undefined) {
    made = served(file, asset, policy.lifetimes.snapshot, { ...meta, upstream: 'exists' })
    byFile.set(file, made)
  }
  return made
}

/** The table's own answer for its target, once GitHub, a mirror (or nobody) has spoken. */
function tableAnswer(
  route: Extract<Route, { kind: 'release' }>,
  target: ReleaseTarget,
  unsure: boolean,
  checked: Checked | 'unchecked',
  policy: Policy,
): Answer {
  const outcome = checked === 'unchecked' ? checked : checked.answer
  const mirror = checked === 'unchecked' ? null : checked.mirror
  // One answer per source, outcome and mirror: a publisher-of rule's route leads to either source.
  const key = target === route.resolution ? outcome : `${target.source}:${unsure}:${outcome}`
  return fixed(
    route,
    () => {
      const { rule, source, release, asset, location, captures } = target
      const meta = { layer: 'table', rule: rule.name, source, upstream: outcome, captures } as const
      const { lifetimes } = policy
      if (outcome === 'missing') {
        return text(404, `Not Found: ${missingAsset(release, asset)}`, lifetimes.missing, meta)
      }
      const image = imageLabels(release, asset)
      // A guess at the source (its manifest could not be read) is not kept for long.
      const cacheControl = unsure ? lifetimes.unconfirmed : byClass(lifetimes, rule.cache)
      if (mirror !== null) {
        return fromMirror(checked as Checked, target, { ...meta, image }, cacheControl, policy)
      }
      if (outcome !== 'unknown') {
        return redirect(location, cacheControl, { ...meta, image, origin: GITHUB_ORIGIN })
      }
      if (policy.failMode === 'closed') return cannotConfirm(release, asset, meta, policy)
      return redirect(location, lifetimes.unconfirmed, {
        ...meta,
        image,
        origin: GITHUB_ORIGIN,
        warning: unconfirmed(location),
      })
    },
    mirror === null ? key : `${key}@${mirror}`,
  )
}

/**
 * A redirect to the mirror that has the file. Where GitHub failed, it is
 * kept briefly (clients return to GitHub once it answers again); for a
 * client sent to the mirrors first, as long as GitHub's would be.
 */
function fromMirror(
  checked: Checked,
  target: { readonly release: string; readonly asset: string },
  meta: Parameters<typeof redirect>[2],
  lasting: string,
  policy: Policy,
): Answer {
  const mirror = checked.mirror as string
  const first = checked.github === 'mirrors-first'
  const cacheControl = first ? lasting : policy.lifetimes.unconfirmed
  return redirect(mirrorLocation(mirror, target), cacheControl, { ...meta, origin: mirror })
}

/** A name no rule takes, read by the manifest index: the newest image, or a 404 naming the choices. */
function* newest(name: NewestName, policy: Policy): Decision<Answer> {
  const reading = yield* ask({ kind: 'reading', file: name.file })
  if (!reading.ok) return indexUnavailable(reading.reason, 'the list of published versions', policy)
  if (reading.value !== undefined) {
    const found = answerFor(reading.value)
    if (found.kind === 'not-found') return notFound(found.message, policy)
    return yield* newestImage(found, reading.stale, policy)
  }
  const all = yield* ask({ kind: 'extensions', source: policy.origins.source })
  if (!all.ok) return indexUnavailable(all.reason, 'the list of published versions', policy)
  const names = all.value.map((extension) => extension.name)
  return notFound(
    `no extension matches ${name.file}; extensions: ${listOf(names, '/extensions/')}`,
    policy,
  )
}

/** The image the index chose; GitHub has the last word on whether it is still there. */
function* newestImage(
  found: Extract<NewestAnswer, { kind: 'image' }>,
  stale: boolean,
  policy: Policy,
): Decision<Answer> {
  const { image, extension } = found
  const release = renderOutput(policy.newestRelease, { ext: extension, version: image.version })
  const location = `${policy.origins.releases}/${release}/${image.file}`
  let checked: Checked | 'unchecked' = 'unchecked'
  if (policy.checking) {
    const source = policy.origins.source
    const target = { source, release, asset: image.file, location, cache: 'versioned' } as const
    checked = yield* ask({ kind: 'check', target })
  }
  const outcome = checked === 'unchecked' ? checked : checked.answer
  const labels: ImageLabels = { extension, version: image.version, arch: image.arch }
  const meta = {
    layer: 'newest',
    rule: 'newest',
    source: policy.origins.source,
    upstream: outcome,
    image: labels,
  } as const
  if (outcome === 'missing') {
    const line = `Not Found: the index lists ${image.file}, but release ${release} does not have it`
    return text(404, line, policy.lifetimes.missing, meta)
  }
  const cacheControl = stale ? policy.lifetimes.unconfirmed : policy.lifetimes.moving
  if (checked !== 'unchecked' && checked.mirror !== null) {
    const where = { release, asset: image.file }
    return fromMirror(checked, where, { ...meta, image: labels }, cacheControl, policy)
  }
  if (outcome === 'unknown') {
    if (policy.failMode === 'closed') return cannotConfirm(release, image.file, meta, policy)
    return redirect(location, policy.lifetimes.unconfirmed, {
      ...meta,
      origin: GITHUB_ORIGIN,
      warning: unconfirmed(location),
    })
  }
  return redirect(location, cacheControl, { ...meta, origin: GITHUB_ORIGIN })
}

/** `/extensions/` (extension null) or `/extensions/<ext>/`: a directory form's, of its source. */
function* directory(
  extension: string | null,
  form: DirectoryForm,
  policy: Policy,
): Decision<Answer> {
  const source = form.source ?? policy.origins.source
  const lifetime = (catalog: { stale: boolean }): string =>
    catalog.stale ? policy.lifetimes.unconfirmed : policy.lifetimes.moving
  // Where the page is: its source (named only where there is a choice) and the path it links below.
  const shown = {
    source: Object.keys(policy.origins.sources).length > 1 ? source : null,
    base: form.base,
    layout: form.layout,
  }
  if (extension !== null) {
    const one = yield* ask({ kind: 'extension', source, name: extension })
    if (!one.ok) return indexUnavailable(one.reason, 'the list of extensions', policy, 'directory')
    if (one.value !== undefined) {
      return page(200, { kind: 'extension', extension: one.value, ...shown }, lifetime(one), source)
    }
  }
  const all = yield* ask({ kind: 'extensions', source })
  if (!all.ok) return indexUnavailable(all.reason, 'the list of extensions', policy, 'directory')
  if (extension === null)
    return page(200, { kind: 'listing', extensions: all.value, ...shown }, lifetime(all), source)
  const choices = all.value.map((one) => one.name).sort()
  return page(404, { kind: 'unknown', name: extension, choices, ...shown }, lifetime(all), source)
}

/** What a 404 for a missing release asset says. */
export function missingAsset(release: string, asset: string): string {
  return `release ${release} has no asset ${asset}`
}

function notFound(message: string, policy: Policy): Answer {
  const meta = { layer: 'newest', rule: 'newest', upstream: 'unchecked' } as const
  return text(404, `Not Found: ${message}`, policy.lifetimes.missing, meta)
}

function cannotConfirm(
  release: string,
  asset: string,
  meta: Parameters<typeof text>[3],
  policy: Policy,
): Answer {
  const line = `Service Unavailable: cannot confirm with GitHub that release ${release} has asset ${asset}; try again shortly`
  return text(503, line, NO_STORE, meta, policy.checkRetryAfter)
}

/** The index cannot be read yet (GitHub unreachable, no good copy): a 503, never a 4xx Ignition would take as final. */
function indexUnavailable(
  reason: string,
  what: string,
  policy: Policy,
  rule: 'newest' | 'directory' = 'newest',
): Answer {
  const meta = {
    layer: rule,
    rule,
    upstream: null,
    warning: { details: { reason }, message: 'manifest index unavailable' },
  } as const
  const line = `Service Unavailable: ${what} cannot be read from GitHub yet; try again shortly`
  return text(503, line, NO_STORE, meta, policy.indexRetryAfter)
}

function unconfirmed(location: string): { details: object; message: string } {
  return { details: { location }, message: 'upstream check failed; redirecting unconfirmed' }
}

/** A refused path's answer: its 4xx and the line saying what was wrong. */
export function refusedAnswer(error: RedirectorError): Answer {
  const { status, line } = refusal(error)
  return text(status, line, NO_STORE, { layer: 'path', rule: null, upstream: null })
}

/**
 * Answers that depend only on the route (and the check's outcome) are made
 * once per route: the same object comes back for every request with this
 * target, so renderers can keep what they made of it (the lane's bytes).
 */
const made = new WeakMap<object, Record<string, Answer>>()

/** A snapshot file's answer, by route and by the file adopted (a new revision, a new answer). */
const servedByRoute = new WeakMap<object, WeakMap<SnapshotFile, Answer>>()

function fixed(route: object, make: () => Answer, key = 'answer'): Answer {
  let answers = made.get(route)
  if (answers === undefined) {
    // A plain object: a Map's table is several times larger for these few keys.
    answers = {}
    made.set(route, answers)
  }
  return (answers[key] ??= make())
}
