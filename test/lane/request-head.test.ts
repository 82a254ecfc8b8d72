import { deepStrictEqual, equal } from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import {
  parseRequestHead,
  type HeadOptions,
  type HeadResult,
  type RequestHead,
} from '../../src/lane/request-head.js'
import { httpLimits, MAX_HEADER_BYTES } from '../../src/protection/server-limits.js'

/**
 * The lane's request-head parser, three ways: tables for each rule; properties
 * against a slow, regex-based reference written straight from the rules; and
 * a differential run through Node's real HTTP parser (the server the app uses,
 * with its limits), which must see exactly the requests the parser accepted.
 */

const ADDRESS = 'fly-client-ip'
const OPTIONS: HeadOptions = { maxHeadBytes: MAX_HEADER_BYTES, addressHeader: ADDRESS }
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)

function parse(text: string, start = 0, options: HeadOptions = OPTIONS): HeadResult {
  return parseRequestHead(text, start, options)
}

/** A head from its request line and header lines. */
function head(requestLine: string, ...fields: string[]): string {
  return [requestLine, ...fields, '', ''].join('\r\n')
}

function accepted(
  text: string,
  expected: Partial<Omit<RequestHead, 'end'>>,
  start = 0,
): Record<string, unknown> {
  return {
    method: 'GET',
    target: '/',
    userAgent: undefined,
    address: undefined,
    ...expected,
    end: start + text.length,
    conditional: expected.conditional ?? false,
  }
}

// ---- the reference: the rules, transcribed with regular expressions ---------

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const FIELD_VALUE = /^[\x20-\x7e\t]*$/
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/
const REFUSED = [
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]

function trimOws(value: string): string {
  return value.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '')
}

function reference(text: string, start: number, options: HeadOptions): HeadResult {
  if (!Number.isInteger(start) || start < 0 || start > text.length) return 'unsupported'
  const rest = text.slice(start)
  const blank = rest.indexOf('\r\n\r\n')
  if (blank === -1) return rest.length < options.maxHeadBytes ? 'incomplete' : 'unsupported'
  if (blank + 4 > options.maxHeadBytes) return 'unsupported'
  const [requestLine = '', ...fields] = rest.slice(0, blank).split('\r\n')
  const request = REQUEST_LINE.exec(requestLine)
  if (request === null || fields.length > 100) return 'unsupported'
  const values = new Map<string, string[]>()
  for (const field of fields) {
    const colon = field.indexOf(':')
    const name = colon === -1 ? '' : field.slice(0, colon)
    const value = field.slice(colon + 1)
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return 'unsupported'
    const key = name.toLowerCase()
    values.set(key, [...(values.get(key) ?? []), trimOws(value)])
  }
  if (REFUSED.some((name) => values.has(name))) return 'unsupported'
  const connection = values.get('connection') ?? ['keep-alive']
  if (connection.length !== 1 || connection[0]?.toLowerCase() !== 'keep-alive') {
    return 'unsupported'
  }
  const address =
    options.addressHeader === undefined ? [] : (values.get(options.addressHeader) ?? [])
  const userAgent = values.get('user-agent') ?? []
  if (values.get('host')?.length !== 1 || userAgent.length > 1 || address.length > 1) {
    return 'unsupported'
  }
  return {
    method: request[1] as 'GET' | 'HEAD',
    target: request[2] as string,
    userAgent: userAgent[0],
    address: address[0],
    end: start + blank + 4,
    conditional: CONDITIONAL.some((name) => values.has(name)),
  }
}

// ---- generators -------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const SPECIAL = new Set([...REFUSED, 'host', 'user-agent', 'connection', ADDRESS])

const byte = (min: number, max: number): fc.Arbitrary<string> =>
  fc.integer({ min, max }).map((c) => String.fromCharCode(c))
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 })
const fieldValue = fc.string({ unit: fc.oneof(byte(0x20, 0x7e), fc.constant('\t')), maxLength: 40 })
/** A value as sent, with OWS around it, and as Node reports it. */
const sentValue = fc
  .tuple(ows, fieldValue, ows)
  .map(([before, value, after]) => ({ sent: before + value + after, seen: trimOws(value) }))

function anyCase(name: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) =>
      [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
    )
}

