// GET /ping (plain text health, no X-NSQ-Content-Type) and GET /info (nsqd-http.md §5).

import os from 'node:os'
import type { FastifyInstance } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import { VERSION } from '../options.js'
import { parseListenAddress } from '../tcp/server.js'
import { HttpApiError, TEXT_CONTENT_TYPE } from './errors.js'
import { sendJson, type RouteOptions, type RouteSpec } from './respond.js'

export const PING_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/ping' },
  { method: 'GET', url: '/info' }
]

/** The port of a bound "host:port" address; -1 for a Unix socket, 0 when not listening. */
export function portOf (addr: string): number {
  if (addr === '') return 0
  const a = parseListenAddress(addr)
  return 'path' in a ? -1 : a.port
}

export async function pingRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.get('/ping', async (_req, reply) => {
    const err = nsqd.healthError
    reply.header('Content-Type', TEXT_CONTENT_TYPE)
    if (err === null) return reply.code(200).send('OK')
    return reply.code(500).send(`NOK - ${err}`)
  })

  app.get('/info', async (_req, reply) => {
    let hostname: string
    try {
      hostname = os.hostname()
    } catch {
      throw new HttpApiError(500, 'INTERNAL_ERROR')
    }
    const o = nsqd.options
    return sendJson(reply, goJson({
      version: VERSION,
      broadcast_address: o.broadcastAddress,
      hostname,
      http_port: portOf(nsqd.httpAddress),
      tcp_port: portOf(nsqd.tcpAddress),
      start_time: Math.floor(nsqd.startTime / 1000),
      max_heartbeat_interval: o.maxHeartbeatIntervalMs * 1e6,
      max_output_buffer_size: o.maxOutputBufferSize,
      max_output_buffer_timeout: o.maxOutputBufferTimeoutMs * 1e6,
      max_deflate_level: o.maxDeflateLevel,
      topology_zone: o.topologyZone,
      topology_region: o.topologyRegion,
      ...(nsqd.replicationInfo !== null ? { replication: nsqd.replicationInfo() } : {}),
      // drain mode (nsqd/drain.ts): present only while draining, so a normal node answers as NSQ does
      ...(nsqd.draining ? { draining: true } : {})
    }))
  })
}
