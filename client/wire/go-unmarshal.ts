// Go's encoding/json json.Unmarshal into a struct of typed fields (string, bool, int64, int32), the
// way nsqd decodes an IDENTIFY body (tcp-protocol.md §8.1, §9.1) and nsqlookupd decodes its peer's
// IDENTIFY body (lookupd.md §3.2). One pass over the bytes, no JSON.parse:
//
// - The body is one JSON value with only space, tab, CR or LF around it. `null` leaves every field
//   at its zero value; any other non-object, a syntax error anywhere (in an ignored value too),
//   trailing data, or nesting deeper than 10,000 containers fails the whole body.
// - Keys apply in document order, so the last one wins. A key names a field when it equals the
//   field name after case folding: ASCII letters fold, and so do U+017F (ſ, to s) and U+212A
//   (Kelvin sign, to k), the only non-ASCII runes whose fold orbit holds an ASCII letter.
//   Other keys are ignored, whatever their (valid) value.
// - `null` for a known field leaves its earlier value. A value of the wrong JSON type, a number
//   with a fraction or exponent, or an integer outside the field's type (int64 or int32) fails the
//   whole body, even when a later duplicate key is right.
// - Strings: escapes are decoded; a surrogate escape that is not the first half of a valid pair
//   becomes U+FFFD, and so does each byte that is not part of a valid UTF-8 sequence.
//
// Integers stay exact: a JS number while within ±(2^53 − 1), a bigint beyond (int64 only).
// Field names must be lower-case ASCII (letters, digits, `_`), as NSQ's json tags are.

/** An int64 field's value: a number when it is a safe integer, else a bigint. */
export type Int64 = number | bigint

/** The Go type of a field. */
export type GoKind = 'string' | 'bool' | 'int64' | 'int32'

interface KindValue {
  string: string
  bool: boolean
  int64: Int64
  int32: number
}

/** Field name → Go type. */
export type GoFieldKinds = Readonly<Record<string, GoKind>>

/** The decoded struct: one property per field, typed by its kind. */
export type GoStructOf<K extends GoFieldKinds> = { -readonly [P in keyof K]: KindValue[K[P]] }

export interface GoField {
  readonly kind: GoKind
  readonly name: string
}

/** Go's scanner limit: at most this many open objects/arrays, the top-level one included. */
export const MAX_NESTING_DEPTH = 10000

const ZERO_VALUE: KindValue = { string: '', bool: false, int64: 0, int32: 0 }

/** A struct type to unmarshal into: built once per field set, then used for every body. */
export class GoStruct<K extends GoFieldKinds> {
  private readonly fields = new Map<string, GoField>()
  /** Field names by length, as bytes: plain ASCII keys are matched without making a string. */
  readonly byLength: Array<Array<{ bytes: Buffer, field: GoField }>> = []
  /** Longer keys cannot fold onto a field name (ſ and K are one UTF-16 unit each, like the letters). */
  private readonly maxKeyLength: number
  /** Every field at its zero value; copied for each body (a copy keeps one fixed object shape). */
  private readonly zero: Record<string, unknown> = {}

