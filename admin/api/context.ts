// What every /api route group closes over, and the helpers they share: NSQ's V1 response
// conventions (X-NSQ-Content-Type, {"message": ...} errors), partial-result envelopes, the admin
// permission check (spec §5) and action notifications (spec §8).

import os from 'node:os'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import type { ClusterInfo, PartialResult } from '../cluster-info.js'
import { allFailed } from '../cluster-info.js'
import type { Auth } from '../auth.js'
import type { HttpClient } from '../http-client.js'
import type { Logger } from '../logger.js'
import type { Options } from '../options.js'
import type { Sampler } from '../sampler.js'
import type { NodeError } from '../types.js'

export const NSQ_CONTENT_TYPE = 'nsq; version=1.0'

export interface AdminContext {
  cluster: ClusterInfo
  sampler: Sampler
  http: HttpClient
  logger: Logger
  options: () => Options
  basePath: string
  /** Login and roles (--users-file); null = off, NSQ's --admin-user rules. */
  auth: Auth | null
}

/** An API error: status plus NSQ-style token (or text); `errors` lists failed upstream hosts. */
export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: number
  readonly errors: NodeError[]

  constructor (status: number, message: string, errors: NodeError[] = []) {
    super(message)
    this.status = status
    this.errors = errors
  }
}

export function describeErrors (errors: readonly NodeError[]): string {
  return errors.map((e) => e.error).join('; ')
}

/** "" when all went well, else `WARNING: <error>; <error>` (spec §1). */
export function warningMessage (errors: readonly NodeError[]): string {
  return errors.length === 0 ? '' : `WARNING: ${describeErrors(errors)}`
}

/** Throws 502 UPSTREAM_ERROR when every upstream host failed (spec §1). */
export function requireSome (r: PartialResult<unknown>): void {
  if (allFailed(r)) throw new ApiError(502, `UPSTREAM_ERROR: ${describeErrors(r.errors)}`, r.errors)
}

/** Sends a JSON body with NSQ's V1 header; `errors` (ours) lists per-node failures. */
export function sendJson (reply: FastifyReply, body: Record<string, unknown>, status = 200): FastifyReply {
  return reply.code(status)
    .header('X-NSQ-Content-Type', NSQ_CONTENT_TYPE)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(goJson(body))
}

export function sendPartial (reply: FastifyReply, body: Record<string, unknown>, errors: NodeError[]): FastifyReply {
  return sendJson(reply, { ...body, message: warningMessage(errors), errors })
}

/** Who the request says it is: the ACL header (set by an authenticating proxy). */
export function requestUser (ctx: AdminContext, req: FastifyRequest): string {
  const v = req.headers[ctx.options().aclHttpHeader.toLowerCase()]
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '')
}

/**
 * Everyone is an admin unless --admin-user is given (spec §5). With --users-file, the logged-in
 * user's role decides instead.
 */
export function isAdmin (ctx: AdminContext, req: FastifyRequest): boolean {
  if (ctx.auth !== null) return ctx.auth.sessionOf(req)?.role === 'admin'
  const users = ctx.options().adminUsers
  if (users.length === 0) return true
  const user = requestUser(ctx, req)
  return user !== '' && users.includes(user)
}

export function requireAdmin (ctx: AdminContext, req: FastifyRequest): void {
  if (!isAdmin(ctx, req)) throw new ApiError(403, 'FORBIDDEN')
}

function basicAuthUser (req: FastifyRequest): string {
  const h = req.headers.authorization
  if (typeof h !== 'string' || !h.toLowerCase().startsWith('basic ')) return ''
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i < 0 ? decoded : decoded.slice(0, i)
}

const VIA = os.hostname()

/** Fire-and-forget POST of an admin action to --notification-http-endpoint (spec §8). */
export function notify (ctx: AdminContext, req: FastifyRequest, action: string, topic: string, channel = '', node = ''): void {
  const endpoint = ctx.options().notificationHttpEndpoint
  if (endpoint === '') return
  const doc: Record<string, unknown> = { action, topic }
  if (channel !== '') doc.channel = channel
  if (node !== '') doc.node = node
  doc.timestamp = Math.floor(Date.now() / 1000)
  const user = basicAuthUser(req)
  if (user !== '') doc.user = user
  doc.remote_ip = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`
  doc.user_agent = req.headers['user-agent'] ?? ''
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-scheme'] === 'https'
  doc.url = `${tls ? 'https' : 'http'}://${req.headers.host ?? ''}${req.url}`
  doc.via = VIA
  ctx.http.postJson(endpoint, doc).catch((err: Error) => {
    ctx.logger.error(`NOTIFICATION: failed to POST ${action} to ${endpoint} - ${err.message}`)
  })
}
