import { readFile } from 'node:fs/promises'
import type { KeyFileSetting } from '../config/service.js'
import { RedirectorError } from '../core/errors.js'

/**
 * A source's signing keys, read once at start: whether a detached signature
 * (binary `.gpg` or armored `.asc`, as `gpg --detach-sign` makes them) over
 * a manifest was made by one of them. OpenPGP.js is loaded only when a
 * source has keys: it is large, and most deployments start without.
 */
export type Verify = (manifest: Uint8Array, signature: Uint8Array) => Promise<boolean>

/** A file of OpenPGP public keys, binary or armored, and the setting that names it (for errors). */
export type KeyFile = KeyFileSetting

/** Every source's keys, read and parsed before the service starts: a bad file stops the start. */
export async function readVerifiers(files: Record<string, KeyFile>): Promise<Map<string, Verify>> {
  const verifiers = new Map<string, Verify>()
  for (const [source, file] of Object.entries(files))
    verifiers.set(source, await readVerifier(file))
  return verifiers
}

export async function readVerifier(file: KeyFile): Promise<Verify> {
  let bytes: Buffer
  try {
    bytes = await readFile(file.path)
  } catch (err) {
    throw invalid(file, `cannot be read (${(err as NodeJS.ErrnoException).code})`)
  }
  const openpgp = await import('openpgp')
  let keys: Awaited<ReturnType<typeof openpgp.readKeys>>
  try {
    keys = isArmored(bytes)
      ? await openpgp.readKeys({ armoredKeys: bytes.toString('utf8') })
      : await openpgp.readKeys({ binaryKeys: bytes })
  } catch (err) {
    throw invalid(file, `holds no OpenPGP public key (${(err as Error).message})`)
  }
  // A private key given by mistake verifies as its public half; nothing secret is kept.
  const verificationKeys = keys.map((key) => key.toPublic())
  return async (manifest, signature) => {
    try {
      const [message, read] = await Promise.all([
        openpgp.createMessage({ binary: manifest }),
        isArmored(signature)
          ? openpgp.readSignature({ armoredSignature: Buffer.from(signature).toString('utf8') })
          : openpgp.readSignature({ binarySignature: signature }),
      ])
      const { signatures } = await openpgp.verify({ message, signature: read, verificationKeys })
      const outcomes = await Promise.allSettled(signatures.map((one) => one.verified))
      return outcomes.some((outcome) => outcome.status === 'fulfilled')
    } catch {
      // Not a signature at all (garbage, a truncated upload): it verifies nothing.
      return false
    }
  }
}

function isArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN')
}

function invalid(file: KeyFile, what: string): RedirectorError {
  return new RedirectorError(
    'SR_CONFIG_INVALID',
    `${file.setting}="${file.path}" ${what}: expected a file of OpenPGP public keys, binary or armored (gpg --export [--armor])`,
  )
}