  constructor (kinds: K) {
    let max = 0
    for (const [name, kind] of Object.entries(kinds)) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`field name ${name} is not lower-case ASCII`)
      const field: GoField = { kind, name }
      this.fields.set(name, field)
      ;(this.byLength[name.length] ??= []).push({ bytes: Buffer.from(name), field })
      if (name.length > max) max = name.length
      this.zero[name] = ZERO_VALUE[kind]
    }
    this.maxKeyLength = max
  }

  /** Every field at its Go zero value. */
  defaults (): GoStructOf<K> {
    return { ...this.zero } as GoStructOf<K>
  }

  /** The fields decoded from `body` (absent ones at zero values), or null when Go's json.Unmarshal fails. */
  decode (body: Buffer): GoStructOf<K> | null {
    const out = this.defaults()
    try {
      new Decoder(body, this).run(out as Record<string, unknown>)
      return out
    } catch (err) {
      if (err === FAIL) return null
      throw err
    }
  }

  /** The field a key names under Go's case folding, if any. */
  fieldForKey (key: string): GoField | undefined {
    const exact = this.fields.get(key)
    if (exact !== undefined || key.length > this.maxKeyLength) return exact
    let folded = ''
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      if (c >= 0x41 && c <= 0x5a) folded += String.fromCharCode(c + 0x20)
      else if (c < 0x80) folded += key[i]
      else if (c === 0x17f) folded += 's'
      else if (c === 0x212a) folded += 'k'
      else return undefined
    }
    return this.fields.get(folded)
  }

  /** The field named by the plain ASCII key b[start, end), ASCII letters matching either case. */
  matchAscii (b: Buffer, start: number, end: number): GoField | undefined {
    const candidates = this.byLength[end - start]
    if (candidates === undefined) return undefined
    next: for (const { bytes, field } of candidates) {
      for (let k = 0; k < bytes.length; k++) {
        let c = b[start + k] as number
        if (c >= 0x41 && c <= 0x5a) c += 0x20
        if (c !== bytes[k]) continue next
      }
      return field
    }
    return undefined
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

const TRUE = [0x74, 0x72, 0x75, 0x65]
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65]
const NULL = [0x6e, 0x75, 0x6c, 0x6c]

/** Thrown inside the decoder only; GoStruct.decode turns it into `null`. */
class DecodeFailure {}
const FAIL = new DecodeFailure()

/**
 * The length of the valid UTF-8 sequence at b[at] (a byte >= 0x80), or 0 when that byte starts
 * none: shortest form, no surrogates, at most U+10FFFF, as Go's utf8.DecodeRune accepts.
 */
function utf8Length (b: Buffer, at: number): number {
  const c = b[at] as number
  let n = 0
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) n = 2
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3
    if (c === 0xe0) lo = 0xa0
    else if (c === 0xed) hi = 0x9f
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4
    if (c === 0xf0) lo = 0x90
    else if (c === 0xf4) hi = 0x8f
  } else return 0
  if (at + n > b.length) return 0
  const c1 = b[at + 1] as number
  if (c1 < lo || c1 > hi) return 0
  for (let k = 2; k < n; k++) {
    const ck = b[at + k] as number
    if (ck < 0x80 || ck > 0xbf) return 0
  }
  return n
}

/** Writes code point cp (not a surrogate) as UTF-8 at out[w]; the new write position. */
function putRune (out: Buffer, w: number, cp: number): number {
  if (cp < 0x80) {
    out[w] = cp
    return w + 1
  }
  if (cp < 0x800) {
    out[w] = 0xc0 | (cp >> 6)
    out[w + 1] = 0x80 | (cp & 0x3f)
    return w + 2
  }
  if (cp < 0x10000) {
    out[w] = 0xe0 | (cp >> 12)
    out[w + 1] = 0x80 | ((cp >> 6) & 0x3f)
    out[w + 2] = 0x80 | (cp & 0x3f)
    return w + 3
  }
  out[w] = 0xf0 | (cp >> 18)
  out[w + 1] = 0x80 | ((cp >> 12) & 0x3f)
  out[w + 2] = 0x80 | ((cp >> 6) & 0x3f)
  out[w + 3] = 0x80 | (cp & 0x3f)
  return w + 4
}

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

function isDigit (c: number): boolean {
  return c >= ZERO && c <= NINE
}

