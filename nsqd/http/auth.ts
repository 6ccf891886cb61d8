// Beyond NSQ (off by default): the HTTP publish and admin endpoints can require the same auth
// server the TCP AUTH command uses. --http-auth=publish guards POST /pub and /mpub;
// --http-auth=all also guards the topic and channel actions and PUT /config. The secret comes in
// "Authorization: Bearer <secret>"; answers are cached per (secret, remote ip, tls, common name)
// for their ttl. Reads (/ping, /info, /stats, /metrics, GET /config) stay open; the peeks (message
// bodies) are guarded under --http-auth=all.
//
// Permissions, as the TCP commands: publishing and topic actions need "publish" on the topic (with
// a channel pattern matching ""), channel actions need "subscribe" on topic and channel, PUT
// /config needs a successful AUTH with at least one authorization.

import type { FastifyRequest } from 'fastify'
import type { TLSSocket } from 'node:tls'
import type { NSQD } from '../nsqd.js'
import type { AuthClient, AuthState } from '../auth.js'
import { HttpApiError } from './errors.js'
import { Query } from './query.js'

export const HTTP_AUTH_POLICIES = ['', 'publish', 'all'] as const

const MAX_CACHED = 10_000

type Need = { kind: 'publish', topic: string | undefined } | { kind: 'subscribe', topic: string | undefined, channel: string | undefined } | { kind: 'any' }

/** What a request needs, or null when the policy leaves it open. */
function needOf (method: string, path: string, url: string, policy: string): Need | null {
  if (method === 'POST' && (path === '/pub' || path === '/mpub')) return { kind: 'publish', topic: new Query(url).get('topic') }
  if (policy !== 'all') return null
  // peek shows message bodies: guarded as the topic (publish) and channel (subscribe) actions are
  if (method === 'GET' && path === '/topic/peek') return { kind: 'publish', topic: new Query(url).get('topic') }
  if (method === 'POST' && path.startsWith('/topic/')) return { kind: 'publish', topic: new Query(url).get('topic') }
  if ((method === 'POST' && path.startsWith('/channel/')) || (method === 'GET' && path === '/channel/peek')) {
    const q = new Query(url)
    return { kind: 'subscribe', topic: q.get('topic'), channel: q.get('channel') }
  }
  if (method === 'PUT' && path.startsWith('/config/')) return { kind: 'any' }
  return null
}

export class HttpAuth {
  private readonly nsqd: NSQD
  private readonly client: AuthClient
  private readonly cache = new Map<string, AuthState>()

  constructor (nsqd: NSQD, client: AuthClient) {
    this.nsqd = nsqd
    this.client = client
  }

  /** The onRequest check: throws AUTH_REQUIRED (401), AUTH_FAILED (401) or UNAUTHORIZED (403). */
  async check (req: FastifyRequest, overTls: boolean): Promise<void> {
    const url = req.url
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const need = needOf(req.method, path, url, this.nsqd.options.httpAuth)
    if (need === null) return
    const header = req.headers.authorization
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header) : null
    if (m === null) throw new HttpApiError(401, 'AUTH_REQUIRED')
    const secret = (m[1] as string).trim()
    const remoteIp = req.socket.remoteAddress ?? ''
    let commonName = ''
    if (overTls) {
      const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN
      commonName = typeof cn === 'string' ? cn : ''
    }
    const key = `${secret}\u0000${remoteIp}\u0000${overTls ? 1 : 0}\u0000${commonName}`
    let state = this.cache.get(key)
    if (state === undefined || state.isExpired(Date.now())) {
      try {
        state = await this.client.query({ remoteIp, tls: overTls, secret, commonName })
      } catch (err) {
        this.nsqd.logger.warn(`HTTP: ${req.method} ${path} AUTH failed ${(err as Error).message}`)
        this.cache.delete(key)
        throw new HttpApiError(401, 'AUTH_FAILED')
      }
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string)
      this.cache.set(key, state)
    }
    if (state.authorizations.length === 0) throw new HttpApiError(401, 'AUTH_FAILED')
    // a missing name is left to the route, which answers MISSING_ARG_*
    if (need.kind === 'publish' && need.topic !== undefined && !state.isAllowed(need.topic, '')) {
      throw new HttpApiError(403, 'UNAUTHORIZED')
    }
    if (need.kind === 'subscribe' && need.topic !== undefined && need.channel !== undefined && need.channel !== '' &&
      !state.isAllowed(need.topic, need.channel)) {
      throw new HttpApiError(403, 'UNAUTHORIZED')
    }
  }
}

/** The hook for one listener, or null when --http-auth is off or no auth server is configured. */
export function httpAuthHook (nsqd: NSQD, overTls: boolean): ((req: FastifyRequest) => Promise<void>) | null {
  const client = nsqd.authClient
  if (nsqd.options.httpAuth === '' || client === null) return null
  const auth = new HttpAuth(nsqd, client)
  return async (req) => { await auth.check(req, overTls) }
}
