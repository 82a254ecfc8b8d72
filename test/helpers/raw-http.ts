import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

/**
 * HTTP/1.1 spoken by hand over a real socket, for what fetch and undici will
 * not send: oversized or malformed request lines and headers, raw bytes.
 */
export interface RawResponse {
  readonly status: number
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Everything received, as latin1. */
  readonly raw: string
}

export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: end === -1 ? '' : raw.slice(end + 4),
    raw,
  }
}

/** `from`: the local address to send from (any of 127.0.0.0/8 on Linux), to be another client. */
export async function openSocket(port: number, host = '127.0.0.1', from?: string): Promise<Socket> {
  const socket = connect({ port, host, ...(from === undefined ? {} : { localAddress: from }) })
  await once(socket, 'connect')
  return socket
}

/** Writes the bytes and reads until the server closes the connection. */
export async function exchange(port: number, request: string | Buffer): Promise<RawResponse> {
  const socket = await openSocket(port)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // The server may cut us off mid-request (ECONNRESET): what it said still counts.
  socket.on('error', () => undefined)
  const closed = new Promise((resolve) => socket.on('close', resolve))
  socket.write(request)
  await closed
  return parseResponse(Buffer.concat(chunks).toString('latin1'))
}

/**
 * Reads one response from an open socket: the head and Content-Length bytes
 * of body (none for a HEAD), or whatever came before the server closed.
 */
export async function readResponse(socket: Socket, head = false): Promise<RawResponse> {
  let received = ''
  const complete = (): RawResponse | undefined => {
    if (!received.includes('\r\n\r\n')) return undefined
    const response = parseResponse(received)
    const length = head ? 0 : Number(response.headers['content-length'] ?? 0)
    return response.body.length >= length ? response : undefined
  }
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1')
      const response = complete()
      if (response !== undefined) finish(response)
    }
    const onClose = (): void => finish(parseResponse(received))
    const finish = (response: RawResponse): void => {
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve(response)
    }
    socket.on('data', onData)
    socket.on('close', onClose)
  })
}
