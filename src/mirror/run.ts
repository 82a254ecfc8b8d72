import { setTimeout as sleep } from 'node:timers/promises'
import type { Dispatcher } from 'undici'
import type { Settings } from '../config/settings.js'
import { RedirectorError } from '../core/errors.js'
import type { Answer } from '../decision/answer.js'
import { decision } from '../decision/decide.js'
import { liveFacts, run, type IndexSource, type Knowledge } from '../decision/drivers.js'
import { policyOf } from '../decision/policy.js'
import { routeFinder } from '../decision/route.js'
import { FLATCAR_PLACE, type Place } from '../directory/model.js'
import { normaliseTarget } from '../path/normalise.js'
import { resolve } from '../table/resolve.js'
import type { UpstreamGate } from '../upstream/gate.js'
import { download, type DownloadOptions } from './download.js'
import type { MirrorOptions } from './options.js'
import {
  extensionManifestPath,
  filesBase,
  globalPath,
  planExtension,
  planGlobal,
  type ExtensionPlan,
} from './plan.js'
import type { Progress } from './progress.js'
import { Tree } from './tree.js'

/**
 * `sysext-redirector mirror DIR`: the current consistent snapshot written as
 * a static tree, the same paths the service answers, for any static server.
 * It is a client of the service's own decision, run in process: each path is
 * answered as the service would answer it, the snapshot files (manifests,
 * signatures, transfer files) with their adopted bytes, each image by the
 * redirect the service would send, downloaded from there and verified
 * against its manifest. Images first, then transfer files, then each
 * manifest with its signatures: a reader never sees a manifest that lists a
 * file the tree lacks. Every file also goes under `releases/<source>/<tag>/`,
 * GitHub's layout, so the tree serves the service as a mirror (BAKERY_MIRRORS).
 */
export interface MirrorDeps {
  readonly settings: Settings
  /** The service's checks and manifests, asked as the service asks them. */
  readonly knowledge: Knowledge
  /** GitHub's pauses and budget, shared with the checks. */
  readonly gate: Pick<UpstreamGate, 'admitCheck' | 'observe' | 'wouldHold'>
  /** Where the downloads go. */
  readonly dispatcher: Dispatcher
  readonly progress: Progress
  /** Said on stderr: what the tree leaves out, and why. */
  readonly warn: (line: string) => void
}

/** What a run did, for its summary line. */
export interface MirrorSummary {
  readonly extensions: number
  readonly images: number
  readonly downloaded: number
  readonly bytes: number
  readonly files: number
  readonly removed: number
}

/** A snapshot file to write: its path and bytes. */
interface Written {
  readonly path: string
  readonly bytes: Uint8Array
}

/** One directory of the tree: its extensions' plans, its global manifest, their signatures. */
interface PlacePlan {
  readonly source: string
  readonly extensions: readonly ExtensionPlan[]
  readonly transfers: readonly Written[]
  /** Each manifest (the extensions', then the global one) followed by its signatures. */
  readonly manifests: readonly (readonly Written[])[]
}

// How long a download may go without a byte before it is given up (resumed by the next run).
const IDLE_TIMEOUT_MS = 60_000

export async function mirror(options: MirrorOptions, deps: MirrorDeps): Promise<MirrorSummary> {
  const { config, table, origins } = deps.settings
  const policy = policyOf(config, table, origins)
  if (!policy.snapshots) {
    throw new RedirectorError(
      'SR_CONFIG_INVALID',
      'the mirror command writes the adopted snapshot: UPSTREAM_CHECKS, MANIFEST_INDEX and SNAPSHOTS must be on',
    )
  }
  const places = placesOf(deps.settings, options.sources)
  const find = routeFinder({ table, origins, index: true })
  const facts = liveFacts(deps.knowledge)
  const waitMs = budgetWaitMs(config.upstream.checksPerSecond)
  // Each answer may send a request to GitHub: one at a time, within the budget.
  const ask = async (path: string): Promise<Answer> => {
    await paced(deps.gate, waitMs)
    return run(decision(find(path), policy), facts)
  }
  const tree = await Tree.open(options.dir)
  try {
    const plans: PlacePlan[] = []
    for (const { source, place } of places) {
      plans.push(await planPlace(source, place, options, deps, ask))
    }
    const images = await fetchImages(plans, tree, deps, ask, waitMs)
    let files = 0
    for (const plan of plans) files += await place(plan, tree, deps.settings)
    const { removed } = await tree.finish()
    return {
      extensions: plans.reduce((sum, plan) => sum + plan.extensions.length, 0),
      ...images,
      files,
      removed,
    }
  } finally {
    await tree.close()
  }
}

