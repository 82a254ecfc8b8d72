import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildService } from './lib/build.js'
import { fixtureFor, MIX } from './lib/mix.js'
import { pinSelf } from './lib/proc.js'
import { LOAD_CORE, startFakeGitHub } from './lib/servers.js'
import { measureStartup } from './lib/startup.js'

/**
 * Start-up as a user sees it: `npm run build` as the image's build stage runs
 * it, then `node <the Dockerfile's flags> dist/main.js` spawned 11 times, each
 * timed from the spawn to the first 302 received for an image (its existence
 * check included), and the median reported. Uses the Node.js that runs it:
 *
 *   node --import tsx bench/startup.ts [RUNS]     (default 11)
 */
const runs = Number(process.argv[2] ?? 11)
const dir = await mkdtemp(join(tmpdir(), 'sysext-startup-'))
try {
  const build = await buildService(process.cwd(), dir, false)
  await pinSelf(LOAD_CORE)
  const github = await startFakeGitHub(dir, fixtureFor(MIX))
  try {
    const path = MIX[0]?.path ?? '/'
    const startup = await measureStartup(build, github.url, dir, runs, path)
    const each = startup.runsMs.map((ms) => Math.round(ms)).join(', ')
    console.log(`Node.js ${process.version}, ${runs} starts to the first 302 for ${path}`)
    console.log(`  each (ms): ${each}`)
    console.log(`  median: ${Math.round(startup.medianMs)} ms`)
  } finally {
    await github.stop()
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
