// The V2 command loop (tcp-protocol.md §8): one handler method per verb, dispatched by a switch on
// the verb. Validation order, error strings and fatality follow nsqd exactly; a fatal error sends
// its frame and closes the connection, the three non-fatal ones leave it open.

import type { Duplex } from 'node:stream'
import { CommandDecoder, parseDecimal, goInt64, goDurationMs, DURATION_NEGATIVE, DURATION_TOO_LONG, type CommandHandler } from '../../client/wire/command-decoder.js'
import { ProtocolError, type ErrorCode } from '../../client/wire/errors.js'
import { FRAME_OK, FRAME_CLOSE_WAIT } from '../../client/wire/frames.js'
import { isValidTopicName, isValidChannelName, goQuoteBytes } from '../../client/wire/names.js'
import { goJson } from '../../client/wire/go-json.js'
import { MESSAGE_ID_LENGTH } from '../../client/wire/message.js'
import { nowNs, type Message } from '../core/message.js'
import type { Topic } from '../core/topic.js'
import { TLS_NOT_REQUIRED, deferCapMs, type Options } from '../options.js'
import type { Logger } from '../logger.js'
import { ClientV2, STATE_INIT, STATE_SUBSCRIBED, STATE_CLOSING, type ClientHost } from './client-v2.js'
import { decodeIdentify, validateIdentify, negotiate, identifyResponse } from './identify.js'
import type { Upgrader, Upgradable } from './transport.js'
import type { Inflow } from '../../client/node-compress.js'
import type { AuthClient, AuthState } from '../auth.js'
import { hostPart } from './client-v2.js'

/** What the protocol needs from the node. */
export interface ProtocolHost extends ClientHost {
  readonly options: Options
  readonly logger: Logger
  getTopic (name: string): Topic
  /** Durable mode: settles once everything published so far is on disk; null otherwise. */
  whenDurable (): Promise<void> | null
  /** Resolves when publishers may go on, while the store is behind; null when it is not. */
  publishBackpressure (): Promise<void> | null
  /** TLS / snappy / deflate upgrades (nsqd/tcp/transport.ts); none without it. */
  readonly upgrader?: Upgrader | null
  /** The auth server client, when --auth-http-address is set (nsqd/auth.ts). */
  readonly authClient?: AuthClient | null
  /** Drain mode (nsqd/drain.ts): publishes and new SUBs are refused. */
  readonly draining?: boolean
}

const NO_UPGRADES = { tls: false, deflate: false, snappy: false }

export class ProtocolV2 implements CommandHandler, Upgradable {
  readonly client: ClientV2
  readonly decoder: CommandDecoder
  private readonly host: ProtocolHost
  /** The socket's data listener: bytes from the wire (through the decompressor once negotiated). */
  readonly pushBound = (chunk: Buffer): void => { this.push(chunk) }
  /** Set by a snappy/deflate upgrade. */
  inflow: Inflow | null = null
  /** CommonName of the TLS client certificate ('' without one), for the auth server. */
  tlsCommonName = ''
  /** Cached auth server answer and the secret it was obtained with. */
  private authState: AuthState | null = null
  private authSecret = ''
  /** An upgrade or an auth server query is in progress: decoding waits for it. */
  private waiting = false
  /** The peer ended its side of the connection (EOF); acted on once decoding has caught up. */
  private eof = false
  /** A transport upgrade (TLS, snappy or deflate) started by IDENTIFY is not finished yet. */
  private upgrading = false
  /** EOF on the (decompressed) stream: every byte sent has reached the decoder. */
  private readonly inputEndedBound = (): void => { this.inputEnded() }
  /** Durable-mode acknowledgements not yet sent; EOF closes only after them. */
  private pendingAcks = 0
  /** The accepted defer of the DPUB whose body is being read. */
  private dpubDeferMs = 0

  constructor (id: number, conn: Duplex, remoteAddress: string, host: ProtocolHost) {
    this.host = host
    const o = host.options
    this.client = new ClientV2(id, conn, remoteAddress, host, {
      msgTimeoutMs: o.msgTimeoutMs,
      outputBufferTimeoutMs: o.outputBufferTimeoutMs,
      heartbeatIntervalMs: o.clientTimeoutMs / 2
    })
    this.decoder = new CommandDecoder(this, { maxMsgSize: o.maxMsgSize, maxBodySize: o.maxBodySize })
  }

