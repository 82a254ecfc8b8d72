import t from 'tap'
import {
  DEFAULT_MANIFESTS,
  compileDirectories,
  compileManifests,
  manifestAssetOf,
  compileNewest,
  directoryPage,
  newestName,
} from '../../src/table/layers.js'
import { renderOutput } from '../../src/table/template.js'
import { refusedWith } from '../helpers/refused.js'

/** The message a bad value stops the start with. */
const refused = (fn: () => unknown): string => refusedWith('SR_TABLE_INVALID', fn)

const newest = { paths: ['/extensions/{name}.raw'], release: '{ext}-{version}' }

t.test(
  'newest: forms capturing {name}, a release from {ext} and {version}, examples',
  async (t) => {
    t.equal(compileNewest(undefined), null, 'no layer')
    const layer = compileNewest({
      ...newest,
      paths: ['/extensions/{name}.raw', '/extensions/{sub}/{name}.raw', '/x/{more*}/{name}.raw'],
      examples: [{ path: '/extensions/k.raw', extension: 'k', arch: 'x86-64' }],
    })
    t.equal(layer?.forms.length, 3)
    t.equal(renderOutput(layer?.release ?? [], { ext: 'k', version: '1' }), 'k-1')
    t.same(layer?.examples, [
      { path: '/extensions/k.raw', extension: 'k', arch: 'x86-64', stream: undefined },
    ])
    const bad: [unknown, RegExp][] = [
      ['x', /^newest must be a mapping$/],
      [{ ...newest, extra: 1 }, /unknown key "extra"/],
      [{ ...newest, paths: [] }, /"paths" must be a non-empty list/],
      [{ ...newest, paths: [''] }, /paths #1: must be a path template/],
      [{ ...newest, paths: ['/{name'] }, /paths #1 unclosed/],
      [{ ...newest, paths: ['extensions/{name}.raw'] }, /must start with/],
      [{ ...newest, paths: ['/extensions/{file}.raw'] }, /must capture \{name\}/],
      [{ ...newest, paths: ['/{x}-{name}.raw'] }, /captures \{x\}, which this layer does not use/],
      [{ ...newest, release: '' }, /"release" must be text/],
      [{ ...newest, release: '{ext}-{arch}' }, /uses \{arch\}/],
      [{ ...newest, release: '{ext' }, /unclosed/],
      [{ ...newest, examples: {} }, /examples must be a list/],
      [
        { ...newest, examples: [{ path: '/x', extension: 'k', arch: 'a', stream: 1 }] },
        /"stream" must be text/,
      ],
      [{ ...newest, examples: [{ path: '/x', arch: 'a' }] }, /"extension" must be text/],
    ]
    for (const [doc, message] of bad)
      t.match(
        refused(() => compileNewest(doc)),
        message,
      )
  },
)

t.test('directories: a listing, or pages capturing {ext}', async (t) => {
  t.same(compileDirectories(undefined, []), [])
  const [listing, page] = compileDirectories(
    [
      { name: 'listing', path: '/extensions/', examples: ['/extensions/'] },
      { name: 'extension', path: '/extensions/{ext}/' },
    ],
    [],
  )
  t.match(listing, {
    name: 'listing',
    examples: ['/extensions/'],
    base: '/extensions/',
    source: null,
  })
  t.match(page, { name: 'extension', pathTemplate: '/extensions/{ext}/', examples: [] })
  const bad: [unknown, RegExp][] = [
    [{}, /directories must be a list/],
    [[{ path: '/x/' }], /directories #1: "name" must be text/],
    [[{ name: 'x', path: '/a-{name}.html' }], /captures \{name\}, which this layer does not use/],
    [[{ name: 'x', path: '/x/', examples: [1] }], /examples #1 must be a path/],
  ]
  for (const [doc, message] of bad)
    t.match(
      refused(() => compileDirectories(doc, [])),
      message,
    )
})

t.test('directories: the Flatcar layout, or the Fedora one with its name folder', async (t) => {
  const [flat] = compileDirectories([{ name: 'x', path: '/extensions/{ext}/' }], [])
  t.same(flat?.layout, { kind: 'flatcar' }, 'Flatcar by default')
  const [fedora] = compileDirectories(
    [{ name: 'x', path: '/directory/fedora/{ext}/', layout: 'fedora', folder: '/fedora/{ext}/' }],
    [],
  )
  t.same(fedora?.layout, { kind: 'fedora', folder: '/fedora/{ext}/' })
  t.equal(fedora?.base, '/directory/fedora/', 'the pages link below their own path')
  const form = (more: object) => [{ name: 'x', path: '/d/{ext}/', ...more }]
  const bad: [unknown, RegExp][] = [
    [form({ layout: 'debian' }), /directory "x": "layout" must be flatcar or fedora/],
    [form({ layout: 1 }), /"layout" must be flatcar or fedora/],
    [form({ folder: '/f/{ext}/' }), /directory "x": "folder" is for layout fedora only/],
    [form({ layout: 'fedora' }), /"folder" must be a path such as \/fedora\/\{ext\}\//],
    [form({ layout: 'fedora', folder: 'fedora/{ext}/' }), /starting and ending with "\/"/],
    [form({ layout: 'fedora', folder: '/fedora/{ext}' }), /starting and ending with "\/"/],
    [form({ layout: 'fedora', folder: '/fedora/' }), /must hold \{ext\} as one whole segment/],
    [form({ layout: 'fedora', folder: '/f/x-{ext}/' }), /must hold \{ext\} as one whole segment/],
    [form({ layout: 'fedora', folder: '/{a}/{ext}/' }), /must hold \{ext\} as one whole segment/],
    [form({ layout: 'fedora', folder: '/{ext*}/' }), /must hold \{ext\} as one whole segment/],
    [form({ layout: 'fedora', folder: '/../{ext}/' }), /file names besides/],
    [form({ layout: 'fedora', folder: '/a b/{ext}/' }), /file names besides/],
    [form({ layout: 'fedora', folder: '/f/{ext/' }), /directory "x": "folder" unclosed "\{"/],
  ]
  for (const [doc, message] of bad) {
    t.match(
      refused(() => compileDirectories(doc, [])),
      message,
      JSON.stringify(doc),
    )
  }
})

t.test('manifests: the Flatcar layout unless the table says its own', async (t) => {
  t.equal(compileManifests(undefined), DEFAULT_MANIFESTS)
  const own = compileManifests({
    global: { release: 'index', asset: 'SHA256SUMS' },
    extension: { release: 'sums-{ext}', asset: 'SHA256SUMS.txt' },
  })
  t.same(own.global, { release: 'index', asset: 'SHA256SUMS' })
  t.equal(renderOutput(own.extension.release, { ext: 'k' }), 'sums-k')
  t.equal(manifestAssetOf(own, 'index'), 'SHA256SUMS', 'the global release holds the global asset')
  t.equal(manifestAssetOf(own, 'sums-k'), 'SHA256SUMS.txt', 'any other, an extension’s')
  t.same(own.signatures, DEFAULT_MANIFESTS.signatures, 'the names sysupdate probes')
  t.equal(renderOutput(own.images, { file: 'a.raw' }), '/extensions/a.raw')
  const signed = compileManifests({
    ...{ global: { release: 'a', asset: 'b' }, extension: { release: '{ext}', asset: 'c' } },
    signatures: ['.sig'],
    images: '/fedora/images/{file}',
  })
  t.same(signed.signatures, ['.sig'])
  t.equal(renderOutput(signed.images, { file: 'a.raw' }), '/fedora/images/a.raw')
  const layout = {
    global: { release: 'a', asset: 'b' },
    extension: { release: '{ext}', asset: 'c' },
  }
  const bad: [unknown, RegExp][] = [
    [{ ...layout, signatures: 'x' }, /manifests: signatures must be a list/],
    [{ ...layout, signatures: ['gpg'] }, /manifests: signatures #1 must be a suffix such as \.gpg/],
    [{ ...layout, signatures: [7] }, /manifests: signatures #1 must be a suffix/],
    [{ ...layout, images: 'extensions/{file}' }, /"images" must be a path starting with "\/"/],
    [{ ...layout, images: '/x/{file}/{other}' }, /"images" must capture \{file\} and nothing else/],
    [{ ...layout, images: '/x/{name}' }, /"images" must capture \{file\} and nothing else/],
    [{ ...layout, images: '/x/{file' }, /"images"/],
    [{ global: { release: 'a', asset: 'b' } }, /manifests: extension must be a mapping/],
    [
      { global: { release: 'a/b', asset: 'b' }, extension: { release: '{ext}', asset: 'c' } },
      /"release" must be a file name/,
    ],
    [
      { global: { release: 'a', asset: 'b' }, extension: { release: '{name}', asset: 'c' } },
      /uses \{name\}/,
    ],
  ]
  for (const [doc, message] of bad)
    t.match(
      refused(() => compileManifests(doc)),
      message,
    )
})

t.test('newestName and directoryPage: the first form a path fits', async (t) => {
  const layer = compileNewest(newest)
  const forms = layer?.forms ?? []
  t.equal(newestName(forms, '/extensions/x.conf'), null)
  t.match(newestName(forms, '/extensions/x.raw'), { file: 'x.raw' })
  const pages = compileDirectories(
    [
      { name: 'listing', path: '/extensions/' },
      { name: 'extension', path: '/extensions/{ext}/' },
    ],
    [],
  )
  t.match(directoryPage(pages, '/extensions/'), { form: { name: 'listing' }, extension: null })
  t.match(directoryPage(pages, '/extensions/k/'), { form: { name: 'extension' }, extension: 'k' })
  t.equal(directoryPage(pages, '/extensions/k'), null)
})
