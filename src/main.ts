import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { AddressInfo } from 'node:net'
import { DUAL_STACK, listenFirst } from './boot/dual-stack.js'
import { lineBatch, type LineBatch } from './boot/log-batch.js'
import { listenError } from './boot/listen-errors.js'
import { resolveSettings, type Settings } from './config/settings.js'
import { startSummary } from './boot/summary.js'
import { describeError } from './core/errors.js'
import { listenMetrics } from './metrics/server.js'

/**
 * The process entry: the only module that reads the environment, listens and
 * handles signals. `node dist/main.js` serves; `node dist/main.js COMMAND`
 * runs a command of the CLI (see cli.ts).
 */
async function serve(settings: Settings): Promise<void> {
  const { config, table, origins } = settings
  // Humans at a terminal get colours; everything else gets JSON lines.
  const destination = process.stdout.isTTY ? undefined : bufferedStdout()
  const logger = pino({ level: config.logLevel }, destination ?? (await prettyStdout()))
  const { buildApp } = await import('./app.js')
  const app = await buildApp({ config, table, origins, logger })
  const { port, host, metrics } = config
  await listenFirst(host === undefined ? DUAL_STACK : [host], (one) =>
    app.listen({ port, host: one }),
  ).catch((err: unknown) => {
    const named = host ?? DUAL_STACK[0]
    throw listenError(err, { hostVariable: 'HOST', host: named, portVariable: 'PORT', port })
  })
  const metricsAddress = await listenMetrics(app, metrics).catch(async (err: unknown) => {
    const { host, port } = metrics
    const failed = listenError(err, {
      hostVariable: 'METRICS_HOST',
      host,
      portVariable: 'METRICS_PORT',
      port,
    })
    // The service listened already, and its log said so: the log's last line says why it stops.
    app.log.fatal(describeError(failed))
    destination?.flush()
    await app.close()
    throw failed
  })
  const listening = { service: app.server.address() as AddressInfo, metrics: metricsAddress }
  app.log.info(startSummary(settings, listening), 'started')
  // Whoever waits for "Server listening" sees it now, not a flush later.
  destination?.flush()
  handleSignals(app, config.shutdownTimeoutMs)
}

/**
 * Colourised lines for a terminal, formatted in this thread: pino's
 * transport would run pino-pretty in a worker, loaded by file name, which a
 * bundled build (scripts/build.ts) does not have.
 */
async function prettyStdout(): Promise<NodeJS.WritableStream> {
  const { build } = await import('pino-pretty')
  return build({ colorize: true, destination: 1, sync: true })
}

/** How long a log line may wait in the buffer while the service is quiet. */
const LOG_FLUSH_MS = 250

/** How many characters of log lines make one write(2). */
const LOG_CHUNK_CHARACTERS = 16_384

/**
 * Stdout for JSON lines, written in chunks of about 16 KiB rather than one
 * write(2) per request line (the request log was a tenth of the CPU under
 * load). Flushed every LOG_FLUSH_MS, and at exit, so the last lines
 * ("stopped", a crash) are not lost. The writes stay synchronous: an
 * asynchronous write goes through libuv's thread pool, which cost more CPU
 * on the service's one core than it saved. The chunks are gathered by
 * lineBatch, not by sonic-boom (see there); sonic-boom writes them, and
 * retries a pipe that is full.
 */
function bufferedStdout(): LineBatch {
  const batch = lineBatch(pino.destination({ dest: 1, sync: true }), LOG_CHUNK_CHARACTERS)
  setInterval(() => batch.flush(), LOG_FLUSH_MS).unref()
  process.on('exit', () => {
    try {
      batch.flush()
      /* c8 ignore next 3 -- stdout already closed by the reader: nothing left to write to */
    } catch {
      // Exiting anyway; there is nowhere to report it.
    }
  })
  return batch
}

/**
 * On SIGTERM or SIGINT stop accepting, let requests in flight finish, exit 0.
 * If they take longer than the grace period, cut them off and exit 1.
 */
function handleSignals(app: FastifyInstance, graceMs: number): void {
  const stop = (signal: NodeJS.Signals): void => {
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      app.log.error({ graceMs }, 'requests still in flight after the grace period; closing them')
      app.server.closeAllConnections()
      process.exit(1)
    }, graceMs)
    timer.unref()
    // A keep-alive connection whose request finishes during the shutdown
    // turns idle only then: close such connections as they come free.
    setInterval(() => app.server.closeIdleConnections(), 100).unref()
    void app.close().then(() => {
      app.log.info('stopped')
      process.exit(0)
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

async function main(argv: string[]): Promise<number | undefined> {
  const command = argv[0]
  if (command !== undefined && command !== 'serve') {
    const io = {
      out: (line: string) => console.log(line),
      err: (line: string) => console.error(line),
      terminal: process.stderr,
    }
    const { runCommand } = await import('./cli.js')
    return runCommand(argv, process.env, io)
  }
  await serve(await resolveSettings(process.env))
  return undefined
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code
  },
  (err: unknown) => {
    // A bad setting or table stops the start with its message, not a stack.
    console.error(`sysext-redirector: ${describeError(err)}`)
    process.exit(1)
  },
)
