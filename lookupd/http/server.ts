// nsqlookupd's HTTP server factory (spec: lookupd.md §5, nsqd-http.md §2–4): a fastify instance with
// one error handler (HttpApiError → {"message":TOKEN}), NSQ's router behaviour (404 NOT_FOUND,
// 405 METHOD_NOT_ALLOWED with Allow, automatic OPTIONS, trailing-slash / letter-case redirects, no
// HEAD for GET routes), request bodies read and discarded, and the route plugins.

import Fastify from 'fastify'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { HttpContext, RouteSpec } from './respond.js'
import { HttpApiError, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1 } from './errors.js'
import type { HttpErrorToken } from './errors.js'
import { lookupRoutes, ROUTES } from './routes.js'
import { debugRoutes, DEBUG_ROUTES } from './debug.js'

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const

function sendError (reply: FastifyReply, status: number, token: HttpErrorToken | string): void {
  reply.code(status)
    .header(NSQ_CONTENT_TYPE_HEADER, NSQ_CONTENT_TYPE_V1)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(JSON.stringify({ message: token }))
}

export function buildHttpServer (ctx: HttpContext): FastifyInstance {
  const app = Fastify({ logger: false, exposeHeadRoutes: false, return503OnClosing: false, forceCloseConnections: true })
  const routes: RouteSpec[] = [...ROUTES, ...DEBUG_ROUTES]
  const allowed = new Map<string, string[]>()
  for (const r of routes) {
    const list = allowed.get(r.url) ?? []
    list.push(r.method)
    allowed.set(r.url, list)
  }
  const allowHeader = (url: string): string => [...(allowed.get(url) ?? []), 'OPTIONS'].sort().join(', ')

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

  app.setNotFoundHandler((req, reply) => {
    const q = req.url.indexOf('?')
    const path = q < 0 ? req.url : req.url.slice(0, q)
    const query = q < 0 ? '' : req.url.slice(q)
    if (req.method === 'OPTIONS' && allowed.has(path)) {
      reply.code(200).header('Allow', allowHeader(path)).send()
      return
    }
    if (req.method !== 'CONNECT' && path !== '/') {
      const fixed = fixPath(path, allowed)
      if (fixed !== null) {
        reply.redirect(fixed + query, req.method === 'GET' ? 301 : 307)
        return
      }
    }
    sendError(reply, 404, 'NOT_FOUND')
  })

  // NSQ's router answers 405 (with Allow) for a known path and an unsupported method.
  for (const [url, methods] of allowed) {
    const others = ALL_METHODS.filter((m) => !methods.includes(m))
    app.route({
      method: others,
      url,
      handler: async (_req, reply) => {
        reply.header('Allow', allowHeader(url))
        sendError(reply, 405, 'METHOD_NOT_ALLOWED')
        return reply
      }
    })
  }

  app.register(lookupRoutes, { ctx })
  app.register(debugRoutes, { ctx })
  return app
}

/** The canonical path for a path differing by a trailing slash or letter case, or null. */
function fixPath (path: string, allowed: Map<string, string[]>): string | null {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path + '/'
  if (allowed.has(trimmed)) return trimmed
  const lower = path.toLowerCase()
  for (const url of allowed.keys()) {
    if (url.toLowerCase() === lower) return url
    if (url.toLowerCase() === (lower.endsWith('/') ? lower.slice(0, -1) : lower)) return url
  }
  return null
}
