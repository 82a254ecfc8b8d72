import t from 'tap'
import { readReleaseEvent } from '../../src/webhooks/event.js'

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
