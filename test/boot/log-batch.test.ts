import t from 'tap'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { lineBatch } from '../../src/boot/log-batch.js'

function chunksOf(minLength: number) {
  const chunks: string[] = []
  return { chunks, batch: lineBatch({ write: (chunk) => chunks.push(chunk) }, minLength) }
}

t.test('lines wait until the chunk reaches its length, then go as one write', async (t) => {
  const { chunks, batch } = chunksOf(10)
  batch.write('abcd\n')
  batch.write('efgh\n'.slice(0, 4))
  t.same(chunks, [], 'nine characters: nothing written yet')
  batch.write('\n')
  t.same(chunks, ['abcd\nefgh\n'], 'ten: one chunk, in order')
  batch.write('x\n')
  t.same(chunks, ['abcd\nefgh\n'], 'the next chunk starts empty')
})

t.test('flush hands over what is pending, and only once', async (t) => {
  const { chunks, batch } = chunksOf(4096)
  batch.flush()
  t.same(chunks, [], 'nothing pending: no empty write')
  batch.write('one\n')
  batch.write('two\n')
  batch.flush()
  batch.flush()
  t.same(chunks, ['one\ntwo\n'])
})

t.test('a line longer than the chunk goes at once', async (t) => {
  const { chunks, batch } = chunksOf(8)
  const long = `${'y'.repeat(100)}\n`
  batch.write(long)
  t.same(chunks, [long])
})

t.test("pino's own lines and lines written to its stream keep their order", async (t) => {
  const file = join(await mkdtemp(join(tmpdir(), 'log-batch-')), 'log')
  const destination = pino.destination({ dest: file, sync: true })
  const batch = lineBatch(destination, 1 << 20)
  const logger = pino({ base: null, timestamp: false }, batch)
  logger.info('first')
  batch.write('{"msg":"second"}\n')
  logger.warn('third')
  t.equal(await readFile(file, 'utf8'), '', 'still pending')
  batch.flush()
  const lines = (await readFile(file, 'utf8')).trim().split('\n')
  t.same(
    lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    ['first', 'second', 'third'],
  )
})
