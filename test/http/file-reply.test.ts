import t from 'tap'
import { startBakery } from '../helpers/bakery.js'

/** How a snapshot file is written: its type by its name, whatever the query. */
t.test('signatures as OpenPGP says, the rest plain text; the query changes nothing', async (t) => {
  const { app, github } = await startBakery(t)
  github.addAsset('SHA256SUMS', 'SHA256SUMS.asc', '-----BEGIN PGP SIGNATURE-----\n')
  github.addAsset('SHA256SUMS', 'SHA256SUMS.gpg', Buffer.from([0x89, 0x02]))
  const types: [string, string][] = [
    ['/extensions/SHA256SUMS.asc', 'application/pgp-signature'],
    ['/extensions/SHA256SUMS.asc?x=.txt', 'application/pgp-signature'],
    ['/extensions/SHA256SUMS.gpg', 'application/octet-stream'],
    ['/extensions/SHA256SUMS?x=.asc', 'text/plain; charset=utf-8'],
    ['/extensions/docker.conf', 'text/plain; charset=utf-8'],
  ]
  for (const [path, type] of types) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 200, path)
    t.equal(res.headers['content-type'], type, path)
  }
  const binary = await app.inject('/extensions/SHA256SUMS.gpg')
  t.same([...binary.rawPayload], [0x89, 0x02], 'binary bytes as they are')
})
