import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { AppOptions } from '../../src/app.js'
import type { Env } from '../../src/config/env.js'
import type { Checked, UpstreamChecks } from '../../src/upstream/checks.js'
import type { CheckOutcome, UpstreamEvents } from '../../src/upstream/head.js'
import { testApp } from './app.js'
import { startFakeGitHub, type FakeGitHub } from './fake-github.js'

/** Published on the fake GitHub at the start of every upstream test. */
export const ASSETS = {
  'kubernetes-v1.32.2': { 'kubernetes-v1.32.2-x86-64.raw': 'image' },
  kubernetes: { SHA256SUMS: 'sums\n', 'kubernetes.conf': '[Transfer]\n' },
}

/** Request paths and the release asset each one leads to. */
export const IMAGE = {
  path: '/extensions/kubernetes-v1.32.2-x86-64.raw',
  tag: 'kubernetes-v1.32.2',
  name: 'kubernetes-v1.32.2-x86-64.raw',
}
export const INDEX = {
  path: '/extensions/kubernetes/SHA256SUMS',
  tag: 'kubernetes',
  name: 'SHA256SUMS',
}
export const MISSING = {
  path: '/extensions/kubernetes-v9.9.9-x86-64.raw',
  tag: 'kubernetes-v9.9.9',
  name: 'kubernetes-v9.9.9-x86-64.raw',
}

/** GitHub's own word on a target, as the checks answer it (no mirror asked). */
export function checked(answer: CheckOutcome): Checked {
  return { answer, mirror: null, github: null }
}

/** A clock the test moves; starts above zero (lru-cache reads 0 as "no start"). */
export class TestClock {
  ms = 1_000_000
  now(): number {
    return this.ms
  }
  advance(ms: number): void {
    this.ms += ms
  }
}

export class RecordedEvents implements UpstreamEvents {
  readonly checks: { outcome: CheckOutcome; durationSeconds: number }[] = []
  readonly caches: string[] = []
  check(outcome: CheckOutcome, durationSeconds: number): void {
    this.checks.push({ outcome, durationSeconds })
  }
  cache(result: string): void {
    this.caches.push(result)
  }
}

export interface Setup {
  readonly github: FakeGitHub
  readonly app: FastifyInstance
  readonly checks: UpstreamChecks
  readonly logs: Record<string, unknown>[]
  readonly clock: TestClock
  readonly events: RecordedEvents
}

/** A fake GitHub and the real app pointed at it, with a test clock and recorded events. */
export async function setup(
  t: Test,
  env: Env = {},
  extra: Partial<AppOptions> = {},
): Promise<Setup> {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const clock = new TestClock()
  const events = new RecordedEvents()
  const { app, logs } = await testApp(
    // The manifest index and rate limiting have tests of their own; here they
    // would only add requests to count and limits to trip.
    { GITHUB_URL: github.url, UPSTREAM_CHECKS: 'true', RATE_LIMIT_MAX: '0', ...env },
    { clock, upstreamEvents: events, ...extra },
  )
  t.teardown(() => app.close())
  return { github, app, checks: app.upstreamChecks as UpstreamChecks, logs, clock, events }
}

/** Waits until no check is in flight (background refreshes included). */
export async function settle(checks: UpstreamChecks): Promise<void> {
  const deadline = Date.now() + 5000
  while (checks.inFlight > 0) {
    if (Date.now() > deadline) throw new Error('upstream checks did not settle')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** The request log line of the last request for a path. */
export function requestLine(
  logs: Record<string, unknown>[],
  path: string,
): Record<string, unknown> {
  const line = logs.filter((l) => l.msg === 'request' && l.path === path).at(-1)
  if (line === undefined) throw new Error(`no request line for ${path}`)
  return line
}
