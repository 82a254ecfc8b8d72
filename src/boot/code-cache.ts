import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, Module } from 'node:module'
import { dirname } from 'node:path'
import { Script } from 'node:vm'

/** What V8 made of the cache file: used, refused (another Node or other flags), or none there. */
export type CacheState = 'accepted' | 'rejected' | 'absent'

export interface CompiledFile {
  readonly state: CacheState
  /** Runs the file as a CommonJS module: its own `require`, `module`, `__filename` and `__dirname`. */
  run(): void
  /**
   * Writes V8's code for every function compiled so far to the cache file
   * (by rename, so a reader never sees half a file). False when it could not
   * be written, as on a read-only image: the next start compiles again.
   */
  save(): boolean
}

/**
 * Where the code cache for `file` goes when this Node.js runs it with these
 * command-line flags: V8 accepts a cache only from the same version and V8
 * flags, so each combination has its own file. A CLI command run without the
 * image's flags then leaves the cache the build warmed alone.
 * `cacheFileFor(f, 'v24.1.0', ['--optimize-for-size'])` is
 * `f.node.v24.1.0.--optimize-for-size.cache`.
 */
export function cacheFileFor(file: string, version: string, execArgv: readonly string[]): string {
  const key = ['node', version, ...execArgv].join('.').replace(/[^\w.=+-]/g, '_')
  return `${file}.${key}.cache`
}

/**
 * Compiles a CommonJS file with V8's code cache from `cacheFile` when one
 * is there. Node 20 keeps no compiled code between starts, and compiling the
 * bundled service (Fastify, undici, pino, prom-client) was a third of its
 * start-up; with the cache V8 deserialises that code instead. A cache from
 * another V8 or made under other V8 flags is refused by V8 itself, and the
 * file is then simply compiled; so is one that cannot be read.
 */
export function compileWithCodeCache(file: string, cacheFile: string): CompiledFile {
  const cachedData = readIfThere(cacheFile)
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  })
  return {
    state: cachedData === undefined ? 'absent' : stateOf(script),
    run: () => runAsModule(script, file),
    save: () => save(script, cacheFile),
  }
}

function runAsModule(script: Script, file: string): void {
  const module = new Module(file)
  module.filename = file
  const run = script.runInThisContext() as (...args: unknown[]) => void
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
}

function stateOf(script: Script): CacheState {
  return script.cachedDataRejected === true ? 'rejected' : 'accepted'
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file)
  } catch {
    // Missing or unreadable, it is the same to us: compile from source.
    return undefined
  }
}

function save(script: Script, cacheFile: string): boolean {
  const partial = `${cacheFile}.${process.pid}`
  try {
    writeFileSync(partial, script.createCachedData())
    renameSync(partial, cacheFile)
    return true
  } catch {
    rmSync(partial, { force: true })
    return false
  }
}
