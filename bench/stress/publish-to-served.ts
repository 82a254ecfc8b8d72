import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { Bakery } from '../../test/e2e/helpers/bakery.js'
import { makeTestKey } from '../../test/e2e/helpers/gpg.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { deliverRelease, SERVICE_ENV } from '../../test/e2e/helpers/stack.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 26, point 5: how long from a publish's last upload until the service
 * serves the new manifest. The bakery publishes in the Flatcar order
 * (manifest, images 200 ms later, signature 200 ms after them) to a fake
 * GitHub that answers every hop in 20 ms; the service knows the bakery's key.
 * With the release webhook GitHub sends once the release is published, and
 * without one (then the service reads again every INDEX_TTL, here 5 s). A
 * client polls the manifest every 5 ms.
 *
 *   node --import tsx bench/stress/publish-to-served.ts [PUBLISHES]   (default 10)
 */

const publishes = Number(process.argv[2] ?? 10)
const dir = await mkdtemp(join(tmpdir(), 'publish-to-served-'))
const log = new LogFile(join(dir, 'service.log'))
const key = await makeTestKey(log)
const keys = join(dir, 'keyring.gpg')
await writeFile(keys, key.publicKeyring)
const github = await startFakeGitHub()
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: {
    UPSTREAM_CHECKS: 'true',
    INDEX_TTL: '5s',
    INDEX_RETRY: '250ms',
    SIGNING_KEYS: keys,
    GITHUB_WEBHOOK_SECRET: SERVICE_ENV.GITHUB_WEBHOOK_SECRET,
  },
  log,
})
const bakery = new Bakery(github)
const manifest = `${service.url}/extensions/kubernetes/SHA256SUMS`

try {
  await bakery.sign('kubernetes', key.sign)
  await bakery.signGlobal(key.sign)
  await bakery.publish('kubernetes', 'v1.32.0')
  await servedAs(bakery.extensionSums('kubernetes'), 30_000)
  github.fault({ kind: 'delay', ms: 20, storage: true })
  for (const webhook of [true, false]) {
    const times: number[] = []
    for (let i = 1; i <= publishes; i++) {
      const version = `v1.${webhook ? 33 : 34}.${i}`
      await bakery.publishManifestFirst('kubernetes', version, 200)
      const uploaded = performance.now()
      if (webhook) await deliverRelease(service.url, `kubernetes-${version}`)
      await servedAs(bakery.extensionSums('kubernetes'), 30_000)
      times.push(performance.now() - uploaded)
    }
    times.sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)] as number
    console.log(
      `${webhook ? 'with the release webhook' : 'without a webhook (INDEX_TTL 5 s)'}: ` +
        `last upload to served, median ${median.toFixed(0)} ms, max ${(times.at(-1) as number).toFixed(0)} ms ` +
        `(${publishes} publishes: ${times.map((ms) => ms.toFixed(0)).join(', ')})`,
    )
  }
} finally {
  github.fault(null)
  await service.stop()
  await github.close()
  await key.dispose()
  await rm(dir, { recursive: true, force: true })
}

/** Polls the manifest every 5 ms until it is `body`. */
async function servedAs(body: string, withinMs: number): Promise<void> {
  const until = performance.now() + withinMs
  while (performance.now() < until) {
    const response = await fetch(manifest)
    if ((await response.text()) === body) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`not served within ${withinMs} ms`)
}
