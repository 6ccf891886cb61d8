// Optional login for nsqadmin (issue 17; beyond NSQ, off unless --users-file is given). Users come
// from a file, one per line:
//   <name>:<role>:<hash>        role = admin | viewer, hash = output of `nsqadmin --hash-password`
// Blank lines and lines starting with "#" are skipped. Hashes are Node's crypto scrypt:
//   scrypt$<N>$<r>$<p>$<salt base64>$<key base64>
// A login creates a server-side session (so logout and expiry really end it), named by a random id
// in the cookie `nsqadmin_session=<id>.<HMAC-SHA256(id) base64url>`; the HMAC key is
// --session-secret, or 32 random bytes drawn at start (sessions then end with the process). Each
// session has a CSRF token that every POST/PUT/DELETE under /api must carry in X-CSRF-Token.
// Failed logins are counted per client IP and per user name in bounded maps and logged.

import crypto from 'node:crypto'
import fs from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from './logger.js'

export type Role = 'admin' | 'viewer'

export interface User {
  name: string
  role: Role
  hash: string
}

export interface Session {
  id: string
  user: string
  role: Role
  csrf: string
  expiresMs: number
}

export const COOKIE = 'nsqadmin_session'
export const CSRF_HEADER = 'x-csrf-token'
const SCRYPT = { N: 16384, r: 8, p: 1, keyLen: 32 }
/** Failures allowed per window before 429: per user name, and per client IP. */
export const MAX_FAILURES_PER_USER = 5
export const MAX_FAILURES_PER_IP = 20
export const FAILURE_WINDOW_MS = 15 * 60_000
const MAX_TRACKED = 10_000
const MAX_SESSIONS = 10_000

function scrypt (password: string, salt: Buffer, N: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(password, salt, keyLen, { N, r, p, maxmem: 256 * N * r }, (err, key) => {
      if (err !== null) reject(err)
      else resolve(key)
    })
  })
}

/** A new scrypt hash of `password` in the users-file format. */
export async function hashPassword (password: string): Promise<string> {
  const salt = crypto.randomBytes(16)
  const key = await scrypt(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

function parseHash (stored: string): { N: number, r: number, p: number, salt: Buffer, key: Buffer } | null {
  const f = stored.split('$')
  if (f.length !== 6 || f[0] !== 'scrypt') return null
  const [N, r, p] = [Number(f[1]), Number(f[2]), Number(f[3])]
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0 || N > 1 << 20 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null
  const salt = Buffer.from(f[4] ?? '', 'base64')
  const key = Buffer.from(f[5] ?? '', 'base64')
  if (salt.length < 8 || key.length < 16) return null
  return { N, r, p, salt, key }
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored)
  if (h === null) return false
  const key = await scrypt(password, h.salt, h.N, h.r, h.p, h.key.length)
  return crypto.timingSafeEqual(key, h.key)
}

/** Parses a users file's text; throws with the line number on a bad line. */
export function parseUsers (text: string, file = 'users file'): Map<string, User> {
  const users = new Map<string, User>()
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const a = line.indexOf(':')
    const b = a < 0 ? -1 : line.indexOf(':', a + 1)
    if (a <= 0 || b < 0) throw new Error(`${file}:${i + 1}: expected <name>:<role>:<hash>`)
    const name = line.slice(0, a)
    const role = line.slice(a + 1, b)
    const hash = line.slice(b + 1)
    if (role !== 'admin' && role !== 'viewer') throw new Error(`${file}:${i + 1}: role must be admin or viewer (got "${role}")`)
    if (parseHash(hash) === null) throw new Error(`${file}:${i + 1}: not a scrypt hash from nsqadmin --hash-password`)
    if (users.has(name)) throw new Error(`${file}:${i + 1}: user "${name}" listed twice`)
    users.set(name, { name, role, hash })
  }
  if (users.size === 0) throw new Error(`${file}: no users`)
  return users
}

/** Counts failures per key in a fixed window; the oldest key goes first when the map is full. */
class FailureCounter {
  private readonly m = new Map<string, { count: number, resetMs: number }>()
  private readonly limit: number

  constructor (limit: number) {
    this.limit = limit
  }

  blocked (key: string, now: number): number {
    const e = this.m.get(key)
    if (e === undefined || e.resetMs <= now) return 0
    return e.count >= this.limit ? e.resetMs - now : 0
  }

  fail (key: string, now: number): void {
    let e = this.m.get(key)
    if (e === undefined || e.resetMs <= now) {
      this.m.delete(key)
      if (this.m.size >= MAX_TRACKED) {
        const oldest = this.m.keys().next().value
        if (oldest !== undefined) this.m.delete(oldest)
      }
      e = { count: 0, resetMs: now + FAILURE_WINDOW_MS }
      this.m.set(key, e)
    }
    e.count++
  }

  clear (key: string): void {
    this.m.delete(key)
  }

  get size (): number {
    return this.m.size
  }
}

export interface AuthOptions {
  usersFile: string
  sessionSecret: string
  sessionTtlMs: number
  logger: Logger
}

