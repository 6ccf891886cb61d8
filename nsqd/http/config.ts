// GET /config/:opt and PUT /config/:opt (nsqd-http.md §5). Options are named by their config-file
// key (flag name with '-' → '_', or the flag's explicit config key). A string option answers as
// raw text (an empty one as an empty body without Content-Type), durations as integer nanoseconds,
// log_level as NSQ's integer (1 = debug … 5 = fatal), lists as JSON arrays. The values nsqd 1.3.0
// fixes at start-up are shown that way: broadcast ports 0 become the bound ports, and statsd_prefix
// has its %s expanded to the host key with a trailing '.'. Only nsqlookupd_tcp_addresses and
// log_level can be changed, through NSQD.swapOptions.

import type { FastifyInstance, FastifyReply } from 'fastify'
import type { NSQD } from '../nsqd.js'
import { goJson } from '../../client/wire/go-json.js'
import { decodeGoStringSlice, SLICE_DECODE_FAILED } from '../../client/wire/go-unmarshal.js'
import { statsdPrefix } from '../statsd.js'
import { portOf } from './ping.js'
import { FLAG_BINDINGS, type Options } from '../options.js'
import { LOG_LEVELS } from '../logger.js'
import { HttpApiError } from './errors.js'
import { readLimited } from './body.js'
import { detectContentType } from './sniff.js'
import { sendEmpty, sendJson, sendText, type RouteOptions, type RouteSpec } from './respond.js'

export const CONFIG_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/config/:opt' },
  { method: 'PUT', url: '/config/:opt' }
]

/** Go's crypto/tls version numbers, which is what nsqd reports for tls_min_version. */
const TLS_VERSIONS: Record<string, number> = { 'tls1.0': 0x0301, 'tls1.1': 0x0302, 'tls1.2': 0x0303, 'tls1.3': 0x0304 }

type Getter = (o: Options) => unknown

/** config name → how to read its value; built once from the flag table. */
const CONFIG_GETTERS: ReadonlyMap<string, Getter> = (() => {
  const m = new Map<string, Getter>()
  for (const { spec, key } of FLAG_BINDINGS) {
    const name = spec.configKey ?? spec.name.replace(/-/g, '_')
    if (key === null) {
      if (name === 'tls_required') m.set(name, (o) => o.tlsRequired)
      else if (name === 'verbose') m.set(name, () => false)
      continue
    }
    if (key === 'logLevel') m.set(name, (o) => (LOG_LEVELS as Record<string, number>)[o.logLevel.toLowerCase()]!)
    else if (key === 'tlsMinVersion') m.set(name, (o) => TLS_VERSIONS[o.tlsMinVersion.toLowerCase()] ?? 0)
    else if (spec.kind === 'duration') m.set(name, (o) => Math.round((o[key] as number) * 1e6))
    else m.set(name, (o) => o[key])
  }
  return m
})()

/** The bound ports, for the values nsqd 1.3.0 derives from them at start-up. */
export interface BoundPorts {
  http: number
  tcp: number
}

/**
 * Options whose nsqlookupd_tcp_addresses is Go's nil slice: a PUT of JSON `null` sets it, and
 * nsqd then answers `null` for it (`[]` is an empty, non-nil slice). No lookupd either way.
 */
const NIL_LOOKUPD_LIST = new WeakSet<Options>()

/** strings.ToLower as far as it matters for log level names: U+0130 lowers to i, U+212A to k. */
function goToLower (s: string): string {
  return s.replace(/[A-Z\u0130\u212a]/g, (c) => c === '\u0130' ? 'i' : c === '\u212a' ? 'k' : c.toLowerCase())
}

export function configValue (o: Options, name: string, bound?: BoundPorts): unknown {
  const get = CONFIG_GETTERS.get(name)
  if (get === undefined) throw new HttpApiError(400, 'INVALID_OPTION')
  if (name === 'nsqlookupd_tcp_addresses' && NIL_LOOKUPD_LIST.has(o)) return null
  if (bound !== undefined) {
    const httpPort = o.broadcastHttpPort !== 0 ? o.broadcastHttpPort : bound.http
    if (name === 'broadcast_http_port') return httpPort
    if (name === 'broadcast_tcp_port') return o.broadcastTcpPort !== 0 ? o.broadcastTcpPort : bound.tcp
    if (name === 'statsd_prefix') return statsdPrefix(o.statsdPrefix, o.broadcastAddress, httpPort)
  }
  return get(o)
}

