#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { cacheFileFor, compileWithCodeCache } from './boot/code-cache.js'

/**
 * dist/main.js, the entry of the built package (scripts/build.ts): runs
 * the bundled service (src/main.ts and its dependencies in one file) with
 * the V8 code cache the build's warm-up run left beside it, one per Node.js
 * version and flags. When there is none for this node and these flags, or
 * V8 refuses it, this run leaves a fresh one at exit, if the folder is
 * writable (an image's is not).
 */
const bundle = fileURLToPath(new URL('./lib/sysext-redirector.cjs', import.meta.url))
const service = compileWithCodeCache(
  bundle,
  cacheFileFor(bundle, process.version, process.execArgv),
)
if (service.state !== 'accepted') process.once('exit', () => service.save())
service.run()
