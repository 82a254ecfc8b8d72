import { createHmac, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 29, findings 2 and 3, against the real process:
 *
 * - Held slots: HOLDERS connections send a delivery head with a wrong
 *   signature and a declared body, then nothing; each is opened again as
 *   soon as it is answered. They come from one address (127.0.0.2), then
 *   from HOLDERS addresses (127.0.0.2 and up). Meanwhile a genuine, signed
 *   delivery from 127.0.0.1 every 500 ms for 10 s: its statuses and its
 *   slowest answer.
 * - A head declaring 99,999,999,999 bytes: its status, and how long it took.
 * - A signed delivery sent again under a new X-GitHub-Delivery: acted on again?
 *
 *   node --import tsx bench/stress/webhook-slots.ts [HOLDERS]   (default 4)
 */

const holders = Number(process.argv[2] ?? 4)
const SECRET = 'stress-secret'

const github = await startFakeGitHub({
  assets: { 'kubernetes-v1.32.2': { 'kubernetes-v1.32.2-x86-64.raw': 'image' } },
})
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: { GITHUB_WEBHOOK_SECRET: SECRET, RATE_LIMIT_MAX: '0', LOG_LEVEL: 'info' },
  log: new LogFile('/tmp/webhook-slots.log'),
})
const port = Number(new URL(service.url).port)

function head(signature: string, length: number, id = randomUUID()): string {
  return (
    'POST /hooks/github HTTP/1.1\r\nHost: stress.test\r\nContent-Type: application/json\r\n' +
    `X-GitHub-Event: release\r\nX-GitHub-Delivery: ${id}\r\n` +
    `X-Hub-Signature-256: ${signature}\r\nContent-Length: ${length}\r\n\r\n`
  )
}

/** Sends `bytes` from `from` and resolves with the status line's code and the time it took. */
function exchange(bytes: string, from?: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = connect({ port, host: '127.0.0.1', ...(from ? { localAddress: from } : {}) })
    let got = ''
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1')
      const status = /^HTTP\/1\.1 (\d{3})/.exec(got)
      if (status !== null && got.includes('\r\n\r\n')) {
        socket.destroy()
        resolve({ status: Number(status[1]), ms: Math.round(performance.now() - started) })
      }
    })
    socket.on('error', () => resolve({ status: 0, ms: Math.round(performance.now() - started) }))
    socket.write(bytes)
  })
}

/** A connection that holds a body slot until it is answered, then is opened again. */
function holder(from: string, stop: () => boolean, sockets: Socket[]): void {
  if (stop()) return
  const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
    socket.write(head(`sha256=${'0'.repeat(64)}`, 1000))
  })
  sockets.push(socket)
  socket.on('error', () => undefined)
  socket.on('data', () => socket.destroy())
  socket.on('close', () => holder(from, stop, sockets))
}

const signed = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`

async function genuineUnderHolders(addresses: readonly string[]) {
  let stopped = false
  const sockets: Socket[] = []
  for (let i = 0; i < holders; i++)
    holder(addresses[i % addresses.length] as string, () => stopped, sockets)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const results: { status: number; ms: number }[] = []
  for (let i = 0; i < 20; i++) {
    const body = JSON.stringify({
      action: 'published',
      release: { tag_name: `kubernetes-v1.32.${i}` },
      repository: { full_name: github.repo },
    })
    results.push(await exchange(head(signed(body), Buffer.byteLength(body)) + body))
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  stopped = true
  for (const socket of sockets) socket.destroy()
  const statuses: Record<number, number> = {}
  for (const { status } of results) statuses[status] = (statuses[status] ?? 0) + 1
  return { statuses, 'slowest (ms)': Math.max(...results.map((result) => result.ms)) }
}

try {
  const oneAddress = await genuineUnderHolders(['127.0.0.2'])
  const manyAddresses = await genuineUnderHolders(
    Array.from({ length: holders }, (_, i) => `127.0.0.${2 + i}`),
  )
  const huge = await exchange(head(`sha256=${'0'.repeat(64)}`, 99_999_999_999))
  const body = JSON.stringify({
    action: 'edited',
    release: { tag_name: 'kubernetes-v1.32.2' },
    repository: { full_name: github.repo },
  })
  const replayed = []
  for (let i = 0; i < 2; i++) {
    const delivery = head(signed(body), Buffer.byteLength(body)) + body
    replayed.push(await exchange(delivery))
  }
  // What was acted on is said in the service's log.
  await new Promise((resolve) => setTimeout(resolve, 500))
  console.log(
    JSON.stringify({
      holders,
      [`genuine deliveries, ${holders} holders from one address`]: oneAddress,
      [`genuine deliveries, ${holders} holders from ${holders} addresses`]: manyAddresses,
      'declared 99,999,999,999 bytes': huge,
      'the same signed body under a new id: statuses': replayed.map((r) => r.status),
      'of those, acted on': actedOnEdits(),
    }),
  )
} finally {
  await service.stop()
  await github.close()
}

/** How many `edited` deliveries (only the replayed body is one) the service acted on. */
function actedOnEdits(): number {
  return readFileSync('/tmp/webhook-slots.log', 'utf8')
    .split('\n')
    .filter((line) => line.includes('caches dropped') && line.includes('"action":"edited"')).length
}
