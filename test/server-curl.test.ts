import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { testApp } from './helpers/app.js'

const run = promisify(execFile)
const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'

// The real server on a free port, asked by the real curl, as people do.
const { app } = await testApp()
await app.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => app.close())
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['--silent', '--show-error', '--max-time', '10', ...args])
  return stdout
}

async function redirectOf(path: string, ...args: string[]): Promise<string> {
  return curl(
    '--output',
    '/dev/null',
    '--write-out',
    '%{http_code} %{redirect_url}',
    ...args,
    `${base}${path}`,
  )
}

t.test('GET redirects, as the contract says', async (t) => {
  t.equal(
    await redirectOf('/extensions/kubernetes-v1.32.2-x86-64.raw'),
    `302 ${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`,
  )
  t.equal(
    await redirectOf('/extensions/k3s-v1.32.2+k3s1-x86-64.raw'),
    `302 ${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
  )
  t.equal(
    await redirectOf('/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw'),
    `302 ${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
  )
  t.equal(
    await redirectOf('/extensions/kubernetes/SHA256SUMS?x=1'),
    `302 ${REL}/kubernetes/SHA256SUMS`,
  )
  t.equal(await redirectOf('/extensions/SHA256SUMS'), `302 ${REL}/SHA256SUMS/SHA256SUMS`)
  t.equal(await redirectOf('/extensions/chrony/chrony.conf'), `302 ${REL}/chrony/chrony.conf`)
  t.equal(
    await redirectOf('/docs?page=2'),
    '302 https://flatcar.github.io/sysext-bakery/docs?page=2',
  )
})

t.test('dot segments and double slashes sent as they are', async (t) => {
  t.equal(
    await redirectOf('//extensions/./kubernetes/../SHA256SUMS', '--path-as-is'),
    `302 ${REL}/SHA256SUMS/SHA256SUMS`,
  )
  t.equal(
    await redirectOf('/../../../extensions/noop.conf', '--path-as-is'),
    `302 ${REL}/noop/noop.conf`,
  )
})

t.test('curl -I sees the same 302 as GET, with no body', async (t) => {
  const head = await curl('--head', `${base}/extensions/kubernetes/kubernetes-v1.32.conf`)
  t.match(head, /^HTTP\/1\.1 302 Found\r\n/)
  t.match(head, `\r\nlocation: ${REL}/kubernetes/kubernetes-v1.32.conf\r\n`)
  t.match(head, '\r\ncontent-length: 0\r\n')
  t.match(head, '\r\ncache-control: public, max-age=60\r\n')
})

t.test('bad input and other methods, over the wire', async (t) => {
  t.equal(await redirectOf('/extensions/%zz.conf'), '400 ')
  t.equal(await redirectOf('/extensions/a%00.conf'), '400 ')
  t.equal(
    await curl('-X', 'DELETE', '--write-out', ' %{http_code}', `${base}/extensions/SHA256SUMS`),
    'method DELETE is not allowed\n 405',
  )
  const long = await curl(
    '--output',
    '/dev/null',
    '--write-out',
    '%{http_code}',
    `${base}/${'a'.repeat(20_000)}`,
  )
  t.equal(long, '431', "Node's own header limit refuses an oversized request line")
})
