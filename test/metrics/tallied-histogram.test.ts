import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { Histogram, Registry, type RegistryContentType } from 'prom-client'
import t from 'tap'
import { TalliedHistogram } from '../../src/metrics/tallied-histogram.js'

/**
 * TalliedHistogram stands in for prom-client's Histogram in the registry, so
 * the reference for every test here is prom-client's Histogram itself, fed
 * the same observations in a registry of its own: the exposition must be the
 * same text, byte for byte.
 */

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const NAME = 'test_duration_seconds'
const HELP = 'Time, by "rule" \\ with a\nnewline.'
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)

const tallied = (buckets: readonly number[], registers: Registry<RegistryContentType>[]) =>
  new TalliedHistogram({ name: NAME, help: HELP, labelName: 'rule', buckets, registers })

/** Ours and prom-client's, each in a registry of its own. */
function pair(
  buckets: readonly number[] = BUCKETS,
  contentType: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE,
) {
  const ours: Registry<RegistryContentType> = new Registry()
  const theirs: Registry<RegistryContentType> = new Registry()
  ours.setContentType(contentType)
  theirs.setContentType(contentType)
  const reference = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['rule'] as const,
    buckets: [...buckets],
    registers: [theirs],
  })
  const histogram = tallied(buckets, [ours])
  const observe = (rule: string, value: number): void => {
    histogram.series(rule).observe(value)
    reference.observe({ rule }, value)
  }
  return { ours, theirs, tallied: histogram, reference, observe }
}

type Pair = ReturnType<typeof pair>

/** Both expositions, and both as JSON (what get() gives, e.g. to a cluster aggregator). */
async function read({ ours, theirs }: Pair) {
  return {
    ours: await ours.metrics(),
    theirs: await theirs.metrics(),
    oursJSON: await ours.getMetricsAsJSON(),
    theirsJSON: await theirs.getMetricsAsJSON(),
  }
}

t.test('bucket bounds, zero, above the last bound and float sums: as prom-client', async (t) => {
  const histogram = pair()
  const values = [
    0,
    0.001, // exactly on a bound: counted in that bucket (le is "less or equal")
    0.0025,
    0.0010000000000000002, // the next double above a bound: the next bucket
    10,
    10.5, // above the last bound: only in +Inf
    1e6,
    0.1,
    0.2, // 0.1 + 0.2 is not 0.3: the sum must round as prom-client's does
    5e-324,
    -0.5, // prom-client puts a negative value in the first bucket
  ]
  for (const value of values) histogram.observe('raw', value)
  histogram.observe('fallback', 0.0025)
  histogram.observe('we"ird\\ru\nle', 3)
  const { ours, theirs, oursJSON, theirsJSON } = await read(histogram)
  t.equal(ours, theirs, 'the same exposition text')
  t.strictSame(oursJSON, theirsJSON, 'the same samples')
  t.match(
    ours,
    /^test_duration_seconds_bucket\{le="0\.001",rule="raw"\} 4$/m,
    '-0.5, 0, 5e-324, 0.001',
  )
  t.match(ours, /^test_duration_seconds_bucket\{le="0\.0025",rule="raw"\} 6$/m, 'and 2 more')
  t.match(ours, /^test_duration_seconds_bucket\{le="10",rule="raw"\} 9$/m, '0.1, 0.2 and 10')
  t.match(ours, /^test_duration_seconds_bucket\{le="\+Inf",rule="raw"\} 11$/m)
  t.match(ours, /^test_duration_seconds_count\{rule="raw"\} 11$/m)
  t.match(ours, /^test_duration_seconds_bucket\{le="0\.0025",rule="fallback"\} 1$/m)
  t.match(ours, /^# HELP test_duration_seconds Time, by "rule" \\\\ with a\\nnewline\.$/m)
  t.match(ours, /^# TYPE test_duration_seconds histogram$/m)
})

t.test('any sequence of observations gives prom-client’s exposition', async (t) => {
  const bound = fc.constantFrom(...BUCKETS)
  const value = fc.oneof(
    bound,
    bound.map((b) => b * (1 + Number.EPSILON)),
    fc.constantFrom(0, -0, 10.000001, 1e9, Number.MIN_VALUE, -1),
    fc.double({ min: 0, max: 20, noNaN: true }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  )
  const rule = fc.constantFrom('raw', 'fallback', 'none', 'newest', 'a"b\\c\nd', '')
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(rule, value), { maxLength: 300 }), async (observations) => {
      const histogram = pair()
      for (const [rule, value] of observations) histogram.observe(rule, value)
      const { ours, theirs, oursJSON, theirsJSON } = await read(histogram)
      assert.equal(ours, theirs)
      assert.deepStrictEqual(oursJSON, theirsJSON)
    }),
    { seed: SEED, numRuns: 300 },
  )
  t.pass('300 sequences of up to 300 observations')
})