const otherName = fc
  .oneof(
    fc
      .constantFrom(
        'Accept',
        'Accept-Encoding',
        'Accept-Charset',
        'Cache-Control',
        'Content-Language',
        'Date',
        'If-Modified-Since',
        'If-None-Match',
        'Range',
        'Referer',
        'X-Trace-Id',
        'X1',
      )
      .chain(anyCase),
    fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 20 }),
  )
  .filter((name) => !SPECIAL.has(name.toLowerCase()))

/** The validators a client sends to get a 304 (snapshot files are Fastify's then). */
const CONDITIONAL = ['if-none-match', 'if-modified-since']

interface Generated {
  readonly text: string
  readonly expected: Omit<RequestHead, 'end'>
}

/** Heads the rules accept, with what the parser (and Node) must read from them. */
const validHead: fc.Arbitrary<Generated> = fc
  .record({
    method: fc.constantFrom<'GET' | 'HEAD'>('GET', 'HEAD'),
    target: fc.string({ unit: byte(0x21, 0x7e), maxLength: 80 }).map((s) => `/${s}`),
    host: fc.tuple(anyCase('host'), sentValue),
    userAgent: fc.option(fc.tuple(anyCase('user-agent'), sentValue), { nil: undefined }),
    address: fc.option(fc.tuple(anyCase(ADDRESS), sentValue), { nil: undefined }),
    connection: fc.option(fc.tuple(anyCase('connection'), ows, anyCase('keep-alive'), ows), {
      nil: undefined,
    }),
    others: fc.array(fc.tuple(otherName, sentValue), { maxLength: 8 }),
  })
  .chain((h) => {
    const fields = [h.host, h.userAgent, h.address, ...h.others].flatMap((field) =>
      field === undefined ? [] : [`${field[0]}:${field[1].sent}`],
    )
    if (h.connection !== undefined)
      fields.push(`${h.connection[0]}:${h.connection.slice(1).join('')}`)
    return fc
      .shuffledSubarray(fields, { minLength: fields.length, maxLength: fields.length })
      .map((order) => ({
        text: head(`${h.method} ${h.target} HTTP/1.1`, ...order),
        expected: {
          method: h.method,
          target: h.target,
          userAgent: h.userAgent?.[1].seen,
          address: h.address?.[1].seen,
          conditional: h.others.some(([name]) => CONDITIONAL.includes(name.toLowerCase())),
        },
      }))
  })

type Mutation = {
  readonly kind: 'insert' | 'flip' | 'delete'
  readonly at: number
  readonly byte: string
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('insert', 'flip', 'delete'),
  at: fc.nat(),
  byte: byte(0, 255),
})

function mutate(text: string, { kind, at, byte }: Mutation): string {
  const i = at % (text.length + 1)
  const c = text.charAt(i)
  switch (kind) {
    case 'insert':
      return text.slice(0, i) + byte + text.slice(i)
    case 'flip': {
      const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()
      return text.slice(0, i) + flipped + text.slice(i + 1)
    }
    case 'delete':
      return text.slice(0, i) + text.slice(i + 1)
  }
}

// ---- tables -------------------------------------------------------------------

