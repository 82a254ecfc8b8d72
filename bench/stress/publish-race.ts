import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { installDefinition } from '../../test/e2e/helpers/definition.js'
import { makeTestKey } from '../../test/e2e/helpers/gpg.js'
import { pollDuringPublishes } from '../../test/e2e/helpers/publish-race.js'
import { startStack } from '../../test/e2e/helpers/stack.js'
import { featuresOf } from '../../test/e2e/helpers/sysupdate-features.js'
import { Machine, sysupdateRoot, type Release } from '../../test/e2e/helpers/sysupdate.js'

/*
 * Issue 26: real systemd-sysupdate polling (`update`, as fast as it runs)
 * while the bakery publishes without a break, in both real orders by turns
 * (manifest first, images later, signature last; the release deleted and
 * made again), against the service serving snapshots (with the bakery's
 * key) and against it redirecting those files (SNAPSHOTS=false, as before).
 * Prints the failed runs of each. Needs root and the sysupdate roots
 * (scripts/sysupdate-root.sh).
 *
 *   node --import tsx bench/stress/publish-race.ts [SECONDS] [RELEASE...]   (default 30 trixie sid)
 */

const seconds = Number(process.argv[2] ?? 30)
const releases = (process.argv.length > 3 ? process.argv.slice(3) : ['trixie', 'sid']) as Release[]
const dir = await mkdtemp(join(tmpdir(), 'publish-race-'))
const log = new LogFile(join(dir, 'race.log'))
const key = await makeTestKey(log)
const keys = join(dir, 'keyring.gpg')
await writeFile(keys, key.publicKeyring)

try {
  console.log('release  systemd  service            Verify  runs  failed  published  first failure')
  for (const release of releases) {
    const { root, version } = await sysupdateRoot(release, log)
    const features = featuresOf(version)
    for (const [label, env] of [
      ['redirects (before)', { SNAPSHOTS: 'false' }],
      ['snapshots (after)', { SIGNING_KEYS: keys }],
    ] as const) {
      const stack = await startStack(log, env)
      try {
        await stack.bakery.signGlobal(key.sign)
        for (const verify of [false, true]) {
          const ext = `race-${verify ? 'yes' : 'no'}`
          await stack.bakery.sign(ext, key.sign)
          await stack.bakery.publish(ext, '2.0.0')
          const machine = await Machine.create(root, log)
          try {
            if (verify)
              await machine.writeFile('/etc/systemd/import-pubring.gpg', key.publicKeyring)
            const installed = { verify, log }
            const { file, definition } = await installDefinition(
              stack,
              machine,
              features,
              ext,
              installed,
            )
            const outcome = await pollDuringPublishes({
              bakery: stack.bakery,
              ext,
              ms: seconds * 1000,
              pauseMs: 300,
              idleMs: 1000,
              transfer: { [file]: definition },
              poll: () => machine.sysupdate(ext, 'update'),
            })
            console.log(
              [
                release.padEnd(8),
                String(version).padEnd(8),
                label.padEnd(18),
                (verify ? 'yes' : 'no').padEnd(7),
                String(outcome.runs).padStart(4),
                String(outcome.failures.length).padStart(7),
                String(outcome.published.length).padStart(10),
                ` ${outcome.failures[0]?.slice(0, 80) ?? ''}`,
              ].join(' '),
            )
          } finally {
            await machine.dispose()
          }
        }
      } finally {
        await stack.close()
      }
    }
  }
} finally {
  await key.dispose()
  await rm(dir, { recursive: true, force: true })
}
