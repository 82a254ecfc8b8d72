import { readFile } from 'node:fs/promises'
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

interface Kustomization {
  apiVersion?: string
  kind?: string
  resources?: string[]
  labels?: LabelSet[]
  images?: ImageRule[]
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'labels', 'images'])

/** Reads `dir/kustomization.yaml` and its resource files, and applies it. */
export async function renderKustomization(dir: string): Promise<Resource[]> {
  const kustomization = parseYaml(await readFile(join(dir, 'kustomization.yaml'), 'utf8'))
  const resources: Resource[] = []
  for (const file of (kustomization as Kustomization).resources ?? []) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
      const resource = document.toJS() as Resource | null
      if (resource !== null) resources.push(resource)
    }
  }
  return applyKustomization(kustomization, resources)
}

export function applyKustomization(kustomization: unknown, resources: Resource[]): Resource[] {
  const k = kustomization as Kustomization
  for (const field of Object.keys(k)) {
    if (!KNOWN.has(field)) throw new Error(`kustomization field ${field} is not supported here`)
  }
  if (k.kind !== 'Kustomization') throw new Error('kind must be Kustomization')
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