t.test('accepts the simple requests and reads them as Node does', async (t) => {
  const cases: [string, Partial<Omit<RequestHead, 'end'>>][] = [
    [head('GET / HTTP/1.1', 'Host: x'), {}],
    // A validator: a snapshot file may then be a 304, which the route answers.
    [head('GET / HTTP/1.1', 'Host: x', 'If-None-Match: "a"'), { conditional: true }],
    [head('GET / HTTP/1.1', 'if-modified-since: x', 'Host: x'), { conditional: true }],
    [head('GET / HTTP/1.1', 'Host: x', 'If-Match: "a"', 'If-Range: x'), {}],
    [
      head(
        'HEAD /extensions/SHA256SUMS HTTP/1.1',
        'host: bakery.example',
        'User-Agent: systemd-sysupdate/256',
        'Fly-Client-IP: 203.0.113.7',
      ),
      {
        method: 'HEAD',
        target: '/extensions/SHA256SUMS',
        userAgent: 'systemd-sysupdate/256',
        address: '203.0.113.7',
      },
    ],
    // OWS trimmed on both sides, kept inside; empty values are values.
    [
      head('GET / HTTP/1.1', 'Host:x', 'User-Agent: \t curl/8.5.0 \t ', 'fly-client-ip:1 '),
      { userAgent: 'curl/8.5.0', address: '1' },
    ],
    [
      head('GET / HTTP/1.1', 'Host:', 'User-Agent: a \t b', `${ADDRESS}:   `),
      { userAgent: 'a \t b', address: '' },
    ],
    // Names in any case.
    [
      head('GET / HTTP/1.1', 'HOST: x', 'uSeR-aGeNt: u', 'FLY-CLIENT-IP: 2'),
      { userAgent: 'u', address: '2' },
    ],
    // The one Connection value accepted, in any case and with OWS.
    [head('GET / HTTP/1.1', 'Host: x', 'Connection: keep-alive'), {}],
    [head('GET / HTTP/1.1', 'connection:  Keep-Alive \t', 'Host: x'), {}],
    [head('GET / HTTP/1.1', 'CONNECTION:KEEP-ALIVE', 'Host: x'), {}],
    // Every visible byte in a target, kept exactly.
    [head(`GET /${visibleBytes()} HTTP/1.1`, 'Host: x'), { target: `/${visibleBytes()}` }],
    [
      head('GET //evil.example/%2e%2e/?q=1#frag HTTP/1.1', 'Host: x'),
      { target: '//evil.example/%2e%2e/?q=1#frag' },
    ],
    // Names of the lengths the parser looks closer at, that are none of its names.
    [
      head(
        'GET / HTTP/1.1',
        'Host: x',
        'X1: 2',
        'Date: 4',
        'Accept: 6',
        'Referer: 7',
        'X-Trace-Id: 10',
        'Accept-Charset: 14',
        'Content-Language: 16',
        'If-Modified-Since: 17',
        `${TCHARS}: every tchar`,
        'Fly-Client-IPs: not the address',
      ),
      { conditional: true },
    ],
  ]
  for (const [text, expected] of cases) {
    t.strictSame(parse(text), accepted(text, expected), JSON.stringify(text))
  }
})

function visibleBytes(): string {
  return Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('')
}

t.test('the address header is the one the options name, if any', async (t) => {
  const text = head(
    'GET / HTTP/1.1',
    'Host: x',
    'Fly-Client-IP: 1',
    'X_Real_IP: 2',
    'X_Real_IP2: 3',
  )
  const reads = (addressHeader?: string): HeadResult =>
    parse(text, 0, { maxHeadBytes: 1000, addressHeader })
  t.strictSame(reads(), accepted(text, {}), 'no address header asked for')
  t.strictSame(reads(undefined), accepted(text, {}))
  t.strictSame(reads('x_real_ip'), accepted(text, { address: '2' }), "'_' compared as itself")
  t.strictSame(reads('x-real-ip'), accepted(text, {}), 'a name not sent')
  // Named like a header the parser reads itself: both readings hold.
  const ua = head('GET / HTTP/1.1', 'Host: x', 'User-Agent: u')
  t.strictSame(
    parse(ua, 0, { maxHeadBytes: 1000, addressHeader: 'user-agent' }),
    accepted(ua, { userAgent: 'u', address: 'u' }),
  )
  // Repeated, but not asked for: nothing to choose between.
  const twice = head('GET / HTTP/1.1', 'Host: x', 'Fly-Client-IP: 1', 'fly-client-ip: 2')
  t.strictSame(parse(twice, 0, { maxHeadBytes: 1000 }), accepted(twice, {}))
})

t.test('refuses every other request line', async (t) => {
  const lines = [
    'POST / HTTP/1.1',
    'OPTIONS * HTTP/1.1',
    'PRI * HTTP/2.0',
    'get / HTTP/1.1',
    'Get / HTTP/1.1',
    'GETS / HTTP/1.1',
    'HEADS / HTTP/1.1',
    'GET / HTTP/1.0',
    'GET / HTTP/2.0',
    'GET / http/1.1',
    'GET / HTTP/1.11',
    'GET / HTTP/1.1 ',
    'GET http://x.example/ HTTP/1.1',
    'GET * HTTP/1.1',
    'GET x HTTP/1.1',
    'GET  / HTTP/1.1',
    'GET /  HTTP/1.1',
    'GET\t/ HTTP/1.1',
    'GET /\tHTTP/1.1',
    'GET /a\tb HTTP/1.1',
    'GET HTTP/1.1',
    'GET /',
    'GET / ',
    ' GET / HTTP/1.1',
    '\r\nGET / HTTP/1.1',
    'GET /\x80 HTTP/1.1',
    'GET /\xff HTTP/1.1',
    'GET /a\x7f HTTP/1.1',
    'GET /a\x00 HTTP/1.1',
    'GET /a\rb HTTP/1.1',
    'GET /a\nb HTTP/1.1',
    'GET / HTTP/1.1\n',
    'GET / HTTP/1.1\r',
  ]
  for (const line of lines) {
    t.equal(parse(head(line, 'Host: x')), 'unsupported', JSON.stringify(line))
  }
})

