import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { writeFile } from 'node:fs/promises'
import { renderKustomization, type Resource } from '../../deploy/tools/kustomize.js'
import { checkServiceEnv } from '../../deploy/tools/service-env.js'
import { parseMirrorArgs, type MirrorOptions } from '../../src/mirror/options.js'
import { bakeryAssets, imageBytes, ONLINE } from '../helpers/bakery.js'
import { testApp } from '../helpers/app.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { startNginx } from '../helpers/nginx.js'
import { runMain } from '../helpers/process.js'

/**
 * The mirror's deployment (deploy/mirror/, deploy/kubernetes/components/mirror/),
 * run as far as it runs here: the command each schedule starts is run for
 * real against the fake GitHub, and Debian's nginx serves what it wrote with
 * the config as shipped.
 */

const run = promisify(execFile)
const DEPLOY = fileURLToPath(new URL('../../deploy/mirror/', import.meta.url))
const BASE = fileURLToPath(new URL('../../deploy/kubernetes/base/', import.meta.url))
const COMPONENT = fileURLToPath(
  new URL('../../deploy/kubernetes/components/mirror/', import.meta.url),
)
const TREE = '/srv/sysext-mirror'

t.setTimeout(120_000)

const read = (name: string) => readFile(join(DEPLOY, name), 'utf8')

/** KEY=value lines, as `docker run --env-file` reads them. */
function envFile(text: string): Record<string, string> {
  const pairs = text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  return Object.fromEntries(pairs)
}

/** A temporary folder, gone after the test. */
async function folder(t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The command the shipped systemd service runs: its arguments after the image, and its env file. */
async function shippedCommand(): Promise<{ args: string[]; env: Record<string, string> }> {
  const service = await read('sysext-mirror.service')
  const exec = /^ExecStart=((?:[^\n]*\\\n)*[^\n]*)/m.exec(service)?.[1] as string
  const words = exec.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean)
  return {
    args: words.slice(words.indexOf('${IMAGE}') + 1),
    env: envFile(await read('mirror.env')),
  }
}

/**
 * The tree the shipped command writes, as a real process (its DIR a test's
 * folder) against the fake GitHub holding the test bakery: made once, for
 * every test of this file (the CronJob runs the same command).
 */
const mirrored = (async () => {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  const dir = await mkdtemp(join(tmpdir(), 'tree-'))
  t.teardown(async () => {
    await github.close()
    await rm(dir, { recursive: true, force: true })
  })
  const { args, env } = await shippedCommand()
  const done = await runMain(['mirror', dir, ...args.slice(2)], {
    ...ONLINE,
    ...env,
    GITHUB_URL: github.url,
  })
  return { dir, github, done }
})()

t.test('the systemd timer and service: a valid schedule, the command the image runs', async (t) => {
  const timer = await read('sysext-mirror.timer')
  const calendar = /^OnCalendar=(.+)$/m.exec(timer)?.[1] as string
  const parsed = await run('systemd-analyze', ['calendar', calendar])
  t.match(parsed.stdout, /Normalized form: \*-\*-\* \*:00\/30:00/, 'every 30 minutes')
  t.match(timer, /^Persistent=true$/m, 'a run missed while off runs at the next start')
  const service = await read('sysext-mirror.service')
  t.match(service, /^Type=oneshot$/m)
  const exec = /^ExecStart=((?:[^\n]*\\\n)*[^\n]*)/m.exec(service)?.[1] as string
  const words = exec.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean)
  t.same(words.slice(0, 3), ['/usr/bin/docker', 'run', '--rm'])
  t.ok(words.includes(`${TREE}:${TREE}`), 'the tree is a volume of the host')
  t.same(words.slice(words.indexOf('--user'), words.indexOf('--user') + 2), ['--user', '1000:1000'])
  t.match(
    service,
    /^ExecStartPre=\/usr\/bin\/chown 1000:1000 \/srv\/sysext-mirror$/m,
    'which that user may write',
  )
  const { args, env } = await shippedCommand()
  const options = parseMirrorArgs(args.slice(1))
  t.equal(args[0], 'mirror')
  t.same(options, {
    dir: TREE,
    sources: null,
    choice: { extensions: null, arches: null, keep: null },
    progress: false,
  })
  t.strictSame(checkServiceEnv(env).unread, [], 'every setting one the command reads')
  t.match(service, /--env-file \/etc\/sysext-redirector\/mirror\.env/)
  const { done } = await mirrored
  t.equal(done.code, 0, `it runs: ${done.stderr}`)
  t.match(done.stdout, /^mirrored 6 extensions, 19 images \(19 downloaded/)
})

t.test(
  'nginx serves the tree with the shipped config: the files, never the command’s own',
  async (t) => {
    const { dir } = await mirrored
    const nginx = await startNginx(await read('nginx.conf'), dir)
    t.teardown(() => nginx.close())
    const sums = await fetch(`${nginx.url}/extensions/SHA256SUMS`)
    t.equal(sums.status, 200)
    t.equal(await sums.text(), bakeryAssets().SHA256SUMS?.SHA256SUMS)
    t.equal(sums.headers.get('content-type'), 'text/plain; charset=utf-8')
    t.equal(sums.headers.get('cache-control'), 'no-cache')
    const file = 'k3s-v1.31.4+k3s1-x86-64.raw'
    for (const path of [`/extensions/${file}`, '/extensions/k3s-v1.31.4%2Bk3s1-x86-64.raw']) {
      const image = await fetch(`${nginx.url}${path}`)
      t.equal(image.status, 200, path)
      t.equal(image.headers.get('content-type'), 'application/octet-stream')
      t.equal(await image.text(), imageBytes(file))
    }
    const six = await fetch(`${nginx.url6}/extensions/kubernetes.raw`)
    t.equal(await six.text(), imageBytes('kubernetes-v1.33.0-x86-64.raw'), 'over IPv6 too')
    const etag = sums.headers.get('etag') as string
    const again = await fetch(`${nginx.url}/extensions/SHA256SUMS`, {
      headers: { 'if-none-match': etag },
    })
    t.equal(again.status, 304, 'revalidated for free')
    const own = await fetch(`${nginx.url}/.sysext-mirror/state.json`)
    t.equal(own.status, 404, "the command's own folder is not served")
    const listing = await fetch(`${nginx.url}/extensions/kubernetes/`)
    t.match(await listing.text(), 'kubernetes-v1.33.0-x86-64.raw', 'a folder lists its files')
  },
)

