import type { Bakery } from './bakery.js'
import { describe, type RunResult } from './run.js'

/** What a client saw while the bakery published: its runs, and those that failed. */
export interface RaceOutcome {
  readonly runs: number
  readonly failures: readonly string[]
  /** The versions published meanwhile, in order. */
  readonly published: readonly string[]
}

export interface RaceOptions {
  readonly bakery: Bakery
  readonly ext: string
  /** How long the client polls (the publishes go on until then). */
  readonly ms: number
  /** Between the steps of one publish: how long a half-published state lasts. */
  readonly pauseMs: number
  /** Between two publishes: a bakery publishes now and then, not without a break. */
  readonly idleMs: number
  /** The metadata release's transfer files, which the Fedora order deletes and makes again. */
  readonly transfer: Readonly<Record<string, string>>
  /** One run of the client (sysupdate update, a pull, ...). */
  readonly poll: () => Promise<RunResult>
}

/**
 * Publishes new versions of an extension without a break, in both real
 * bakeries' orders by turns (the Flatcar bakery's manifest first, images
 * later, signature last; the Fedora sysexts' release deleted and made
 * again), while a client polls as fast as it runs. A consistent directory
 * gives the client no failed run.
 */
export async function pollDuringPublishes(options: RaceOptions): Promise<RaceOutcome> {
  const { bakery, ext, pauseMs } = options
  const published: string[] = []
  let publishing = true
  const publisher = (async () => {
    for (let minor = 1; publishing; minor++) {
      const version = `2.${minor}.0`
      if (minor % 2 === 1) await bakery.publishManifestFirst(ext, version, pauseMs)
      else await bakery.publishRecreated(ext, version, pauseMs, options.transfer)
      published.push(version)
      await new Promise((resolve) => setTimeout(resolve, options.idleMs))
    }
  })()
  const failures: string[] = []
  let runs = 0
  const end = Date.now() + options.ms
  try {
    while (Date.now() < end) {
      const result = await options.poll()
      runs++
      if (result.code !== 0) failures.push(describe(result))
    }
  } finally {
    publishing = false
    await publisher
  }
  return { runs, failures, published }
}
