// IDENTIFY (tcp-protocol.md §8.1, §9): decode with Go's semantics (case-insensitive keys, null keeps
// the default, a wrongly typed value fails the whole body), validate in NSQ's order, and build the
// feature-negotiation response with its keys in NSQ's order.

import { goJson } from '../../client/wire/go-json.js'
import { ProtocolError } from '../../client/wire/errors.js'
import type { Options } from '../options.js'
import { VERSION } from '../options.js'

export interface IdentifyRequest {
  client_id?: string
  hostname?: string
  user_agent?: string
  feature_negotiation?: boolean
  heartbeat_interval?: number
  output_buffer_size?: number
  output_buffer_timeout?: number
  tls_v1?: boolean
  snappy?: boolean
  deflate?: boolean
  deflate_level?: number
  sample_rate?: number
  msg_timeout?: number
  topology_region?: string
  topology_zone?: string
}

const FIELD_TYPES: Record<string, 'string' | 'bool' | 'int'> = {
  client_id: 'string',
  hostname: 'string',
  user_agent: 'string',
  short_id: 'string',
  long_id: 'string',
  feature_negotiation: 'bool',
  heartbeat_interval: 'int',
  output_buffer_size: 'int',
  output_buffer_timeout: 'int',
  tls_v1: 'bool',
  snappy: 'bool',
  deflate: 'bool',
  deflate_level: 'int',
  sample_rate: 'int',
  msg_timeout: 'int',
  topology_region: 'string',
  topology_zone: 'string'
}

const DECODE_FAILED = (): ProtocolError => new ProtocolError('E_BAD_BODY', 'IDENTIFY failed to decode JSON body')

/** Parses the IDENTIFY body; throws E_BAD_BODY ... failed to decode JSON body. */
export function decodeIdentify (body: Buffer): IdentifyRequest {
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch {
    throw DECODE_FAILED()
  }
  if (raw === null) return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) throw DECODE_FAILED()
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const k = key.toLowerCase()
    const type = FIELD_TYPES[k]
    if (type === undefined || value === null) continue
    if (type === 'string' && typeof value !== 'string') throw DECODE_FAILED()
    if (type === 'bool' && typeof value !== 'boolean') throw DECODE_FAILED()
    if (type === 'int' && (typeof value !== 'number' || !Number.isInteger(value))) throw DECODE_FAILED()
    out[k] = value
  }
  return out as IdentifyRequest
}

/** The settings a connection ends up with after a successful IDENTIFY. */
export interface IdentifySettings {
  heartbeatIntervalMs: number
  outputBufferSize: number
  outputBufferTimeoutMs: number
  sampleRate: number
  msgTimeoutMs: number
}

export const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024

/** Validates in NSQ's order; throws the first E_BAD_BODY IDENTIFY <reason>. */
export function validateIdentify (req: IdentifyRequest, opts: Options): IdentifySettings {
  const bad = (what: string, v: number): ProtocolError => new ProtocolError('E_BAD_BODY', `IDENTIFY ${what} (${v}) is invalid`)

  let heartbeatIntervalMs = opts.clientTimeoutMs / 2
  const hb = req.heartbeat_interval ?? 0
  if (hb === -1) heartbeatIntervalMs = -1
  else if (hb === 0) heartbeatIntervalMs = opts.clientTimeoutMs / 2
  else if (hb < 1000 || hb > opts.maxHeartbeatIntervalMs) throw bad('heartbeat interval', hb)
  else heartbeatIntervalMs = hb

  let outputBufferTimeoutMs = opts.outputBufferTimeoutMs
  const obt = req.output_buffer_timeout ?? 0
  if (obt === -1) outputBufferTimeoutMs = 0
  else if (obt === 0) outputBufferTimeoutMs = opts.outputBufferTimeoutMs
  else if (obt < opts.minOutputBufferTimeoutMs || obt > opts.maxOutputBufferTimeoutMs) throw bad('output buffer timeout', obt)
  else outputBufferTimeoutMs = obt

  let outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE
  const obs = req.output_buffer_size ?? 0
  if (obs === -1) { outputBufferSize = 1; outputBufferTimeoutMs = 0 } else if (obs === 0) outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE
  else if (obs < 64 || obs > opts.maxOutputBufferSize) throw bad('output buffer size', obs)
  else outputBufferSize = obs

  const sr = req.sample_rate ?? 0
  if (sr < 0 || sr > 99) throw bad('sample rate', sr)

  let msgTimeoutMs = opts.msgTimeoutMs
  const mt = req.msg_timeout ?? 0
  if (mt !== 0) {
    if (mt < 1000 || mt > opts.maxMsgTimeoutMs) throw bad('msg timeout', mt)
    msgTimeoutMs = mt
  }

  return { heartbeatIntervalMs, outputBufferSize, outputBufferTimeoutMs, sampleRate: sr, msgTimeoutMs }
}

export interface Negotiated {
  tls: boolean
  deflate: boolean
  deflateLevel: number
  snappy: boolean
}

/**
 * Features this node can negotiate. TLS needs a certificate; the transport layer reports which
 * upgrades it implements through `supported`.
 */
export function negotiate (req: IdentifyRequest, opts: Options, supported: { tls: boolean, deflate: boolean, snappy: boolean }): Negotiated {
  const tls = supported.tls && opts.tlsCert !== '' && opts.tlsKey !== '' && req.tls_v1 === true
  const deflate = supported.deflate && opts.deflate && req.deflate === true
  let deflateLevel = 6
  if (deflate && (req.deflate_level ?? 0) > 0) deflateLevel = req.deflate_level as number
  if (deflateLevel > opts.maxDeflateLevel) deflateLevel = opts.maxDeflateLevel
  const snappy = supported.snappy && opts.snappy && req.snappy === true
  return { tls, deflate, deflateLevel, snappy }
}

export function identifyResponse (opts: Options, settings: IdentifySettings, n: Negotiated): string {
  return goJson({
    max_rdy_count: opts.maxRdyCount,
    version: VERSION,
    max_msg_timeout: opts.maxMsgTimeoutMs,
    msg_timeout: settings.msgTimeoutMs,
    tls_v1: n.tls,
    deflate: n.deflate,
    deflate_level: n.deflateLevel,
    max_deflate_level: opts.maxDeflateLevel,
    snappy: n.snappy,
    sample_rate: settings.sampleRate,
    auth_required: opts.authHttpAddresses.length > 0,
    output_buffer_size: settings.outputBufferSize,
    output_buffer_timeout: settings.outputBufferTimeoutMs,
    topology_region: opts.topologyRegion,
    topology_zone: opts.topologyZone
  })
}
