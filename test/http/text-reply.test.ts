import fastify from 'fastify'
import t from 'tap'
import { sendText } from '../../src/http/text-reply.js'

t.test('one line of plain text, never sniffed, not cached unless said', async (t) => {
  const app = fastify()
  app.get('/a', (_request, reply) => sendText(reply, 404, 'Not Found: x'))
  app.get('/b', (_request, reply) => sendText(reply, 404, 'gone', 'public, max-age=30'))
  t.teardown(() => app.close())
  const a = await app.inject('/a')
  t.same(
    [
      a.statusCode,
      a.body,
      a.headers['content-type'],
      a.headers['x-content-type-options'],
      a.headers['cache-control'],
    ],
    [404, 'Not Found: x\n', 'text/plain; charset=utf-8', 'nosniff', 'no-store'],
  )
  t.equal((await app.inject('/b')).headers['cache-control'], 'public, max-age=30')
})
