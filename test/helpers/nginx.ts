import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './redis-server.js'

/**
 * Debian's nginx, started with a server block of deploy/ (the mirror's
 * nginx.conf) as written but for what only a test changes: it listens on a
 * free port of 127.0.0.1 and ::1 instead of 8080, and serves `root` instead
 * of /srv/sysext-mirror. Each of those must be in the text, or the start fails.
 */
export interface Nginx {
  /** http://127.0.0.1:PORT */
  readonly url: string
  /** http://[::1]:PORT */
  readonly url6: string
  /** Lines of its access log so far: `METHOD PATH STATUS`. */
  requests(): Promise<string[]>
  close(): Promise<void>
}

const NGINX = '/usr/sbin/nginx'

export async function startNginx(site: string, root: string): Promise<Nginx> {
  const port = await freePort()
  const rendered = replaced(
    replaced(
      replaced(site, 'listen 8080;', `listen 127.0.0.1:${port};`),
      'listen [::]:8080;',
      `listen [::1]:${port};`,
    ),
    'root /srv/sysext-mirror;',
    `root ${root};`,
  )
  const dir = await mkdtemp(join(tmpdir(), 'nginx-'))
  await writeFile(join(dir, 'site.conf'), rendered)
  // Only the test's own frame around the server block: where nginx keeps its files.
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      // As root, workers would run as nobody and not read a test's private folders.
      'user root;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      'events { worker_connections 64; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      `  log_format plain '$request_method $request_uri $status';`,
      `  access_log ${dir}/access.log plain;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      `  include ${dir}/site.conf;`,
      '}',
      '',
    ].join('\n'),
  )
  const child = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  for (;;) {
    const up = await fetch(`${url}/.sysext-mirror/`).then(
      () => true,
      () => false,
    )
    if (up) break
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
      throw new Error(`nginx did not start: ${stderr}${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url,
    url6: `http://[::1]:${port}`,
    requests: async () =>
      (await readFile(join(dir, 'access.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter((line) => line !== '' && !line.includes('/.sysext-mirror/')),
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGQUIT')
        await once(child, 'exit')
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function replaced(text: string, what: string, by: string): string {
  if (!text.includes(what)) throw new Error(`the nginx config has no "${what}" to set for a test`)
  return text.replace(what, by)
}
