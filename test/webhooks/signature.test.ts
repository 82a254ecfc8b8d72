import { createHmac } from 'node:crypto'
import t from 'tap'
import { sign, signatureIsValid } from '../../src/webhooks/signature.js'

t.test("signatures: GitHub's documented example", async (t) => {
  // https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const secret = "It's a Secret to Everybody"
  const body = Buffer.from('Hello, World!')
  const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
  t.equal(sign(secret, body), header)
  t.ok(signatureIsValid(secret, body, header))
  t.ok(
    signatureIsValid(secret, body, header.toUpperCase().replace('SHA256=', 'sha256=')),
    'hex in either case',
  )
})

t.test('signatures: anything else is refused', async (t) => {
  const secret = 's3cret'
  const body = Buffer.from('{"action":"published"}')
  const good = sign(secret, body)
  const cases: [string, unknown][] = [
    ['missing', undefined],
    ['empty', ''],
    ['an array of headers', [good, good]],
    ['sha1 (X-Hub-Signature)', `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`],
    ['no prefix', good.slice('sha256='.length)],
    ['truncated', good.slice(0, -2)],
    ['one digit off', `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['another secret', sign('other', body)],
    ['another body', sign(secret, Buffer.from('{"action":"deleted"}'))],
    ['trailing junk', `${good}00`],
  ]
  for (const [what, header] of cases) t.notOk(signatureIsValid(secret, body, header), what)
})
