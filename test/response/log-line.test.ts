import { Writable } from 'node:stream'
import fc from 'fast-check'
import { pino, type Logger } from 'pino'
import t from 'tap'
import { answerFields, requestLineWriter, type LoggedRequest } from '../../src/response/log-line.js'

/**
 * The request line is made by hand for speed; it must read exactly as pino
 * itself would write the same fields, with the same logger settings.
 */
function capture(options: pino.LoggerOptions = {}): { log: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  // A fixed clock, so both lines carry the same time.
  return { log: pino({ timestamp: () => ',"time":1700000000000', ...options }, stream), lines }
}

/** What pino writes for the same request, as the route logged it before. */
function viaPino(log: Logger, answered: LoggedRequest): void {
  const long = answered.url.length > 1024
  log.info(
    {
      reqId: answered.reqId,
      method: answered.method,
      path: long ? `${answered.url.slice(0, 1024)}…` : answered.url,
      rule: answered.rule,
      // A source is written when the answer has one; pino leaves undefined out.
      source: answered.source ?? undefined,
      upstream: answered.upstream,
      // Where a redirect to a release asset leads; left out for any other answer.
      origin: answered.origin ?? undefined,
      status: answered.status,
      location: answered.location,
      durationMs: Math.round(answered.durationMs * 1000) / 1000,
      client: answered.client,
      userAgent: answered.userAgent,
    },
    'request',
  )
}

const sample: LoggedRequest = {
  reqId: 'req-1',
  method: 'GET',
  url: '/extensions/kubernetes-v1.32.2-x86-64.raw?x=1',
  rule: 'raw',
  source: 'bakery',
  upstream: 'exists',
  origin: 'github',
  status: 302,
  location: 'https://github.com/flatcar/sysext-bakery/releases/download/a/b.raw',
  durationMs: 0.123456,
  client: '127.0.0.1',
  userAgent: 'curl/8.0',
}

t.test('the line is the one pino writes, field for field and byte for byte', async (t) => {
  const cases: LoggedRequest[] = [
    sample,
    { ...sample, location: undefined, client: undefined, userAgent: undefined },
    {
      ...sample,
      rule: null,
      source: null,
      upstream: null,
      origin: null,
      status: 405,
      durationMs: 12,
    },
    // Set by no hook: a request the router refused before any ran.
    { ...sample, rule: undefined, upstream: undefined } as unknown as LoggedRequest,
    { ...sample, url: `/${'a'.repeat(2000)}`, userAgent: 'quote " backslash \\ tab \t é 🙂' },
    { ...sample, url: '/\u0001\u007f\u00ff' },
  ]
  for (const answered of cases) {
    const ours = capture()
    const theirs = capture()
    requestLineWriter(ours.log)(answered)
    viaPino(theirs.log, answered)
    t.same(ours.lines, theirs.lines)
    t.same(JSON.parse(ours.lines[0] as string), JSON.parse(theirs.lines[0] as string))
  }
})

t.test('any strings and numbers: still pino’s line', async (t) => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }))
  fc.assert(
    fc.property(
      fc.record({
        reqId: text,
        method: text,
        url: fc.oneof(text, fc.string({ minLength: 1000, maxLength: 1100 })),
        rule: fc.option(text),
        source: fc.option(text),
        upstream: fc.constantFrom('exists', 'missing', 'unknown', 'unchecked', null),
        origin: fc.option(text),
        status: fc.integer({ min: 100, max: 599 }),
        location: fc.option(text, { nil: undefined }),
        durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
        client: fc.option(text, { nil: undefined }),
        userAgent: fc.option(text, { nil: undefined }),
      }),
      (answered) => {
        const ours = capture()
        const theirs = capture()
        requestLineWriter(ours.log)(answered as LoggedRequest)
        // As the lane writes it: the answer's fields made beforehand.
        const made = { ...answered, answerFields: answerFields(answered as LoggedRequest) }
        requestLineWriter(ours.log)(made as LoggedRequest)
        viaPino(theirs.log, answered as LoggedRequest)
        return ours.lines[0] === theirs.lines[0] && ours.lines[1] === theirs.lines[0]
      },
    ),
    { numRuns: 2000 },
  )
  t.pass('2000 random requests')
})

t.test('a lone surrogate is escaped, where pino would write it raw', async (t) => {
  // Headers and targets arrive decoded as latin1, so no client can send one;
  // pino's line would carry it raw and it would reach the file as U+FFFD.
  const { log, lines } = capture()
  requestLineWriter(log)({ ...sample, userAgent: 'lone \ud800 surrogate' })
  t.equal(JSON.parse(lines[0] as string).userAgent, 'lone \ud800 surrogate')
})

t.test('the logger’s bindings, time and level are honoured', async (t) => {
  const { log, lines } = capture({ base: { pid: 7, hostname: 'h', region: 'ams' } })
  const write = requestLineWriter(log)
  t.equal(requestLineWriter(log), write, 'one writer per logger')
  write(sample)
  t.match(JSON.parse(lines[0] as string), { level: 30, time: 1700000000000, region: 'ams' })
  log.level = 'warn'
  write(sample)
  t.equal(lines.length, 1, 'nothing below the logger’s level')
})
