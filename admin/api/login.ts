// Login routes and the gate in front of every other route, only when --users-file is given (see
// admin/auth.ts and admin/README.md "Login and roles"). Without it nothing here is registered and
// NSQ's --admin-user / X-Forwarded-User rules apply unchanged.
//
//   GET  /login          the login page (public)
//   POST /api/login      {"user": "...", "password": "..."} → session cookie + {"user","role","csrf_token"}
//   GET  /api/session    who is logged in, with the CSRF token
//   POST /api/logout     ends the session (needs the CSRF token)
//
// The gate: /static/*, /ping, /login and POST /api/login are public; /config/* keeps its
// --allow-config-from-cidr rule; everything else needs a session (401 UNAUTHORIZED for the API, a
// redirect to the login page for UI pages). Every POST/PUT/DELETE/PATCH under /api needs the
// session's token in X-CSRF-Token (403 CSRF_TOKEN_INVALID), and only admins may send them
// (403 FORBIDDEN), so actions added later are covered without their own check.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Auth } from '../auth.js'
import { CSRF_HEADER } from '../auth.js'
import type { AdminContext } from './context.js'
import { ApiError, sendJson } from './context.js'
import { route } from './route.js'

const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH'])

function tokenMatches (given: string | string[] | undefined, want: string): boolean {
  const g = Buffer.from(Array.isArray(given) ? (given[0] ?? '') : (given ?? ''))
  const w = Buffer.from(want)
  return g.length === w.length && crypto.timingSafeEqual(g, w)
}

export function registerLoginRoutes (app: FastifyInstance, ctx: AdminContext, auth: Auth, uiDir: () => string): void {
  const base = ctx.basePath
  const cookiePath = base === '' ? '/' : base

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const full = req.url.split('?')[0] ?? ''
    const p = full.startsWith(base) ? full.slice(base.length) || '/' : full
    if (p.startsWith('/static/') || p === '/ping' || p === '/login' || p.startsWith('/config/')) return
    if (p === '/api/login' && req.method === 'POST') return
    const s = auth.sessionOf(req)
    if (s === null) {
      if (!p.startsWith('/api/') && (req.method === 'GET' || req.method === 'HEAD')) {
        return reply.code(302).header('Location', `${base}/login`).header('Cache-Control', 'no-store').send()
      }
      return sendJson(reply, { message: 'UNAUTHORIZED' }, 401)
    }
    if (MUTATING.has(req.method) && p.startsWith('/api/')) {
      if (!tokenMatches(req.headers[CSRF_HEADER], s.csrf)) {
        ctx.logger.warn(`LOGIN: ${req.method} ${full} by "${s.user}" refused - missing or wrong CSRF token`)
        return sendJson(reply, { message: 'CSRF_TOKEN_INVALID' }, 403)
      }
      if (s.role !== 'admin' && p !== '/api/logout') return sendJson(reply, { message: 'FORBIDDEN' }, 403)
    }
  })

  route(app, '/api/login', {
    POST: async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : ''
      let body: Record<string, unknown>
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        throw new ApiError(400, 'INVALID_REQUEST')
      }
      const user = typeof body?.user === 'string' ? body.user : ''
      const password = typeof body?.password === 'string' ? body.password : ''
      if (user === '' || password === '') throw new ApiError(400, 'INVALID_REQUEST')
      const r = await auth.login(user, password, req.socket.remoteAddress ?? '')
      if ('refused' in r) {
        if (r.refused === 'limited') {
          reply.header('Retry-After', String(Math.ceil(r.retryMs / 1000)))
          return sendJson(reply, { message: 'TOO_MANY_ATTEMPTS' }, 429)
        }
        return sendJson(reply, { message: 'LOGIN_FAILED' }, 401)
      }
      auth.setCookie(reply, req, auth.cookieValue(r.session), Math.floor(auth.sessionTtlMs / 1000), cookiePath)
      return sendJson(reply, { user: r.session.user, role: r.session.role, csrf_token: r.session.csrf })
    }
  })

  route(app, '/api/session', {
    GET: async (req, reply) => {
      const s = auth.sessionOf(req)
      if (s === null) return sendJson(reply, { message: 'UNAUTHORIZED' }, 401)
      return sendJson(reply, { user: s.user, role: s.role, csrf_token: s.csrf })
    }
  })

  route(app, '/api/logout', {
    POST: async (req, reply) => {
      const s = auth.sessionOf(req)
      if (s !== null) auth.logout(s)
      auth.setCookie(reply, req, '', 0, cookiePath)
      return sendJson(reply, {})
    }
  })

  app.get('/login', async (_req, reply) => {
    let tpl: string
    try {
      tpl = fs.readFileSync(path.join(uiDir(), 'login.html'), 'utf8')
    } catch {
      return reply.code(404).type('text/plain; charset=utf-8').send('NOT_FOUND')
    }
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(tpl.replaceAll('{{BASE}}', base))
  })
}
