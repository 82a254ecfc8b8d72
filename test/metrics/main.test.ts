import t from 'tap'
import { startMain } from '../helpers/process.js'

t.test(
  'main starts the metrics listener after the app, on METRICS_PORT, and stops it',
  async (t) => {
    const main = await startMain({ UPSTREAM_CHECKS: 'false' })
    t.teardown(() => main.child.kill('SIGKILL'))
    const deadline = Date.now() + 10_000
    let port: string | undefined
    while (port === undefined && Date.now() < deadline) {
      port = /"port":(\d+),"msg":"metrics listening"/.exec(main.output())?.[1]
      if (port === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    t.ok(port, 'logged where it listens')
    t.ok(
      main.output().indexOf('Server listening') < main.output().indexOf('metrics listening'),
      'after the app',
    )
    await fetch(`${main.url}/extensions/SHA256SUMS`, { redirect: 'manual' })
    const res = await fetch(`http://127.0.0.1:${port}/metrics`)
    t.equal(res.status, 200)
    const body = await res.text()
    t.match(body, /^sysext_redirector_requests_total\{rule="global-index",status="302"\} 1$/m)
    t.match(body, /^process_start_time_seconds \d+$/m)
    main.child.kill('SIGTERM')
    t.equal(await main.exited(), 0, 'a clean stop with the metrics listener open')
    await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`))
  },
)