t.test('refuses malformed header lines', async (t) => {
  const fields = [
    'Host : x',
    'Host\t: x',
    'X-A : 1',
    ' X-A: 1',
    '\tX-A: 1',
    'X-A: 1\r\n folded',
    'X-A: 1\r\n\tfolded',
    'X-A 1',
    ': 1',
    'X-A',
    'Ho"st: x',
    'X(y): 1',
    'X@: 1',
    'X/Y: 1',
    '\xc4: 1',
    'X\x80: 1',
    'X-A: a\x00b',
    'X-A: a\x0bb',
    'X-A: a\x7fb',
    'X-A: a\x80b',
    'X-A: \xff',
    'X-A: a\rb',
    'X-A: a\r',
    'X-A: a\nb',
    'X-A: 1\nX-B: 2',
    'X-A: 1\n',
  ]
  for (const field of fields) {
    t.equal(parse(head('GET / HTTP/1.1', 'Host: x', field)), 'unsupported', JSON.stringify(field))
  }
  t.equal(parse('GET / HTTP/1.1\r\nHost: x\n\r\n\r\n'), 'unsupported', 'bare LF ends a line')
  t.equal(parse('GET / HTTP/1.1\nHost: x\r\n\r\n'), 'unsupported', 'bare LF ends the request line')
})

t.test('refuses bodies, protocol switches and connection options (Node’s business)', async (t) => {
  const fields = [
    'Content-Length: 0',
    'CONTENT-LENGTH: 0',
    'Transfer-Encoding: chunked',
    'transfer-encoding: identity',
    'Expect: 100-continue',
    'Upgrade: websocket',
    'TE: trailers',
    'te: trailers',
    'Trailer: X-A',
    // llhttp reads it as Connection: with `close` Node drops what follows.
    'Proxy-Connection: keep-alive',
    'Connection: close',
    'Connection: Upgrade',
    'Connection: keep-alive, close',
    'Connection: keep-alive x',
    'Connection: keep',
    'Connection:',
  ]
  for (const field of fields) {
    t.equal(parse(head('GET / HTTP/1.1', 'Host: x', field)), 'unsupported', field)
  }
})

t.test('Host exactly once; User-Agent, the address and Connection at most once', async (t) => {
  const cases: string[][] = [
    [],
    ['User-Agent: u'],
    ['Host: a', 'host: a'],
    ['Host: a', 'Host: b'],
    ['Host: a', 'User-Agent: u', 'user-agent: u'],
    ['Host: a', 'Fly-Client-IP: 1', 'Fly-Client-IP: 1'],
    ['Host: a', 'Connection: keep-alive', 'Connection: keep-alive'],
  ]
  for (const fields of cases) {
    t.equal(parse(head('GET / HTTP/1.1', ...fields)), 'unsupported', fields.join(' | '))
  }
})

