import t from 'tap'
import { MergedInvalidations, SeenDeliveries } from '../../src/webhooks/deliveries.js'
import { TestClock } from '../helpers/upstream.js'

t.test('a delivery id is handled once; the most recent ids are kept', async (t) => {
  const seen = new SeenDeliveries(2)
  t.equal(seen.repeat('a'), false)
  t.equal(seen.repeat('a'), true, 'replayed: ignored')
  t.equal(seen.repeat('b'), false)
  t.equal(seen.repeat('c'), false)
  t.equal(seen.repeat('a'), false, 'forgotten after two newer ones')
})

t.test('invalidations of one release: at once, then at most one more a window', async (t) => {
  const clock = new TestClock()
  const merged = new MergedInvalidations(40, clock)
  t.teardown(() => merged.close())
  const runs: string[] = []
  const run = (tag: string) => () => {
    runs.push(tag)
    return tag
  }
  t.equal(merged.request('k', run('k')), 'k', 'the first: at once')
  t.equal(merged.request('other', run('other')), 'other', 'another release: its own window')
  clock.advance(10)
  t.equal(merged.request('k', run('k')), null, 'within the window: merged...')
  t.equal(merged.request('k', run('k')), null, '...all of them, into one')
  t.same(runs, ['k', 'other'])
  await new Promise((resolve) => setTimeout(resolve, 80))
  t.same(runs, ['k', 'other', 'k'], '...done once, at the window’s end')
  clock.advance(100)
  t.equal(merged.request('k', run('k')), 'k', 'a window later: at once again')
  merged.request('k', run('k'))
  merged.close()
  await new Promise((resolve) => setTimeout(resolve, 80))
  t.same(runs, ['k', 'other', 'k', 'k'], 'closing drops a follow-up still due')
})
