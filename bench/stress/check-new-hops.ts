import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { installDefinition } from '../../test/e2e/helpers/definition.js'
import { makeTestKey } from '../../test/e2e/helpers/gpg.js'
import { startStack } from '../../test/e2e/helpers/stack.js'
import { featuresOf } from '../../test/e2e/helpers/sysupdate-features.js'
import { Machine, sysupdateRoot, type Release } from '../../test/e2e/helpers/sysupdate.js'

/*
 * Issue 26, point 6: a real systemd-sysupdate `check-new`, end to end,
 * against a fake GitHub that takes 100 ms for every hop (the download URL's
 * 302 and the storage host's bytes), with the service redirecting the
 * manifest and its signatures (SNAPSHOTS=false, as before) and serving them
 * from its snapshot (after). Each after a warm-up run; median of RUNS.
 *
 *   node --import tsx bench/stress/check-new-hops.ts [RUNS] [RELEASE...]   (default 9 trixie sid)
 */

const runs = Number(process.argv[2] ?? 9)
const releases = (process.argv.length > 3 ? process.argv.slice(3) : ['trixie', 'sid']) as Release[]
const dir = await mkdtemp(join(tmpdir(), 'check-new-hops-'))
const log = new LogFile(join(dir, 'hops.log'))
const key = await makeTestKey(log)

try {
  console.log('release  systemd  Verify  redirects (before)  snapshots (after)')
  for (const release of releases) {
    const { root, version } = await sysupdateRoot(release, log)
    const features = featuresOf(version)
    for (const verify of [false, true]) {
      const medians: number[] = []
      for (const snapshots of ['false', 'true']) {
        // Lifetimes longer than the run: only the client's own hops are measured.
        const lifetimes = { INDEX_TTL: '10m', CHECK_TTL_MUTABLE: '10m', CHECK_TTL_MISSING: '10m' }
        const stack = await startStack(log, { ...lifetimes, SNAPSHOTS: snapshots })
        const machine = await Machine.create(root, log)
        try {
          const ext = 'kubernetes'
          await stack.bakery.sign(ext, key.sign)
          for (const v of ['v1.32.1', 'v1.32.2']) await stack.bakery.publish(ext, v)
          if (verify) await machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
          await installDefinition(stack, machine, features, ext, { verify, log })
          await machine.sysupdate(ext, 'check-new') // warm: the service has asked GitHub once
          stack.github.fault({ kind: 'delay', ms: 100, storage: true })
          const times: number[] = []
          for (let i = 0; i < runs; i++) {
            const started = performance.now()
            const checked = await machine.sysupdate(ext, 'check-new')
            times.push(performance.now() - started)
            if (!checked.stdout.includes('v1.32.2')) throw new Error(`check-new: ${checked.stderr}`)
          }
          times.sort((a, b) => a - b)
          medians.push(times[Math.floor(times.length / 2)] as number)
        } finally {
          stack.github.fault(null)
          await machine.dispose()
          await stack.close()
        }
      }
      console.log(
        [
          release.padEnd(8),
          String(version).padEnd(8),
          (verify ? 'yes' : 'no').padEnd(7),
          `${(medians[0] as number).toFixed(0)} ms`.padStart(18),
          `${(medians[1] as number).toFixed(0)} ms`.padStart(18),
        ].join(' '),
      )
    }
  }
} finally {
  await key.dispose()
  await rm(dir, { recursive: true, force: true })
}
