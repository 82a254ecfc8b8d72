import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { countOn, servedOn, MAX_REQUESTS_PER_CONNECTION } from '../protection/connection-cap.js'
import { clientErrorHandler } from '../protection/server-limits.js'
import type { LaneAnswerer } from './answer.js'
import { parseRequestHead, type HeadOptions } from './request-head.js'

/**
 * The redirect lane at the connection level. Node's HTTP machinery (a
 * stream, a request and a response object per request, hooks) costs more CPU
 * than everything the service itself does for a redirect answered from
 * memory, which is nearly all traffic. So new connections come here first:
 * each chunk read is parsed for complete, simple request heads
 * (request-head.ts), and those the lane can answer (answer.ts) are answered
 * with one write. At the first request it cannot answer (another method, a
 * body, a path it must not take, a head split across reads, anything
 * unusual), the connection is given, with every byte not yet answered, to
 * Node's HTTP server (so Fastify) for the rest of its life. No request is
 * ever half handled: Fastify sees the request from its first byte.
 */
export interface LaneConnectionOptions extends HeadOptions {
  readonly answer: LaneAnswerer
  /** Node's headersTimeout: how long a new connection may stay silent. */
  readonly headersTimeoutMs: number
  /** Node's keepAliveTimeout: how long a connection may idle between requests. */
  readonly keepAliveTimeoutMs: number
}

// What Node's server reports for a head that took too long (answered 408).
const TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT'

export interface LaneConnections {
  /** Connections the lane holds now. */
  readonly size: number
  /**
   * Shutting down: from now on new connections go to Node at once, and
   * those the lane holds are closed once their answers are written. They are
   * idle by construction: the lane answers synchronously or not at all.
   */
  close(): void
}

/**
 * Puts the lane in front of `server`'s own connection handling (which it
 * calls, for the connections it hands over). Call before the server listens.
 */
export function installLane(server: Server, options: LaneConnectionOptions): LaneConnections {
  const nodeListeners = server.listeners('connection') as ((socket: Socket) => void)[]
  server.removeAllListeners('connection')
  const giveToNode = (socket: Socket): void => {
    for (const listener of nodeListeners) listener.call(server, socket)
  }
  const sockets = new Set<Socket>()
  let closing = false
  server.on('connection', (socket: Socket) => {
    if (closing) return giveToNode(socket)
    sockets.add(socket)
    serve(socket, options, {
      release: (rest) => {
        sockets.delete(socket)
        handOver(socket, rest, giveToNode)
      },
      forget: () => sockets.delete(socket),
    })
  })
  return {
    get size() {
      return sockets.size
    },
    close() {
      closing = true
      for (const socket of sockets) {
        // Nothing more is read; what was answered is still delivered.
        socket.pause()
        socket.destroySoon()
      }
    },
  }
}

interface SocketControl {
  /** Stop serving the socket and give it to Node, with the bytes not answered. */
  release(rest: Buffer): void
  /** The socket is gone. */
  forget(): void
}

function serve(socket: Socket, options: LaneConnectionOptions, control: SocketControl): void {
  let answered = false
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('latin1')
    let offset = 0
    let out = ''
    let ended = false
    while (offset < text.length && !ended) {
      const head = parseRequestHead(text, offset, options)
      if (typeof head === 'string') break
      const last = servedOn(socket) + 1 >= MAX_REQUESTS_PER_CONNECTION
      const response = options.answer(head, socket.remoteAddress, last)
      if (response === null) break
      ended = countOn(socket)
      out += response
      offset = head.end
    }
    if (out !== '') {
      if (!answered) {
        answered = true
        socket.setTimeout(options.keepAliveTimeoutMs)
      }
      // A client that sends faster than it reads is read no further until
      // its answers have drained, as Node's server does.
      if (!socket.write(out, 'latin1')) {
        socket.pause()
        socket.once('drain', onDrain)
      }
    }
    if (ended) {
      // The connection's last answer (src/protection/connection-cap.ts): what was
      // pipelined behind it is not read, as Node does after Connection: close.
      stop()
      control.forget()
      socket.destroySoon()
      return
    }
    if (offset < text.length) {
      stop()
      control.release(offset === 0 ? chunk : chunk.subarray(offset))
    }
  }
  const onDrain = (): void => {
    socket.resume()
  }
  const onTimeout = (): void => {
    // Between requests a keep-alive connection just closes; a connection
    // that never finished a head gets the 408 Node's parser would give it.
    if (answered) socket.destroy()
    else clientErrorHandler(Object.assign(new Error('headers timeout'), { code: TIMEOUT }), socket)
  }
  // Node's server lets a client half-close; with nothing pending, close too.
  const onEnd = (): void => {
    socket.end()
  }
  const onError = (): void => {
    socket.destroy() // reset by the peer, mostly: nobody left to tell
  }
  const onClose = (): void => {
    stop()
    control.forget()
  }
  const stop = (): void => {
    socket.removeListener('data', onData)
    socket.removeListener('drain', onDrain)
    socket.removeListener('timeout', onTimeout)
    socket.removeListener('end', onEnd)
    socket.removeListener('error', onError)
    socket.removeListener('close', onClose)
    socket.setTimeout(0)
  }
  socket.setTimeout(options.headersTimeoutMs)
  socket.on('data', onData)
  socket.on('timeout', onTimeout)
  socket.on('end', onEnd)
  socket.on('error', onError)
  socket.on('close', onClose)
}

/**
 * Gives a socket the lane has been reading to Node's HTTP server, with the
 * bytes read but not answered put back first, so Node reads them as if it
 * had been reading from the start. Paused while Node attaches its parser,
 * then resumed: the put-back bytes come out before anything read later.
 */
function handOver(socket: Socket, rest: Buffer, giveToNode: (socket: Socket) => void): void {
  socket.pause()
  socket.unshift(rest)
  giveToNode(socket)
  socket.resume()
}
