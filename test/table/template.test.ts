import t from 'tap'
import {
  checkOutputTemplate,
  checkPathTemplate,
  isFileName,
  parseTemplate,
  renderOutput,
} from '../../src/table/template.js'

t.test('parses literals, captures, choices and wildcards', async (t) => {
  t.same(parseTemplate('/{prefix*}/extensions/{ext}-{arch:x86-64|arm64}.raw'), [
    { kind: 'literal', text: '/' },
    { kind: 'wildcard', name: 'prefix' },
    { kind: 'literal', text: '/extensions/' },
    { kind: 'capture', name: 'ext' },
    { kind: 'literal', text: '-' },
    { kind: 'choice', name: 'arch', options: ['x86-64', 'arm64'] },
    { kind: 'literal', text: '.raw' },
  ])
  t.same(parseTemplate('SHA256SUMS'), [{ kind: 'literal', text: 'SHA256SUMS' }])
  t.same(parseTemplate(''), [])
})

t.test('reports malformed placeholders', async (t) => {
  const cases: [string, RegExp][] = [
    ['/a}', /unmatched "}" at offset 2/],
    ['/{ext', /unclosed "{" at offset 1/],
    ['/{}', /"{}" is not a valid placeholder name/],
    ['/{1x}', /"{1x}" is not a valid placeholder name/],
    ['/{a-b}', /not a valid placeholder name/],
    ['/{arch:x86-64|}', /empty or invalid alternative ""/],
    ['/{arch:a b}', /invalid alternative "a b"/],
    ['/{arch:a/b}', /invalid alternative "a\/b"/],
    ['/{*}', /"{}" is not a valid placeholder name/],
  ]
  for (const [template, message] of cases)
    t.throws(() => parseTemplate(template), { message }, template)
})

t.test('checks the shape of path templates', async (t) => {
  const names = (template: string): string[] => checkPathTemplate(parseTemplate(template))
  t.same(names('/{a*}/x/{b}-{c:1|2}/{d*}'), ['a', 'b', 'c', 'd'])
  t.same(names('/static'), [])
  const cases: [string, RegExp][] = [
    ['x/{a}', /must start with "\/"/],
    ['{a}/x', /must start with "\/"/],
    ['', /must start with "\/"/],
    ['/{a}/{a}', /{a} is captured twice/],
    ['/{a}{b}', /{a} and {b} need literal text between them/],
    ['/x{a*}/y', /{a\*} must stand alone as a whole path segment/],
    ['/{a*}x/y', /{a\*} must stand alone/],
    ['/{b}{a*}', /{a\*} must stand alone/],
  ]
  for (const [template, message] of cases) {
    t.throws(() => checkPathTemplate(parseTemplate(template)), { message }, template)
  }
})

t.test('checks output templates against the path', async (t) => {
  const path = parseTemplate('/{sub*}/{ext}-{arch:x86-64|arm64}.raw')
  const check = (template: string): void => checkOutputTemplate(parseTemplate(template), path)
  t.doesNotThrow(() => check('{ext}-{arch}.raw'), 'captures and choices may be used')
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['{version}', /uses {version}, which the path does not capture/],
    ['{sub}', /uses {sub\*}, a sub-path, which may contain "\/"/],
    ['{ext:a|b}', /{ext} must be a plain {name}/],
    ['{x*}', /{x} must be a plain {name}/],
    ['a/{ext}', /literal "a\/" has characters a file name cannot have/],
    ['a {ext}', /literal "a " has characters/],
  ]
  for (const [template, message] of cases) t.throws(() => check(template), { message }, template)
})

t.test('file names are URL-safe characters only', async (t) => {
  t.ok(isFileName("k3s-v1.32.2+k3s1_x~!$&'()*,;=:@"))
  for (const bad of ['', 'a b', 'a/b', 'a%b', 'a?b', 'a#b', 'é', 'a\tb', 'a"b'])
    t.notOk(isFileName(bad), JSON.stringify(bad))
})

t.test('renders output templates', async (t) => {
  t.equal(
    renderOutput(parseTemplate('{ext}-{version}'), { ext: 'kubernetes', version: 'v1.32.2' }),
    'kubernetes-v1.32.2',
  )
})
