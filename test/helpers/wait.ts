/** Polls until `done()` holds: for state that changes with no event to await. */
export async function waitUntil(done: () => boolean, intervalMs = 5): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, intervalMs))
}
