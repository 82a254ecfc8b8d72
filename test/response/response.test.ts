import t from 'tap'
import { headerOf, NO_LABELS, textResponse } from '../../src/response/response.js'

t.test(
  'a text response: nosniff first, then what it was given, then its type and caching',
  async (t) => {
    const plain = textResponse(404, 'Not Found: x')
    t.same(plain.headers, [
      ['x-content-type-options', 'nosniff'],
      ['content-type', 'text/plain; charset=utf-8'],
      ['cache-control', 'no-store'],
    ])
    t.equal(plain.body, 'Not Found: x\n', 'one line, with its newline')
    t.equal(plain.labels, NO_LABELS, 'labelled as nobody’s answer')
    t.equal(plain.warning, undefined)
    const labels = { ...NO_LABELS, rule: 'webhook' }
    const later = textResponse(503, 'wait', 'no-store', labels, [['retry-after', '5']])
    t.same(
      later.headers.map(([name]) => name),
      ['x-content-type-options', 'retry-after', 'content-type', 'cache-control'],
    )
    t.equal(later.labels.rule, 'webhook')
    t.equal(headerOf(later, 'retry-after'), '5')
    t.equal(headerOf(later, 'location'), undefined)
    t.equal(
      headerOf(textResponse(404, 'gone', 'public, max-age=30'), 'cache-control'),
      'public, max-age=30',
    )
  },
)
