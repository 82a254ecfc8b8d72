import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { nodeFlagsOf, parseDockerfile, type Stage } from '../../deploy/tools/dockerfile.js'
import { run } from './proc.js'

export interface Build {
  /** Laid out like the container image: dist/, tables/, node_modules/, package.json. */
  readonly appDir: string
  /** What production runs: `node <nodeFlags> <main>`. */
  readonly main: string
  /** The node flags of the Dockerfile's ENTRYPOINT. */
  readonly nodeFlags: readonly string[]
  readonly ms: number
  /** tsc's complaints when the build went ahead anyway (--allow-type-errors). */
  readonly typeErrors: string
}

/**
 * Compiles src/ with the production tsconfig into `<dir>/app/dist` rather than
 * the repository's dist/, which others may be using. The rest of the image
 * layout is linked in, so `node dist/main.js` resolves its dependencies and
 * finds the built-in table exactly as it does in the container.
 */
export async function buildService(
  repoRoot: string,
  dir: string,
  allowTypeErrors: boolean,
): Promise<Build> {
  const appDir = join(dir, 'app')
  await mkdir(appDir, { recursive: true })
  const started = performance.now()
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc')
  const outDir = join(appDir, 'dist')
  const result = await run(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir],
    { cwd: repoRoot },
  )
  const ms = performance.now() - started
  // tsc still writes JavaScript when types are wrong; whether to use it is ours to say.
  if (result.code !== 0 && !allowTypeErrors) {
    throw new Error(
      `npm run build failed (run with --allow-type-errors to measure anyway):\n${result.stdout}${result.stderr}`,
    )
  }
  await symlink(join(repoRoot, 'node_modules'), join(appDir, 'node_modules'))
  await symlink(join(repoRoot, 'tables'), join(appDir, 'tables'))
  await copyFile(join(repoRoot, 'package.json'), join(appDir, 'package.json'))
  const dockerfile = parseDockerfile(await readFile(join(repoRoot, 'Dockerfile'), 'utf8'))
  return {
    appDir,
    main: join(outDir, 'main.js'),
    nodeFlags: nodeFlagsOf(dockerfile.stages.at(-1) as Stage),
    ms,
    typeErrors: result.code === 0 ? '' : result.stdout + result.stderr,
  }
}
