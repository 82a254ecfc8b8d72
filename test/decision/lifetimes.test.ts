import t from 'tap'
import { byClass, lifetimesOf, publicMaxAge } from '../../src/decision/lifetimes.js'

t.test('each kind of answer, its lifetime', async (t) => {
  const lifetimes = lifetimesOf(
    { versioned: 86_400, mutable: 60, fallback: 3600 },
    { missing: 30_000, unknown: 5000 },
  )
  t.same(lifetimes, {
    versioned: 'public, max-age=86400',
    mutable: 'public, max-age=60',
    fallback: 'public, max-age=3600',
    moving: 'public, max-age=60',
    missing: 'public, max-age=30',
    unconfirmed: 'public, max-age=5',
    snapshot: 'public, max-age=10',
  })
  t.equal(byClass(lifetimes, 'versioned'), lifetimes.versioned)
  t.equal(byClass(lifetimes, 'mutable'), lifetimes.mutable)
  const long = lifetimesOf(
    { versioned: 1, mutable: 2, fallback: 3 },
    { missing: 999, unknown: 600_000 },
  )
  t.equal(long.unconfirmed, publicMaxAge(2), 'never longer than a mutable answer')
  t.equal(long.missing, publicMaxAge(0), 'whole seconds, rounded down')
  t.equal(long.snapshot, publicMaxAge(2), 'a snapshot file: never longer than a mutable answer')
})