  /** Feeds bytes read from the connection. */
  push (chunk: Buffer): void {
    if (this.inflow !== null) { this.inflow.push(chunk); return }
    this.pushPlain(chunk)
  }

  /** Plain (decrypted, decompressed) bytes for the command decoder. */
  pushPlain (chunk: Buffer): void {
    const c = this.client
    if (c.closed) return
    c.deferFlush = true
    try {
      if (this.decoder.push(chunk) > 0) c.commandSeen()
    } catch (err) {
      this.internalError(err as Error)
    } finally {
      c.deferFlush = false
      c.flush()
    }
  }

  /** A bug while handling this connection's input: log it and drop this connection, not the node. */
  private internalError (err: Error): void {
    this.host.logger.error(`PROTOCOL(V2): [${this.client.remoteAddress}] internal error, closing - ${err.stack ?? err.message}`)
    this.decoder.stop()
    this.client.close()
  }

  /**
   * Backpressure: while the store is behind, stop reading this publisher (the kernel's TCP window
   * then slows it down) and decode nothing more until the backlog is written.
   */
  private throttle (): void {
    const slow = this.host.publishBackpressure()
    if (slow === null || this.waiting) return
    this.waiting = true
    this.decoder.stop()
    // pause the side the bytes come in on (after snappy/deflate, conn is only the compressing writer)
    const conn = this.client.input
    conn.pause()
    slow.then(() => {
      conn.resume()
      this.client.commandSeen()
      this.resume()
    }, () => {})
  }

  /** Continues decoding after an upgrade or an auth query. */
  private resume (): void {
    this.waiting = false
    const c = this.client
    if (c.closed) return
    this.decoder.resume()
    c.deferFlush = true
    try {
      if (this.decoder.run() > 0) c.commandSeen()
    } catch (err) {
      this.internalError(err as Error)
    } finally {
      c.deferFlush = false
      c.flush()
    }
    if (this.eof && !this.waiting && !c.closed) this.finishEof()
  }

  upgradeDone (): void {
    this.upgrading = false
    this.resume()
  }

  /**
   * EOF from the peer (the socket allows half-open connections). Between commands the connection
   * just closes; once a command line is complete, the failed read of its size, count or body gets
   * nsqd's error frame first. Buffered commands are handled before that, as nsqd reads them first.
   */
  end (): void {
    const c = this.client
    if (c.closed) return
    // EOF before the TLS handshake completed: the upgrade fails, nothing can be sent
    if (this.upgrading) {
      c.closeAfterFlush()
      return
    }
    // on TLS this is the TLS socket's end: every decrypted byte has been pushed already; deflate
    // may still hold some, so act once it has caught up
    const inflow = this.inflow
    if (inflow !== null) inflow.end(this.inputEndedBound)
    else this.inputEnded()
  }

  private inputEnded (): void {
    if (this.client.closed) return
    this.eof = true
    if (!this.waiting) this.finishEof()
  }

  private finishEof (): void {
    if (this.client.closed) return
    const err = this.decoder.eofError()
    if (err !== null) {
      this.fail(err)
      return
    }
    if (this.pendingAcks === 0) this.client.closeAfterFlush()
  }

  /** The connection is gone: release the decompressor. */
  dispose (): void {
    if (this.inflow !== null) this.inflow.destroy()
  }

  private fatal (code: ErrorCode, description: string): false {
    this.fail(new ProtocolError(code, description))
    return false
  }

  /** Sends the error; a fatal one closes the connection. Returns whether decoding continues. */
  private fail (err: ProtocolError): boolean {
    const c = this.client
    // the payload is a byte string (see sendError); the log shows its UTF-8 reading
    this.host.logger.error(`PROTOCOL(V2): [${c.remoteAddress}] - ${Buffer.from(err.message, 'latin1').toString('utf8')}`)
    c.sendError(err.message)
    if (err.fatal) {
      this.decoder.stop()
      c.closeAfterFlush()
    }
    return !err.fatal
  }

  onDecodeError (err: ProtocolError | null): void {
    if (err === null) {
      // as nsqd's failed line read: no frame, but the answers to earlier commands still go out
      this.host.logger.error(`PROTOCOL(V2): [${this.client.remoteAddress}] - failed to read command - line longer than 16384 bytes`)
      this.client.closeAfterFlush()
      return
    }
    this.fail(err)
  }

