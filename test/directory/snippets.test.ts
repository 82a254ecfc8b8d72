import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { butaneToIgnition } from '../../deploy/flatcar/butane-to-ignition.js'
import {
  choiceOf,
  snippetsOf,
  updateCommand,
  useSectionOf,
  type ChoiceResult,
  publicOrigin,
} from '../../src/directory/snippets.js'
import { btop, extension, FEDORA_PLACE, kubernetes, wasm } from '../helpers/directory.js'

const place = {
  origin: 'https://ext.test',
  folder: '/extensions/kubernetes/',
  image: '/extensions/kubernetes-v1.32.10-x86-64.raw',
}

function chosen(result: ChoiceResult) {
  if (!result.ok) throw new Error(result.reason)
  return result
}

t.test('the choice: newest, x86-64 where there is one, pinned, for systemd 257', async (t) => {
  t.match(chosen(choiceOf(kubernetes, {})), {
    choice: { version: 'v1.32.10', arch: 'x86-64', follow: 'version', systemd: '257' },
    image: { file: 'kubernetes-v1.32.10-x86-64.raw' },
    stream: 'v1.32',
  })
  t.match(chosen(choiceOf(wasm, {})).choice, { version: '24.0.0', arch: 'arm64' }, 'arm64 only')
  t.match(
    chosen(
      choiceOf(kubernetes, { version: 'v1.32.2', arch: 'arm64', use: 'stream', systemd: '254' }),
    ),
    { choice: { version: 'v1.32.2', arch: 'arm64', follow: 'stream', systemd: '254' } },
  )
})

t.test('a stream named: its newest version, followed', async (t) => {
  t.match(chosen(choiceOf(kubernetes, { stream: 'v1.31' })), {
    choice: { version: 'v1.31.4', arch: 'x86-64', follow: 'stream' },
    stream: 'v1.31',
  })
  t.match(
    chosen(choiceOf(kubernetes, { stream: 'v1.32', arch: 'arm64' })),
    { choice: { version: 'v1.32.2', arch: 'arm64' }, stream: 'v1.32' },
    'the newest in the stream for that architecture',
  )
  t.match(chosen(choiceOf(kubernetes, { stream: 'v1.32', use: 'version' })).choice, {
    version: 'v1.32.10',
    follow: 'version',
  })
  const refused = (query: object) => choiceOf(kubernetes, query)
  t.same(refused({ stream: 'v7' }), { ok: false, reason: 'stream: kubernetes has no stream "v7"' })
  t.same(refused({ stream: 3 }), { ok: false, reason: 'stream: kubernetes has no stream "3"' })
  t.same(refused({ stream: 'v1.31', version: 'v1.32.2' }), {
    ok: false,
    reason: 'stream: v1.32.2 is not in stream "v1.31"',
  })
})

t.test('a choice naming nothing published is refused, saying what is', async (t) => {
  const refused = (query: object): string => {
    const result = choiceOf(kubernetes, query)
    return result.ok ? 'accepted' : result.reason
  }
  t.equal(refused({ version: 'v9' }), 'version: kubernetes has no version "v9"')
  t.equal(refused({ version: ['a', 'b'] }), 'version: kubernetes has no version "a,b"')
  t.equal(
    refused({ version: 'x'.repeat(100) }),
    `version: kubernetes has no version "${'x'.repeat(64)}…"`,
    'never long',
  )
  t.equal(
    refused({ version: 'v1.31.4', arch: 'arm64' }),
    'arch: v1.31.4 is not published for "arm64"; it is for x86-64',
  )
  t.equal(
    refused({ arch: 'riscv64' }),
    'arch: v1.32.10 has no architecture "riscv64"; it is for x86-64',
  )
  t.equal(refused({ use: 'latest' }), 'use: expected version or stream, not "latest"')
  t.equal(refused({ systemd: '252' }), 'systemd: expected 257 or 254, not "252"')
  const lone = extension('lone', 'lone-1-x86-64.raw')
  const result = choiceOf(lone, { use: 'stream' })
  t.same(result, { ok: false, reason: 'use: 1 belongs to no stream; pin it (use=version)' })
})

