import { remembered } from '../table/memo.js'
import type { Origins } from '../table/resolve.js'
import type { Table } from '../table/table.js'
import type { Answer } from './answer.js'
import { decision, refusedAnswer, type Policy } from './decide.js'
import { fromMemory, liveFacts, run, type FromMemory, type Knowledge } from './drivers.js'
import { routeFinder, type Route } from './route.js'

/** The one decision, bound to the app's table, policy and caches. */
export interface Decider {
  /**
   * The answer to a raw request target: at once when memory holds all it
   * needs. `client`: the client's address (a snapshot signature matches the
   * manifest that client was given).
   */
  decide(rawTarget: string, client?: string): Answer | Promise<Answer>
  /** decide() from memory alone, changing nothing but that memory of clients; null when it would wait (the lane). */
  fromMemory(route: Route, client?: string): FromMemory | null
  /** The first, pure half of the decision (remembered per target). */
  route(rawTarget: string): Route
  /** The answer to a target the path layer refuses, or null: pure, nothing asked. */
  refusal(rawTarget: string): Answer | null
}

export interface DeciderOptions {
  readonly table: Table
  readonly origins: Origins
  readonly policy: Policy
  readonly knowledge: Knowledge
}

export function createDecider(options: DeciderOptions): Decider {
  const { policy, knowledge } = options
  const route = remembered(
    routeFinder({
      table: options.table,
      origins: options.origins,
      index: knowledge.index !== null,
    }),
  )
  const facts = liveFacts(knowledge)
  return {
    decide: (rawTarget, client) =>
      run(decision(route(rawTarget), policy), facts, undefined, policy.waitMs, client),
    fromMemory: (found, client) => fromMemory(decision(found, policy), knowledge, client),
    route,
    refusal: (rawTarget) => {
      const found = route(rawTarget)
      return found.kind === 'refused' ? refusedAnswer(found.error) : null
    },
  }
}
