import t from 'tap'
import { clientLine, clientStatus, oneLine, refusal } from '../../src/decision/refused.js'
import { RedirectorError } from '../../src/core/errors.js'

t.test('each path error, its status and one line', async (t) => {
  t.same(refusal(new RedirectorError('SR_PATH_TOO_LONG', 'too long')), {
    status: 414,
    line: 'URI Too Long: too long',
  })
  for (const code of ['SR_PATH_ENCODING', 'SR_PATH_CONTROL_CHAR', 'SR_PATH_INVALID'] as const) {
    t.equal(clientStatus(code), 400, code)
  }
  t.equal(clientStatus('SR_CONFIG_INVALID'), undefined, 'not the client’s')
  t.equal(clientLine(404, 'a\r\nb\u2028c'), 'Not Found: a%0D%0Ab%E2%80%A8c')
  t.equal(oneLine('tab\there\x7f\u0085'), 'tab%09here%7F%C2%85')
})
