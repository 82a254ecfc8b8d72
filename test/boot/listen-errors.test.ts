import t from 'tap'
import { listenError } from '../../src/boot/listen-errors.js'
import { RedirectorError } from '../../src/core/errors.js'

const listener = { hostVariable: 'HOST', host: 'not-a-host', portVariable: 'PORT', port: 80 }
const failed = (code: string): Error => Object.assign(new Error(`listen ${code}`), { code })

t.test('a failed listen names the setting at fault and what would work', async (t) => {
  const cases: [string, string][] = [
    [
      'EADDRINUSE',
      'PORT=80 on HOST=not-a-host is in use by another process (EADDRINUSE): stop it or choose another PORT',
    ],
    [
      'EACCES',
      'PORT=80 on HOST=not-a-host needs a privilege this process lacks (EACCES): choose a PORT above 1023, or grant CAP_NET_BIND_SERVICE',
    ],
    [
      'EADDRNOTAVAIL',
      'HOST="not-a-host" is no address of this machine (EADDRNOTAVAIL): expected one of its addresses, 0.0.0.0 or ::',
    ],
  ]
  for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']) {
    cases.push([
      code,
      'HOST="not-a-host" does not resolve: expected an IP address of this machine, 0.0.0.0, :: or a name that resolves to one of them',
    ])
  }
  for (const [code, message] of cases) {
    const err = listenError(failed(code), listener)
    t.ok(err instanceof RedirectorError, code)
    t.match(err, { code: 'SR_LISTEN_FAILED', message }, code)
  }
})

t.test('other errors pass as they are', async (t) => {
  const other = failed('EMFILE')
  t.equal(listenError(other, listener), other)
  t.equal(listenError('odd', listener), 'odd', 'even one that is no Error')
})
