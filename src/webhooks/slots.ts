/** Gives a slot back; calling it again does nothing. */
export type Release = () => void

export interface SlotLimits {
  /** Bodies read at once, from all addresses together. */
  readonly slots: number
  /** Deliveries from one address that may wait for its turn; more are refused. */
  readonly waitingPerAddress: number
  /** Deliveries that may wait, from all addresses together. */
  readonly waiting: number
}

/** Why a delivery got no slot. */
export type Refusal = 'address' | 'busy'

interface Waiter {
  readonly address: string
  readonly grant: (release: Release) => void
}

/**
 * The body slots of the webhook, shared fairly between client addresses:
 * an address holds at most one slot, however many deliveries it sends, so
 * a few addresses that send a head and then nothing (each slot held until
 * its body times out) cannot hold every slot. A delivery that finds no slot
 * it may take waits until one frees, and a slot freed goes to the first
 * waiting delivery from another address before one from the address that
 * freed it, so an address that sends again and again takes turns with the
 * others instead of keeping its slot. The waits are bounded per address
 * and in all; a delivery beyond them is refused at once (GitHub's own come
 * one by one and rarely wait at all).
 */
export class DeliverySlots {
  readonly #limits: SlotLimits
  /** Addresses holding a slot. */
  readonly #holding = new Set<string>()
  readonly #waiting: Waiter[] = []
  readonly #waitingBy = new Map<string, number>()

  constructor(limits: SlotLimits) {
    this.#limits = limits
  }

  /**
   * A slot for a delivery from `address`: a Release at once, a promise of
   * one when it must wait (cancel with the returned function when the
   * delivery goes away first), or why it is refused.
   */
  take(address: string): Release | Refusal | { wait: Promise<Release>; cancel: () => void } {
    if (this.#mayHold(address)) return this.#grant(address)
    const waitingHere = this.#waitingBy.get(address) ?? 0
    if (waitingHere >= this.#limits.waitingPerAddress) return 'address'
    if (this.#waiting.length >= this.#limits.waiting) return 'busy'
    let waiter: Waiter | undefined
    const wait = new Promise<Release>((resolve) => {
      waiter = { address, grant: resolve }
    })
    const queued = waiter as Waiter
    this.#waiting.push(queued)
    this.#waitingBy.set(address, waitingHere + 1)
    return { wait, cancel: () => this.#unqueue(queued) }
  }

  /** Slots held now. */
  get held(): number {
    return this.#holding.size
  }

  /** Deliveries waiting now. */
  get queued(): number {
    return this.#waiting.length
  }

  #mayHold(address: string): boolean {
    return this.#holding.size < this.#limits.slots && !this.#holding.has(address)
  }

  #grant(address: string): Release {
    this.#holding.add(address)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#holding.delete(address)
      this.#next(address)
    }
  }

  /** The slot `freedBy` gave back goes to the first waiter from another address, else its own. */
  #next(freedBy: string): void {
    const mayTake = (waiter: Waiter): boolean => this.#mayHold(waiter.address)
    let index = this.#waiting.findIndex((waiter) => waiter.address !== freedBy && mayTake(waiter))
    if (index === -1) index = this.#waiting.findIndex(mayTake)
    if (index === -1) return
    const waiter = this.#waiting[index] as Waiter
    this.#unqueue(waiter)
    waiter.grant(this.#grant(waiter.address))
  }

  #unqueue(waiter: Waiter): void {
    const index = this.#waiting.indexOf(waiter)
    if (index === -1) return
    this.#waiting.splice(index, 1)
    const left = (this.#waitingBy.get(waiter.address) as number) - 1
    if (left === 0) this.#waitingBy.delete(waiter.address)
    else this.#waitingBy.set(waiter.address, left)
  }
}
