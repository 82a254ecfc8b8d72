import t from 'tap'
import { DeliverySlots, type Release } from '../../src/webhooks/slots.js'

const limits = { slots: 2, waitingPerAddress: 2, waiting: 3 }

/** What take() gave: a slot now, a wait, or a refusal. */
function taken(slots: DeliverySlots, address: string) {
  const slot = slots.take(address)
  if (typeof slot === 'function' || typeof slot === 'string') return slot
  const got: Release[] = []
  void slot.wait.then((release) => got.push(release))
  return { got, cancel: slot.cancel }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

t.test('an address holds one slot at most; the others stay free for other addresses', async (t) => {
  const slots = new DeliverySlots(limits)
  const first = taken(slots, 'a')
  t.type(first, 'function', 'a slot at once')
  const again = taken(slots, 'a')
  t.type(again, 'object', 'a second from the same address waits')
  t.type(taken(slots, 'b'), 'function', 'another address: a slot at once')
  t.equal(slots.held, 2)
  t.equal(slots.queued, 1)
})

t.test('waits are bounded per address and in all', async (t) => {
  const slots = new DeliverySlots(limits)
  taken(slots, 'a')
  taken(slots, 'a')
  taken(slots, 'a')
  t.equal(taken(slots, 'a'), 'address', 'two waiting from one address: the third is refused')
  taken(slots, 'b')
  taken(slots, 'c')
  t.equal(slots.queued, 3)
  t.equal(taken(slots, 'd'), 'busy', 'three waiting in all: refused')
})

t.test('a freed slot goes to another address first, then to its own', async (t) => {
  const slots = new DeliverySlots(limits)
  const a = taken(slots, 'a') as Release
  const b = taken(slots, 'b') as Release
  const a2 = taken(slots, 'a') as { got: Release[] }
  const c = taken(slots, 'c') as { got: Release[] }
  a()
  await tick()
  t.equal(c.got.length, 1, 'c, though it came after a second delivery from a')
  t.equal(a2.got.length, 0)
  a()
  t.equal(slots.held, 2, 'releasing twice frees one slot')
  b()
  await tick()
  t.equal(a2.got.length, 1, 'then a, as no one else waits')
  t.equal(slots.queued, 0)
})

t.test('a waiting delivery that goes away leaves the queue', async (t) => {
  const slots = new DeliverySlots(limits)
  const a = taken(slots, 'a') as Release
  taken(slots, 'b')
  const gone = taken(slots, 'c') as { got: Release[]; cancel: () => void }
  const next = taken(slots, 'c') as { got: Release[] }
  gone.cancel()
  gone.cancel()
  t.equal(slots.queued, 1)
  a()
  await tick()
  t.equal(gone.got.length, 0)
  t.equal(next.got.length, 1)
  t.equal(slots.queued, 0)
  const freed = next.got[0] as Release
  freed()
  t.equal(slots.held, 1, 'nobody waiting: the slot stays free')
})
