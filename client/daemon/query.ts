// Query strings parsed the way Go's url.ParseQuery does (nsqd and nsqlookupd read request
// parameters only from the query string): pairs split on '&', '+' is a space, every %XX must be
// valid hex and a ';' is an error. Returns null where Go's parser fails. The first value of a
// repeated key wins through `get`.

export class GoQuery {
  private readonly values = new Map<string, string[]>()

  /** Parses the part of `url` after '?'; null when Go would reject the query. */
  static fromUrl (url: string): GoQuery | null {
    const q = url.indexOf('?')
    return GoQuery.parse(q < 0 ? '' : url.slice(q + 1))
  }

  /** Parses a raw query (without '?'); null when Go would reject it. */
  static parse (raw: string): GoQuery | null {
    const out = new GoQuery()
    let failed = false
    if (raw !== '') {
      for (const part of raw.split('&')) {
        if (part === '') continue
        if (part.includes(';')) { failed = true; continue }
        const eq = part.indexOf('=')
        const k = queryUnescape(eq < 0 ? part : part.slice(0, eq))
        const v = queryUnescape(eq < 0 ? '' : part.slice(eq + 1))
        if (k === null || v === null) { failed = true; continue }
        const list = out.values.get(k)
        if (list === undefined) out.values.set(k, [v])
        else list.push(v)
      }
    }
    return failed ? null : out
  }

  /** The first value, or undefined when the key is absent (an empty value is a value). */
  get (key: string): string | undefined {
    return this.values.get(key)?.[0]
  }

  getAll (key: string): readonly string[] {
    return this.values.get(key) ?? []
  }

  has (key: string): boolean {
    return this.values.has(key)
  }
}

function hexDigit (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Go's QueryUnescape: null on a bad escape; the bytes are read as UTF-8. */
export function queryUnescape (s: string): string | null {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      const h = i + 2 < s.length ? hexDigit(s.charCodeAt(i + 1)) : -1
      const l = i + 2 < s.length ? hexDigit(s.charCodeAt(i + 2)) : -1
      if (h < 0 || l < 0) return null
      bytes.push(h * 16 + l)
      i += 2
    } else if (c === 0x2b) {
      bytes.push(0x20)
    } else if (c < 0x80) {
      bytes.push(c)
    } else {
      const cp = s.codePointAt(i) as number
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b)
      if (cp > 0xffff) i++
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** NSQ's boolean query values: true/1 and false/0; anything else is `fallback`. */
export function queryBool (value: string | undefined, fallback: boolean): boolean {
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  return fallback
}
