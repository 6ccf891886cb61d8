// One NSQ TCP connection, transport-agnostic: magic + IDENTIFY (+ AUTH) handshake, frame dispatch,
// heartbeat answers, FIFO matching of responses to requests, per-tick coalesced writes and a read
// deadline. Producer and Consumer build on it; it knows nothing about topics or RDY policy.

import os from 'node:os'
import { FrameDecoder } from './wire/frame-decoder.js'
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, HEARTBEAT, MAGIC_V2 } from './wire/frames.js'
import { ProtocolError } from './wire/errors.js'
import { toBuffer } from './wire/commands.js'
import type { Body } from './wire/commands.js'
import { NsqClientError } from './errors.js'
import { OutBuffer, Fifo } from './out-buffer.js'
import type { TlsClientOptions, Transport, TransportUpgrader, UpgradeFeature } from './transport.js'

export const CLIENT_VERSION = '0.1.0'
export const DEFAULT_USER_AGENT = `nsq-ts/${CLIENT_VERSION}`

export interface ConnectionOptions {
  clientId: string
  hostname: string
  userAgent: string
  /** Asked of nsqd in IDENTIFY; the read deadline is twice this. */
  heartbeatIntervalMs: number
  /** 0 = nsqd's default. */
  msgTimeoutMs: number
  sampleRate: number
  /** 0 = nsqd's default. */
  outputBufferSize: number
  /** 0 = nsqd's default. */
  outputBufferTimeoutMs: number
  /** Sent with AUTH when nsqd answers IDENTIFY with auth_required. */
  authSecret: string | null
  /** Deadline for each handshake answer (IDENTIFY, AUTH, SUB). */
  handshakeTimeoutMs: number
  tlsV1: boolean
  snappy: boolean
  deflate: boolean
  deflateLevel: number
  /** CA, client certificate, verification for tls_v1 (null: system roots, verification on). */
  tlsOptions: TlsClientOptions | null
  /** Wraps the transport for a negotiated feature (Producer/Consumer default: node-upgrade.ts). */
  upgrader: TransportUpgrader | null
}

export function defaultConnectionOptions (): ConnectionOptions {
  const host = os.hostname()
  return {
    clientId: host.split('.')[0] ?? host,
    hostname: host,
    userAgent: DEFAULT_USER_AGENT,
    heartbeatIntervalMs: 30_000,
    msgTimeoutMs: 0,
    sampleRate: 0,
    outputBufferSize: 0,
    outputBufferTimeoutMs: 0,
    authSecret: null,
    handshakeTimeoutMs: 5000,
    tlsV1: false,
    snappy: false,
    deflate: false,
    deflateLevel: 6,
    tlsOptions: null,
    upgrader: null
  }
}

/** What nsqd told us in its IDENTIFY response (defaults when it answered a plain OK). */
export interface IdentifyResponse {
  maxRdyCount: number
  maxMsgTimeoutMs: number
  msgTimeoutMs: number
  version: string
  authRequired: boolean
  tlsV1: boolean
  snappy: boolean
  deflate: boolean
  /** The JSON as received (empty for a plain OK). */
  raw: Record<string, unknown>
}

export interface ConnectionEvents {
  /** A message frame's data (26-byte header + body), a view valid for as long as it is referenced. */
  onMessage (data: Buffer): void
  /** E_FIN_FAILED, E_REQ_FAILED, E_TOUCH_FAILED: the connection stays open. */
  onNonFatalError (err: ProtocolError): void
  /** Once; `err` says why when the close was not asked for. */
  onClose (err: Error | null): void
}

export type ResponseCallback = (err: Error | null, data: Buffer | null) => void

const NOOP_EVENTS: ConnectionEvents = { onMessage () {}, onNonFatalError () {}, onClose () {} }

export const CONNECTION_STATE = { HANDSHAKE: 'handshake', READY: 'ready', CLOSED: 'closed' } as const
export type ConnectionState = typeof CONNECTION_STATE[keyof typeof CONNECTION_STATE]

export class Connection {
  readonly address: string
  state: ConnectionState = 'handshake'
  identity: IdentifyResponse | null = null
  /** Why the connection ended (null while open or after an asked-for close). */
  closeError: Error | null = null