t.test('pinned: the image checked by its SHA-256, linked for systemd-sysext', async (t) => {
  const result = chosen(choiceOf(kubernetes, {}))
  const snippets = snippetsOf(kubernetes, result, place)
  t.equal(snippets.transfer, null)
  const config = butaneToIgnition(parseYaml(snippets.butane, { version: '1.1' }), () => {
    throw new Error('no local files')
  })
  t.strictSame(config, {
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        {
          path: '/opt/extensions/kubernetes/kubernetes-v1.32.10-x86-64.raw',
          mode: 0o644,
          contents: {
            source: 'https://ext.test/extensions/kubernetes-v1.32.10-x86-64.raw',
            verification: { hash: `sha256-${result.image.sha256}` },
          },
        },
      ],
      links: [
        {
          path: '/etc/extensions/kubernetes.raw',
          target: '/opt/extensions/kubernetes/kubernetes-v1.32.10-x86-64.raw',
          hard: false,
        },
      ],
    },
  })
  t.equal(
    snippets.curl,
    'curl -fLo kubernetes-v1.32.10-x86-64.raw https://ext.test/extensions/kubernetes-v1.32.10-x86-64.raw' +
      ` && echo '${result.image.sha256}  kubernetes-v1.32.10-x86-64.raw' | sha256sum -c`,
  )
})

t.test('following a stream: the transfer file, by systemd version, and the timer', async (t) => {
  const follow = (systemd: string) =>
    snippetsOf(kubernetes, chosen(choiceOf(kubernetes, { use: 'stream', systemd })), place)
  const modern = follow('257')
  t.equal(modern.transfer?.path, '/etc/sysupdate.kubernetes.d/kubernetes.transfer')
  t.equal(follow('254').transfer?.path, '/etc/sysupdate.kubernetes.d/kubernetes.conf')
  t.match(modern.transfer?.text, /^\[Transfer\]\n/)
  t.match(
    modern.transfer?.text,
    '[Source]\nType=url-file\nPath=https://ext.test/extensions/kubernetes/\nMatchPattern=kubernetes-v1.32.@v-x86-64.raw\n',
  )
  t.match(
    modern.transfer?.text,
    '[Target]\nInstancesMax=3\nType=regular-file\nPath=/opt/extensions/kubernetes/\nCurrentSymlink=/etc/extensions/kubernetes.raw\nMatchPattern=kubernetes-v1.32.@v-x86-64.raw\n',
  )
  const config = butaneToIgnition(parseYaml(modern.butane, { version: '1.1' }), () => {
    throw new Error('no local files')
  }) as { storage: { files: { path: string; contents: { source: string } }[] }; systemd: unknown }
  const file = config.storage.files[1]
  t.equal(file?.path, '/etc/sysupdate.kubernetes.d/kubernetes.transfer')
  t.equal(
    decodeURIComponent((file?.contents.source as string).replace(/^data:,/, '')),
    modern.transfer?.text,
    'the transfer file, byte for byte',
  )
  const units = (config.systemd as { units: { name: string; enabled?: boolean }[] }).units
  t.same(
    units.map((unit) => [unit.name, unit.enabled]),
    [
      ['sysupdate-kubernetes.service', undefined],
      ['sysupdate-kubernetes.timer', true],
    ],
    'its own updater, the timer enabled',
  )
  t.match(
    modern.butane,
    `        ExecStart=${updateCommand('kubernetes')}\n`,
    'the updater runs the extension as a component: /etc/sysupdate.<ext>.d',
  )
  t.equal(
    updateCommand('kubernetes'),
    '/usr/lib/systemd/systemd-sysupdate --component=kubernetes update',
  )
  t.match(modern.butane, '[Install]\n        WantedBy=timers.target\n', 'the timer can be enabled')
})

t.test('the section: the choice, its snippets and the SHA-256; or the reason', async (t) => {
  const at = { base: '/x/', layout: { kind: 'flatcar' } } as const
  const use = useSectionOf(
    kubernetes,
    choiceOf(kubernetes, { arch: 'arm64', version: 'v1.32.2' }),
    'https://e.t',
    at,
  )
  t.match(use, {
    choice: { version: 'v1.32.2', arch: 'arm64' },
    stream: 'v1.32',
    sha256: /^[0-9]{64}$/,
    curl: /https:\/\/e\.t\/x\/kubernetes-v1\.32\.2-arm64\.raw/,
  })
  t.same(useSectionOf(kubernetes, choiceOf(kubernetes, { version: 'v0' }), 'https://e.t', at), {
    error: 'version: kubernetes has no version "v0"',
  })
})

const fedora = FEDORA_PLACE.layout

