import { createRequire } from 'node:module'
import fastify from 'fastify'
import t from 'tap'
import { noSchemas } from '../../src/http/no-schemas.js'
import { testApp } from '../helpers/app.js'

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
