import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { errorHandler } from '../../src/http/errors.js'
import { testApp } from '../helpers/app.js'
import { exchange } from '../helpers/raw-http.js'

/** A reply that records what was sent (only sendText's calls are made). */
function fakeReply(): FastifyReply {
  const sent = { status: 0, body: '' }
  const reply = {
    request: {},
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

t.test('a target the router refuses but the decision takes is answered as our 400', async (t) => {
  // Absolute-form targets with a query or fragment: the router cannot
  // decode them, while the decision reads them fine. The router's own error
  // is answered then, as any client mistake is: a 400 and one line.
  const { app } = await testApp()
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  for (const target of ['http://h/extensions/SHA256SUMS?J#8', 'http://h?#%0d%0a']) {
    t.equal(app.decider.route(target).kind === 'refused', false, `${target}: the decision takes it`)
    const response = await exchange(
      port,
      `GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
    )
    t.equal(response.status, 400, target)
    t.match(response.body, /^Bad Request: .*\n$/)
    t.notMatch(response.body, /\n./, 'one line')
  }
})