function hexValue (c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** What decodeGoStringSlice gives when Go's json.Unmarshal fails. */
export const SLICE_DECODE_FAILED = Symbol('slice decode failed')

/**
 * json.Unmarshal of `body` into a Go []string that holds `current`: the new slice, `null` for a
 * JSON null (Go's nil slice), or SLICE_DECODE_FAILED. A JSON null element leaves the element that
 * Go's decoder reuses at that index: `current`'s (Go decodes into the slice's old backing array),
 * or "" past its end. Any element that is not a string or null fails the whole body.
 */
export function decodeGoStringSlice (body: Buffer, current: readonly string[]): string[] | null | typeof SLICE_DECODE_FAILED {
  try {
    return new Decoder(body, NO_FIELDS).stringSlice(current)
  } catch (err) {
    if (err === FAIL) return SLICE_DECODE_FAILED
    throw err
  }
}

/** Field-lookup methods the decoder needs (GoStruct's, whatever its field set). */
interface FieldLookup {
  fieldForKey (key: string): GoField | undefined
  matchAscii (b: Buffer, start: number, end: number): GoField | undefined
}

type Out = Record<string, unknown>

const NO_FIELDS: FieldLookup = { fieldForKey: () => undefined, matchAscii: () => undefined }

class Decoder {
  private readonly b: Buffer
  private readonly fields: FieldLookup
  private i = 0
  /** Open containers, the top-level object included. */
  private depth = 0
  /** For ignored values: whether each open container (by depth) is an array. */
  private arrays: Uint8Array | null = null

  constructor (b: Buffer, fields: FieldLookup) {
    this.b = b
    this.fields = fields
  }

  run (out: Out): void {
    const b = this.b
    this.ws()
    if (this.i < b.length && b[this.i] === NULL[0]) {
      this.literal(NULL)
    } else {
      // any other value is the wrong type (or not JSON): the body fails either way
      if (b[this.i] !== OPEN_OBJECT) throw FAIL
      this.object(out)
    }
    this.ws()
    if (this.i !== b.length) throw FAIL
  }

  stringSlice (current: readonly string[]): string[] | null {
    const b = this.b
    this.ws()
    let out: string[] | null = null
    if (b[this.i] === NULL[0]) {
      this.literal(NULL)
    } else if (b[this.i] === OPEN_ARRAY) {
      out = []
      this.depth = 1
      this.i++
      this.ws()
      if (b[this.i] === CLOSE_ARRAY) {
        this.i++
      } else {
        while (true) {
          const c = b[this.i]
          const at = out.length
          if (c === QUOTE) out.push(this.string())
          else if (c === NULL[0]) { this.literal(NULL); out.push(current[at] ?? '') } else throw FAIL
          this.ws()
          const d = b[this.i++]
          if (d === CLOSE_ARRAY) break
          if (d !== COMMA) throw FAIL
          this.ws()
        }
      }
    } else {
      throw FAIL
    }
    this.ws()
    if (this.i !== b.length) throw FAIL
    return out
  }

  private object (out: Out): void {
    const b = this.b
    this.depth = 1
    this.i++
    this.ws()
    if (b[this.i] === CLOSE_OBJECT) { this.i++; return }
    while (true) {
      const field = this.key()
      if (field === undefined) this.skipValue()
      else if (b[this.i] === NULL[0]) this.literal(NULL)
      else this.store(out, field)
      this.ws()
      const c = b[this.i++]
      if (c === CLOSE_OBJECT) return
      if (c !== COMMA) throw FAIL
      this.ws()
    }
  }

  /** At `"`: reads a key, its colon and the space before its value; the field the key names. */
  private key (): GoField | undefined {
    const b = this.b
    if (b[this.i] !== QUOTE) throw FAIL
    const start = this.i + 1
    let end = start
    while (end < b.length) {
      const c = b[end] as number
      if (c === QUOTE || c === BACKSLASH || c < 0x20 || c >= 0x80) break
      end++
    }
    let field: GoField | undefined
    if (b[end] === QUOTE) {
      field = this.fields.matchAscii(b, start, end)
      this.i = end + 1
    } else {
      field = this.fields.fieldForKey(this.string())
    }
    this.ws()
    if (b[this.i++] !== COLON) throw FAIL
    this.ws()
    return field
  }

  private store (out: Out, field: GoField): void {
    const c = this.b[this.i]
    switch (field.kind) {
      case 'string':
        if (c !== QUOTE) throw FAIL
        out[field.name] = this.string()
        return
      case 'bool':
        if (c === TRUE[0]) { this.literal(TRUE); out[field.name] = true } else if (c === FALSE[0]) { this.literal(FALSE); out[field.name] = false } else throw FAIL
        return
      case 'int64':
        out[field.name] = this.integer(false)
        return
      case 'int32':
        out[field.name] = this.integer(true)
    }
  }

  private ws (): void {
    const b = this.b
    while (this.i < b.length && isSpace(b[this.i] as number)) this.i++
  }

  private literal (word: number[]): void {
    const b = this.b
    for (let k = 0; k < word.length; k++) {
      if (b[this.i + k] !== word[k]) throw FAIL
    }
    this.i += word.length
  }

  /**
   * An integer literal for an int64 (or int32) field. A fraction or exponent, or a value outside
   * the type, fails as Go's strconv.ParseInt and overflow check do.
   */
  private integer (int32: boolean): Int64 {
    const b = this.b
    const start = this.i
    const neg = b[this.i] === MINUS
    if (neg) this.i++
    const digitsStart = this.i
    const first = b[this.i]
    if (first === ZERO) this.i++
    else if (first !== undefined && first > ZERO && first <= NINE) {
      while (this.i < b.length && isDigit(b[this.i] as number)) this.i++
    } else throw FAIL
    const next = b[this.i]
    if (next === DOT || next === 0x65 || next === 0x45) throw FAIL
    const digits = this.i - digitsStart
    if (digits <= 15) {
      let v = 0
      for (let k = digitsStart; k < this.i; k++) v = v * 10 + ((b[k] as number) - ZERO)
      if (neg) v = v === 0 ? 0 : -v
      if (int32 && (v < INT32_MIN || v > INT32_MAX)) throw FAIL
      return v
    }
    // slow path: long digit strings, exact through BigInt
    if (int32) throw FAIL
    const big = BigInt(b.toString('latin1', start, this.i))
    if (big < INT64_MIN || big > INT64_MAX) throw FAIL
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  /** At `"`: the decoded string. ASCII without escapes is the fast path. */
  private string (): string {
    const b = this.b
    const start = ++this.i
    while (this.i < b.length) {
      const c = b[this.i] as number
      if (c === QUOTE) {
        const s = b.toString('latin1', start, this.i)
        this.i++
        return s
      }
      if (c === BACKSLASH || c < 0x20 || c >= 0x80) break
      this.i++
    }
    return this.slowString(start)
  }

  /**
   * The string from `start` on, this.i at the first byte the fast path could not take. The syntax
   * is checked first (finding the end); then the bytes are rewritten as valid UTF-8 in one
   * buffer: escapes decoded, a surrogate escape outside a valid pair and each byte outside a
   * valid UTF-8 sequence as U+FFFD. No input byte yields more than 3 output bytes.
   */
  private slowString (start: number): string {
    const b = this.b
    let r = this.i
    this.stringEnd()
    const end = this.i - 1
    const out = Buffer.allocUnsafe(3 * (end - start))
    let w = b.copy(out, 0, start, r)
    while (r < end) {
      const c = b[r] as number
      if (c === BACKSLASH) {
        const e = b[r + 1] as number
        if (e !== 0x75) {
          out[w++] = e === 0x62 ? 0x08 : e === 0x66 ? 0x0c : e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : e
          r += 2
          continue
        }
        let cp = this.hex4(r + 2)
        r += 6
        if (cp >= 0xd800 && cp <= 0xdfff) {
          const low = cp < 0xdc00 && b[r] === BACKSLASH && b[r + 1] === 0x75 ? this.hex4(r + 2) : -1
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
            r += 6
          } else {
            // a lone or misordered half; whatever follows is decoded on its own
            cp = 0xfffd
          }
        }
        w = putRune(out, w, cp)
      } else if (c < 0x80) {
        out[w++] = c
        r++
      } else {
        const n = utf8Length(b, r)
        if (n === 0) {
          w = putRune(out, w, 0xfffd)
          r++
        } else {
          for (const stop = r + n; r < stop; r++) out[w++] = b[r] as number
        }
      }
    }
    return out.toString('utf8', 0, w)
  }

  private hex4 (at: number): number {
    const b = this.b
    let v = 0
    for (let k = 0; k < 4; k++) {
      const h = hexValue(b[at + k] ?? -1)
      if (h < 0) return -1
      v = v * 16 + h
    }
    return v
  }

  // ---- ignored values: checked for syntax and depth, not decoded --------------------------------

  private skipValue (): void {
    const b = this.b
    const base = this.depth
    while (true) {
      // at the start of a value
      const c = b[this.i]
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.open(c === OPEN_ARRAY)
        this.i++
        this.ws()
        if (b[this.i] === (c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT)) {
          this.i++
          this.depth--
        } else {
          if (c === OPEN_OBJECT) this.skipKey()
          continue
        }
      } else {
        this.skipScalar()
      }
      // after a value: close containers until one continues with `,`
      while (this.depth > base) {
        this.ws()
        const array = (this.arrays as Uint8Array)[this.depth] === 1
        const d = b[this.i++]
        if (d === (array ? CLOSE_ARRAY : CLOSE_OBJECT)) { this.depth--; continue }
        if (d !== COMMA) throw FAIL
        this.ws()
        if (!array) this.skipKey()
        break
      }
      if (this.depth === base) return
    }
  }

  private open (array: boolean): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw FAIL
    if (this.arrays === null) this.arrays = new Uint8Array(MAX_NESTING_DEPTH + 1)
    this.arrays[this.depth] = array ? 1 : 0
  }

  private skipKey (): void {
    if (this.b[this.i] !== QUOTE) throw FAIL
    this.skipString()
    this.ws()
    if (this.b[this.i++] !== COLON) throw FAIL
    this.ws()
  }

  private skipScalar (): void {
    const c = this.b[this.i]
    if (c === QUOTE) this.skipString()
    else if (c === TRUE[0]) this.literal(TRUE)
    else if (c === FALSE[0]) this.literal(FALSE)
    else if (c === NULL[0]) this.literal(NULL)
    else this.skipNumber()
  }

  private skipString (): void {
    this.i++
    this.stringEnd()
  }

  /**
   * From inside a string to just past its closing quote, checking JSON's string syntax only: no
   * control bytes, known escapes, four hex digits after `\u`. Go's scanner does not look at UTF-8.
   */
  private stringEnd (): void {
    const b = this.b
    while (true) {
      if (this.i >= b.length) throw FAIL
      const c = b[this.i] as number
      if (c === QUOTE) { this.i++; return }
      if (c < 0x20) throw FAIL
      if (c !== BACKSLASH) { this.i++; continue }
      const e = b[this.i + 1]
      if (e === 0x75) {
        if (this.hex4(this.i + 2) < 0) throw FAIL
        this.i += 6
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        this.i += 2
      } else {
        throw FAIL
      }
    }
  }

  /** JSON's number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private skipNumber (): void {
    const b = this.b
    if (b[this.i] === MINUS) this.i++
    const first = b[this.i]
    if (first === ZERO) this.i++
    else if (first !== undefined && first > ZERO && first <= NINE) this.digits()
    else throw FAIL
    if (b[this.i] === DOT) {
      this.i++
      if (!isDigit(b[this.i] ?? -1)) throw FAIL
      this.digits()
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      this.i++
      if (b[this.i] === 0x2b || b[this.i] === MINUS) this.i++
      if (!isDigit(b[this.i] ?? -1)) throw FAIL
      this.digits()
    }
  }

  private digits (): void {
    const b = this.b
    while (this.i < b.length && isDigit(b[this.i] as number)) this.i++
  }
}
