import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Snapshots } from '../../src/manifests/snapshots.js'
import { releasesBase } from '../../src/table/resolve.js'
import {
  bakeryAssets,
  imageBytes,
  publish,
  startBakery,
  sums,
  type BakeryRig,
} from '../helpers/bakery.js'
import { makeSigningKey } from '../helpers/signing-key.js'

/**
 * Snapshot files (manifests, signatures, transfer files) served from what
 * the service adopted, against a fake GitHub that replays both bakeries'
 * publish orders (../shared/reference/url-map.md, "Publishing is not atomic").
 */
const REPO = 'flatcar/sysext-bakery'
const MANIFEST = '/extensions/kubernetes/SHA256SUMS'
const NEW = ['kubernetes-v1.34.0-x86-64.raw', 'kubernetes-v1.34.0-arm64.raw']
const MINUTE = 60_000

function snapshotsOf(rig: BakeryRig): Snapshots {
  return rig.app.snapshots.get('bakery') as Snapshots
}

/** The names a manifest lists, and the new version's two images after them. */
function withNew(manifest: string): string[] {
  const listed = manifest
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(66))
  return [...listed, ...NEW]
}

/** The bakery's key made by gpg, and the app given its public half (SIGNING_KEYS) as a file. */
async function keyedBakery(t: Test, form: 'binary' | 'armored') {
  const key = await makeSigningKey()
  const dir = await mkdtemp(join(tmpdir(), 'sr-snapshot-keys-'))
  t.teardown(async () => {
    await key.dispose()
    await rm(dir, { recursive: true, force: true })
  })
  const keys = join(dir, form === 'binary' ? 'bakery.gpg' : 'bakery.asc')
  await writeFile(keys, form === 'binary' ? key.publicKey : key.armoredPublicKey)
  return { key, rig: await startBakery(t, { SIGNING_KEYS: keys }) }
}

/** Reads a path after the clock passed every lifetime, once the refresh behind it has answered. */
async function later(t: Test, rig: BakeryRig, path: string, ms = 10 * MINUTE) {
  rig.clock.advance(ms)
  await rig.app.inject(path)
  await snapshotsOf(rig).settled()
  const res = await rig.app.inject(path)
  t.ok(res, path)
  return res
}

t.test(
  'served, not redirected: bytes, validators, HEAD alike, 304 only to a validator',
  async (t) => {
    const rig = await startBakery(t)
    rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature bytes')
    const expected = bakeryAssets().kubernetes as Record<string, string>
    const res = await rig.app.inject(MANIFEST)
    t.equal(res.statusCode, 200)
    t.equal(res.body, expected.SHA256SUMS)
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(res.headers['cache-control'], 'public, max-age=10')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.match(res.headers.etag, /^"[\w-]{27}"$/)
    t.ok(Date.parse(res.headers['last-modified'] as string) > 0, 'the origin Last-Modified')
    t.notOk(res.headers.location)
    const head = await rig.app.inject({ method: 'HEAD', url: MANIFEST })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '')
    t.equal(head.headers.etag, res.headers.etag)
    t.equal(
      head.headers['content-length'],
      String(Buffer.byteLength(expected.SHA256SUMS as string)),
    )
    for (const headers of [
      { 'if-none-match': res.headers.etag as string },
      { 'if-none-match': `"other", W/${res.headers.etag as string}` },
      { 'if-modified-since': res.headers['last-modified'] as string },
    ]) {
      const again = await rig.app.inject({ url: MANIFEST, headers })
      t.equal(again.statusCode, 304, JSON.stringify(headers))
      t.equal(again.body, '')
      t.equal(again.headers.etag, res.headers.etag)
    }
    for (const headers of [{ 'if-none-match': '"other"' }, { 'if-modified-since': 'garbage' }]) {
      t.equal((await rig.app.inject({ url: MANIFEST, headers })).statusCode, 200)
    }
    const signature = await rig.app.inject('/extensions/kubernetes/SHA256SUMS.gpg')
    t.equal(signature.statusCode, 200)
    t.equal(signature.body, 'signature bytes')
    t.equal(signature.headers['content-type'], 'application/octet-stream')
    const armored = await rig.app.inject('/extensions/kubernetes/SHA256SUMS.asc')
    t.equal(armored.statusCode, 404, 'a signature the origin does not have: a clean 404')
    t.match(armored.body, 'Not Found: release kubernetes has no asset SHA256SUMS.asc')
    const transfer = await rig.app.inject('/extensions/kubernetes.conf')
    t.equal(transfer.statusCode, 200)
    t.equal(transfer.body, '[Transfer]\n')
    const global = await rig.app.inject('/extensions/SHA256SUMS')
    t.equal(global.body, bakeryAssets().SHA256SUMS?.SHA256SUMS)
    t.equal((await rig.app.inject('/extensions/nosuch.conf')).statusCode, 404)
  },
)

