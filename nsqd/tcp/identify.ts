// IDENTIFY (tcp-protocol.md §8.1, §9): decode by Go's encoding/json rules (identify-json.ts),
// validate in NSQ's order, and build the feature-negotiation response with its keys in NSQ's order.

import { goJson } from '../../client/wire/go-json.js'
import { ProtocolError } from '../../client/wire/errors.js'
import type { Options } from '../options.js'
import { VERSION } from '../options.js'
import { decodeIdentifyJson, type IdentifyFields } from './identify-json.js'

export type IdentifyRequest = IdentifyFields

/** Parses the IDENTIFY body; throws E_BAD_BODY IDENTIFY failed to decode JSON body. */
export function decodeIdentify (body: Buffer): IdentifyRequest {
  const req = decodeIdentifyJson(body)
  if (req === null) throw new ProtocolError('E_BAD_BODY', 'IDENTIFY failed to decode JSON body')
  return req
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

/**
 * Validates in NSQ's order and throws the first E_BAD_BODY IDENTIFY <reason>, the value printed
 * exactly as sent. A 0 keeps the connection's `current` value (its default before any IDENTIFY),
 * as nsqd's Set* methods do.
 */
export function validateIdentify (req: IdentifyRequest, opts: Options, current: IdentifySettings): IdentifySettings {
  const bad = (what: string, v: number | bigint): ProtocolError => new ProtocolError('E_BAD_BODY', `IDENTIFY ${what} (${v}) is invalid`)

  let heartbeatIntervalMs = current.heartbeatIntervalMs
  const hb = req.heartbeat_interval
  if (hb === -1) heartbeatIntervalMs = -1
  else if (hb === 0) { /* keep */ } else if (hb < 1000 || hb > opts.maxHeartbeatIntervalMs) throw bad('heartbeat interval', hb)
  else heartbeatIntervalMs = Number(hb)

  let outputBufferTimeoutMs = current.outputBufferTimeoutMs
  const obt = req.output_buffer_timeout
  if (obt === -1) outputBufferTimeoutMs = 0
  else if (obt === 0) { /* keep */ } else if (obt < opts.minOutputBufferTimeoutMs || obt > opts.maxOutputBufferTimeoutMs) throw bad('output buffer timeout', obt)
  else outputBufferTimeoutMs = Number(obt)

  let outputBufferSize = current.outputBufferSize
  const obs = req.output_buffer_size
  if (obs === -1) { outputBufferSize = 1; outputBufferTimeoutMs = 0 } else if (obs === 0) { /* keep */ } else if (obs < 64 || obs > opts.maxOutputBufferSize) throw bad('output buffer size', obs)
  else outputBufferSize = Number(obs)

  const sr = req.sample_rate
  if (sr < 0 || sr > 99) throw bad('sample rate', sr)

  let msgTimeoutMs = current.msgTimeoutMs
  const mt = req.msg_timeout
  if (mt === 0) { /* keep */ } else if (mt < 1000 || mt > opts.maxMsgTimeoutMs) throw bad('msg timeout', mt)
  else msgTimeoutMs = Number(mt)

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
  // an int64 level beyond a safe integer is far above any maximum, so Number() is exact enough
  if (deflate && req.deflate_level > 0) deflateLevel = Number(req.deflate_level)
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
