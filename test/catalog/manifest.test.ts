import fc from 'fast-check'
import t from 'tap'
import { isValidUtf8, parseManifest, parseManifestInTurns } from '../../src/catalog/manifest.js'

const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8')

t.test('accepts what sysupdate accepts', async (t) => {
  const cases: [string, string, { sha256: string; name: string }[]][] = [
    ['empty file', '', []],
    ['text marker', `${HASH}  a.raw\n`, [{ sha256: HASH, name: 'a.raw' }]],
    ['binary marker', `${HASH} *a.raw\n`, [{ sha256: HASH, name: 'a.raw' }]],
    [
      'upper-case digest',
      `${HASH.toUpperCase()}  a.raw\n`,
      [{ sha256: HASH.toUpperCase(), name: 'a.raw' }],
    ],
    [
      'several lines',
      `${HASH}  k3s-v1.31.4+k3s1-x86-64.raw\n${HASH} *crio-v1.30.0-rc1-arm64.raw\n`,
      [
        { sha256: HASH, name: 'k3s-v1.31.4+k3s1-x86-64.raw' },
        { sha256: HASH, name: 'crio-v1.30.0-rc1-arm64.raw' },
      ],
    ],
    ['spaces inside a name', `${HASH}  a b.raw\n`, [{ sha256: HASH, name: 'a b.raw' }]],
    ['leading space in a name', `${HASH}   a\n`, [{ sha256: HASH, name: ' a' }]],
    ['non-ASCII name', `${HASH}  ünïcode.raw\n`, [{ sha256: HASH, name: 'ünïcode.raw' }]],
    [
      'a name of 255 bytes',
      `${HASH}  ${'a'.repeat(255)}\n`,
      [{ sha256: HASH, name: 'a'.repeat(255) }],
    ],
    ['a one-char name', `${HASH}  x\n`, [{ sha256: HASH, name: 'x' }]],
    ['dots inside', `${HASH}  ...\n`, [{ sha256: HASH, name: '...' }]],
    [
      'a magic marker file',
      `${HASH}  BEST-BEFORE-2030-01-01\n`,
      [{ sha256: HASH, name: 'BEST-BEFORE-2030-01-01' }],
    ],
  ]
  for (const [what, text, entries] of cases) {
    t.same(parseManifest(bytes(text)), { ok: true, entries }, what)
  }
})

t.test('refuses the whole file for any bad line, as sysupdate does', async (t) => {
  const good = `${HASH}  good.raw\n`
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['no final newline', `${good}${HASH}  last.raw`, /truncated manifest at line 2/],
    ['CRLF line ends', `${HASH}  a.raw\r\n`, /control characters at line 1/],
    ['a tab in a name', `${HASH}  a\tb\n`, /control characters/],
    ['DEL in a name', `${HASH}  a\x7fb\n`, /control characters/],
    ['tab as separator', `${HASH}\t a.raw\n`, /missing space separator at line 1/],
    ['one space only', `${HASH} a.raw\n`, /binary\/text input marker/],
    ['a 63-digit hash', `${HASH.slice(1)}  a.raw\n`, /digest at line 1 is not 64 hex digits/],
    ['a 65-digit hash', `${HASH}0  a.raw\n`, /missing space separator/],
    ['a non-hex digit', `${HASH.slice(0, 63)}g  a.raw\n`, /not 64 hex digits/],
    ['an empty name', `${HASH}  \n${good}`, /empty file name at line 1/],
    ['a short line', `${good}abc\n`, /corrupt manifest at line 2/],
    ['an empty line', `${good}\n`, /corrupt manifest at line 2/],
    ['a blank line between', `${good}\n${good}`, /digest at line 2 is not 64 hex digits/],
    ['a slash in a name', `${HASH}  sub/a.raw\n`, /invalid file name/],
    ['a name of .', `${HASH}  .\n${good}`, /invalid file name/],
    ['a name of ..', `${HASH}  ..\n${good}`, /invalid file name/],
    ['a name of 256 bytes', `${HASH}  ${'a'.repeat(256)}\n`, /invalid file name/],
    ['a name over 255 bytes in UTF-8', `${HASH}  ${'ü'.repeat(128)}\n`, /invalid file name/],
    ['an escaped name', `\\${HASH}  a\\nb\n`, /escapes are not supported/],
    ['a NUL byte', `${HASH}  a\0b\n`, /embedded NUL/],
    [
      'invalid UTF-8',
      Buffer.concat([bytes(`${HASH}  a`), Buffer.from([0xc3, 0x28]), bytes('\n')]),
      /not valid UTF-8/,
    ],
    [
      'a leading BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(good)]),
      /not 64 hex digits/,
    ],
    [
      'HTML from an error page',
      '<!DOCTYPE html><html><body>Not Found</body></html>\n',
      /not 64 hex digits|corrupt/,
    ],
  ]
  for (const [what, input, reason] of cases) {
    const result = parseManifest(typeof input === 'string' ? bytes(input) : input)
    t.equal(result.ok, false, what)
    if (!result.ok) t.match(result.reason, reason, what)
  }
})

