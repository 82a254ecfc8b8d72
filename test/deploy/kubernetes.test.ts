import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import {
  applyKustomization,
  renderKustomization,
  retag,
  type Resource,
} from '../../deploy/tools/kustomize.js'
import { checkServiceEnv } from '../../deploy/tools/service-env.js'
import { readDuration } from '../../src/config/env.js'
import { freePort } from '../helpers/fleet.js'
import { waitUntil } from '../helpers/wait.js'

const BASE = fileURLToPath(new URL('../../deploy/kubernetes/base/', import.meta.url))
const VALKEY = fileURLToPath(new URL('../../deploy/kubernetes/components/valkey/', import.meta.url))

interface Probe {
  httpGet?: { path?: string; port?: string | number }
}
interface Container {
  name: string
  image: string
  ports?: { name?: string; containerPort: number }[]
  env?: { name: string; value?: string; valueFrom?: unknown }[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command?: string[] } } }
  resources?: {
    requests?: { cpu?: string; memory?: string }
    limits?: { cpu?: string; memory?: string }
  }
  securityContext?: {
    runAsNonRoot?: boolean
    readOnlyRootFilesystem?: boolean
    allowPrivilegeEscalation?: boolean
  }
}
interface PodSpec {
  containers: Container[]
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }
  terminationGracePeriodSeconds?: number
}
interface Deployment extends Resource {
  spec: {
    replicas: number
    selector: { matchLabels: Record<string, string> }
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec }
  }
}

const resources = await renderKustomization(BASE)
const byKind = (kind: string): Resource[] => resources.filter((r) => r.kind === kind)
const deployment = byKind('Deployment')[0] as Deployment
const pod = deployment.spec.template.spec
const container = pod.containers[0] as Container
const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']))
// The service as the pod runs it: the code's defaults plus the manifest's env.
const { config, unread } = checkServiceEnv(env)

/** True when every label a selector asks for is on the pod template. */
function selects(selector: Record<string, string> | undefined): boolean {
  const labels = deployment.spec.template.metadata.labels
  return (
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  )
}

function portNumber(port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port
  return container.ports?.find((p) => p.name === port)?.containerPort
}

t.test('the base renders a Deployment, Service, PodDisruptionBudget and HPA', async (t) => {
  t.strictSame(resources.map((r) => r.kind).sort(), [
    'Deployment',
    'HorizontalPodAutoscaler',
    'PodDisruptionBudget',
    'Service',
  ])
  for (const resource of resources) {
    t.equal(resource.metadata.labels?.['app.kubernetes.io/part-of'], 'sysext-redirector')
  }
  t.equal(deployment.spec.template.metadata.labels['app.kubernetes.io/managed-by'], 'kustomize')
  t.match(container.image, /^ghcr\.io\/[\w-]+\/sysext-redirector:/, 'images: applied')
})

t.test('the Deployment runs two replicas or more, probed on the service port', async (t) => {
  t.ok(deployment.spec.replicas >= 2, 'replicas >= 2')
  t.ok(selects(deployment.spec.selector.matchLabels), 'the selector matches its pods')
  t.equal(portNumber('http'), config.port, 'containerPort is PORT')
  t.equal(container.livenessProbe?.httpGet?.path, '/healthz')
  t.equal(portNumber(container.livenessProbe?.httpGet?.port), config.port)
  t.equal(container.readinessProbe?.httpGet?.path, '/readyz')
  t.equal(portNumber(container.readinessProbe?.httpGet?.port), config.port)
  t.equal(portNumber('metrics'), config.metrics.port, 'the metrics port is METRICS_PORT')
  t.ok('METRICS_HOST' in env, 'the listener scraped from other pods is opened explicitly')
  t.notOk(
    ['127.0.0.1', '::1', 'localhost'].includes(config.metrics.host),
    'reachable by Prometheus',
  )
})

t.test('requests and limits, non-root, read-only root filesystem', async (t) => {
  const { requests = {}, limits = {} } = container.resources ?? {}
  t.ok(requests.cpu && requests.memory, 'CPU and memory requests')
  t.ok(limits.cpu && limits.memory, 'CPU and memory limits')
  t.equal(pod.securityContext?.runAsNonRoot, true)
  t.ok((pod.securityContext?.runAsUser ?? 0) > 0, 'a non-zero user, as the image has')
  t.equal(container.securityContext?.readOnlyRootFilesystem, true)
  t.equal(container.securityContext?.allowPrivilegeEscalation, false)
})

t.test('every env var is one the service reads, with a valid value', async (t) => {
  t.ok(Object.keys(env).length > 0)
  t.strictSame(unread, [], 'no unknown variable')
  t.notOk(
    (container.env ?? []).some((e) => e.name === 'PORT' && Number(e.value) !== portNumber('http')),
    'PORT, if set, is the containerPort',
  )
})