t.test('Fedora: a stream is the Fedora release that ends the version', async (t) => {
  t.match(chosen(choiceOf(btop, {}, fedora)), {
    choice: { version: '1.4.0-2.fc42-42', arch: 'x86-64', follow: 'version' },
    stream: '42',
  })
  t.match(
    chosen(choiceOf(btop, { stream: '41' }, fedora)),
    { choice: { version: '1.4.0-2.fc41-41', follow: 'stream' }, stream: '41' },
    'a release named: its newest image, followed',
  )
  t.match(chosen(choiceOf(btop, { stream: '40' }, fedora)).choice, { arch: 'arm64' })
  t.same(choiceOf(btop, { stream: 'v1.4' }, fedora), {
    ok: false,
    reason: 'stream: btop has no stream "v1.4"',
  })
  t.same(choiceOf(btop, { stream: '41', version: '1.3.2-1.fc42-42' }, fedora), {
    ok: false,
    reason: 'stream: 1.3.2-1.fc42-42 is not in stream "41"',
  })
  const odd = extension('odd', 'odd-2.0-x86-64.raw')
  t.same(choiceOf(odd, { use: 'stream' }, fedora), {
    ok: false,
    reason: 'use: 2.0 belongs to no stream; pin it (use=version)',
  })
})

t.test('Fedora: its variant, its folders, its transfer file', async (t) => {
  const pinned = useSectionOf(btop, choiceOf(btop, {}, fedora), 'https://e.t', FEDORA_PLACE)
  if ('error' in pinned) throw new Error(pinned.error)
  const file = 'btop-1.4.0-2.fc42-42-x86-64.raw'
  t.equal(
    pinned.curl,
    `curl -fLo ${file} https://e.t/fedora/btop/${file} && echo '${pinned.sha256}  ${file}' | sha256sum -c`,
    "the image in its name's folder",
  )
  const config = butaneToIgnition(parseYaml(pinned.butane, { version: '1.1' }), () => {
    throw new Error('no local files')
  })
  t.strictSame(config, {
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        {
          path: `/var/lib/extensions.d/${file}`,
          mode: 0o644,
          contents: {
            source: `https://e.t/fedora/btop/${file}`,
            verification: { hash: `sha256-${pinned.sha256}` },
          },
        },
      ],
      links: [
        {
          path: '/var/lib/extensions/btop.raw',
          target: `/var/lib/extensions.d/${file}`,
          hard: false,
        },
      ],
    },
    systemd: { units: [{ name: 'systemd-sysext.service', enabled: true }] },
  })
  t.match(pinned.butane, /^variant: fcos\nversion: 1\.4\.0\n/)
  const follow = useSectionOf(
    btop,
    choiceOf(btop, { use: 'stream', systemd: '254' }, fedora),
    'https://e.t',
    FEDORA_PLACE,
  )
  if ('error' in follow) throw new Error(follow.error)
  t.equal(follow.transfer?.path, '/etc/sysupdate.btop.d/btop.conf')
  t.equal(
    follow.transfer?.text.replace(/^#.*\n/gm, ''),
    [
      '[Transfer]',
      'Verify=false',
      '',
      '[Source]',
      'Type=url-file',
      'Path=https://e.t/fedora/btop/',
      'MatchPattern=btop-@v-%w-%a.raw',
      '',
      '[Target]',
      'InstancesMax=2',
      'Type=regular-file',
      'Path=/var/lib/extensions.d/',
      'CurrentSymlink=/var/lib/extensions/btop.raw',
      'MatchPattern=btop-@v-%w-%a.raw',
      '',
    ].join('\n'),
    "the Fedora sysexts' own shape: the machine's release (%w) and architecture (%a)",
  )
  t.match(follow.transfer?.text, '# The Fedora sysexts sign no SHA256SUMS', 'no bakery key to add')
  t.match(follow.butane, 'ExecStart=/usr/lib/systemd/systemd-sysupdate --component=btop update')
})

t.test('PUBLIC_URL when set, whatever the request', async (t) => {
  t.equal(publicOrigin('https://ext.example.org', false, 'evil.test'), 'https://ext.example.org')
  t.equal(
    publicOrigin('https://ext.example.org/mirror', true, undefined),
    'https://ext.example.org/mirror',
  )
})

t.test('else the Host asked for: https behind Fly, http otherwise', async (t) => {
  t.equal(publicOrigin(undefined, false, 'Ext.Example.org:8080'), 'http://ext.example.org:8080')
  t.equal(publicOrigin(undefined, true, 'ext.example.org'), 'https://ext.example.org')
  t.equal(publicOrigin(undefined, false, '127.0.0.1:80'), 'http://127.0.0.1:80')
  t.equal(publicOrigin(undefined, false, '[::1]:8080'), 'http://[::1]:8080')
})

t.test('a Host that names no plain host: none', async (t) => {
  for (const host of [
    undefined,
    '',
    'a b',
    'x.test/path',
    'u@x.test',
    'x.test:port',
    '-x.test',
    '<x>',
  ]) {
    t.equal(publicOrigin(undefined, false, host), null, String(host))
  }
})
