import { isRedirectorError } from '../core/errors.js'
import type { Extension } from '../catalog/catalog.js'
import type { HeldFile } from '../manifests/held-files.js'
import { interpret, type CatalogSource, type Interpretation } from '../catalog/newest.js'
import type { SnapshotFile } from '../manifests/snapshot-file.js'
import { UNKNOWN, type CheckTarget, type UpstreamChecks } from '../upstream/checks.js'
import type { Answer } from './answer.js'
import type { Catalog, Decision, Fact, Need } from './needs.js'

/**
 * Where a decision's facts come from. The decision itself (decide.ts) is the
 * same for every driver; a driver only answers its needs.
 */
export interface Knowledge {
  /** The existence checks; null with UPSTREAM_CHECKS=false (never asked then). */
  readonly checks: UpstreamChecks | null
  /** The default source's manifest index; null with MANIFEST_INDEX=false (never asked then). */
  readonly index: IndexSource | null
  /** Every source's index, by name; without it, a table of one source (`index` alone). */
  readonly indexes?: ReadonlyMap<string, IndexSource>
  /** Every source's adopted snapshot files, by name; read only when the policy serves snapshots. */
  readonly snapshots?: ReadonlyMap<string, SnapshotSource>
}

/** A source's snapshot files as the decision reads them (src/manifests/snapshots.ts). */
export interface SnapshotSource {
  /** `client`: its address, so that the signature it gets covers the manifest it was given. */
  read(release: string, asset: string, client?: string): HeldFile | Promise<HeldFile>
  /** The file while it is fresh in memory; undefined when a read must refresh it first. */
  readNow?(release: string, asset: string, client?: string): HeldFile | undefined
}

/** The index of a source (the default's, for a table of one). */
function indexOf(knowledge: Knowledge, source: string): IndexSource {
  const index = knowledge.indexes === undefined ? knowledge.index : knowledge.indexes.get(source)
  return index as IndexSource
}

/** The manifest index as the decision reads it. */
export interface IndexSource extends CatalogSource {
  /** Whether a copy behind these extensions (and the global list) is past its refresh. */
  stale(extensions: readonly string[]): boolean
  /** Whether the global manifest lists images of a name. */
  publishes(name: string): Promise<boolean>
  /** Reads from fresh manifests in memory, or undefined when they must wait; throw as reads do. */
  publishesNow?(name: string): { found: boolean } | undefined
  readingNow?(file: string): { found: Interpretation | undefined } | undefined
  extensionNow?(name: string): { found: Extension | undefined } | undefined
  extensionsNow?(): { found: readonly Extension[] } | undefined
}

/** `client`: the requesting client's address, where a fact depends on it (snapshot signatures). */
export type FactSource = (need: Need, client?: string) => Fact | Promise<Fact>

/**
 * Runs a decision to its answer, synchronously while every fact is at hand,
 * with a promise from the first fact that is not. `seen` is told each need
 * and its fact (explain prints them). With `waitMs`, the request waits for
 * facts that long in all, from its first wait: a fact that comes later is
 * taken as "GitHub cannot say" (the wait for it goes on in the caches, for
 * the requests after), so no answer waits longer, however slow GitHub is.
 */
export function run(
  steps: Decision<Answer>,
  factOf: FactSource,
  seen?: (need: Need, fact: Fact) => void,
  waitMs?: number,
  client?: string,
): Answer | Promise<Answer> {
  return resume(steps, factOf, { seen, waitMs, until: undefined, client }, undefined)
}

interface Run {
  readonly seen: ((need: Need, fact: Fact) => void) | undefined
  readonly waitMs: number | undefined
  readonly client: string | undefined
  /** When the waiting ends (performance.now()), set at the first wait. */
  until: number | undefined
}

/** Goes on from the fact a need was answered with (none: the start). */
function resume(
  steps: Decision<Answer>,
  factOf: FactSource,
  state: Run,
  fact: Fact | undefined,
): Answer | Promise<Answer> {
  let next = steps.next(fact as Fact)
  while (!next.done) {
    const need = next.value
    const known = factOf(need, state.client)
    if (known instanceof Promise) {
      return bounded(need, known, state).then((value) => {
        state.seen?.(need, value)
        return resume(steps, factOf, state, value)
      })
    }
    state.seen?.(need, known)
    next = steps.next(known)
  }
  return next.value
}

/** The fact, or "cannot say" once the request has waited its `waitMs` in all. */
function bounded(need: Need, known: Promise<Fact>, state: Run): Promise<Fact> {
  if (state.waitMs === undefined) return known
  const now = performance.now()
  state.until ??= now + state.waitMs
  const waitMs = state.waitMs
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<Fact>((resolve) => {
    timer = setTimeout(
      () => resolve(tooLate(need, waitMs)),
      Math.max(0, (state.until as number) - now),
    )
  })
  return Promise.race([known, late]).finally(() => clearTimeout(timer))
}

/** What a need is taken to be when GitHub did not answer in time. */
function tooLate(need: Need, waitMs: number): Fact {
  if (need.kind === 'check') return UNKNOWN
  return { ok: false, reason: `GitHub did not answer within ${waitMs} ms` }
}

