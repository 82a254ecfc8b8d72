import t from 'tap'
import { originsOf, parseConfig } from '../../src/config/service.js'
import { policyOf } from '../../src/decision/policy.js'
import { compileTable } from '../../src/table/table.js'
import { renderOutput } from '../../src/table/template.js'

const bare = compileTable({
  rules: [{ name: 'all', path: '/{name}.raw', release: '{name}', asset: '{name}.raw' }],
})

t.test('the policy says the configuration the decision applies', async (t) => {
  const config = parseConfig({
    UPSTREAM_CHECKS: 'false',
    UPSTREAM_FAIL_MODE: 'closed',
    CHECK_TTL_UNKNOWN: '1500ms',
    INDEX_RETRY: '100ms',
  })
  const policy = policyOf(config, bare, originsOf(config, bare))
  t.equal(policy.checking, false)
  t.equal(policy.failMode, 'closed')
  t.equal(policy.checkRetryAfter, '2', 'whole seconds, up')
  t.equal(policy.indexRetryAfter, '1', 'at least one')
  t.equal(
    renderOutput(policy.newestRelease, { ext: 'k', version: '1' }),
    'k-1',
    'the Flatcar layout by default',
  )
})