t.test('termination leaves time for preStop and the graceful shutdown', async (t) => {
  const preStop = container.lifecycle?.preStop?.exec?.command ?? []
  t.equal(preStop[0], 'sleep', 'the image has sleep (Debian slim)')
  const preStopMs = readDuration({ v: `${preStop[1]}s` }, 'v', 0)
  const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000
  t.ok(grace > preStopMs + config.shutdownTimeoutMs, `${grace} ms > preStop + SHUTDOWN_TIMEOUT`)
})

t.test('the Service, PodDisruptionBudget and HPA point at the Deployment', async (t) => {
  const service = byKind('Service')[0] as Resource & {
    spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] }
  }
  t.ok(selects(service.spec.selector), 'Service selects the pods')
  t.ok(
    service.spec.ports.some((p) => portNumber(p.targetPort) === config.port),
    'to PORT',
  )
  const pdb = byKind('PodDisruptionBudget')[0] as Resource & {
    spec: { minAvailable?: number; selector: { matchLabels: Record<string, string> } }
  }
  t.ok(selects(pdb.spec.selector.matchLabels), 'PDB selects the pods')
  t.ok((pdb.spec.minAvailable ?? 0) >= 1 && (pdb.spec.minAvailable ?? 0) < deployment.spec.replicas)
  const hpa = byKind('HorizontalPodAutoscaler')[0] as Resource & {
    spec: {
      scaleTargetRef: { kind: string; name: string }
      minReplicas: number
      maxReplicas: number
    }
  }
  t.strictSame(hpa.spec.scaleTargetRef.kind, 'Deployment')
  t.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name)
  t.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas)
})

t.test('renderer: images, labels and what it refuses', async (t) => {
  const rule = { name: 'app', newName: 'reg:5000/team/app', newTag: 'v2' }
  t.equal(retag('app', rule), 'reg:5000/team/app:v2')
  t.equal(retag('app:v1', rule), 'reg:5000/team/app:v2')
  t.equal(retag('other:v1', rule), 'other:v1', 'another image is left alone')
  t.equal(retag('app:v1', { name: 'app', digest: 'sha256:abc' }), 'app@sha256:abc')
  t.equal(
    retag('reg:5000/app:v1@sha256:x', { name: 'reg:5000/app', newName: 'b' }),
    'b:v1@sha256:x',
  )
  t.equal(retag('app', { name: 'app' }), 'app')

  const job = () =>
    ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: { initContainers: [{ image: 'app' }] } } },
    }) as unknown as Resource
  const [rendered] = applyKustomization(
    {
      kind: 'Kustomization',
      labels: [{ pairs: { a: 'b' }, includeTemplates: true }, { pairs: { c: 'd' } }],
      images: [{ name: 'app', newTag: '1' }],
    },
    [job()],
  )
  t.strictSame(rendered?.metadata.labels, { a: 'b', c: 'd' })
  t.strictSame(rendered?.spec, {
    template: { metadata: { labels: { a: 'b' } }, spec: { initContainers: [{ image: 'app:1' }] } },
  })
  const plain = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } as Resource
  t.strictSame(applyKustomization({ kind: 'Kustomization' }, [plain]), [plain])
  t.throws(
    () => applyKustomization({ kind: 'Kustomization', namespace: 'x' }, []),
    /namespace is not supported/,
  )
  t.throws(
    () => applyKustomization({ kind: 'Other' }, []),
    /kind must be Kustomization or Component/,
  )
  t.throws(
    () =>
      applyKustomization(
        { kind: 'Kustomization', labels: [{ pairs: {}, includeSelectors: true }] },
        [],
      ),
    /includeSelectors is not supported/,
  )
})

t.test('renderer: reads multi-document files and reports YAML errors', async (t) => {
  const dir = t.testdir({
    'kustomization.yaml': 'kind: Kustomization\nresources: [a.yaml]\n',
    'a.yaml':
      '---\napiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: B\nmetadata: {name: b}\n',
  })
  t.strictSame(
    (await renderKustomization(dir)).map((r) => r.kind),
    ['A', 'B'],
  )
  const broken = t.testdir({
    'kustomization.yaml': 'kind: Kustomization\nresources: [a.yaml]\n',
    'a.yaml': 'a: [\n',
  })
  await t.rejects(renderKustomization(broken), /a\.yaml: /)
  const empty = t.testdir({ 'kustomization.yaml': 'kind: Kustomization\n' })
  t.strictSame(await renderKustomization(empty), [])
})

