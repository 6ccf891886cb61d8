// The WebSocket side of the gateway: JSON text frames in both directions (README "Browser
// gateway" documents them). Commands mirror the V2 TCP protocol: sub, rdy, fin, req, touch, cls,
// pub, mpub. Validation and error texts follow TCP's; errors that are fatal on TCP (bad state, bad
// names on sub, bad RDY count, bad message id) send an error frame and close the socket (1008),
// FIN/REQ/TOUCH failures and every publish failure are answered and leave it open.

import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { WebSocket, RawData } from 'ws'
import { isValidTopicName, isValidChannelName, goQuoteBytes } from '../../client/wire/names.js'
import { MESSAGE_ID_LENGTH, MESSAGE_HEADER_SIZE, writeMessageHeader } from '../../client/wire/message.js'
import { nowNs, type Message } from '../core/message.js'
import { GatewayClient, messageJson, STATE_INIT, STATE_SUBSCRIBED, STATE_CLOSING, type GatewayTransport } from './client.js'
import type { Gateway } from './gateway.js'
import type { AuthState } from '../auth.js'
import type { PushSink } from './user-push.js'
import type { Message as ClientMessage } from '../../client/message.js'
import { GoQuery } from '../../client/daemon/query.js'

class WsTransport implements GatewayTransport {
  readonly kind = 'websocket'
  base64 = false
  /** Binary form: each message a binary frame laid out as NSQ's message (see README). */
  binary = false
  private readonly ws: WebSocket
  private readonly socket: Socket
  constructor (ws: WebSocket, socket: Socket) {
    this.ws = ws
    this.socket = socket
  }

  format (msg: Message): string | Buffer {
    if (!this.binary) return messageJson(msg, this.base64)
    const body = msg.body
    const out = Buffer.allocUnsafe(MESSAGE_HEADER_SIZE + body.length)
    writeMessageHeader(out, 0, msg.timestamp, msg.attempts, msg.id)
    body.copy(out, MESSAGE_HEADER_SIZE)
    return out
  }

  write (texts: Array<string | Buffer>): boolean {
    const ws = this.ws
    if (ws.readyState !== ws.OPEN) return true
    for (let i = 0; i < texts.length; i++) ws.send(texts[i] as string | Buffer)
    return !this.socket.writableNeedDrain
  }

  heartbeat (): void { if (this.ws.readyState === this.ws.OPEN) this.ws.ping() }
  destroy (): void { this.ws.terminate() }
}

type Frame = Record<string, unknown>

class WsSession implements PushSink {
  readonly client: GatewayClient
  private readonly transport: WsTransport
  private pendingAcks = 0
  /** The upgrade request's URL (its auth_secret is asked about again when the answer expires). */
  private readonly url: string
  /** Frames that arrived while the auth server was being asked again; handled in order after. */
  private backlog: Frame[] | null = null

  private readonly gw: Gateway
  private readonly ws: WebSocket

  constructor (gw: Gateway, ws: WebSocket, req: IncomingMessage, socket: Socket, auth: AuthState | null) {
    this.gw = gw
    this.ws = ws
    this.url = req.url ?? ''
    const o = gw.nsqd.options
    this.transport = new WsTransport(ws, socket)
    this.client = new GatewayClient(gw.nsqd.nextClientId(), socket, this.transport, gw, {
      msgTimeoutMs: o.msgTimeoutMs,
      heartbeatIntervalMs: o.clientTimeoutMs / 2,
      userAgent: req.headers['user-agent'] ?? '',
      tls: 'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted === true,
      readDeadline: true
    })
    if (auth !== null) this.client.setAuth(auth)
    gw.register(this.client)
    // --gateway-user-push: messages for user.<identity> from anywhere in the cluster
    const push = gw.userPush
    if (push !== null && auth !== null && auth.identity !== '') {
      const identity = auth.identity
      push.add(identity, GoQuery.fromUrl(this.url)?.get('auth_secret') ?? '', this)
      ws.on('close', () => { push.remove(identity, this) })
    }
    ws.on('message', (data, isBinary) => { this.onMessage(data, isBinary) })
    ws.on('pong', () => { this.client.seen() })
    ws.on('close', () => { this.client.cleanup() })
    ws.on('error', () => { this.client.close() })
  }