  private transport: Transport
  private readonly options: ConnectionOptions
  private events: ConnectionEvents = NOOP_EVENTS
  private readonly decoder: FrameDecoder
  private readonly out = new OutBuffer()
  private readonly pending = new Fifo<ResponseCallback>()
  private flushScheduled = false
  private lastReadAtMs = Date.now()
  private readTimer: NodeJS.Timeout | null = null
  private fatal: ProtocolError | null = null
  private closing = false
  /** During upgrades the decoder stops after each response: what follows belongs to the next layer. */
  private stopAfterResponse = false

  constructor (transport: Transport, options: ConnectionOptions) {
    this.transport = transport
    this.address = transport.address
    this.options = options
    this.decoder = new FrameDecoder((type, data) => { this.onFrame(type, data) })
    transport.attach({
      onData: (chunk) => { this.onData(chunk) },
      onClose: (err) => { this.onTransportClose(err) }
    })
  }

  /** Runs magic + IDENTIFY (+ upgrades, + AUTH); resolves with nsqd's answer. */
  async handshake (events: ConnectionEvents): Promise<IdentifyResponse> {
    this.events = events
    const o = this.options
    const identify: Record<string, unknown> = {
      client_id: o.clientId,
      hostname: o.hostname,
      user_agent: o.userAgent,
      feature_negotiation: true,
      heartbeat_interval: o.heartbeatIntervalMs,
      tls_v1: o.tlsV1,
      snappy: o.snappy,
      deflate: o.deflate,
      deflate_level: o.deflateLevel
    }
    if (o.msgTimeoutMs > 0) identify.msg_timeout = o.msgTimeoutMs
    if (o.sampleRate > 0) identify.sample_rate = o.sampleRate
    if (o.outputBufferSize !== 0) identify.output_buffer_size = o.outputBufferSize
    if (o.outputBufferTimeoutMs !== 0) identify.output_buffer_timeout = o.outputBufferTimeoutMs
    this.out.bytes(MAGIC_V2)
    this.out.line('IDENTIFY')
    this.out.sized(Buffer.from(JSON.stringify(identify), 'utf8'))
    this.stopAfterResponse = o.tlsV1 || o.snappy || o.deflate
    const data = await this.requestWithDeadline('IDENTIFY')
    const identity = parseIdentify(data)
    this.identity = identity
    for (const feature of ['tls', 'snappy', 'deflate'] as const) {
      if (!featureOn(identity, feature)) continue
      await this.upgrade(feature, identity)
    }
    if (this.stopAfterResponse) {
      this.stopAfterResponse = false
      this.decoder.resume()
    }
    if (identity.authRequired) {
      if (o.authSecret === null) throw this.failHandshake('nsqd requires AUTH but no auth secret is configured')
      this.out.line('AUTH')
      this.out.sized(Buffer.from(o.authSecret, 'utf8'))
      await this.requestWithDeadline('AUTH')
    }
    this.state = 'ready'
    if (o.heartbeatIntervalMs > 0) this.startReadDeadline(o.heartbeatIntervalMs)
    return identity
  }

  private async upgrade (feature: UpgradeFeature, identity: IdentifyResponse): Promise<void> {
    const upgrader = this.options.upgrader
    if (upgrader === null) throw this.failHandshake(`nsqd negotiated ${feature} but this client has no ${feature} support`)
    const o = this.options
    try {
      this.transport = await upgrader(this.transport, feature, this.decoder.takeRest(), identity.raw, { tlsOptions: o.tlsOptions, deflateLevel: o.deflateLevel })
    } catch (err) {
      throw this.failHandshake(`${feature} upgrade failed: ${(err as Error).message}`)
    }
    this.transport.attach({
      onData: (chunk) => { this.onData(chunk) },
      onClose: (err) => { this.onTransportClose(err) }
    })
    // the OK may already be here (bytes that came with the last answer): wait first, then decode
    const ok = this.requestWithDeadline(`${feature} upgrade`)
    this.decoder.resume()
    await ok
  }

  private failHandshake (why: string): NsqClientError {
    const err = new NsqClientError('HANDSHAKE_FAILED', `${this.address}: ${why}`, this.address)
    this.destroy(err)
    return err
  }

