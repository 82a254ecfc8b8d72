/**
 * Where the service listens when HOST is unset: every address, IPv6 and
 * IPv4 alike (`::`, IPv4 clients arriving as IPv4-mapped addresses), or, on
 * a machine without IPv6, every IPv4 address.
 */
export const DUAL_STACK = ['::', '0.0.0.0'] as const

// What listening on `::` fails with where the kernel has no IPv6.
const NO_SUCH_FAMILY = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL'])

/**
 * Listens on the first of `hosts` this machine has, and says which: a host
 * whose address family it lacks makes way for the next; any other failure
 * (the port in use) is the answer.
 */
export async function listenFirst(
  hosts: readonly string[],
  listen: (host: string) => Promise<unknown>,
): Promise<string> {
  const [host, ...rest] = hosts as readonly [string, ...string[]]
  try {
    await listen(host)
    return host
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code as string
    if (rest.length === 0 || !NO_SUCH_FAMILY.has(code)) throw err
    return listenFirst(rest, listen)
  }
}
