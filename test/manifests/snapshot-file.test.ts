import t from 'tap'
import { clientHasIt, snapshotFile, withoutEntries } from '../../src/manifests/snapshot-file.js'

const line = (name: string, mark = ' '): string => `${'b'.repeat(64)} ${mark}${name}\n`

t.test('the ETag is the bytes’ own: the same bytes, the same tag', async (t) => {
  const a = snapshotFile(Buffer.from('one\n'), 'Sun, 06 Dec 2026 10:00:00 GMT')
  t.equal(a.etag, snapshotFile(Buffer.from('one\n')).etag)
  t.not(a.etag, snapshotFile(Buffer.from('two\n')).etag)
  t.match(a.etag, /^"[\w-]{27}"$/)
  t.equal(a.lastModified, 'Sun, 06 Dec 2026 10:00:00 GMT', 'the origin’s date when it sent one')
  t.ok(Date.parse(snapshotFile(Buffer.from('x')).lastModified) > 0, 'else now')
  t.same(a.omitted, [])
})

t.test('a manifest without some entries keeps every other line as it was', async (t) => {
  const file = snapshotFile(Buffer.from(line('a.raw') + line('b.raw', '*') + line('c.raw')), 'D')
  const without = withoutEntries(file, new Set(['b.raw', 'c.raw']))
  t.equal(Buffer.from(without.bytes).toString(), line('a.raw'))
  t.same(without.omitted, ['b.raw', 'c.raw'])
  t.equal(without.lastModified, 'D')
  t.not(without.etag, file.etag)
})

t.test('a client has the file when its validator matches', async (t) => {
  const file = snapshotFile(Buffer.from('x'), 'Sun, 06 Dec 2026 10:00:00 GMT')
  t.ok(clientHasIt(file, file.etag, undefined))
  t.ok(clientHasIt(file, ` *`, undefined))
  t.ok(clientHasIt(file, `"a", W/${file.etag}`, undefined))
  t.notOk(clientHasIt(file, '"a"', 'Sun, 06 Dec 2026 11:00:00 GMT'), 'If-None-Match wins')
  t.ok(clientHasIt(file, undefined, 'Sun, 06 Dec 2026 10:00:00 GMT'))
  t.notOk(clientHasIt(file, undefined, 'Sun, 06 Dec 2026 09:59:59 GMT'))
  t.notOk(clientHasIt(file, undefined, 'yesterday'))
  t.notOk(clientHasIt(file, undefined, undefined), 'no validator: the bytes')
})
