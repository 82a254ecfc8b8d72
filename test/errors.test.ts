import t from 'tap'
import { RedirectorError, isRedirectorError } from '../src/errors.js'

t.test('errors carry a stable code; handlers branch on it', async (t) => {
  const cause = new Error('underneath')
  const err = new RedirectorError('SR_PATH_INVALID', 'request path must start with /', { cause })
  t.equal(err.code, 'SR_PATH_INVALID')
  t.equal(err.name, 'RedirectorError')
  t.equal(err.cause, cause)
  t.ok(isRedirectorError(err))
  t.notOk(isRedirectorError(new Error('SR_PATH_INVALID')), 'a message is not a code')
})