export class Auth {
  readonly users: Map<string, User>
  private readonly key: Buffer
  private readonly ttlMs: number
  private readonly log: Logger
  private readonly sessions = new Map<string, Session>()
  private readonly byUser = new FailureCounter(MAX_FAILURES_PER_USER)
  private readonly byIp = new FailureCounter(MAX_FAILURES_PER_IP)
  private readonly current = new WeakMap<object, Session>()
  /** Checked for unknown users so their answer takes as long as a wrong password. */
  private readonly dummyHash: Promise<string>

  constructor (o: AuthOptions) {
    this.users = parseUsers(fs.readFileSync(o.usersFile, 'utf8'), o.usersFile)
    this.key = o.sessionSecret !== '' ? Buffer.from(o.sessionSecret, 'utf8') : crypto.randomBytes(32)
    this.ttlMs = o.sessionTtlMs
    this.log = o.logger
    this.dummyHash = hashPassword(crypto.randomBytes(12).toString('hex'))
  }

  /** Tracked failure keys (bounded), for tests. */
  get trackedFailures (): number {
    return this.byUser.size + this.byIp.size
  }

  /**
   * Checks a login. Returns the new session, or a refusal: 'limited' (with retry-after ms) when the
   * IP or the name has too many recent failures (the password is then not even checked).
   */
  async login (name: string, password: string, ip: string): Promise<{ session: Session } | { refused: 'invalid' } | { refused: 'limited', retryMs: number }> {
    const now = Date.now()
    const wait = Math.max(this.byIp.blocked(`ip:${ip}`, now), this.byUser.blocked(`user:${name}`, now))
    if (wait > 0) {
      this.log.warn(`LOGIN: refused "${name}" from ${ip} - too many failed attempts, retry in ${Math.ceil(wait / 1000)}s`)
      return { refused: 'limited', retryMs: wait }
    }
    const user = this.users.get(name)
    const ok = user !== undefined
      ? await verifyPassword(password, user.hash)
      : (await verifyPassword(password, await this.dummyHash), false)
    if (!ok || user === undefined) {
      this.byIp.fail(`ip:${ip}`, now)
      this.byUser.fail(`user:${name}`, now)
      this.log.warn(`LOGIN: failed for "${name}" from ${ip} - ${user === undefined ? 'unknown user' : 'wrong password'}`)
      return { refused: 'invalid' }
    }
    this.byUser.clear(`user:${name}`)
    this.sweep(now)
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value
      if (oldest !== undefined) this.sessions.delete(oldest)
    }
    const session: Session = {
      id: crypto.randomBytes(24).toString('base64url'),
      user: user.name,
      role: user.role,
      csrf: crypto.randomBytes(24).toString('base64url'),
      expiresMs: now + this.ttlMs
    }
    this.sessions.set(session.id, session)
    this.log.info(`LOGIN: "${name}" (${user.role}) from ${ip}`)
    return { session }
  }

  logout (s: Session): void {
    this.sessions.delete(s.id)
    this.log.info(`LOGIN: "${s.user}" logged out`)
  }

  private sign (id: string): string {
    return crypto.createHmac('sha256', this.key).update(id).digest('base64url')
  }

  cookieValue (s: Session): string {
    return `${s.id}.${this.sign(s.id)}`
  }

  /** The session named by the request's cookie, if its signature holds and it has not expired. */
  sessionOf (req: FastifyRequest): Session | null {
    const cached = this.current.get(req.raw)
    if (cached !== undefined) return cached
    const v = readCookie(req.headers.cookie, COOKIE)
    if (v === null) return null
    const dot = v.lastIndexOf('.')
    if (dot <= 0) return null
    const id = v.slice(0, dot)
    const mac = Buffer.from(v.slice(dot + 1))
    const want = Buffer.from(this.sign(id))
    if (mac.length !== want.length || !crypto.timingSafeEqual(mac, want)) return null
    const s = this.sessions.get(id)
    if (s === undefined) return null
    if (s.expiresMs <= Date.now()) {
      this.sessions.delete(id)
      return null
    }
    this.current.set(req.raw, s)
    return s
  }

  setCookie (reply: FastifyReply, req: FastifyRequest, value: string, maxAgeS: number, path: string): void {
    const secure = isTls(req) ? '; Secure' : ''
    reply.header('Set-Cookie', `${COOKIE}=${value}; Path=${path}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure}`)
  }

  get sessionTtlMs (): number {
    return this.ttlMs
  }

  private sweep (now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresMs <= now) this.sessions.delete(id)
  }
}

/** TLS on the socket, or an HTTPS-terminating proxy in front (X-Forwarded-Proto / X-Scheme). */
export function isTls (req: FastifyRequest): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted === true) return true
  const h = req.headers['x-forwarded-proto'] ?? req.headers['x-scheme']
  return (Array.isArray(h) ? h[0] : h)?.toLowerCase() === 'https'
}

function readCookie (header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return null
}
