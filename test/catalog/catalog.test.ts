import fc from 'fast-check'
import t from 'tap'
import {
  ARCHES,
  architecturesOf,
  architecturesOfVersion,
  candidateNames,
  extensionInTurns,
  imagesOf,
  newestImage,
  publishes,
  publishedNames,
  splitImageName,
  streamsOf,
  versionsOf,
  type Extension,
} from '../../src/catalog/catalog.js'
import { parseManifest, type ManifestEntry } from '../../src/catalog/manifest.js'

const entries = (...names: string[]): ManifestEntry[] =>
  names.map((name, i) => ({ sha256: String(i).padStart(64, '0'), name }))

t.test('splitImageName takes <stem>-<arch>.raw only', async (t) => {
  t.same(splitImageName('kubernetes-v1.32.2-x86-64.raw'), {
    stem: 'kubernetes-v1.32.2',
    arch: 'x86-64',
  })
  t.same(splitImageName('docker-compose-2.34.0-arm64.raw'), {
    stem: 'docker-compose-2.34.0',
    arch: 'arm64',
  })
  t.equal(splitImageName('kubernetes-v1.32.2-riscv64.raw'), null, 'unknown arch')
  t.equal(splitImageName('kubernetes-v1.32.2-x86-64.raw.sig'), null, 'not .raw')
  t.equal(splitImageName('kubernetes.conf'), null)
  t.equal(splitImageName('x86-64.raw'), null, 'no dash before the arch')
})

t.test('candidateNames: every dash-prefix that leaves a version', async (t) => {
  t.same(
    candidateNames(
      entries(
        'docker-compose-2.34.0-x86-64.raw',
        'crio-v1.30.0-rc1-x86-64.raw',
        'kubernetes-v1.32.2-arm64.raw',
        'kubernetes-v1.32.2-x86-64.raw',
        'kubernetes.conf',
        'SHA256SUMS',
        '-x-1-arm64.raw',
        'a%b-1-x86-64.raw',
        'trailing--x86-64.raw',
      ),
    ),
    ['-x', 'crio', 'crio-v1.30.0', 'docker', 'docker-compose', 'kubernetes'],
    'sorted, once each; no empty version; names a URL cannot carry are dropped',
  )
  t.same(candidateNames([]), [])
})

t.test(
  'publishedNames: each image’s stem up to its version, a digit or v and a digit',
  async (t) => {
    t.same(
      [
        ...publishedNames(
          entries(
            'docker-compose-2.34.0-x86-64.raw',
            'kubernetes-v1.32.2-arm64.raw',
            'tailscale-1.82.5-1-42-x86-64.raw',
            'kubernetes-cri-o-1.32-1.32.3-1.fc42-42-x86-64.raw',
            'vscode-insiders-1.0-x86-64.raw',
            'crio-v1.30.0-rc1-x86-64.raw',
            'tailscale.conf',
            'SHA256SUMS',
            'noversion-x86-64.raw',
            'dev-vnext-x86-64.raw',
            '-1-x86-64.raw',
            'a%b-1-x86-64.raw',
          ),
        ),
      ].sort(),
      ['crio', 'docker-compose', 'kubernetes', 'kubernetes-cri-o', 'tailscale', 'vscode-insiders'],
      'docker-compose makes no docker; a version-less or unsafe name makes none',
    )
    t.same([...publishedNames([])], [])
  },
)

t.test("imagesOf: the images an extension's manifest lists under its name", async (t) => {
  const docker = entries(
    'docker-27.5.1-x86-64.raw',
    'docker-28.0.1-x86-64.raw',
    'docker-28.0.1-arm64.raw',
    'docker-28.0.1-x86-64.raw', // listed twice: once is enough
    'docker-compose-2.34.0-x86-64.raw', // another extension's, read as version compose-2.34.0
    'docker.conf',
    'docker--x86-64.raw', // empty version
    'docker-1 2-x86-64.raw', // a space cannot be in a URL
    'dockerd-1-x86-64.raw',
  )
  const images = imagesOf('docker', docker)
  t.same(
    images.map((i) => [i.version, i.arch]),
    [
      ['28.0.1', 'x86-64'],
      ['28.0.1', 'arm64'],
      ['27.5.1', 'x86-64'],
      ['compose-2.34.0', 'x86-64'],
    ],
    'newest first by systemd order (a number is newer than letters); ties keep manifest order',
  )
  t.same(images[0], {
    version: '28.0.1',
    arch: 'x86-64',
    file: 'docker-28.0.1-x86-64.raw',
    sha256: '1'.padStart(64, '0'),
  })
  t.same(
    imagesOf('crio-v1.30.0', entries('crio-v1.30.0-x86-64.raw')),
    [],
    "a versioned release's manifest is no extension's",
  )
})

