import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAllDocuments, parse as parseYaml } from 'yaml'

/**
 * Renders a kustomize base the way `kubectl kustomize` does, for the few
 * kustomization fields our base uses, so CI can check the manifests without
 * kubectl. A field it does not know stops it: it never renders something
 * else than kustomize would.
 */

export interface Resource {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { name: string; labels?: Record<string, string> }
  readonly [field: string]: unknown
}

interface LabelSet {
  pairs: Record<string, string>
  includeSelectors?: boolean
  includeTemplates?: boolean
}

interface ImageRule {
  name: string
  newName?: string
  newTag?: string
  digest?: string
}

/** A JSON 6902 patch of the resources a target names (kind and name). */
interface Patch {
  target: { kind: string; name: string }
  patch: string
}

interface Kustomization {
  apiVersion?: string
  kind?: string
  resources?: string[]
  components?: string[]
  labels?: LabelSet[]
  images?: ImageRule[]
  patches?: Patch[]
}

const KNOWN = new Set([
  'apiVersion',
  'kind',
  'resources',
  'components',
  'labels',
  'images',
  'patches',
])

/**
 * Reads `dir/kustomization.yaml`, its resources (files, or directories holding
 * a kustomization) and its components, and applies it, as kustomize does:
 * resources, then each component's resources and patches, then its own
 * labels, images and patches.
 */
export async function renderKustomization(dir: string): Promise<Resource[]> {
  const k = await readKustomization(dir, 'Kustomization')
  let resources: Resource[] = []
  for (const entry of k.resources ?? []) resources.push(...(await readResources(dir, entry)))
  for (const component of k.components ?? []) {
    resources = await withComponent(join(dir, component), resources)
  }
  return applyKustomization(k, resources)
}

/** A component adds its resources, and its patches apply to everything gathered so far. */
async function withComponent(dir: string, gathered: Resource[]): Promise<Resource[]> {
  const k = await readKustomization(dir, 'Component')
  const resources = [...gathered]
  for (const entry of k.resources ?? []) resources.push(...(await readResources(dir, entry)))
  return applyKustomization(k, resources)
}

async function readKustomization(dir: string, kind: string): Promise<Kustomization> {
  const k = parseYaml(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization
  if (k.kind !== kind) throw new Error(`${dir}: kind must be ${kind}`)
  return k
}

async function readResources(dir: string, entry: string): Promise<Resource[]> {
  const path = join(dir, entry)
  if ((await stat(path)).isDirectory()) return renderKustomization(path)
  const resources: Resource[] = []
  for (const document of parseAllDocuments(await readFile(path, 'utf8'))) {
    if (document.errors.length > 0) throw new Error(`${entry}: ${document.errors[0]?.message}`)
    const resource = document.toJS() as Resource | null
    if (resource !== null) resources.push(resource)
  }
  return resources
}

export function applyKustomization(kustomization: unknown, resources: Resource[]): Resource[] {
  const k = kustomization as Kustomization
  for (const field of Object.keys(k)) {
    if (!KNOWN.has(field)) throw new Error(`kustomization field ${field} is not supported here`)
  }
  if (k.kind !== 'Kustomization' && k.kind !== 'Component') {
    throw new Error('kind must be Kustomization or Component')
  }
  for (const patch of k.patches ?? []) applyPatch(resources, patch)
  for (const set of k.labels ?? []) {
    // Selectors are immutable once applied; the base writes its own.
    if (set.includeSelectors === true) throw new Error('labels.includeSelectors is not supported')
    for (const resource of resources) addLabels(resource, set)
  }
  for (const rule of k.images ?? []) {
    for (const container of containersOf(resources)) container.image = retag(container.image, rule)
  }
  return resources
}

function addLabels(resource: Resource, set: LabelSet): void {
  resource.metadata.labels = { ...resource.metadata.labels, ...set.pairs }
  const template = (resource.spec as { template?: { metadata?: Resource['metadata'] } } | undefined)
    ?.template
  if (set.includeTemplates === true && template !== undefined) {
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, ...set.pairs },
    } as Resource['metadata']
  }
}

interface Container {
  image: string
}

function containersOf(resources: readonly Resource[]): Container[] {
  return resources.flatMap((resource) => {
    const pod = (resource.spec as { template?: { spec?: Record<string, Container[]> } } | undefined)
      ?.template?.spec
    return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]
  })
}

/** `name[:tag][@digest]` with the rule's new name, tag or digest when the name matches. */
export function retag(image: string, rule: ImageRule): string {
  const match = /^(.+?)(?::([\w][\w.-]*))?(?:@(\S+))?$/.exec(image) as RegExpExecArray
  const [, name, tag, digest] = match
  if (name !== rule.name) return image
  const newName = rule.newName ?? name
  if (rule.digest !== undefined) return `${newName}@${rule.digest}`
  if (rule.newTag !== undefined) return `${newName}:${rule.newTag}`
  return `${newName}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`
}

/** JSON 6902 `add` and `replace` (the ops our manifests use) on every resource the target names. */
function applyPatch(resources: readonly Resource[], { target, patch }: Patch): void {
  const ops = parseYaml(patch) as { op: string; path: string; value: unknown }[]
  const targets = resources.filter((r) => r.kind === target.kind && r.metadata.name === target.name)
  if (targets.length === 0) throw new Error(`patch target ${target.kind}/${target.name} not found`)
  for (const resource of targets) {
    for (const { op, path, value } of ops) {
      if (op !== 'add' && op !== 'replace') throw new Error(`patch op ${op} is not supported here`)
      const keys = path.split('/').slice(1)
      const last = keys.pop() as string
      let node: unknown = resource
      for (const key of keys) {
        node = (node as Record<string, unknown>)[key]
        if (node === undefined) throw new Error(`patch path ${path} not found`)
      }
      if (Array.isArray(node) && last === '-') node.push(value)
      else if (op === 'replace' && !(last in (node as object))) {
        throw new Error(`patch path ${path} not found`)
      } else (node as Record<string, unknown>)[last] = value
    }
  }
}
