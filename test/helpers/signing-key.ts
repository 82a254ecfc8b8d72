import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A throwaway key made by Debian's gpg, in its own GNUPGHOME, and what it signs. */
export interface SigningKey {
  /** The public key as `gpg --export` writes it (binary). */
  readonly publicKey: Buffer
  /** As `gpg --export --armor` writes it. */
  readonly armoredPublicKey: string
  /** A detached signature, as `gpg --detach-sign` (binary) or with `--armor`. */
  sign(bytes: string | Buffer, armored?: boolean): Promise<Buffer>
  dispose(): Promise<void>
}

export async function makeSigningKey(name = 'bakery'): Promise<SigningKey> {
  const home = await mkdtemp(join(tmpdir(), 'sr-gpg-'))
  const gpg = (...args: string[]) =>
    run('gpg', ['--homedir', home, '--batch', '--quiet', ...args], { encoding: 'buffer' })
  const id = `${name} test key <${name}@example.invalid>`
  await gpg(
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    id,
    'ed25519',
    'sign',
    'never',
  )
  let count = 0
  return {
    publicKey: (await gpg('--export')).stdout,
    armoredPublicKey: (await gpg('--export', '--armor')).stdout.toString(),
    sign: async (bytes, armored = false) => {
      const input = join(home, `file-${++count}`)
      await writeFile(input, bytes)
      await gpg(
        '--yes',
        ...(armored ? ['--armor'] : []),
        '--output',
        `${input}.sig`,
        '--detach-sign',
        input,
      )
      return readFile(`${input}.sig`)
    },
    dispose: async () => {
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined)
      await rm(home, { recursive: true, force: true })
    },
  }
}
