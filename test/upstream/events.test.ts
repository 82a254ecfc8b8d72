import t from 'tap'
import { noUpstreamEvents } from '../../src/upstream/events.js'

t.test('without metrics, events go nowhere', async (t) => {
  t.equal(noUpstreamEvents.check('exists', 0.1), undefined)
  t.equal(noUpstreamEvents.cache('hit'), undefined)
})
