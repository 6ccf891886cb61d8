// Ours (beyond NSQ): /api/history/* serves the built-in history for charts; /api/events is a
// Server-Sent Events stream that tells open pages a new sample is in, so they refresh at once.

import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import type { AdminContext } from './context.js'
import { sendJson } from './context.js'
import { channelParam, topicParam } from './read.js'
import { route } from './route.js'

const KEEPALIVE_MS = 15_000

function since (req: FastifyRequest): number {
  const v = (req.query as Record<string, string | undefined>).since
  const n = Number(v)
  return v !== undefined && Number.isFinite(n) ? n : 0
}

export class LiveStreams {
  private readonly streams = new Set<ServerResponse>()
  private timer: NodeJS.Timeout | null = null

  get count (): number {
    return this.streams.size
  }

  add (res: ServerResponse): void {
    this.streams.add(res)
    res.on('close', () => { this.streams.delete(res) })
    if (this.timer === null) {
      this.timer = setInterval(() => { this.broadcast(': keepalive\n\n') }, KEEPALIVE_MS)
      this.timer.unref()
    }
  }

  broadcast (text: string): void {
    for (const res of this.streams) {
      if (!res.writableEnded) res.write(text)
    }
  }

  closeAll (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    for (const res of this.streams) res.end()
    this.streams.clear()
  }
}

export function registerLiveRoutes (app: FastifyInstance, ctx: AdminContext, live: LiveStreams): void {
  const h = ctx.sampler.history
  route(app, '/api/history/cluster', { GET: async (req, reply) => sendJson(reply, { ...h.snapshot('cluster|', since(req)) }) })
  route(app, '/api/history/topics', { GET: async (req, reply) => sendJson(reply, { ...h.snapshot('t/', since(req)) }) })
  route(app, '/api/history/topics/:topic', {
    GET: async (req, reply) => sendJson(reply, { ...h.snapshot(`t/${topicParam(req)}|`, since(req)) })
  })
  route(app, '/api/history/topics/:topic/:channel', {
    GET: async (req, reply) => sendJson(reply, { ...h.snapshot(`c/${topicParam(req)}/${channelParam(req)}|`, since(req)) })
  })
  route(app, '/api/history/nodes/:node', {
    GET: async (req, reply) => sendJson(reply, { ...h.snapshot(`n/${(req.params as Record<string, string>).node ?? ''}|`, since(req)) })
  })

  ctx.sampler.onSample((ts, errors) => {
    live.broadcast(`event: sample\ndata: ${goJson({ ts, errors })}\n\n`)
  })

  route(app, '/api/events', {
    GET: async (_req, reply) => {
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no'
      })
      res.write(`retry: 3000\nevent: hello\ndata: ${goJson({ interval_ms: h.intervalMs, ts: h.latestTs })}\n\n`)
      live.add(res)
    }
  })
}
