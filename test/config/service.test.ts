import t from 'tap'
import { keyFilesOf, originsOf, parseConfig } from '../../src/config/service.js'

t.test('defaults run the Flatcar bakery', async (t) => {
  const config = parseConfig({})
  t.match(config, {
    port: 8080,
    // Unset: every address, IPv6 and IPv4 alike (boot/dual-stack.ts).
    host: undefined,
    githubUrl: 'https://github.com',
    // Unset: the table's own sources, or the Flatcar bakery for a table of none.
    repo: undefined,
    patternTable: undefined,
    // Unset: no mirrors, GitHub first for every client.
    mirrors: [],
    mirrorsFirst: 'never',
    fallbackUrl: 'https://flatcar.github.io/sysext-bakery',
    publicUrl: undefined,
    logLevel: 'info',
    redirectMaxAge: { versioned: 86_400, mutable: 60, fallback: 3_600 },
    redirectLane: true,
    shutdownTimeoutMs: 10_000,
  })
  t.equal(config.host, undefined, 'HOST unset: dual stack')
  t.same(originsOf(config, { sources: [] }), {
    releases: 'https://github.com/flatcar/sysext-bakery/releases/download',
    fallback: 'https://flatcar.github.io/sysext-bakery',
    source: 'bakery',
    sources: { bakery: 'https://github.com/flatcar/sysext-bakery/releases/download' },
    repos: { 'flatcar/sysext-bakery': 'bakery' },
    mirrors: {},
  })
})

t.test('BAKERY_MIRRORS: the mirrors of a table of one source, in order', async (t) => {
  const config = parseConfig({
    BAKERY_MIRRORS: ' https://mirror.example/releases/ , http://[::1]:8081/copy',
    BAKERY_MIRRORS_FIRST: 'ipv6',
  })
  const mirrors = {
    bases: ['https://mirror.example/releases', 'http://[::1]:8081/copy'],
    first: 'ipv6',
  }
  t.same(originsOf(config, { sources: [] }).mirrors, { bakery: mirrors }, 'the implicit source')
  const declared = [{ name: 'one', repo: 'a/b', mirrors: ['https://own.example'] }]
  t.same(
    originsOf(config, { sources: declared }).mirrors,
    { one: mirrors },
    'replaced, as BAKERY_REPO does',
  )
  t.same(
    originsOf(parseConfig({}), { sources: declared }).mirrors,
    { one: { bases: ['https://own.example'], first: 'never' } },
    "else the table's own",
  )
  const two = [
    { name: 'fedora', repo: 'a/b' },
    { name: 'community', repo: 'a/c' },
  ]
  t.throws(() => originsOf(config, { sources: two }), {
    code: 'SR_CONFIG_INVALID',
    message:
      'BAKERY_MIRRORS replaces the mirrors of a table with one source; this table has 2 (fedora, community): change their mirrors in the table',
  })
})

t.test('a fork sets BAKERY_REPO alone', async (t) => {
  t.equal(
    originsOf(parseConfig({ BAKERY_REPO: 'acme/my-bakery' }), { sources: [] }).releases,
    'https://github.com/acme/my-bakery/releases/download',
  )
})

t.test('reads every setting', async (t) => {
  const config = parseConfig({
    PORT: '9000',
    HOST: '::1',
    GITHUB_URL: 'http://127.0.0.1:3000/',
    BAKERY_REPO: 'a-b/c.d_e',
    PATTERN_TABLE: ' /etc/table.yaml ',
    FALLBACK_URL: 'https://docs.example/sub/',
    PUBLIC_URL: 'https://Extensions.example.org/',
    LOG_LEVEL: 'debug',
    REDIRECT_MAX_AGE_VERSIONED: '7d',
    REDIRECT_MAX_AGE_MUTABLE: '1500ms',
    REDIRECT_MAX_AGE_FALLBACK: '2h',
    SHUTDOWN_TIMEOUT: '30s',
    REDIRECT_LANE: 'false',
  })
  t.match(config, {
    port: 9000,
    host: '::1',
    githubUrl: 'http://127.0.0.1:3000',
    repo: 'a-b/c.d_e',
    patternTable: '/etc/table.yaml',
    fallbackUrl: 'https://docs.example/sub',
    publicUrl: 'https://extensions.example.org',
    logLevel: 'debug',
    redirectMaxAge: { versioned: 604_800, mutable: 1, fallback: 7_200 },
    redirectLane: false,
    shutdownTimeoutMs: 30_000,
  })
  t.equal(
    parseConfig({ HOST: 'localhost', PORT: '' }).host,
    'localhost',
    'host names too; empty means default',
  )
  t.equal(parseConfig({ PORT: '' }).port, 8080)
  t.equal(parseConfig({ REDIRECT_MAX_AGE_MUTABLE: '5m' }).redirectMaxAge.mutable, 300)
})

