import { RedirectorError } from '../core/errors.js'

/**
 * The longest request target (path and query, as sent) we look at. Real
 * paths are under 200 bytes; 4 KiB leaves room for long fallback queries
 * while bounding what the matcher is asked to read (its cost is linear, but a
 * path still costs CPU per byte). Node's own 16 KiB header limit answers 431
 * before anything longer than that reaches us.
 */
export const MAX_TARGET_LENGTH = 4_096

export interface Target {
  /** Percent-decoded, cleaned path: starts with `/`, no `//`, `.` or `..` segments. */
  readonly path: string
  /** The query as sent, without the `?`, made safe to echo in a Location; '' if none. */
  readonly query: string
}

const HEX = /^[0-9A-Fa-f]{2}$/
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/

/**
 * Turns a raw request target into the path the pattern table matches, the way
 * Caddy did before us: percent-decode, then resolve `//`, `.` and `..`, never
 * climbing above the root. A trailing slash is kept, as Caddy kept it.
 */
export function normaliseTarget(rawTarget: string): Target {
  if (rawTarget.length > MAX_TARGET_LENGTH) {
    throw new RedirectorError(
      'SR_PATH_TOO_LONG',
      `request target is longer than ${MAX_TARGET_LENGTH} bytes`,
    )
  }
  const target = stripAbsoluteForm(rawTarget)
  const hash = target.indexOf('#')
  const withoutFragment = hash === -1 ? target : target.slice(0, hash)
  const question = withoutFragment.indexOf('?')
  const rawPath = question === -1 ? withoutFragment : withoutFragment.slice(0, question)
  const rawQuery = question === -1 ? '' : withoutFragment.slice(question + 1)
  if (!rawPath.startsWith('/')) {
    throw new RedirectorError('SR_PATH_INVALID', 'request path must start with /')
  }
  return { path: cleanPath(decodePath(rawPath)), query: encodeQuery(rawQuery) }
}

// A proxy-style request (`GET http://host/path`) names the path after the authority.
function stripAbsoluteForm(target: string): string {
  const match = ABSOLUTE_FORM.exec(target)
  if (match === null) return target
  const rest = target.slice(match[0].length)
  return rest.startsWith('/') ? rest : `/${rest}`
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Node hands us the request line as latin1, one char per byte, so the path is
 * decoded as bytes: escapes and raw bytes alike, then read as strict UTF-8.
 */
export function decodePath(rawPath: string): string {
  // Fast path: plain ASCII without escapes is already decoded.
  if (/^[\x21-\x7e]*$/.test(rawPath) && !rawPath.includes('%')) return rawPath
  const bytes = toBytes(rawPath)
  let decoded: string
  try {
    decoded = utf8.decode(bytes)
  } catch {
    throw new RedirectorError('SR_PATH_ENCODING', 'path is not valid UTF-8 once decoded')
  }
  for (let i = 0; i < decoded.length; i++) {
    if (isControl(decoded.charCodeAt(i))) {
      throw new RedirectorError('SR_PATH_CONTROL_CHAR', 'path contains a control character')
    }
  }
  return decoded
}

function toBytes(rawPath: string): Uint8Array {
  // A char above 0xFF cannot come off the wire; `inject` and tests may send one.
  const raw = Buffer.from(rawPath, /^[^\u0100-\uffff]*$/.test(rawPath) ? 'latin1' : 'utf8')
  const out = new Uint8Array(raw.length)
  let length = 0
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] as number
    if (byte !== 0x25) {
      out[length++] = byte
      continue
    }
    const escape = raw.toString('latin1', i + 1, i + 3)
    if (!HEX.test(escape)) {
      throw new RedirectorError('SR_PATH_ENCODING', 'path has an invalid percent-encoding')
    }
    out[length++] = Number.parseInt(escape, 16)
    i += 2
  }
  return out.subarray(0, length)
}

/** C0 controls, DEL and C1 controls: never part of a file name we serve. */
export function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f)
}

export function cleanPath(path: string): string {
  const out: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') out.pop()
    else out.push(segment)
  }
  const cleaned = `/${out.join('/')}`
  return path.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned
}

// Characters RFC 3986 allows in a path besides unreserved ones (and `/`).
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/

function percentEncode(char: string, latin1: boolean): string {
  const bytes = Buffer.from(char, latin1 ? 'latin1' : 'utf8')
  let out = ''
  for (const byte of bytes) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  return out
}

// Whole strings that need no escaping: the common case, returned as they are.
const SAFE_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/
const SAFE_QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/

/**
 * Percent-encodes a decoded path for a Location header; `+` stays `+`.
 * Built with join, not `+=`: these strings are remembered per target, and
 * a string grown a char at a time stays a chain of one V8 object per char.
 */
export function encodePath(path: string): string {
  if (SAFE_PATH.test(path)) return path
  const out: string[] = []
  for (const char of path) out.push(PATH_SAFE.test(char) ? char : percentEncode(char, false))
  return out.join('')
}

/**
 * The query is echoed, not interpreted: keep what is already a valid escape and
 * percent-encode every byte that may not stand in a query, so the Location is
 * always plain ASCII. Chars up to 0xFF are bytes off the wire (latin1).
 */
export function encodeQuery(rawQuery: string): string {
  if (SAFE_QUERY.test(rawQuery)) return rawQuery
  const out: string[] = []
  let i = 0
  for (const char of rawQuery) {
    if (
      char === '%' ? HEX.test(rawQuery.slice(i + 1, i + 3)) : char === '?' || PATH_SAFE.test(char)
    ) {
      out.push(char)
    } else {
      out.push(percentEncode(char, (char.codePointAt(0) as number) <= 0xff))
    }
    i += char.length
  }
  return out.join('')
}