t.test('in an OpenMetrics registry too', async (t) => {
  const histogram = pair(BUCKETS, Registry.OPENMETRICS_CONTENT_TYPE)
  for (const value of [0, 0.001, 0.3, 11]) histogram.observe('raw', value)
  const { ours, theirs } = await read(histogram)
  t.equal(ours, theirs)
  t.match(ours, /# EOF\n$/)
})

t.test('other bucket layouts too, and no series at all', async (t) => {
  // Not a bound of -1: prom-client marks "above every bound" with -1 and so
  // counts such values in a bucket le="-1" if there is one. Ours does not.
  for (const buckets of [[1], [0.5, 1, 2], [-2, 0, 1], []]) {
    const histogram = pair(buckets)
    const empty = await read(histogram)
    t.equal(empty.ours, empty.theirs, `[${buckets}], no series`)
    for (const value of [-2, -1, 0, 0.5, 1, 1.5, 2, 3]) histogram.observe('x', value)
    const { ours, theirs } = await read(histogram)
    t.equal(ours, theirs, `[${buckets}]`)
  }
})

t.test('reading does not change the counts', async (t) => {
  const histogram = pair()
  histogram.observe('raw', 0.002)
  const first = await histogram.ours.metrics()
  t.equal(await histogram.ours.metrics(), first, 'a second scrape reads the same')
  histogram.observe('raw', 0.002)
  const { ours, theirs } = await read(histogram)
  t.equal(ours, theirs)
  t.match(ours, /^test_duration_seconds_count\{rule="raw"\} 2$/m)
})

t.test('a series is made once per label value and kept', async (t) => {
  const { tallied } = pair()
  t.equal(tallied.series('raw'), tallied.series('raw'))
  t.not(tallied.series('raw'), tallied.series('fallback'))
})

t.test('a value that is not a finite number is dropped, where prom-client throws', async (t) => {
  const histogram = pair()
  histogram.observe('raw', 0.5)
  for (const bad of [NaN, Infinity, -Infinity]) {
    t.throws(() => histogram.reference.observe({ rule: 'raw' }, bad), TypeError, 'prom-client')
    t.doesNotThrow(() => histogram.tallied.series('raw').observe(bad), 'ours')
  }
  const { ours, theirs } = await read(histogram)
  t.equal(ours, theirs, 'as if it never came: the sum is not NaN')
  t.match(ours, /^test_duration_seconds_sum\{rule="raw"\} 0\.5$/m)
})

t.test('Registry#resetMetrics zeroes the series, which stay in use', async (t) => {
  const histogram = pair()
  const series = histogram.tallied.series('raw')
  series.observe(0.5)
  series.observe(20)
  histogram.ours.resetMetrics()
  const zeroed = await histogram.ours.metrics()
  t.match(zeroed, /^test_duration_seconds_bucket\{le="\+Inf",rule="raw"\} 0$/m)
  t.match(zeroed, /^test_duration_seconds_sum\{rule="raw"\} 0$/m)
  series.observe(0.002)
  const after = await histogram.ours.metrics()
  t.match(after, /^test_duration_seconds_bucket\{le="0\.0025",rule="raw"\} 1$/m, 'counted again')
  t.match(after, /^test_duration_seconds_count\{rule="raw"\} 1$/m)
})

t.test('registered in every registry given, found by name', async (t) => {
  const one = new Registry()
  const two = new Registry()
  const histogram = tallied(BUCKETS, [one, two])
  t.equal(one.getSingleMetric(NAME), histogram as unknown)
  t.equal(two.getSingleMetric(NAME), histogram as unknown)
  t.throws(() => new Histogram({ name: NAME, help: HELP, registers: [one] }), /already/)
  histogram.series('raw').observe(1)
  t.equal(await one.metrics(), await two.metrics())
})
