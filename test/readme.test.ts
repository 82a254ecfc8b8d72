import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { parseConfig } from '../src/config/service.js'

/**
 * The docs, by audience: a README that leads, three guides (using it,
 * operating it, its design) whose contents lists are their sections, links
 * that land, nothing written twice, and the tables and counts they state in
 * step with the code; the project files they point to exist, the changelog
 * with an entry for the version in package.json.
 */
const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
const README = read('README.md')
/** The docs by audience: using it, operating it, its design; and the rest of docs/. */
const GUIDES = ['docs/using.md', 'docs/operating.md', 'docs/design.md']
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
  'bench/README.md',
  ...readdirSync(new URL('../docs/', import.meta.url)).map((name) => `docs/${name}`),
]

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-')
}

/** A file's headings of a level (`##`), outside code blocks. */
function headings(text: string, level: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```$/gm, '')
  return [...prose.matchAll(new RegExp(`^${level} (.+)$`, 'gm'))].map((match) => match[1] as string)
}

t.test('the README leads, in at most 300 lines', async (t) => {
  t.ok(README.split('\n').length <= 300, `${README.split('\n').length} lines`)
  t.same(headings(README, '##'), [
    'Use it from Flatcar',
    'Mirrors',
    'Air-gapped sites',
    'Two commands',
    'Where to read next',
  ])
  for (const guide of GUIDES) t.match(README, `](${guide})`, `it points to ${guide}`)
})

t.test('each guide’s contents list is its sections, in order', async (t) => {
  for (const guide of GUIDES) {
    const text = read(guide)
    const contents = text.slice(0, text.indexOf('\n## '))
    const listed = [...contents.matchAll(/^- \[(.+)\]\(#(.+)\)$/gm)].map(([, title, anchor]) => ({
      title,
      anchor,
    }))
    const sections = headings(text, '##')
    t.same(
      listed,
      sections.map((title) => ({ title, anchor: slug(title) })),
      guide,
    )
  }
})

t.test('every link between the docs lands on a file, and on a heading there', async (t) => {
  const anchors = new Map(
    DOCS.map((file) => [
      file,
      new Set(['#', '##', '###', '####'].flatMap((level) => headings(read(file), level)).map(slug)),
    ]),
  )
  const broken: string[] = []
  let count = 0
  for (const file of DOCS) {
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?|mailto):/.test(target as string)) continue
      count++
      const [path, anchor] = (target as string).split('#')
      const dest =
        path === '' ? file : posix.normalize(posix.join(posix.dirname(file), path as string))
      if (!existsSync(new URL(`../${dest}`, import.meta.url))) broken.push(`${file}: ${target}`)
      else if (anchor !== undefined && dest.endsWith('.md') && !anchors.get(dest)?.has(anchor)) {
        broken.push(`${file}: ${target}`)
      }
    }
  }
  t.ok(count > 100, `${count} links`)
  t.same(broken, [])
})

t.test('nothing is written twice: no paragraph stands in two places', async (t) => {
  const seen = new Map<string, string>()
  const twice: string[] = []
  for (const file of DOCS.filter((name) => name !== 'CHANGELOG.md')) {
    const prose = read(file).replace(/^```[\s\S]*?^```$/gm, '')
    for (const paragraph of prose.split(/\n\s*\n/)) {
      const text = paragraph.replace(/\s+/g, ' ').trim()
      if (text.length < 160 || text.startsWith('|')) continue
      const first = seen.get(text)
      if (first !== undefined) twice.push(`${first} and ${file}: ${text.slice(0, 60)}…`)
      else seen.set(text, file)
    }
  }
  t.same(twice, [])
})

t.test('contributing, security and the changelog are there', async (t) => {
  t.match(read('CONTRIBUTING.md'), /scripts\/test\.sh/)
  t.match(read('SECURITY.md'), /report/i)
  const { version } = JSON.parse(read('package.json')) as { version: string }
  const changelog = read('CHANGELOG.md')
  t.match(changelog, /Keep a Changelog/)
  t.match(changelog, new RegExp(`^## \\[(Unreleased|${version.replace(/\./g, '\\.')})\\]`, 'm'))
  t.match(changelog, new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm'), 'this version')
})

t.test(
  'the settings reference lists every variable the configuration reads, and no other',
  async (t) => {
    // Every variable parseConfig asks for, defaults taken: a recording environment.
    const asked = new Set<string>()
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_, name) => {
        if (typeof name === 'string') asked.add(name)
        return undefined
      },
    })
    parseConfig(env)
    const operating = read('docs/operating.md')
    const section = operating.slice(
      operating.indexOf('## Configuration'),
      operating.indexOf('## The pattern table'),
    )
    const listed = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` /gm)].map(
      (match) => match[1] as string,
    )
    t.ok(asked.size >= 40, `${asked.size} variables read`)
    t.same([...listed].sort(), [...asked].sort())
    t.equal(new Set(listed).size, listed.length, 'each once')
  },
)

t.test('the count of Node-line test files is the list’s', async (t) => {
  const block = /^NODE_LINE_TESTS=\([\s\S]*?^\)$/m.exec(read('scripts/test.sh'))?.[0] as string
  const counted = spawnSync('bash', ['-c', `${block}\necho \${#NODE_LINE_TESTS[@]}`], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  })
  const stated = /`NODE_LINE_TESTS` in `scripts\/test\.sh`: (\d+) files/.exec(
    read('docs/design.md'),
  )?.[1]
  t.equal(stated, counted.stdout.trim())
})

t.test('CONTRIBUTING names every Node.js line the tests run on', async (t) => {
  const contributing = read('CONTRIBUTING.md')
  for (const major of ['22', '24', '26']) {
    t.match(contributing.split('\n## ')[1], `Node.js ${major}`, `Node.js ${major} in its set-up`)
  }
})