  /** A message of user.<identity>, pushed as a "push" frame; false when the socket is not open. */
  push (topic: string, msg: ClientMessage<Buffer>): boolean {
    if (this.ws.readyState !== this.ws.OPEN || this.client.closed) return false
    this.ws.send(JSON.stringify({
      type: 'push',
      topic,
      id: msg.id,
      attempts: msg.attempts,
      timestamp: Math.floor(msg.timestamp / 1e6),
      body: msg.body.toString(this.transport.base64 ? 'base64' : 'utf8')
    }))
    return true
  }

  private send (frame: Frame): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame))
  }

  private fatal (code: string, message: string, ref: unknown): void {
    this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
    this.ws.close(1008, code)
    this.client.cleanup()
  }

  private fail (code: string, message: string, ref: unknown): void {
    this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  }

  private onMessage (data: RawData, isBinary: boolean): void {
    const c = this.client
    c.seen()
    if (c.closed) return
    let f: unknown
    try {
      f = isBinary ? undefined : JSON.parse(data.toString())
    } catch {}
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return this.fatal('E_INVALID', 'invalid frame: a JSON object is expected', undefined)
    const frame = f as Frame
    if (this.backlog !== null) { this.backlog.push(frame); return }
    this.dispatch(frame)
  }

  private dispatch (frame: Frame): void {
    const ref = frame.ref
    switch (frame.op) {
      case 'sub': return this.sub(frame, ref)
      case 'rdy': return this.rdy(frame, ref)
      case 'fin': return this.msgOp('FIN', frame, ref)
      case 'req': return this.msgOp('REQ', frame, ref)
      case 'touch': return this.msgOp('TOUCH', frame, ref)
      case 'cls': return this.cls(ref)
      case 'pub': return this.pub(frame, ref)
      case 'mpub': return this.mpub(frame, ref)
      case 'nop': return
      default: return this.fatal('E_INVALID', `invalid command ${String(frame.op)}`, ref)
    }
  }

  /**
   * With --auth-http-address, as TCP's check of SUB/PUB/MPUB/DPUB: true when allowed; false after
   * an error (fatal for SUB, answered for publishes); null when the answer expired and the auth
   * server is asked again, after which this frame and those that came meanwhile are handled.
   */
  private allowed (verb: string, topic: string, channel: string, f: Frame): boolean | null {
    const c = this.client
    const state = c.authState
    if (state === null) return true
    if (state.isExpired(Date.now())) {
      this.backlog = [f]
      this.gw.reauthenticate(this.url, c.socket).then((next) => {
        if (c.closed) return
        c.setAuth(next)
        const list = this.backlog ?? []
        this.backlog = null
        for (let i = 0; i < list.length; i++) {
          if (c.closed) return
          if (this.backlog !== null) { (this.backlog as Frame[]).push(...list.slice(i)); return }
          this.dispatch(list[i] as Frame)
        }
      }, (err: Error) => {
        if (c.closed) return
        this.gw.nsqd.logger.warn(`GATEWAY: [${c.remoteAddress}] AUTH failed - ${err.message}`)
        this.fatal('E_AUTH_FAILED', 'AUTH failed', f.ref)
      })
      return null
    }
    if (state.isAllowed(topic, channel)) return true
    const message = `AUTH failed for ${verb} on ${goQuoteBytes(topic)} ${goQuoteBytes(channel)}`
    if (verb === 'SUB') this.fatal('E_UNAUTHORIZED', message, f.ref)
    else this.fail('E_UNAUTHORIZED', message, f.ref)
    return false
  }

  private sub (f: Frame, ref: unknown): void {
    const c = this.client
    if (c.state !== STATE_INIT) return this.fatal('E_INVALID', 'cannot SUB in current state', ref)
    const topicName = f.topic
    const channelName = f.channel
    if (typeof topicName !== 'string' || typeof channelName !== 'string') return this.fatal('E_INVALID', 'SUB insufficient number of parameters', ref)
    if (!isValidTopicName(topicName)) return this.fatal('E_BAD_TOPIC', `SUB topic name ${goQuoteBytes(topicName)} is not valid`, ref)
    if (!isValidChannelName(channelName)) return this.fatal('E_BAD_CHANNEL', `SUB channel name ${goQuoteBytes(channelName)} is not valid`, ref)
    let rdy = 0
    if (f.rdy !== undefined) {
      const r = this.rdyCount(f.rdy, ref)
      if (r < 0) return
      rdy = r
    }
    if (this.allowed('SUB', topicName, channelName, f) !== true) return
    this.transport.base64 = f.encoding === 'base64'
    this.transport.binary = f.format === 'binary'
    if (this.gw.nsqd.draining) return this.fatal('E_SUB_FAILED', 'SUB failed draining', ref)
    const topic = this.gw.nsqd.getTopic(topicName)
    if (topic.exiting) return this.fatal('E_SUB_FAILED', 'SUB failed exiting', ref)
    const channel = topic.getChannel(channelName)
    const err = channel.addConsumer(c)
    if (err !== null) return this.fatal('E_SUB_FAILED', `SUB failed ${err}`, ref)
    c.state = STATE_SUBSCRIBED
    c.channel = channel
    this.send(ref === undefined ? { type: 'ok', op: 'sub' } : { type: 'ok', op: 'sub', ref })
    if (rdy > 0) c.setReady(rdy)
  }

  /** A valid RDY count, or -1 after a fatal error. */
  private rdyCount (v: unknown, ref: unknown): number {
    const max = this.gw.nsqd.options.maxRdyCount
    if (typeof v !== 'number' || !Number.isInteger(v)) { this.fatal('E_INVALID', `RDY could not parse count ${String(v)}`, ref); return -1 }
    if (v < 0 || v > max) { this.fatal('E_INVALID', `RDY count ${v} out of range 0-${max}`, ref); return -1 }
    return v
  }

  private rdy (f: Frame, ref: unknown): void {
    const c = this.client
    if (c.state === STATE_CLOSING) return
    if (c.state !== STATE_SUBSCRIBED) return this.fatal('E_INVALID', 'cannot RDY in current state', ref)
    const n = this.rdyCount(f.count ?? 1, ref)
    if (n >= 0) c.setReady(n)
  }

  private msgOp (verb: 'FIN' | 'REQ' | 'TOUCH', f: Frame, ref: unknown): void {
    const c = this.client
    if (c.state !== STATE_SUBSCRIBED && c.state !== STATE_CLOSING) return this.fatal('E_INVALID', `cannot ${verb} in current state`, ref)
    const id = f.id
    if (typeof id !== 'string' || id.length !== MESSAGE_ID_LENGTH) return this.fatal('E_INVALID', 'invalid message ID', ref)
    let err: string | null
    if (verb === 'FIN') {
      err = c.finish(id)
    } else if (verb === 'TOUCH') {
      err = c.touch(id)
    } else {
      const delay = f.delay ?? 0
      if (typeof delay !== 'number' || !Number.isInteger(delay)) return this.fatal('E_INVALID', `REQ could not parse timeout ${String(delay)}`, ref)
      // as TCP: a negative delay requeues at once, a long one is clamped
      const max = this.gw.nsqd.options.maxReqTimeoutMs
      err = c.requeue(id, delay < 0 ? 0 : delay > max ? max : delay)
    }
    if (err !== null) return this.fail(`E_${verb}_FAILED`, `${verb} ${id} failed ${err}`, ref)
    if (ref !== undefined) this.send({ type: 'ok', op: verb.toLowerCase(), ref })
  }

  private cls (ref: unknown): void {
    const c = this.client
    if (c.state !== STATE_SUBSCRIBED) return this.fatal('E_INVALID', 'cannot CLS in current state', ref)
    c.readyCount = 0
    c.state = STATE_CLOSING
    this.send(ref === undefined ? { type: 'close_wait' } : { type: 'close_wait', ref })
  }

  /** A body from a frame: text as UTF-8, or base64 when `encoding` says so; a string is an error. */
  private body (v: unknown, base64: boolean, verb: string): Buffer | string {
    if (typeof v !== 'string') return `${verb} body must be a string`
    const b = Buffer.from(v, base64 ? 'base64' : 'utf8')
    const max = this.gw.nsqd.options.maxMsgSize
    if (b.length === 0) return `${verb} invalid message body size 0`
    if (b.length > max) return `${verb} message too big ${b.length} > ${max}`
    return b
  }

  private pub (f: Frame, ref: unknown): void {
    const topicName = f.topic
    const deferMs = f.defer ?? 0
    const verb = deferMs !== 0 ? 'DPUB' : 'PUB'
    if (typeof topicName !== 'string' || !isValidTopicName(topicName)) return this.fail('E_BAD_TOPIC', `${verb} topic name ${goQuoteBytes(String(topicName))} is not valid`, ref)
    const max = this.gw.nsqd.options.maxReqTimeoutMs
    if (typeof deferMs !== 'number' || !Number.isInteger(deferMs) || deferMs < 0 || deferMs > max) return this.fail('E_INVALID', `DPUB timeout ${String(deferMs)} out of range 0-${max}`, ref)
    const body = this.body(f.body, f.encoding === 'base64', verb)
    if (typeof body === 'string') return this.fail('E_BAD_MESSAGE', body, ref)
    if (this.allowed(verb, topicName, '', f) !== true) return
    if (this.gw.nsqd.draining) return this.fail(`E_${verb}_FAILED`, `${verb} failed draining`, ref)
    const topic = this.gw.nsqd.getTopic(topicName)
    if (!topic.put(topic.newMessage(body, nowNs(), deferMs))) return this.fail(`E_${verb}_FAILED`, `${verb} failed ${topic.failReason()}`, ref)
    this.client.countPub(topicName, 1)
    this.ack(verb, ref)
  }

  private mpub (f: Frame, ref: unknown): void {
    const topicName = f.topic
    if (typeof topicName !== 'string' || !isValidTopicName(topicName)) return this.fail('E_BAD_TOPIC', `E_BAD_TOPIC MPUB topic name ${goQuoteBytes(String(topicName))} is not valid`, ref)
    const bodies = f.bodies
    if (!Array.isArray(bodies) || bodies.length === 0) return this.fail('E_BAD_BODY', 'MPUB invalid body size 0', ref)
    if (this.allowed('MPUB', topicName, '', f) !== true) return
    const base64 = f.encoding === 'base64'
    if (this.gw.nsqd.draining) return this.fail('E_MPUB_FAILED', 'MPUB failed draining', ref)
    const topic = this.gw.nsqd.getTopic(topicName)
    const ts = nowNs()
    const msgs: Message[] = new Array(bodies.length)
    for (let i = 0; i < bodies.length; i++) {
      const b = this.body(bodies[i], base64, 'MPUB')
      if (typeof b === 'string') return this.fail('E_BAD_MESSAGE', b.replace('MPUB invalid message body', `MPUB invalid message(${i}) body`), ref)
      msgs[i] = topic.newMessage(b, ts)
    }
    if (!topic.putMany(msgs)) return this.fail('E_MPUB_FAILED', `MPUB failed ${topic.failReason()}`, ref)
    this.client.countPub(topicName, msgs.length)
    this.ack('MPUB', ref)
  }

  /** The acknowledgement of a publish; in durable mode once it is on disk, as TCP's OK. */
  private ack (verb: string, ref: unknown): void {
    const frame = ref === undefined ? { type: 'ack' } : { type: 'ack', ref }
    const durable = this.gw.nsqd.whenDurable()
    if (durable === null) { this.send(frame); return }
    this.pendingAcks++
    durable.then(() => {
      this.pendingAcks--
      this.send(frame)
    }, () => {
      this.pendingAcks--
      this.fail(`E_${verb}_FAILED`, `${verb} failed write error`, ref)
    })
  }
}

export function acceptWebSocket (gw: Gateway, ws: WebSocket, req: IncomingMessage, socket: Socket, auth: AuthState | null): void {
  const s = new WsSession(gw, ws, req, socket, auth)
  s.client.seen()
}
