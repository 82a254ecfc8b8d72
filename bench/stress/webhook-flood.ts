import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 15, finding 1: N never-finished 1 MiB webhook deliveries with a bogus
 * signature, held open at once; the service's memory (VmRSS in
 * /proc/PID/status) before and while they are held, and the time of a
 * redirect meanwhile, from the client.
 *
 *   node --import tsx bench/stress/webhook-flood.ts [N]   (default 400)
 */

const count = Number(process.argv[2] ?? 400)
const MIB = 1024 * 1024

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024
}

function flood(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /hooks/github HTTP/1.1\r\nHost: flood.test\r\nContent-Type: application/json\r\n' +
          `X-GitHub-Event: release\r\nX-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\n` +
          `Content-Length: ${MIB}\r\n\r\n`,
      )
      socket.write(Buffer.alloc(MIB - 1, 'x')) // all but the last byte
      resolve(socket)
    })
    socket.on('error', () => undefined)
    socket.on('data', () => undefined)
  })
}

const github = await startFakeGitHub({
  assets: { 'kubernetes-v1.32.2': { 'kubernetes-v1.32.2-x86-64.raw': 'image' } },
})
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: { GITHUB_WEBHOOK_SECRET: 'secret', RATE_LIMIT_MAX: '0' },
  log: new LogFile('/tmp/webhook-flood.log'),
})
try {
  const port = Number(new URL(service.url).port)
  const redirect = `${service.url}/extensions/kubernetes-v1.32.2-x86-64.raw`
  await fetch(redirect, { redirect: 'manual' })
  const before = rss(service.pid)
  const sockets = await Promise.all(Array.from({ length: count }, () => flood(port)))
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const started = performance.now()
  await (await fetch(redirect, { redirect: 'manual' })).arrayBuffer()
  const redirectMs = Math.round(performance.now() - started)
  const held = rss(service.pid)
  const open = sockets.filter((socket) => !socket.destroyed).length
  console.log(
    JSON.stringify({
      deliveries: count,
      'RSS before (MiB)': Math.round(before),
      'RSS while held (MiB)': Math.round(held),
      'redirect meanwhile (ms)': redirectMs,
      'connections still open': open,
    }),
  )
  for (const socket of sockets) socket.destroy()
} finally {
  await service.stop()
  await github.close()
}
