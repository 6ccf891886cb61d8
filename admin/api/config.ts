// GET/PUT /config/:opt (spec: nsqadmin.md §9): read any option by its config-file name; change
// nsqlookupd_http_addresses or log_level at run time. Only from --allow-config-from-cidr.

import net from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { goJson } from '../../client/wire/go-json.js'
import { LOG_LEVELS } from '../logger.js'
import type { Options } from '../options.js'
import { splitHostPort } from '../options.js'
import type { AdminContext } from './context.js'
import { ApiError, NSQ_CONTENT_TYPE } from './context.js'
import { route } from './route.js'

const MAX_VALUE_BYTES = 1024 * 1024
const NS_PER_MS = 1_000_000

function configValues (o: Options): Record<string, unknown> {
  return {
    log_level: LOG_LEVELS[o.logLevel.toLowerCase() as keyof typeof LOG_LEVELS],
    log_prefix: o.logPrefix,
    http_address: o.httpAddress,
    base_path: o.basePath,
    dev_static_dir: o.devStaticDir,
    graphite_url: o.graphiteUrl,
    proxy_graphite: o.proxyGraphite,
    statsd_prefix: o.statsdPrefix,
    statsd_counter_format: o.statsdCounterFormat,
    statsd_gauge_format: o.statsdGaugeFormat,
    statsd_interval: o.statsdIntervalMs * NS_PER_MS,
    nsqlookupd_http_addresses: o.lookupdHttpAddresses,
    nsqd_http_addresses: o.nsqdHttpAddresses,
    http_client_connect_timeout: o.httpClientConnectTimeoutMs * NS_PER_MS,
    http_client_request_timeout: o.httpClientRequestTimeoutMs * NS_PER_MS,
    allow_config_from_cidr: o.allowConfigFromCidr,
    notification_http_endpoint: o.notificationHttpEndpoint,
    acl_http_header: o.aclHttpHeader,
    admin_users: o.adminUsers,
    history_interval: o.historyIntervalMs * NS_PER_MS,
    history_window: o.historyWindowMs * NS_PER_MS
  }
}

function sendValue (reply: FastifyReply, v: unknown): FastifyReply {
  return reply.code(200).header('X-NSQ-Content-Type', NSQ_CONTENT_TYPE)
    .type('application/json; charset=utf-8').send(goJson(v))
}

/** Checks the caller's IP against --allow-config-from-cidr ("" disables the check). */
function checkCidr (cidr: string, req: FastifyRequest): void {
  if (cidr === '') return
  let ip = req.socket.remoteAddress ?? ''
  if (ip.startsWith('::ffff:')) ip = ip.slice(7)
  const type = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : null
  if (type === null) throw new ApiError(400, 'INVALID_REMOTE_ADDR')
  const slash = cidr.indexOf('/')
  const netAddr = slash < 0 ? cidr : cidr.slice(0, slash)
  const prefix = slash < 0 ? (net.isIPv4(netAddr) ? 32 : 128) : Number(cidr.slice(slash + 1))
  const netType = net.isIPv4(netAddr) ? 'ipv4' : 'ipv6'
  const list = new net.BlockList()
  try {
    list.addSubnet(netAddr, prefix, netType)
  } catch {
    throw new ApiError(403, 'FORBIDDEN')
  }
  if (!list.check(ip, type)) throw new ApiError(403, 'FORBIDDEN')
}

export function registerConfigRoutes (app: FastifyInstance, ctx: AdminContext, swap: (next: Options) => void): void {
  route(app, '/config/:opt', {
    GET: async (req, reply) => {
      checkCidr(ctx.options().allowConfigFromCidr, req)
      const opt = (req.params as Record<string, string>).opt ?? ''
      const values = configValues(ctx.options())
      if (!(opt in values)) throw new ApiError(400, 'INVALID_OPTION')
      return sendValue(reply, values[opt])
    },
    PUT: async (req, reply) => {
      checkCidr(ctx.options().allowConfigFromCidr, req)
      const opt = (req.params as Record<string, string>).opt ?? ''
      const body = typeof req.body === 'string' ? req.body : ''
      if (opt !== 'nsqlookupd_http_addresses' && opt !== 'log_level') throw new ApiError(400, 'INVALID_OPTION')
      if (body.length === 0 || Buffer.byteLength(body) > MAX_VALUE_BYTES) throw new ApiError(413, 'INVALID_VALUE')
      const next: Options = { ...ctx.options() }
      if (opt === 'log_level') {
        const lvl = body.trim().toLowerCase()
        if (!(lvl in LOG_LEVELS)) throw new ApiError(400, 'INVALID_VALUE')
        next.logLevel = lvl
      } else {
        let v: unknown
        try { v = JSON.parse(body) } catch { throw new ApiError(400, 'INVALID_VALUE') }
        if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) throw new ApiError(400, 'INVALID_VALUE')
        try {
          for (const a of v as string[]) splitHostPort(a, 'nsqlookupd_http_addresses')
        } catch {
          throw new ApiError(400, 'INVALID_VALUE')
        }
        if (ctx.options().nsqdHttpAddresses.length > 0) throw new ApiError(400, 'INVALID_VALUE')
        next.lookupdHttpAddresses = v as string[]
      }
      swap(next)
      return sendValue(reply, configValues(ctx.options())[opt])
    }
  })
}