function boundPorts (nsqd: NSQD): BoundPorts {
  return { http: Math.max(0, portOf(nsqd.httpAddress)), tcp: Math.max(0, portOf(nsqd.tcpAddress)) }
}

/**
 * NSQ's V1 answer for a value: a string raw (empty: no body, no type; else the type Go's server
 * sniffs from it), anything else as JSON.
 */
function sendValue (reply: FastifyReply, v: unknown): FastifyReply {
  if (typeof v === 'string') {
    if (v === '') return sendEmpty(reply)
    const body = Buffer.from(v, 'utf8')
    return sendText(reply, body, detectContentType(body))
  }
  return sendJson(reply, goJson(v))
}

/**
 * The new Options for a PUT, or throws INVALID_VALUE / INVALID_OPTION. The address list is decoded
 * by Go's json.Unmarshal into nsqd's []string (client/wire/go-unmarshal.ts); the log level is
 * lowered as Go's strings.ToLower does.
 */
export function applyConfigPut (o: Options, name: string, body: Buffer): Options {
  let next: Options
  switch (name) {
    case 'nsqlookupd_tcp_addresses': {
      const current = NIL_LOOKUPD_LIST.has(o) ? [] : o.lookupdTcpAddresses
      const v = decodeGoStringSlice(body, current)
      if (v === SLICE_DECODE_FAILED) throw new HttpApiError(400, 'INVALID_VALUE')
      next = { ...o, lookupdTcpAddresses: v ?? [] }
      if (v === null) NIL_LOOKUPD_LIST.add(next)
      return next
    }
    case 'log_level': {
      const level = goToLower(body.toString('utf8'))
      if (!Object.prototype.hasOwnProperty.call(LOG_LEVELS, level)) throw new HttpApiError(400, 'INVALID_VALUE')
      next = { ...o, logLevel: level }
      if (NIL_LOOKUPD_LIST.has(o)) NIL_LOOKUPD_LIST.add(next)
      return next
    }
    default:
      throw new HttpApiError(400, 'INVALID_OPTION')
  }
}

/** Drain mode (nsqd/drain.ts), not an NSQ option: GET reads it, PUT `true` starts, `false` cancels. */
const DRAINING = 'draining'

function putDraining (nsqd: NSQD, reply: FastifyReply, body: Buffer): FastifyReply {
  const v = body.toString('utf8').trim()
  if (v === 'true') {
    // a replicated primary hands over instead, which needs an in-sync standby (nsqd/replication)
    if (nsqd.drain.start('PUT /config/draining') !== null) throw new HttpApiError(503, 'NO_INSYNC_STANDBY')
    if (nsqd.drain.handOff !== null) return sendValue(reply, true)
  } else if (v === 'false') {
    // a finished drain cannot be undone: the node is empty and may be exiting
    if (!nsqd.drain.cancel()) throw new HttpApiError(400, 'INVALID_VALUE')
  } else {
    throw new HttpApiError(400, 'INVALID_VALUE')
  }
  return sendValue(reply, nsqd.draining)
}

export async function configRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  app.get<{ Params: { opt: string } }>('/config/:opt', async (req, reply) => {
    if (req.params.opt === DRAINING) return sendValue(reply, nsqd.draining)
    return sendValue(reply, configValue(nsqd.options, req.params.opt, boundPorts(nsqd)))
  })

  app.put<{ Params: { opt: string } }>('/config/:opt', async (req, reply) => {
    const body = await readLimited(req, nsqd.options.maxMsgSize)
    if (body.over || body.data.length === 0) throw new HttpApiError(413, 'INVALID_VALUE', body.over)
    const name = req.params.opt
    if (name === DRAINING) return putDraining(nsqd, reply, body.data)
    nsqd.swapOptions(applyConfigPut(nsqd.options, name, body.data))
    nsqd.logger.info(`HTTP: config ${name} set to ${body.data.toString('utf8')}`)
    return sendValue(reply, configValue(nsqd.options, name, boundPorts(nsqd)))
  })
}
