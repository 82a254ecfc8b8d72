import t from 'tap'
import { osReleaseOf, streamsIn } from '../../src/directory/streams.js'
import { btop, extension, kubernetes } from '../helpers/directory.js'

t.test(
  'Flatcar: a version’s stream is the most specific release line the page shows',
  async (t) => {
    const streams = streamsIn({ kind: 'flatcar' })
    const image = (version: string) =>
      kubernetes.images.find((one) => one.version === version && one.arch === 'x86-64')
    t.equal(streams.of(kubernetes, image('v1.32.2') as never), 'v1.32')
    t.equal(streams.of(kubernetes, image('v1.31.4') as never), 'v1.31')
    const lone = extension('lone', 'lone-1-x86-64.raw')
    t.equal(streams.of(lone, lone.images[0] as never), null)
    t.same(streams.list(kubernetes), ['v1.32', 'v1.31'])
    t.equal(streams.newest(kubernetes, 'arm64', 'v1.32')?.version, 'v1.32.2')
    t.ok(streams.holds('v1.32.10', 'v1.32'))
    t.notOk(streams.holds('v1.32.10', 'v1.3'), 'only at a dot')
  },
)

t.test('Fedora: a stream is the Fedora release that ends the version', async (t) => {
  t.equal(osReleaseOf('1.4.0-2.fc42-42'), '42')
  t.equal(osReleaseOf('1.4.0'), null, 'a version without one')
  t.equal(osReleaseOf('1.4.0-rc1'), null)
  const streams = streamsIn({ kind: 'fedora', folder: '/fedora/{ext}/' })
  t.same(streams.list(btop), ['42', '41', '40'], 'newest release first')
  t.same(streams.list(btop, 'arm64'), ['42', '40'])
  t.equal(streams.newest(btop, 'x86-64', '42')?.file, 'btop-1.4.0-2.fc42-42-x86-64.raw')
  t.equal(streams.newest(btop, 'arm64', '41'), undefined)
  t.ok(streams.holds('1.3.2-1.fc42-42', '42'))
  t.notOk(streams.holds('1.3.2-1.fc42-42', '4'))
  t.equal(streams.of(btop, btop.images[0] as never), '42')
})
