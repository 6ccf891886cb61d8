// Serves the page: index.html (with the bootstrap globals, spec §2) for every UI route, the UI's
// own files under /static/, and uPlot from node_modules under /static/vendor/ — nothing from a
// CDN. The UI folder is found relative to the package root, so `node dist/admin/main.js` works.

import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { goJson } from '../client/wire/go-json.js'
import type { AdminContext } from './api/context.js'
import { isAdmin } from './api/context.js'
import { VERSION } from './options.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8'
}

export const UI_ROUTES = ['/', '/topics', '/topics/:topic', '/topics/:topic/:channel', '/nodes', '/nodes/:node', '/counter', '/lookup']

/** admin/ui, looked up from this file's folder upwards (works from the sources and from dist/). */
export function findUiDir (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'admin', 'ui')
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate
    if (path.basename(dir) === 'admin' && fs.existsSync(path.join(dir, 'ui', 'index.html'))) return path.join(dir, 'ui')
    dir = path.dirname(dir)
  }
  throw new Error('nsqadmin: cannot find the admin/ui folder next to the package')
}

/** The folder the UI is served from (--dev-static-dir, else admin/ui). */
export function uiDirOf (o: { devStaticDir: string }): string {
  return o.devStaticDir !== '' ? path.resolve(o.devStaticDir) : findUiDir()
}

function uplotDir (): string {
  const require = createRequire(import.meta.url)
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist')
}

const VENDOR: Record<string, string> = {
  'uPlot.iife.min.js': 'uPlot.iife.min.js',
  'uPlot.min.css': 'uPlot.min.css'
}

/** With --users-file: who is logged in, and the CSRF token the UI sends with every action. */
function loginBoot (ctx: AdminContext, req: FastifyRequest): Record<string, unknown> {
  const s = ctx.auth?.sessionOf(req) ?? null
  if (ctx.auth === null || s === null) return {}
  return { LOGIN_ENABLED: true, USER: s.user, ROLE: s.role, CSRF_TOKEN: s.csrf }
}

export function registerStatic (app: FastifyInstance, ctx: AdminContext): void {
  const opts = ctx.options()
  const uiDir = uiDirOf(opts)
  const vendorDir = uplotDir()
  const cache = new Map<string, Buffer>()
  const read = (file: string): Buffer | null => {
    const hit = opts.devStaticDir === '' ? cache.get(file) : undefined
    if (hit !== undefined) return hit
    try {
      const buf = fs.readFileSync(file)
      if (opts.devStaticDir === '') cache.set(file, buf)
      return buf
    } catch {
      return null
    }
  }
  const notFound = (reply: FastifyReply): FastifyReply => reply.code(404).type('text/plain; charset=utf-8').send('NOT_FOUND')
  const sendFile = (reply: FastifyReply, file: string): FastifyReply => {
    const buf = read(file)
    if (buf === null) return notFound(reply)
    return reply.type(TYPES[path.extname(file)] ?? 'application/octet-stream').header('Cache-Control', 'no-cache').send(buf)
  }

  for (const url of UI_ROUTES) {
    app.get(url, async (req, reply) => {
      const tpl = read(path.join(uiDir, 'index.html'))
      if (tpl === null) return notFound(reply)
      const o = ctx.options()
      const boot = {
        USER_AGENT: `nsqadmin/v${VERSION}`,
        VERSION,
        GRAPHITE_URL: o.proxyGraphite ? '' : o.graphiteUrl,
        GRAPH_ENABLED: o.graphiteUrl !== '',
        STATSD_COUNTER_FORMAT: o.statsdCounterFormat,
        STATSD_GAUGE_FORMAT: o.statsdGaugeFormat,
        STATSD_INTERVAL: Math.round(o.statsdIntervalMs / 1000),
        STATSD_PREFIX: o.statsdPrefix,
        NSQLOOKUPD: ctx.cluster.mode === 'lookupd' ? ctx.cluster.lookupdAddresses : [],
        NSQD: ctx.cluster.nsqdAddresses,
        IS_ADMIN: isAdmin(ctx, req),
        ADMIN_USERS_CONFIGURED: o.adminUsers.length > 0,
        BASE_PATH: ctx.basePath === '' ? '/' : ctx.basePath,
        ...loginBoot(ctx, req),
        HISTORY_INTERVAL_MS: o.historyIntervalMs
      }
      const html = tpl.toString('utf8')
        .replaceAll('{{BASE}}', ctx.basePath)
        .replace('{{BOOT}}', `<script>window.NSQADMIN = ${goJson(boot)};</script>`)
      return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html)
    })
  }

  app.get('/static/vendor/:asset', async (req, reply) => {
    const name = VENDOR[(req.params as Record<string, string>).asset ?? '']
    if (name === undefined) return notFound(reply)
    return sendFile(reply, path.join(vendorDir, name))
  })

  app.get('/static/*', async (req, reply) => {
    const rel = (req.params as Record<string, string>)['*'] ?? ''
    const file = path.resolve(uiDir, rel)
    if (!file.startsWith(uiDir + path.sep) || rel.includes('\0')) return notFound(reply)
    return sendFile(reply, file)
  })

  app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('OK'))
}
