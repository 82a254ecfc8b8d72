import fc from 'fast-check'
import t from 'tap'
import { newestFirst, strverscmpImproved } from '../../src/version/strverscmp.js'

// The tables below are systemd's own (src/test/test-string-util.c,
// TEST(strverscmp_improved) and TEST(strverscmp_improved_rpm)), so a port
// that drifts from systemd fails here.

t.test('systemd: each version is older than every later one', async (t) => {
  const versions = [
    '~1',
    '',
    'ab',
    'abb',
    'abc',
    '0001',
    '002',
    '12',
    '122',
    '122.9',
    '123~rc1',
    '123',
    '123-a',
    '123-a.1',
    '123-a1',
    '123-a1.1',
    '123-3',
    '123-3.1',
    '123^patch1',
    '123^1',
    '123.a-1',
    '123.1-1',
    '123a-1',
    '124',
  ]
  versions.forEach((older, i) => {
    t.equal(strverscmpImproved(older, older), 0, `${older} = ${older}`)
    for (const newer of versions.slice(i + 1)) {
      t.equal(strverscmpImproved(older, newer), -1, `${older} < ${newer}`)
      t.equal(strverscmpImproved(newer, older), 1, `${newer} > ${older}`)
    }
  })
  t.same(newestFirst([...versions].reverse()), [...versions].reverse(), 'newestFirst')
  t.same(newestFirst(versions), [...versions].reverse(), 'newestFirst sorts')
})

const newer: [string, string, string][] = [
  ['release parts', '123.45-67.88', '123.45-67.89'],
  ['release parts', '123.45-67.89', '123.45-67.89a'],
  ['release parts', '123.45-67.ab', '123.45-67.89'],
  ['release parts', '123.45-67.9', '123.45-67.89'],
  ['release parts', '123.45-67', '123.45-67.89'],
  ['release parts', '123.45-66.89', '123.45-67.89'],
  ['release parts', '123.45-9.99', '123.45-67.89'],
  ['release parts', '123.42-99.99', '123.45-67.89'],
  ['release parts', '123-99.99', '123.45-67.89'],
  ['~ pre-release', '123~rc1-99.99', '123.45-67.89'],
  ['~ pre-release', '123~rc1-99.99', '123-45.67.89'],
  ['~ pre-release', '123~rc1-99.99', '123~rc2-67.89'],
  ['~ pre-release', '123~rc1-99.99', '123^aa2-67.89'],
  ['~ pre-release', '123~rc1-99.99', '123aa2-67.89'],
  ['- release separator', '123-99.99', '123.45-67.89'],
  ['- release separator', '123-99.99', '123^aa2-67.89'],
  ['- release separator', '123-99.99', '123aa2-67.89'],
  ['^ post-release', '123^45-67.89', '123.45-67.89'],
  ['^ post-release', '123^aa1-99.99', '123^aa2-67.89'],
  ['^ post-release', '123^aa2-67.89', '123aa2-67.89'],
  ['. point release', '123.aa2-67.89', '123aa2-67.89'],
  ['. point release', '123.aa2-67.89', '123.ab2-67.89'],
]

t.test('systemd: pairs, older first', async (t) => {
  for (const [what, older, newerOne] of newer) {
    t.equal(strverscmpImproved(older, newerOne), -1, `${what}: ${older} < ${newerOne}`)
    t.equal(strverscmpImproved(newerOne, older), 1, `${what}: ${newerOne} > ${older}`)
  }
})

