import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { build, type Metafile, type Plugin } from 'esbuild'
import { imageNodeFlags } from '../deploy/tools/dockerfile.js'
import { cacheFileFor } from '../src/boot/code-cache.js'
import { originsOf, parseConfig } from '../src/config/service.js'
import {
  DEFAULT_TABLE_FILE,
  loadTable,
  parseTableText,
  type ParsedTable,
} from '../src/config/table-file.js'

/**
 * `npm run build`: the service as the image runs it (`node FLAGS dist/main.js`).
 *
 *   dist/lib/sysext-redirector.cjs   src/main.ts and every dependency, one file
 *   dist/lib/...cjs.node-*.cache     V8's code for it, from a warm-up run
 *   dist/lib/parsed-tables.json      tables/ parsed, each with its text (load.ts)
 *   dist/main.js                     src/start.ts: runs the bundle with that cache
 *   dist/package.json                says dist/*.js are CommonJS
 *   dist/THIRD-PARTY-LICENSES.txt    the licences of what was bundled
 *
 * Start-up was mostly module loading: resolving and reading some 400 files,
 * then compiling them. One file removes the first, the code cache most of
 * the second (bench/README.md). The warm-up starts the built service with the
 * Dockerfile's node flags (V8 refuses a cache made under other flags),
 * answers its upstream checks from a local server, asks it for a redirect
 * twice (once through Fastify, once through the lane) and stops it; the
 * loader writes the cache as it exits. Type checking is `tsc`'s job, run
 * before this by `npm run build`.
 */

const ROOT = resolve(import.meta.dirname, '..')
const BUNDLE = 'lib/sysext-redirector.cjs'

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } })
  const out = resolve(values.out)
  await rm(out, { recursive: true, force: true })
  const metafile = await bundle(out)
  await writeFile(join(out, 'lib/parsed-tables.json'), JSON.stringify(await parsedTables()))
  await writeFile(join(out, 'THIRD-PARTY-LICENSES.txt'), await licences(metafile))
  await warmCodeCache(out, imageNodeFlags(await readFile(join(ROOT, 'Dockerfile'), 'utf8')))
}

async function bundle(out: string): Promise<Metafile> {
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20.18',
    // CommonJS, for the code cache (src/boot/code-cache.ts) and because an ES
    // module entry sets up Node's ES module loader, about 20 ms of every start.
    format: 'cjs',
    // CommonJS has no import.meta; each file gets its own URL from __filename.
    define: { 'import.meta.url': '__bundle_url' },
    banner: { js: 'var __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    // Whitespace and syntax only: names stay, so stack traces in logs stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  } as const
  const service = await build({
    ...common,
    entryPoints: ['src/main.ts'],
    // dist/lib/ is as deep as src/table/, so load.ts finds tables/ at ../../tables.
    outfile: join(out, BUNDLE),
    sourcemap: 'linked',
    metafile: true,
    plugins: [withoutNodesUndici],
  })
  if (!undiciPatched) {
    throw new Error(
      "undici's lib/web/cookies/index.js was not bundled: the patch that keeps Node's own undici out matched no file (scripts/build.ts, withoutNodesUndici)",
    )
  }
  await build({ ...common, entryPoints: ['src/start.ts'], outfile: join(out, 'main.js') })
  // The package's own "type": "module" would make dist/main.js an ES module.
  await writeFile(join(out, 'package.json'), '{ "type": "commonjs" }\n')
  return service.metafile
}

/** The shipped tables, parsed: the start skips YAML for a table with the same text. */
async function parsedTables(): Promise<ParsedTable[]> {
  const dir = join(ROOT, 'tables')
  const tables: ParsedTable[] = []
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(join(dir, name), 'utf8')
    tables.push({ text, doc: await parseTableText(text, name) })
  }
  return tables
}

