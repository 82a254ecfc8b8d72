import t from 'tap'
import { baseUrlOf } from '../../src/core/base-url.js'

t.test('an http(s) base URL, without its trailing slashes; anything else is null', async (t) => {
  t.equal(baseUrlOf('https://mirror.example/releases//'), 'https://mirror.example/releases')
  t.equal(baseUrlOf('http://[::1]:8080/'), 'http://[::1]:8080')
  t.equal(
    baseUrlOf('HTTPS://Mirror.Example/A'),
    'https://mirror.example/A',
    'origin as URL writes it',
  )
  for (const bad of [
    '',
    'mirror.example',
    'ftp://mirror.example',
    'https://mirror.example/?x=1',
    'https://mirror.example/#top',
    'https://user@mirror.example',
    'https://user:secret@mirror.example',
  ]) {
    t.equal(baseUrlOf(bad), null, JSON.stringify(bad))
  }
})