  onLine (verb: string, params: string[]): boolean {
    const o = this.host.options
    if (o.tlsRequired !== TLS_NOT_REQUIRED && !this.client.tls && verb !== 'IDENTIFY') {
      return this.fatal('E_INVALID', `cannot ${verb} in current state (TLS required)`)
    }
    switch (verb) {
      case 'FIN': return this.fin(params)
      case 'RDY': return this.rdy(params)
      case 'REQ': return this.req(params)
      case 'PUB': return this.prePub(params)
      case 'MPUB': return this.preMpub(params)
      case 'DPUB': return this.preDpub(params)
      case 'NOP': return true
      case 'TOUCH': return this.touch(params)
      case 'SUB': return this.sub(params)
      case 'CLS': return this.cls()
      case 'IDENTIFY':
        if (this.client.state !== STATE_INIT) return this.fatal('E_INVALID', 'cannot IDENTIFY in current state')
        return true
      case 'AUTH':
        if (this.client.state !== STATE_INIT) return this.fatal('E_INVALID', 'cannot AUTH in current state')
        if (params.length !== 1) return this.fatal('E_INVALID', 'AUTH invalid number of parameters')
        return true
      default:
        return this.fatal('E_INVALID', `invalid command ${verb}`)
    }
  }

  onMpub (params: string[], bodies: Buffer[]): boolean {
    return this.mpub(params, bodies)
  }

  onBody (verb: string, params: string[], body: Buffer): boolean {
    switch (verb) {
      case 'PUB': return this.pub(params, body, 0)
      case 'DPUB': return this.pub(params, body, this.dpubDeferMs)
      case 'IDENTIFY': return this.identify(body)
      default: return this.auth(body)
    }
  }

  // ---- IDENTIFY / AUTH -------------------------------------------------------------------------

  private identify (body: Buffer): boolean {
    const o = this.host.options
    const c = this.client
    try {
      const req = decodeIdentify(body)
      // IDENTIFY sets the identity: a missing key gives "" (before it, both are the remote IP)
      c.clientId = req.client_id
      c.hostname = req.hostname
      c.userAgent = req.user_agent
      c.topologyRegion = req.topology_region
      c.topologyZone = req.topology_zone
      const s = validateIdentify(req, o, c)
      c.heartbeatIntervalMs = s.heartbeatIntervalMs
      c.outputBufferSize = s.outputBufferSize
      c.outputBufferTimeoutMs = s.outputBufferTimeoutMs
      c.sampleRate = s.sampleRate
      c.msgTimeoutMs = s.msgTimeoutMs
      c.identified = true
      c.armTimers()
      if (req.feature_negotiation !== true) {
        c.sendFrame(FRAME_OK)
        return true
      }
      // one negotiation per connection: a second IDENTIFY cannot stack another layer
      const upgraded = c.tls || c.snappy || c.deflate
      const upgrader = upgraded ? null : this.host.upgrader ?? null
      const n = negotiate(req, o, upgrader === null ? NO_UPGRADES : upgrader.supported)
      if (n.deflate && n.snappy) return this.fatal('E_IDENTIFY_FAILED', 'cannot enable both deflate and snappy compression')
      c.deflateLevel = n.deflateLevel
      c.sendResponse(identifyResponse(o, s, n))
      if (upgrader !== null && (n.tls || n.snappy || n.deflate)) {
        // the decoder stops right after this body; what follows belongs to the upgraded stream
        this.decoder.stop()
        this.waiting = true
        this.upgrading = true
        upgrader.upgrade(this, n, this.decoder.takeRest())
      }
      return true
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(err)
      throw err
    }
  }

  private auth (body: Buffer): boolean {
    const c = this.client
    if (c.authed) return this.fatal('E_INVALID', 'AUTH already set')
    const client = this.host.authClient ?? null
    if (client === null || this.host.options.authHttpAddresses.length === 0) return this.fatal('E_AUTH_DISABLED', 'AUTH disabled')
    this.authSecret = body.toString('utf8')
    this.decoder.stop()
    this.waiting = true
    this.queryAuth(client).then((state) => {
      if (c.closed) return
      this.setAuthState(state)
      if (state.authorizations.length === 0) { this.fatal('E_UNAUTHORIZED', 'AUTH no authorizations found'); return }
      let resp: string
      try {
        resp = goJson({ identity: state.identity, identity_url: state.identityUrl, permission_count: state.authorizations.length })
      } catch (err) {
        this.fatal('E_AUTH_ERROR', `AUTH error ${(err as Error).message}`)
        return
      }
      c.sendResponse(resp)
      this.resume()
    }, (err: Error) => {
      if (c.closed) return
      // the auth server's reasons are only logged, never sent
      this.host.logger.warn(`PROTOCOL(V2): [${c.remoteAddress}] AUTH failed ${err.message}`)
      this.fatal('E_AUTH_FAILED', 'AUTH failed')
    })
    return true
  }

