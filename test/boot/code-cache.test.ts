import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { Test } from 'tap'
import { cacheFileFor, compileWithCodeCache } from '../../src/boot/code-cache.js'
import { CHILD_ARGS } from '../helpers/process.js'

const CODE_CACHE = new URL('../../src/boot/code-cache.ts', import.meta.url).href

// What a CommonJS module sees of itself, left where the test can read it.
const SOURCE = `globalThis.seenByModule = {
  filename: __filename,
  dirname: __dirname,
  joined: require('node:path').join('a', 'b'),
  exportsIsModuleExports: exports === module.exports,
  thisIsExports: this === exports,
}
`

async function moduleFile(t: Test): Promise<{ dir: string; file: string; cache: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'code-cache-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'bundle.cjs')
  await writeFile(file, SOURCE)
  return { dir, file, cache: `${file}.cache` }
}

/** The cache state a fresh node process, with these V8 flags, gets for `file`. */
async function stateInChild(file: string, cache: string, flags: string[] = []): Promise<string> {
  const script = `const { compileWithCodeCache } = await import(${JSON.stringify(CODE_CACHE)})
const compiled = compileWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cache)})
compiled.run()
console.log(compiled.state, globalThis.seenByModule.joined)`
  const { stdout } = await promisify(execFile)(process.execPath, [
    ...flags,
    ...CHILD_ARGS,
    '--input-type=module',
    '-e',
    script,
  ])
  return stdout.trim()
}

declare global {
  var seenByModule: Record<string, unknown> | undefined
}

t.test('runs a file as CommonJS and saves the code V8 compiled for it', async (t) => {
  const { dir, file, cache } = await moduleFile(t)
  const compiled = compileWithCodeCache(file, cache)
  t.equal(compiled.state, 'absent', 'no cache yet')
  compiled.run()
  t.strictSame(globalThis.seenByModule, {
    filename: file,
    dirname: dir,
    joined: join('a', 'b'),
    exportsIsModuleExports: true,
    thisIsExports: true,
  })
  delete globalThis.seenByModule
  t.equal(compiled.save(), true)
  t.strictSame((await readdir(dir)).sort(), ['bundle.cjs', 'bundle.cjs.cache'], 'no partial file')

  t.equal(await stateInChild(file, cache), `accepted ${join('a', 'b')}`, 'a new process uses it')
  t.equal(
    await stateInChild(file, cache, ['--optimize-for-size']),
    `rejected ${join('a', 'b')}`,
    'V8 refuses it under other flags, and the file still runs',
  )
})

t.test('a damaged cache is refused and the file compiled from source', async (t) => {
  const { file, cache } = await moduleFile(t)
  await writeFile(cache, 'not a code cache')
  const compiled = compileWithCodeCache(file, cache)
  t.equal(compiled.state, 'rejected')
  compiled.run()
  t.equal(globalThis.seenByModule?.joined, join('a', 'b'))
  delete globalThis.seenByModule
})

t.test('an unreadable cache counts as none; an unwritable one is not saved', async (t) => {
  const { dir, file } = await moduleFile(t)
  const aFolder = join(dir, 'cache-folder')
  await mkdir(aFolder)
  t.equal(compileWithCodeCache(file, aFolder).state, 'absent', 'a folder where the cache goes')
  const nowhere = join(dir, 'missing', 'bundle.cjs.cache')
  t.equal(compileWithCodeCache(file, nowhere).save(), false, 'its folder does not exist')
  t.equal(compileWithCodeCache(file, aFolder).save(), false, 'a folder is in the way')
  t.strictSame((await readdir(dir)).sort(), ['bundle.cjs', 'cache-folder'], 'nothing left behind')
})

t.test('one cache file per Node.js version and command-line flags', async (t) => {
  t.equal(
    cacheFileFor('/app/dist/lib/b.cjs', 'v24.1.0', [
      '--max-semi-space-size=4',
      '--optimize-for-size',
    ]),
    '/app/dist/lib/b.cjs.node.v24.1.0.--max-semi-space-size=4.--optimize-for-size.cache',
  )
  t.equal(cacheFileFor('/a/b.cjs', 'v20.20.2', []), '/a/b.cjs.node.v20.20.2.cache', 'no flags')
  t.equal(
    cacheFileFor('/a/b.cjs', 'v20.20.2', ['--cpu-prof-dir=/tmp/x y', '--import', 'data:,1']),
    '/a/b.cjs.node.v20.20.2.--cpu-prof-dir=_tmp_x_y.--import.data__1.cache',
    'nothing from a flag leaves the folder or needs quoting',
  )
})
