import t from 'tap'
import { testApp } from '../helpers/app.js'
import { startBakery } from '../helpers/bakery.js'

t.test('the index is on by default and reads the table’s manifests; off, it is null', async (t) => {
  const { app, github } = await startBakery(t)
  t.not(app.manifestIndex, null)
  t.equal((await app.inject('/extensions/kubernetes.raw')).statusCode, 302)
  t.ok(
    github.count('GET', 'SHA256SUMS', 'SHA256SUMS') > 0,
    'the global manifest, where the table says',
  )
  const { app: off } = await testApp({ MANIFEST_INDEX: 'false' })
  t.teardown(() => off.close())
  t.equal(off.manifestIndex, null)
})