/** The directories mirrored: each directory form's source and place, once; `sources` picks. */
function placesOf(
  { table, origins }: Settings,
  sources: ReadonlySet<string> | null,
): { source: string; place: Place }[] {
  const all = Object.keys(origins.sources)
  for (const source of sources ?? []) {
    if (!all.includes(source)) {
      throw new RedirectorError(
        'SR_CONFIG_INVALID',
        `--source ${source}: the table's sources are ${all.join(', ')}`,
      )
    }
  }
  const seen = new Map<string, { source: string; place: Place }>()
  const forms =
    table.directories.length === 0
      ? [{ source: null, base: FLATCAR_PLACE.base, layout: FLATCAR_PLACE.layout }]
      : table.directories
  for (const form of forms) {
    const source = form.source ?? origins.source
    if (sources !== null && !sources.has(source)) continue
    const place = { base: form.base, layout: form.layout }
    // A listing and its extension pages are one directory of files.
    seen.set(`${source} ${filesBase(place)}`, { source, place })
  }
  return [...seen.values()]
}

/** A directory's snapshot files, read as the service serves them, and what they list. */
async function planPlace(
  source: string,
  place: Place,
  options: MirrorOptions,
  deps: MirrorDeps,
  ask: (path: string) => Promise<Answer>,
): Promise<PlacePlan> {
  const { table } = deps.settings
  const names = await extensionNames(source, options, deps)
  const extensions: ExtensionPlan[] = []
  const transfers: Written[] = []
  const manifests: Written[][] = []
  for (const name of names) {
    const manifestPath = extensionManifestPath(name, place, table.manifests)
    const adopted = required(manifestPath, await snapshotFile(ask, manifestPath))
    const plan = planExtension(name, adopted, options.choice, place, table.manifests)
    extensions.push(plan)
    for (const path of plan.transferPaths) {
      const bytes = await snapshotFile(ask, path)
      if (bytes !== null) transfers.push({ path, bytes })
    }
    manifests.push(await signed(plan.manifestPath, plan.manifest, plan.filtered, ask, deps))
  }
  const path = globalPath(place, table.manifests)
  const global = planGlobal(required(path, await snapshotFile(ask, path)), extensions)
  manifests.push(await signed(path, global.bytes, global.filtered, ask, deps))
  return { source, extensions, transfers, manifests }
}

/** The source's extensions, as its manifest index lists them; `--extension` picks, by name. */
async function extensionNames(
  source: string,
  options: MirrorOptions,
  deps: MirrorDeps,
): Promise<string[]> {
  // Every source has its index (liveKnowledge makes one each).
  const index = deps.knowledge.indexes?.get(source) as IndexSource
  const all = await index.extensions().catch((err: unknown) => {
    throw failed(`the extensions of ${source} cannot be read: ${(err as Error).message}`)
  })
  const names = all.map((extension) => extension.name).sort()
  const wanted = options.choice.extensions
  if (wanted === null) return names
  const unknown = [...wanted].filter((name) => !names.includes(name))
  if (unknown.length > 0) {
    throw new RedirectorError(
      'SR_CONFIG_INVALID',
      `--extension ${unknown.join(', ')}: ${source} publishes none of that name; it publishes ${names.join(', ')}`,
    )
  }
  return names.filter((name) => wanted.has(name))
}

/**
 * A manifest and the signatures the service serves beside it; a filtered
 * manifest has none (they sign the bytes the bakery wrote), and that is said.
 */
async function signed(
  path: string,
  bytes: Uint8Array,
  filtered: boolean,
  ask: (path: string) => Promise<Answer>,
  deps: MirrorDeps,
): Promise<Written[]> {
  const files: Written[] = [{ path, bytes }]
  for (const suffix of deps.settings.table.manifests.signatures) {
    const signature = await snapshotFile(ask, `${path}${suffix}`)
    if (signature === null) continue
    if (filtered) {
      deps.warn(
        `${path}${suffix} left out: it signs the whole manifest, and ${path} lists only what was chosen`,
      )
      continue
    }
    files.push({ path: `${path}${suffix}`, bytes: signature })
  }
  return files
}

/**
 * A snapshot file's bytes as the service serves them; null when it has none
 * (a 404, or no snapshot file of the table at that path). Unavailable (503)
 * ends the run: the tree would miss what the service has.
 */
