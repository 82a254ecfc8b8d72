import t from 'tap'
import { mebibytes, NO_PROGRESS, progressBar } from '../../src/mirror/progress.js'

t.test('the bar is redrawn at most every 100 ms, and when the last image is done', async (t) => {
  const drawn: string[] = []
  let now = 0
  const bar = progressBar({ write: (text) => drawn.push(text), columns: 200 }, () => now)
  bar.start(2)
  t.equal(drawn.at(-1), '\r\x1b[Kmirror [------------------------] 0/2 images, 0.0 MiB ')
  bar.bytes(1024 * 1024)
  t.equal(drawn.length, 1, 'too soon to redraw')
  now = 150
  bar.bytes(1024 * 1024)
  t.equal(drawn.at(-1), '\r\x1b[Kmirror [------------------------] 0/2 images, 2.0 MiB ')
  bar.done('a.raw')
  t.equal(drawn.length, 2, 'too soon again')
  bar.done('b.raw')
  t.equal(drawn.at(-1), '\r\x1b[Kmirror [########################] 2/2 images, 2.0 MiB b.raw')
  bar.end()
  t.equal(drawn.at(-1), '\r\x1b[K')
})

t.test('a narrow terminal gets the line cut to fit; nothing to do is a full bar', async (t) => {
  const drawn: string[] = []
  const bar = progressBar({ write: (text) => drawn.push(text), columns: 20 })
  bar.start(0)
  t.equal(
    drawn[0],
    `\r\x1b[Kmirror [${'#'.repeat(11)}`,
    'nineteen columns: the cursor stays on the line',
  )
  const unsized: string[] = []
  progressBar({ write: (text) => unsized.push(text) }).start(1)
  t.ok((unsized[0] as string).length <= 80 + 4, 'eighty columns when the terminal does not say')
})

t.test('no progress: nothing at all', async (t) => {
  NO_PROGRESS.start(1)
  NO_PROGRESS.bytes(1)
  NO_PROGRESS.done('a')
  NO_PROGRESS.end()
  t.equal(mebibytes(1536 * 1024), '1.5 MiB')
})
