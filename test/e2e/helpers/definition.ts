import type { LogFile } from './artifacts.js'
import { transferFile } from './bakery.js'
import { curlGet } from './download.js'
import type { RunResult } from './run.js'
import type { Stack } from './stack.js'
import { definitionName, type Features } from './sysupdate-features.js'
import type { Machine } from './sysupdate.js'

/** A definition installed on a machine: its file name and text, and how its download went. */
export interface Installed {
  readonly file: string
  readonly definition: string
  readonly fetched: RunResult
}

/**
 * Publishes the bakery's definition for `ext` in the stack's bakery and
 * installs it on the machine through the service, by the name this
 * sysupdate reads, as a Flatcar machine's Butane does; 254 also gets its
 * target folder made (it never creates it).
 */
export async function installDefinition(
  stack: Stack,
  machine: Machine,
  features: Features,
  ext: string,
  options: { readonly verify: boolean; readonly log: LogFile },
): Promise<Installed> {
  const file = definitionName(features, ext)
  const definition = transferFile({ service: stack.service.url, ext, verify: options.verify })
  stack.bakery.addMetadata(ext, file, definition)
  const fetched = await curlGet(
    `${stack.service.url}/extensions/${file}`,
    machine.host(`/etc/sysupdate.${ext}.d/${file}`),
    options.log,
    ['--create-dirs'],
  )
  if (!features.createsTargetFolder) await machine.mkdir(`/opt/extensions/${ext}`)
  return { file, definition, fetched }
}