  /** Sends what is buffered and waits for one answer, failing the handshake on error or timeout. */
  private requestWithDeadline (what: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(this.failHandshake(`no answer to ${what} within ${this.options.handshakeTimeoutMs}ms`))
      }, this.options.handshakeTimeoutMs)
      this.pending.push((err, data) => {
        clearTimeout(timer)
        if (err !== null) {
          const e = err instanceof ProtocolError
            ? err
            : new NsqClientError('HANDSHAKE_FAILED', `${this.address}: ${what} failed: ${err.message}`, this.address, { cause: err })
          reject(e)
        } else {
          resolve(data as Buffer)
        }
      })
      this.flush()
    })
  }

  /** Replaces the event sink (the consumer installs its own after SUB). */
  setEvents (events: ConnectionEvents): void {
    this.events = events
  }

  get isOpen (): boolean {
    return this.state !== 'closed' && !this.closing
  }

  /** Requests still waiting for their response. */
  get pendingCount (): number {
    return this.pending.length
  }

  // ---- commands -------------------------------------------------------------------------------

  /** A command that gets a response frame (SUB, CLS, PUB, MPUB, DPUB). */
  request (line: string, body: Buffer | null, cb: ResponseCallback): void {
    if (this.state === 'closed' || this.closing) {
      cb(this.closedError(), null)
      return
    }
    this.out.line(line)
    if (body !== null) this.out.sized(body)
    this.pending.push(cb)
    this.scheduleFlush()
  }

  requestAsync (line: string, body: Buffer | null = null): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.request(line, body, (err, data) => { if (err !== null) reject(err); else resolve(data as Buffer) })
    })
  }

  /** A command without a response (RDY, FIN, REQ, TOUCH, NOP). Ignored once closed. */
  command (line: string): void {
    if (this.state === 'closed') return
    this.out.line(line)
    this.scheduleFlush()
  }

  pub (topic: string, body: Body, cb: ResponseCallback): void {
    if (this.state === 'closed' || this.closing) { cb(this.closedError(), null); return }
    const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : toBuffer(body)
    this.out.line('PUB ' + topic)
    this.out.sized(b)
    this.pending.push(cb)
    this.scheduleFlush()
  }

  dpub (topic: string, deferMs: number, body: Body, cb: ResponseCallback): void {
    if (this.state === 'closed' || this.closing) { cb(this.closedError(), null); return }
    this.out.line(`DPUB ${topic} ${Math.max(0, Math.floor(deferMs))}`)
    this.out.sized(toBuffer(body))
    this.pending.push(cb)
    this.scheduleFlush()
  }

  mpub (topic: string, bodies: readonly Buffer[], cb: ResponseCallback): void {
    if (this.state === 'closed' || this.closing) { cb(this.closedError(), null); return }
    let size = 4
    for (let i = 0; i < bodies.length; i++) size += 4 + (bodies[i] as Buffer).length
    const out = this.out
    out.line('MPUB ' + topic)
    out.int32(size)
    out.int32(bodies.length)
    for (let i = 0; i < bodies.length; i++) out.sized(bodies[i] as Buffer)
    this.pending.push(cb)
    this.scheduleFlush()
  }

  // ---- writing ----------------------------------------------------------------------------------

  private scheduleFlush (): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    process.nextTick(this.flushTick)
  }

  private readonly flushTick = (): void => {
    this.flushScheduled = false
    this.flush()
  }

  /** Writes everything buffered now, as one write. */
  flush (): void {
    if (this.out.length === 0 || this.state === 'closed') return
    this.transport.write(this.out.take())
  }

  // ---- reading ----------------------------------------------------------------------------------

  private onData (chunk: Buffer): void {
    this.lastReadAtMs = Date.now()
    try {
      this.decoder.push(chunk)
    } catch (err) {
      this.destroy(new NsqClientError('BAD_FRAME', `${this.address}: ${(err as Error).message}`, this.address, { cause: err }))
    }
  }

  private onFrame (type: number, data: Buffer): void {
    if (type === FRAME_TYPE_MESSAGE) {
      this.events.onMessage(data)
    } else if (type === FRAME_TYPE_RESPONSE) {
      if (data.length === 11 && data.toString('latin1') === HEARTBEAT) {
        this.command('NOP')
        return
      }
      if (this.stopAfterResponse) this.decoder.stop()
      const cb = this.pending.shift()
      if (cb !== undefined) cb(null, data)
    } else if (type === FRAME_TYPE_ERROR) {
      const err = ProtocolError.parse(data.toString('utf8'))
      if (!err.fatal) {
        this.events.onNonFatalError(err)
        return
      }
      // nsqd closes after a fatal error: the oldest request gets the error, the rest fail on close.
      this.fatal = err
      const cb = this.pending.shift()
      if (cb !== undefined) cb(err, null)
      this.close()
    } else {
      this.destroy(new NsqClientError('BAD_FRAME', `${this.address}: unknown frame type ${type}`, this.address))
    }
  }

  private startReadDeadline (heartbeatMs: number): void {
    const limitMs = heartbeatMs * 2
    this.readTimer = setInterval(() => {
      if (Date.now() - this.lastReadAtMs > limitMs) {
        this.destroy(new NsqClientError('READ_TIMEOUT', `${this.address}: nothing read for ${limitMs}ms`, this.address))
      }
    }, Math.max(100, Math.floor(heartbeatMs / 2)))
    this.readTimer.unref()
  }

  // ---- closing ----------------------------------------------------------------------------------

  private closedError (): NsqClientError {
    const cause = this.closeError ?? this.fatal ?? undefined
    const why = cause !== undefined ? `: ${cause.message}` : ''
    return new NsqClientError('CONNECTION_CLOSED', `connection to ${this.address} closed${why}`, this.address, { cause })
  }

  /** Flushes pending writes and ends the stream; outstanding requests fail when it closes. */
  close (): void {
    if (this.state === 'closed' || this.closing) return
    this.closing = true
    this.flush()
    this.transport.end()
    // An nsqd that never closes its side must not keep us open.
    setTimeout(() => { this.destroy() }, 5000).unref()
  }

  destroy (err?: Error): void {
    if (this.state === 'closed') return
    if (err !== undefined) this.closeError ??= err
    this.transport.destroy(err)
  }

  private onTransportClose (err: Error | null): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.readTimer !== null) clearInterval(this.readTimer)
    this.readTimer = null
    if (err !== null) this.closeError ??= err
    if (this.closeError === null && this.fatal !== null) this.closeError = this.fatal
    if (this.closeError === null && !this.closing) {
      this.closeError = new NsqClientError('CONNECTION_CLOSED', `${this.address} closed the connection`, this.address)
    }
    const waiting = this.pending.drain()
    if (waiting.length > 0) {
      const e = this.closedError()
      for (const cb of waiting) cb(e, null)
    }
    this.events.onClose(this.closing && this.fatal === null ? null : this.closeError)
  }
}

