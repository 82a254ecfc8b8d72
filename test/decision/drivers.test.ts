import type { Checked } from '../../src/upstream/checks.js'
import { checked } from '../helpers/upstream.js'
import t from 'tap'
import { text, type Answer } from '../../src/decision/answer.js'
import { firstNeed, fromMemory, liveFacts, run } from '../../src/decision/drivers.js'
import { ask, type Decision, type Fact, type Need } from '../../src/decision/needs.js'
import { RedirectorError } from '../../src/core/errors.js'
import type { CheckTarget, UpstreamChecks } from '../../src/upstream/checks.js'
import type { CheckOutcome } from '../../src/upstream/head.js'
import { bakery, MemorySource } from '../helpers/memory-source.js'

const target = (asset: string): CheckTarget => ({
  source: 'bakery',
  release: 'r',
  asset,
  location: `https://github.test/r/${asset}`,
  cache: 'versioned',
})

/** A decision that checks two targets and says what it learnt. */
function* twoChecks(): Decision<Answer> {
  const a = yield* ask({ kind: 'check', target: target('a') })
  const b = yield* ask({ kind: 'check', target: target('b') })
  return text(200, `${a.answer} ${b.answer}`, 'no-store', {
    layer: 'table',
    rule: 'x',
    upstream: null,
  })
}

t.test(
  'run: synchronous while facts are at hand, a promise from the first that is not',
  async (t) => {
    const seen: string[] = []
    const sync = run(
      twoChecks(),
      () => checked('exists'),
      (need, fact) => seen.push(`${need.kind}=${(fact as Checked).answer}`),
    )
    t.notOk(sync instanceof Promise)
    t.equal((sync as Answer).body, 'exists exists')
    t.same(seen, ['check=exists', 'check=exists'])
    const late = run(twoChecks(), (need) =>
      need.kind === 'check' && need.target.asset === 'a'
        ? Promise.resolve(checked('missing'))
        : checked('unknown'),
    )
    t.ok(late instanceof Promise)
    t.equal((await late).body, 'missing unknown')
    const both = await run(twoChecks(), () => Promise.resolve<Fact>(checked('exists')))
    t.equal(both.body, 'exists exists', 'late twice')
  },
)

t.test('fromMemory: what the cache says now, or null; nothing counted', async (t) => {
  const known: Record<string, CheckOutcome | undefined> = { a: 'exists', b: 'missing' }
  const looked: string[] = []
  const checks = {
    answerNow: (t: CheckTarget) => {
      const outcome = known[t.asset]
      return outcome === undefined ? undefined : checked(outcome)
    },
    lookupNow: (t: CheckTarget, client?: string) => looked.push(`${t.asset} ${client}`),
  } as unknown as UpstreamChecks
  const made = fromMemory(twoChecks(), { checks, index: null }, '192.0.2.7')
  t.equal(made?.answer.body, 'exists missing')
  t.same(looked, [], 'nothing counted while deciding')
  made?.commit()
  t.same(looked, ['a 192.0.2.7', 'b 192.0.2.7'], 'commit counts the checks it read, for the client')
  known.b = undefined
  t.equal(fromMemory(twoChecks(), { checks, index: null }), null, 'one unknown: the route asks')
  function* reads(): Decision<Answer> {
    yield* ask({ kind: 'extensions', source: 'bakery' })
    return text(200, '', 'no-store', { layer: 'directory', rule: null, upstream: null })
  }
  t.equal(fromMemory(reads(), { checks, index: null }), null, 'the index is never read from memory')
})

t.test('firstNeed: the answer, or the first thing the decision would ask', async (t) => {
  t.match(firstNeed(twoChecks()), { need: { kind: 'check', target: { asset: 'a' } } })
  // eslint-disable-next-line require-yield -- a decision that needs nothing
  function* none(): Decision<Answer> {
    return text(404, 'x', 'no-store', { layer: 'path', rule: null, upstream: null })
  }
  t.match(firstNeed(none()), { answer: { status: 404 } })
})

t.test('liveFacts: the index, with staleness; unavailable as a fact, not a throw', async (t) => {
  const source = bakery()
  const facts = liveFacts({ checks: null, index: source })
  const ask = (need: Need) => facts(need) as Promise<Fact>
  t.match(await ask({ kind: 'reading', file: 'docker.raw' }), {
    ok: true,
    stale: false,
    value: { extension: { name: 'docker' } },
  })
  source.staleNames.add('docker')
  t.match(await ask({ kind: 'extension', source: 'bakery', name: 'docker' }), {
    ok: true,
    stale: true,
  })
  t.match(await ask({ kind: 'extension', source: 'bakery', name: 'nosuch' }), {
    ok: true,
    value: undefined,
  })
  t.match(await ask({ kind: 'reading', file: 'nosuch.raw' }), { ok: true, value: undefined })
  t.match(await ask({ kind: 'extensions', source: 'bakery' }), { ok: true, stale: true })
  source.extensions = async () => {
    throw new RedirectorError('SR_INDEX_UNAVAILABLE', 'down')
  }
  t.same(await ask({ kind: 'extensions', source: 'bakery' }), { ok: false, reason: 'down' })
  source.extensions = async () => {
    throw new Error('a bug')
  }
  await t.rejects(
    ask({ kind: 'extensions', source: 'bakery' }),
    /a bug/,
    'anything else is a bug, thrown on',
  )
})

