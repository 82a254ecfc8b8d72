import fc from 'fast-check'
import t from 'tap'
import {
  atOnce,
  COMPARISONS_PER_TURN,
  inTurns,
  ITEMS_PER_TURN,
  pausesBefore,
  sortSteps,
  type Steps,
} from '../../src/catalog/turns.js'

interface Item {
  readonly key: number
  readonly at: number
}

const byKey = (a: Item, b: Item): number => a.key - b.key
const items = (keys: readonly number[]): Item[] => keys.map((key, at) => ({ key, at }))

t.test('sortSteps sorts as the stable Array.prototype.sort does', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      // Few distinct keys: many ties, whose order a stable sort keeps.
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 200 }), (keys) => {
        const expected = items(keys).sort(byKey)
        const sorted = atOnce(sortSteps(items(keys), byKey))
        return JSON.stringify(sorted) === JSON.stringify(expected)
      }),
      { numRuns: 1000 },
    ),
  )
  const mine = items([3, 1, 2])
  t.equal(atOnce(sortSteps(mine, byKey)), mine, 'in place: the array given back')
  t.same(
    mine.map((item) => item.key),
    [1, 2, 3],
  )
})

t.test('sortSteps pauses every COMPARISONS_PER_TURN comparisons, never later', async (t) => {
  const n = 50_000
  const keys = Array.from({ length: n }, (_, i) => (i * 7919) % 1000)
  let compared = 0
  const counted = (a: Item, b: Item): number => {
    compared++
    return byKey(a, b)
  }
  const steps = sortSteps(items(keys), counted)
  const slices: number[] = []
  let step = steps.next()
  while (step.done !== true) {
    slices.push(compared)
    compared = 0
    step = steps.next()
  }
  slices.push(compared)
  t.ok(slices.length > 10, `${slices.length} slices`)
  t.ok(
    slices.every((made) => made <= COMPARISONS_PER_TURN),
    `at most ${COMPARISONS_PER_TURN} comparisons a slice (most: ${Math.max(...slices)})`,
  )
  t.same(
    step.value.map((item) => item.key),
    [...keys].sort((a, b) => a - b),
  )
})

t.test('pausesBefore: once every ITEMS_PER_TURN items', async (t) => {
  const pauses = Array.from({ length: 3 * ITEMS_PER_TURN }, (_, i) => i).filter(pausesBefore)
  t.same(pauses, [ITEMS_PER_TURN - 1, 2 * ITEMS_PER_TURN - 1, 3 * ITEMS_PER_TURN - 1])
})

t.test('inTurns lets the event loop turn at each pause; atOnce does not', async (t) => {
  function* counting(slices: number): Steps<string> {
    for (let i = 0; i < slices; i++) yield
    return 'done'
  }
  let turns = 0
  const tick = (): void => {
    turns++
  }
  for (let i = 0; i < 5; i++) setImmediate(tick)
  t.equal(atOnce(counting(5)), 'done')
  t.equal(turns, 0, 'at once: nothing else ran')
  t.equal(await inTurns(counting(5)), 'done')
  t.equal(turns, 5, 'in turns: what was waiting for the event loop ran meanwhile')
})
