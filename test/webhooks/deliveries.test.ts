import t from 'tap'
import { MergedInvalidations, SeenDeliveries } from '../../src/webhooks/deliveries.js'
import { TestClock } from '../helpers/upstream.js'

t.test('a body is handled once in its window; the most recent bodies are kept', async (t) => {
  const clock = new TestClock()
  const seen = new SeenDeliveries(2, 60_000, clock)
  const body = (text: string) => Buffer.from(text)
  t.equal(seen.repeat(body('a')), false)
  t.equal(seen.repeat(body('a')), true, 'replayed: ignored')
  t.equal(seen.repeat(body('a ')), false, 'another body, however close')
  t.equal(seen.repeat(body('b')), false)
  t.equal(seen.repeat(body('a')), false, 'forgotten after two newer ones')
  clock.advance(59_999)
  t.equal(seen.repeat(body('a')), true, 'within the window')
  clock.advance(60_000)
  t.equal(seen.repeat(body('a')), false, 'after it, acted on again')
  t.equal(new SeenDeliveries(2, 60_000).repeat(body('x')), false, 'on the real clock by default')
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
