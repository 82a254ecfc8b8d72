// Loads the TypeScript sources in tests and in the processes tests start:
// `node --import ./test/helpers/ts-register.mjs`. Not tsx: tsx strips the
// whitespace of what it compiles, and with each module on a handful of lines
// the coverage report counted code that never ran as covered.
//
// module.registerHooks (Node.js 22.15 and later) runs the hooks in this
// thread, synchronously; module.register, which ran them on a loader thread,
// is deprecated from Node.js 26 on (DEP0205) and warns on stderr.
import { registerHooks } from 'node:module'
import { load, resolve } from './ts-hooks.mjs'

registerHooks({ resolve, load })
