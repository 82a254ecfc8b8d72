import type { Metric, Registry, RegistryContentType } from 'prom-client'

/**
 * One series of a TalliedHistogram: what prom-client's Histogram keeps for a
 * label set (a count per bucket, a sum, a count), in plain numbers. The
 * caller holds on to it, so an observation costs no label hashing at all.
 */
export class HistogramSeries {
  /** Observations per bucket, not cumulative; those above the last bound are in none. */
  readonly #counts: number[]
  #sum = 0
  #count = 0
  readonly #labels: Readonly<Record<string, string>>
  readonly #bounds: readonly number[]

  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.#labels = labels
    this.#bounds = bounds
    this.#counts = bounds.map(() => 0)
  }

  /**
   * Counts a value into the first bucket whose bound is at least the value,
   * as prom-client does. prom-client throws on a value that is not a finite
   * number; here it is dropped instead, so a bad duration neither fails the
   * request that reported it nor turns the sum into NaN for good.
   */
  observe(value: number): void {
    if (!Number.isFinite(value)) return
    const bounds = this.#bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        ;(this.#counts[i] as number)++
        break
      }
    }
    this.#sum += value
    this.#count++
  }

  /** Back to no observations. */
  zero(): void {
    this.#counts.fill(0)
    this.#sum = 0
    this.#count = 0
  }

  /** The samples prom-client's Histogram#get() gives for this series, in its order. */
  samples(name: string): HistogramSample[] {
    const samples: HistogramSample[] = []
    let cumulative = 0
    const labels = this.#labels
    this.#bounds.forEach((le, i) => {
      cumulative += this.#counts[i] as number
      samples.push(sample(`${name}_bucket`, cumulative, { le, ...labels }, null))
    })
    samples.push(
      sample(`${name}_bucket`, this.#count, { le: '+Inf', ...labels }, null),
      sample(`${name}_sum`, this.#sum, { ...labels }, undefined),
      sample(`${name}_count`, this.#count, { ...labels }, undefined),
    )
    return samples
  }
}

/** One sample as prom-client's Histogram#get() gives it (exemplars are never set here). */
export interface HistogramSample {
  readonly value: number
  readonly metricName: string
  readonly exemplar: null | undefined
  readonly labels: Readonly<Record<string, string | number>>
}

function sample(
  metricName: string,
  value: number,
  labels: Readonly<Record<string, string | number>>,
  exemplar: null | undefined,
): HistogramSample {
  return { value, metricName, exemplar, labels }
}

export interface TalliedHistogramConfig {
  readonly name: string
  readonly help: string
  /** The one label that tells the series apart. */
  readonly labelName: string
  /** Upper bounds, ascending, as for prom-client's Histogram. */
  readonly buckets: readonly number[]
  readonly registers: readonly Registry<RegistryContentType>[]
}

/**
 * A histogram with one label, tallied in plain numbers (see HistogramSeries)
 * and read by the registry like any prom-client metric. prom-client's own
 * Histogram hashes the labels on every observe() and has no way to add many
 * observations at once, so this takes its place in the registry instead:
 * get() returns the very samples Histogram#get() would for the same
 * observations, so the exposition is the same text, line for line.
 */
export class TalliedHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  readonly #labelName: string
  readonly #bounds: readonly number[]
  /** In order of first use, which is the order prom-client lists its series in. */
  readonly #series = new Map<string, HistogramSeries>()

  constructor(config: TalliedHistogramConfig) {
    this.name = config.name
    this.help = config.help
    this.#labelName = config.labelName
    this.#bounds = Object.freeze([...config.buckets])
    // The registry needs only a name, get() and reset(); its types list
    // prom-client's own classes alone.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric)
  }

  /** The series for this label value, made on first use. Keep it: observing through it is free. */
  series(labelValue: string): HistogramSeries {
    let series = this.#series.get(labelValue)
    if (series === undefined) {
      series = new HistogramSeries({ [this.#labelName]: labelValue }, this.#bounds)
      this.#series.set(labelValue, series)
    }
    return series
  }

  /** What the registry reads: the shape of prom-client's Histogram#get(). */
  async get(): Promise<{
    name: string
    help: string
    type: 'histogram'
    values: HistogramSample[]
    aggregator: 'sum'
  }> {
    const values = [...this.#series.values()].flatMap((series) => series.samples(this.name))
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    }
  }

  /**
   * For Registry#resetMetrics(). prom-client's Histogram drops its series;
   * these are zeroed instead, since callers hold them.
   */
  reset(): void {
    for (const series of this.#series.values()) series.zero()
  }
}