function featureOn (id: IdentifyResponse, f: UpgradeFeature): boolean {
  return f === 'tls' ? id.tlsV1 : f === 'snappy' ? id.snappy : id.deflate
}

function num (v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : dflt
}

export function parseIdentify (data: Buffer): IdentifyResponse {
  const text = data.toString('utf8')
  let raw: Record<string, unknown> = {}
  if (text.startsWith('{')) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>
    } catch {
      raw = {}
    }
  }
  return {
    maxRdyCount: num(raw.max_rdy_count, 2500),
    maxMsgTimeoutMs: num(raw.max_msg_timeout, 900_000),
    msgTimeoutMs: num(raw.msg_timeout, 60_000),
    version: typeof raw.version === 'string' ? raw.version : '',
    authRequired: raw.auth_required === true,
    tlsV1: raw.tls_v1 === true,
    snappy: raw.snappy === true,
    deflate: raw.deflate === true,
    raw
  }
}

/** Dials, then runs the handshake; the connection is destroyed if the handshake fails. */
export async function openConnection (
  address: string,
  dial: (address: string, o: { connectTimeoutMs: number }) => Promise<Transport>,
  connectTimeoutMs: number,
  options: ConnectionOptions,
  events: ConnectionEvents
): Promise<Connection> {
  const transport = await dial(address, { connectTimeoutMs })
  const conn = new Connection(transport, options)
  try {
    await conn.handshake(events)
  } catch (err) {
    conn.destroy(err as Error)
    throw err
  }
  return conn
}