  private async queryAuth (client: AuthClient): Promise<AuthState> {
    const c = this.client
    const ip = c.remoteAddress === 'unix' ? '' : hostPart(c.remoteAddress)
    return await client.query({ remoteIp: ip, tls: c.tls, secret: this.authSecret, commonName: this.tlsCommonName })
  }

  private setAuthState (state: AuthState): void {
    const c = this.client
    this.authState = state
    c.authed = state.authorizations.length > 0
    c.authIdentity = state.identity
    c.authIdentityUrl = state.identityUrl
  }

  /**
   * The authorization check of SUB/PUB/MPUB/DPUB. true: allowed; false: a fatal error was sent;
   * null: the cached answer expired and the auth server is being asked again, after which
   * `retry` re-runs the command (its result says whether decoding continues).
   */
  /** Whether publishes and SUB need the auth check (no retry closure is made otherwise). */
  private authActive (): boolean {
    return this.host.authClient != null && this.host.options.authHttpAddresses.length > 0
  }

  private checkAuth (cmd: string, topic: string, channel: string, retry: () => boolean): boolean | null {
    const client = this.host.authClient ?? null
    if (client === null || this.host.options.authHttpAddresses.length === 0) return true
    const state = this.authState
    if (state === null || state.authorizations.length === 0) return this.fatal('E_AUTH_FIRST', `AUTH required before ${cmd}`)
    if (state.isExpired(Date.now())) {
      const c = this.client
      this.decoder.stop()
      this.waiting = true
      this.queryAuth(client).then((next) => {
        if (c.closed) return
        this.setAuthState(next)
        this.waiting = false
        if (retry() && !this.waiting) this.resume()
      }, (err: Error) => {
        if (c.closed) return
        this.host.logger.warn(`PROTOCOL(V2): [${c.remoteAddress}] AUTH failed - ${err.message}`)
        this.fatal('E_AUTH_FAILED', 'AUTH failed')
      })
      return null
    }
    if (!state.isAllowed(topic, channel)) return this.fatal('E_UNAUTHORIZED', `AUTH failed for ${cmd} on ${goQuoteBytes(topic)} ${goQuoteBytes(channel)}`)
    return true
  }

  // ---- SUB / RDY / FIN / REQ / TOUCH / CLS ----------------------------------------------------

  private sub (params: string[]): boolean {
    const c = this.client
    if (c.state !== STATE_INIT) return this.fatal('E_INVALID', 'cannot SUB in current state')
    if (c.heartbeatIntervalMs <= 0) return this.fatal('E_INVALID', 'cannot SUB with heartbeats disabled')
    if (params.length < 3) return this.fatal('E_INVALID', 'SUB insufficient number of parameters')
    const topicName = params[1] as string
    const channelName = params[2] as string
    if (!isValidTopicName(topicName)) return this.fatal('E_BAD_TOPIC', `SUB topic name ${goQuoteBytes(topicName)} is not valid`)
    if (!isValidChannelName(channelName)) return this.fatal('E_BAD_CHANNEL', `SUB channel name ${goQuoteBytes(channelName)} is not valid`)
    if (this.authActive()) {
      const allowed = this.checkAuth('SUB', topicName, channelName, () => this.sub(params))
      if (allowed !== true) return allowed === null
    }
    if (this.host.draining === true) return this.fatal('E_SUB_FAILED', 'SUB failed draining')
    const topic = this.host.getTopic(topicName)
    if (topic.exiting) return this.fatal('E_SUB_FAILED', 'SUB failed exiting')
    const channel = topic.getChannel(channelName)
    const err = channel.addConsumer(c)
    if (err !== null) return this.fatal('E_SUB_FAILED', `SUB failed ${err}`)
    c.state = STATE_SUBSCRIBED
    c.channel = channel
    c.sendFrame(FRAME_OK)
    return true
  }

