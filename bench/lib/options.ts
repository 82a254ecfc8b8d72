import { parseArgs } from 'node:util'

export interface Options {
  readonly connections: number
  readonly durationS: number
  readonly warmupS: number
  /** Servers measured in turn this many times; each reported by its median round. */
  readonly rounds: number
  /** Distinct random paths sent before the memory reading. */
  readonly randomRequests: number
  readonly startupRuns: number
  /** Concurrent requests for one cold target. */
  readonly burst: number
  /** Also run the service under --cpu-prof and summarise the profile. */
  readonly profile: boolean
  readonly out: string
  readonly allowTypeErrors: boolean
  /** Keep the temp dir (build, logs, server configs) for a look afterwards. */
  readonly keep: boolean
  /** Also measure a service with a shared store (REDIS_URL, counts per instance). */
  readonly sharedStore: boolean
}

export const USAGE = `npm run bench [-- options]
  --connections N      wrk connections (default 64)
  --duration S         measured seconds per server (default 10)
  --warmup S           unmeasured seconds before each (default 2)
  --rounds N           measure the servers in turn N times, report each one's median round
                       (default 1; 3 or 5 on a machine others are using)
  --random-requests N  distinct random paths before the memory reading (default 1000000; 0 skips)
  --startup-runs N     process starts timed to the first 302 (default 5)
  --burst N            concurrent requests for one cold target (default 1000)
  --profile            also profile the service under load (node --cpu-prof)
  --out FILE           results JSON (default bench/results/latest.json)
  --allow-type-errors  measure even if tsc reports errors (the bundle does not need the types)
  --keep               keep the temp dir with the build, logs and server configs
  --shared-store       also measure a second service with a shared store (a redis-server,
                       REDIS_URL, RATE_LIMIT_SHARED=false), side by side with the first`

export function parseOptions(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      connections: { type: 'string', default: '64' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      'random-requests': { type: 'string', default: '1000000' },
      'startup-runs': { type: 'string', default: '5' },
      burst: { type: 'string', default: '1000' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results/latest.json' },
      'allow-type-errors': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'shared-store': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return 'help'
  return {
    connections: count(values.connections, '--connections', 1),
    durationS: count(values.duration, '--duration', 1),
    warmupS: count(values.warmup, '--warmup', 0),
    rounds: count(values.rounds, '--rounds', 1),
    randomRequests: count(values['random-requests'], '--random-requests', 0),
    startupRuns: count(values['startup-runs'], '--startup-runs', 1),
    burst: count(values.burst, '--burst', 1),
    profile: values.profile,
    out: values.out,
    allowTypeErrors: values['allow-type-errors'],
    keep: values.keep,
    sharedStore: values['shared-store'],
  }
}

function count(value: string, name: string, min: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} ${value}: expected a whole number >= ${min}`)
  return n
}
