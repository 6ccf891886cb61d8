// Collects the handlers of each path from every route group, then registers them together and
// answers every other method with NSQ's 405 METHOD_NOT_ALLOWED (fastify alone would say 404).

import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { sendJson } from './context.js'

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

const ALL: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']
const pending = new WeakMap<FastifyInstance, Map<string, Partial<Record<Method, Handler>>>>()

export function route (app: FastifyInstance, url: string, handlers: Partial<Record<Method, Handler>>): void {
  let table = pending.get(app)
  if (table === undefined) {
    table = new Map()
    pending.set(app, table)
  }
  const cur = table.get(url) ?? {}
  for (const [m, h] of Object.entries(handlers) as Array<[Method, Handler]>) {
    if (cur[m] !== undefined) throw new Error(`duplicate route ${m} ${url}`)
    cur[m] = h
  }
  table.set(url, cur)
}

/** Registers everything collected by route() for this instance. */
export function installRoutes (app: FastifyInstance): void {
  const table = pending.get(app)
  if (table === undefined) return
  pending.delete(app)
  for (const [url, handlers] of table) {
    const allowed = Object.keys(handlers) as Method[]
    for (const m of allowed) app.route({ method: m, url, handler: handlers[m] as Handler })
    const others = ALL.filter((m) => !(allowed as string[]).includes(m) && !(m === 'HEAD' && allowed.includes('GET')))
    if (others.length === 0) continue
    app.route({
      method: others,
      url,
      handler: async (_req, reply) => {
        reply.header('Allow', allowed.join(', '))
        return sendJson(reply, { message: 'METHOD_NOT_ALLOWED' }, 405)
      }
    })
  }
}
