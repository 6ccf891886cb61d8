// A browser connection (WebSocket or Server-Sent Events) as one of a channel's consumers. It
// follows ClientV2's accounting exactly (RDY window, in-flight count, FIN/REQ counters, the write
// deadline) so the channel, the queue scan and /stats treat it like any TCP consumer. Messages are
// formatted as they are handed over and written once per event-loop turn, like ClientV2's output.

import type { Socket } from 'node:net'
import type { Message } from '../core/message.js'
import { nowNs } from '../core/message.js'
import type { Channel, Consumer } from '../core/channel.js'
import type { AuthState } from '../auth.js'
import { STATE_INIT, STATE_SUBSCRIBED, STATE_CLOSING, hostPart } from '../tcp/client-v2.js'

export { STATE_INIT, STATE_SUBSCRIBED, STATE_CLOSING }

/** How messages are written: one text per message, all of a turn's texts at once. */
export interface GatewayTransport {
  /** 'websocket' or 'sse': the start of the user_agent /stats shows. */
  readonly kind: string
  /** Formats one message for the wire: a text, or (WebSocket binary form) bytes. */
  format (msg: Message): string | Buffer
  /** Writes the formatted messages; false when the socket's buffer is full (wait for 'drain'). */
  write (texts: Array<string | Buffer>): boolean
  /** Sends a keep-alive (WS ping, SSE comment). */
  heartbeat (): void
  /** Ends the connection at once. */
  destroy (): void
}

export interface GatewayClientHost {
  clientClosed (client: GatewayClient): void
  debug (msg: string): void
}

export class GatewayClient implements Consumer {
  readonly id: number
  readonly remoteAddress: string
  readonly connectTs = Date.now()
  /** The raw socket under the transport: its 'drain' reopens the window after a full buffer. */
  readonly socket: Socket
  private readonly transport: GatewayTransport
  private readonly host: GatewayClientHost

  state = STATE_INIT
  // the /stats fields of a TCP client
  clientId: string
  hostname: string
  userAgent: string
  readonly topologyRegion = ''
  readonly topologyZone = ''
  readonly msgTimeoutMs: number
  readonly sampleRate = 0
  readonly tls: boolean
  readonly snappy = false
  readonly deflate = false
  authed = false
  authIdentity = ''
  authIdentityUrl = ''
  readonly tlsVersion = ''
  readonly tlsCipherSuite = ''
  readonly heartbeatIntervalMs: number

  readyCount = 0
  inFlightCount = 0
  messageCount = 0
  finishCount = 0
  requeueCount = 0
  readonly pubCounts = new Map<string, number>()
  channel: Channel | null = null
  /** The auth server's answer, with --auth-http-address; null otherwise. */
  authState: AuthState | null = null
  /** SSE default: each message is finished once handed to the socket. */
  autoFinish = false

  closed = false
  private writable = true
  private pending: Array<string | Buffer> = []
  private pendingIds: string[] = []
  private flushScheduled = false
  private heartbeatTimer: NodeJS.Timeout | null = null
  private readTimer: NodeJS.Timeout | null = null
  private drainTimer: NodeJS.Timeout | null = null
  private readonly flushBound = (): void => { this.flushScheduled = false; this.flush() }
  private readonly onDrainBound = (): void => { this.onDrain() }
  private readonly onCloseBound = (): void => { this.cleanup() }

  constructor (id: number, socket: Socket, transport: GatewayTransport, host: GatewayClientHost, opts: { msgTimeoutMs: number, heartbeatIntervalMs: number, userAgent: string, tls: boolean, readDeadline: boolean }) {
    this.id = id
    this.socket = socket
    this.transport = transport
    this.host = host
    const addr = socket.remoteAddress ?? ''
    const port = socket.remotePort ?? 0
    this.remoteAddress = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
    const ip = hostPart(this.remoteAddress)
    this.clientId = ip
    this.hostname = ip
    this.userAgent = opts.userAgent === '' ? transport.kind : `${transport.kind} (${opts.userAgent})`
    this.tls = opts.tls
    this.msgTimeoutMs = opts.msgTimeoutMs
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs
    socket.on('drain', this.onDrainBound)
    socket.on('close', this.onCloseBound)
    const hb = opts.heartbeatIntervalMs
    if (hb > 0) {
      this.heartbeatTimer = setInterval(() => { if (!this.closed) this.transport.heartbeat() }, hb)
      this.heartbeatTimer.unref()
      if (opts.readDeadline) {
        // as a TCP client: nothing heard (a frame or a pong) for two intervals closes the connection
        this.readTimer = setTimeout(() => {
          this.host.debug(`GATEWAY: [${this.remoteAddress}] read timeout after ${2 * hb}ms, closing`)
          this.close()
        }, 2 * hb)
        this.readTimer.unref()
      }
    }
  }

