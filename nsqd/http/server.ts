// nsqd's HTTP API (nsqd-http.md): a fastify app with one plugin per route group, one error handler
// (HttpApiError → {"message":TOKEN} + X-NSQ-Content-Type), Go's router rules (client/daemon/
// http-router.ts: 404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with Allow, automatic OPTIONS, cleaned /
// trailing-slash / letter-case redirects, HEAD not mapped to GET), and TLS_REQUIRED on plain HTTP
// when --tls-required=true.
// Request bodies reach handlers as raw streams, so each route bounds what it reads.

import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { NSQD } from '../nsqd.js'
import { TLS_REQUIRED } from '../options.js'
import { parseListenAddress } from '../tcp/server.js'
import type { TlsSettings } from '../tcp/transport.js'
import { httpAuthHook } from './auth.js'
import { drainAfterReply } from './body.js'
import { HttpApiError, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1 } from './errors.js'
import type { RouteSpec } from './respond.js'
import { pingRoutes, PING_ROUTES } from './ping.js'
import { pubRoutes, PUB_ROUTES } from './pub.js'
import { statsRoutes, STATS_ROUTES } from './stats.js'
import { topicRoutes, TOPIC_ROUTES } from './topic.js'
import { channelRoutes, CHANNEL_ROUTES } from './channel.js'
import { peekRoutes, PEEK_ROUTES } from './peek.js'
import { configRoutes, CONFIG_ROUTES } from './config.js'
import { metricsRoutes, METRICS_ROUTES } from './metrics.js'
import { answerUnrouted, GoRouter, goRouterFastifyOptions } from '../../client/daemon/http-router.js'
import { gatewayRoutes, GATEWAY_ROUTES } from '../gateway/sse.js'
import { goClientErrorHandler, installGoRequestChecks } from '../../client/daemon/go-client-error.js'

export const ROUTES: readonly RouteSpec[] = [
  ...PING_ROUTES, ...STATS_ROUTES, ...PUB_ROUTES, ...TOPIC_ROUTES, ...CHANNEL_ROUTES, ...PEEK_ROUTES, ...CONFIG_ROUTES, ...METRICS_ROUTES
]

/** Reason phrases where Go's net/http differs from Node's (the status line is part of the bytes). */
const GO_STATUS_TEXT: Readonly<Record<number, string>> = { 413: 'Request Entity Too Large' }

function sendError (reply: FastifyReply, status: number, token: string): FastifyReply {
  const reason = GO_STATUS_TEXT[status]
  if (reason !== undefined) reply.raw.statusMessage = reason
  return reply.code(status)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(JSON.stringify({ message: token }))
}

/** The app behind --http-address, or behind --https-address when `tls` is given (same routes). */
export function buildHttpApp (nsqd: NSQD, tls: TlsSettings | null = null): FastifyInstance {
  const gateway = nsqd.gateway
  const router = new GoRouter(gateway === null ? ROUTES : [...ROUTES, ...GATEWAY_ROUTES])
  const base = { logger: false, exposeHeadRoutes: false, return503OnClosing: false, forceCloseConnections: true, clientErrorHandler: goClientErrorHandler, ...goRouterFastifyOptions(router) } as const
  const app = (tls === null ? Fastify(base) : Fastify({ ...base, https: tls.serverOptions })) as unknown as FastifyInstance
  // Go's server keeps an idle connection open with no time limit and sends no Keep-Alive header
  app.server.keepAliveTimeout = 0
  installGoRequestChecks(app)

  // Bodies are handed over unread; routes that take a body read it with a bound.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    done(null, payload)
  })

  app.addHook('onRequest', async (_req, reply) => {
    if (tls !== null || nsqd.options.tlsRequired !== TLS_REQUIRED) return
    const https = nsqd.httpsAddress
    const port = https === '' ? 0 : Number(https.slice(https.lastIndexOf(':') + 1)) || 0
    // nsqd formats this body with a format string, hence the spaces
    return reply.code(403)
      .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
      .header('Content-Type', JSON_CONTENT_TYPE)
      .send(`{"message": "TLS_REQUIRED", "https_port": ${port}}`)
  })
  // beyond NSQ: --http-auth (nsqd/http/auth.ts)
  const authHook = httpAuthHook(nsqd, tls !== null)
  if (authHook !== null) app.addHook('onRequest', authHook)

  app.setErrorHandler((err: FastifyError | HttpApiError, req, reply) => {
    if (err instanceof HttpApiError) {
      if (err.closeConnection) {
        reply.header('Connection', 'close')
        drainAfterReply(req.raw)
      }
      return sendError(reply, err.statusCode, err.token)
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) nsqd.logger.error(`HTTP: ${req.method} ${req.url} - ${err.message}`)
    return sendError(reply, status, status === 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST')
  })

  app.setNotFoundHandler((req, reply) => answerUnrouted(router, req, reply, {
    notFound: (reply) => sendError(reply, 404, 'NOT_FOUND'),
    methodNotAllowed: (reply) => sendError(reply, 405, 'METHOD_NOT_ALLOWED')
  }))

  const opts = { nsqd }
  app.register(pingRoutes, opts)
  app.register(statsRoutes, opts)
  app.register(pubRoutes, opts)
  app.register(topicRoutes, opts)
  app.register(channelRoutes, opts)
  app.register(peekRoutes, opts)
  app.register(configRoutes, opts)
  app.register(metricsRoutes, opts)
  // beyond NSQ: --http-gateway (nsqd/gateway)
  if (gateway !== null) {
    app.register(gatewayRoutes(gateway))
    app.server.on('upgrade', (req, socket, head) => { gateway.handleUpgrade(req, socket, head) })
  }
  return app
}

/** The listener NSQD starts when --http-address is not empty. */
export class HttpServer {
  readonly app: FastifyInstance
  private bound = ''

  constructor (nsqd: NSQD, tls: TlsSettings | null = null) {
    this.app = buildHttpApp(nsqd, tls)
  }

  /** The bound "host:port" (or socket path); '' before listen(). */
  get address (): string {
    return this.bound
  }

  async listen (addr: string): Promise<string> {
    const target = parseListenAddress(addr)
    try {
      if ('path' in target) await this.app.listen({ path: target.path })
      else await this.app.listen({ host: target.host, port: target.port })
    } catch (err) {
      throw new Error(`listen (${addr}) failed - ${(err as Error).message}`)
    }
    const a = this.app.server.address()
    if (a === null || typeof a === 'string') this.bound = a ?? addr
    else this.bound = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
    return this.bound
  }

  async close (): Promise<void> {
    await this.app.close()
  }
}