t.test('the tree is a mirror for the service: GitHub failing, answers lead to nginx', async (t) => {
  const { dir, github } = await mirrored
  const nginx = await startNginx(await read('nginx.conf'), dir)
  t.teardown(() => nginx.close())
  github.fault({ kind: 'status', status: 500 })
  t.teardown(() => github.fault(null))
  const { app } = await testApp({
    ...ONLINE,
    GITHUB_URL: github.url,
    BAKERY_MIRRORS: `${nginx.url}/releases/bakery`,
  })
  t.teardown(() => app.close())
  const file = 'docker-28.0.1-arm64.raw'
  const answer = await app.inject({ url: `/extensions/${file}` })
  t.equal(answer.statusCode, 302)
  const location = answer.headers.location as string
  t.equal(location, `${nginx.url}/releases/bakery/docker-28.0.1/${file}`)
  t.equal(await (await fetch(location)).text(), imageBytes(file))
  const sums = await app.inject({ url: '/extensions/docker/SHA256SUMS' })
  t.equal(sums.statusCode, 200, 'a manifest adopted from the mirror')
  t.equal(sums.body, bakeryAssets().docker?.SHA256SUMS)
})

interface CronJob extends Resource {
  spec: {
    schedule: string
    concurrencyPolicy: string
    jobTemplate: { spec: { template: { spec: PodSpec } } }
  }
}
interface PodSpec {
  containers: {
    image: string
    args?: string[]
    env?: { name: string; value: string }[]
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[]
  }[]
  volumes: {
    name: string
    persistentVolumeClaim?: { claimName: string }
    configMap?: { name: string }
  }[]
}

t.test(
  'the Kubernetes component: the CronJob’s command, and nginx with the same config',
  async (t) => {
    const overlay = await folder(t, 'overlay-')
    await writeFile(
      join(overlay, 'kustomization.yaml'),
      `kind: Kustomization\nresources: [${relative(overlay, BASE)}]\ncomponents: [${relative(overlay, COMPONENT)}]\n`,
    )
    const resources = await renderKustomization(overlay)
    const named = (kind: string, name: string) =>
      resources.find((one) => one.kind === kind && one.metadata.name === name) as Resource
    const cron = named('CronJob', 'sysext-mirror') as CronJob
    t.equal(cron.spec.concurrencyPolicy, 'Forbid', 'never two runs at once')
    t.equal(cron.spec.schedule, '*/30 * * * *')
    const pod = cron.spec.jobTemplate.spec.template.spec
    const mirror = pod.containers[0] as PodSpec['containers'][number]
    const service = named('Deployment', 'sysext-redirector') as unknown as {
      spec: { template: { spec: PodSpec } }
    }
    t.equal(
      mirror.image,
      service.spec.template.spec.containers[0]?.image,
      "the service's own image",
    )
    const options = parseMirrorArgs((mirror.args ?? []).slice(1)) as MirrorOptions
    t.equal(mirror.args?.[0], 'mirror')
    t.equal(options.dir, TREE)
    t.same(mirror.volumeMounts, [{ name: 'tree', mountPath: TREE }])
    t.equal(pod.volumes[0]?.persistentVolumeClaim?.claimName, 'sysext-mirror')
    const env = Object.fromEntries((mirror.env ?? []).map((one) => [one.name, one.value]))
    t.strictSame(checkServiceEnv(env).unread, [])

    const nginx = named('Deployment', 'sysext-mirror-nginx') as unknown as {
      spec: { template: { spec: PodSpec } }
    }
    const served = nginx.spec.template.spec
    t.same(served.containers[0]?.volumeMounts, [
      { name: 'tree', mountPath: TREE, readOnly: true },
      { name: 'config', mountPath: '/etc/nginx/conf.d/default.conf', subPath: 'default.conf' },
    ])
    t.equal(
      served.volumes[0]?.persistentVolumeClaim?.claimName,
      'sysext-mirror',
      'the volume the CronJob writes',
    )
    const config = named('ConfigMap', 'sysext-mirror-nginx') as unknown as {
      data: Record<string, string>
    }
    t.equal(
      config.data['default.conf'],
      await read('nginx.conf'),
      'deploy/mirror/nginx.conf, word for word',
    )

    // What can run here: the CronJob's command (the systemd service's, run once above),
    // then nginx with the ConfigMap's config.
    const shipped = await shippedCommand()
    t.same(mirror.args, ['mirror', ...shipped.args.slice(1)], "the systemd service's command")
    t.same(env, shipped.env, 'and its settings')
    const { dir } = await mirrored
    const server = await startNginx(config.data['default.conf'] as string, dir)
    t.teardown(() => server.close())
    const probe = await fetch(`${server.url}/extensions/SHA256SUMS`)
    t.equal(probe.status, 200, 'the readiness probe’s path answers')
  },
)