t.test('with UPSTREAM_CHECKS=false (the Caddy-compatible mode) they stay redirects', async (t) => {
  const rig = await startBakery(t, { UPSTREAM_CHECKS: 'false' })
  const res = await rig.app.inject(MANIFEST)
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, `${releasesBase(rig.github.url, REPO)}/kubernetes/SHA256SUMS`)
})

t.test(
  'a release deleted and made again (Fedora): the held copy is served meanwhile',
  async (t) => {
    const rig = await startBakery(t)
    const before = await rig.app.inject(MANIFEST)
    const conf = await rig.app.inject('/extensions/kubernetes.conf')
    rig.github.removeAsset('kubernetes', 'SHA256SUMS')
    rig.github.removeAsset('kubernetes', 'kubernetes.conf')
    for (const path of [MANIFEST, '/extensions/kubernetes.conf']) {
      const during = await later(t, rig, path)
      t.equal(during.statusCode, 200, `${path}: still served`)
      t.equal(during.body, path === MANIFEST ? before.body : conf.body)
    }
    // The release is back, with one version more.
    publish(rig.github, { kubernetes: { 'v1.34.0': ['x86-64', 'arm64'] } })
    const all = sums(withNew(before.body))
    rig.github.addAsset('kubernetes', 'SHA256SUMS', all)
    rig.github.addAsset('kubernetes', 'kubernetes.conf', '[Transfer]\nv2\n')
    t.equal((await later(t, rig, MANIFEST)).body, all)
    t.equal((await later(t, rig, '/extensions/kubernetes.conf')).body, '[Transfer]\nv2\n')
  },
)

t.test(
  'a manifest listing images not uploaded yet (Flatcar) is held back until they are',
  async (t) => {
    const rig = await startBakery(t)
    const before = await rig.app.inject(MANIFEST)
    const newest = await rig.app.inject('/extensions/kubernetes.raw')
    t.match(newest.headers.location, /kubernetes-v1\.33\.0-x86-64\.raw$/)
    // The bakery uploads the manifest first, its images after.
    const names = withNew(before.body)
    rig.github.addAsset('kubernetes', 'SHA256SUMS', sums(names))
    const during = await later(t, rig, MANIFEST)
    t.equal(during.body, before.body, 'the adopted manifest, not the half-published one')
    t.match(snapshotsOf(rig).heldBack('kubernetes'), /2 new file\(s\) not at the origin yet/)
    rig.clock.advance(5000)
    const scraped = await rig.app.metrics.registry.metrics()
    t.match(
      scraped,
      /^sysext_redirector_snapshot_held_back_seconds\{source="bakery",release="kubernetes",cause="files"\} 5$/m,
      'a metric says which is held back, and why',
    )
    const still = await rig.app.inject('/extensions/kubernetes.raw')
    t.equal(
      still.headers.location,
      newest.headers.location,
      'the newest name reads the same snapshot',
    )
    t.ok(
      rig.logs.some((line) => line.msg === 'holding back a new revision of a manifest'),
      'the log says which and why',
    )
    for (const name of NEW) rig.github.addAsset('kubernetes-v1.34.0', name, imageBytes(name))
    const after = await later(t, rig, MANIFEST)
    t.equal(after.body, sums(names), 'adopted once whole')
    t.equal(snapshotsOf(rig).heldBack('kubernetes'), undefined)
    t.notMatch(await rig.app.metrics.registry.metrics(), /release="kubernetes",cause=/, 'no longer')
    const moved = await rig.app.inject('/extensions/kubernetes.raw')
    t.match(moved.headers.location, /kubernetes-v1\.34\.0-x86-64\.raw$/)
  },
)

