import { checked } from '../helpers/upstream.js'
import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { createDecider } from '../../src/decision/decider.js'
import { policyOf } from '../../src/decision/policy.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import type { UpstreamChecks } from '../../src/upstream/checks.js'
import { bakery } from '../helpers/memory-source.js'
import { singleSource } from '../../src/table/resolve.js'

const origins = singleSource('https://github.test/r', 'https://docs.test')
const table = await loadTable(DEFAULT_TABLE_FILE, origins)

t.test('one decision bound to the app: remembered routes, live and from memory', async (t) => {
  let counted = 0
  const checks = {
    lookupNow: () => {
      counted++
      return checked('exists')
    },
    answerNow: () => checked('exists'),
  } as unknown as UpstreamChecks
  const decider = createDecider({
    table,
    origins,
    policy: policyOf(parseConfig({}), table, origins),
    knowledge: { checks, index: bakery() },
  })
  // A redirect from memory: a versioned image (snapshot files are read by the route).
  const path = '/extensions/kubernetes-v1.32.2-x86-64.raw'
  t.equal(decider.route(path), decider.route(path), 'the route is remembered')
  t.equal(
    decider.fromMemory(decider.route(path))?.answer,
    decider.decide(path),
    'the same answer both ways',
  )
  t.equal(counted, 1, 'only the live decision counted its lookup')
  t.equal(
    decider.fromMemory(decider.route('/extensions/kubernetes.raw')),
    null,
    'nothing of the index held yet',
  )
  t.match(await decider.decide('/extensions/docker.raw'), { status: 302, rule: 'newest' })
})
