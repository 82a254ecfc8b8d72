import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { assetsFromFixture, startFakeGitHub } from './fake-github.js'

/**
 * The fake GitHub as a process, for the benchmark and manual runs:
 *   node --import tsx test/helpers/fake-github-cli.ts --port N --repo owner/name --fixture FILE
 * FILE is JSON `{ "<tag>": { "<name>": "<text>" | { "randomBytes": N, "seed": S } } }`.
 * Prints `listening http://127.0.0.1:PORT` once ready; exits 0 on SIGTERM or SIGINT.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    repo: { type: 'string' },
    fixture: { type: 'string' },
  },
})

const fixture =
  values.fixture === undefined ? {} : JSON.parse(await readFile(values.fixture, 'utf8'))
const github = await startFakeGitHub({
  port: Number(values.port),
  ...(values.repo === undefined ? {} : { repo: values.repo }),
  assets: assetsFromFixture(fixture),
})
console.log(`listening ${github.url}`)

const stop = (): void => {
  void github.close().then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
