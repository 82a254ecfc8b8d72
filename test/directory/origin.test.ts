import t from 'tap'
import { publicOrigin } from '../../src/directory/origin.js'

t.test('PUBLIC_URL when set, whatever the request', async (t) => {
  t.equal(publicOrigin('https://ext.example.org', false, 'evil.test'), 'https://ext.example.org')
  t.equal(
    publicOrigin('https://ext.example.org/mirror', true, undefined),
    'https://ext.example.org/mirror',
  )
})

t.test('else the Host asked for: https behind Fly, http otherwise', async (t) => {
  t.equal(publicOrigin(undefined, false, 'Ext.Example.org:8080'), 'http://ext.example.org:8080')
  t.equal(publicOrigin(undefined, true, 'ext.example.org'), 'https://ext.example.org')
  t.equal(publicOrigin(undefined, false, '127.0.0.1:80'), 'http://127.0.0.1:80')
  t.equal(publicOrigin(undefined, false, '[::1]:8080'), 'http://[::1]:8080')
})

t.test('a Host that names no plain host: none', async (t) => {
  for (const host of [
    undefined,
    '',
    'a b',
    'x.test/path',
    'u@x.test',
    'x.test:port',
    '-x.test',
    '<x>',
  ]) {
    t.equal(publicOrigin(undefined, false, host), null, String(host))
  }
})
