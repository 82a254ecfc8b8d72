import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import fastify from 'fastify'
import t, { type Test } from 'tap'
import {
  clientErrorHandler,
  HEADERS_TIMEOUT_MS,
  httpLimits,
  MAX_HEADER_BYTES,
  REQUEST_TIMEOUT_MS,
  sayNoSniff,
} from '../../src/protection/server-limits.js'
import { testApp } from '../helpers/app.js'
import { exchange, openSocket, readResponse, type RawResponse } from '../helpers/raw-http.js'

async function listening(t: Test): Promise<{ port: number; server: Server }> {
  const { app } = await testApp({ UPSTREAM_CHECKS: 'false' })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as AddressInfo).port, server: app.server }
}

function oneLineText(t: Test, res: RawResponse, status: number, line: RegExp): void {
  t.equal(res.status, status)
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.connection, 'close')
  t.notOk(res.headers.server, 'no Server banner')
  t.notOk(res.headers['x-powered-by'])
  t.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  t.match(res.body, line)
  t.equal(res.body.split('\n').length, 2, 'one line')
}

t.test('the limits are set on the app’s server, not left to Node’s defaults', async (t) => {
  const { server } = await listening(t)
  t.equal(server.headersTimeout, HEADERS_TIMEOUT_MS)
  t.equal(server.requestTimeout, REQUEST_TIMEOUT_MS)
  t.equal(MAX_HEADER_BYTES, 16_384, 'the size the path normaliser assumes too')
})

t.test('headers larger than the limit: 431 in one line of text, connection closed', async (t) => {
  const { port } = await listening(t)
  const big = 'a'.repeat(MAX_HEADER_BYTES)
  const res = await exchange(
    port,
    `GET /extensions/SHA256SUMS HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`,
  )
  oneLineText(
    t,
    res,
    431,
    /^Request Header Fields Too Large: the request line and headers are longer than 16384 bytes\n$/,
  )
  const many = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('')
  t.equal(
    (await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`)).status,
    431,
    'many small headers add up',
  )
})

t.test('a request line larger than the limit: 431 as well', async (t) => {
  const { port } = await listening(t)
  const res = await exchange(
    port,
    `GET /extensions/${'a'.repeat(MAX_HEADER_BYTES)}.raw HTTP/1.1\r\nHost: x\r\n\r\n`,
  )
  oneLineText(t, res, 431, /^Request Header Fields Too Large: /)
})

t.test('just under the limit is served', async (t) => {
  const { port } = await listening(t)
  const res = await exchange(
    port,
    `GET /extensions/${'a'.repeat(4000)}/SHA256SUMS HTTP/1.1\r\nHost: x\r\nX-Pad: ${'b'.repeat(10000)}\r\nConnection: close\r\n\r\n`,
  )
  t.equal(res.status, 302, 'a 14 KB request is not refused')
  t.equal(
    res.headers['x-content-type-options'],
    'nosniff',
    'every response over a socket says nosniff',
  )
})

t.test('malformed HTTP: 400 in one line of text', async (t) => {
  const { port } = await listening(t)
  const cases = [
    'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
    'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
    'G\x01T / HTTP/1.1\r\n\r\n',
    'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
  ]
  for (const request of cases) {
    const res = await exchange(port, request)
    t.equal(res.status, 400, JSON.stringify(request))
    t.equal(res.body, 'Bad Request: the request is not well-formed HTTP\n')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  }
})

t.test('bytes outside printable ASCII never reach the app: the parser refuses them', async (t) => {
  const { port } = await listening(t)
  for (const bytes of [[0xc3, 0xa9], [0xe9], [0x80], [0x7f], [0x09], [0x0b]]) {
    const request = Buffer.concat([
      Buffer.from('GET /docs/caf'),
      Buffer.from(bytes),
      Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    ])
    const res = await exchange(port, request)
    t.equal(res.status, 400, `byte(s) ${bytes.join(' ')}`)
    t.equal(res.body, 'Bad Request: the request is not well-formed HTTP\n')
  }
  const encoded = await exchange(
    port,
    'GET /docs/caf%C3%A9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  )
  t.equal(
    encoded.headers.location,
    'https://flatcar.github.io/sysext-bakery/docs/caf%C3%A9',
    'percent-encoded UTF-8 is the way',
  )
})

// A plain server with the same limits, made short, to watch the timeouts act.
async function shortTimeouts(t: Test): Promise<number> {
  const server = createServer(httpLimits(300, 600), (_request, response) => response.end('ok'))
  server.on('clientError', clientErrorHandler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return (server.address() as AddressInfo).port
}

t.test('a client too slow with its headers gets 408 and is cut off', async (t) => {
  const port = await shortTimeouts(t)
  const started = Date.now()
  const socket = await openSocket(port)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
  // ...and never the blank line that ends the headers.
  await once(socket, 'close')
  const took = Date.now() - started
  t.ok(took >= 300 && took < 5000, `cut off after ${took} ms`)
  t.match(
    Buffer.concat(chunks).toString(),
    /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*\r\n\r\nRequest Timeout: the request took too long to arrive\n$/,
  )
})

t.test('clientErrorHandler leaves a socket nobody can hear alone', async (t) => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  const accepted = async (): Promise<{ client: Socket; peer: Socket; received: () => string }> => {
    const peerPromise = once(server, 'connection') as Promise<[Socket]>
    const client = await openSocket(port)
    const [peer] = await peerPromise
    let received = ''
    client.on('data', (chunk: Buffer) => (received += chunk.toString()))
    return { client, peer, received: () => received }
  }

  const reset = await accepted()
  clientErrorHandler(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), reset.peer)
  t.notOk(reset.peer.destroyed, 'a reset is left to Node')
  reset.client.destroy()

  const gone = await accepted()
  gone.peer.destroy()
  clientErrorHandler(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), gone.peer)
  t.ok(gone.peer.destroyed)
  gone.client.destroy()

  const ended = await accepted()
  ended.peer.end()
  clientErrorHandler(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), ended.peer)
  await once(ended.client, 'close')
  t.equal(ended.received(), '', 'nothing is written to a socket that can no longer be written')
  t.ok(ended.peer.destroyed)
})

t.test('Fastify’s own 503 while shutting down says nosniff too', async (t) => {
  // A real Fastify with return503OnClosing, as buildApp sets it.
  const app = fastify({ return503OnClosing: true })
  sayNoSniff(app.server)
  app.post('/slow', async () => 'done')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const socket = await openSocket(port)
  // A request whose body is still arriving is in flight when the close starts.
  socket.write(
    'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nab',
  )
  await new Promise((resolve) => setTimeout(resolve, 50))
  const closed = app.close()
  socket.write('cd')
  const first = await readResponse(socket)
  t.equal(first.status, 200, 'the request in flight is finished')
  socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
  const second = await readResponse(socket)
  t.equal(second.status, 503, 'a new request on the same connection meets the closing server')
  t.equal(second.headers['x-content-type-options'], 'nosniff')
  socket.destroy()
  await closed
})
