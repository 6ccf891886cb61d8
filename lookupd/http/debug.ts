// GET /debug (spec: lookupd.md §5): a dump of every registration that has producers, keyed
// "<category>:<key>:<subkey>", with Go's field names (alphabetical, as Go encodes a map) and
// nanosecond timestamps. The JSON is built by hand because nanoseconds exceed 2^53.

import type { FastifyInstance } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import { regId } from '../registration-db.js'
import type { Producer } from '../registration-db.js'
import { sendJson } from './respond.js'
import type { HttpContext, RouteSpec } from './respond.js'

export const DEBUG_ROUTES: readonly RouteSpec[] = [{ method: 'GET', url: '/debug' }]

/** UnixNano of Go's zero time.Time: the tombstoned_at of a producer never tombstoned. */
export const GO_ZERO_TIME_UNIX_NANO = '-6795364578871345152'

function msToNanos (ms: number): string {
  const whole = Math.round(ms)
  return whole === 0 ? '0' : `${whole}000000`
}

function producerJson (p: Producer): string {
  const peer = p.peer
  const s = goJson
  return `{"broadcast_address":${s(peer.broadcastAddress)},"hostname":${s(peer.hostname)},` +
    `"http_port":${peer.httpPort},"id":${s(peer.id)},"last_update":${msToNanos(peer.lastUpdateMs)},` +
    `"tcp_port":${peer.tcpPort},"tombstoned":${p.tombstoned},` +
    `"tombstoned_at":${p.tombstoned ? msToNanos(p.tombstonedAtMs) : GO_ZERO_TIME_UNIX_NANO},` +
    `"topology_region":${s(peer.topologyRegion)},"topology_zone":${s(peer.topologyZone)},"version":${s(peer.version)}}`
}

export function debugDump (ctx: Pick<HttpContext, 'db'>): string {
  const entries: Array<[string, string]> = []
  for (const reg of ctx.db.all()) {
    if (reg.producers.size === 0) continue
    const list = [...reg.producers.values()].map(producerJson).join(',')
    entries.push([regId(reg.category, reg.key, reg.subkey), `[${list}]`])
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return `{${entries.map(([k, v]) => `${goJson(k)}:${v}`).join(',')}}`
}

export async function debugRoutes (app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  app.get('/debug', async (_req, reply) => sendJson(reply, debugDump(opts.ctx)))
}
