import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import { MAX_REQUESTS_PER_CONNECTION } from '../../src/protection/connection-cap.js'
import { installLane, type LaneConnections } from '../../src/lane/connections.js'
import type { RequestHead } from '../../src/lane/request-head.js'
import { clientErrorHandler, httpLimits } from '../../src/protection/server-limits.js'
import { openSocket } from '../helpers/raw-http.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The lane's connection handling, in front of a plain Node HTTP server: what
 * the lane answers, what it hands to Node and how, and how its connections
 * end. The answerer here is the simplest real one: GET /lane… is the lane's
 * (answered "lane <target>"), anything else is Node's.
 */
const laneAnswer = (head: RequestHead): string | null => {
  if (head.method !== 'GET' || !head.target.startsWith('/lane')) return null
  const body = `lane ${head.target}`
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`
}

async function nodeAnswer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  let body = ''
  for await (const chunk of request) body += String(chunk)
  const text = `node ${request.method} ${request.url}${body === '' ? '' : ` ${body}`}`
  response.writeHead(200, { 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

interface Setup {
  readonly server: Server
  readonly lane: LaneConnections
  readonly port: number
  /** The server's side of each connection, in the order they came. */
  readonly accepted: Socket[]
}

async function setup(
  t: Test,
  options: { headersTimeoutMs?: number; keepAliveTimeoutMs?: number; answer?: typeof laneAnswer },
): Promise<Setup> {
  const server = createServer(httpLimits(), (request, response) => {
    void nodeAnswer(request, response)
  })
  const accepted: Socket[] = []
  const lane = installLane(server, {
    answer: options.answer ?? laneAnswer,
    maxHeadBytes: 16_384,
    addressHeader: undefined,
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 10_000,
  })
  // After the lane's own listener: sees every connection, handed over or not.
  server.on('connection', (socket: Socket) => accepted.push(socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    lane.close()
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })
  return { server, lane, port: (server.address() as AddressInfo).port, accepted }
}

/** Collects what a socket receives, and waits for a number of responses. */
function reader(socket: Socket): {
  text: () => string
  bodies: (count: number) => Promise<string[]>
  closed: Promise<unknown>
} {
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
  socket.on('error', () => undefined)
  const closed = once(socket, 'close')
  const split = (): string[] => {
    const bodies: string[] = []
    let at = 0
    for (;;) {
      const end = received.indexOf('\r\n\r\n', at)
      if (end === -1) return bodies
      const length = Number(/content-length: (\d+)/i.exec(received.slice(at, end))?.[1] ?? 0)
      if (received.length < end + 4 + length) return bodies
      bodies.push(received.slice(end + 4, end + 4 + length))
      at = end + 4 + length
    }
  }
  const bodies = async (count: number): Promise<string[]> => {
    while (split().length < count) await once(socket, 'data')
    return split()
  }
  return { text: () => received, bodies, closed }
}

const get = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`

t.test('the lane answers what it can and keeps the connection', async (t) => {
  const { port, lane } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write(get('/lane/1') + get('/lane/2'))
  t.same(await read.bodies(2), ['lane /lane/1', 'lane /lane/2'])
  t.equal(lane.size, 1, 'still the lane’s after answering')
  socket.destroy()
})

t.test(
  'the first request it cannot answer hands the connection to Node, bytes intact',
  async (t) => {
    const { port, lane } = await setup(t, {})
    const socket = await openSocket(port)
    const read = reader(socket)
    // One write: answered, a POST with a body, then one the lane would take.
    const post = 'POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'
    socket.write(get('/lane/1') + post + get('/lane/2'))
    t.same(await read.bodies(3), ['lane /lane/1', 'node POST /form abc', 'node GET /lane/2'])
    t.equal(lane.size, 0, 'Node has it now')
    socket.write(get('/lane/3'))
    t.same((await read.bodies(4))[3], 'node GET /lane/3', 'for the rest of its life')
    socket.destroy()
  },
)

t.test('a head split across reads goes to Node, which reads it whole', async (t) => {
  const { port } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write(get('/lane/1') + 'GET /lane/2 HTTP/1.1\r\nHo')
  t.same(await read.bodies(1), ['lane /lane/1'])
  await new Promise((resolve) => setTimeout(resolve, 50))
  socket.write('st: x\r\n\r\n')
  t.same(await read.bodies(2), ['lane /lane/1', 'node GET /lane/2'])
  socket.destroy()
})

t.test('a connection whose first request is not the lane’s is Node’s from the start', async (t) => {
  const { port, lane } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write('HEAD /lane/1 HTTP/1.1\r\nHost: x\r\n\r\n')
  // Its answer, whenever a busy machine gets to it (a HEAD answer has no body to count).
  await waitUntil(() => read.text().includes('\r\n\r\n'), 5)
  t.match(read.text(), /^HTTP\/1\.1 200 OK\r\n/)
  t.equal(lane.size, 0)
  socket.destroy()
})

t.test('a client that does not read is not read from either', async (t) => {
  const big = 'x'.repeat(64_000)
  const answer = `HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`
  const { port, accepted } = await setup(t, {
    answer: (head) => (head.target === '/lane/big' ? answer : null),
  })
  const socket = await openSocket(port)
  // 400 requests in one small write (one read for the server): 25 MB of
  // answers, far more than the kernel buffers, so the lane stops reading.
  socket.write(get('/lane/big').repeat(400))
  const served = accepted[0] as Socket
  await waitUntil(() => served.isPaused(), 10)
  t.ok(served.writableLength > 0, `${served.writableLength} bytes wait for the client`)
  socket.write(get('/lane/big').repeat(10))
  // Once the client reads, the lane reads again and answers the rest itself.
  let received = 0
  socket.on('data', (chunk: Buffer) => (received += chunk.length))
  while (received < 410 * answer.length) await once(socket, 'data')
  t.equal(received, 410 * answer.length, 'all 410 answered by the lane')
  t.notOk(served.isPaused(), 'reading again')
  socket.destroy()
})

t.test('a flood of pipelined requests split anywhere is answered in full', async (t) => {
  const { port } = await setup(t, {})
  const socket = await openSocket(port)
  // Within one connection's life (src/protection/connection-cap.ts), with heads long
  // enough that the reads split some of them.
  const count = MAX_REQUESTS_PER_CONNECTION - 1
  const padded = `GET /lane/x HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(400)}\r\n\r\n`
  socket.write(padded.repeat(count))
  // Answered by the lane up to the first head a read splits, then by Node.
  const status = 'HTTP/1.1 200 OK\r\n'
  let answers = 0
  let carry = ''
  socket.on('data', (chunk: Buffer) => {
    const text = carry + chunk.toString('latin1')
    for (let at = text.indexOf(status); at !== -1; at = text.indexOf(status, at + 1)) answers++
    carry = text.slice(-(status.length - 1))
  })
  while (answers < count) await once(socket, 'data')
  t.equal(answers, count)
  socket.destroy()
})

t.test('a silent connection gets the 408 Node gives it, then the close', async (t) => {
  const { port, lane } = await setup(t, { headersTimeoutMs: 100, keepAliveTimeoutMs: 60_000 })
  const socket = await openSocket(port)
  const read = reader(socket)
  await read.closed
  // Node's own server with the same limits and our clientError handler, for comparison.
  const node = createServer(httpLimits(100, 1_000))
  node.on('clientError', clientErrorHandler)
  node.listen(0, '127.0.0.1')
  await once(node, 'listening')
  t.teardown(() => node.close())
  const plain = await openSocket((node.address() as AddressInfo).port)
  const nodeRead = reader(plain)
  await nodeRead.closed
  t.match(read.text(), /^HTTP\/1\.1 408 Request Timeout\r\n/)
  t.equal(read.text(), nodeRead.text(), 'the same bytes as Node')
  await waitUntil(() => lane.size === 0, 10)
  t.equal(lane.size, 0, 'and forgotten')
})

t.test('after an answer, the keep-alive timeout applies', async (t) => {
  const { port } = await setup(t, { headersTimeoutMs: 50, keepAliveTimeoutMs: 600 })
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write(get('/lane/1'))
  await read.bodies(1)
  let closed = false
  void read.closed.then(() => (closed = true))
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.notOk(closed, 'open past the headers timeout')
  await read.closed
  t.pass('closed once idle for the keep-alive timeout')
})

t.test('a client that half-closes gets its answers, then the close', async (t) => {
  const { port } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.end(get('/lane/1'))
  await read.closed
  t.match(read.text(), /lane \/lane\/1$/)
})

t.test('a reset connection is forgotten', async (t) => {
  const { port, lane } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write(get('/lane/1'))
  await read.bodies(1)
  t.equal(lane.size, 1)
  socket.resetAndDestroy()
  await waitUntil(() => lane.size === 0, 10)
  t.equal(lane.size, 0)
})

t.test('close ends the lane’s connections and sends new ones to Node', async (t) => {
  const { port, lane } = await setup(t, {})
  const idle = await openSocket(port)
  const idleRead = reader(idle)
  idle.write(get('/lane/1'))
  await idleRead.bodies(1)
  lane.close()
  await idleRead.closed
  t.pass('the idle connection was closed')
  const fresh = await openSocket(port)
  const freshRead = reader(fresh)
  fresh.write(get('/lane/2'))
  t.same(await freshRead.bodies(1), ['node GET /lane/2'])
  fresh.destroy()
})

t.test('a request racing the shutdown is dropped, as Node drops one', async (t) => {
  const { port, lane } = await setup(t, {})
  const socket = await openSocket(port)
  const read = reader(socket)
  socket.write(get('/lane/1'))
  await read.bodies(1)
  // The server half-closes; this client keeps writing before it notices.
  lane.close()
  socket.write(get('/lane/2'))
  await read.closed
  t.notMatch(read.text(), /lane \/lane\/2/)
})
