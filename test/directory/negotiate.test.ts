import t from 'tap'
import { chooseFormat, quality } from '../../src/directory/negotiate.js'

t.test('negotiation: ?format= decides, else Accept', async (t) => {
  const cases: [unknown, string | undefined, string | null][] = [
    [undefined, undefined, 'html'],
    ['json', 'text/html', 'json'],
    ['html', 'application/json', 'html'],
    ['xml', undefined, null],
    [['json', 'html'], undefined, null],
    [undefined, 'application/json', 'json'],
    [undefined, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'html'],
    [undefined, '*/*', 'html'],
    [undefined, 'application/json, text/html;q=0.5', 'json'],
    [undefined, 'text/html;q=0.5, application/json;q=0.9', 'json'],
    [undefined, 'application/*', 'json'],
    [undefined, 'application/json;q=0', 'html'],
    [undefined, 'application/json;q=abc', 'html'],
    [undefined, 'text/plain', 'html'],
  ]
  for (const [format, accept, expected] of cases) {
    t.equal(chooseFormat(format, accept), expected, `${JSON.stringify(format)} / ${accept}`)
  }
  t.equal(
    quality('text/*;q=0.3, text/html;q=0.7, */*;q=0.1', 'text/html'),
    0.7,
    'the most specific range wins',
  )
  t.equal(quality('text/html;level=1;q=0.4', 'text/html'), 0.4)
  t.equal(quality('TEXT/HTML', 'text/html'), 1, 'case-insensitive')
  t.equal(quality('image/png', 'text/html'), 0)
  t.equal(quality('text/html;q=2', 'text/html'), 0, 'an out-of-range q counts as none')
})