t.test('renderer: JSON 6902 patches, and what they refuse', async (t) => {
  const deployment = () =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 1, env: [{ name: 'A' }] },
    }) as unknown as Resource
  const patch = (text: string, name = 'd') => ({
    kind: 'Kustomization',
    patches: [{ target: { kind: 'Deployment', name }, patch: text }],
  })
  const [patched] = applyKustomization(
    patch(
      [
        '- { op: add, path: /spec/env/-, value: { name: B } }',
        '- { op: replace, path: /spec/replicas, value: 3 }',
        '- { op: add, path: /spec/paused, value: true }',
      ].join('\n'),
    ),
    [deployment()],
  )
  t.strictSame(patched?.spec, { replicas: 3, env: [{ name: 'A' }, { name: 'B' }], paused: true })
  t.throws(
    () => applyKustomization(patch('- { op: add, path: /spec/x, value: 1 }', 'e'), [deployment()]),
    /patch target Deployment\/e not found/,
  )
  t.throws(
    () => applyKustomization(patch('- { op: remove, path: /spec/replicas }'), [deployment()]),
    /op remove is not supported/,
  )
  t.throws(
    () => applyKustomization(patch('- { op: replace, path: /spec/x, value: 1 }'), [deployment()]),
    /path \/spec\/x not found/,
  )
  t.throws(
    () => applyKustomization(patch('- { op: add, path: /no/such, value: 1 }'), [deployment()]),
    /path \/no\/such not found/,
  )
  const notComponent = t.testdir({
    overlay: { 'kustomization.yaml': 'kind: Kustomization\ncomponents: [../c]\n' },
    c: { 'kustomization.yaml': 'kind: Kustomization\n' },
  })
  await t.rejects(renderKustomization(`${notComponent}/overlay`), /kind must be Component/)
  const patchOnly = t.testdir({
    overlay: {
      'kustomization.yaml': 'kind: Kustomization\nresources: [a.yaml]\ncomponents: [../c]\n',
      'a.yaml': 'apiVersion: v1\nkind: A\nmetadata: {name: a}\n',
    },
    c: {
      'kustomization.yaml':
        'kind: Component\npatches:\n  - target: {kind: A, name: a}\n    patch: "- {op: add, path: /x, value: 1}"\n',
    },
  })
  t.match(await renderKustomization(`${patchOnly}/overlay`), [{ kind: 'A', x: 1 }], 'a patch alone')
})

t.test('the Valkey component: a shared store every replica is pointed at', async (t) => {
  // An overlay as docs/deploy.md shows it, with paths relative to it as kustomize wants.
  const overlay = t.testdir({})
  await writeFile(
    join(overlay, 'kustomization.yaml'),
    `kind: Kustomization\nresources: [${relative(overlay, BASE)}]\ncomponents: [${relative(overlay, VALKEY)}]\n`,
  )
  const rendered = await renderKustomization(overlay)
  const named = (kind: string, name: string) =>
    rendered.find((r) => r.kind === kind && r.metadata.name === name) as Resource
  const service = named('Service', 'sysext-redirector-valkey') as unknown as {
    spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] }
  }
  const valkey = named('Deployment', 'sysext-redirector-valkey') as Deployment
  const store = valkey.spec.template.spec.containers[0] as Container & { args: string[] }
  const redirector = named('Deployment', 'sysext-redirector') as Deployment
  const env = Object.fromEntries(
    (redirector.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']),
  )
  const url = new URL(env.REDIS_URL as string)
  t.equal(url.hostname, 'sysext-redirector-valkey', 'REDIS_URL names the Service')
  t.equal(Number(url.port), service.spec.ports[0]?.port)
  t.equal(service.spec.ports[0]?.targetPort, store.ports?.[0]?.name, 'which reaches the store')
  t.strictSame(service.spec.selector, valkey.spec.selector.matchLabels)
  t.ok(
    Object.entries(service.spec.selector).every(
      ([key, value]) => valkey.spec.template.metadata.labels[key] === value,
    ),
    'and selects its pod, not the redirector’s',
  )
  t.equal(checkServiceEnv(env).config.redis?.url, env.REDIS_URL, 'the service shares through it')
  t.equal(store.securityContext?.readOnlyRootFilesystem, true)

  // The store's arguments, given to Debian's redis-server (Valkey takes Redis's): it runs with them.
  const port = await freePort()
  const server = spawn('redis-server', [
    ...store.args,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
  ])
  t.teardown(() => server.kill('SIGKILL'))
  let output = ''
  server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitUntil(() => output.includes('Ready to accept connections') || server.exitCode !== null)
  t.equal(server.exitCode, null, `redis-server started with those arguments\n${output}`)
  const client = new Redis(port, '127.0.0.1')
  t.teardown(() => client.disconnect())
  t.strictSame(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'volatile-lru'])
  t.strictSame(await client.config('GET', 'maxmemory'), ['maxmemory', String(96 * 1024 * 1024)])
  t.strictSame(await client.config('GET', 'save'), ['save', ''], 'nothing kept on disk')
})
