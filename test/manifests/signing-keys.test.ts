import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readVerifier, readVerifiers } from '../../src/manifests/signing-keys.js'
import { makeSigningKey } from '../helpers/signing-key.js'

const dir = await mkdtemp(join(tmpdir(), 'sr-keys-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const bakery = await makeSigningKey('bakery')
const stranger = await makeSigningKey('stranger')
t.teardown(() => Promise.all([bakery.dispose(), stranger.dispose()]))

const MANIFEST = Buffer.from(`${'a'.repeat(64)}  k-1-x86-64.raw\n`)

async function keyFile(name: string, bytes: string | Buffer): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return path
}

const setting = (path: string) => ({ path, setting: 'SIGNING_KEYS' })

t.test('signatures gpg makes verify against the keys gpg exports, binary or armored', async (t) => {
  for (const [name, key] of [
    ['keys.gpg', bakery.publicKey],
    ['keys.asc', bakery.armoredPublicKey],
  ] as const) {
    const verify = await readVerifier(setting(await keyFile(name, key)))
    t.ok(await verify(MANIFEST, await bakery.sign(MANIFEST)), `${name}: a .gpg signature`)
    t.ok(await verify(MANIFEST, await bakery.sign(MANIFEST, true)), `${name}: an .asc signature`)
    t.notOk(
      await verify(Buffer.from('other\n'), await bakery.sign(MANIFEST)),
      'not over these bytes',
    )
    t.notOk(await verify(MANIFEST, await stranger.sign(MANIFEST)), 'by another key')
    t.notOk(await verify(MANIFEST, Buffer.from('not a signature')), 'garbage')
    t.notOk(
      await verify(MANIFEST, Buffer.from('-----BEGIN PGP SIGNATURE-----\nbroken\n')),
      'broken armor',
    )
  }
})

t.test('several keys in one file: a signature by any of them verifies', async (t) => {
  const both = Buffer.concat([bakery.publicKey, stranger.publicKey])
  const verifiers = await readVerifiers({ bakery: setting(await keyFile('both.gpg', both)) })
  const verify = verifiers.get('bakery')
  t.ok(await verify?.(MANIFEST, await stranger.sign(MANIFEST)))
  t.ok(await verify?.(MANIFEST, await bakery.sign(MANIFEST)))
  t.same(await readVerifiers({}), new Map(), 'no keys: nothing read')
})

t.test('a key file that cannot be used stops the start, naming the setting', async (t) => {
  await t.rejects(readVerifier(setting(join(dir, 'nosuch.asc'))), {
    code: 'SR_CONFIG_INVALID',
    message:
      /^SIGNING_KEYS=".*nosuch\.asc" cannot be read \(ENOENT\): expected a file of OpenPGP public keys/,
  })
  await t.rejects(readVerifier(setting(await keyFile('garbage.asc', 'hello\n'))), {
    code: 'SR_CONFIG_INVALID',
    message: /garbage\.asc" holds no OpenPGP public key/,
  })
  await t.rejects(
    readVerifier({
      path: await keyFile('armor.asc', '-----BEGIN PGP PUBLIC KEY BLOCK-----\n'),
      setting: 'source "fedora" signing-keys',
    }),
    { message: /^source "fedora" signing-keys=".*armor\.asc" holds no OpenPGP public key/ },
  )
})
