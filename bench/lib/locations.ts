import { createHash } from 'node:crypto'
import { request } from 'undici'
import {
  answerKindOf,
  comparableLocation,
  expectedLocation,
  fixtureBytes,
  type Fixture,
  type MixPath,
} from './mix.js'
import { DOCS_SITE, type Server } from './servers.js'

export interface Disagreement {
  readonly path: string
  /** Per server: status and Location reduced for comparison, or the digest of a 200's bytes. */
  readonly answers: Readonly<Record<string, string>>
  readonly expected: string
}

/**
 * Asks every server for every path of the mix once and compares the answers:
 * a redirect must be a 302 whose Location reduces to what the mix expects
 * (release targets compared below the releases base, since ours points at
 * the fake GitHub); a snapshot file, from the service, a 200 with exactly the
 * bytes the others' 302 leads to. Returns the paths where any server
 * differs; empty means all agree. For the service this also warms the
 * upstream-check cache and adopts the snapshot.
 */
export async function compareLocations(
  servers: readonly Server[],
  mix: readonly MixPath[],
  fixture: Fixture,
): Promise<Disagreement[]> {
  const disagreements: Disagreement[] = []
  for (const entry of mix) {
    const redirect = `302 ${expectedLocation(entry, DOCS_SITE)}`
    const bytes = fixtureBytes(fixture, entry.target)
    const served = bytes === undefined ? '(no bytes)' : `200 sha256:${digest(Buffer.from(bytes))}`
    const answers: Record<string, string> = {}
    let agree = true
    for (const server of servers) {
      answers[server.name] = await answerOf(server, entry.path)
      const expected =
        server.servesSnapshots === true && answerKindOf(entry.kind) === 'snapshot'
          ? served
          : redirect
      agree &&= answers[server.name] === expected
    }
    if (!agree)
      disagreements.push({ path: entry.path, answers, expected: `${redirect} | ${served}` })
  }
  return disagreements
}

async function answerOf(server: Server, path: string): Promise<string> {
  const response = await request(`${server.url}${path}`)
  const body = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode === 200) return `200 sha256:${digest(body)}`
  const location = response.headers.location
  const reduced =
    typeof location === 'string' ? comparableLocation(location, server.releasesBase) : '(none)'
  return `${response.statusCode} ${reduced}`
}

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