  // ---- Consumer ---------------------------------------------------------------------------------

  canTake (): boolean {
    return this.state === STATE_SUBSCRIBED && this.writable && this.inFlightCount < this.readyCount
  }

  sendMessage (msg: Message): void {
    this.inFlightCount++
    this.messageCount++
    this.pending.push(this.transport.format(msg))
    if (this.autoFinish) this.pendingIds.push(msg.id)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flushBound)
    }
  }

  inFlightReleased (count: number): void {
    this.inFlightCount = count === Infinity ? 0 : Math.max(0, this.inFlightCount - count)
  }

  closeForDelete (): void {
    this.channel = null
    this.close()
  }

  // ---- FIN / REQ / TOUCH (null or the failure reason, as Channel answers) -----------------------

  finish (id: string): string | null {
    const ch = this.channel
    const err = ch === null ? 'ID not in flight' : ch.finish(this.id, id, nowNs())
    if (err !== null) return err
    this.finishCount++
    this.inFlightReleased(1)
    if (ch !== null) ch.pump()
    return null
  }

  requeue (id: string, delayMs: number): string | null {
    const ch = this.channel
    const err = ch === null ? 'ID not in flight' : ch.requeue(this.id, id, delayMs)
    if (err !== null) return err
    this.requeueCount++
    this.inFlightReleased(1)
    if (ch !== null) ch.pump()
    return null
  }

  touch (id: string): string | null {
    const ch = this.channel
    return ch === null ? 'ID not in flight' : ch.touch(this.id, id, this.msgTimeoutMs)
  }

  setReady (count: number): void {
    this.readyCount = count
    if (this.channel !== null) this.channel.pump()
  }

  /** Something arrived from the peer: the read deadline starts again. */
  seen (): void {
    if (this.readTimer !== null) this.readTimer.refresh()
  }

  /** Records the auth server's answer (shown in /stats). */
  setAuth (state: AuthState): void {
    this.authState = state
    this.authed = state.authorizations.length > 0
    this.authIdentity = state.identity
    this.authIdentityUrl = state.identityUrl
  }

  countPub (topic: string, n: number): void {
    this.pubCounts.set(topic, (this.pubCounts.get(topic) ?? 0) + n)
  }

  // ---- output -----------------------------------------------------------------------------------

  flush (): void {
    const texts = this.pending
    if (texts.length === 0 || this.closed) { texts.length = 0; this.pendingIds.length = 0; return }
    this.pending = []
    const ok = this.transport.write(texts)
    if (this.pendingIds.length > 0) {
      // finished once written: the socket has the bytes
      const ids = this.pendingIds
      this.pendingIds = []
      for (let i = 0; i < ids.length; i++) this.finish(ids[i] as string)
    }
    if (!ok && this.writable) {
      this.writable = false
      // the TCP write deadline: a reader that does not drain within a heartbeat interval is gone,
      // and its in-flight messages go back to the channel when their timeout passes
      const limit = this.heartbeatIntervalMs
      if (limit > 0) {
        this.drainTimer = setTimeout(() => {
          this.host.debug(`GATEWAY: [${this.remoteAddress}] write timeout, closing`)
          this.close()
        }, limit)
        this.drainTimer.unref()
      }
    }
  }

  private onDrain (): void {
    if (this.writable) return
    this.writable = true
    if (this.drainTimer !== null) { clearTimeout(this.drainTimer); this.drainTimer = null }
    if (this.channel !== null) this.channel.pump()
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  close (): void {
    if (this.closed) return
    this.transport.destroy()
    this.cleanup()
  }

  cleanup (): void {
    if (this.closed) return
    this.closed = true
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    if (this.readTimer !== null) clearTimeout(this.readTimer)
    if (this.drainTimer !== null) clearTimeout(this.drainTimer)
    this.heartbeatTimer = this.readTimer = this.drainTimer = null
    this.socket.off('drain', this.onDrainBound)
    this.socket.off('close', this.onCloseBound)
    this.pending.length = 0
    this.pendingIds.length = 0
    const ch = this.channel
    this.channel = null
    if (ch !== null) ch.removeConsumer(this)
    this.host.clientClosed(this)
  }
}

/** A message as the JSON object both transports send. */
export function messageJson (msg: Message, base64: boolean): string {
  return JSON.stringify({
    type: 'msg',
    id: msg.id,
    attempts: msg.attempts,
    timestamp: Math.floor(msg.timestamp / 1e6),
    body: msg.body.toString(base64 ? 'base64' : 'utf8')
  })
}