t.test(
  'an unsigned manifest whose new files stay missing is adopted without them past the bound',
  async (t) => {
    const rig = await startBakery(t, { SNAPSHOT_HOLD_MAX: '20m' })
    const before = await rig.app.inject(MANIFEST)
    const names = withNew(before.body)
    rig.github.addAsset('kubernetes', 'SHA256SUMS', sums(names))
    // Only one of the two new images ever arrives (the bakery's issue 232).
    rig.github.addAsset('kubernetes-v1.34.0', NEW[0] as string, imageBytes(NEW[0] as string))
    t.equal((await later(t, rig, MANIFEST)).body, before.body, 'held back within the bound')
    const past = await later(t, rig, MANIFEST, 30 * MINUTE)
    t.equal(
      past.body,
      sums(names.filter((name) => name !== NEW[1])),
      'adopted without the missing one',
    )
    t.equal(past.headers['x-snapshot-omitted'], NEW[1])
    t.ok(
      rig.logs.some(
        (line) => line.msg === 'adopting a manifest without entries the origin still lacks',
      ),
    )
  },
)

t.test('a signed manifest is never altered: the last whole pair stays', async (t) => {
  const rig = await startBakery(t, { SNAPSHOT_HOLD_MAX: '20m' })
  rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature 1')
  const before = await rig.app.inject(MANIFEST)
  const names = withNew(before.body)
  rig.github.addAsset('kubernetes', 'SHA256SUMS', sums(names))
  rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature 2')
  const past = await later(t, rig, MANIFEST, 30 * MINUTE)
  t.equal(past.body, before.body, 'held back, whole')
  t.equal((await rig.app.inject('/extensions/kubernetes/SHA256SUMS.gpg')).body, 'signature 1')
})

t.test('a manifest that does not parse is never adopted; the held copy stays', async (t) => {
  const rig = await startBakery(t)
  const before = await rig.app.inject(MANIFEST)
  rig.github.addAsset('kubernetes', 'SHA256SUMS', 'not a manifest\r\n')
  const during = await later(t, rig, MANIFEST)
  t.equal(during.statusCode, 200)
  t.equal(during.body, before.body)
})

t.test(
  'a webhook starts adoption at once; a held copy is served while GitHub is slow',
  async (t) => {
    const rig = await startBakery(t, { GITHUB_WEBHOOK_SECRET: 'secret' })
    const before = await rig.app.inject(MANIFEST)
    t.equal((await rig.app.inject('/extensions/kubernetes/')).statusCode, 200)
    rig.github.fault({ kind: 'hang' })
    const dropped = rig.app.manifestIndex?.invalidate('kubernetes') ?? []
    t.ok(dropped.includes('kubernetes'))
    snapshotsOf(rig).invalidate('kubernetes')
    const started = performance.now()
    const during = await rig.app.inject(MANIFEST)
    t.equal(during.body, before.body, 'the held copy, at once')
    t.ok(performance.now() - started < 1000)
    const page = await rig.app.inject('/extensions/kubernetes/')
    t.equal(page.statusCode, 200, 'the directory page too, from the held copies')
    t.ok(performance.now() - started < 1000, 'without waiting for GitHub')
    rig.github.fault(null)
  },
)