  private rdy (params: string[]): boolean {
    const c = this.client
    if (c.state === STATE_CLOSING) return true
    if (c.state !== STATE_SUBSCRIBED) return this.fatal('E_INVALID', 'cannot RDY in current state')
    let count: number | bigint = 1
    if (params.length > 1) {
      const token = params[1] as string
      const u = parseDecimal(token)
      if (u === -1) return this.fatal('E_INVALID', `RDY could not parse count ${token}`)
      count = goInt64(u) // as nsqd: the uint64 read as int64, so 2^63 and up are negative
    }
    const max = this.host.options.maxRdyCount
    if (count < 0 || count > max) return this.fatal('E_INVALID', `RDY count ${count} out of range 0-${max}`)
    c.readyCount = count as number
    if (c.channel !== null) c.channel.pump()
    return true
  }

  /** Common checks of FIN/REQ/TOUCH; returns the message id or null after a fatal error. */
  private msgCommand (verb: string, params: string[], minParams: number): string | null {
    const c = this.client
    if (c.state !== STATE_SUBSCRIBED && c.state !== STATE_CLOSING) { this.fatal('E_INVALID', `cannot ${verb} in current state`); return null }
    if (params.length < minParams) { this.fatal('E_INVALID', `${verb} insufficient number of params`); return null }
    const id = params[1] as string
    if (id.length !== MESSAGE_ID_LENGTH) { this.fatal('E_INVALID', 'invalid message ID'); return null }
    return id
  }

  private fin (params: string[]): boolean {
    const id = this.msgCommand('FIN', params, 2)
    if (id === null) return false
    const c = this.client
    const ch = c.channel
    const err = ch === null ? 'ID not in flight' : ch.finish(c.id, id, nowNs())
    if (err !== null) return this.fail(new ProtocolError('E_FIN_FAILED', `FIN ${id} failed ${err}`))
    c.finishCount++
    c.inFlightReleased(1)
    if (ch !== null) ch.pump()
    return true
  }

  private req (params: string[]): boolean {
    const id = this.msgCommand('REQ', params, 3)
    if (id === null) return false
    const token = params[2] as string
    const u = parseDecimal(token)
    if (u === -1) return this.fatal('E_INVALID', `REQ could not parse timeout ${token}`)
    const max = this.host.options.maxReqTimeoutMs
    // as nsqd: ms -> int64 ns (which wraps); a negative duration requeues at once, a long one is clamped
    let timeoutMs = goDurationMs(u, max)
    if (timeoutMs === DURATION_NEGATIVE || timeoutMs === DURATION_TOO_LONG) {
      const clamped = timeoutMs === DURATION_NEGATIVE ? 0 : max
      this.host.logger.debug(`PROTOCOL(V2): [${this.client.remoteAddress}] REQ timeout ${token} out of range 0-${max}, set to ${clamped}`)
      timeoutMs = clamped
    }
    const c = this.client
    const ch = c.channel
    const err = ch === null ? 'ID not in flight' : ch.requeue(c.id, id, timeoutMs)
    if (err !== null) return this.fail(new ProtocolError('E_REQ_FAILED', `REQ ${id} failed ${err}`))
    c.requeueCount++
    c.inFlightReleased(1)
    if (ch !== null) ch.pump()
    return true
  }

  private touch (params: string[]): boolean {
    const id = this.msgCommand('TOUCH', params, 2)
    if (id === null) return false
    const c = this.client
    const ch = c.channel
    const err = ch === null ? 'ID not in flight' : ch.touch(c.id, id, c.msgTimeoutMs)
    if (err !== null) return this.fail(new ProtocolError('E_TOUCH_FAILED', `TOUCH ${id} failed ${err}`))
    return true
  }

  private cls (): boolean {
    const c = this.client
    if (c.state !== STATE_SUBSCRIBED) return this.fatal('E_INVALID', 'cannot CLS in current state')
    c.readyCount = 0
    c.state = STATE_CLOSING
    c.sendFrame(FRAME_CLOSE_WAIT)
    return true
  }

  // ---- PUB / MPUB / DPUB -----------------------------------------------------------------------

  private prePub (params: string[]): boolean {
    if (params.length < 2) return this.fatal('E_INVALID', 'PUB insufficient number of parameters')
    const topicName = params[1] as string
    if (!isValidTopicName(topicName)) return this.fatal('E_BAD_TOPIC', `PUB topic name ${goQuoteBytes(topicName)} is not valid`)
    return true
  }

