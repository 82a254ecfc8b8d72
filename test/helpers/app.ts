import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp, type AppOptions } from '../../src/app.js'
import { originsOf, parseConfig } from '../../src/config/service.js'
import type { Env } from '../../src/config/env.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'

/** Upstream checks and the manifest index off: pure rewriting, no network. */
export const OFFLINE = { UPSTREAM_CHECKS: 'false', MANIFEST_INDEX: 'false' } as const

export interface TestApp {
  readonly app: FastifyInstance
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[]
}

/**
 * Builds the real app from an environment, the way main.ts does, with the
 * logs captured in memory. Extra options (dispatcher, clock, ...) pass through.
 */
export async function testApp(env: Env = {}, extra: Partial<AppOptions> = {}): Promise<TestApp> {
  // Nothing reaches for github.com unless a test points GITHUB_URL at the fake.
  // The check budget counts on the injected clock, which most tests hold still: it is
  // as good as off here, and so is each client's share of it, unless a test sets them
  // (test/upstream/github-limits.test.ts).
  const config = parseConfig({
    LOG_LEVEL: 'info',
    ...OFFLINE,
    UPSTREAM_CHECKS_PER_SECOND: '100000',
    // A test that sets the budget gets a client's share of it by default.
    ...(env.UPSTREAM_CHECKS_PER_SECOND === undefined
      ? { UPSTREAM_CHECKS_PER_CLIENT: '100000' }
      : {}),
    ...env,
  })
  const table = await loadTable(config.patternTable ?? DEFAULT_TABLE_FILE, (table) =>
    originsOf(config, table),
  )
  const logs: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line))
      done()
    },
  })
  const app = await buildApp({
    config,
    table,
    logger: pino({ level: config.logLevel }, stream),
    ...extra,
  })
  return { app, logs }
}
