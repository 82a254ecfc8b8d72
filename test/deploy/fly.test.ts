import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'smol-toml'
import t from 'tap'
import { lastOf, parseDockerfile, type Stage } from '../../deploy/tools/dockerfile.js'
import { checkServiceEnv } from '../../deploy/tools/service-env.js'
import { readDuration } from '../../src/config/env.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface FlyCheck {
  method?: string
  path?: string
  timeout?: string
}
interface FlyToml {
  kill_signal?: string
  kill_timeout?: number | string
  build?: { dockerfile?: string }
  env?: Record<string, string>
  http_service?: {
    internal_port?: number
    force_https?: boolean
    auto_stop_machines?: boolean | string
    min_machines_running?: number
    concurrency?: { type?: string; soft_limit?: number; hard_limit?: number }
    checks?: FlyCheck[]
  }
  metrics?: { port?: number; path?: string }
}

const fly = parse(readFileSync(join(ROOT, 'fly.toml'), 'utf8')) as FlyToml
const env = fly.env ?? {}
// The service as Fly runs it: the code's defaults plus fly.toml's [env].
const { config, unread } = checkServiceEnv(env)

/** Fly takes kill_timeout as whole seconds or as a duration such as "20s". */
function milliseconds(value: number | string | undefined): number {
  if (typeof value === 'number') return value * 1000
  return readDuration({ value }, 'value', Number.NaN)
}

t.test('every [env] variable is one the service reads, with a valid value', async (t) => {
  t.strictSame(unread, [], 'no unknown variable')
  t.equal(config.protection.trustProxy, 'fly', 'the client address comes from Fly-Client-IP')
})

t.test('the HTTP service reaches the service on its port, HTTPS only', async (t) => {
  const service = fly.http_service ?? {}
  t.equal(service.internal_port, config.port, 'internal_port is PORT')
  t.equal(service.force_https, true)
  t.equal(fly.build?.dockerfile, 'Dockerfile')
})

t.test('health checks ask /healthz, within Fly timeouts', async (t) => {
  const checks = fly.http_service?.checks ?? []
  t.ok(checks.length > 0, 'at least one check')
  for (const check of checks) {
    t.equal(check.path, '/healthz')
    t.equal(check.method, 'GET')
    t.ok(milliseconds(check.timeout) < 10_000, 'a short timeout')
  }
})

t.test('kill signal and timeout fit the graceful shutdown', async (t) => {
  t.equal(fly.kill_signal, 'SIGTERM')
  const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
  const runtime = dockerfile.stages.at(-1) as Stage
  t.equal(fly.kill_signal, lastOf(runtime, 'STOPSIGNAL')?.args, 'the same as the image')
  const kill = milliseconds(fly.kill_timeout)
  t.ok(
    kill > config.shutdownTimeoutMs,
    `kill_timeout ${kill} ms is longer than SHUTDOWN_TIMEOUT ${config.shutdownTimeoutMs} ms`,
  )
  t.ok(kill <= 300_000, 'within what Fly allows')
})

t.test('Machines stay running and load is counted in requests', async (t) => {
  const service = fly.http_service ?? {}
  t.ok(['off', false].includes(service.auto_stop_machines ?? 'unset'), 'never stopped when idle')
  t.ok((service.min_machines_running ?? 0) >= 1)
  t.equal(service.concurrency?.type, 'requests')
  const { soft_limit: soft = 0, hard_limit: hard = 0 } = service.concurrency ?? {}
  t.ok(soft > 0 && soft <= hard, 'a soft limit below the hard limit')
})

t.test('Fly scrapes the metrics listener', async (t) => {
  t.equal(fly.metrics?.port, config.metrics.port, 'metrics port is METRICS_PORT')
  t.not(fly.metrics?.port, config.port, 'not the public port')
  t.equal(fly.metrics?.path, '/metrics')
  t.ok('METRICS_HOST' in env, 'opened explicitly')
  t.notOk(['127.0.0.1', '::1', 'localhost'].includes(config.metrics.host), 'reachable by Fly')
})
