import { createHmac, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 15, finding 4: N valid release deliveries for one extension over
 * SECONDS, with GitHub answering in 100 ms, while a client asks for the
 * extension's newest version every 50 ms. Times of those requests, from the
 * client.
 *
 *   node --import tsx bench/stress/webhook-storm.ts [N] [SECONDS]   (default 1000 24)
 */

const deliveries = Number(process.argv[2] ?? 1000)
const seconds = Number(process.argv[3] ?? 24)
const SECRET = 'storm'
const hash = 'a'.repeat(64)
const image = 'kubernetes-v1.32.2-x86-64.raw'

const github = await startFakeGitHub({
  assets: {
    SHA256SUMS: { SHA256SUMS: `${hash}  ${image}\n` },
    kubernetes: { SHA256SUMS: `${hash}  ${image}\n` },
    'kubernetes-v1.32.2': { [image]: 'image' },
  },
})
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: { GITHUB_WEBHOOK_SECRET: SECRET, RATE_LIMIT_MAX: '0' },
  log: new LogFile('/tmp/webhook-storm.log'),
})
const times: number[] = []
try {
  const newest = `${service.url}/extensions/kubernetes.raw`
  await fetch(newest, { redirect: 'manual' })
  github.fault({ kind: 'delay', ms: 100 })
  let storming = true
  const reader = (async () => {
    while (storming) {
      const started = performance.now()
      await (await fetch(newest, { redirect: 'manual' })).arrayBuffer()
      times.push(performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  const body = JSON.stringify({ action: 'edited', release: { tag_name: 'kubernetes' } })
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
  for (let i = 0; i < deliveries; i++) {
    void fetch(`${service.url}/hooks/github`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'release',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signature,
      },
    }).then(
      (res) => res.arrayBuffer(),
      () => undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / deliveries))
  }
  storming = false
  await reader
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number): number => Math.round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0)
  console.log(
    JSON.stringify({
      deliveries,
      seconds,
      requests: times.length,
      p50: at(0.5),
      p99: at(0.99),
      max: at(1),
    }),
  )
} finally {
  await service.stop()
  await github.close()
}