  private preDpub (params: string[]): boolean {
    if (params.length < 3) return this.fatal('E_INVALID', 'DPUB insufficient number of parameters')
    const topicName = params[1] as string
    if (!isValidTopicName(topicName)) return this.fatal('E_BAD_TOPIC', `DPUB topic name ${goQuoteBytes(topicName)} is not valid`)
    const token = params[2] as string
    const u = parseDecimal(token)
    if (u === -1) return this.fatal('E_INVALID', `DPUB could not parse timeout ${token}`)
    const max = deferCapMs(this.host.options)
    // as nsqd: the range check is on the wrapped int64 ns duration, the text shows the uint64 ms
    const ms = goDurationMs(u, max)
    if (ms === DURATION_NEGATIVE || ms === DURATION_TOO_LONG) return this.fatal('E_INVALID', `DPUB timeout ${u} out of range 0-${Math.floor(max)}`)
    this.dpubDeferMs = ms
    return true
  }

  private preMpub (params: string[]): boolean {
    if (params.length < 2) return this.fatal('E_INVALID', 'MPUB insufficient number of parameters')
    const topicName = params[1] as string
    if (!isValidTopicName(topicName)) return this.fatal('E_BAD_TOPIC', `E_BAD_TOPIC MPUB topic name ${goQuoteBytes(topicName)} is not valid`)
    if (this.authActive()) {
      const allowed = this.checkAuth('MPUB', topicName, '', () => this.preMpub(params))
      if (allowed !== true) return allowed === null
    }
    if (this.host.draining === true) return this.fatal('E_MPUB_FAILED', 'MPUB failed draining')
    const topic = this.host.getTopic(topicName)
    if (topic.exiting) return this.fatal('E_MPUB_FAILED', 'MPUB failed exiting')
    return true
  }

  private pub (params: string[], body: Buffer, deferMs: number): boolean {
    const verb = deferMs > 0 || params[0] === 'DPUB' ? 'DPUB' : 'PUB'
    const topicName = params[1] as string
    if (this.authActive()) {
      const allowed = this.checkAuth(verb, topicName, '', () => this.pub(params, body, deferMs))
      if (allowed !== true) return allowed === null
    }
    if (this.host.draining === true) return this.fatal(verb === 'PUB' ? 'E_PUB_FAILED' : 'E_DPUB_FAILED', `${verb} failed draining`)
    const topic = this.host.getTopic(topicName)
    const msg = topic.newMessage(body, nowNs(), deferMs)
    if (!topic.put(msg)) {
      return this.fatal(verb === 'PUB' ? 'E_PUB_FAILED' : 'E_DPUB_FAILED', `${verb} failed ${topic.failReason()}`)
    }
    this.client.countPub(topicName, 1)
    this.throttle()
    this.ack(verb === 'PUB' ? 'E_PUB_FAILED' : 'E_DPUB_FAILED', verb)
    return true
  }

  /**
   * OK for a publish; in durable mode only once its batch is synced (one promise per batch, so
   * acknowledgements keep their order), or the failure when that batch could not be written.
   */
  private ack (code: ErrorCode, verb: string): void {
    const durable = this.host.whenDurable()
    if (durable === null) {
      this.client.sendFrame(FRAME_OK)
      return
    }
    this.pendingAcks++
    durable.then(() => {
      this.pendingAcks--
      if (!this.client.closed) this.client.sendFrame(FRAME_OK)
      if (this.eof && this.pendingAcks === 0 && !this.waiting) this.finishEof()
    }, () => {
      this.pendingAcks--
      if (!this.client.closed) this.fatal(code, `${verb} failed write error`)
    })
  }

  private mpub (params: string[], bodies: Buffer[]): boolean {
    const topicName = params[1] as string
    if (this.host.draining === true) return this.fatal('E_MPUB_FAILED', 'MPUB failed draining')
    const topic = this.host.getTopic(topicName)
    const ts = nowNs()
    const msgs: Message[] = new Array(bodies.length)
    for (let i = 0; i < bodies.length; i++) msgs[i] = topic.newMessage(bodies[i] as Buffer, ts)
    if (!topic.putMany(msgs)) return this.fatal('E_MPUB_FAILED', `MPUB failed ${topic.failReason()}`)
    this.client.countPub(topicName, msgs.length)
    this.throttle()
    this.ack('E_MPUB_FAILED', 'MPUB')
    return true
  }
}
