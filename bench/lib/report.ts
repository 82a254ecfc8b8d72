import { format as formatProfile } from '../profile-summary.js'
import type { ColdBurst } from './burst.js'
import type { Machine } from './machine.js'
import type { Options } from './options.js'
import type { Memory } from './proc.js'
import type { Profile } from './profile.js'
import type { RandomPaths } from './random-paths.js'
import type { Startup } from './startup.js'
import { ANSWER_KINDS, type AnswerKind } from './mix.js'
import type { Throughput } from './throughput.js'

export interface Results {
  readonly startedAt: string
  readonly seconds: number
  readonly machine: Machine
  readonly loadAtEnd: number
  readonly options: Options
  readonly buildMs: number
  readonly typeErrors: boolean
  /** The measured service once started and its cache warmed, before any load. */
  readonly serviceAtStart: Memory
  /** Per answer kind: redirects, and snapshot files (which Caddy and nginx redirect). */
  readonly throughput: Readonly<Record<AnswerKind, readonly Throughput[]>>
  readonly startup: Startup
  readonly coldBurst: ColdBurst
  readonly randomPaths: RandomPaths | null
  /** Request log lines the measured service wrote, to compare with the requests sent. */
  readonly requestLogLines: number
  readonly profile: Profile | null
}

const MIB = 1024

/** Each server's figures over Caddy's: above 1 is more (faster, slower, bigger). */
export function ratiosToCaddy(
  throughput: readonly Throughput[],
): Record<string, Record<string, number>> {
  const caddy = throughput.find((t) => t.server === 'caddy')
  if (caddy === undefined) return {}
  return Object.fromEntries(
    throughput.map((t) => [
      t.server,
      {
        requestsPerSecond: t.requestsPerSecond / caddy.requestsPerSecond,
        p50: t.p50Ms / caddy.p50Ms,
        p99: t.p99Ms / caddy.p99Ms,
        peakRss: t.memory.peakKiB / caddy.memory.peakKiB,
      },
    ]),
  )
}

export interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

/** What each answer kind is, in the report. */
const KIND_TITLES: Record<AnswerKind, string> = {
  redirect: 'redirects (images and the docs-site fallback)',
  snapshot: 'snapshot files (manifests and transfer files: ours 200 with the bytes, theirs 302)',
}

/** The targets; reported, never asserted (the figures depend on the machine). */
export function targets(results: Results): Target[] {
  const list: Target[] = []
  for (const kind of ANSWER_KINDS) {
    const ratios = ratiosToCaddy(results.throughput[kind])['sysext-redirector']
    if (ratios === undefined) continue
    list.push({
      target: `${kind} answers: throughput >= 1.5 x Caddy`,
      measured: `${ratios.requestsPerSecond?.toFixed(2)} x`,
      met: (ratios.requestsPerSecond ?? 0) >= 1.5,
    })
    list.push({
      target: `${kind} answers: p99 latency <= Caddy`,
      measured: `${ratios.p99?.toFixed(2)} x`,
      met: (ratios.p99 ?? Infinity) <= 1,
    })
  }
  if (results.randomPaths !== null) {
    const mib = results.randomPaths.after.rssKiB / MIB
    list.push({
      target: `RSS <= 100 MB after ${results.randomPaths.requests} distinct paths`,
      measured: `${mib.toFixed(1)} MiB (${((mib * 2 ** 20) / 1e6).toFixed(1)} MB)`,
      met: mib * 2 ** 20 <= 100e6,
    })
  }
  list.push({
    target: 'start-up to first 302 < 300 ms',
    measured: `${results.startup.medianMs.toFixed(0)} ms (median)`,
    met: results.startup.medianMs < 300,
  })
  list.push({
    target: `exactly 1 upstream HEAD for ${results.coldBurst.requests} concurrent cold requests`,
    measured: String(results.coldBurst.upstreamHeads),
    met: results.coldBurst.upstreamHeads === 1,
  })
  return list
}

/** The results with the ratios and targets worked out; the profile's functions cut to the top 50. */
export function toJson(results: Results): object {
  const profile =
    results.profile === null
      ? null
      : {
          ...results.profile,
          summary: {
            ...results.profile.summary,
            functions: results.profile.summary.functions.slice(0, 50),
          },
        }
  return {
    ...results,
    profile,
    ratiosToCaddy: Object.fromEntries(
      ANSWER_KINDS.map((kind) => [kind, ratiosToCaddy(results.throughput[kind])]),
    ),
    targets: targets(results),
  }
}

