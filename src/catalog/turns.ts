/**
 * Work on a whole manifest (100,000 lines in a big bakery) written once as a
 * generator that pauses (yields) between slices, then run either at once or
 * in turns of the event loop, so that no slice holds other requests (health
 * checks included) for more than a few milliseconds. Pure: no I/O.
 */
export type Steps<T> = Generator<void, T, void>

/** Runs the steps to their result without pausing. */
export function atOnce<T>(steps: Steps<T>): T {
  let step = steps.next()
  while (step.done !== true) step = steps.next()
  return step.value
}

/** Runs the steps, letting the event loop turn (timers, sockets) at each pause. */
export async function inTurns<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next()
  while (step.done !== true) {
    await new Promise((resolve) => setImmediate(resolve))
    step = steps.next()
  }
  return step.value
}

// The work between two pauses, a few milliseconds of it on this machine (2 cores, 2026):
/** Lines or images handled by a pass over a manifest (a split, a few string reads each). */
export const ITEMS_PER_TURN = 2_000
/** Version comparisons made by a sort (strverscmp, about 0.1 µs each). */
export const COMPARISONS_PER_TURN = 20_000

/** Whether a pass pauses before item `index`: `if (pausesBefore(i)) yield`, every ITEMS_PER_TURN items. */
export function pausesBefore(index: number): boolean {
  return index % ITEMS_PER_TURN === ITEMS_PER_TURN - 1
}

/**
 * A stable merge sort of `items` in place, pausing every
 * COMPARISONS_PER_TURN comparisons: O(n log n) like Array.prototype.sort (which cannot pause),
 * and stable like it, so equal items keep their order.
 */
export function* sortSteps<T>(items: T[], compare: (a: T, b: T) => number): Steps<T[]> {
  let from = items
  let to = new Array<T>(items.length)
  let work = 0
  for (let width = 1; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      const middle = Math.min(left + width, items.length)
      const end = Math.min(left + 2 * width, items.length)
      let i = left
      let j = middle
      for (let k = left; k < end; k++) {
        // Ties take the left run's item: that keeps the sort stable.
        const takeLeft = j >= end || (i < middle && compare(from[i] as T, from[j] as T) <= 0)
        to[k] = (takeLeft ? from[i++] : from[j++]) as T
        if (++work === COMPARISONS_PER_TURN) {
          work = 0
          yield
        }
      }
    }
    ;[from, to] = [to, from]
  }
  if (from !== items) for (let k = 0; k < items.length; k++) items[k] = from[k] as T
  return items
}
