import type { Counter } from 'prom-client'

/** The count of one label set, in a plain number until its counter is read. */
export interface Tally<L extends string> {
  readonly labels: Readonly<Record<L, string>>
  count: number
}

/**
 * Counts kept for a prom-client Counter and handed to it, one inc() per
 * label set, when it is read (call flush() from the counter's collect()).
 * Counter#inc() hashes its labels on every call, which showed in the
 * profile; a caller that holds a Tally counts with `tally.count++`.
 */
export class CounterTally<L extends string> {
  /** In order of first use, so the counter lists its series as if each count were its own inc(). */
  readonly #tallies: Tally<L>[] = []

  /**
   * A new tally for this label set. Make one per label set and keep it:
   * the caller looks tallies up by its own closed keys, so they are never
   * dropped, and two for one label set would only be summed.
   */
  add(labels: Readonly<Record<L, string>>): Tally<L> {
    const tally = { labels: { ...labels }, count: 0 }
    this.#tallies.push(tally)
    return tally
  }

  /** Adds what was counted since the last flush to the counter. */
  flush(counter: Counter<L>): void {
    for (const tally of this.#tallies) {
      if (tally.count === 0) continue
      counter.inc(tally.labels, tally.count)
      tally.count = 0
    }
  }
}
