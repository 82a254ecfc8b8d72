import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat, truncate, unlink } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, type Dispatcher } from 'undici'
import { RedirectorError } from '../core/errors.js'
import { describeFailure } from '../manifests/fetch.js'
import type { UpstreamGate } from '../upstream/gate.js'

/**
 * One image downloaded to a file, as a client would: GET the Location the
 * service redirects to (GitHub's download URL, or a mirror's), following
 * its redirects to the bytes, hashed while they stream. A partial file from
 * an interrupted run is resumed with a Range request; what does not match
 * the manifest's SHA-256 is deleted and said.
 */
export interface DownloadOptions {
  readonly dispatcher: Dispatcher
  /** GitHub's pauses and budget; asked before each download that goes to GitHub. */
  readonly gate: Pick<UpstreamGate, 'admitCheck' | 'observe'>
  /** Whether a URL is GitHub's (the gate counts those), not a mirror's. */
  readonly isGitHub: (url: string) => boolean
  /** The longest a download may go without a byte. */
  readonly idleTimeoutMs: number
  /** How long a spent per-second budget is waited for before asking again. */
  readonly budgetWaitMs: number
  /** Told the bytes as they arrive (the progress bar). */
  readonly onBytes?: (count: number) => void
}

/** What a download came to: the bytes written, and how many of them this run fetched. */
export interface Downloaded {
  readonly size: number
  readonly fetched: number
}

// GitHub's download URL redirects once to its storage; a mirror's bucket perhaps once more.
const MAX_REDIRECTS = 5
const USER_AGENT = 'sysext-redirector (mirror)'

/**
 * Downloads `url` into `partial` (appending to what an earlier run left
 * there when the server can resume) until it holds bytes whose SHA-256 is
 * `sha256`. Throws SR_MIRROR_FAILED naming the file and what went wrong;
 * bytes that arrived stay in `partial` for the next run.
 */
export async function download(
  url: string,
  partial: string,
  sha256: string,
  name: string,
  options: DownloadOptions,
): Promise<Downloaded> {
  await admitted(url, name, options)
  let hash = createHash('sha256')
  let have = await hashExisting(partial, hash)
  const response = await follow(url, have, name, options)
  if ((response === null || response.statusCode === 200) && have > 0) {
    // The server cannot go on from there: start again from nothing.
    await truncate(partial, 0)
    hash = createHash('sha256')
    have = 0
  }
  // A partial file that is no prefix of this one (416): asked again, whole.
  if (response === null) return download(url, partial, sha256, name, options)
  const fetched = await save(response, partial, hash, name, have, options)
  return checked(hash, sha256, partial, name, { size: have + fetched, fetched })
}

/** Waits out a spent per-second budget; a pause GitHub asked for ends the run. */
async function admitted(url: string, name: string, options: DownloadOptions): Promise<void> {
  if (!options.isGitHub(url)) return
  for (;;) {
    const held = options.gate.admitCheck()
    if (held === null) return
    if (held === 'paused') {
      throw failed(`${name}: GitHub asked us to wait (rate limited); run again later`)
    }
    await sleep(options.budgetWaitMs)
  }
}

/** The bytes already in the partial file, fed to the hash; 0 when there is none. */
async function hashExisting(partial: string, hash: Hash): Promise<number> {
  const size = await stat(partial).then(
    (found) => found.size,
    () => 0,
  )
  if (size === 0) return 0
  for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer)
  return size
}

/** GET with redirects followed by hand (each hop's status seen by the gate when it is GitHub's). */
async function follow(
  url: string,
  from: number,
  name: string,
  options: DownloadOptions,
): Promise<Dispatcher.ResponseData | null> {
  let at = url
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      'accept-encoding': 'identity',
    }
    if (from > 0) headers.range = `bytes=${from}-`
    const response = await request(at, {
      dispatcher: options.dispatcher,
      headers,
      headersTimeout: options.idleTimeoutMs,
      bodyTimeout: options.idleTimeoutMs,
    }).catch((err: unknown) => {
      throw failed(`${name}: ${new URL(at).host} did not answer (${describeFailure(err)})`)
    })
    if (options.isGitHub(at)) options.gate.observe(response.statusCode, response.headers)
    const location = response.headers.location
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump()
      at = new URL(location, at).href
      continue
    }
    if (response.statusCode === 200 || (response.statusCode === 206 && resumesAt(response, from))) {
      return response
    }
    await response.body.dump()
    if (response.statusCode === 416 && from > 0) return null
    throw failed(`${name}: ${new URL(at).host} answered ${response.statusCode}`)
  }
  throw failed(`${name}: more than ${MAX_REDIRECTS} redirects`)
}

/** Whether a 206 continues exactly where the partial file ends. */
function resumesAt(response: Dispatcher.ResponseData, from: number): boolean {
  const range = response.headers['content-range']
  return typeof range === 'string' && range.startsWith(`bytes ${from}-`)
}

/**
 * The body appended to the partial file, each chunk hashed and written
 * before the next is read: when the connection breaks, what arrived is on
 * disk for the next run. Returns the bytes written.
 */
async function save(
  response: Dispatcher.ResponseData,
  partial: string,
  hash: Hash,
  name: string,
  had: number,
  options: DownloadOptions,
): Promise<number> {
  let count = 0
  const file = await open(partial, 'a')
  try {
    for await (const chunk of response.body) {
      await file.write(chunk as Buffer)
      hash.update(chunk as Buffer)
      count += (chunk as Buffer).length
      options.onBytes?.((chunk as Buffer).length)
    }
  } catch (err) {
    throw failed(
      `${name}: cut off after ${had + count} bytes (${describeFailure(err)}); run again to resume from there`,
    )
  } finally {
    await file.close()
  }
  return count
}

async function checked(
  hash: Hash,
  sha256: string,
  partial: string,
  name: string,
  result: Downloaded,
): Promise<Downloaded> {
  const got = hash.digest('hex')
  if (got === sha256) return result
  await unlink(partial)
  throw failed(`${name}: its SHA-256 is ${got}, but its manifest lists ${sha256}; deleted`)
}

function failed(message: string): RedirectorError {
  return new RedirectorError('SR_MIRROR_FAILED', message)
}
