import { readFileSync } from 'node:fs'
import t from 'tap'
import { RedirectorError, describeError, isRedirectorError } from '../../src/core/errors.js'

t.test('errors carry a stable code; handlers branch on it', async (t) => {
  const cause = new Error('underneath')
  const err = new RedirectorError('SR_PATH_INVALID', 'request path must start with /', { cause })
  t.equal(err.code, 'SR_PATH_INVALID')
  t.equal(err.name, 'RedirectorError')
  t.equal(err.cause, cause)
  t.ok(isRedirectorError(err))
  t.notOk(isRedirectorError(new Error('SR_PATH_INVALID')), 'a message is not a code')
})

t.test('what a person reads: the message and, for our errors, the code', async (t) => {
  t.equal(
    describeError(new RedirectorError('SR_PATH_INVALID', 'bad path')),
    'bad path (SR_PATH_INVALID)',
  )
  t.equal(describeError(new Error('listen EMFILE')), 'listen EMFILE', 'no stack')
  t.equal(describeError('thrown text'), 'thrown text')
})

t.test('the operators’ guide lists every error code, and no other', async (t) => {
  const source = readFileSync(new URL('../../src/core/errors.ts', import.meta.url), 'utf8')
  const union = source.slice(
    source.indexOf('export type ErrorCode'),
    source.indexOf('export class'),
  )
  const codes = [...union.matchAll(/'(SR_[A-Z_]+)'/g)].map((match) => match[1]).sort()
  const readme = readFileSync(new URL('../../docs/operating.md', import.meta.url), 'utf8')
  const section = readme.slice(
    readme.indexOf('### Error codes'),
    readme.indexOf('### What the memory'),
  )
  const listed = [...section.matchAll(/^\| `(SR_[A-Z_]+)`/gm)].map((match) => match[1]).sort()
  t.ok(codes.length >= 10, `${codes.length} codes`)
  t.same(listed, codes)
})
