// Loads the TypeScript sources in tests and in the processes tests start:
// `node --import ./test/helpers/ts-register.mjs`. Not tsx: tsx strips the
// whitespace of what it compiles, and with each module on a handful of lines
// the coverage report counted code that never ran as covered.
import { register } from 'node:module'

register('./ts-hooks.mjs', import.meta.url)