const kubernetes: Extension = {
  name: 'kubernetes',
  images: imagesOf(
    'kubernetes',
    entries(
      'kubernetes-v1.31.4-x86-64.raw',
      'kubernetes-v1.31.4-arm64.raw',
      'kubernetes-v1.32.2-x86-64.raw',
      'kubernetes-v1.32.2-arm64.raw',
      'kubernetes-v1.32.10-x86-64.raw',
      'kubernetes-v1.32-x86-64.raw',
      'kubernetes-v1.320.1-x86-64.raw',
    ),
  ),
}

t.test('versions, architectures, streams', async (t) => {
  t.same(versionsOf(kubernetes), ['v1.320.1', 'v1.32.10', 'v1.32.2', 'v1.32', 'v1.31.4'])
  t.same(architecturesOf(kubernetes), ['x86-64', 'arm64'])
  t.same(architecturesOf({ name: 'w', images: imagesOf('w', entries('w-1-arm64.raw')) }), ['arm64'])
  t.same(
    streamsOf(kubernetes),
    ['v1.320', 'v1', 'v1.31'],
    'v1.32 names a release, so it is no stream',
  )
  t.same(
    streamsOf({ name: 'x', images: imagesOf('x', entries('x-1-x86-64.raw', 'x-.5-x86-64.raw')) }),
    [],
  )
})

/** The definition newestImage answers by lookup: a prefix at a `.` boundary. */
function inStream(version: string, stream: string): boolean {
  return version.startsWith(`${stream}.`)
}

t.test('inStream: a prefix at a . boundary', async (t) => {
  t.ok(inStream('v1.32.2', 'v1.32'))
  t.ok(inStream('v1.32.2', 'v1'))
  t.notOk(inStream('v1.320.1', 'v1.32'), 'not inside a number')
  t.notOk(inStream('v1.32', 'v1.32'), 'the version itself is not in its stream')
  t.notOk(inStream('v1.32-rc1', 'v1.32'), '- is no . boundary')
})

t.test('newestImage by architecture and stream', async (t) => {
  t.equal(newestImage(kubernetes, 'x86-64')?.file, 'kubernetes-v1.320.1-x86-64.raw')
  t.equal(newestImage(kubernetes, 'arm64')?.file, 'kubernetes-v1.32.2-arm64.raw')
  t.equal(
    newestImage(kubernetes, 'x86-64', 'v1.32')?.file,
    'kubernetes-v1.32.10-x86-64.raw',
    'numeric order: 10 > 2',
  )
  t.equal(newestImage(kubernetes, 'arm64', 'v1.32')?.file, 'kubernetes-v1.32.2-arm64.raw')
  t.equal(newestImage(kubernetes, 'arm64', 'v1.33'), undefined)
})

t.test('a BEST-BEFORE entry (sysupdate 260 and later) is not an image', async (t) => {
  // What a bakery writes to make sysupdate 260 refuse a stale list: the hash of no bytes.
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
  const sums = `${'1'.repeat(64)}  btop-1.4.0-x86-64.raw\n${empty}  BEST-BEFORE-2027-01-01\n`
  const parsed = parseManifest(new TextEncoder().encode(sums))
  t.ok(parsed.ok, 'the manifest is read, marker and all')
  const listed = parsed.ok ? parsed.entries : []
  t.same(candidateNames(listed), ['btop'], 'no extension is made of it')
  t.same(
    imagesOf('btop', listed).map((image) => image.file),
    ['btop-1.4.0-x86-64.raw'],
    'nor an image',
  )
})