export function formatResults(results: Results): string {
  const m = results.machine
  const lines = [
    `machine: ${m.nproc} cores, ${m.cpuModel}, kernel ${m.kernel}, Node ${m.node}, ${m.memoryGiB} GiB`,
    `         ${m.caddy} | ${m.nginx} | ${m.wrk}`,
    `load average (1 min): ${m.loadAtStart.toFixed(2)} at start, ${results.loadAtEnd.toFixed(2)} at end` +
      (m.loadAtStart > 0.5 ? '  (others are using the machine: figures are noisy)' : ''),
    `load: wrk -t1 -c${results.options.connections}, ${results.options.warmupS} s warm-up + ${results.options.durationS} s measured per server` +
      (results.options.rounds > 1
        ? `, ${results.options.rounds} rounds in turn (median round shown)`
        : '') +
      '; servers on core 0, wrk on core 1',
  ]
  for (const kind of ANSWER_KINDS)
    lines.push('', ...throughputTable(KIND_TITLES[kind], results.throughput[kind]))
  const s = results.startup
  lines.push(
    '',
    `sysext-redirector RSS before any load: ${(results.serviceAtStart.rssKiB / MIB).toFixed(1)} MiB`,
    `start-up to first 302: median ${s.medianMs.toFixed(0)} ms (runs: ${s.runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms)`,
  )
  const b = results.coldBurst
  lines.push(
    `cold burst: ${b.requests} concurrent requests for one new image -> ${b.upstreamHeads} upstream HEAD(s), ` +
      `${b.redirects} redirects, ${b.cacheMisses} waited on the check, ${b.ms.toFixed(0)} ms`,
  )
  const r = results.randomPaths
  if (r !== null) {
    lines.push(
      `distinct random paths: ${r.requests} in ${r.seconds.toFixed(1)} s (${r.requestsPerSecond.toFixed(0)} req/s, ${r.non3xx} answered 404); ` +
        `RSS ${(r.before.rssKiB / MIB).toFixed(1)} -> ${(r.after.rssKiB / MIB).toFixed(1)} MiB, peak ${(r.after.peakKiB / MIB).toFixed(1)} MiB`,
      `  ${r.upstreamChecks} upstream checks; V8 heap after: ${r.heapAfter.heapUsedMiB.toFixed(1)} MiB used of ` +
        `${r.heapAfter.heapTotalMiB.toFixed(1)} MiB, external ${r.heapAfter.externalMiB.toFixed(1)} MiB`,
    )
    if (r.series.length > 0) {
      const readings = r.series.map(
        (p) =>
          `${Math.round(p.answered / 1000)}k: ${p.rssMiB.toFixed(0)}/${p.heapUsedMiB.toFixed(0)}`,
      )
      lines.push(`  during the run (requests: RSS/heap used MiB): ${readings.join(', ')}`)
    }
  }
  lines.push(`request log: ${results.requestLogLines} JSON lines written by the measured service`)
  lines.push('', 'targets (issue 8; reported, not asserted):')
  for (const t of targets(results))
    lines.push(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.target}: ${t.measured}`)
  if (results.profile !== null) {
    lines.push(
      '',
      `profile of the measured run, ${results.profile.requestsPerSecond.toFixed(0)} req/s while profiled; again with`,
      `  node --import tsx bench/profile-summary.ts ${results.profile.file} --from ${results.profile.window.fromUs} --to ${results.profile.window.toUs}`,
      formatProfile(results.profile.summary),
    )
  }
  return lines.join('\n')
}

/** One answer kind's figures, a row per server, with the ratios to Caddy. */
function throughputTable(title: string, throughput: readonly Throughput[]): string[] {
  const lines = [
    `${title}:`,
    row([
      'server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'peak RSS MiB',
      'errors',
      'req/s vs Caddy',
      'p99 vs Caddy',
      'RSS vs Caddy',
    ]),
  ]
  const ratios = ratiosToCaddy(throughput)
  for (const t of throughput) {
    const r = ratios[t.server] ?? {}
    lines.push(
      row([
        t.server,
        t.requestsPerSecond.toFixed(0),
        t.p50Ms.toFixed(2),
        t.p99Ms.toFixed(2),
        (t.memory.peakKiB / MIB).toFixed(1),
        String(t.errors),
        times(r.requestsPerSecond),
        times(r.p99),
        times(r.peakRss),
      ]),
    )
  }
  for (const t of throughput) {
    if (t.rounds !== undefined && t.rounds.length > 1) {
      lines.push(`  ${t.server} req/s by round: ${t.rounds.map((r) => r.toFixed(0)).join(', ')}`)
    }
  }
  return lines
}

function times(ratio: number | undefined): string {
  return ratio === undefined ? '' : `${ratio.toFixed(2)}x`
}

function row(cells: readonly string[]): string {
  const widths = [18, 8, 8, 8, 13, 7, 15, 13, 13]
  return cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
    .join(' ')
}
