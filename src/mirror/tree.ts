import { randomBytes } from 'node:crypto'
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { RedirectorError } from '../core/errors.js'

/**
 * The folder the mirror command writes, and its own corner of it
 * (`.sysext-mirror/`): the downloaded images by SHA-256 (`objects/`, and
 * `.partial` files an interrupted run resumes), the record of what the last
 * run wrote (`state.json`), and a lock so two runs never write at once.
 * Every file of the tree is put in place by a rename, so a reader sees the
 * old file or the new one, never half of one; images are hard links to
 * their object, so the tree's several names of an image cost its bytes once.
 */
export class Tree {
  readonly dir: string
  readonly #own: string
  /** What the last complete run wrote: path to SHA-256 (images) or null (any other file). */
  readonly #before: Readonly<Record<string, string | null>>
  readonly #now: Record<string, string | null> = {}

  private constructor(dir: string, before: Readonly<Record<string, string | null>>) {
    this.dir = dir
    this.#own = join(dir, OWN)
    this.#before = before
  }

  /** Opens DIR for one run (made when missing), or says plainly why it cannot. */
  static async open(dir: string): Promise<Tree> {
    const found = await stat(dir).catch(() => null)
    if (found !== null && !found.isDirectory()) {
      throw dirError(`DIR ${dir} is a file, not a folder`)
    }
    await mkdir(join(dir, OWN, 'objects'), { recursive: true }).catch((err: unknown) => {
      throw dirError(`cannot write to DIR ${dir}: ${reasonOf(err)}`, err)
    })
    await lock(join(dir, OWN, 'lock'), dir)
    const state = await readFile(join(dir, OWN, 'state.json'), 'utf8').then(
      (text) => (JSON.parse(text) as { files?: Record<string, string | null> }).files ?? {},
      () => ({}),
    )
    return new Tree(dir, state)
  }

  /** Where an image's bytes are kept once verified. */
  objectPath(sha256: string): string {
    return join(this.#own, 'objects', sha256)
  }

  /** Where an image's bytes arrive, and stay when a run is cut off. */
  partialPath(sha256: string): string {
    return `${this.objectPath(sha256)}.partial`
  }

  /**
   * Whether the image is at hand: its object, or (its object removed) the
   * file the last run wrote for it, taken back as the object.
   */
  async hasObject(sha256: string, paths: readonly string[]): Promise<boolean> {
    if (await exists(this.objectPath(sha256))) return true
    for (const path of paths) {
      if (this.#before[path] !== sha256) continue
      const linked = await link(this.#file(path), this.objectPath(sha256)).then(
        () => true,
        () => false,
      )
      if (linked) return true
    }
    return false
  }

  /** A verified download becomes the image's object. */
  async finishObject(sha256: string): Promise<void> {
    await rename(this.partialPath(sha256), this.objectPath(sha256))
  }

  /** Puts the image at `path` (a hard link to its object), unless it is there already. */
  async placeImage(path: string, sha256: string): Promise<void> {
    this.#now[path] = sha256
    const target = this.#file(path)
    const [object, current] = await Promise.all([
      stat(this.objectPath(sha256)),
      stat(target).catch(() => null),
    ])
    if (current !== null && current.ino === object.ino && current.dev === object.dev) return
    await mkdir(dirname(target), { recursive: true })
    const temporary = this.#temporary(target)
    await link(this.objectPath(sha256), temporary)
    await rename(temporary, target)
  }

  /** Writes a small file (a manifest, a signature, a transfer file) by a rename, unless unchanged. */
  async placeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.#now[path] = null
    const target = this.#file(path)
    const current = await readFile(target).catch(() => null)
    if (current !== null && current.equals(bytes)) return
    await mkdir(dirname(target), { recursive: true })
    const temporary = this.#temporary(target)
    await writeFile(temporary, bytes)
    await rename(temporary, target)
  }

  /**
   * Removes what the last run wrote and this one did not (images of
   * versions no longer kept), and the objects no file names; records this
   * run as the last. Called once every file is in place.
   */
  async finish(): Promise<{ removed: number }> {
    let removed = 0
    for (const path of Object.keys(this.#before)) {
      if (path in this.#now) continue
      await unlink(this.#file(path)).catch(() => undefined)
      removed++
    }
    // Objects no file names any more; a .partial stays, for a run that wants it again.
    const named = new Set(Object.values(this.#now))
    for (const name of await readdir(join(this.#own, 'objects'))) {
      if (!name.endsWith('.partial') && !named.has(name)) {
        await rm(join(this.#own, 'objects', name), { force: true })
      }
    }
    const state = join(this.#own, 'state.json')
    const temporary = this.#temporary(state)
    await writeFile(temporary, `${JSON.stringify({ files: this.#now }, null, 1)}\n`)
    await rename(temporary, state)
    return { removed }
  }

  /** Lets another run in. */
  async close(): Promise<void> {
    await rm(join(this.#own, 'lock'), { force: true })
  }

  /** A tree path (`/extensions/x`) as a file in DIR; never outside it. */
  #file(path: string): string {
    const parts = path.split('/').filter((part) => part !== '')
    if (parts.some((part) => part === '.' || part === '..' || part === OWN)) {
      throw new RedirectorError('SR_MIRROR_FAILED', `refused to write ${path}: not a path in DIR`)
    }
    return join(this.dir, ...parts)
  }

  /** A name beside `target` for its next version, renamed onto it once whole. */
  #temporary(target: string): string {
    return join(dirname(target), `.${randomBytes(6).toString('hex')}.tmp`)
  }
}

/** The command's own folder in DIR: never served, never a tree path. */
export const OWN = '.sysext-mirror'

/** Takes the lock, or says which run holds it; a lock whose process is gone is taken over. */
async function lock(file: string, dir: string, retried = false): Promise<void> {
  const opened = await open(file, 'wx').catch((err: NodeJS.ErrnoException) => err)
  if (!(opened instanceof Error)) {
    await opened.writeFile(String(process.pid))
    await opened.close()
    return
  }
  /* c8 ignore next -- its folder was just made: only a lock already there makes open fail */
  if (opened.code !== 'EEXIST') throw dirError(`cannot write to DIR ${dir}: ${reasonOf(opened)}`)
  const pid = Number(await readFile(file, 'utf8').catch(() => ''))
  if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
    throw dirError(`DIR ${dir} is being written by another mirror run (process ${pid})`)
  }
  if (retried) {
    throw dirError(`DIR ${dir}: ${file} is in the way; remove it if no mirror run is writing DIR`)
  }
  await rm(file, { force: true }).catch(() => undefined)
  return lock(file, dir, true)
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

/** What the common reasons mean, for people. */
const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'no permission',
  EPERM: 'not permitted',
  EROFS: 'a read-only file system',
  ENOTDIR: 'a part of its path is not a folder',
  ENOSPC: 'no space left',
}

/** A file system error, said for people (every one has a code). */
function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code as string
  return REASONS[code] === undefined ? code : `${REASONS[code]} (${code})`
}

function dirError(message: string, cause?: unknown): RedirectorError {
  return new RedirectorError('SR_MIRROR_DIR', message, { cause })
}