// [a, b, expected]
const exact: [string, string, -1 | 0 | 1][] = [
  // invalid characters
  ['123_aa2-67.89', '123aa+2-67.89', 0],
  // corner cases
  ['123.', '123', 1],
  ['12_3', '123', -1],
  ['12_3', '12', 1],
  ['12_3', '12.3', 1],
  ['123.0', '123', 1],
  ['123_0', '123', 1],
  ['123..0', '123.0', -1],
  // empty strings or strings with ignored characters only
  ['', '', 0],
  ['0_', '0', 0],
  ['_0_', '0', 0],
  ['_0', '0', 0],
  ['0', '0___', 0],
  ['', '_', 0],
  ['_', '', 0],
  ['_', '_', 0],
  ['', '~', 1],
  ['~', '', -1],
  ['~', '~', 0],
  // non-ASCII digits are not digits
  ['1٠١٢٣٤٥٦٧٨٩', '1', 0],
  ['1๐๑๒๓๔๕๖๗๘๙', '1', 0],
  // rpm's rpmvercmp suite, as systemd keeps it
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0],
  ['2.0', '2.0.1', -1],
  ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0],
  ['2.0.1a', '2.0.1', 1],
  ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0],
  ['5.5p1', '5.5p2', -1],
  ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0],
  ['5.5p1', '5.5p10', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', 1],
  ['10.1xyz', '10xyz', -1],
  ['xyz10', 'xyz10', 0],
  ['xyz10', 'xyz10.1', -1],
  ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0],
  ['xyz.4', '8', -1],
  ['8', 'xyz.4', 1],
  ['xyz.4', '2', -1],
  ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1],
  ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1],
  ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1],
  ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1],
  ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0],
  ['1.0a', '1.0aa', -1],
  ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0],
  ['10.0001', '10.1', 0],
  ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1],
  ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1],
  ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0],
  ['20101121', '20101122', -1],
  ['20101122', '20101121', 1],
  ['2_0', '2_0', 0],
  ['2.0', '2_0', -1],
  ['2_0', '2.0', 1],
  ['a', 'a', 0],
  ['a+', 'a+', 0],
  ['a+', 'a_', 0],
  ['a_', 'a+', 0],
  ['+a', '+a', 0],
  ['+a', '_a', 0],
  ['_a', '+a', 0],
  ['+_', '+_', 0],
  ['_+', '+_', 0],
  ['_+', '_+', 0],
  ['+', '_', 0],
  ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0],
  ['1.0^', '1.0', 1],
  ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0],
  ['1.0^git1', '1.0', 1],
  ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1],
  ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0],
  ['1.0^20160101', '1.0.1', -1],
  ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0],
  ['1.0^20160102', '1.0^20160101^git1', 1],
  ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0],
  ['1.0^git1', '1.0^git1~pre', 1],
  ['1.0^git1~pre', '1.0^git1', -1],
  // rpm oddities systemd documents on purpose
  ['1b.fc17', '1b.fc17', 0],
  ['1b.fc17', '1.fc17', 1],
  ['1.fc17', '1b.fc17', -1],
  ['1g.fc17', '1g.fc17', 0],
  ['1g.fc17', '1.fc17', 1],
  ['1.fc17', '1g.fc17', -1],
  ['1.1.α', '1.1.α', 0],
  ['1.1.α', '1.1.β', 0],
  ['1.1.β', '1.1.α', 0],
  ['1.1.αα', '1.1.α', 0],
  ['1.1.α', '1.1.ββ', 0],
  ['1.1.ββ', '1.1.αα', 0],
]

t.test('systemd and rpm: exact results', async (t) => {
  for (const [a, b, expected] of exact) {
    t.equal(strverscmpImproved(a, b), expected, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
  }
})

// What the bakery actually publishes, ordered as sysupdate orders it.
t.test('bakery versions', async (t) => {
  const cases: [string, string, -1 | 0 | 1, string][] = [
    ['v1.32.2', 'v1.32.10', -1, 'numeric, not textual'],
    ['v1.31.4', 'v1.32.0', -1, 'minor wins'],
    ['v1.31.4+k3s1', 'v1.31.4+k3s2', -1, '+ is a separator, k3s2 newer'],
    ['v1.31.4', 'v1.31.4+k3s1', -1, 'more segments is newer'],
    ['v1.36.1+rke2r2', 'v1.36.1+rke2r10', -1, 'rke2r10 newer than rke2r2'],
    ['v1.30.0', 'v1.30.0-rc1', -1, 'a - suffix is a release, newer than none'],
    ['1.30.0~rc1', '1.30.0', -1, 'only ~ makes a pre-release'],
    ['2.34.0', 'v2.34.0', 1, 'a number is newer than a letter'],
    ['24.0.0', '24.0.0', 0, 'equal'],
    ['0024.0.0', '24.0.0', 0, 'leading zeros do not count'],
  ]
  for (const [a, b, expected, why] of cases) {
    t.equal(strverscmpImproved(a, b), expected, `${a} vs ${b}: ${why}`)
  }
})

// Any string at all (ASCII and a little beyond, the prefixes made common).
const version = fc.stringMatching(/^[0-9a-c~^.\-_+é]{0,12}$/)

t.test('properties: an order sysupdate can sort by', async (t) => {
  fc.assert(
    fc.property(version, (a) => strverscmpImproved(a, a) === 0),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(version, version, (a, b) => strverscmpImproved(a, b) === -strverscmpImproved(b, a)),
    { numRuns: 5000 },
  )
  fc.assert(
    fc.property(version, version, version, (a, b, c) => {
      const [x, y, z] = [a, b, c].sort(strverscmpImproved) as [string, string, string]
      return (
        strverscmpImproved(x, y) <= 0 &&
        strverscmpImproved(y, z) <= 0 &&
        strverscmpImproved(x, z) <= 0
      )
    }),
    { numRuns: 5000 },
  )
  t.pass('reflexive, antisymmetric and transitive on random versions')
})
