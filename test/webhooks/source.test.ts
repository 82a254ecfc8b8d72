import t from 'tap'
import { singleSource, type Origins } from '../../src/table/resolve.js'
import { sourceOfDelivery } from '../../src/webhooks/source.js'

const two: Origins = {
  releases: 'https://github.test/fedora-sysexts/fedora/releases/download',
  fallback: 'https://docs.test',
  source: 'fedora',
  sources: {
    fedora: 'https://github.test/fedora-sysexts/fedora/releases/download',
    community: 'https://github.test/fedora-sysexts/community/releases/download',
  },
  repos: { 'fedora-sysexts/fedora': 'fedora', 'fedora-sysexts/community': 'community' },
}

t.test('one source takes every delivery, whatever repository it names', async (t) => {
  const one = singleSource('https://github.test/a/b/releases/download', 'https://docs.test')
  t.equal(sourceOfDelivery(one, 'a/b'), 'bakery')
  t.equal(sourceOfDelivery(one, 'someone/else'), 'bakery', 'a hook is set up on one repository')
  t.equal(sourceOfDelivery(one, undefined), 'bakery')
})

t.test('several sources: the delivery’s repository, as GitHub spells it in any case', async (t) => {
  t.equal(sourceOfDelivery(two, 'fedora-sysexts/community'), 'community')
  t.equal(sourceOfDelivery(two, 'Fedora-Sysexts/Fedora'), 'fedora')
  t.equal(sourceOfDelivery(two, 'fedora-sysexts/other'), null, 'not one of ours')
  t.equal(sourceOfDelivery(two, undefined), null, 'no repository: cannot tell')
  t.equal(sourceOfDelivery(two, '__proto__'), null, 'no inherited names')
})
