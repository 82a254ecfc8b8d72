#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { compileWithCodeCache } from './boot/code-cache.js'

/**
 * dist/main.js, the entry of the built package (scripts/build.ts): runs
 * the bundled service (src/main.ts and its dependencies in one file) with
 * the V8 code cache the build's warm-up run left beside it. When the cache
 * is missing or was made by another Node or with other flags, this run
 * leaves a fresh one at exit, if the folder is writable (an image's may not be).
 */
const bundle = fileURLToPath(new URL('./lib/sysext-redirector.cjs', import.meta.url))
const service = compileWithCodeCache(bundle, `${bundle}.cache`)
if (service.state !== 'accepted') process.once('exit', () => service.save())
service.run()
