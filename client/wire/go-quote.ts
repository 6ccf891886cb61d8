// Go's strconv.Quote (what nsqd's `%q` prints in error texts, tcp-protocol.md §17), applied to the
// raw bytes of a name: valid printable UTF-8 runes pass through as they are, each byte of an invalid
// sequence becomes \xNN, `"` and `\` are escaped, \a \b \f \n \r \t \v get their short escapes, other
// control characters below 0x20 and DEL become \xNN, and the remaining non-printable runes become
// \uXXXX or \UXXXXXXXX. Hex digits are lowercase, as Go's.

import { isGoPrint } from './go-printable.js'

const HEX = '0123456789abcdef'
const SHORT: Readonly<Record<number, string>> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' }

function hex (n: number, digits: number): string {
  let s = ''
  for (let i = digits - 1; i >= 0; i--) s += HEX[(n >>> (i * 4)) & 0xf]
  return s
}

/**
 * Length of the valid UTF-8 sequence starting at `i` (Go's utf8.DecodeRune rules: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when the byte at `i` starts none.
 */
function utf8Length (s: string, i: number): number {
  const b0 = s.charCodeAt(i)
  const at = (k: number): number => i + k < s.length ? s.charCodeAt(i + k) : -1
  const cont = (b: number, lo = 0x80, hi = 0xbf): boolean => b >= lo && b <= hi
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(at(1)) ? 2 : 0
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80
    const hi = b0 === 0xed ? 0x9f : 0xbf
    return cont(at(1), lo, hi) && cont(at(2)) ? 3 : 0
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80
    const hi = b0 === 0xf4 ? 0x8f : 0xbf
    return cont(at(1), lo, hi) && cont(at(2)) && cont(at(3)) ? 4 : 0
  }
  return 0
}

function decodeRune (s: string, i: number, n: number): number {
  const b0 = s.charCodeAt(i)
  if (n === 2) return ((b0 & 0x1f) << 6) | (s.charCodeAt(i + 1) & 0x3f)
  if (n === 3) return ((b0 & 0x0f) << 12) | ((s.charCodeAt(i + 1) & 0x3f) << 6) | (s.charCodeAt(i + 2) & 0x3f)
  return ((b0 & 0x07) << 18) | ((s.charCodeAt(i + 1) & 0x3f) << 12) | ((s.charCodeAt(i + 2) & 0x3f) << 6) | (s.charCodeAt(i + 3) & 0x3f)
}

function escapeAscii (c: number): string {
  if (c === 0x22) return '\\"'
  if (c === 0x5c) return '\\\\'
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c)
  return SHORT[c] ?? '\\x' + hex(c, 2)
}

/**
 * strconv.Quote of a byte string (one char per byte, 0..255, as the TCP command line is decoded
 * with latin1). The result is a byte string too: a printable rune's UTF-8 bytes are copied as they
 * are, so encoding the result with latin1 gives NSQ's exact bytes.
 */
export function goQuoteBytes (bytes: string): string {
  let out = '"'
  for (let i = 0; i < bytes.length;) {
    const c = bytes.charCodeAt(i)
    if (c < 0x80) {
      out += escapeAscii(c)
      i++
      continue
    }
    const n = utf8Length(bytes, i)
    if (n === 0) {
      out += '\\x' + hex(c, 2)
      i++
      continue
    }
    const r = decodeRune(bytes, i, n)
    if (isGoPrint(r)) out += bytes.slice(i, i + n)
    else out += r < 0x10000 ? '\\u' + hex(r, 4) : '\\U' + hex(r, 8)
    i += n
  }
  return out + '"'
}

/** strconv.Quote of a JS string's UTF-8 bytes (a lone surrogate counts as U+FFFD), as a JS string. */
export function goQuote (s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) {
      const quoted = goQuoteBytes(Buffer.from(s, 'utf8').toString('latin1'))
      return Buffer.from(quoted, 'latin1').toString('utf8')
    }
  }
  return '"' + s + '"'
}
