import { createHmac } from 'node:crypto'
import t from 'tap'
import { readReleaseEvent } from '../../src/webhooks/event.js'
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

t.test('release events: the tags they touch', async (t) => {
  t.same(readReleaseEvent({ action: 'published', release: { tag_name: 'kubernetes-v1.34.0' } }), {
    ok: true,
    action: 'published',
    tags: ['kubernetes-v1.34.0'],
  })
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'new' },
      changes: { tag_name: { from: 'old' } },
    }),
    { ok: true, action: 'edited', tags: ['new', 'old'] },
    'a renamed tag touches both names',
  )
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'same' },
      changes: { body: { from: 'x' } },
    }),
    { ok: true, action: 'edited', tags: ['same'] },
  )
  t.same(
    readReleaseEvent({
      action: 'edited',
      release: { tag_name: 'same' },
      changes: { tag_name: { from: 'same' } },
    }),
    { ok: true, action: 'edited', tags: ['same'] },
  )
  const bad: [unknown, string][] = [
    [undefined, 'payload is not a JSON object'],
    [[1], 'payload is not a JSON object'],
    [{ release: { tag_name: 'x' } }, 'payload has no action'],
    [{ action: 'published' }, 'payload has no release.tag_name'],
    [{ action: 'published', release: { tag_name: '' } }, 'payload has no release.tag_name'],
    [{ action: 'published', release: { tag_name: 7 } }, 'payload has no release.tag_name'],
  ]
  for (const [payload, reason] of bad)
    t.same(readReleaseEvent(payload), { ok: false, reason }, reason)
})