/** Facts from the live caches, asking GitHub where they do not know. */
export function liveFacts(knowledge: Knowledge): FactSource {
  return (need, client) => {
    if (need.kind === 'check') {
      return (knowledge.checks as UpstreamChecks).lookupNow(need.target, client)
    }
    // From memory when the manifests are fresh there, else the reads that wait.
    if (need.kind === 'reading') {
      const index = knowledge.index as IndexSource
      return (
        readingNow(index, need.file) ?? catalog(interpret(need.file, index), index, namesOfReading)
      )
    }
    if (need.kind === 'file') {
      const { source, release, asset } = need.target
      const read = (knowledge.snapshots?.get(source) as SnapshotSource).read(release, asset, client)
      return read instanceof Promise ? read.then(fileFact) : fileFact(read)
    }
    const index = indexOf(knowledge, need.source)
    if (need.kind === 'publishes') {
      return (
        publishesNow(index, need.name) ?? catalog(index.publishes(need.name), index, namesOfNone)
      )
    }
    if (need.kind === 'extension') {
      return (
        fromIndex(index, () => index.extensionNow?.(need.name), namesOfOne) ??
        catalog(index.extension(need.name), index, namesOfOne)
      )
    }
    return (
      fromIndex(index, () => index.extensionsNow?.(), namesOfAll) ??
      catalog(index.extensions(), index, namesOfAll)
    )
  }
}

/** A held file as a fact: the file, undefined when the origin has none, or why it cannot be had. */
function fileFact(held: HeldFile): Catalog<SnapshotFile | undefined> {
  if (held.state === 'unavailable') return { ok: false, reason: held.reason }
  return { ok: true, value: held.state === 'ok' ? held.file : undefined, stale: false }
}

const namesOfReading = (found: Interpretation | undefined): string[] =>
  found === undefined ? [] : [found.extension.name]
const namesOfOne = (one: Extension | undefined): string[] => (one === undefined ? [] : [one.name])
const namesOfAll = (all: readonly Extension[]): string[] => all.map((one) => one.name)
// Whether a name is published reads the global manifest alone.
const namesOfNone = (): string[] => []

/** publishes() from memory alone, as a fact; undefined when the index must be waited for. */
function publishesNow(index: IndexSource, name: string): Catalog<boolean> | undefined {
  return fromIndex(index, () => index.publishesNow?.(name), namesOfNone)
}

/** A reading from memory alone, as a fact; undefined when the index must be waited for. */
function readingNow(
  index: IndexSource,
  file: string,
): Catalog<Interpretation | undefined> | undefined {
  return fromIndex(index, () => index.readingNow?.(file), namesOfReading)
}

/** A read of the index from memory alone, as a fact; undefined when it must wait. */
function fromIndex<T>(
  index: IndexSource,
  read: () => { found: T } | undefined,
  namesOf: (value: T) => readonly string[],
): Catalog<T> | undefined {
  try {
    const now = read()
    if (now === undefined) return undefined
    return { ok: true, value: now.found, stale: index.stale(namesOf(now.found)) }
  } catch (err) {
    return unavailable(err)
  }
}

/** The manifests cannot be read (GitHub unreachable, no good copy): a fact, not a throw. */
function unavailable(err: unknown): Catalog<never> {
  /* c8 ignore next -- no input makes the index throw anything else */
  if (!isRedirectorError(err) || err.code !== 'SR_INDEX_UNAVAILABLE') throw err
  return { ok: false, reason: err.message }
}

async function catalog<T>(
  read: Promise<T>,
  index: IndexSource,
  namesOf: (value: T) => readonly string[],
): Promise<Catalog<T>> {
  try {
    const value = await read
    return { ok: true, value, stale: index.stale(namesOf(value)) }
  } catch (err) {
    return unavailable(err)
  }
}

/** An answer made from memory alone, and what sending it changes. */
export interface FromMemory {
  readonly answer: Answer
  /**
   * Makes the reads this answer rests on count, as the live driver's do (the
   * check lookups: their hits, their per-client budget); call it once the
   * answer is sure to be sent, not before.
   */
  commit(): void
}

/**
 * The decision from memory alone, changing nothing (no lookup counted, no
 * refresh started); null when it needs anything memory does not hold. What
 * it returns is what the live driver would return now: checks.answerNow
 * reads the cache exactly as lookupNow does, without its side effects.
 */
export function fromMemory(
  steps: Decision<Answer>,
  knowledge: Knowledge,
  client?: string,
): FromMemory | null {
  const checked: CheckTarget[] = []
  let next = steps.next(undefined as unknown as Fact)
  while (!next.done) {
    const need = next.value
    let fact: Fact | undefined
    if (need.kind === 'check') {
      fact = (knowledge.checks as UpstreamChecks).answerNow(need.target, client)
      checked.push(need.target)
    } else if (need.kind === 'reading') {
      fact = readingNow(knowledge.index as IndexSource, need.file)
    } else if (need.kind === 'publishes') {
      fact = publishesNow(indexOf(knowledge, need.source), need.name)
    } else if (need.kind === 'file') {
      const { source, release, asset } = need.target
      const held = knowledge.snapshots?.get(source)?.readNow?.(release, asset, client)
      fact = held === undefined ? undefined : fileFact(held)
    }
    // The directory's reads are never from memory: its pages are Fastify's to render.
    if (fact === undefined) return null
    next = steps.next(fact)
  }
  const { checks } = knowledge
  return {
    answer: next.value,
    commit: () => {
      for (const target of checked) (checks as UpstreamChecks).lookupNow(target, client)
    },
  }
}

/** The decision up to its first need (explain, offline): the answer, or what it would ask. */
export function firstNeed(steps: Decision<Answer>): { answer: Answer } | { need: Need } {
  const next = steps.next(undefined as unknown as Fact)
  return next.done ? { answer: next.value } : { need: next.value }
}
