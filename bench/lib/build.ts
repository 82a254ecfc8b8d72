import { mkdir, readFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { imageNodeFlags } from '../../deploy/tools/dockerfile.js'
import { run } from './proc.js'

export interface Build {
  /** Laid out like the container image: dist/ and tables/. */
  readonly appDir: string
  /** What production runs: `node <nodeFlags> <main>`. */
  readonly main: string
  /** The node flags of the Dockerfile's ENTRYPOINT. */
  readonly nodeFlags: readonly string[]
  readonly ms: number
  /** tsc's complaints when the benchmark went ahead anyway (--allow-type-errors). */
  readonly typeErrors: string
}

/**
 * Builds the service as the image's build stage does (`npm run build`: the
 * type check, then scripts/build.ts's bundle and code-cache warm-up) into
 * `<dir>/app/dist` rather than the repository's dist/, which others may be
 * using. The image's other file, tables/, is linked in beside it; there is
 * no node_modules, as in the image.
 */
export async function buildService(
  repoRoot: string,
  dir: string,
  allowTypeErrors: boolean,
): Promise<Build> {
  const appDir = join(dir, 'app')
  await mkdir(appDir, { recursive: true })
  await symlink(join(repoRoot, 'tables'), join(appDir, 'tables'))
  const started = performance.now()
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc')
  const types = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noEmit'], {
    cwd: repoRoot,
  })
  // The bundle does not depend on the types; whether to measure anyway is ours to say.
  if (types.code !== 0 && !allowTypeErrors) {
    throw new Error(
      `tsc found type errors (run with --allow-type-errors to measure anyway):\n${types.stdout}${types.stderr}`,
    )
  }
  const outDir = join(appDir, 'dist')
  const bundled = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/build.ts', '--out', outDir],
    { cwd: repoRoot },
  )
  if (bundled.code !== 0)
    throw new Error(`scripts/build.ts failed:\n${bundled.stdout}${bundled.stderr}`)
  const ms = performance.now() - started
  return {
    appDir,
    main: join(outDir, 'main.js'),
    nodeFlags: imageNodeFlags(await readFile(join(repoRoot, 'Dockerfile'), 'utf8')),
    ms,
    typeErrors: types.code === 0 ? '' : types.stdout + types.stderr,
  }
}
