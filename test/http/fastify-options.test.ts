import { createRequire } from 'node:module'
import fastify from 'fastify'
import t from 'tap'
import { noSchemas, requestIds } from '../../src/http/fastify-options.js'
import { testApp } from '../helpers/app.js'

t.test('one sequence per app, in base 36, wrapping before overflow', async (t) => {
  const next = requestIds()
  t.same([next(), next()], ['req-1', 'req-2'])
  for (let i = 3; i < 36; i++) next()
  t.equal(next(), 'req-10', '36 in base 36')
  t.equal(requestIds()(), 'req-1', 'each app its own')
})

t.test('a route with a schema stops the start, naming the route', async (t) => {
  for (const schema of [
    { querystring: { type: 'object' } },
    { response: { 200: { type: 'string' } } },
  ]) {
    const app = fastify({ schemaController: noSchemas })
    app.get('/with-schema', { schema }, async () => 'ok')
    await t.rejects(async () => {
      await app.ready()
    }, /route GET \/with-schema has a schema/)
  }
})

t.test('the app starts without loading a schema compiler', async (t) => {
  const loaded = (name: string): boolean =>
    Object.keys(createRequire(import.meta.url).cache).some((path) =>
      path.includes(`/node_modules/${name}/`),
    )
  t.ok(loaded('fastify'), 'the check sees what Fastify loads')
  const { app } = await testApp()
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  t.notOk(loaded('ajv'), 'no ajv')
  t.notOk(loaded('@fastify/ajv-compiler'), 'no validator compiler')
  t.notOk(loaded('@fastify/fast-json-stringify-compiler'), 'no serializer compiler')
})
