import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import fastify from 'fastify'
import t, { type Test } from 'tap'
import { MAX_IN_FLIGHT, registerGithubHook } from '../../src/webhooks/github.js'
import { sign } from '../../src/webhooks/signature.js'
import { openSocket, readResponse } from '../helpers/raw-http.js'

/*
 * Issue 15, finding 1: with GITHUB_WEBHOOK_SECRET set, each POST /hooks/github
 * body (up to 1 MiB) was buffered before its signature was checked, with no
 * bound on how many at once: 400 never-finished deliveries with a bogus
 * signature took the service from 66 to 291 MiB. Now a delivery without a
 * signature is refused before its body is read, at most MAX_IN_FLIGHT are
 * read at once, each must arrive in time, and the signature is checked as
 * the body streams. (bench/stress/webhook-flood.ts measures the memory.)
 */

const SECRET = 'It is a secret to everybody'
const MIB = 1024 * 1024

async function hook(t: Test) {
  const app = fastify()
  const dropped: string[] = []
  registerGithubHook(app, {
    secret: SECRET,
    maxBytes: MIB,
    bodyTimeoutMs: 300,
    sourceOf: () => 'bakery',
    invalidate: ({ tag }) => {
      dropped.push(tag)
      return { manifests: [tag], checks: 0 }
    },
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { port: (app.server.address() as AddressInfo).port, dropped }
}

/** A delivery's head, announcing a 1 MiB body (none of which is sent yet). */
function head(signature: string | null, length = MIB): string {
  return [
    'POST /hooks/github HTTP/1.1',
    'Host: hook.test',
    'Content-Type: application/json',
    'X-GitHub-Event: release',
    `X-GitHub-Delivery: ${randomUUID()}`,
    ...(signature === null ? [] : [`X-Hub-Signature-256: ${signature}`]),
    `Content-Length: ${length}`,
    '',
    '',
  ].join('\r\n')
}

const BOGUS = `sha256=${'0'.repeat(64)}`

t.test('no signature: 401 before a byte of the body is read', async (t) => {
  const { port } = await hook(t)
  for (const signature of [null, 'sha1=abc', `sha256=${'z'.repeat(64)}`]) {
    const socket = await openSocket(port)
    socket.write(head(signature))
    const res = await readResponse(socket)
    t.equal(res.status, 401, String(signature))
    t.equal(res.headers.connection, 'close', 'and the connection closes: the body is never read')
    socket.destroy()
  }
})

t.test(`at most ${MAX_IN_FLIGHT} bodies read at once; the rest get 503 at once`, async (t) => {
  const { port } = await hook(t)
  const held = []
  for (let i = 0; i < MAX_IN_FLIGHT; i++) {
    const socket = await openSocket(port)
    socket.write(head(BOGUS))
    socket.write('x'.repeat(1000)) // and never the rest
    held.push(socket)
  }
  await new Promise((resolve) => setTimeout(resolve, 50))
  const extra = await openSocket(port)
  extra.write(head(BOGUS))
  const res = await readResponse(extra)
  t.equal(res.status, 503)
  t.equal(res.headers['retry-after'], '1')
  extra.destroy()

  // Each held one is given up when its time is over.
  const answers = await Promise.all(held.map((socket) => readResponse(socket)))
  t.same(
    answers.map((answer) => answer.status),
    held.map(() => 408),
    'too slow: 408, and the body read so far is dropped',
  )
  for (const socket of held) socket.destroy()
})

t.test('a complete body with a wrong signature: 401; a right one is acted on', async (t) => {
  const { port, dropped } = await hook(t)
  const body = JSON.stringify({ action: 'published', release: { tag_name: 'k-1' } })
  const bogus = await openSocket(port)
  bogus.write(head(BOGUS, Buffer.byteLength(body)) + body)
  t.equal((await readResponse(bogus)).status, 401)
  bogus.destroy()
  const good = await openSocket(port)
  good.write(head(sign(SECRET, body), Buffer.byteLength(body)) + body)
  const res = await readResponse(good)
  t.equal(res.status, 200)
  t.match(res.body, /^OK: release k-1 published/)
  t.same(dropped, ['k-1'])
  good.destroy()
})

t.test('a chunked body over the limit is cut off while it streams: 413', async (t) => {
  const { port } = await hook(t)
  const socket = await openSocket(port)
  // No Content-Length to refuse it by: the limit is met as the chunks come.
  socket.write(head(BOGUS).replace(`Content-Length: ${MIB}`, 'Transfer-Encoding: chunked'))
  const chunk = Buffer.alloc(64 * 1024, 'x')
  for (let i = 0; i < 17; i++)
    socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`)
  const res = await readResponse(socket)
  t.equal(res.status, 413)
  t.equal(res.headers.connection, 'close')
  socket.destroy()
})
