import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { Pool } from 'undici'
import type { Env } from '../../src/config/env.js'
import { testApp } from './app.js'
import { randomUUID } from 'node:crypto'
import { sign } from '../../src/webhooks/signature.js'
import { ONLINE, type Spec } from './bakery.js'
import { freePort } from './redis-server.js'

export { freePort }

/** The bakery a fleet serves in these tests: 20 versions of one extension, x86-64. */
export const FLEET_VERSIONS = 20
export const FLEET_SPEC: Spec = {
  kubernetes: Object.fromEntries(
    Array.from({ length: FLEET_VERSIONS }, (_, i) => [`v1.30.${i}`, ['x86-64'] as const]),
  ),
}
export const FLEET_IMAGES = Array.from(
  { length: FLEET_VERSIONS },
  (_, i) => `/extensions/kubernetes-v1.30.${i}-x86-64.raw`,
)

/** The fleet's bakery with one more version, v1.31.0 (to publish, then announce). */
export const FLEET_NEXT: Spec = {
  kubernetes: { ...FLEET_SPEC.kubernetes, 'v1.31.0': ['x86-64'] },
}

/** A release event for `tag` as GitHub delivers it, signed with `secret`. */
export function releaseDelivery(
  secret: string,
  tag: string,
  action = 'published',
  repository?: string,
): { body: string; headers: Record<string, string> } {
  const named = repository === undefined ? {} : { repository: { full_name: repository } }
  const body = JSON.stringify({ action, release: { tag_name: tag }, ...named })
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'release',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': sign(secret, body),
    },
  }
}

/** The load's paths, by turns: an image the fleet serves, then a new missing one. */
export function loadPath(worker: number, i: number): string {
  return i % 2 === 0
    ? (FLEET_IMAGES[i % FLEET_VERSIONS] as string)
    : `/extensions/kubernetes-v9.${worker}.${i}-x86-64.raw`
}

/**
 * A fleet on loopback: instances of the real app, each on its own port,
 * behind a real HAProxy (Debian's) that spreads requests round robin, as a
 * Fly.io proxy or a Kubernetes Service would.
 */
export interface Fleet {
  readonly instances: readonly FastifyInstance[]
  /** Each instance's own URL, for what must reach one of them (a webhook). */
  readonly urls: readonly string[]
  /** The load balancer's URL. */
  readonly url: string
  /** Keep-alive connections to the load balancer. */
  readonly pool: Pool
}

export async function startFleet(t: Test, size: number, env: Env): Promise<Fleet> {
  const instances: FastifyInstance[] = []
  const urls: string[] = []
  for (let i = 0; i < size; i++) {
    const { app } = await testApp({ ...ONLINE, RATE_LIMIT_MAX: '0', ...env })
    t.teardown(() => app.close())
    urls.push(await app.listen({ port: 0, host: '127.0.0.1' }))
    instances.push(app)
  }
  const url = await startHaproxyFor(t, urls)
  const pool = new Pool(url, { connections: 32 })
  t.teardown(() => pool.close())
  return { instances, urls, url, pool }
}

/** A running HAProxy: its URL, and how to stop it. */
export interface LoadBalancer {
  readonly url: string
  stop(): Promise<void>
}

async function startHaproxyFor(t: Test, urls: readonly string[]): Promise<string> {
  const balancer = await startHaproxy(urls)
  t.teardown(() => balancer.stop())
  return balancer.url
}

/** HAProxy in the foreground, in HTTP mode: each request goes to the next instance. */
export async function startHaproxy(urls: readonly string[]): Promise<LoadBalancer> {
  const dir = await mkdtemp(join(tmpdir(), 'sysext-fleet-'))
  const port = await freePort()
  const servers = urls.map((url, i) => `  server i${i} ${new URL(url).host}`).join('\n')
  const config = join(dir, 'haproxy.cfg')
  await writeFile(
    config,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend fleet',
      `  bind 127.0.0.1:${port}`,
      '  default_backend instances',
      'backend instances',
      '  balance roundrobin',
      servers,
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let errors = ''
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    await rm(dir, { recursive: true, force: true })
  }
  // Listening once a connection is accepted.
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${errors}`)
    if (await accepts(port)) return { url: `http://127.0.0.1:${port}`, stop }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`haproxy did not listen: ${errors}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
