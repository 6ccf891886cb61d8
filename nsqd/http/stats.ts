// GET /stats (nsqd-http.md §5-7): JSON with format=json, text otherwise; topic=, channel=,
// include_clients=, include_mem= filters. The numbers come from nsqd/stats.ts, shared with statsd
// and /metrics.

import type { FastifyInstance } from 'fastify'
import { VERSION } from '../options.js'
import { getStats, healthText, memStats, statsDocument, statsJson } from '../stats.js'
import { queryOf } from './args.js'
import { queryBool } from './query.js'
import { statsText } from './stats-text.js'
import { sendJson, sendText, type RouteOptions, type RouteSpec } from './respond.js'

export const STATS_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/stats' }
]

export async function statsRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.get('/stats', async (req, reply) => {
    const q = queryOf(req)
    const filter = {
      topic: q.get('topic') ?? '',
      channel: q.get('channel') ?? '',
      includeClients: queryBool(q.get('include_clients'), true)
    }
    const includeMem = queryBool(q.get('include_mem'), true)
    if (q.get('format') === 'json') {
      return sendJson(reply, statsJson(statsDocument(nsqd, VERSION, filter, includeMem)))
    }
    const snap = getStats(nsqd, filter)
    return sendText(reply, statsText(VERSION, snap, includeMem ? memStats() : null, healthText(nsqd), nsqd.startTime))
  })
}
