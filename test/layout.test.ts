import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The layout shows the flow (docs/design.md, "Development"): leaf helpers low, the
 * knowledge the decision reads, the decision, the renderers on top. No
 * import runs back up, and every module has a test file of its own name.
 */
const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const TEST = fileURLToPath(new URL('./', import.meta.url))

/** A module's layer, by the first rule its path (relative to src/) fits. */
const LAYERS: [RegExp, number, string][] = [
  [/(^|\/)config\.ts$|^config\//, 0, 'settings'],
  [/^(errors|path|table|version|cache)(\/|\.ts$)/, 0, 'leaf helpers'],
  // Pure reading of manifests, names and addresses, and the circuit breaker's
  // arithmetic: no I/O, nothing above them.
  [
    /^index\/(catalog|manifest|newest|turns)\.ts$|^protection\/(address|breaker)\.ts$/,
    0,
    'leaf helpers',
  ],
  // The shared store is knowledge too: what other instances learnt.
  [/^(upstream|index|shared)\//, 1, 'knowledge'],
  [/^decision\//, 2, 'the decision'],
  [/^(http|directory|lane|metrics|protection|webhooks)\/|^cli\.ts$/, 3, 'renderers'],
  [/^(app|main|start)\.ts$|^boot\//, 4, 'the app'],
]

function layerOf(module: string): [number, string] {
  const found = LAYERS.find(([pattern]) => pattern.test(module))
  if (found === undefined) throw new Error(`${module} is in no layer`)
  return [found[1], found[2]]
}

function modules(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? modules(join(dir, entry.name), root)
      : entry.name.endsWith('.ts')
        ? [relative(root, join(dir, entry.name))]
        : [],
  )
}

const IMPORT = /^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm

t.test('no import runs back up', async (t) => {
  const upward: string[] = []
  for (const module of modules(SRC)) {
    const [layer] = layerOf(module)
    const text = readFileSync(join(SRC, module), 'utf8')
    for (const [, spec] of text.matchAll(IMPORT)) {
      const target = relative(SRC, resolve(dirname(join(SRC, module)), spec as string)).replace(
        /\.js$/,
        '.ts',
      )
      const [their, name] = layerOf(target)
      if (their > layer) upward.push(`${module} imports ${target} (${name})`)
    }
  }
  t.same(upward, [])
})

t.test('every module has a test file of its own name', async (t) => {
  const tests = new Set(modules(TEST))
  const untested = modules(SRC)
    .filter((module) => !/(^|\/)(main|start)\.ts$|^boot\//.test(module))
    .filter((module) => !tests.has(module.replace(/\.ts$/, '.test.ts')))
  t.same(untested, [])
})
