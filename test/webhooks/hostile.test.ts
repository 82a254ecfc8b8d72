import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import fastify from 'fastify'
import t, { type Test } from 'tap'
import {
  MAX_IN_FLIGHT,
  registerGithubHook,
  WAITING,
  WAITING_PER_ADDRESS,
} from '../../src/webhooks/github.js'
import { sign } from '../../src/webhooks/signature.js'
import { testApp } from '../helpers/app.js'
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

// Long enough that nothing but a hanging delivery meets it on a busy machine: a 1 MiB
// chunked body once took longer than 300 ms to stream in, and got 408 for 413.
async function hook(t: Test, bodyTimeoutMs = 2_000) {
  const app = fastify()
  const dropped: string[] = []
  registerGithubHook(app, {
    secret: SECRET,
    maxBytes: MIB,
    bodyTimeoutMs,
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

/** A delivery that declares a body and sends only its first kilobyte, from `from`. */
async function hanging(t: Test, port: number, from: string) {
  const socket = await openSocket(port, '127.0.0.1', from)
  socket.write(head(BOGUS))
  socket.write('x'.repeat(1000)) // and never the rest
  t.teardown(() => socket.destroy())
  return socket
}

/** A complete, correctly signed delivery, from `from`; resolves with its answer. */
async function genuine(port: number, from: string, tag = 'k-1') {
  const body = JSON.stringify({ action: 'published', release: { tag_name: tag } })
  const socket = await openSocket(port, '127.0.0.1', from)
  socket.write(head(sign(SECRET, body), Buffer.byteLength(body)) + body)
  const res = await readResponse(socket)
  socket.destroy()
  return res
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

t.test(`at most ${MAX_IN_FLIGHT} bodies read at once, one per address`, async (t) => {
  const { port } = await hook(t, 60_000)
  // Issue 29, finding 2: four such connections held every slot, and a
  // genuine delivery got 503 (GitHub does not retry it).
  const held = []
  for (let i = 0; i < 1 + WAITING_PER_ADDRESS; i++) held.push(await hanging(t, port, '127.0.0.2'))
  await settle()
  const res = await genuine(port, '127.0.0.1')
  t.equal(res.status, 200, 'one address holds one slot: the others are free')
  const extra = await hanging(t, port, '127.0.0.2')
  const refused = await readResponse(extra)
  t.equal(refused.status, 503, `beyond ${WAITING_PER_ADDRESS} waiting from one address: refused`)
  t.equal(refused.headers['retry-after'], '1')
  t.match(refused.body, /from this address/)
  // Gone, the holder and those waiting: the address's next delivery is read at once.
  for (const socket of held) socket.destroy()
  await settle()
  t.equal((await genuine(port, '127.0.0.2', 'k-2')).status, 200)
})

t.test('a genuine delivery gets through while every slot is held', async (t) => {
  const { port, dropped } = await hook(t)
  const held = []
  for (let i = 0; i < MAX_IN_FLIGHT; i++) held.push(await hanging(t, port, `127.0.0.${2 + i}`))
  await settle()
  // It waits its turn: the first slot freed (a body too slow) is its.
  const res = await genuine(port, '127.0.0.1')
  t.equal(res.status, 200)
  t.same(dropped, ['k-1'])
  const answers = await Promise.all(held.map((socket) => readResponse(socket)))
  t.same(
    answers.map((answer) => answer.status),
    held.map(() => 408),
    'each held one is given up when its time is over: 408, the body read so far dropped',
  )
})

t.test('a delivery waits at most twice the body timeout, and the waits are bounded', async (t) => {
  const timeoutMs = 2_000
  const { port } = await hook(t, timeoutMs)
  // Every slot held from T; four wait from T (they get the slots freed at T + 1 timeout).
  for (let i = 0; i < MAX_IN_FLIGHT; i++) await hanging(t, port, `127.0.0.${2 + i}`)
  const ahead = []
  for (let i = 0; i < 4; i++) ahead.push(await hanging(t, port, `127.0.1.${1 + i}`))
  // Four more, and the last, from T + half a timeout: the four are still waiting when the
  // second slots free (T + 2 timeouts) and take them; the last's wait ends (T + 2.5) before
  // the third (T + 3). Half a timeout either side: the order holds on a busy machine, where
  // arrivals a few milliseconds apart (the test before) did not.
  await new Promise((resolve) => setTimeout(resolve, timeoutMs / 2))
  for (let i = 4; i < 8; i++) ahead.push(await hanging(t, port, `127.0.1.${1 + i}`))
  const last = await hanging(t, port, '127.0.2.1')
  const res = await readResponse(last)
  t.equal(res.status, 503, 'its wait ran out')
  t.match(res.body, /too many deliveries at once/)
  // Gone waiting: the queue is left.
  for (const socket of ahead) socket.destroy()
})

t.test(`at most ${WAITING} waiting in all`, async (t) => {
  const { port } = await hook(t, 60_000)
  for (let i = 0; i < MAX_IN_FLIGHT; i++) await hanging(t, port, `127.0.0.${2 + i}`)
  for (let i = 0; i < WAITING; i++)
    await hanging(t, port, `127.0.${1 + (i % 8)}.${1 + Math.floor(i / 8)}`)
  await settle()
  const res = await readResponse(await hanging(t, port, '127.0.9.1'))
  t.equal(res.status, 503)
  t.notMatch(res.body, /from this address/)
})

t.test('a declared body over the limit: 413 at once', async (t) => {
  const { port } = await hook(t, 60_000)
  const socket = await openSocket(port)
  const started = performance.now()
  socket.write(head(BOGUS, 99_999_999_999))
  const res = await readResponse(socket)
  t.equal(res.status, 413, 'not a 408 after the body timeout')
  t.ok(performance.now() - started < 30_000, 'well before the timeout')
  t.equal(res.headers.connection, 'close')
  t.equal(res.body, `Payload Too Large: at most ${MIB} bytes\n`)
  socket.destroy()
})

t.test('a signed body replayed under a new delivery id is ignored', async (t) => {
  const { port, dropped } = await hook(t)
  const body = JSON.stringify({ action: 'published', release: { tag_name: 'k-2' } })
  const answers = []
  for (let i = 0; i < 2; i++) {
    const socket = await openSocket(port)
    // head() gives every delivery a new X-GitHub-Delivery.
    socket.write(head(sign(SECRET, body), Buffer.byteLength(body)) + body)
    answers.push(await readResponse(socket))
    socket.destroy()
  }
  t.match(answers[0], { status: 200, body: /^OK: release k-2 published/ })
  t.match(answers[1], { status: 200, body: 'OK: this delivery was handled before; ignored\n' })
  t.same(dropped, ['k-2'], 'acted on once')
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

t.test('GITHUB_WEBHOOK_ALLOW: other addresses get 403 before anything is read', async (t) => {
  const { app } = await testApp({
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_WEBHOOK_ALLOW: '127.0.0.1/32, ::1',
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const outside = await openSocket(port, '127.0.0.1', '127.0.0.2')
  outside.write(head(BOGUS))
  const refused = await readResponse(outside)
  outside.destroy()
  t.equal(refused.status, 403)
  t.equal(refused.body, 'Forbidden: this address may not deliver webhooks\n')
  t.equal(refused.headers.connection, 'close')
  const res = await genuine(port, '127.0.0.1')
  t.equal(res.status, 200, 'an allowed address is heard')
  t.match(res.body, /^OK: release k-1 published/)
})
