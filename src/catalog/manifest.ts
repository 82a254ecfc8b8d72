import { atOnce, inTurns, pausesBefore, type Steps } from './turns.js'

/**
 * A SHA256SUMS manifest read exactly as systemd-sysupdate (v255 to v258)
 * reads one in resource_load_from_web(): every line is 64 hex digits, a
 * space, a space or `*`, a file name and `\n`. Anything else rejects the
 * whole file, as it does for sysupdate: a missing final newline, a CRLF
 * (the `\r` is a control character in the name), a name with `/`, an escaped
 * name, a NUL byte, invalid UTF-8. A file we would refuse is one a machine
 * would refuse too, so we never advertise a version from it.
 */
export interface ManifestEntry {
  /** The digest as written (hex, either case). */
  readonly sha256: string
  readonly name: string
}

export type ManifestResult =
  | { readonly ok: true; readonly entries: readonly ManifestEntry[] }
  | { readonly ok: false; readonly reason: string }

const NAME_MAX = 255 // bytes, Linux's limit that filename_is_valid() applies
const HASH_LENGTH = 64

export function parseManifest(bytes: Uint8Array): ManifestResult {
  return atOnce(parseSteps(bytes))
}

/**
 * parseManifest, giving the event loop a turn every ITEMS_PER_TURN lines and
 * every UTF8_BYTES_PER_TURN bytes of its UTF-8 check (turns.ts): a manifest
 * of 100,000 lines holds other requests (health checks included) a few
 * milliseconds at a time, never for its whole parse.
 */
export function parseManifestInTurns(bytes: Uint8Array): Promise<ManifestResult> {
  return inTurns(parseSteps(bytes))
}

/** The parse, pausing (yielding) every ITEMS_PER_TURN lines. */
function* parseSteps(bytes: Uint8Array): Steps<ManifestResult> {
  if (bytes.includes(0)) return refuse('manifest has an embedded NUL byte')
  if (!(yield* utf8Steps(bytes))) return refuse('manifest is not valid UTF-8')
  const entries: ManifestEntry[] = []
  // One Buffer view of the bytes, so each line's strings are read without a wrapper of their own.
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  for (let line = 1; pos < bytes.length; line++) {
    const parsed = parseLine(buffer, pos, line)
    if (typeof parsed === 'string') return refuse(parsed)
    entries.push(parsed.entry)
    pos = parsed.next
    if (pausesBefore(line)) yield
  }
  return { ok: true, entries }
}

function parseLine(
  bytes: Buffer,
  start: number,
  line: number,
): { entry: ManifestEntry; next: number } | string {
  // 64 hash digits, separator, marker, at least a newline.
  if (bytes.length - start < HASH_LENGTH + 3) return `corrupt manifest at line ${line}`
  if (bytes[start] === BACKSLASH) return `file names with escapes are not supported (line ${line})`
  for (let i = start; i < start + HASH_LENGTH; i++) {
    if (HEX[bytes[i] as number] !== 1) return `digest at line ${line} is not 64 hex digits`
  }
  let pos = start + HASH_LENGTH
  if (bytes[pos] !== SPACE) return `missing space separator at line ${line}`
  pos++
  if (bytes[pos] !== SPACE && bytes[pos] !== STAR) {
    return `missing binary/text input marker at line ${line}`
  }
  pos++
  const end = bytes.indexOf(NEWLINE, pos)
  if (end === -1) return `truncated manifest at line ${line} (no final newline)`
  if (end === pos) return `empty file name at line ${line}`
  const name = bytes.toString('utf8', pos, end)
  if (!isValidFileName(name, end - pos)) return `invalid file name at line ${line}`
  if (hasControlChar(name)) return `file name has control characters at line ${line}`
  const sha256 = bytes.toString('latin1', start, start + HASH_LENGTH)
  return { entry: { sha256, name }, next: end + 1 }
}

function refuse(reason: string): ManifestResult {
  return { ok: false, reason }
}

const BACKSLASH = 0x5c
const SPACE = 0x20
const STAR = 0x2a
const NEWLINE = 0x0a

/** 1 for the bytes of hex digits (0-9, A-F, a-f): one array read per digit. */
const HEX = new Uint8Array(256)
for (const digit of '0123456789ABCDEFabcdef') HEX[digit.charCodeAt(0)] = 1

/** systemd's filename_is_valid(): not `.` or `..`, no `/`, at most NAME_MAX bytes. */
function isValidFileName(name: string, byteLength: number): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && byteLength <= NAME_MAX
}

/** systemd's char_is_cc(): C0 controls (tab included) and DEL. */
function hasControlChar(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

/**
 * systemd's utf8_is_valid_n(): well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF) and, stricter than the standard, none of
 * the noncharacters U+FDD0..U+FDEF and U+xxFFFE/U+xxFFFF.
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return atOnce(utf8Steps(bytes))
}

// Bytes checked between two pauses: about 2 ms of decoding.
const UTF8_BYTES_PER_TURN = 256 * 1024

/** isValidUtf8, a slice of the bytes at a time (the decoder holds a code point cut in two). */
function* utf8Steps(bytes: Uint8Array): Steps<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  try {
    for (let start = 0; start < bytes.length; start += UTF8_BYTES_PER_TURN) {
      const slice = bytes.subarray(start, start + UTF8_BYTES_PER_TURN)
      if (NONCHARACTER.test(decoder.decode(slice, { stream: true }))) return false
      yield
    }
    return !NONCHARACTER.test(decoder.decode())
  } catch {
    return false
  }
}

// U+FDD0..U+FDEF and the last two code points of each of the 17 planes:
// one native scan of the text, not a loop over its characters in JavaScript.
const NONCHARACTER = new RegExp(
  `[\\u{FDD0}-\\u{FDEF}${Array.from({ length: 17 }, (_, plane) => {
    const last = (plane * 0x10000 + 0xfffe).toString(16)
    return `\\u{${last}}\\u{${(plane * 0x10000 + 0xffff).toString(16)}}`
  }).join('')}]`,
  'u',
)
