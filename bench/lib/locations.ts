import { request } from 'undici'
import { comparableLocation, expectedLocation, type MixPath } from './mix.js'
import { DOCS_SITE, type Server } from './servers.js'

export interface Disagreement {
  readonly path: string
  /** Per server: status and Location reduced for comparison. */
  readonly answers: Readonly<Record<string, string>>
  readonly expected: string
}

/**
 * Asks every server for every path of the mix once and compares the answers:
 * each must be a 302 whose Location reduces to what the mix expects (release
 * targets compared below the releases base, since ours points at the fake
 * GitHub). Returns the paths where any server differs; empty means all agree.
 * For the service this also warms the upstream-check cache.
 */
export async function compareLocations(
  servers: readonly Server[],
  mix: readonly MixPath[],
): Promise<Disagreement[]> {
  const disagreements: Disagreement[] = []
  for (const entry of mix) {
    const expected = `302 ${expectedLocation(entry, DOCS_SITE)}`
    const answers: Record<string, string> = {}
    for (const server of servers) answers[server.name] = await answerOf(server, entry.path)
    if (Object.values(answers).some((answer) => answer !== expected)) {
      disagreements.push({ path: entry.path, answers, expected })
    }
  }
  return disagreements
}

async function answerOf(server: Server, path: string): Promise<string> {
  const response = await request(`${server.url}${path}`)
  await response.body.dump()
  const location = response.headers.location
  const reduced =
    typeof location === 'string' ? comparableLocation(location, server.releasesBase) : '(none)'
  return `${response.statusCode} ${reduced}`
}
