// The auth server client (nsqd-internals.md §15): query one of --auth-http-address (random start,
// each in turn), GET with the parameters in the query string or POST them as JSON, validate the
// answer (permissions, regexes, ttl) and keep it as an AuthState that expires after ttl seconds.
// Topic and channel patterns are Go RE2 regexes, unanchored; compileGoRegex() translates the RE2
// syntax people use into JavaScript and rejects what RE2 would not compile.

import http from 'node:http'
import https from 'node:https'
import type tls from 'node:tls'

export interface AuthQuery {
  remoteIp: string
  tls: boolean
  secret: string
  commonName: string
}

export interface Authorization {
  topic: RegExp
  channels: RegExp[]
  subscribe: boolean
  publish: boolean
}

export class AuthState {
  readonly identity: string
  readonly identityUrl: string
  readonly ttlS: number
  readonly expiresAtMs: number
  readonly authorizations: Authorization[]

  constructor (identity: string, identityUrl: string, ttlS: number, authorizations: Authorization[], nowMs: number) {
    this.identity = identity
    this.identityUrl = identityUrl
    this.ttlS = ttlS
    this.authorizations = authorizations
    this.expiresAtMs = nowMs + ttlS * 1000
  }

  isExpired (nowMs: number): boolean {
    return this.expiresAtMs < nowMs
  }

  /** SUB: channel non-empty, needs subscribe; PUB/MPUB/DPUB: channel '', needs publish. */
  isAllowed (topic: string, channel: string): boolean {
    for (const a of this.authorizations) {
      if (channel !== '' ? !a.subscribe : !a.publish) continue
      if (!a.topic.test(topic)) continue
      for (const c of a.channels) if (c.test(channel)) return true
    }
    return false
  }
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f'
}

/**
 * Compiles a Go (RE2) pattern as an unanchored JavaScript RegExp. Handles leading flag groups
 * ((?i), (?s), (?m)), named groups (?P<name>…), \A and \z, POSIX classes; throws for what RE2
 * rejects (backreferences, lookaround) and for anything that does not compile.
 */
export function compileGoRegex (src: string): RegExp {
  let s = src
  let flags = ''
  const lead = /^\(\?([ims]+)\)/.exec(s)
  if (lead !== null) {
    for (const f of lead[1] as string) if (!flags.includes(f)) flags += f
    s = s.slice(lead[0].length)
  }
  if (/\(\?[=!]|\(\?<[=!]/.test(s)) throw new Error(`invalid or unsupported Perl syntax in ${JSON.stringify(src)}`)
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string
    if (ch === '\\') {
      const nx = s[i + 1]
      if (nx === undefined) throw new Error(`trailing backslash at end of expression in ${JSON.stringify(src)}`)
      if (nx >= '1' && nx <= '9') throw new Error(`invalid escape sequence \\${nx} in ${JSON.stringify(src)}`)
      if (nx === 'A') out += '^'
      else if (nx === 'z') out += '$(?![\\s\\S])'
      else out += ch + nx
      i++
      continue
    }
    if (ch === '(' && s.startsWith('(?P<', i)) { out += '(?<'; i += 3; continue }
    if (ch === '[' && s[i + 1] === ':') {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(i))
      if (m !== null && POSIX_CLASSES[m[2] as string] !== undefined) {
        if (m[1] === '^') throw new Error(`negated POSIX class not supported in ${JSON.stringify(src)}`)
        out += POSIX_CLASSES[m[2] as string]
        i += m[0].length - 1
        continue
      }
    }
    out += ch
  }
  return new RegExp(out, flags)
}

