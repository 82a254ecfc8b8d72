import { Socket } from 'node:net'
import t from 'tap'
import {
  MAX_REQUESTS_PER_CONNECTION,
  countOn,
  servedOn,
} from '../../src/protection/connection-cap.js'

// The app-level proof (lane and Node close after the same count, with the
// same bytes) is in test/lane/lane.test.ts; this is the count itself.
t.test('counts per connection; the last is the cap', async (t) => {
  const socket = new Socket()
  const other = new Socket()
  t.equal(servedOn(socket), 0)
  for (let i = 1; i < MAX_REQUESTS_PER_CONNECTION; i++) t.equal(countOn(socket), false)
  t.equal(countOn(socket), true, 'the last one')
  t.equal(servedOn(socket), MAX_REQUESTS_PER_CONNECTION)
  t.equal(servedOn(other), 0, 'each connection its own')
})
