import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import t from 'tap'
import { errorHandler } from '../../src/http/errors.js'
import { testApp } from '../helpers/app.js'

/** A reply that records what was sent (only sendText's calls are made). */
function fakeReply(): FastifyReply {
  const sent = { status: 0, body: '' }
  const reply = {
    code: (status: number) => ((sent.status = status), reply),
    header: () => reply,
    send: (body: string) => ((sent.body = body), sent),
  }
  return reply as unknown as FastifyReply
}

t.test('client mistakes: a 4xx and one line; our faults: a bare 500, logged', async (t) => {
  const { app, logs } = await testApp()
  t.teardown(() => app.close())
  const reply = errorHandler(
    new Error('secret internals') as FastifyError,
    { log: app.log } as FastifyRequest,
    fakeReply(),
  ) as unknown as { status: number; body: string }
  t.same([reply.status, reply.body], [500, 'internal error\n'], 'nothing of the error leaks')
  t.match(
    logs.find((line) => line.msg === 'request failed'),
    { level: 50, err: { message: 'secret internals' } },
  )
  const post = await app.inject({ method: 'POST', url: '/extensions/kubernetes.conf' })
  t.same(
    [post.statusCode, post.headers.allow, post.body],
    [405, 'GET, HEAD', 'method POST is not allowed\n'],
  )
  const refused = await app.inject('/extensions/%zz')
  t.same(
    [refused.statusCode, refused.body],
    [400, 'Bad Request: path has an invalid percent-encoding\n'],
  )
})
