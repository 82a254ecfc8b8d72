import { ARCHES, type Arch } from '../catalog/catalog.js'
import type { Choice } from './plan.js'

/** The mirror command's line, read: where, what, and how it reports. */
export interface MirrorOptions {
  readonly dir: string
  /** The sources mirrored (their directory forms); null: every source. */
  readonly sources: ReadonlySet<string> | null
  readonly choice: Choice
  /** A progress bar (on a terminal by default); else one summary line. */
  readonly progress: boolean | null
}

export const MIRROR_USAGE = `mirror DIR [--source NAME]... [--extension NAME]... [--arch ARCH]...
                         [--keep N] [--progress | --no-progress]`

/**
 * The command line after `mirror`; a string says what is wrong with it
 * (the CLI prints it above the usage).
 */
export function parseMirrorArgs(args: readonly string[]): MirrorOptions | string {
  let dir: string | undefined
  const lists = { source: new Set<string>(), extension: new Set<string>(), arch: new Set<Arch>() }
  let keep: number | null = null
  let progress: boolean | null = null
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--progress' || arg === '--no-progress') {
      progress = arg === '--progress'
      continue
    }
    const option = /^--(source|extension|arch|keep)$/.exec(arg)?.[1]
    if (option === undefined) {
      if (arg.startsWith('--')) return `mirror: unknown option ${arg}`
      if (dir !== undefined) return 'mirror takes one DIR'
      dir = arg
      continue
    }
    const value = args[++i]
    if (value === undefined || value === '') return `mirror: --${option} needs a value`
    if (option === 'keep') {
      if (!/^[1-9]\d{0,5}$/.test(value))
        return `mirror: --keep takes a whole number of versions from 1, not ${value}`
      keep = Number(value)
    } else if (option === 'arch') {
      if (!(ARCHES as readonly string[]).includes(value)) {
        return `mirror: --arch takes ${ARCHES.join(' or ')}, not ${value}`
      }
      lists.arch.add(value as Arch)
    } else {
      lists[option as 'source' | 'extension'].add(value)
    }
  }
  if (dir === undefined) return 'mirror needs DIR, the folder to write'
  const orAll = <T>(set: Set<T>): ReadonlySet<T> | null => (set.size === 0 ? null : set)
  return {
    dir,
    sources: orAll(lists.source),
    choice: { extensions: orAll(lists.extension), arches: orAll(lists.arch), keep },
    progress,
  }
}