t.test('a bad value names the variable and what it accepts', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'http' }, 'PORT="http" is not valid: expected a whole number from 0 to 65535'],
    [{ PORT: '65536' }, 'PORT="65536" is not valid: expected a whole number from 0 to 65535'],
    [{ PORT: '-1' }, 'PORT="-1" is not valid'],
    [{ PORT: '80.5' }, 'PORT="80.5" is not valid'],
    [{ HOST: 'bad host' }, 'HOST="bad host" is not valid: expected an IP address or a host name'],
    [
      { GITHUB_URL: 'github.com' },
      'GITHUB_URL="github.com" is not valid: expected an http:// or https:// URL without query, fragment or credentials',
    ],
    [{ GITHUB_URL: 'ftp://github.com' }, 'GITHUB_URL="ftp://github.com" is not valid'],
    [
      { GITHUB_URL: 'https://github.com/?x=1' },
      'GITHUB_URL="https://github.com/?x=1" is not valid',
    ],
    [{ FALLBACK_URL: 'https://a/#x' }, 'FALLBACK_URL="https://a/#x" is not valid'],
    [{ FALLBACK_URL: 'https://u:p@a/' }, 'FALLBACK_URL="https://u:p@a/" is not valid'],
    [{ PUBLIC_URL: 'extensions.example.org' }, 'PUBLIC_URL="extensions.example.org" is not valid'],
    [
      { BAKERY_REPO: 'sysext-bakery' },
      'BAKERY_REPO="sysext-bakery" is not valid: expected owner/name of a GitHub repository',
    ],
    [{ BAKERY_REPO: 'a/b/c' }, 'BAKERY_REPO="a/b/c" is not valid'],
    [
      { BAKERY_MIRRORS: 'https://m.example,ftp://m2.example' },
      'BAKERY_MIRRORS="https://m.example,ftp://m2.example" is not valid: expected an http:// or https:// URL without query, fragment or credentials, separated by commas',
    ],
    [
      { BAKERY_MIRRORS: 'https://m.example,,' },
      'BAKERY_MIRRORS="https://m.example,," is not valid',
    ],
    [
      { BAKERY_MIRRORS_FIRST: 'v6' },
      'BAKERY_MIRRORS_FIRST="v6" is not valid: expected one of never, ipv6, all',
    ],
    [{ BAKERY_REPO: 'a/..' }, 'BAKERY_REPO="a/.." is not valid'],
    [{ BAKERY_REPO: '-a/b' }, 'BAKERY_REPO="-a/b" is not valid'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL="loud" is not valid: expected one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      { REDIRECT_MAX_AGE_VERSIONED: '1 day' },
      'REDIRECT_MAX_AGE_VERSIONED="1 day" is not valid: expected a duration such as 500ms, 30s, 5m or 1h, at most 365d',
    ],
    [{ REDIRECT_MAX_AGE_MUTABLE: '60' }, 'REDIRECT_MAX_AGE_MUTABLE="60" is not valid'],
    [{ REDIRECT_MAX_AGE_FALLBACK: '400d' }, 'REDIRECT_MAX_AGE_FALLBACK="400d" is not valid'],
    [
      { SHUTDOWN_TIMEOUT: '11m' },
      'SHUTDOWN_TIMEOUT="11m" is not valid: expected a duration at most 10m',
    ],
    [
      { SHUTDOWN_TIMEOUT: '1 hour' },
      'SHUTDOWN_TIMEOUT="1 hour" is not valid: expected a duration such as 500ms, 30s or 5m, at most 10m',
    ],
    [
      { REDIRECT_LANE: 'fast' },
      'REDIRECT_LANE="fast" is not valid: expected true or false (or 1 or 0, yes or no, on or off)',
    ],
  ]
  for (const [env, message] of cases) {
    t.throws(
      () => parseConfig(env),
      { code: 'SR_CONFIG_INVALID', message: new RegExp(`^${escape(message)}`) },
      message,
    )
  }
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

t.test(
  'signing keys: SIGNING_KEYS for a table of one source, else each source’s own',
  async (t) => {
    const keys = parseConfig({ SIGNING_KEYS: '/keys/bakery.gpg' })
    const setting = { path: '/keys/bakery.gpg', setting: 'SIGNING_KEYS' }
    t.same(keyFilesOf(keys, { sources: [] }), { bakery: setting }, 'the implicit source')
    t.same(
      keyFilesOf(keys, { sources: [{ name: 'one', repo: 'a/b', signingKeys: '/x' }] }),
      {
        one: setting,
      },
      'one declared source: the setting wins, as BAKERY_REPO does',
    )
    t.same(keyFilesOf(parseConfig({}), { sources: [] }), {}, 'none: nothing verified')
    const two = [
      { name: 'fedora', repo: 'a/b', signingKeys: '/keys/fedora.asc' },
      { name: 'community', repo: 'a/c' },
    ]
    t.same(keyFilesOf(parseConfig({}), { sources: two }), {
      fedora: { path: '/keys/fedora.asc', setting: 'source "fedora" signing-keys' },
    })
    t.throws(() => keyFilesOf(keys, { sources: two }), {
      code: 'SR_CONFIG_INVALID',
      message:
        /^SIGNING_KEYS names the keys of a table with one source; this table has 2 \(fedora, community\)/,
    })
  },
)
