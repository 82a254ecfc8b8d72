import fastify from 'fastify'
import t from 'tap'
import { sendText, writeReply } from '../../src/response/reply.js'
import { NO_LABELS, textResponse, type Response } from '../../src/response/response.js'

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

t.test(
  'a response is written as it is, kept on the request, its warning logged once',
  async (t) => {
    const warnings: unknown[] = []
    const app = fastify()
    app.decorateRequest('response', null)
    const redirect: Response = {
      status: 302,
      headers: [
        ['x-content-type-options', 'nosniff'],
        ['location', 'https://example.org/a'],
        ['cache-control', 'no-store'],
      ],
      body: '',
      labels: { ...NO_LABELS, rule: 'raw', location: 'https://example.org/a' },
      warning: { details: { location: 'https://example.org/a' }, message: 'unconfirmed' },
    }
    let kept: Response | null = null
    app.get('/r', (request, reply) => {
      reply.log.warn = ((details: unknown, message: string) => {
        warnings.push([details, message])
      }) as typeof reply.log.warn
      writeReply(reply, redirect)
      kept = request.response
    })
    app.get('/bytes', (_request, reply) =>
      writeReply(reply, { ...textResponse(200, ''), body: Buffer.from([0, 1, 2]) }),
    )
    t.teardown(() => app.close())
    const res = await app.inject('/r')
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, 'https://example.org/a')
    t.equal(res.headers['content-type'], undefined, 'an empty body gets no type of Fastify’s')
    t.equal(res.headers['content-length'], '0')
    t.equal(res.body, '')
    t.equal(kept, redirect, 'the request keeps the response written')
    t.same(warnings, [[{ location: 'https://example.org/a' }, 'unconfirmed']])
    const head = await app.inject({ method: 'HEAD', url: '/bytes' })
    t.equal(head.headers['content-length'], '3', 'HEAD: the length of what GET sends')
    t.equal(head.body, '', 'and no body')
    t.same([...(await app.inject('/bytes')).rawPayload], [0, 1, 2], 'bytes as they are')
  },
)
