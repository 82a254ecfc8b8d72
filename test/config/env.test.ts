import t from 'tap'
import {
  readBaseUrl,
  readBoolean,
  readChoice,
  readDuration,
  readOptional,
  readPositiveDuration,
} from '../../src/config/env.js'

import { refusedWith } from '../helpers/refused.js'
/** The message a bad value stops the start with. */
const refused = (fn: () => unknown): string => refusedWith('SR_CONFIG_INVALID', fn)

t.test('durations: units, bounds, and a message naming the variable', async (t) => {
  t.equal(readDuration({ D: '500ms' }, 'D', 1), 500)
  t.equal(readDuration({ D: '7d' }, 'D', 1), 7 * 86_400_000)
  t.equal(readDuration({}, 'D', 42), 42, 'unset: the default')
  t.match(
    refused(() => readDuration({ D: '5 minutes' }, 'D', 1)),
    /^D=.*5 minutes.*expected a duration/,
  )
  t.match(
    refused(() => readDuration({ D: '2m' }, 'D', 1, 60_000)),
    /expected a duration/,
  )
  t.match(
    refused(() => readPositiveDuration({ D: '0s' }, 'D', 1)),
    /above zero/,
  )
})

t.test('a duration refused names its limit, and offers no example above it', async (t) => {
  const message = (maxMs: number): string => refused(() => readDuration({ D: 'x' }, 'D', 1, maxMs))
  t.equal(message(10_000), 'D="x" is not valid: expected a duration such as 500ms, at most 10s')
  t.equal(
    message(90_000),
    'D="x" is not valid: expected a duration such as 500ms or 30s, at most 90s',
  )
  t.equal(
    message(600_000),
    'D="x" is not valid: expected a duration such as 500ms, 30s or 5m, at most 10m',
  )
  t.equal(
    refused(() => readDuration({ D: '2h' }, 'D', 1, 3_600_000)),
    'D="2h" is not valid: expected a duration at most 1h',
  )
  t.equal(
    refused(() => readPositiveDuration({ D: '0s' }, 'D', 1)),
    'D="0s" is not valid: expected a duration above zero such as 500ms, 30s, 5m or 1h, at most 365d',
  )
})

t.test('booleans, choices, URLs, optional values', async (t) => {
  t.same(
    ['ON', 'off', '1', 'no'].map((v) => readBoolean({ B: v }, 'B', false)),
    [true, false, true, false],
  )
  // Every spelling it reads is named, so `no` is no surprise.
  t.equal(
    refused(() => readBoolean({ B: 'maybe' }, 'B', true)),
    'B="maybe" is not valid: expected true or false (or 1 or 0, yes or no, on or off)',
  )
  t.equal(readChoice({ C: 'b' }, 'C', 'a', ['a', 'b']), 'b')
  t.match(
    refused(() => readChoice({ C: 'z' }, 'C', 'a', ['a', 'b'])),
    /expected one of a, b/,
  )
  t.equal(
    readBaseUrl({ U: 'https://docs.example/bakery//' }, 'U', ''),
    'https://docs.example/bakery',
  )
  for (const bad of ['ftp://x', 'https://x/?q', 'https://u:p@x', 'not a url']) {
    t.match(
      refused(() => readBaseUrl({ U: bad }, 'U', '')),
      /expected an http/,
      bad,
    )
  }
  t.equal(readOptional({}, 'O'), undefined)
})
