import { LRUCache } from 'lru-cache'

/**
 * What the decision works out from a raw request target alone (its route,
 * src/decision/route.ts), remembered by target. Clients ask for a small set
 * of current files over and over, so most requests skip normalising and
 * matching. Bounded twice, for the million-distinct-paths case: in entries,
 * and by leaving out long targets (real ones are under 200 bytes), so the
 * memo holds at most about a MB whatever clients send. Kept small: a hot
 * set of current files fits, and with distinct paths every entry is future
 * garbage that should die young rather than be promoted by V8.
 */
export const MEMO_ENTRIES = 1_024
export const MEMO_MAX_TARGET = 512

/**
 * `compute`, remembered per raw request target within the bounds above. A
 * call that throws is not remembered.
 */
export function remembered<T>(compute: (rawTarget: string) => T): (rawTarget: string) => T {
  // Boxed, so that a remembered null or undefined is still found.
  const memo = new LRUCache<string, { readonly value: T }>({ max: MEMO_ENTRIES })
  return (rawTarget) => {
    const known = memo.get(rawTarget)
    if (known !== undefined) return known.value
    const value = compute(rawTarget)
    if (rawTarget.length <= MEMO_MAX_TARGET) memo.set(rawTarget, { value })
    return value
  }
}
