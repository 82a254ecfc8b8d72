import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { OWN, Tree } from '../../src/mirror/tree.js'

async function folder(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tree-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** An object made as a verified download is. */
async function object(tree: Tree, sha: string, bytes: string): Promise<void> {
  await writeFile(tree.partialPath(sha), bytes)
  await tree.finishObject(sha)
}

t.test(
  'files by rename, images as links; a second run removes what it no longer writes',
  async (t) => {
    const dir = await folder(t)
    const tree = await Tree.open(dir)
    await object(tree, 'aa', 'image a')
    await tree.placeImage('/extensions/a.raw', 'aa')
    await tree.placeImage('/extensions/a.raw', 'aa')
    await tree.placeFile('/extensions/SHA256SUMS', Buffer.from('aa  a.raw\n'))
    await tree.placeFile('/extensions/SHA256SUMS', Buffer.from('aa  a.raw\n'))
    t.same(await tree.finish(), { removed: 0 })
    await tree.close()
    t.same(
      (await readdir(join(dir, 'extensions'))).sort(),
      ['SHA256SUMS', 'a.raw'],
      'no temporary left',
    )
    const state = JSON.parse(await readFile(join(dir, OWN, 'state.json'), 'utf8'))
    t.same(state, { files: { '/extensions/a.raw': 'aa', '/extensions/SHA256SUMS': null } })

    const next = await Tree.open(dir)
    await object(next, 'bb', 'image b')
    await next.placeImage('/extensions/b.raw', 'bb')
    t.same(await next.finish(), { removed: 2 })
    await next.close()
    t.same(await readdir(join(dir, 'extensions')), ['b.raw'])
    t.same(await readdir(join(dir, OWN, 'objects')), ['bb'], 'and the bytes no file names')
  },
)

t.test(
  'an object removed by hand is taken back from the tree file the last run wrote',
  async (t) => {
    const dir = await folder(t)
    const tree = await Tree.open(dir)
    await object(tree, 'aa', 'image a')
    await tree.placeImage('/extensions/a.raw', 'aa')
    await tree.finish()
    await tree.close()
    await rm(join(dir, OWN, 'objects', 'aa'))
    const next = await Tree.open(dir)
    t.equal(await next.hasObject('bb', ['/extensions/a.raw']), false, 'not for another digest')
    t.equal(await next.hasObject('aa', ['/extensions/gone.raw', '/extensions/a.raw']), true)
    t.equal(
      (await stat(next.objectPath('aa'))).ino,
      (await stat(join(dir, 'extensions/a.raw'))).ino,
    )
    await rm(join(dir, 'extensions/a.raw'))
    await rm(next.objectPath('aa'))
    t.equal(
      await next.hasObject('aa', ['/extensions/a.raw']),
      false,
      'gone from both: downloaded again',
    )
    await next.close()
  },
)

t.test('a path that would leave DIR, or enter the command’s own folder, is refused', async (t) => {
  const dir = await folder(t)
  const tree = await Tree.open(dir)
  for (const path of ['/extensions/../../etc/passwd', '/./x', `/${OWN}/state.json`]) {
    await t.rejects(tree.placeFile(path, Buffer.from('x')), {
      code: 'SR_MIRROR_FAILED',
      message: `refused to write ${path}: not a path in DIR`,
    })
  }
  await tree.close()
})

t.test('a state file that cannot be read is an empty one', async (t) => {
  const dir = await folder(t)
  await (await Tree.open(dir)).close()
  await writeFile(join(dir, OWN, 'state.json'), '{}')
  const tree = await Tree.open(dir)
  t.same(await tree.finish(), { removed: 0 })
  await tree.close()
})

t.test('DIR whose own folder is a file, or whose lock is in the way, says why', async (t) => {
  const dir = await folder(t)
  await writeFile(join(dir, OWN), 'not a folder')
  await t.rejects(Tree.open(dir), {
    code: 'SR_MIRROR_DIR',
    message: `cannot write to DIR ${dir}: a part of its path is not a folder (ENOTDIR)`,
  })
  await rm(join(dir, OWN))
  await mkdir(join(dir, OWN, 'lock'), { recursive: true })
  await t.rejects(Tree.open(dir), {
    code: 'SR_MIRROR_DIR',
    message: `DIR ${dir}: ${join(dir, OWN, 'lock')} is in the way; remove it if no mirror run is writing DIR`,
  })
})
