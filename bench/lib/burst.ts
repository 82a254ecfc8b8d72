import { connect, type Socket } from 'node:net'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'
import type { Build } from './build.js'
import { scrape } from './metrics.js'
import { startService } from './servers.js'

export interface ColdBurst {
  readonly requests: number
  /** Answers that were a 302 to the target. */
  readonly redirects: number
  /** HEADs for the target that reached the fake GitHub: should be exactly 1. */
  readonly upstreamHeads: number
  /** The service's own count of cache misses for the burst (requests that waited on a check). */
  readonly cacheMisses: number
  readonly ms: number
}

const TAG = 'kubernetes-v1.33.0'
const ASSET = `${TAG}-x86-64.raw`
const PATH = `/extensions/${ASSET}`
/** Long enough that every request of the burst arrives while the one check is out. */
const UPSTREAM_DELAY_MS = 200

/**
 * `n` requests for one image nobody has asked for yet, all sent at once on
 * `n` connections opened beforehand, to a fresh service. The fake GitHub
 * runs inside this process here (not as the CLI) because its request count
 * is what is measured, and it answers the HEAD after a delay, so the burst
 * tests that concurrent lookups share one check rather than that the cache
 * was filled in time.
 */
export async function measureColdBurst(build: Build, dir: string, n: number): Promise<ColdBurst> {
  const github = await startFakeGitHub({ assets: { [TAG]: { [ASSET]: 'image' } } })
  github.fault({ kind: 'delay', ms: UPSTREAM_DELAY_MS })
  const service = await startService({ build, githubUrl: github.url, dir, label: 'burst' })
  try {
    const sockets = await Promise.all(Array.from({ length: n }, () => open(service.url)))
    const started = performance.now()
    const answers = await Promise.all(sockets.map((socket) => ask(socket, PATH)))
    const ms = performance.now() - started
    const target = `${service.releasesBase}/${TAG}/${ASSET}`
    return {
      requests: n,
      redirects: answers.filter((a) => a.status === 302 && a.location === target).length,
      upstreamHeads: github.count('HEAD', TAG, ASSET),
      cacheMisses: await cacheMisses(service.metricsUrl),
      ms,
    }
  } finally {
    await service.stop()
    await github.close()
  }
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** One request on a raw socket; the server closes it after the answer. */
function ask(
  socket: Socket,
  path: string,
): Promise<{ status: number; location: string | undefined }> {
  socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`)
  return new Promise((resolve, reject) => {
    let head = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (head += chunk))
    socket.once('error', reject)
    socket.once('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
      const location = /^location: (.*)\r$/im.exec(head)?.[1]
      resolve({ status, location })
    })
  })
}

async function cacheMisses(metricsUrl: string): Promise<number> {
  const samples = await scrape(metricsUrl)
  return samples.get('sysext_redirector_upstream_cache_lookups_total{result="miss"}') ?? NaN
}
