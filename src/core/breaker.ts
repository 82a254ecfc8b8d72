/**
 * Stops waiting on a store that keeps failing (a circuit breaker): after
 * `failures` failures in a row it is "open" for `openMs`, and callers skip
 * the store at once; then one call tries it again ("half open"): a success
 * closes it, a failure opens it for another `openMs`. So a frozen Redis costs
 * a few requests their timeout, not every request for as long as it stays
 * frozen.
 */
export interface BreakerOptions {
  readonly failures: number
  readonly openMs: number
  readonly clock: { now(): number }
  /** Told when it opens (with the reason of the last failure) and when it closes again. */
  readonly opened: (reason: string) => void
  readonly closed: () => void
}

export class Breaker {
  readonly #options: BreakerOptions
  #failures = 0
  #openUntil = -Infinity
  #trying = false

  constructor(options: BreakerOptions) {
    this.#options = options
  }

  /** Whether a call may try the store now (false: skip it, it is failing). */
  allows(): boolean {
    if (this.#failures < this.#options.failures) return true
    if (this.#trying || this.#options.clock.now() < this.#openUntil) return false
    this.#trying = true // one call tries it again; the rest still skip
    return true
  }

  succeeded(): void {
    const wasOpen = this.#failures >= this.#options.failures
    this.#failures = 0
    this.#trying = false
    if (wasOpen) this.#options.closed()
  }

  /** Closed again without a word: what it counted was about a connection that is gone. */
  reset(): void {
    this.#failures = 0
    this.#openUntil = -Infinity
    this.#trying = false
  }

  failed(reason: string): void {
    this.#trying = false
    this.#failures++
    if (this.#failures < this.#options.failures) return
    const wasOpen = this.#openUntil !== -Infinity && this.#failures > this.#options.failures
    this.#openUntil = this.#options.clock.now() + this.#options.openMs
    if (!wasOpen) this.#options.opened(reason)
  }
}