t.test('readings from memory: at once when the index holds them fresh', async (t) => {
  function* reading(): Decision<Answer> {
    const read = yield* ask({ kind: 'reading', file: 'docker.raw' })
    const said = read.ok ? (read.value?.extension.name ?? 'nothing') : `down: ${read.reason}`
    return text(200, said, 'no-store', { layer: 'newest', rule: 'newest', upstream: null })
  }
  const source = bakery()
  const docker = await source.extension('docker')
  const held = Object.assign(source, {
    held: true as boolean,
    readingNow(this: { held: boolean }, file: string) {
      if (!this.held) return undefined
      if (file === 'down.raw') throw new RedirectorError('SR_INDEX_UNAVAILABLE', 'GitHub is down')
      return {
        found:
          docker === undefined
            ? undefined
            : { extension: docker, arch: 'x86-64' as const, stream: undefined },
      }
    },
  })
  const knowledge = { checks: null, index: held }
  t.equal(fromMemory(reading(), knowledge)?.answer.body, 'docker')
  const live = run(reading(), liveFacts(knowledge))
  t.notOk(live instanceof Promise, 'the live decision is synchronous too')
  held.held = false
  t.equal(fromMemory(reading(), knowledge), null, 'not held: the route waits for it')
  t.equal((await run(reading(), liveFacts(knowledge))).body, 'docker', 'and reads it')
  held.held = true
  function* down(): Decision<Answer> {
    const read = yield* ask({ kind: 'reading', file: 'down.raw' })
    return text(503, read.ok ? 'up' : read.reason, 'no-store', {
      layer: 'newest',
      rule: 'newest',
      upstream: null,
    })
  }
  t.equal(fromMemory(down(), knowledge)?.answer.body, 'GitHub is down')
})

t.test('run with waitMs: facts later than the request may wait are "cannot say"', async (t) => {
  const never = new Promise<Fact>(() => undefined)
  const seen: string[] = []
  const started = Date.now()
  const answer = await run(
    twoChecks(),
    (need) => (need.kind === 'check' && need.target.asset === 'a' ? never : checked('exists')),
    (need, fact) => seen.push(`${need.kind}=${(fact as Checked).answer}`),
    50,
  )
  t.equal(answer.body, 'unknown exists', 'the check that never came: unknown')
  t.same(seen, ['check=unknown', 'check=exists'])
  t.ok(Date.now() - started < 5000, 'given up, not waited for')
  const catalog = await run(
    readingThenCheck(),
    (need) => (need.kind === 'reading' ? never : checked('exists')),
    undefined,
    20,
  )
  t.equal(catalog.body, 'reading: GitHub did not answer within 20 ms')
  const quick = await run(
    twoChecks(),
    () => Promise.resolve<Fact>(checked('missing')),
    undefined,
    1000,
  )
  t.equal(quick.body, 'missing missing', 'facts in time are taken as they are')
})

function* readingThenCheck(): Decision<Answer> {
  const reading = yield* ask({ kind: 'reading', file: 'k.raw' })
  const meta = { layer: 'newest', rule: 'newest', upstream: null } as const
  return text(200, `reading: ${reading.ok ? 'ok' : reading.reason}`, 'no-store', meta)
}

t.test(
  'publishes: asked of the source named, from memory when its manifest is fresh',
  async (t) => {
    function* publisher(): Decision<Answer> {
      const saids: string[] = []
      for (const source of ['main', 'extra']) {
        const read = yield* ask({ kind: 'publishes', source, name: 'docker' })
        saids.push(read.ok ? `${source}: ${read.value}` : `${source} down: ${read.reason}`)
      }
      return text(200, saids.join(', '), 'no-store', { layer: 'table', rule: 'r', upstream: null })
    }
    const main = Object.assign(bakery(), {
      held: true as boolean,
      publishesNow(this: { held: boolean }, name: string) {
        return this.held ? { found: name === 'docker' } : undefined
      },
    })
    const extra = new MemorySource({ tailscale: ['tailscale-1.0-x86-64.raw'] })
    const knowledge = {
      checks: null,
      index: main,
      indexes: new Map([
        ['main', main],
        ['extra', extra],
      ]),
    }
    t.equal(
      fromMemory(publisher(), knowledge),
      null,
      'extra holds nothing in memory: the route asks',
    )
    t.equal(
      (await run(publisher(), liveFacts(knowledge))).body,
      'main: true, extra: false',
      'each source its own manifest',
    )
    const both = {
      ...knowledge,
      indexes: new Map([
        ['main', main],
        ['extra', main],
      ]),
    }
    t.equal(fromMemory(publisher(), both)?.answer.body, 'main: true, extra: true', 'from memory')
    main.held = false
    t.equal(fromMemory(publisher(), both), null)
    extra.publishes = async () => {
      throw new RedirectorError('SR_INDEX_UNAVAILABLE', 'down')
    }
    t.equal(
      (await run(publisher(), liveFacts(knowledge))).body,
      'main: true, extra down: down',
      'a manifest that cannot be read is a fact',
    )
  },
)
