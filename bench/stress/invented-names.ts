import { readFileSync } from 'node:fs'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 15, finding 7: N requests for distinct invented image names of about
 * 3 KB each, 50 at a time. The service's memory (VmRSS in /proc/PID/status)
 * before and after, and the HEADs it sent GitHub for them.
 *
 *   node --import tsx bench/stress/invented-names.ts [N]   (default 12000)
 */

const count = Number(process.argv[2] ?? 12_000)

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024
}

const github = await startFakeGitHub()
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: { RATE_LIMIT_MAX: '0', MANIFEST_INDEX: 'false', LOG_LEVEL: 'info' },
  log: new LogFile('/tmp/invented-names.log'),
})
try {
  const name = 'v1.' + '7'.repeat(3000)
  const ask = (i: number) =>
    fetch(`${service.url}/extensions/kubernetes-${name}${i}-x86-64.raw`, {
      redirect: 'manual',
    }).then((res) => res.status)
  await ask(-1)
  const before = rss(service.pid)
  const statuses = new Map<number, number>()
  const started = Date.now()
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => ask(i + j)),
    )
    for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  const seconds = (Date.now() - started) / 1000
  console.log(
    JSON.stringify({
      requests: count,
      seconds,
      'RSS before (MiB)': Math.round(before),
      'RSS after (MiB)': Math.round(rss(service.pid)),
      'HEADs to GitHub': github.count('HEAD'),
      statuses: Object.fromEntries(statuses),
    }),
  )
} finally {
  await service.stop()
  await github.close()
}
