/**
 * systemd's version order, `strverscmp_improved()` from
 * src/fundamental/string-util-fundamental.c: the order systemd-sysupdate uses
 * to pick the newest instance. Ported step for step so the two can never
 * disagree about which version is "the newest".
 *
 * A version is a run of segments, each numeric or alphabetic, optionally led
 * by one of these prefixes:
 *   `~` a pre-release (older than anything, even the end of the string),
 *   `-` the separator before a release number (older than `^` and `.`),
 *   `^` a patched release (newer than `-`, older than `.`),
 *   `.` a point release;
 * a segment with no prefix is the newest. Numeric segments compare as numbers
 * (leading zeros ignored) and are newer than alphabetic ones; alphabetic
 * segments compare as ASCII, the longer newer. Any other character (`+`, `_`,
 * anything not ASCII) is dropped and only separates segments.
 *
 * Returns -1 when `a` is older, 1 when newer, 0 when they are equivalent.
 * Past the end of a string we read -1 where C reads its NUL: both are below
 * every character, so every comparison keeps its sign. One corner differs by
 * platform in C itself: a `~` followed by a non-ASCII char, compared with the
 * end of the other string, depends on whether `char` is signed; we answer as
 * unsigned-char platforms (arm64) do. Our names are ASCII, so it never arises.
 */
export function strverscmpImproved(a: string, b: string): -1 | 0 | 1 {
  let i = 0
  let j = 0
  for (;;) {
    // Drop leading invalid characters.
    while (i < a.length && !isVersionChar(a.charCodeAt(i))) i++
    while (j < b.length && !isVersionChar(b.charCodeAt(j))) j++

    // `~` marks a pre-release: the string that has it here is older.
    let ca = at(a, i)
    let cb = at(b, j)
    if (ca === TILDE || cb === TILDE) {
      const r = cmp(ca !== TILDE, cb !== TILDE)
      if (r !== 0) return r
      i++
      j++
    }

    // Except for `~` segments, the string with more segments is newer. systemd
    // compares the two chars here; whichever is not at its end is positive.
    ca = at(a, i)
    cb = at(b, j)
    if (ca === END || cb === END) return cmp(ca, cb)

    for (const prefix of [DASH, CARET, DOT]) {
      ca = at(a, i)
      cb = at(b, j)
      if (ca === prefix || cb === prefix) {
        // The string with the prefix is the older one.
        const r = cmp(ca !== prefix, cb !== prefix)
        if (r !== 0) return r
        i++
        j++
      }
    }

    let ea: number
    let eb: number
    if (isDigit(at(a, i)) || isDigit(at(b, j))) {
      ea = spanOf(a, i, isDigit)
      eb = spanOf(b, j, isDigit)
      // A numeric segment is newer than none (an alphabetic one or the end).
      let r = cmp(i !== ea, j !== eb)
      if (r !== 0) return r
      // Leading zeros do not count: 00123 equals 123.
      while (at(a, i) === ZERO) i++
      while (at(b, j) === ZERO) j++
      // More digits is a bigger number; equal lengths compare as text.
      r = cmp(ea - i, eb - j)
      if (r !== 0) return r
      r = compareText(a, i, b, j, ea - i)
      if (r !== 0) return r
    } else {
      ea = spanOf(a, i, isAlpha)
      eb = spanOf(b, j, isAlpha)
      let r = compareText(a, i, b, j, Math.min(ea - i, eb - j))
      if (r !== 0) return r
      // Longer is newer: abc is older than abcde.
      r = cmp(ea - i, eb - j)
      if (r !== 0) return r
    }
    i = ea
    j = eb
  }
}

/** Sorts a copy newest first, the order sysupdate lists instances in. */
export function newestFirst(versions: Iterable<string>): string[] {
  return [...versions].sort((x, y) => strverscmpImproved(y, x))
}

const END = -1
const TILDE = 0x7e
const DASH = 0x2d
const CARET = 0x5e
const DOT = 0x2e
const ZERO = 0x30

function at(text: string, index: number): number {
  return index < text.length ? text.charCodeAt(index) : END
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
}

function isVersionChar(code: number): boolean {
  return (
    isDigit(code) ||
    isAlpha(code) ||
    code === TILDE ||
    code === DASH ||
    code === CARET ||
    code === DOT
  )
}

function spanOf(text: string, from: number, accept: (code: number) => boolean): number {
  let end = from
  while (accept(at(text, end))) end++
  return end
}

/** strncmp over `length` chars of two ASCII runs, as -1, 0 or 1. */
function compareText(a: string, i: number, b: string, j: number, length: number): -1 | 0 | 1 {
  for (let k = 0; k < length; k++) {
    const r = cmp(a.charCodeAt(i + k), b.charCodeAt(j + k))
    if (r !== 0) return r
  }
  return 0
}

function cmp(x: number | boolean, y: number | boolean): -1 | 0 | 1 {
  return x < y ? -1 : x > y ? 1 : 0
}
