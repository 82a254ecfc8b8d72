import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { startFakeGitHub } from './helpers/fake-github.js'
import { CHILD_ARGS, MAIN, QUIET, runMain, startMain } from './helpers/process.js'
import { waitUntil } from './helpers/wait.js'

// Each test starts real processes: allow for a busy machine.
t.setTimeout(180_000)
// The tests are independent (their own processes, ports and fake GitHub), and most
// of their time is a child starting: three at a time, each still in order inside.
t.jobs = 3

t.test('serves the Flatcar default and stops cleanly on SIGTERM', async (t) => {
  // The default configuration, with github.com played by the fake on 127.0.0.1.
  const image = 'kubernetes-v1.32.2-x86-64.raw'
  const sums = `${'a'.repeat(64)}  ${image}\n`
  const github = await startFakeGitHub({
    assets: { SHA256SUMS: { SHA256SUMS: sums }, 'kubernetes-v1.32.2': { [image]: 'image' } },
  })
  t.teardown(() => github.close())
  const main = await startMain({ GITHUB_URL: github.url })
  const health = await fetch(`${main.url}/healthz`)
  t.equal(health.status, 200)
  t.equal((await fetch(`${main.url}/readyz`)).status, 200)
  const manifest = await fetch(`${main.url}/extensions/SHA256SUMS`, { redirect: 'manual' })
  t.equal(manifest.status, 200, 'the manifest, from the adopted snapshot')
  t.equal(await manifest.text(), sums)
  const redirect = await fetch(`${main.url}/extensions/${image}`, { redirect: 'manual' })
  t.equal(redirect.status, 302)
  t.equal(
    redirect.headers.get('location'),
    `${github.url}/flatcar/sysext-bakery/releases/download/kubernetes-v1.32.2/${image}`,
  )
  const started = main
    .output()
    .split('\n')
    .find((line) => line.includes('"msg":"started"'))
  t.match(
    JSON.parse(started ?? '{}'),
    {
      releases: `${github.url}/flatcar/sysext-bakery/releases/download`,
      table: { file: /tables\/flatcar\.yaml$/, rules: Number },
      checks: { failMode: 'open' },
      listening: new URL(main.url).host,
      metrics: /^127\.0\.0\.1:\d+$/,
    },
    'one line says what this instance does',
  )
  main.child.kill('SIGTERM')
  t.equal(await main.exited(), 0)
  t.match(main.output(), /"signal":"SIGTERM".*"msg":"shutting down"/)
  t.match(main.output(), /"msg":"stopped"/)
})

