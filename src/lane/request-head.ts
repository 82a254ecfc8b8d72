/**
 * The request heads the redirect lane answers itself, and how it tells them
 * from everything else. Accepted subset (anything outside it is 'unsupported'
 * and goes, bytes untouched, to Node's own parser):
 *
 *   GET|HEAD SP /target SP HTTP/1.1 CRLF     target: 1+ bytes 0x21..0x7E, first '/'
 *   (name ":" OWS value OWS CRLF){1,100}     name: tchar+; value: 0x20..0x7E or HTAB
 *   CRLF                                     whole head <= maxHeadBytes
 *   exactly one Host (may be empty); at most one User-Agent, one addressHeader
 *   and one Connection, whose value must be "keep-alive" (any case);
 *   no Content-Length, Transfer-Encoding, Expect, Upgrade, TE, Trailer,
 *   Proxy-Connection (a body or protocol switch is Node's business).
 *
 * The rules, exactly:
 * - 'incomplete': no CRLF CRLF at or after `start` yet, and fewer than
 *   maxHeadBytes bytes after `start`. With maxHeadBytes or more and no CRLF
 *   CRLF, or a head (request line through the blank line) longer than
 *   maxHeadBytes: 'unsupported'. Node counts only the target, names and
 *   values toward its limit, so a head we accept is always within Node's.
 * - Request line: `GET` or `HEAD` (that case), one SP, an origin-form target
 *   (starts with '/', all bytes 0x21..0x7E), one SP, `HTTP/1.1`, CRLF.
 *   HTTP/1.0, other methods, absolute-form, `*`, tabs, double spaces, leading
 *   empty lines, bare LF or CR, bytes >= 0x80: 'unsupported'.
 * - Header lines: 1+ RFC 9110 tchar, then ':' at once (no whitespace before
 *   it), optional SP/HTAB, a value of 0x20..0x7E or HTAB (no obs-text, no
 *   controls), CRLF; the value is returned with SP/HTAB trimmed both sides,
 *   as Node does. A line starting with SP/HTAB (obs-fold), more than 100
 *   lines: 'unsupported'.
 * - Names are case-insensitive. 'unsupported' if any of content-length,
 *   transfer-encoding, expect, upgrade, te, trailer or proxy-connection (which
 *   llhttp reads as Connection) is present; if Connection is repeated or its
 *   value is not `keep-alive`; if Host is absent or repeated; if User-Agent or
 *   options.addressHeader is repeated (Node would keep the first or join them).
 *
 * Cost: one native indexOf finds the blank line (without one it runs to the
 * end of `text`: linear in what the caller holds); one sticky regex checks the
 * grammar up to it (linear, see HEAD); then a pass line by line with indexOf
 * reads the few headers that matter, comparing names in place by length
 * first. Nothing is allocated but the result and its strings.
 */

export interface RequestHead {
  readonly method: 'GET' | 'HEAD'
  /** The request-target exactly as sent (origin-form: starts with '/'). */
  readonly target: string
  /** The User-Agent value (OWS trimmed), undefined if not sent. */
  readonly userAgent: string | undefined
  /** Value of options.addressHeader (OWS trimmed), undefined if not sent or no such option. */
  readonly address: string | undefined
  /** Offset in `text` just past the head's blank line (CRLF CRLF): where a pipelined next request starts. */
  readonly end: number
  /** Whether it sent If-None-Match or If-Modified-Since (a snapshot file may then be a 304: Fastify's). */
  readonly conditional: boolean
}

export type HeadResult = RequestHead | 'incomplete' | 'unsupported'

export interface HeadOptions {
  /** Longest head accepted (request line + headers + blank line), bytes. Node's limit is 16384 here (MAX_HEADER_BYTES in src/protection/server-limits.ts). */
  readonly maxHeadBytes: number
  /** A lower-case header name whose value the caller wants (e.g. 'fly-client-ip'), or undefined. */
  readonly addressHeader?: string | undefined
}

const SP = 0x20
const HTAB = 0x09

/** Header lines beyond this many go to Node (real clients send under 20). */
const MAX_HEADER_LINES = 100

/**
 * The accepted grammar, checked in one go by V8's native regex engine (about
 * twice as fast as the same checks in a charCodeAt loop). No backtracking
 * hazard: every repetition is followed by a byte it cannot hold (the target by
 * SP, a name by ':', a value by CR, the lines by the blank line's CR, which no
 * name starts with), so each part matches in one way only and a failure
 * unwinds each byte once: linear in the head.
 */
