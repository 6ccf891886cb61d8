// The browser gateway (--http-gateway, README "Browser gateway"): WebSocket at /ws and Server-Sent
// Events at /sse on nsqd's HTTP port. One Gateway per node, shared by the HTTP and HTTPS
// listeners: it admits connections (origin list, connection limit), keeps the registry of open
// gateway clients and closes them on shutdown.

import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { WebSocketServer } from 'ws'
import type { NSQD } from '../nsqd.js'
import { HttpApiError } from '../http/errors.js'
import { GoQuery } from '../../client/daemon/query.js'
import type { AuthState } from '../auth.js'
import type { GatewayClient, GatewayClientHost } from './client.js'
import { acceptWebSocket } from './ws.js'
import { UserPush } from './user-push.js'

export class Gateway implements GatewayClientHost {
  readonly nsqd: NSQD
  readonly clients = new Map<number, GatewayClient>()
  /** Connections being set up (upgrade handshake) plus open ones, for the limit. */
  private opening = 0
  private readonly wss: WebSocketServer
  private closing = false
  /** --gateway-user-push: the user.U consumers; null when off. */
  readonly userPush: UserPush | null

  constructor (nsqd: NSQD) {
    this.nsqd = nsqd
    this.userPush = nsqd.options.gatewayUserPush ? new UserPush(nsqd) : null
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: nsqd.options.maxBodySize })
  }

  /** null when the request may open a gateway connection, else the refusal. */
  admit (origin: string | undefined): HttpApiError | null {
    if (this.closing) return new HttpApiError(503, 'EXITING')
    const allowed = allowedOrigins(this.nsqd.options.wsAllowedOrigins)
    if (allowed.length > 0 && (origin === undefined || !allowed.includes(origin))) return new HttpApiError(403, 'ORIGIN_NOT_ALLOWED')
    const max = this.nsqd.options.gatewayMaxConnections
    if (max > 0 && this.clients.size + this.opening >= max) return new HttpApiError(503, 'TOO_MANY_CONNECTIONS')
    return null
  }

  /**
   * With --auth-http-address: asks the auth server about the request's `auth_secret` query
   * parameter (browsers cannot set headers on WebSocket or EventSource). Null when auth is off;
   * an HttpApiError (401) when the secret is missing or refused.
   */
  async authenticate (url: string, socket: Socket): Promise<AuthState | HttpApiError | null> {
    const client = this.nsqd.authClient
    if (client === null) return null
    const secret = GoQuery.fromUrl(url)?.get('auth_secret')
    if (secret === undefined || secret === '') return new HttpApiError(401, 'AUTH_REQUIRED')
    try {
      const state = await client.query({ remoteIp: socket.remoteAddress ?? '', tls: isTls(socket), secret, commonName: '' })
      if (state.authorizations.length === 0) return new HttpApiError(401, 'AUTH_FAILED')
      return state
    } catch (err) {
      this.nsqd.logger.warn(`GATEWAY: [${socket.remoteAddress ?? ''}] AUTH failed ${(err as Error).message}`)
      return new HttpApiError(401, 'AUTH_FAILED')
    }
  }

  /** Asks the auth server again with the secret of the connection's first answer (TTL expired). */
  async reauthenticate (url: string, socket: Socket): Promise<AuthState> {
    const got = await this.authenticate(url, socket)
    if (got === null || got instanceof HttpApiError) throw new Error('AUTH failed')
    return got
  }

  /** The HTTP server's 'upgrade' event. */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== '/ws') { refuse(socket, 404, 'NOT_FOUND'); return }
    const no = this.admit(req.headers.origin)
    if (no !== null) { refuse(socket, no.statusCode, no.token); return }
    this.opening++
    let settled = false
    const settle = (): void => { if (!settled) { settled = true; this.opening-- } }
    // a failed handshake answers and closes the socket itself: its slot is freed then
    socket.once('close', settle)
    const upgrade = (auth: AuthState | null): void => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        settle()
        socket.off('close', settle)
        if (this.closing) { ws.terminate(); return }
        acceptWebSocket(this, ws, req, socket as Socket, auth)
      })
    }
    if (this.nsqd.authClient === null) { upgrade(null); return }
    this.authenticate(url, socket as Socket).then((got) => {
      if (got instanceof HttpApiError) { refuse(socket, got.statusCode, got.token); return }
      if (socket.destroyed) return
      upgrade(got)
    }, () => { socket.destroy() })
  }

  register (client: GatewayClient): void {
    this.clients.set(client.id, client)
  }

  clientClosed (client: GatewayClient): void {
    this.clients.delete(client.id)
  }

  debug (msg: string): void {
    this.nsqd.logger.debug(msg)
  }

  close (): void {
    this.closing = true
    for (const c of [...this.clients.values()]) c.close()
    if (this.userPush !== null) this.userPush.close()
    this.wss.close()
  }
}

/** --ws-allowed-origins entries, each possibly a comma-separated list. */
export function allowedOrigins (entries: readonly string[]): string[] {
  const out: string[] = []
  for (const e of entries) for (const o of e.split(',')) if (o.trim() !== '') out.push(o.trim())
  return out
}

function refuse (socket: Duplex, status: number, token: string): void {
  const body = JSON.stringify({ message: token })
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Service Unavailable'
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
}

export function isTls (socket: Socket): boolean {
  return 'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted === true
}
