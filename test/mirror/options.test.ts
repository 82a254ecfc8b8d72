import t from 'tap'
import { parseMirrorArgs } from '../../src/mirror/options.js'

t.test('DIR and the choices, each option as often as wanted', async (t) => {
  t.same(parseMirrorArgs(['/srv/m']), {
    dir: '/srv/m',
    sources: null,
    choice: { extensions: null, arches: null, keep: null },
    progress: null,
  })
  const all = parseMirrorArgs([
    '--source',
    'fedora',
    '/srv/m',
    '--extension',
    'tmux',
    '--extension',
    'vim',
    '--arch',
    'arm64',
    '--keep',
    '3',
    '--no-progress',
  ])
  t.same(all, {
    dir: '/srv/m',
    sources: new Set(['fedora']),
    choice: { extensions: new Set(['tmux', 'vim']), arches: new Set(['arm64']), keep: 3 },
    progress: false,
  })
  t.equal((parseMirrorArgs(['/srv/m', '--progress']) as { progress: boolean }).progress, true)
})

t.test('what is wrong, said', async (t) => {
  const cases: [string[], string][] = [
    [[], 'mirror needs DIR, the folder to write'],
    [['a', 'b'], 'mirror takes one DIR'],
    [['a', '--keep'], 'mirror: --keep needs a value'],
    [['a', '--keep', ''], 'mirror: --keep needs a value'],
    [['a', '--keep', '1.5'], 'mirror: --keep takes a whole number of versions from 1, not 1.5'],
    [['a', '--keep', '01'], 'mirror: --keep takes a whole number of versions from 1, not 01'],
    [['a', '--arch', 'x86_64'], 'mirror: --arch takes x86-64 or arm64, not x86_64'],
    [['a', '--all'], 'mirror: unknown option --all'],
  ]
  for (const [args, message] of cases) t.equal(parseMirrorArgs(args), message, args.join(' '))
})
