import fc from 'fast-check'
import { BAKERY } from './bakery.js'

/**
 * Generators of hostile request targets, shared by the fuzz tests
 * (test/fuzz/): paths shaped like the table's with hostile parts where the
 * captures go, plain and odd ones, queries, and rare huge ones.
 */

export const FILE_CHARS = [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@",
]

/** Pieces attackers and confused clients put in paths. */
// prettier-ignore
const HOSTILE = [
  '..', '.', '', '...', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%2e', '..%2f', '%2f..', '%2F', '%5c',
  '\\', '..\\', '%00', '%0a', '%0d%0a', '%09', '%20', ' ', '%7f', '%c2%85', '%c0%ae%c0%ae',
  '%c0%af', '%ff', '%fe%ff', '%e2%80%ae', '%ef%bb%bf', '%ed%a0%80', '%f4%90%80%80', '%25',
  '%252e%252e', '%252f', '%', '%z', '%zz', '%2', '?', '??', '#', '+', '%2B', '%2b', ';', ';a=b',
  '//', '///', 'x86-64', 'arm64', 'x86_64', '.raw', '.conf', '.transfer', 'SHA256SUMS',
  'SHA256SUMS.gpg', 'extensions', 'releases', 'download', '-', '--', '-v1.2.3', '-x86-64.raw',
  'http:', 'https://evil.example', '@evil.example', 'evil.example:443', '\u00e9', '\u202e',
  '\ud83d\ude00', '\ud800', '\udfff', '\u0000', '\n', '\r\n', '\t', '\u0085', '\u2028', '\uffff',
  '\u0130', '\ufb00', '\uff21', '%EF%BC%8E%EF%BC%8E',
]

export const fileName = fc.string({
  unit: fc.constantFrom(...FILE_CHARS),
  minLength: 1,
  maxLength: 16,
})
export const hostile = fc.constantFrom(...HOSTILE)

/** Percent-encoded UTF-8 (a lone surrogate becomes U+FFFD, as on the wire). */
export function utf8Escape(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8'))
    out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  return out
}

export const anyText = fc.string({ unit: 'binary', maxLength: 12 })
const encoded = anyText.map(utf8Escape)
const percentBytes = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 })
  .map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''))
const dashes = fc
  .tuple(
    fc.integer({ min: 1, max: 300 }),
    fc.constantFrom('-', '-a', '--', '-v1', '-x86-64', '-arm64'),
  )
  .map(([n, piece]) => `k${piece.repeat(n)}`)
const huge = fc
  .tuple(
    fc.integer({ min: 1000, max: 17_000 }),
    fc.constantFrom('a', '-', '%2e', '.', '/', 'x86-64-'),
  )
  .map(([n, piece]) => piece.repeat(Math.ceil(n / piece.length)))

export const segment = fc.oneof(
  { arbitrary: fileName, weight: 6 },
  { arbitrary: hostile, weight: 6 },
  {
    arbitrary: fc
      .array(fc.oneof(fileName, hostile), { minLength: 2, maxLength: 4 })
      .map((p) => p.join('')),
    weight: 4,
  },
  { arbitrary: anyText, weight: 2 },
  { arbitrary: encoded, weight: 2 },
  { arbitrary: percentBytes, weight: 2 },
  { arbitrary: dashes, weight: 1 },
)

export const arch = fc.constantFrom('x86-64', 'arm64', 'x86_64', 'riscv64', '')
/** Names and versions the fake bakery publishes, so checked targets sometimes exist. */
export const known = fc.constantFrom(
  ...Object.keys(BAKERY),
  ...Object.values(BAKERY).flatMap((versions) => Object.keys(versions)),
  'SHA256SUMS',
)
export const word = fc.oneof(fileName, segment, known)

/** Paths shaped like the table's, with hostile parts where the captures go. */
export const shaped = fc.oneof(
  fc
    .tuple(fc.array(segment, { maxLength: 3 }), word, word, arch)
    .map(
      ([prefix, ext, version, a]) =>
        `/${[...prefix, 'extensions'].join('/')}/${ext}-${version}-${a}.raw`,
    ),
  fc
    .tuple(word, fc.array(segment, { maxLength: 3 }), word, word, arch)
    .map(
      ([sub, more, ext, version, a]) =>
        `/extensions/${[sub, ...more].join('/')}/${ext}-${version}-${a}.raw`,
    ),
  fc
    .tuple(word, fc.constantFrom('conf', 'transfer', 'raw', ''))
    .map(([name, type]) => `/extensions/${name}.${type}`),
  fc
    .tuple(word, word, fc.constantFrom('conf', 'transfer'))
    .map(([release, file, type]) => `/extensions/${release}/${file}.${type}`),
  fc
    .tuple(word, fc.constantFrom('SHA256SUMS', 'SHA256SUMS.asc', 'SHA256SUMS.sig'))
    .map(([ext, file]) => `/extensions/${ext}/${file}`),
)

const plain = fc.array(segment, { maxLength: 10 }).map((segments) => `/${segments.join('/')}`)
const odd = fc.constantFrom(
  '',
  '*',
  'x',
  'extensions/a.raw',
  '//evil.example/x',
  'http://h/extensions/SHA256SUMS',
  'http://h',
  'HTTP://H:1?x',
  '?x',
  '#x',
  '/?#',
)

export const query = fc.option(
  fc.oneof(
    fc.string({
      unit: fc.constantFrom(...FILE_CHARS, '?', '%', '#', '/', '=', '&'),
      maxLength: 30,
    }),
    fc.array(hostile, { maxLength: 4 }).map((p) => p.join('')),
  ),
  { nil: undefined },
)

/** Huge segments are rare: each costs the matcher its whole length, and the run has to stay short. */
const hugePath = fc.oneof(
  fc.tuple(huge, shaped).map(([big, path]) => `/${big}${path}`),
  fc.tuple(huge, arch).map(([big, a]) => `/extensions/${big}-${a}.raw`),
  fc.tuple(huge, word).map(([big, w]) => `/extensions/${w}/${big}`),
)

export const target = fc
  .tuple(
    fc.oneof(
      { arbitrary: shaped, weight: 100 },
      { arbitrary: plain, weight: 80 },
      { arbitrary: odd, weight: 10 },
      { arbitrary: hugePath, weight: 1 },
    ),
    query,
  )
  .map(([path, q]) => (q === undefined ? path : `${path}?${q}`))
