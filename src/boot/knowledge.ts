import type { Settings } from '../config/settings.js'
import { keyFilesOf } from '../config/service.js'
import type { IndexSource, Knowledge } from '../decision/drivers.js'
import { createIndexes } from '../manifests/register.js'
import { readVerifiers } from '../manifests/signing-keys.js'
import { UpstreamChecks } from '../upstream/checks.js'
import { noGateEvents, UpstreamGate } from '../upstream/gate.js'
import { createUpstreamAgent, noUpstreamEvents } from '../upstream/head.js'
import type { Agent } from 'undici'

/** What the commands ask with: the service's knowledge, its gate to GitHub, and its connections. */
export interface LiveKnowledge extends Knowledge {
  /** GitHub's pauses and the per-second budget, as the service keeps them. */
  readonly gate: UpstreamGate
  /** The keep-alive pool every request to GitHub and the mirrors goes through. */
  readonly dispatcher: Agent
  close(): Promise<void>
}

/** Where the knowledge's warnings go: nowhere for explain, stderr for the mirror command. */
export interface KnowledgeLog {
  warn(details: object, message: string): void
}

const QUIET: KnowledgeLog = { warn: () => undefined }

/**
 * The checks and the index as the service builds them (its signing keys,
 * mirrors and gate too), outside the app: for `explain --live` and the
 * `mirror` command, which run the service's own decision in process.
 */
export async function liveKnowledge(
  { config, table, origins }: Settings,
  log: KnowledgeLog = QUIET,
): Promise<LiveKnowledge> {
  const verifiers = await readVerifiers(keyFilesOf(config, table))
  const agent = createUpstreamAgent(config.upstream)
  const { checksPerSecond, checksPerClient } = config.upstream
  const gate = new UpstreamGate({
    clock: performance,
    checksPerSecond,
    checksPerClient,
    events: noGateEvents,
    log,
  })
  const checks = config.upstream.enabled
    ? new UpstreamChecks({
        config: config.upstream,
        dispatcher: agent,
        clock: performance,
        events: noUpstreamEvents,
        gate,
        log,
        mirrors: origins.mirrors,
      })
    : null
  const parts = { dispatcher: agent, clock: performance, manifests: table.manifests, log, gate }
  const known = config.index.enabled
    ? createIndexes(config, origins.sources, (source) => ({
        ...parts,
        verify: verifiers.get(source),
        mirrors: origins.mirrors[source]?.bases,
      }))
    : new Map()
  const indexes = new Map<string, IndexSource>([...known].map(([name, one]) => [name, one.index]))
  const snapshots = new Map([...known].map(([name, one]) => [name, one.snapshots]))
  const index = indexes.get(origins.source) ?? null
  const close = () => agent.destroy()
  return { checks, index, indexes, snapshots, gate, dispatcher: agent, close }
}
