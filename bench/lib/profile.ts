import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  summarise,
  withSources,
  type CpuProfile,
  type ProfileSummary,
  type Window,
} from '../profile-summary.js'
import type { Build } from './build.js'
import { compareLocations } from './locations.js'
import { fixtureFor, type MixPath } from './mix.js'
import { startService } from './servers.js'
import { measureThroughput, type Load, type Throughput } from './throughput.js'

export interface Profile {
  readonly file: string
  /** The measured run within the profile (start-up and warm-up are left out of the summary). */
  readonly window: Window
  /** Throughput while profiled: lower than unprofiled, for orientation only. */
  readonly requestsPerSecond: number
  readonly summary: ProfileSummary
}

const NAME = 'sysext-redirector.cpuprofile'

/**
 * A separate service, started with `node --cpu-prof`, warmed and driven with
 * the mix like the measured one; V8 writes the profile when it exits after
 * SIGTERM. The summary covers the measured run only; the file (all of it)
 * stays in `profileDir` for a flame graph in DevTools.
 */
export async function profileService(
  build: Build,
  githubUrl: string,
  dir: string,
  profileDir: string,
  mix: readonly MixPath[],
  load: Load,
): Promise<Profile> {
  await mkdir(profileDir, { recursive: true })
  const file = join(profileDir, NAME)
  await rm(file, { force: true })
  const service = await startService({
    build,
    githubUrl,
    dir,
    label: 'profile',
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${NAME}`],
  })
  let measured: Throughput
  try {
    const disagreements = await compareLocations([service], mix, fixtureFor(mix))
    if (disagreements.length > 0)
      throw new Error('the profiled service answers the mix differently')
    measured = await measureThroughput(service, load)
  } finally {
    await service.stop()
  }
  // Read while the build, and so the bundle's source map, is still there.
  const profile = await withSources(JSON.parse(await readFile(file, 'utf8')) as CpuProfile)
  return {
    file,
    window: measured.window,
    requestsPerSecond: measured.requestsPerSecond,
    summary: summarise(profile, measured.window),
  }
}