t.test('up to 100 header lines', async (t) => {
  const fields = Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}`)
  const hundred = head('GET / HTTP/1.1', 'Host: x', ...fields)
  t.strictSame(parse(hundred), accepted(hundred, {}))
  t.equal(parse(head('GET / HTTP/1.1', 'Host: x', ...fields, 'X-A: 1')), 'unsupported')
})

t.test('the size limit: the whole head, blank line included', async (t) => {
  const max = MAX_HEADER_BYTES
  const padded = (size: number): string => {
    const bare = head('GET / HTTP/1.1', 'Host: x', 'X-Pad: ')
    return head('GET / HTTP/1.1', 'Host: x', `X-Pad: ${'p'.repeat(size - bare.length)}`)
  }
  t.equal(padded(max).length, max)
  t.strictSame(parse(padded(max)), accepted(padded(max), {}), 'exactly the limit')
  t.equal(parse(padded(max + 1)), 'unsupported', 'one byte more')
  t.strictSame(parse(`abc${padded(max)}`, 3), accepted(padded(max), {}, 3), 'counted from start')

  const open = 'GET / HTTP/1.1\r\nHost: x\r\nX-Pad: '
  const unterminated = (size: number): string => open + 'p'.repeat(size - open.length)
  t.equal(parse(unterminated(max - 1)), 'incomplete', 'no blank line, under the limit: wait')
  t.equal(parse(unterminated(max)), 'unsupported', 'no blank line within the limit')
  t.equal(parse(`${unterminated(max)}\r\n\r\n`), 'unsupported', 'the blank line too late')
  t.equal(parse(`ab${unterminated(max - 1)}`, 2), 'incomplete', 'counted from start')

  const small = head('GET / HTTP/1.1', 'Host: x')
  t.strictSame(parse(small, 0, { maxHeadBytes: small.length }), accepted(small, {}))
  t.equal(parse(small, 0, { maxHeadBytes: small.length - 1 }), 'unsupported')
  t.equal(parse(small.slice(0, -1), 0, { maxHeadBytes: small.length }), 'incomplete')
  t.equal(parse(small.slice(0, -1), 0, { maxHeadBytes: small.length - 1 }), 'unsupported')
})

t.test('worst cases for the grammar check: full-size heads failing at their end', async (t) => {
  // Each repetition fails only at its last byte, so a backtracking regex would
  // show here; these must come back, and come back right (time is bench/'s).
  const room = MAX_HEADER_BYTES - 100
  const cases: [string, HeadResult][] = [
    [head(`GET /${'t'.repeat(room)}\x00 HTTP/1.1`, 'Host: x'), 'unsupported'],
    [head('GET / HTTP/1.1', 'Host: x', `X-A: ${' \t'.repeat(room / 2)}\x00`), 'unsupported'],
    [head('GET / HTTP/1.1', 'Host: x', `X-A: ${'a '.repeat(room / 2)}\x7f`), 'unsupported'],
    [head('GET / HTTP/1.1', 'Host: x', `${'n'.repeat(room)} : 1`), 'unsupported'],
    [
      head('GET / HTTP/1.1', 'Host: x', ...Array<string>(room / 4).fill('a:'), 'b c'),
      'unsupported',
    ],
    [head('GET / HTTP/1.1', 'Host: x', ...Array<string>(room / 4).fill('a:')), 'unsupported'],
  ]
  for (const [text, expected] of cases) t.equal(parse(text), expected)
  const big = head('GET / HTTP/1.1', 'Host: x', `X-A: ${'a \t'.repeat(room / 3)}`)
  t.strictSame(parse(big), accepted(big, {}), 'and a full-size one accepted')
})

t.test('pipelined heads: each parsed from the previous one’s end', async (t) => {
  const first = head('GET /one HTTP/1.1', 'Host: x', 'User-Agent: a')
  const second = head('HEAD /two HTTP/1.1', 'Host: x', 'Fly-Client-IP: 2')
  const third = head('GET /three HTTP/1.1', 'Host: x')
  const text = first + second + third
  const one = parse(text) as RequestHead
  t.strictSame(one, accepted(first, { target: '/one', userAgent: 'a' }))
  const two = parse(text, one.end) as RequestHead
  t.strictSame(
    two,
    accepted(second, { method: 'HEAD', target: '/two', address: '2' }, first.length),
  )
  const three = parse(text, two.end) as RequestHead
  t.strictSame(three, accepted(third, { target: '/three' }, first.length + second.length))
  t.equal(three.end, text.length)
  t.equal(parse(text, three.end), 'incomplete', 'nothing more yet')
  t.equal(parse(`${text}GET /fo`, three.end), 'incomplete', 'the fourth still arriving')
  t.equal(parse(`${first}POST / HTTP/1.1\r\n`, one.end), 'incomplete', 'judged once complete')
  t.equal(parse(`${first}POST / HTTP/1.1\r\nHost: x\r\n\r\n`, one.end), 'unsupported')
  t.equal(parse(`${first}\r\n${second}`, one.end), 'unsupported', 'no empty line between')
})

t.test('every split point before the blank line’s last byte is incomplete', async (t) => {
  const text = head('HEAD /a?b HTTP/1.1', 'Host: x', 'User-Agent:  u ', 'Fly-Client-IP: 1')
  for (let i = 0; i < text.length; i++) {
    if (parse(text.slice(0, i)) !== 'incomplete') t.fail(`prefix of ${i} bytes`)
  }
  t.equal(parse(text.slice(0, -1)), 'incomplete', 'CR LF CR')
  t.equal(parse(text.slice(0, -2)), 'incomplete', 'CR LF')
  t.equal(parse(text.slice(0, -3)), 'incomplete', 'CR')
  t.strictSame(
    parse(text),
    accepted(text, { method: 'HEAD', target: '/a?b', userAgent: 'u', address: '1' }),
  )
})

t.test('a bad start offset is not guessed at', async (t) => {
  const text = head('GET / HTTP/1.1', 'Host: x')
  for (const start of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, text.length + 1]) {
    t.equal(parse(text, start), 'unsupported', String(start))
  }
  t.equal(parse(text, text.length), 'incomplete', 'at the end: nothing yet')
})

// ---- properties ---------------------------------------------------------------

t.test('generated heads: read as generated; every strict prefix is incomplete', async (t) => {
  fc.assert(
    fc.property(validHead, fc.string({ maxLength: 5 }), ({ text, expected }, before) => {
      deepStrictEqual(parse(before + text, before.length), {
        ...expected,
        end: before.length + text.length,
      })
      for (let i = 0; i < text.length; i++) {
        equal(parse(before + text.slice(0, i), before.length), 'incomplete')
      }
    }),
    { seed: SEED, numRuns: 300 },
  )
  t.pass('300 heads')
})

const bytesOrPieces = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: byte(0, 255) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '\r\n',
          '\r\n\r\n',
          '\r',
          '\n',
          ' ',
          '\t',
          ':',
          'GET /',
          'HEAD /',
          ' HTTP/1.1\r\n',
          'Host: x\r\n',
          'User-Agent: u\r\n',
          'Fly-Client-IP: 1\r\n',
          'Connection: keep-alive\r\n',
          'TE: x\r\n',
        ),
      },
    ),
    { maxLength: 40 },
  )
  .map((pieces) => pieces.join(''))

t.test('arbitrary latin1 text and offsets: never throws, always the rules', async (t) => {
  fc.assert(
    fc.property(
      bytesOrPieces,
      fc.oneof(fc.integer({ min: -2, max: 200 }), fc.double()),
      fc.integer({ min: 0, max: 200 }),
      fc.option(fc.constantFrom(ADDRESS, 'user-agent', 'host', 'x_real'), { nil: undefined }),
      (text, start, maxHeadBytes, addressHeader) => {
        const options = { maxHeadBytes, addressHeader }
        deepStrictEqual(parseRequestHead(text, start, options), reference(text, start, options))
      },
    ),
    { seed: SEED, numRuns: 3000 },
  )
  t.pass('3000 texts')
})

t.test('mutated heads: never throw, accepted or refused as the rules say', async (t) => {
  let stillAccepted = 0
  fc.assert(
    fc.property(validHead, mutation, ({ text }, m) => {
      const mutated = mutate(text, m)
      const result = parse(mutated)
      deepStrictEqual(result, reference(mutated, 0, OPTIONS))
      if (typeof result === 'object') stillAccepted++
      // Below the request line case never matters: names are case-insensitive,
      // and so is the one value compared (keep-alive).
      if (m.kind === 'flip' && m.at % (text.length + 1) > text.indexOf('\r\n')) {
        equal(typeof result, 'object')
      }
    }),
    { seed: SEED, numRuns: 3000 },
  )
  t.ok(stillAccepted > 0, `${stillAccepted} of 3000 mutations still accepted`)
})

// ---- differential: Node's own parser ---------------------------------------------

interface Seen {
  readonly method: string | undefined
  readonly url: string | undefined
  readonly userAgent: string | undefined
  readonly address: string | undefined
}

interface NodeReading {
  readonly seen: Seen[]
  readonly errors: string[]
}

/** Sends the bytes to a real node:http server with the app's limits; what it read. */
async function nodeReader(t: Test): Promise<(bytes: string) => Promise<NodeReading>> {
  const readings = new Map<number, NodeReading>()
  const server = createServer(httpLimits(), (req, res) => {
    readings.get(req.socket.remotePort as number)?.seen.push({
      method: req.method,
      url: req.url,
      userAgent: req.headers['user-agent'],
      address: req.headers[ADDRESS] as string | undefined,
    })
    res.end()
  })
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    readings.get((socket as Socket).remotePort as number)?.errors.push(error.code ?? error.message)
    socket.destroy()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as AddressInfo
  return async (bytes) => {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    const reading: NodeReading = { seen: [], errors: [] }
    readings.set(socket.localPort as number, reading)
    socket.resume()
    socket.on('error', () => undefined)
    // Node answers what it parsed and closes once we have said everything.
    socket.setTimeout(5000, () => socket.destroy())
    const closed = once(socket, 'close')
    socket.end(bytes, 'latin1')
    await closed
    readings.delete(socket.localPort as number)
    return reading
  }
}

/** What the parser reads from bytes holding only whole, accepted heads. */
function ourReading(bytes: string): NodeReading {
  const seen: Seen[] = []
  for (let at = 0; at < bytes.length;) {
    const result = parse(bytes, at)
    if (typeof result === 'string') return { seen, errors: [result] }
    seen.push({
      method: result.method,
      url: result.target,
      userAgent: result.userAgent,
      address: result.address,
    })
    at = result.end
  }
  return { seen, errors: [] }
}

async function inBatches<T, R>(items: T[], size: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(f))))
  }
  return out
}

t.test('Node’s parser reads every accepted head exactly as the parser does', async (t) => {
  const read = await nodeReader(t)
  const heads = fc.sample(validHead, { seed: SEED, numRuns: 300 }).map((h) => h.text)
  const pairs = fc
    .sample(fc.tuple(validHead, validHead), { seed: SEED + 1, numRuns: 100 })
    .map(([a, b]) => a.text + b.text)
  const mutated = fc
    .sample(fc.tuple(validHead, mutation), { seed: SEED + 2, numRuns: 600 })
    .map(([h, m]) => mutate(h.text, m))
    // Whole heads only: a byte added after the blank line starts a next request.
    .filter((text) => (parse(text) as RequestHead).end === text.length)
    .slice(0, 150)
  const big = (fill: string): string => {
    const bare = head('GET / HTTP/1.1', 'Host: x', 'X-Pad: ')
    return head(
      'GET / HTTP/1.1',
      'Host: x',
      `X-Pad: ${fill.repeat(MAX_HEADER_BYTES - bare.length)}`,
    )
  }
  const longTarget = head(`GET /${'t'.repeat(MAX_HEADER_BYTES - 40)} HTTP/1.1`, 'Host: x')
  const edges = [
    big('p'),
    big('p') + big('q'),
    big(' '),
    longTarget + longTarget,
    head('GET / HTTP/1.1', 'Host: x', ...Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}`)),
    head(`GET /${visibleBytes()} HTTP/1.1`, 'Host:', 'User-Agent:', `${ADDRESS}: \t`),
    head('HEAD /a#b#c?d HTTP/1.1', 'Host: x', 'Connection: Keep-Alive', 'user-agent: \t a \t b \t'),
  ]
  const cases = [...edges, ...heads, ...pairs, ...mutated]
  t.ok(mutated.length >= 50, `${mutated.length} accepted mutations among them`)
  const mismatches = (
    await inBatches(cases, 8, async (bytes) => {
      const ours = ourReading(bytes)
      const node = await read(bytes)
      return { bytes, ours, node }
    })
  ).filter(({ ours, node }) => {
    try {
      deepStrictEqual(node, ours)
      return false
    } catch {
      return true
    }
  })
  t.strictSame(
    mismatches,
    [],
    `${cases.length} byte strings, ${edges.length + heads.length + 2 * pairs.length + mutated.length} heads`,
  )
})

t.test('a sample the parser refuses still reaches Node (nothing asserted of it)', async (t) => {
  const read = await nodeReader(t)
  const refused = fc
    .sample(fc.tuple(validHead, mutation), { seed: SEED + 3, numRuns: 400 })
    .map(([h, m]) => mutate(h.text, m))
    .filter((text) => parse(text) === 'unsupported')
    .slice(0, 40)
  const readings = await inBatches(refused, 8, read)
  const served = readings.filter((r) => r.seen.length > 0 && r.errors.length === 0).length
  t.equal(readings.length, refused.length)
  t.comment(`${served} of ${refused.length} refused heads were served by Node all the same`)
})
