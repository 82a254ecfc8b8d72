import t from 'tap'
import {
  cleanPath,
  encodePath,
  encodeQuery,
  MAX_TARGET_LENGTH,
  normaliseTarget,
} from '../../src/path/normalise.js'

t.test('percent-decodes the path', async (t) => {
  t.equal(
    normaliseTarget('/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw').path,
    '/extensions/k3s-v1.32.2+k3s1-x86-64.raw',
  )
  t.equal(
    normaliseTarget('/extensions/k3s-v1.32.2%2bk3s1.raw').path,
    '/extensions/k3s-v1.32.2+k3s1.raw',
    'lower-case hex',
  )
  t.equal(normaliseTarget('/a+b').path, '/a+b', 'a literal + stays a +')
  t.equal(normaliseTarget('/caf%C3%A9').path, '/café', 'UTF-8 escapes')
  t.equal(normaliseTarget('/a%20b').path, '/a b')
  t.equal(normaliseTarget('/a%2Fb').path, '/a/b', 'an encoded slash is a slash, as in Caddy')
  t.equal(normaliseTarget('/a%2F%2Fb').path, '/a/b', 'and is cleaned like one')
  t.equal(normaliseTarget('/x/%2e%2e/y').path, '/y', 'encoded dots are resolved too')
})

t.test('reads raw bytes off the wire as UTF-8', async (t) => {
  // Node hands over the request line as latin1: "é" arrives as two chars.
  const wire = Buffer.from('/café', 'utf8').toString('latin1')
  t.equal(normaliseTarget(wire).path, '/café')
  t.equal(normaliseTarget('/日本').path, '/日本', 'chars above 0xFF (inject) are taken as they are')
})

t.test('cleans //, . and .. without climbing above the root', async (t) => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['//', '/'],
    ['/extensions//SHA256SUMS', '/extensions/SHA256SUMS'],
    ['/extensions/./kubernetes/../SHA256SUMS', '/extensions/SHA256SUMS'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/b/..', '/a'],
    ['/a/..', '/'],
    ['/a/../', '/'],
    ['/.', '/'],
    ['/extensions/', '/extensions/'],
    ['/extensions//', '/extensions/'],
    ['/extensions/kubernetes/', '/extensions/kubernetes/'],
    ['/a/./', '/a/'],
  ]
  for (const [input, expected] of cases) t.equal(cleanPath(input), expected, input)
})

t.test('splits off the query and drops a fragment', async (t) => {
  t.same(normaliseTarget('/extensions/SHA256SUMS?x=1&y=2'), {
    path: '/extensions/SHA256SUMS',
    query: 'x=1&y=2',
  })
  t.same(normaliseTarget('/a?'), { path: '/a', query: '' })
  t.same(normaliseTarget('/a?b?c'), { path: '/a', query: 'b?c' })
  t.same(normaliseTarget('/a#frag'), { path: '/a', query: '' })
  t.same(normaliseTarget('/a?q#frag'), { path: '/a', query: 'q' })
  t.same(
    normaliseTarget('/a?%zz'),
    { path: '/a', query: '%zz'.replace('%', '%25') },
    'a bad escape in the query is not an error',
  )
})

t.test('accepts absolute-form targets (proxies send them)', async (t) => {
  t.same(normaliseTarget('http://extensions.flatcar.org/extensions/SHA256SUMS?x'), {
    path: '/extensions/SHA256SUMS',
    query: 'x',
  })
  t.same(normaliseTarget('https://h:8080'), { path: '/', query: '' })
  t.same(normaliseTarget('http://h?q=1'), { path: '/', query: 'q=1' })
})

t.test('rejects what cannot be a path, with stable codes', async (t) => {
  const cases: [string, string][] = [
    ['/%zz', 'SR_PATH_ENCODING'],
    ['/%', 'SR_PATH_ENCODING'],
    ['/a%2', 'SR_PATH_ENCODING'],
    ['/%C3%28', 'SR_PATH_ENCODING'],
    ['/%FF', 'SR_PATH_ENCODING'],
    ['/%ED%A0%80', 'SR_PATH_ENCODING'],
    ['/%00', 'SR_PATH_CONTROL_CHAR'],
    ['/a%0Ab', 'SR_PATH_CONTROL_CHAR'],
    ['/a%0D%0ALocation:%20x', 'SR_PATH_CONTROL_CHAR'],
    ['/%7F', 'SR_PATH_CONTROL_CHAR'],
    ['/%C2%85', 'SR_PATH_CONTROL_CHAR'],
    ['/a\tb', 'SR_PATH_CONTROL_CHAR'],
    ['/a\u0000b', 'SR_PATH_CONTROL_CHAR'],
    ['*', 'SR_PATH_INVALID'],
    ['extensions/SHA256SUMS', 'SR_PATH_INVALID'],
    ['', 'SR_PATH_INVALID'],
    [`/${'a'.repeat(MAX_TARGET_LENGTH)}`, 'SR_PATH_TOO_LONG'],
  ]
  for (const [input, code] of cases) {
    t.throws(() => normaliseTarget(input), { code }, JSON.stringify(input.slice(0, 40)))
  }
  t.doesNotThrow(
    () => normaliseTarget(`/${'a'.repeat(MAX_TARGET_LENGTH - 1)}`),
    'the limit itself is fine',
  )
})

t.test('encodes a cleaned path for a Location', async (t) => {
  t.equal(
    encodePath('/extensions/k3s-v1.32.2+k3s1-x86-64.raw'),
    '/extensions/k3s-v1.32.2+k3s1-x86-64.raw',
  )
  t.equal(
    encodePath("/a-._~!$&'()*,;=:@/b"),
    "/a-._~!$&'()*,;=:@/b",
    'RFC 3986 path characters stay',
  )
  t.equal(encodePath('/a b?c#d%e'), '/a%20b%3Fc%23d%25e')
  t.equal(encodePath('/café'), '/caf%C3%A9')
  t.equal(encodePath('/"<>\\^`{|}'), '/%22%3C%3E%5C%5E%60%7B%7C%7D')
})

t.test('makes the query safe to echo, keeping valid escapes', async (t) => {
  t.equal(encodeQuery('a=1&b=%2F&c=x+y'), 'a=1&b=%2F&c=x+y')
  t.equal(encodeQuery('q=a b'), 'q=a%20b')
  t.equal(encodeQuery('q=%'), 'q=%25')
  t.equal(encodeQuery('q=%4'), 'q=%254')
  t.equal(encodeQuery('q=\u00e9'), 'q=%E9', 'a latin1 char is one byte off the wire')
  t.equal(encodeQuery('q=日'), 'q=%E6%97%A5', 'above 0xFF: its UTF-8 bytes')
  t.equal(encodeQuery('a?b/c'), 'a?b/c')
  t.equal(encodeQuery('"<>'), '%22%3C%3E')
})
