// The Content-Type Go's net/http gives a body a handler wrote without one (http.DetectContentType,
// the WHATWG sniffing algorithm): nsqd's V1 responder sets none for a string answer, such as the
// raw value of a string option in GET /config/<opt>. Almost every value sniffs as
// `text/plain; charset=utf-8`; a value that starts like HTML, XML, a PDF or an image does not, and
// neither does one with "LP" at offset 34 (the EOT font signature). Only the first 512 bytes
// count. Not covered: the MP4 signature, which needs NUL bytes (such a body sniffs as
// application/octet-stream here).

const TEXT = 'text/plain; charset=utf-8'
const BINARY = 'application/octet-stream'

/** Tags that make a body HTML when one starts it (after white space), followed by ' ' or '>'. */
const HTML_TAGS = ['<!DOCTYPE HTML', '<HTML', '<HEAD', '<SCRIPT', '<IFRAME', '<H1', '<DIV', '<FONT', '<TABLE', '<A', '<STYLE',
  '<TITLE', '<B', '<BODY', '<BR', '<P', '<!--'].map((s) => Buffer.from(s, 'latin1'))

/** Exact prefixes and their types, in Go's order after the HTML and XML checks. */
const PREFIXES: Array<[Buffer, string]> = ([
  ['%PDF-', 'application/pdf'],
  ['%!PS-Adobe-', 'application/postscript'],
  ['\x00\x00\x01\x00', 'image/x-icon'],
  ['\x00\x00\x02\x00', 'image/x-icon'],
  ['BM', 'image/bmp'],
  ['GIF87a', 'image/gif'],
  ['GIF89a', 'image/gif'],
  ['\x89PNG\r\n\x1a\n', 'image/png'],
  ['\xff\xd8\xff', 'image/jpeg'],
  ['ID3', 'audio/mpeg'],
  ['OggS\x00', 'application/ogg'],
  ['MThd\x00\x00\x00\x06', 'audio/midi'],
  ['\x1a\x45\xdf\xa3', 'video/webm'],
  ['\x00\x01\x00\x00', 'font/ttf'],
  ['OTTO', 'font/otf'],
  ['ttcf', 'font/collection'],
  ['wOFF', 'font/woff'],
  ['wOF2', 'font/woff2'],
  ['\x1f\x8b\x08', 'application/x-gzip'],
  ['PK\x03\x04', 'application/zip'],
  ['Rar!\x1a\x07\x00', 'application/x-rar-compressed'],
  ['Rar!\x1a\x07\x01\x00', 'application/x-rar-compressed'],
  ['\x00asm', 'application/wasm']
] as Array<[string, string]>).map(([sig, type]) => [Buffer.from(sig, 'latin1'), type])

/** RIFF containers: "RIFF", 4 size bytes, then the form type. */
const RIFF_FORMS: Array<[string, string]> = [['WEBPVP', 'image/webp'], ['AVI ', 'video/avi'], ['WAVE', 'audio/wave']]

function isWhiteSpace (c: number): boolean {
  return c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20
}

/** Bytes that make a body binary rather than text. */
function isBinaryByte (c: number): boolean {
  return c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)
}

function startsWith (b: Buffer, at: number, sig: Buffer, foldCase: boolean): boolean {
  if (b.length - at < sig.length) return false
  for (let k = 0; k < sig.length; k++) {
    let c = b[at + k] as number
    if (foldCase && c >= 0x61 && c <= 0x7a) c -= 0x20
    if (c !== sig[k]) return false
  }
  return true
}

/** Go's http.DetectContentType of a non-empty body. */
export function detectContentType (body: Buffer): string {
  const b = body.length > 512 ? body.subarray(0, 512) : body
  let ws = 0
  while (ws < b.length && isWhiteSpace(b[ws] as number)) ws++
  for (const tag of HTML_TAGS) {
    if (!startsWith(b, ws, tag, true)) continue
    const next = b[ws + tag.length]
    if (next === 0x20 || next === 0x3e) return 'text/html; charset=utf-8'
  }
  if (startsWith(b, ws, Buffer.from('<?xml'), false)) return 'text/xml; charset=utf-8'
  // byte-order marks: Go's patterns are 4 bytes long (the rest masked), so a shorter body is no match
  if (b.length >= 4) {
    if (b[0] === 0xfe && b[1] === 0xff) return 'text/plain; charset=utf-16be'
    if (b[0] === 0xff && b[1] === 0xfe) return 'text/plain; charset=utf-16le'
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return TEXT
  }
  // RIFF and FORM containers (images, audio, video) come before the font signatures
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF') {
    for (const [form, type] of RIFF_FORMS) if (b.toString('latin1', 8, 8 + form.length) === form) return type
  }
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'FORM' && b.toString('latin1', 8, 12) === 'AIFF') return 'audio/aiff'
  for (const [sig, type] of PREFIXES) {
    if (type === 'font/ttf' && b.length >= 36 && b[34] === 0x4c && b[35] === 0x50) return 'application/vnd.ms-fontobject'
    if (startsWith(b, 0, sig, false)) return type
  }
  for (const c of b) if (isBinaryByte(c)) return BINARY
  return TEXT
}
