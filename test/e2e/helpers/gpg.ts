import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LogFile } from './artifacts.js'
import type { Signer } from './bakery.js'
import { describe, run } from './run.js'

export interface TestKey {
  /** Signs detached, binary, like the `SHA256SUMS.gpg` every sysupdate fetches. */
  readonly sign: Signer
  /** Signs detached, ASCII-armored, like the `SHA256SUMS.asc` sysupdate 258 and later accept. */
  readonly signArmored: Signer
  /** The public key as a keyring file, for /etc/systemd/import-pubring.gpg. */
  readonly publicKeyring: Buffer
  dispose(): Promise<void>
}

const GPG_TIMEOUT_MS = 30_000

/**
 * A throwaway signing key in its own GNUPGHOME (short path: gpg-agent's socket
 * lives there), never the user's keyring.
 */
export async function makeTestKey(log: LogFile): Promise<TestKey> {
  const home = await mkdtemp(join(tmpdir(), 'e2e-gpg-'))
  const gpg = async (...args: string[]): Promise<void> => {
    const result = await run('gpg', ['--homedir', home, '--batch', ...args], {
      log,
      timeoutMs: GPG_TIMEOUT_MS,
    })
    if (result.code !== 0) throw new Error(`gpg ${args[0]} failed: ${describe(result)}`)
  }
  await gpg(
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    'sysext-redirector e2e <e2e@example.invalid>',
    'ed25519',
    'sign',
    'never',
  )
  const keyring = join(home, 'export.gpg')
  await gpg('--output', keyring, '--export')
  let count = 0
  const signer =
    (...armor: string[]): Signer =>
    async (sums) => {
      const input = join(home, `sums-${++count}`)
      await writeFile(input, sums)
      await gpg('--yes', ...armor, '--output', `${input}.sig`, '--detach-sign', input)
      return readFile(`${input}.sig`)
    }
  return {
    sign: signer(),
    signArmored: signer('--armor'),
    publicKeyring: await readFile(keyring),
    dispose: async () => {
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], {
        log,
        timeoutMs: GPG_TIMEOUT_MS,
      })
      await rm(home, { recursive: true, force: true })
    },
  }
}
