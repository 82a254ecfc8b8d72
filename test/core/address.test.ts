import t from 'tap'
import {
  addressMatcher,
  clientKey,
  ipv6Groups,
  parseCidr,
  plainAddress,
  type Cidr,
} from '../../src/core/address.js'

function cidr(text: string): Cidr {
  const parsed = parseCidr(text)
  if (parsed === null) throw new Error(`${text} did not parse`)
  return parsed
}

t.test('parseCidr takes ranges and bare addresses of both families', async (t) => {
  t.same(parseCidr('203.0.113.0/24'), { address: '203.0.113.0', prefix: 24, family: 'ipv4' })
  t.same(parseCidr('198.51.100.7'), { address: '198.51.100.7', prefix: 32, family: 'ipv4' })
  t.same(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' })
  t.same(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' })
  t.same(parseCidr('0.0.0.0/0'), { address: '0.0.0.0', prefix: 0, family: 'ipv4' })
  t.same(parseCidr('::/128'), { address: '::', prefix: 128, family: 'ipv6' })
})

t.test('parseCidr refuses what is not a range', async (t) => {
  for (const text of [
    '',
    '/24',
    'example.org',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0/24',
    '256.0.0.0/8',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '10.0.0.0/8/8',
    '10.0.0.0/0x8',
    '10.0.0.0/1000',
    '2001:db8::g/64',
  ]) {
    t.equal(parseCidr(text), null, JSON.stringify(text))
  }
})

t.test('addressMatcher checks both families, mapped IPv4 included', async (t) => {
  const allowed = addressMatcher(['203.0.113.0/24', '198.51.100.7', '2001:db8:1::/48'].map(cidr))
  t.ok(allowed('203.0.113.1'))
  t.ok(allowed('203.0.113.255'))
  t.notOk(allowed('203.0.114.1'))
  t.ok(allowed('198.51.100.7'))
  t.notOk(allowed('198.51.100.8'))
  t.ok(allowed('::ffff:203.0.113.9'), 'a dual-stack socket reports IPv4 clients this way')
  t.ok(allowed('2001:db8:1:ffff::1'))
  t.notOk(allowed('2001:db8:2::1'))
  t.notOk(allowed(undefined), 'a socket already gone has no address')
  t.notOk(allowed('not an address'))
  const none = addressMatcher([])
  t.notOk(none('203.0.113.1'), 'an empty list allows nobody')
})

t.test('clientKey: IPv4 alone, IPv6 by its /64', async (t) => {
  t.equal(clientKey('203.0.113.9'), '203.0.113.9')
  t.equal(clientKey('::ffff:203.0.113.9'), '203.0.113.9', 'mapped IPv4 is the same client')
  t.equal(clientKey('::FFFF:203.0.113.9'), '203.0.113.9')
  t.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(
    clientKey('2001:0db8:0001:0002::1'),
    '2001:db8:1:2::/64',
    'leading zeros do not make another client',
  )
  t.equal(clientKey('2001:DB8:1:2::ffff'), '2001:db8:1:2::/64', 'nor does case')
  t.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(clientKey('::1'), '0:0:0:0::/64')
  t.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone is not part of the key')
  t.equal(clientKey(undefined), 'unknown')
  t.equal(clientKey('weird'), 'weird', 'anything else counts as itself')
})

t.test('ipv6Groups expands every spelling to eight groups', async (t) => {
  t.same(ipv6Groups('::'), ['0', '0', '0', '0', '0', '0', '0', '0'])
  t.same(ipv6Groups('1::'), ['1', '0', '0', '0', '0', '0', '0', '0'])
  t.same(ipv6Groups('1:2:3:4:5:6:7:8'), ['1', '2', '3', '4', '5', '6', '7', '8'])
  t.same(ipv6Groups('64:ff9b::192.0.2.33'), ['64', 'ff9b', '0', '0', '0', '0', 'c000', '221'])
  t.same(ipv6Groups('1:2:3:4:5:6:1.2.3.4'), ['1', '2', '3', '4', '5', '6', '102', '304'])
})

t.test('plainAddress: an IPv4-mapped address as IPv4, any other as it is', async (t) => {
  t.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1', 'a dual-stack socket’s IPv4 client')
  t.equal(plainAddress('::FFFF:10.1.2.3'), '10.1.2.3')
  t.equal(plainAddress('::1'), '::1')
  t.equal(plainAddress('::ffff:abcd'), '::ffff:abcd', 'not an IPv4 tail')
  t.equal(plainAddress('2001:db8::1'), '2001:db8::1')
  t.equal(plainAddress('192.0.2.1'), '192.0.2.1')
  t.equal(plainAddress(undefined), undefined)
})
