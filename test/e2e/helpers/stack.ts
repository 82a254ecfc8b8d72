import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.js'
import type { LogFile } from './artifacts.js'
import { Bakery } from './bakery.js'
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
} as const

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
): Promise<Stack> {
  const github = await startFakeGitHub()
  const stack = await serveFrom(github, {
    repo: github.repo,
    env: { ...SERVICE_ENV, ...env },
    log: serviceLog,
  })
  return { ...stack, bakery: new Bakery(github) }
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
      answers: async (path) => (await service.requests()).filter((line) => line.path === path),
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