t.test("UTF-8 as strict as systemd's utf8_is_valid_n", async (t) => {
  const cases: [string, number[], boolean][] = [
    ['ASCII', [0x61], true],
    ['two bytes', [0xc3, 0xbc], true],
    ['four bytes', [0xf0, 0x9f, 0x98, 0x80], true],
    ['U+FFFD is fine', [0xef, 0xbf, 0xbd], true],
    ['overlong /', [0xc0, 0xaf], false],
    ['a surrogate', [0xed, 0xa0, 0x80], false],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['a lone continuation byte', [0x80], false],
    ['truncated', [0xe2, 0x82], false],
    ['noncharacter U+FFFE', [0xef, 0xbf, 0xbe], false],
    ['noncharacter U+FFFF', [0xef, 0xbf, 0xbf], false],
    ['noncharacter U+FDD0', [0xef, 0xb7, 0x90], false],
    ['noncharacter U+FDEF', [0xef, 0xb7, 0xaf], false],
    ['U+FDF0 is fine', [0xef, 0xb7, 0xb0], true],
    ['noncharacter U+1FFFE', [0xf0, 0x9f, 0xbf, 0xbe], false],
  ]
  for (const [what, input, valid] of cases) {
    t.equal(isValidUtf8(Uint8Array.from(input)), valid, what)
  }
})

// Valid manifests, built from parts sysupdate accepts.
const hex = fc.stringMatching(/^[0-9a-fA-F]{64}$/)
const name = fc.stringMatching(/^[A-Za-z0-9._+~ -]{1,40}$/).filter((n) => n !== '.' && n !== '..')
const line = fc.tuple(hex, fc.constantFrom(' ', '*'), name)
const manifest = fc.array(line, { maxLength: 8 })
const render = (lines: [string, string, string][]): string =>
  lines.map(([h, marker, n]) => `${h} ${marker}${n}\n`).join('')

t.test('properties', async (t) => {
  fc.assert(
    fc.property(manifest, (lines) => {
      const result = parseManifest(bytes(render(lines)))
      return (
        result.ok &&
        result.entries.length === lines.length &&
        result.entries.every((e, i) => e.sha256 === lines[i]?.[0] && e.name === lines[i]?.[2])
      )
    }),
    { numRuns: 500 },
  )
  // Dropping the final newline, or ending any line with CRLF, refuses it all.
  fc.assert(
    fc.property(
      manifest.filter((l) => l.length > 0),
      fc.nat(),
      (lines, pick) => {
        const text = render(lines)
        const i = pick % lines.length
        const crlf = render(lines.map((l, j) => (j === i ? [l[0], l[1], `${l[2]}\r`] : l)))
        return !parseManifest(bytes(text.slice(0, -1))).ok && !parseManifest(bytes(crlf)).ok
      },
    ),
    { numRuns: 500 },
  )
  // Whatever the bytes, the parser answers (never throws) and an accepted
  // file has only lines of the strict form.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (input) => {
      const result = parseManifest(input)
      if (!result.ok) return typeof result.reason === 'string'
      return result.entries.every(
        (e) => /^[0-9a-fA-F]{64}$/.test(e.sha256) && !/[\n/]/.test(e.name),
      )
    }),
    { numRuns: 2000 },
  )
  t.pass('valid manifests parse back; one bad line refuses the file; any bytes get an answer')
})

t.test(
  'parseManifestInTurns: the same answers, with turns of the event loop between',
  async (t) => {
    const lines = Array.from(
      { length: 25_000 },
      (_, i) => `${'a'.repeat(64)}  k-1.${i}.0-x86-64.raw\n`,
    )
    const bytes = new TextEncoder().encode(lines.join(''))
    let turns = 0
    const counting = setInterval(() => turns++, 0)
    const parsed = await parseManifestInTurns(bytes)
    clearInterval(counting)
    t.same(parsed, parseManifest(bytes))
    t.ok(parsed.ok && parsed.entries.length === 25_000)
    t.ok(turns >= 1, `other work ran meanwhile (${turns} timer turns)`)
    lines[15_000] = 'not a line\n'
    const broken = new TextEncoder().encode(lines.join(''))
    t.same(await parseManifestInTurns(broken), parseManifest(broken), 'an error past a turn too')
    t.same(await parseManifestInTurns(new Uint8Array([0])), parseManifest(new Uint8Array([0])))
  },
)
