import t from 'tap'
import { singleSource, type Origins } from '../../src/table/resolve.js'
import { readReleaseEvent, sourceOfDelivery } from '../../src/webhooks/event.js'

t.test('release events: the tags they touch', async (t) => {
  t.same(readReleaseEvent({ action: 'published', release: { tag_name: 'kubernetes-v1.34.0' } }), {
    ok: true,
    action: 'published',
    tags: ['kubernetes-v1.34.0'],
  })
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'new' },
      changes: { tag_name: { from: 'old' } },
    }),
    { ok: true, action: 'edited', tags: ['new', 'old'] },
    'a renamed tag touches both names',
  )
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'same' },
      changes: { body: { from: 'x' } },
    }),
    { ok: true, action: 'edited', tags: ['same'] },
  )
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'same' },
      changes: { tag_name: { from: 'same' } },
    }),
    { ok: true, action: 'edited', tags: ['same'] },
  )
  const bad: [unknown, string][] = [
    [undefined, 'payload is not a JSON object'],
    [[1], 'payload is not a JSON object'],
    [{ release: { tag_name: 'x' } }, 'payload has no action'],
    [{ action: 'published' }, 'payload has no release.tag_name'],
    [{ action: 'published', release: { tag_name: '' } }, 'payload has no release.tag_name'],
    [{ action: 'published', release: { tag_name: 7 } }, 'payload has no release.tag_name'],
  ]
  for (const [payload, reason] of bad)
    t.same(readReleaseEvent(payload), { ok: false, reason }, reason)
})

const two: Origins = {
  releases: 'https://github.test/fedora-sysexts/fedora/releases/download',
  fallback: 'https://docs.test',
  source: 'fedora',
  sources: {
    fedora: 'https://github.test/fedora-sysexts/fedora/releases/download',
    community: 'https://github.test/fedora-sysexts/community/releases/download',
  },
  repos: { 'fedora-sysexts/fedora': 'fedora', 'fedora-sysexts/community': 'community' },
  mirrors: {},
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
