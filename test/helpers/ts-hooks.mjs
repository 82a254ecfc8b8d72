// Module hooks for ts-register.mjs: compile .ts with esbuild (types dropped,
// lines kept, an inline source map for stack traces and coverage), and find
// `./x.js` imports as `./x.ts`, as TypeScript's NodeNext resolution does.
// Synchronous, as module.registerHooks wants them.
//
// What esbuild makes of a file is kept in node_modules/.cache/ts-hooks/, by
// the digest of everything it depends on (the source, its path, esbuild's
// version, the Node.js target): each test file's process and each process a
// test starts compiled some 85 modules again, about 0.35 s apiece. A kept
// output is the same bytes esbuild would make, so coverage maps alike.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { transformSync, version } from 'esbuild'

const CACHE = fileURLToPath(new URL('../../node_modules/.cache/ts-hooks/', import.meta.url))

export function resolve(specifier, context, next) {
  try {
    return next(specifier, context)
  } catch (err) {
    const relative = specifier.startsWith('.') || specifier.startsWith('file:')
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !relative || !specifier.endsWith('.js')) throw err
    return next(`${specifier.slice(0, -3)}.ts`, context)
  }
}

export function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context)
  const path = fileURLToPath(url)
  return {
    format: 'module',
    source: compiled(path, readFileSync(path, 'utf8')),
    shortCircuit: true,
  }
}

function compiled(path, source) {
  const target = `node${process.versions.node}`
  const key = createHash('sha256').update(`${version}\0${target}\0${path}\0${source}`).digest('hex')
  const kept = `${CACHE}${key}.js`
  try {
    return readFileSync(kept, 'utf8')
  } catch {
    // Not kept yet: made below.
  }
  const { code } = transformSync(source, {
    loader: 'ts',
    format: 'esm',
    target,
    sourcemap: 'inline',
    sourcefile: path,
  })
  // Written whole, then renamed: a process reading it never sees half a file.
  mkdirSync(CACHE, { recursive: true })
  const part = `${kept}.${process.pid}.part`
  writeFileSync(part, code)
  renameSync(part, kept)
  return code
}
