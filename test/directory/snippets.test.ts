import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { butaneToIgnition } from '../../deploy/flatcar/butane-to-ignition.js'
import {
  choiceOf,
  snippetsOf,
  streamOf,
  useSectionOf,
  type ChoiceResult,
} from '../../src/directory/snippets.js'
import { extension, kubernetes, wasm } from '../helpers/directory.js'

const place = {
  origin: 'https://ext.test',
  page: '/extensions/kubernetes/',
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

t.test('a version’s stream: the most specific the page shows', async (t) => {
  const image = (version: string) =>
    kubernetes.images.find((one) => one.version === version && one.arch === 'x86-64')
  t.equal(streamOf(kubernetes, image('v1.32.2') as never), 'v1.32')
  t.equal(streamOf(kubernetes, image('v1.31.4') as never), 'v1.31')
  const lone = extension('lone', 'lone-1-x86-64.raw')
  t.equal(streamOf(lone, lone.images[0] as never), null)
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
    '[Target]\nInstancesMax=3\nType=regular-file\nPath=/opt/extensions/kubernetes\nCurrentSymlink=/etc/extensions/kubernetes.raw\nMatchPattern=kubernetes-v1.32.@v-x86-64.raw\n',
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
  t.same(config.systemd, { units: [{ name: 'systemd-sysupdate.timer', enabled: true }] })
})

t.test('the section: the choice, its snippets and the SHA-256; or the reason', async (t) => {
  const use = useSectionOf(
    kubernetes,
    choiceOf(kubernetes, { arch: 'arm64', version: 'v1.32.2' }),
    'https://e.t',
    '/x/',
  )
  t.match(use, {
    choice: { version: 'v1.32.2', arch: 'arm64' },
    stream: 'v1.32',
    sha256: /^[0-9]{64}$/,
    curl: /https:\/\/e\.t\/x\/kubernetes-v1\.32\.2-arm64\.raw/,
  })
  t.same(useSectionOf(kubernetes, choiceOf(kubernetes, { version: 'v0' }), 'https://e.t', '/x/'), {
    error: 'version: kubernetes has no version "v0"',
  })
})