t.test('newestImage by lookup answers as the scan of every image would', async (t) => {
  const part = fc.constantFrom('0', '1', '2', '10', 'v1', 'rc1', '')
  const version = fc.array(part, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'))
  const image = fc.tuple(version, fc.constantFrom(...ARCHES))
  const stream = fc.option(
    fc.array(part, { maxLength: 3 }).map((parts) => parts.join('.')),
    {
      nil: undefined,
    },
  )
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(image, { maxLength: 30 }), stream, (published, asked) => {
        const names = published.map(([v, arch]) => `e-${v}-${arch}.raw`)
        const extension = { name: 'e', images: imagesOf('e', entries(...names)) }
        for (const arch of ARCHES) {
          const scanned = extension.images.find(
            (one) => one.arch === arch && (asked === undefined || inStream(one.version, asked)),
          )
          if (newestImage(extension, arch, asked) !== scanned) return false
          const withArch = streamsOf(extension).filter((s) => newestImage(extension, arch, s))
          if (streamsOf(extension, arch).join() !== withArch.join()) return false
        }
        const ofVersion = extension.images.filter((one) => one.version === asked)
        const arches = ARCHES.filter((arch) => ofVersion.some((one) => one.arch === arch))
        if (architecturesOfVersion(extension, asked ?? '').join() !== arches.join()) return false
        return publishes(extension, asked ?? '') === versionsOf(extension).includes(asked ?? '')
      }),
      { numRuns: 2000 },
    ),
  )
})

t.test('what a page or lookup reads is made once per extension', async (t) => {
  t.equal(versionsOf(kubernetes), versionsOf(kubernetes), 'the same array, not made again')
  t.equal(streamsOf(kubernetes), streamsOf(kubernetes))
  const dotted = { name: 'x', images: imagesOf('x', entries('x-.5-x86-64.raw')) }
  t.equal(newestImage(dotted, 'x86-64', '')?.file, 'x-.5-x86-64.raw', 'an empty stream too')
})

t.test('made in turns, an extension reads as one made at once', async (t) => {
  const part = fc.constantFrom('0', '1', '2', '10', 'v1', '')
  const version = fc.array(part, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'))
  const name = fc.tuple(version, fc.constantFrom(...ARCHES)).map(([v, a]) => `e-${v}-${a}.raw`)
  await t.resolves(
    fc.assert(
      fc.asyncProperty(fc.array(name, { maxLength: 40 }), async (names) => {
        const listed = entries(...names, 'other-1-x86-64.raw')
        const atOnce = imagesOf('e', listed)
        const made = await extensionInTurns('e', listed)
        if (atOnce.length === 0) return made === undefined
        const asMade = { name: 'e', images: atOnce }
        return (
          made !== undefined &&
          JSON.stringify(made.images) === JSON.stringify(atOnce) &&
          versionsOf(made).join() === versionsOf(asMade).join() &&
          streamsOf(made).join() === streamsOf(asMade).join() &&
          ARCHES.every(
            (arch) => newestImage(made, arch) === made.images.find((i) => i.arch === arch),
          )
        )
      }),
      { numRuns: 300 },
    ),
  )
})

t.test('a big extension is made a slice at a time, the event loop turning between', async (t) => {
  const n = 30_000
  const listed = entries(...Array.from({ length: n }, (_, i) => `big-1.${i}.0-x86-64.raw`))
  let turns = 0
  let making = true
  const tick = (): void => {
    turns++
    if (making) setImmediate(tick)
  }
  setImmediate(tick)
  const made = await extensionInTurns('big', listed)
  making = false
  t.equal(made?.images.length, n)
  t.equal(made?.images[0]?.version, `1.${n - 1}.0`, 'sorted newest first')
  t.equal(newestImage(made as Extension, 'x86-64', '1.7')?.version, '1.7.0')
  // A pass over the images pauses every ITEMS_PER_TURN (2,000) of them, and
  // the sort every 20,000 comparisons: at least 15 turns for 30,000 images.
  t.ok(turns >= n / 2_000, `${turns} turns of the event loop while it was made`)
})
