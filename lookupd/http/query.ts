// Query strings parsed the way Go's url.ParseQuery does (nsqlookupd reads parameters only from the
// query string): pairs split on '&', '+' is a space, %XX must be valid hex, a ';' is an error. The
// first value of a repeated key wins when read through `get`.

import { HttpApiError } from './errors.js'

export class QueryParams {
  private readonly values = new Map<string, string[]>()

  /** Parses the raw query (the part after '?'); throws INVALID_REQUEST when Go would fail. */
  constructor (raw: string) {
    let failed = false
    for (const part of raw.split('&')) {
      if (part === '') continue
      if (part.includes(';')) { failed = true; continue }
      const eq = part.indexOf('=')
      const k = unescapeQuery(eq < 0 ? part : part.slice(0, eq))
      const v = unescapeQuery(eq < 0 ? '' : part.slice(eq + 1))
      if (k === null || v === null) { failed = true; continue }
      const list = this.values.get(k)
      if (list === undefined) this.values.set(k, [v])
      else list.push(v)
    }
    if (failed) throw new HttpApiError('INVALID_REQUEST')
  }

  static fromUrl (url: string): QueryParams {
    const q = url.indexOf('?')
    return new QueryParams(q < 0 ? '' : url.slice(q + 1))
  }

  /** The first value, or undefined when the key is absent (an empty value is a value). */
  get (key: string): string | undefined {
    return this.values.get(key)?.[0]
  }
}

function hexVal (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Go's QueryUnescape; null on a bad escape. Bytes are decoded as UTF-8. */
export function unescapeQuery (s: string): string | null {
  if (!s.includes('%') && !s.includes('+')) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      if (i + 2 >= s.length) return null
      const h = hexVal(s.charCodeAt(i + 1))
      const l = hexVal(s.charCodeAt(i + 2))
      if (h < 0 || l < 0) return null
      bytes.push(h * 16 + l)
      i += 2
    } else if (c === 0x2b) {
      bytes.push(0x20)
    } else if (c < 0x80) {
      bytes.push(c)
    } else {
      for (const b of Buffer.from(s[i] as string, 'utf8')) bytes.push(b)
    }
  }
  return Buffer.from(bytes).toString('utf8')
}
