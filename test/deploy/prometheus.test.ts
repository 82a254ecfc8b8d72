import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { listenMetrics } from '../../src/metrics/server.js'
import { testApp } from '../helpers/app.js'

/**
 * The operators' files in deploy/: Prometheus alert rules, proven with
 * promtool (Debian's prometheus package; scripts/test.sh installs it), and a
 * Grafana dashboard. Both may name only metrics the service exports, read
 * here from a running service's /metrics.
 */
const PROMETHEUS = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url))
const DASHBOARD = new URL('../../deploy/grafana/sysext-redirector.json', import.meta.url)

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: PROMETHEUS, encoding: 'utf8' })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

/** The queries of the alert rules and of the dashboard's panels. */
function queries(): { rules: string[]; dashboard: string[] } {
  const file = parse(readFileSync(`${PROMETHEUS}alerts.yaml`, 'utf8')) as {
    groups: { rules: { expr: string }[] }[]
  }
  const board = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { targets: { expr: string }[] }[]
  }
  return {
    rules: file.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    dashboard: board.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
  }
}

/** Metric names a query reads: ours and Node's process metrics. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:sysext_redirector|process|nodejs)_[a-z0-9_]+\b/g)].map(
    ([name]) => name,
  )
}

t.test(
  'promtool: the rules are valid, and each alert fires and stays quiet as tested',
  async (t) => {
    const checked = promtool('check', 'rules', 'alerts.yaml')
    t.equal(checked.status, 0, checked.output)
    t.match(checked.output, /SUCCESS: 12 rules found/)
    const tested = promtool('test', 'rules', 'alerts.test.yaml')
    t.equal(tested.status, 0, tested.output)
    t.match(tested.output, /SUCCESS/)
  },
)

t.test('every alert has a test that makes it fire', async (t) => {
  const alerts = parse(readFileSync(`${PROMETHEUS}alerts.yaml`, 'utf8')) as {
    groups: { rules: { alert: string }[] }[]
  }
  const tests = parse(readFileSync(`${PROMETHEUS}alerts.test.yaml`, 'utf8')) as {
    tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[]
  }
  const fired = new Set(
    tests.tests.flatMap((one) =>
      one.alert_rule_test
        .filter((test) => test.exp_alerts.length > 0)
        .map((test) => test.alertname),
    ),
  )
  const names = alerts.groups.flatMap((group) => group.rules.map((rule) => rule.alert))
  t.same(
    names.filter((name) => !fired.has(name)),
    [],
  )
  t.equal(names.length, 12)
})

t.test('the rules and the dashboard name only metrics a running service exports', async (t) => {
  // With a shared store configured (not reachable: its metrics exist all the same).
  const { app } = await testApp({ UPSTREAM_CHECKS: 'false', REDIS_URL: 'redis://127.0.0.1:1' })
  t.teardown(() => app.close())
  const { port } = await listenMetrics(app, { port: 0, host: '127.0.0.1' })
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const exported = new Set<string>()
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(name as string)
    if (type === 'histogram')
      for (const part of ['bucket', 'count', 'sum']) exported.add(`${name}_${part}`)
  }
  const { rules, dashboard } = queries()
  t.ok(dashboard.length >= 13, `${dashboard.length} dashboard queries`)
  for (const [what, exprs] of [
    ['alert rules', rules],
    ['dashboard', dashboard],
  ] as const) {
    const named = new Set(exprs.flatMap(metricsIn))
    t.ok(named.size > 0, `${what}: ${named.size} metrics`)
    t.same(
      [...named].filter((name) => !exported.has(name)),
      [],
      `${what}: every metric named is exported`,
    )
  }
})
