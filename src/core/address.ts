import { BlockList, isIP } from 'node:net'

/**
 * Client addresses: the CIDR allowlist and the key a client is counted under.
 * Pure: no Fastify, no I/O.
 */

export interface Cidr {
  readonly address: string
  readonly prefix: number
  readonly family: 'ipv4' | 'ipv6'
}

/** `a.b.c.d/n`, `x:y::/n`, or a bare address (a single host); null if neither. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/')
  const address = slash === -1 ? text : text.slice(0, slash)
  const version = isIP(address)
  if (version === 0) return null
  const family = version === 4 ? 'ipv4' : 'ipv6'
  const bits = version === 4 ? 32 : 128
  if (slash === -1) return { address, prefix: bits, family }
  const prefixText = text.slice(slash + 1)
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN
  return prefix <= bits ? { address, prefix, family } : null
}

/**
 * A predicate telling whether an address lies in one of the ranges. Node's
 * BlockList also matches an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what
 * a dual-stack socket reports) against IPv4 ranges.
 */
export function addressMatcher(cidrs: readonly Cidr[]): (address: string | undefined) => boolean {
  if (cidrs.length === 0) return () => false
  const list = new BlockList()
  for (const cidr of cidrs) list.addSubnet(cidr.address, cidr.prefix, cidr.family)
  return (address) => {
    const version = address === undefined ? 0 : isIP(address)
    return version !== 0 && list.check(address as string, version === 4 ? 'ipv4' : 'ipv6')
  }
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * A client's address as people and ranges read it: an IPv4-mapped IPv6
 * address (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4
 * client) as its IPv4 self; any other as it is.
 */
export function plainAddress(address: string | undefined): string | undefined {
  if (address === undefined || !address.startsWith('::')) return address
  return MAPPED_IPV4.exec(address)?.[1] ?? address
}

/**
 * The key a client's requests are counted under. An IPv4 address counts
 * alone (an IPv4-mapped IPv6 address as its IPv4 self); an IPv6 address
 * counts as its /64, because a single host or site is handed at least a /64
 * and can pick a fresh address in it for every request.
 */
export function clientKey(address: string | undefined): string {
  const plain = plainAddress(address)
  if (plain === undefined) return 'unknown'
  if (isIP(plain) !== 6) return plain
  return `${ipv6Groups(plain).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex. */
export function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.replace(/%.*$/, '').toLowerCase().split('::')
  const words = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap(word))
  const before = words(head)
  const after = tail === undefined ? [] : words(tail)
  const zeros = new Array<string>(8 - before.length - after.length).fill('0')
  return [...before, ...zeros, ...after]
}

// One group as hex without leading zeros; an embedded IPv4 tail is two groups.
function word(part: string): string[] {
  if (!part.includes('.')) return [Number.parseInt(part, 16).toString(16)]
  const [a, b, c, d] = part.split('.').map(Number) as [number, number, number, number]
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
}
