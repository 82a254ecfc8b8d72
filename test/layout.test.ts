import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The layout shows the flow (docs/design.md, "Layout"): each folder of src/
 * is one layer, and a module imports only from its own folder or from
 * folders of lower layers. Folders that share a layer are siblings that
 * never import each other. The files at the top of src/ are the app.
 */
const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const TEST = fileURLToPath(new URL('./', import.meta.url))

const LAYERS: readonly (readonly string[])[] = [
  ['core'], // errors, addresses, the breaker: what everything uses
  ['path', 'version', 'cache'], // leaf helpers
  ['table'], // the pattern language, matcher and layers
  ['catalog'], // what manifests say: parsing and reading, pure
  ['config'], // every setting, read once, and the table file
  ['fleet'], // the Redis plan and the fleet's shared store
  ['upstream'], // existence checks with GitHub
  ['manifests'], // the manifests held and the snapshots adopted
  ['decision'], // the one decision
  ['directory'], // pages as HTML or JSON
  ['response'], // an Answer's response, written and recorded
  ['protection'], // client address, rate limit, server and connection limits
  ['metrics'], // counts and their listener
  ['http', 'lane', 'webhooks', 'mirror'], // the transports: they only write responses (the mirror, files)
  ['boot'], // what the start needs
  ['.'], // the app: app.ts, main.ts, start.ts, cli.ts
]

/** A module's folder (`.` at the top of src/) and that folder's layer. */
function layerOf(module: string): { folder: string; layer: number } {
  const folder = module.includes('/') ? (module.split('/')[0] as string) : '.'
  const layer = LAYERS.findIndex((folders) => folders.includes(folder))
  if (layer === -1) throw new Error(`${module}: folder ${folder} is in no layer`)
  return { folder, layer }
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

t.test('no import runs back up, nor across to a sibling', async (t) => {
  const wrong: string[] = []
  for (const module of modules(SRC)) {
    const from = layerOf(module)
    const text = readFileSync(join(SRC, module), 'utf8')
    for (const [, spec] of text.matchAll(IMPORT)) {
      const target = relative(SRC, resolve(dirname(join(SRC, module)), spec as string)).replace(
        /\.js$/,
        '.ts',
      )
      const to = layerOf(target)
      if (to.folder === from.folder || to.layer < from.layer) continue
      wrong.push(`${module} imports ${target} (${to.layer > from.layer ? 'up' : 'a sibling'})`)
    }
  }
  t.same(wrong, [])
})

t.test('every folder of src/ is in a layer', async (t) => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
  t.same(
    folders.filter((folder) => !LAYERS.some((layer) => layer.includes(folder))),
    [],
  )
})

t.test('every module has a test file of its own name', async (t) => {
  const tests = new Set(modules(TEST))
  const untested = modules(SRC)
    .filter((module) => !/(^|\/)(main|start)\.ts$|^boot\//.test(module))
    .filter((module) => !tests.has(module.replace(/\.ts$/, '.test.ts')))
  t.same(untested, [])
})