/**
 * undici's cookie helpers, which the service never calls, read
 * `globalThis.Headers` as they load, so that they accept Node's own Headers
 * objects too. Node makes that global on first read by loading its own copy
 * of undici: 25 ms of every start and 7 MB for nothing. The bundle's copy of
 * that line leaves Node's out (still 45 to 88 ms and 9 to 17 MiB on Node.js 20
 * to 24); a changed line stops the build, and so does a moved file: an undici
 * update cannot undo the patch silently.
 */
let undiciPatched = false
const withoutNodesUndici: Plugin = {
  name: 'without-nodes-undici',
  setup(esbuild) {
    esbuild.onLoad(
      { filter: /[\\/]undici[\\/]lib[\\/]web[\\/]cookies[\\/]index\.js$/ },
      async (args) => {
        undiciPatched = true
        const source = await readFile(args.path, 'utf8')
        const line = '[Headers, globalThis.Headers].filter(Boolean)'
        if (!source.includes(line)) throw new Error(`${args.path} no longer has ${line}`)
        return { contents: source.replace(line, '[Headers]'), loader: 'js' }
      },
    )
  },
}

/** Every bundled package's licence file, under its name and version. */
async function licences(metafile: Metafile): Promise<string> {
  const packages = new Set<string>()
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match?.[1] !== undefined) packages.add(match[1])
  }
  const sections: string[] = []
  for (const dir of [...packages].sort()) {
    const manifest = JSON.parse(await readFile(join(ROOT, dir, 'package.json'), 'utf8'))
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE'].find((name) =>
      existsSync(join(ROOT, dir, name)),
    )
    const text =
      file === undefined
        ? `(no licence file; package.json says ${manifest.license})`
        : await readFile(join(ROOT, dir, file), 'utf8')
    sections.push(`${manifest.name}@${manifest.version} (${manifest.license})\n\n${text.trim()}\n`)
  }
  return `${sections.join(`\n${'-'.repeat(72)}\n\n`)}`
}

async function warmCodeCache(out: string, nodeFlags: readonly string[]): Promise<void> {
  const config = parseConfig({})
  const table = await loadTable(DEFAULT_TABLE_FILE, (table) => originsOf(config, table))
  const example = table.rules[0]?.examples[0]?.path as string
  const upstream = await listen(
    createServer((request, response) => {
      // GitHub's answer for an asset that exists.
      response.writeHead(request.method === 'HEAD' ? 302 : 404, {
        location: 'https://example.test/',
      })
      response.end()
    }),
  )
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeFlags, join(out, 'main.js')], {
    cwd: dirname(out),
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(await freePort()),
      GITHUB_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      LOG_LEVEL: 'warn',
      // The repository's copy: the build may go anywhere (the benchmark's goes to a temp dir).
      PATTERN_TABLE: DEFAULT_TABLE_FILE,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  try {
    const url = `http://127.0.0.1:${port}${example}`
    await firstAnswer(url, () => child.exitCode !== null)
    await expect302(url)
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    if (code !== 0) throw new Error(`the warm-up run exited with ${code}`)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    upstream.close()
  }
  const cache = cacheFileFor(join(out, BUNDLE), process.version, nodeFlags)
  if (!existsSync(cache)) throw new Error(`the warm-up run left no ${relative(ROOT, cache)}`)
}

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

async function freePort(): Promise<number> {
  const server = await listen(createServer())
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

/** Asks until something listens, then wants a 302. */
async function firstAnswer(url: string, exited: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if (exited()) throw new Error('the warm-up run exited before answering')
    const status = await fetch(url, { redirect: 'manual' }).then(
      (response) => response.status,
      () => 0,
    )
    if (status !== 0) return statusIs302(url, status)
    await new Promise((done) => setTimeout(done, 20))
  }
  throw new Error('the warm-up run did not answer within 30 s')
}

async function expect302(url: string): Promise<void> {
  statusIs302(url, (await fetch(url, { redirect: 'manual' })).status)
}

function statusIs302(url: string, status: number): void {
  if (status !== 302) throw new Error(`warm-up: ${url} answered ${status}, not 302`)
}

await main()
