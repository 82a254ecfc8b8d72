import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseConfig } from '../src/config.js'

/**
 * The README leads: its contents list is its sections, every link inside it
 * lands on a heading, and the project files it points to exist, the
 * changelog with an entry for the version in package.json.
 */
const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
const README = read('README.md')

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-')
}

const headings = (level: string): string[] =>
  [...README.matchAll(new RegExp(`^${level} (.+)$`, 'gm'))].map((match) => match[1] as string)

t.test('the contents list is the sections, in order', async (t) => {
  const contents = README.slice(
    README.indexOf('## Contents'),
    README.indexOf('## Use it from Flatcar'),
  )
  const listed = [...contents.matchAll(/^- \[(.+)\]\(#(.+)\)$/gm)].map(([, title, anchor]) => ({
    title,
    anchor,
  }))
  const sections = headings('##').filter((heading) => heading !== 'Contents')
  t.same(
    listed,
    sections.map((title) => ({ title, anchor: slug(title) })),
  )
  t.equal(sections[0], 'Use it from Flatcar', 'what a Flatcar user comes for, first')
})

t.test('every link inside the README lands on a heading', async (t) => {
  const anchors = new Set(['##', '###', '####'].flatMap(headings).map(slug))
  const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1] as string)
  t.ok(links.length > 20, `${links.length} links`)
  t.same(
    links.filter((link) => !anchors.has(link)),
    [],
  )
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
    const read = new Set<string>()
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_, name) => {
        if (typeof name === 'string') read.add(name)
        return undefined
      },
    })
    parseConfig(env)
    const section = README.slice(
      README.indexOf('## Configuration'),
      README.indexOf('## The pattern table'),
    )
    const listed = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` /gm)].map(
      (match) => match[1] as string,
    )
    t.ok(read.size >= 40, `${read.size} variables read`)
    t.same([...listed].sort(), [...read].sort())
    t.equal(new Set(listed).size, listed.length, 'each once')
  },
)