/** Validates an auth server answer; throws with NSQ's reasons (only logged, never sent). */
export function parseAuthResponse (body: string, nowMs: number): AuthState {
  let raw: unknown
  try {
    raw = JSON.parse(body)
  } catch (err) {
    throw new Error(`failed to decode auth response - ${(err as Error).message}`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('auth response is not a JSON object')
  const r = raw as Record<string, unknown>
  const str = (v: unknown, what: string): string => {
    if (v === undefined || v === null) return ''
    if (typeof v !== 'string') throw new Error(`auth response ${what} is not a string`)
    return v
  }
  const ttl = r.ttl ?? 0
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) throw new Error('auth response ttl is not an integer')
  const list = r.authorizations ?? []
  if (!Array.isArray(list)) throw new Error('auth response authorizations is not a list')
  const auths: Authorization[] = []
  for (const a of list as unknown[]) {
    if (a === null || typeof a !== 'object') throw new Error('auth response authorization is not an object')
    const e = a as Record<string, unknown>
    const perms = e.permissions ?? []
    if (!Array.isArray(perms)) throw new Error('auth response permissions is not a list')
    let subscribe = false
    let publish = false
    for (const p of perms as unknown[]) {
      if (p === 'subscribe') subscribe = true
      else if (p === 'publish') publish = true
      else throw new Error(`unknown permission ${String(p)}`)
    }
    const topicSrc = str(e.topic, 'topic')
    let topic: RegExp
    try {
      topic = compileGoRegex(topicSrc)
    } catch (err) {
      throw new Error(`unable to compile topic ${JSON.stringify(topicSrc)} ${(err as Error).message}`)
    }
    const chans = e.channels ?? []
    if (!Array.isArray(chans)) throw new Error('auth response channels is not a list')
    const channels: RegExp[] = []
    for (const c of chans as unknown[]) {
      const cs = str(c, 'channel')
      try {
        channels.push(compileGoRegex(cs))
      } catch (err) {
        throw new Error(`unable to compile channel ${JSON.stringify(cs)} ${(err as Error).message}`)
      }
    }
    auths.push({ topic, channels, subscribe, publish })
  }
  if (ttl <= 0) throw new Error(`invalid TTL ${ttl} (must be >0)`)
  return new AuthState(str(r.identity, 'identity'), str(r.identity_url, 'identity_url'), ttl, auths, nowMs)
}

export interface AuthClientOptions {
  addresses: readonly string[]
  method: string
  connectTimeoutMs: number
  requestTimeoutMs: number
  /** --tls-root-ca-file contents, for https auth servers. */
  ca?: Buffer
  minVersion?: tls.SecureVersion
}

const MAX_RESPONSE = 1024 * 1024

interface HttpAnswer { status: number, body: string }

export class AuthClient {
  private readonly o: AuthClientOptions

  constructor (options: AuthClientOptions) {
    this.o = options
  }

  get enabled (): boolean {
    return this.o.addresses.length > 0
  }

  /** Tries every auth server from a random start; rejects with the last error if all fail. */
  async query (q: AuthQuery): Promise<AuthState> {
    const list = this.o.addresses
    const start = Math.floor(Math.random() * list.length)
    let last: Error = new Error('no auth servers')
    for (let i = 0; i < list.length; i++) {
      const addr = list[(start + i) % list.length] as string
      try {
        return await this.queryOne(addr, q)
      } catch (err) {
        last = new Error(`auth server ${addr}: ${(err as Error).message}`)
      }
    }
    throw last
  }

  private async queryOne (addr: string, q: AuthQuery): Promise<AuthState> {
    const endpoint = addr.includes('://') ? addr : `http://${addr}/auth`
    const params = { remote_ip: q.remoteIp, tls: q.tls ? 'true' : 'false', secret: q.secret, common_name: q.commonName }
    let url = new URL(endpoint)
    let body: string | null = null
    if (this.o.method.toLowerCase() === 'post') {
      // Go's url.Values as JSON: sorted keys, each value a one-element list
      body = JSON.stringify({ common_name: [params.common_name], remote_ip: [params.remote_ip], secret: [params.secret], tls: [params.tls] })
    } else {
      const qs = new URLSearchParams(url.search)
      for (const [k, v] of Object.entries(params)) qs.set(k, v)
      url.search = qs.toString()
    }
    let ans = await this.request(url, body)
    if (ans.status === 403 && url.protocol === 'http:') {
      // NSQ's HTTP client: a TLS_REQUIRED answer names the https port to retry on
      const port = httpsPortOf(ans.body)
      if (port > 0) {
        url = new URL(url.toString())
        url.protocol = 'https:'
        url.port = String(port)
        ans = await this.request(url, body)
      }
    }
    if (ans.status !== 200) throw new Error(`got response ${ans.status} ${ans.body.slice(0, 200)}`)
    return parseAuthResponse(ans.body, Date.now())
  }

  private async request (url: URL, body: string | null): Promise<HttpAnswer> {
    const o = this.o
    const mod = url.protocol === 'https:' ? https : http
    const headers: Record<string, string> = { Accept: 'application/vnd.nsq; version=1.0' }
    if (body !== null) headers['Content-Type'] = 'application/json'
    const options: https.RequestOptions = { method: body === null ? 'GET' : 'POST', headers, agent: false }
    if (url.protocol === 'https:') {
      if (o.ca !== undefined) options.ca = o.ca
      if (o.minVersion !== undefined) options.minVersion = o.minVersion
    }
    return await new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false
      const done = (err: Error | null, ans?: HttpAnswer): void => {
        if (settled) return
        settled = true
        clearTimeout(connectTimer)
        clearTimeout(requestTimer)
        if (err !== null) { req.destroy(); reject(err) } else resolve(ans as HttpAnswer)
      }
      const req = mod.request(url, options, (res) => {
        const parts: Buffer[] = []
        let size = 0
        res.on('data', (d: Buffer) => {
          size += d.length
          if (size > MAX_RESPONSE) { done(new Error('response too large')); return }
          parts.push(d)
        })
        res.on('end', () => { done(null, { status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }) })
        res.on('error', (err) => { done(err) })
      })
      const connectTimer = setTimeout(() => { done(new Error(`connect timeout after ${o.connectTimeoutMs}ms`)) }, o.connectTimeoutMs)
      const requestTimer = setTimeout(() => { done(new Error(`request timeout after ${o.requestTimeoutMs}ms`)) }, o.requestTimeoutMs)
      req.on('socket', (sock) => {
        const connected = (): void => { clearTimeout(connectTimer) }
        if (!sock.connecting) connected()
        else sock.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected)
      })
      req.on('error', (err) => { done(err) })
      req.end(body ?? undefined)
    })
  }
}

function httpsPortOf (body: string): number {
  try {
    const v = JSON.parse(body) as { https_port?: unknown }
    return typeof v.https_port === 'number' ? v.https_port : 0
  } catch {
    return 0
  }
}