t.test('without HOST: IPv6 and IPv4 clients alike, each logged as itself', async (t) => {
  const main = await startMain({ HOST: '' })
  const { port } = new URL(main.url)
  for (const host of ['127.0.0.1', '[::1]']) {
    const res = await fetch(`http://${host}:${port}/docs/from-${host.replace(/\W/g, '')}`, {
      redirect: 'manual',
    })
    t.equal(res.status, 302, `a client on ${host}`)
  }
  const lines = (): Record<string, unknown>[] =>
    main
      .output()
      .split('\n')
      .filter((line) => line.includes('"path":"/docs/from-'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  await waitUntil(() => lines().length === 2, 10)
  t.same(
    lines().map((line) => [line.path, line.client]),
    [
      ['/docs/from-127001', '127.0.0.1'],
      ['/docs/from-1', '::1'],
    ],
    'an IPv4 client as IPv4, not as ::ffff:127.0.0.1',
  )
  main.child.kill('SIGTERM')
  t.equal(await main.exited(), 0)
})

t.test('SIGINT too; and a request in flight finishes first', async (t) => {
  const main = await startMain()
  const { port } = new URL(main.url)
  // A request whose body is still arriving is in flight until it is complete.
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write(
    'POST /extensions/SHA256SUMS HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n12345',
  )
  await new Promise((resolve) => setTimeout(resolve, 200))
  main.child.kill('SIGINT')
  // The signal handled (its log line), not a guess at how long that takes.
  await waitUntil(() => main.output().includes('"msg":"shutting down"'), 10)
  t.equal(main.child.exitCode, null, 'still running while the request is in flight')
  let response = ''
  socket.on('data', (chunk: Buffer) => (response += chunk.toString()))
  socket.write('67890')
  await once(socket, 'close')
  t.match(response, /^HTTP\/1\.1 405 /, 'the request got its answer')
  t.equal(await main.exited(), 0)
})

t.test('a redirect still waiting on GitHub gets its answer before the exit', async (t) => {
  const tag = 'kubernetes-v1.32.2'
  const github = await startFakeGitHub({ assets: { [tag]: { [`${tag}-x86-64.raw`]: 'image' } } })
  t.teardown(() => github.close())
  github.fault({ kind: 'delay', ms: 1_000 })
  const main = await startMain({
    UPSTREAM_CHECKS: 'true',
    GITHUB_URL: github.url,
    UPSTREAM_TIMEOUT: '20s',
  })
  const pending = fetch(`${main.url}/extensions/${tag}-x86-64.raw`, { redirect: 'manual' })
  await waitUntil(() => github.count('HEAD') > 0, 20)
  main.child.kill('SIGTERM')
  const res = await pending
  t.equal(res.status, 302)
  t.equal(
    res.headers.get('location'),
    `${github.url}/flatcar/sysext-bakery/releases/download/${tag}/${tag}-x86-64.raw`,
  )
  t.equal(await main.exited(), 0)
})

t.test('a request that outlives the grace period is cut off, exit 1', async (t) => {
  const main = await startMain({ SHUTDOWN_TIMEOUT: '500ms' })
  const { port } = new URL(main.url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  socket.write(
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n1',
  )
  await new Promise((resolve) => setTimeout(resolve, 200))
  main.child.kill('SIGTERM')
  t.equal(await main.exited(), 1)
  t.match(main.output(), /requests still in flight after the grace period; closing them/)
})

t.test('a bad setting stops the start with a message, not a stack', async (t) => {
  const res = await runMain([], { PORT: 'eighty' })
  t.equal(res.code, 1)
  t.equal(
    res.stderr,
    'sysext-redirector: PORT="eighty" is not valid: expected a whole number from 0 to 65535 (SR_CONFIG_INVALID)\n',
  )
})

t.test('a broken table stops the start and names the rule', async (t) => {
  const res = await runMain([], { PORT: '0', PATTERN_TABLE: '/nonexistent/table.yaml' })
  t.equal(res.code, 1)
  t.equal(
    res.stderr,
    'sysext-redirector: PATTERN_TABLE=/nonexistent/table.yaml cannot be read: no such file (ENOENT) (SR_TABLE_UNREADABLE)\n',
  )
})

t.test('a port in use: the setting named', async (t) => {
  const main = await startMain()
  const { port } = new URL(main.url)
  const res = await runMain([], { PORT: port, HOST: '127.0.0.1' })
  t.equal(res.code, 1)
  t.equal(
    res.stderr,
    `sysext-redirector: PORT=${port} on HOST=127.0.0.1 is in use by another process (EADDRINUSE): stop it or choose another PORT (SR_LISTEN_FAILED)\n`,
  )
  // HOST unset: every address, so the port is taken there too.
  const everywhere = await runMain([], { PORT: port, HOST: '' })
  t.equal(everywhere.code, 1)
  t.match(everywhere.stderr, `PORT=${port} on HOST=:: is in use by another process (EADDRINUSE)`)
  const metrics = await runMain([], {
    PORT: '0',
    HOST: '127.0.0.1',
    METRICS_PORT: port,
    METRICS_HOST: '127.0.0.1',
  })
  t.equal(metrics.code, 1)
  t.match(metrics.stderr, `METRICS_PORT=${port} on METRICS_HOST=127.0.0.1 is in use`)
  // The service had listened and said so: its log's last line says why it stopped.
  const last = JSON.parse(metrics.stdout.trim().split('\n').at(-1) as string) as object
  t.match(last, {
    level: 60,
    msg: `METRICS_PORT=${port} on METRICS_HOST=127.0.0.1 is in use by another process (EADDRINUSE): stop it or choose another METRICS_PORT (SR_LISTEN_FAILED)`,
  })
  main.child.kill('SIGTERM')
  await main.exited()
})

t.test('a host not of this machine: the setting named', async (t) => {
  // An address no interface of this machine has (TEST-NET-1): no packet leaves.
  const elsewhere = await runMain([], { PORT: '0', HOST: '192.0.2.1' })
  t.equal(elsewhere.code, 1)
  t.equal(
    elsewhere.stderr,
    'sysext-redirector: HOST="192.0.2.1" is no address of this machine (EADDRNOTAVAIL): expected one of its addresses, 0.0.0.0 or :: (SR_LISTEN_FAILED)\n',
  )
})

t.test('runs the CLI commands', async (t) => {
  const explain = await runMain(['explain', '/extensions/chrony/chrony.conf'])
  t.equal(explain.code, 0)
  t.match(
    explain.stdout,
    'location   https://github.com/flatcar/sysext-bakery/releases/download/chrony/chrony.conf',
  )
  const usage = await runMain(['nonsense'])
  t.equal(usage.code, 2)
  t.match(
    usage.stderr,
    /^sysext-redirector: unknown command "nonsense"\n\nusage: sysext-redirector/,
  )
})

t.test('pretty logs on a terminal, JSON otherwise', async (t) => {
  // script(1) gives the process a pseudo-terminal, as a person's shell would.
  const command = [process.execPath, ...CHILD_ARGS, MAIN].map((arg) => `'${arg}'`).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...QUIET, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (output.includes('Server listening')) resolve()
    }
    child.stdout.on('data', check)
  })
  t.notMatch(output, /"msg":"Server listening/, 'not JSON')
  t.match(output, /INFO.*Server listening at http:\/\/127\.0\.0\.1:\d+/, 'pino-pretty lines')
  child.kill('SIGTERM')
  await once(child, 'exit')
})
