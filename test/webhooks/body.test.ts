import { PassThrough } from 'node:stream'
import t from 'tap'
import { readSigned } from '../../src/webhooks/body.js'
import { sign, verifierFor, type Verifier } from '../../src/webhooks/signature.js'

const SECRET = 's3cret'
const LIMITS = { maxBytes: 10, timeoutMs: 200 }

function verifier(body: string): Verifier {
  return verifierFor(SECRET, sign(SECRET, body)) as Verifier
}

t.test('signed: the bytes, checked as they came', async (t) => {
  const stream = new PassThrough()
  const reading = readSigned(stream, verifier('0123456789'), LIMITS)
  stream.write('01234')
  stream.end('56789')
  const body = await reading
  t.same(body.kind === 'signed' ? body.bytes.toString() : body, '0123456789')
})

t.test('a wrong signature: unsigned, the bytes dropped', async (t) => {
  const stream = new PassThrough()
  const reading = readSigned(stream, verifier('something else'), LIMITS)
  stream.end('0123456789')
  t.same(await reading, { kind: 'unsigned' })
})

t.test('over the limit: given up at the chunk that passes it', async (t) => {
  const stream = new PassThrough()
  const reading = readSigned(stream, verifier('x'), LIMITS)
  stream.write('0123456789')
  stream.write('!')
  t.same(await reading, { kind: 'too-large' })
  t.ok(stream.isPaused(), 'and nothing more is read')
})

t.test('too slow, or gone mid-body', async (t) => {
  const slow = new PassThrough()
  const reading = readSigned(slow, verifier('x'), LIMITS)
  slow.write('0')
  t.same(await reading, { kind: 'too-slow' })
  const gone = new PassThrough()
  const cut = readSigned(gone, verifier('x'), LIMITS)
  gone.destroy(new Error('ECONNRESET'))
  t.same(await cut, { kind: 'too-slow' })
})

t.test('a header that cannot be a signature has no verifier', async (t) => {
  for (const header of [undefined, 42, 'sha1=abc', `sha256=${'z'.repeat(64)}`, 'sha256=abc']) {
    t.equal(verifierFor(SECRET, header), null, String(header))
  }
})
