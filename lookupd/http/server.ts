// nsqlookupd's HTTP server factory (spec: lookupd.md §5, nsqd-http.md §2–4): a fastify instance with
// one error handler (HttpApiError → {"message":TOKEN}), Go's router rules (client/daemon/
// http-router.ts: 404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with Allow, automatic OPTIONS, cleaned /
// trailing-slash / letter-case redirects, no HEAD for GET routes), request bodies read and
// discarded, and the route plugins.

import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { HttpContext, RouteSpec } from './respond.js'
import { HttpApiError, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1 } from './errors.js'
import type { HttpErrorToken } from './errors.js'
import { lookupRoutes, ROUTES } from './routes.js'
import { debugRoutes, DEBUG_ROUTES } from './debug.js'
import { answerUnrouted, GoRouter, goRouterFastifyOptions } from '../../client/daemon/http-router.js'
import { goClientErrorHandler, installGoRequestChecks } from '../../client/daemon/go-client-error.js'

function sendError (reply: FastifyReply, status: number, token: HttpErrorToken | string): void {
  reply.code(status)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(JSON.stringify({ message: token }))
}

export function buildHttpServer (ctx: HttpContext): FastifyInstance {
  const routes: RouteSpec[] = [...ROUTES, ...DEBUG_ROUTES]
  const router = new GoRouter(routes)
  const app = Fastify({ logger: false, exposeHeadRoutes: false, return503OnClosing: false, forceCloseConnections: true, clientErrorHandler: goClientErrorHandler, ...goRouterFastifyOptions(router) })
  // Go's server keeps an idle connection open with no time limit and sends no Keep-Alive header
  app.server.keepAliveTimeout = 0
  installGoRequestChecks(app)

  // Bodies are read and discarded, whatever their type (parameters come from the query string).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    payload.on('data', () => {})
    payload.on('end', () => { done(null, undefined) })
    payload.on('error', (err: Error) => { done(err) })
  })

  app.setErrorHandler((err: FastifyError | HttpApiError, req, reply) => {
    if (err instanceof HttpApiError) {
      sendError(reply, err.statusCode, err.token)
      return
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) ctx.logger.error(`HTTP: ${req.method} ${req.url} - ${err.message}`)
    sendError(reply, status, status === 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST')
  })

  app.setNotFoundHandler((req, reply) => answerUnrouted(router, req, reply, {
    notFound: (r) => { sendError(r, 404, 'NOT_FOUND') },
    methodNotAllowed: (r) => { sendError(r, 405, 'METHOD_NOT_ALLOWED') }
  }))

  app.register(lookupRoutes, { ctx })
  app.register(debugRoutes, { ctx })
  return app
}
