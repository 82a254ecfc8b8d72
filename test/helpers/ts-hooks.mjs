// Module hooks for ts-register.mjs: compile .ts with esbuild (types dropped,
// lines kept, an inline source map for stack traces and coverage), and find
// `./x.js` imports as `./x.ts`, as TypeScript's NodeNext resolution does.
// Synchronous, as module.registerHooks wants them.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'

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
  const { code } = transformSync(readFileSync(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcemap: 'inline',
    sourcefile: path,
  })
  return { format: 'module', source: code, shortCircuit: true }
}
