import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import type { Redis } from 'ioredis'
import { connectRedis, type RedisConnection, type RedisLog } from '../../src/fleet/redis.js'

/**
 * A real redis-server (Debian's) on a free port of 127.0.0.1, started and
 * owned by the test: no persistence, gone when closed. It can be killed and
 * started again on the same port, or paused (SIGSTOP) to play a hung Redis.
 */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL): clients see the connection drop. */
  kill(): Promise<void>
  /** Starts it again, empty, on the same port. */
  restart(): Promise<void>
  /** Freezes it (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void
  resume(): void
  close(): Promise<void>
}

/** A port of 127.0.0.1 free right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)))
    child.once('error', reject)
  })
  return child
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined = await spawnRedis(port)
  const kill = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    running.kill('SIGCONT')
    running.kill('SIGKILL')
    await once(running, 'exit')
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill()
      child = await spawnRedis(port)
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    close: kill,
  }
}

/** The clients Redis counts, as soon as it counts `count` (within 5 s): connecting and closing are not awaited by ioredis. */
export async function clientsBecome(client: Redis, count: number): Promise<number> {
  const clients = async (): Promise<number> =>
    Number(/connected_clients:(\d+)/.exec(await client.info('clients'))?.[1])
  const deadline = Date.now() + 5_000
  while ((await clients()) !== count && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
  return clients()
}

/** The connection an app makes for its shared store alone (SharedStore's own tests). */
export function storeConnection(url: string, log: RedisLog = QUIET): RedisConnection {
  return connectRedis({ url, rateLimit: false, sharedState: true }, log)
}

const QUIET: RedisLog = { info: () => undefined, warn: () => undefined }
