import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { testApp, type TestApp } from './app.js'
import type { FakeGitHub } from './fake-github.js'

/** The Fedora sysexts (extensions.fcos.fr): its two repositories and its docs site. */
export const FEDORA = 'fedora-sysexts/fedora'
export const COMMUNITY = 'fedora-sysexts/community'
export const DOCS = 'https://fedora-sysexts.github.io'
export const SECRET = 'fedora secret'

/** A shipped table's file, by name (`fedora-sysexts.yaml`). */
export function shippedTable(name: string): string {
  return fileURLToPath(new URL(`../../tables/${name}`, import.meta.url))
}

/**
 * The app serving one of the Fedora tables from `fake` as docs/operating.md says
 * (the table and FALLBACK_URL), with upstream checks and the webhook on.
 */
export async function fedoraApp(
  t: Test,
  table: string,
  fake: FakeGitHub,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const built = await testApp({
    PATTERN_TABLE: shippedTable(table),
    FALLBACK_URL: DOCS,
    GITHUB_URL: fake.url,
    UPSTREAM_CHECKS: 'true',
    GITHUB_WEBHOOK_SECRET: SECRET,
    ...env,
  })
  t.teardown(() => built.app.close())
  return built
}