t.test(
  'with signing keys: only a verified pair is adopted, and only verified signatures are served',
  async (t) => {
    const { key, rig } = await keyedBakery(t, 'binary')
    const v1 = (bakeryAssets().kubernetes as Record<string, string>).SHA256SUMS as string
    const v1Signature = await key.sign(v1)
    rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', v1Signature)
    rig.github.addAsset('kubernetes', 'SHA256SUMS.asc', 'a stale signature of nothing')
    t.equal((await rig.app.inject(MANIFEST)).body, v1)
    const gpg = await rig.app.inject(`${MANIFEST}.gpg`)
    t.equal(gpg.statusCode, 200)
    t.same(gpg.rawPayload, v1Signature)
    const asc = await rig.app.inject(`${MANIFEST}.asc`)
    t.equal(asc.statusCode, 404, 'a signature that verifies nothing is never served')

    // The Flatcar order: the manifest, then its images, its signature last.
    const names = withNew(v1)
    const v2 = sums(names)
    rig.github.addAsset('kubernetes', 'SHA256SUMS', v2)
    for (const name of NEW) rig.github.addAsset('kubernetes-v1.34.0', name, imageBytes(name))
    t.equal(
      (await later(t, rig, MANIFEST)).body,
      v1,
      'held back: the old signature does not cover it',
    )
    t.match(
      snapshotsOf(rig).heldBack('kubernetes'),
      /no signature verifies against the signing keys/,
    )
    t.same(
      (await rig.app.inject(`${MANIFEST}.gpg`)).rawPayload,
      v1Signature,
      'the pair stays whole',
    )
    const v2Signature = await key.sign(v2)
    rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', v2Signature)
    t.equal((await later(t, rig, MANIFEST)).body, v2, 'adopted with its own signature')
    t.same((await rig.app.inject(`${MANIFEST}.gpg`)).rawPayload, v2Signature)
    t.equal(snapshotsOf(rig).heldBack('kubernetes'), undefined)
  },
)

t.test(
  'with signing keys, a manifest no signature covers is never served, even first',
  async (t) => {
    const { rig } = await keyedBakery(t, 'armored')
    const res = await rig.app.inject(MANIFEST)
    t.equal(res.statusCode, 503, 'unsigned: nothing to serve yet')
    t.equal(res.headers['retry-after'], '15')
    t.match(res.body, /cannot be read from GitHub yet/)
  },
)

t.test('a client asking for a signature gets the one of the manifest it was given', async (t) => {
  const rig = await startBakery(t)
  const v1 = (bakeryAssets().kubernetes as Record<string, string>).SHA256SUMS as string
  rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature of v1')
  const a = '192.0.2.1'
  const b = '192.0.2.2'
  const ask = async (path: string, remoteAddress: string) =>
    (await rig.app.inject({ url: path, remoteAddress })).body
  t.equal(await ask(MANIFEST, a), v1, 'client A holds the first revision')
  // The bakery publishes again; the service adopts the new pair between A's two requests.
  const names = withNew(v1)
  for (const name of NEW) rig.github.addAsset('kubernetes-v1.34.0', name, imageBytes(name))
  rig.github.addAsset('kubernetes', 'SHA256SUMS', sums(names))
  rig.github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature of v2')
  t.equal((await later(t, rig, MANIFEST)).body, sums(names), 'the service moved on')
  t.equal(await ask(`${MANIFEST}.gpg`, a), 'signature of v1', 'A: the signature of what it holds')
  t.equal(await ask(`${MANIFEST}.gpg`, b), 'signature of v2', 'B, new: the adopted one')
  const memory = snapshotsOf(rig)
  const signatureNow = (client: string) => {
    const held = memory.readNow('kubernetes', 'SHA256SUMS.gpg', client)
    return held?.state === 'ok' ? Buffer.from(held.file.bytes).toString() : held
  }
  t.equal(signatureNow(a), 'signature of v1', 'from memory (the lane) alike')
  t.equal(await ask(MANIFEST, a), sums(names), 'A reads the manifest again')
  t.equal(await ask(`${MANIFEST}.gpg`, a), 'signature of v2', 'and then gets its signature')
  t.equal(signatureNow(a), 'signature of v2')
  const manifestNow = memory.readNow('kubernetes', 'SHA256SUMS', b)
  t.match(manifestNow, { state: 'ok' }, 'a manifest from memory is remembered as given too')
})
