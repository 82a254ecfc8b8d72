import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.js'
import { releaseDelivery } from '../../helpers/fleet.js'
import type { LogFile } from './artifacts.js'
import { Bakery, type PublishHooks } from './bakery.js'
import { startService, type RequestLine, type Service, type ServiceOptions } from './service.js'

/**
 * How long the service trusts what it learnt upstream, kept short so a test
 * can wait it out: a re-uploaded index or a newly published version must be
 * seen within this time.
 */
export const LIFETIME_MS = 2000

/** The service's settings in this tier: upstream checks on, short lifetimes. */
export const SERVICE_ENV = {
  UPSTREAM_CHECKS: 'true',
  CHECK_TTL_MUTABLE: `${LIFETIME_MS}ms`,
  CHECK_TTL_MISSING: `${LIFETIME_MS}ms`,
  // The adopted snapshot is read again as often, and a held-back one retried sooner.
  INDEX_TTL: `${LIFETIME_MS}ms`,
  INDEX_RETRY: '250ms',
  // GitHub's release events reach the service, as they do in production.
  GITHUB_WEBHOOK_SECRET: 'e2e-webhook-secret',
} as const

/** How long a publish may take to be served (webhook, read, adoption) before a test gives up. */
const SERVED_WITHIN_MS = 10_000

/** The User-Agent of the tier's own reads (a publish's wait): not a client's, so not among answers(). */
const BAKERY_AGENT = 'e2e-bakery'

/** The service in front of a fake GitHub: what every stack of this tier has. */
export interface ServiceStack {
  readonly github: FakeGitHub
  readonly service: Service
  /** The service's answers to one path (exactly as the client sent it). */
  answers(path: string): Promise<RequestLine[]>
  close(): Promise<void>
}

export interface Stack extends ServiceStack {
  readonly bakery: Bakery
}

/** The fake GitHub with an empty bakery, and the service in front of it (`env` beyond SERVICE_ENV). */
export async function startStack(
  serviceLog: LogFile,
  env: Readonly<Record<string, string>> = {},
  /**
   * false: the bakery neither sends webhooks nor waits to be served (for a
   * service whose rate limit would count them as the client's requests).
   */
  announced = true,
): Promise<Stack> {
  const github = await startFakeGitHub()
  const stack = await serveFrom(github, {
    repo: github.repo,
    env: { ...SERVICE_ENV, ...env },
    log: serviceLog,
  })
  const url = stack.service.url
  const hooks: PublishHooks = {
    announce: (tag) => deliverRelease(url, tag),
    served: async (ext, extensionSums, globalSums) => {
      await servedAs(url, `/extensions/${ext}/SHA256SUMS`, extensionSums)
      await servedAs(url, '/extensions/SHA256SUMS', globalSums)
    },
  }
  return { ...stack, bakery: new Bakery(github, undefined, announced ? hooks : undefined) }
}

/** GitHub's `release` event for a tag, signed with the tier's secret, as GitHub delivers it. */
export async function deliverRelease(service: string, tag: string, repository?: string) {
  const secret = SERVICE_ENV.GITHUB_WEBHOOK_SECRET
  const { body, headers } = releaseDelivery(secret, tag, 'published', repository)
  const response = await fetch(`${service}/hooks/github`, { method: 'POST', body, headers })
  if (response.status !== 200) {
    throw new Error(`webhook ${tag}: ${response.status} ${await response.text()}`)
  }
}

/** Waits until the service serves `path` with exactly `body` (a publish is then done for clients). */
export async function servedAs(service: string, path: string, body: string): Promise<void> {
  const until = Date.now() + SERVED_WITHIN_MS
  for (;;) {
    const response = await fetch(`${service}${path}`, { headers: { 'user-agent': BAKERY_AGENT } })
    if (response.status === 200 && (await response.text()) === body) return
    if (Date.now() > until)
      throw new Error(`${path} not served as published within ${SERVED_WITHIN_MS} ms`)
    await sleep(20)
  }
}

/** Starts the service in front of `github`; closes that fake GitHub too if the start fails. */
export async function serveFrom(
  github: FakeGitHub,
  options: Omit<ServiceOptions, 'githubUrl'>,
): Promise<ServiceStack> {
  try {
    const service = await startService({ ...options, githubUrl: github.url })
    return {
      github,
      service,
      answers: async (path) =>
        (await service.requests()).filter(
          (line) => line.path === path && line.userAgent !== BAKERY_AGENT,
        ),
      close: async () => {
        await service.stop()
        await github.close()
      },
    }
  } catch (error) {
    await github.close()
    throw error
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