async function snapshotFile(
  ask: (path: string) => Promise<Answer>,
  path: string,
): Promise<Uint8Array | null> {
  const answer = await ask(path)
  if (answer.status === 200 && answer.file !== undefined) return answer.file.bytes
  if (answer.status === 503) throw failed(`${path}: the service answers 503 ${answer.body}`)
  return null
}

/** A manifest the tree cannot do without. */
function required(path: string, bytes: Uint8Array | null): Uint8Array {
  if (bytes === null) throw failed(`${path}: the service serves no manifest there`)
  return bytes
}

/** Every image at hand, downloaded where it is not: what was fetched. */
async function fetchImages(
  plans: readonly PlacePlan[],
  tree: Tree,
  deps: MirrorDeps,
  ask: (path: string) => Promise<Answer>,
  budgetWaitMs: number,
): Promise<{ images: number; downloaded: number; bytes: number }> {
  const github = Object.values(deps.settings.origins.sources)
  const options: DownloadOptions = {
    dispatcher: deps.dispatcher,
    gate: deps.gate,
    isGitHub: (url) => github.some((base) => url.startsWith(`${base}/`)),
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    budgetWaitMs,
    onBytes: (count) => deps.progress.bytes(count),
  }
  const images = new Map(
    plans
      .flatMap((plan) => plan.extensions.flatMap((one) => one.images))
      .map((image) => [image.sha256, image]),
  )
  deps.progress.start(images.size)
  let downloaded = 0
  let bytes = 0
  for (const image of images.values()) {
    if (!(await tree.hasObject(image.sha256, image.paths))) {
      const answer = await ask(image.paths[0] as string)
      if (answer.status !== 302 || answer.location === undefined) {
        throw failed(`${image.file}: the service answers ${answer.status} ${answer.body}`.trim())
      }
      const partial = tree.partialPath(image.sha256)
      const got = await download(answer.location, partial, image.sha256, image.file, options)
      await tree.finishObject(image.sha256)
      downloaded++
      bytes += got.fetched
    }
    deps.progress.done(image.file)
  }
  deps.progress.end()
  return { images: images.size, downloaded, bytes }
}

/**
 * Puts a directory in place, in the order readers need: images (and the
 * newest names), transfer files, then each manifest and its signatures.
 * Returns how many snapshot files were written.
 */
async function place(plan: PlacePlan, tree: Tree, settings: Settings): Promise<number> {
  const release = releasePath(plan.source, settings)
  for (const extension of plan.extensions) {
    for (const image of extension.images) {
      for (const path of image.paths) await tree.placeImage(path, image.sha256)
      const view = release(image.paths[0] as string)
      if (view !== null) await tree.placeImage(view, image.sha256)
    }
    for (const { path, sha256 } of extension.newest) await tree.placeImage(path, sha256)
  }
  // Transfer files, then each manifest followed by its signatures.
  const files = [...plan.transfers, ...plan.manifests.flat()]
  for (const { path, bytes } of files) await writeBoth(tree, path, bytes, release)
  return files.length
}

async function writeBoth(
  tree: Tree,
  path: string,
  bytes: Uint8Array,
  release: (path: string) => string | null,
): Promise<void> {
  await tree.placeFile(path, bytes)
  const view = release(path)
  if (view !== null) await tree.placeFile(view, bytes)
}

/**
 * Where a file of the tree is in GitHub's layout, `releases/<source>/<tag>/<asset>`,
 * by the table's rules; null for a path no rule takes.
 */
function releasePath(
  source: string,
  { table, origins }: Settings,
): (path: string) => string | null {
  return (path) => {
    const found = resolve(table, normaliseTarget(path), origins)
    /* c8 ignore next -- every path written was answered by a rule: a snapshot file or an image */
    if (found.kind !== 'release') return null
    return `/releases/${source}/${found.release}/${found.asset}`
  }
}

/** How long one token of the per-second budget takes to come back. */
function budgetWaitMs(checksPerSecond: number): number {
  return Math.ceil(1000 / checksPerSecond)
}

/**
 * Waits until the budget has room for a request of the service's own.
 * During a pause GitHub asked for, the decision goes on without GitHub (to
 * a mirror, or to a 503 that ends the run).
 */
async function paced(gate: MirrorDeps['gate'], waitMs: number): Promise<void> {
  while (gate.wouldHold() === 'budget') await sleep(waitMs)
}

function failed(message: string): RedirectorError {
  return new RedirectorError('SR_MIRROR_FAILED', message)
}
