import t from 'tap'
import { MergedInvalidations, type Timers, SeenDeliveries } from '../../src/webhooks/deliveries.js'
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

/** Timers the test fires itself: a merged follow-up runs when the test says, not after a sleep. */
class TestTimers implements Timers {
  due: { run: () => void; ms: number }[] = []
  set(run: () => void, ms: number): unknown {
    const timer = { run, ms }
    this.due.push(timer)
    return timer
  }
  clear(timer: unknown): void {
    this.due = this.due.filter((one) => one !== timer)
  }
  fire(): void {
    const due = this.due
    this.due = []
    for (const timer of due) timer.run()
  }
}

t.test('invalidations of one release: at once, then at most one more a window', async (t) => {
  const clock = new TestClock()
  const timers = new TestTimers()
  const merged = new MergedInvalidations(40, clock, timers)
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
  t.same(
    timers.due.map((timer) => timer.ms),
    [30],
    'one follow-up, due at the window’s end',
  )
  clock.advance(30)
  timers.fire()
  t.same(runs, ['k', 'other', 'k'], '...done once, at the window’s end')
  clock.advance(100)
  t.equal(merged.request('k', run('k')), 'k', 'a window later: at once again')
  merged.request('k', run('k'))
  merged.close()
  t.same(timers.due, [], 'closing drops a follow-up still due')
  t.same(runs, ['k', 'other', 'k', 'k'])
  // A window that ends with its follow-up not yet run: the next change is acted on, once.
  merged.request('z', run('z'))
  clock.advance(10)
  merged.request('z', run('z'))
  clock.advance(40)
  t.equal(merged.request('z', run('z')), 'z')
  t.same(timers.due, [], 'the follow-up it made unnecessary is dropped')
})

t.test("Node's own timers by default", async (t) => {
  const merged = new MergedInvalidations(5, new TestClock())
  t.teardown(() => merged.close())
  const runs: string[] = []
  merged.request('k', () => runs.push('k'))
  merged.request('k', () => runs.push('k'))
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (runs.length === 2) resolve(clearInterval(poll))
    }, 5)
  })
  t.same(runs, ['k', 'k'], 'the follow-up ran, whenever the machine got to it')
})
