import t from 'tap'
import { originsOf } from '../../src/config/service.js'
import { resolveSettings } from '../../src/config/settings.js'
import { DEFAULT_TABLE_FILE } from '../../src/config/table-file.js'

t.test('the settings, the table and its origins, resolved once', async (t) => {
  const settings = await resolveSettings({ BAKERY_REPO: 'acme/bakery' })
  t.equal(settings.tableFile, DEFAULT_TABLE_FILE, 'the built-in table')
  t.equal(settings.config.repo, 'acme/bakery')
  t.equal(settings.origins.releases, 'https://github.com/acme/bakery/releases/download')
  t.same(settings.origins, originsOf(settings.config, settings.table))
  const fedora = new URL('../../tables/fedora-sysexts.yaml', import.meta.url).pathname
  const named = await resolveSettings({ PATTERN_TABLE: fedora })
  t.equal(named.tableFile, fedora, "PATTERN_TABLE's")
  t.same(Object.keys(named.origins.sources), ['fedora', 'community'])
  const given = await resolveSettings({ PATTERN_TABLE: fedora }, DEFAULT_TABLE_FILE)
  t.equal(given.tableFile, DEFAULT_TABLE_FILE, 'a file given (check-table FILE) wins')
})

t.test('a table that cannot be read is named by what named it', async (t) => {
  await t.rejects(resolveSettings({ PATTERN_TABLE: '/nonexistent.yaml' }), {
    code: 'SR_TABLE_UNREADABLE',
    message: 'PATTERN_TABLE=/nonexistent.yaml cannot be read: no such file (ENOENT)',
  })
  await t.rejects(resolveSettings({}, '/nonexistent.yaml'), {
    message: 'the pattern table /nonexistent.yaml cannot be read: no such file (ENOENT)',
  })
  await t.rejects(resolveSettings({ PORT: 'x' }), { code: 'SR_CONFIG_INVALID' })
})