const HEAD =
  /(?:GET|HEAD) \/[\x21-\x7e]* HTTP\/1\.1\r\n(?:[-!#$%&'*+.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r\n)*\r\n/y

function isOws(c: number): boolean {
  return c === SP || c === HTAB
}

/** Whether text[at, at + length) is `lower` (a lower-case name), ignoring ASCII case. */
function sameName(text: string, at: number, length: number, lower: string): boolean {
  if (length !== lower.length) return false
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(at + i)
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c !== lower.charCodeAt(i)) return false
  }
  return true
}

/** Parses the request head starting at `start` in `text` (bytes decoded as latin1, one char per byte). */
export function parseRequestHead(text: string, start: number, options: HeadOptions): HeadResult {
  // A caller's bad offset: let Node have the bytes rather than guess.
  if (!Number.isInteger(start) || start < 0 || start > text.length) return 'unsupported'
  const blank = text.indexOf('\r\n\r\n', start)
  if (blank === -1) return text.length - start < options.maxHeadBytes ? 'incomplete' : 'unsupported'
  const end = blank + 4
  if (end - start > options.maxHeadBytes) return 'unsupported'

  // A match ends at `end` (no line of the grammar is empty but the last), so
  // the regex reads no further than the head.
  HEAD.lastIndex = start
  if (!HEAD.test(text)) return 'unsupported'

  // The grammar holds: now read what the lane needs, a line at a time.
  const method = text.charCodeAt(start) === 0x47 ? 'GET' : 'HEAD'
  let p = start + method.length + 1
  const targetEnd = text.indexOf(' ', p)
  const target = text.slice(p, targetEnd)
  p = targetEnd + 11 // ' HTTP/1.1\r\n'

  const addressHeader = options.addressHeader
  let userAgent: string | undefined
  let address: string | undefined
  let host = false
  let connection = false
  let conditional = false
  let lines = 0
  while (p < blank + 2) {
    if (++lines > MAX_HEADER_LINES) return 'unsupported'
    const nameAt = p
    const colon = text.indexOf(':', p)
    const nameLength = colon - nameAt
    // A value holds no CR: the first one ends the line.
    const lineEnd = text.indexOf('\r', colon)
    let valueAt = colon + 1
    while (isOws(text.charCodeAt(valueAt))) valueAt++
    let valueEnd = lineEnd
    while (valueEnd > valueAt && isOws(text.charCodeAt(valueEnd - 1))) valueEnd--
    p = lineEnd + 2

    if (addressHeader !== undefined && sameName(text, nameAt, nameLength, addressHeader)) {
      if (address !== undefined) return 'unsupported'
      address = text.slice(valueAt, valueEnd)
    }
    // Only names of these lengths matter; the length picks the few to compare.
    switch (nameLength) {
      case 2:
        if (sameName(text, nameAt, 2, 'te')) return 'unsupported'
        break
      case 4:
        if (sameName(text, nameAt, 4, 'host')) {
          if (host) return 'unsupported'
          host = true
        }
        break
      case 6:
        if (sameName(text, nameAt, 6, 'expect')) return 'unsupported'
        break
      case 7:
        if (sameName(text, nameAt, 7, 'upgrade') || sameName(text, nameAt, 7, 'trailer')) {
          return 'unsupported'
        }
        break
      case 10:
        if (sameName(text, nameAt, 10, 'user-agent')) {
          if (userAgent !== undefined) return 'unsupported'
          userAgent = text.slice(valueAt, valueEnd)
        } else if (sameName(text, nameAt, 10, 'connection')) {
          if (connection || !sameName(text, valueAt, valueEnd - valueAt, 'keep-alive')) {
            return 'unsupported'
          }
          connection = true
        }
        break
      case 13:
        conditional ||= sameName(text, nameAt, 13, 'if-none-match')
        break
      case 14:
        if (sameName(text, nameAt, 14, 'content-length')) return 'unsupported'
        break
      case 16:
        if (sameName(text, nameAt, 16, 'proxy-connection')) return 'unsupported'
        break
      case 17:
        if (sameName(text, nameAt, 17, 'transfer-encoding')) return 'unsupported'
        conditional ||= sameName(text, nameAt, 17, 'if-modified-since')
        break
    }
  }
  if (!host) return 'unsupported'
  return { method, target, userAgent, address, end, conditional }
}
