// Consumer: subscribes to one topic/channel on direct nsqd addresses and/or every nsqd that the
// lookupds list, spreads max-in-flight over the connections (rdy.ts), backs off on failures, and
// reconnects. Messages go to a handler (auto FIN on return, REQ on throw) or to `for await`.
// close() sends CLS everywhere, requeues what was not handed out, and waits for in-flight messages.

import type { LookupFunction } from 'node:net'
import { EventEmitter } from 'node:events'
import { Connection, defaultConnectionOptions, openConnection } from './connection.js'
import type { ConnectionOptions } from './connection.js'
import { Message } from './message.js'
import type { MessageOwner } from './message.js'
import { RdyController } from './rdy.js'
import type { RdyConn } from './rdy.js'
import { reconnectDelayMs } from './backoff.js'
import type { BackoffStrategy } from './backoff.js'
import { lookupAll } from './lookup.js'
import { decodeBody } from './codec.js'
import type { BodyDecoder } from './codec.js'
import { NsqClientError } from './errors.js'
import type { ProtocolError } from './wire/errors.js'
import { isValidChannelName, isValidTopicName, goQuote } from './wire/names.js'
import { dialTcp } from './node-transport.js'
import { nodeUpgrader } from './node-upgrade.js'
import type { Dialer } from './transport.js'
import { consoleLogger } from './logger.js'
import type { Logger } from './logger.js'
import { Fifo } from './out-buffer.js'

export type MessageHandler<T> = (msg: Message<T>) => void | Promise<void>
export type GiveUpReason = 'max-attempts' | 'decode'

export interface ConsumerOptions<T = Buffer> extends ConnectionOptions {
  topic: string
  channel: string
  nsqdTcpAddresses: string[]
  lookupdHttpAddresses: string[]
  /** Total unacknowledged messages across all connections. */
  maxInFlight: number
  /** Messages delivered more often than this are given up (0: never). */
  maxAttempts: number
  /** Default requeue delay = requeueDelayMs × attempts, capped at maxRequeueDelayMs. */
  requeueDelayMs: number
  maxRequeueDelayMs: number
  backoffMultiplierMs: number
  /** 0 disables backoff. */
  maxBackoffMs: number
  backoffStrategy: BackoffStrategy
  lookupdPollIntervalMs: number
  /** Fraction of the interval added at random before each poll. */
  lookupdPollJitter: number
  lookupdTimeoutMs: number
  /** Resolves lookupd host names at every poll (dns.lookup's signature); null = dns.lookup. */
  lookupdDnsLookup: LookupFunction | null
  connectTimeoutMs: number
  reconnectMinMs: number
  reconnectMaxMs: number
  rdyRedistributeIntervalMs: number
  lowRdyIdleTimeoutMs: number
  lowRdyTimeoutMs: number
  /** A lowered RDY keeps counting against max-in-flight this long (messages may be in transit). */
  rdySettleMs: number
  /** FIN a message when the handler returns without responding. */
  autoFinish: boolean
  /** TOUCH messages still being handled at half their timeout. */
  autoTouch: boolean
  /** How bodies are decoded into `message.data` before the handler sees them. */
  decode: BodyDecoder
  /** close() waits at most this long for in-flight messages. */
  closeTimeoutMs: number
  /** Close connections to nsqds that no lookupd lists any more (default: keep them, as NSQ does). */
  closeUnlisted: boolean
  handler: MessageHandler<T> | null
  /** Called for messages given up on (too many attempts, undecodable); FIN follows its return. */
  onGiveUp: ((msg: Message<T>, reason: GiveUpReason, err: Error | null) => void | Promise<void>) | null
  logger: Logger
  dial: Dialer
}

export function defaultConsumerOptions<T = Buffer> (): ConsumerOptions<T> {
  return {
    ...defaultConnectionOptions(),
    topic: '',
    channel: '',
    nsqdTcpAddresses: [],
    lookupdHttpAddresses: [],
    maxInFlight: 1,
    maxAttempts: 0,
    requeueDelayMs: 90_000,
    maxRequeueDelayMs: 15 * 60_000,
    backoffMultiplierMs: 1000,
    maxBackoffMs: 120_000,
    backoffStrategy: 'exponential',
    lookupdPollIntervalMs: 60_000,
    lookupdPollJitter: 0.3,
    lookupdTimeoutMs: 5000,
    lookupdDnsLookup: null,
    connectTimeoutMs: 2000,
    reconnectMinMs: 1000,
    reconnectMaxMs: 60_000,
    rdyRedistributeIntervalMs: 5000,
    lowRdyIdleTimeoutMs: 10_000,
    lowRdyTimeoutMs: 30_000,
    rdySettleMs: 200,
    autoFinish: true,
    autoTouch: false,
    decode: 'raw',
    closeTimeoutMs: 30_000,
    closeUnlisted: false,
    handler: null,
    onGiveUp: null,
    logger: consoleLogger('warn'),
    dial: dialTcp,
    upgrader: nodeUpgrader
  }
}

/** Per-connection state: RDY bookkeeping and the owner of the messages it delivered. */
class ConsumerConn<T> implements RdyConn, MessageOwner {
  readonly address: string
  readonly conn: Connection
  readonly consumer: Consumer<T>
  rdy = 0
  inFlight = 0
  maxRdy = 2500
  lastMsgAtMs = 0
  rdyChangedAtMs = 0
  prevRdy = 0
  settleUntilMs = 0
  /** CLS sent. */
  closing = false

  constructor (consumer: Consumer<T>, conn: Connection) {
    this.consumer = consumer
    this.conn = conn
    this.address = conn.address
    this.maxRdy = conn.identity?.maxRdyCount ?? 2500
  }

  respond (msg: Message, requeue: boolean, delayMs: number, backoff: boolean): void {
    this.consumer.respond(this, msg as Message<T>, requeue, delayMs, backoff)
  }

  touch (msg: Message): void {
    this.conn.command('TOUCH ' + msg.id)
  }

  requeueDelayMs (attempts: number): number {
    return this.consumer.defaultRequeueDelayMs(attempts)
  }
}

class ConsumerNode<T> {
  readonly address: string
  /** Given as an nsqd address (never dropped) rather than found through lookupd. */
  readonly direct: boolean
  listed = false
  cc: ConsumerConn<T> | null = null
  connecting = false
  failures = 0
  timer: NodeJS.Timeout | null = null

  constructor (address: string, direct: boolean) {
    this.address = address
    this.direct = direct
  }
}

export interface ConsumerStats {
  connections: number
  received: number
  finished: number
  requeued: number
  /** Handed to the handler/iterator (or queued for it) and not yet responded. */
  inFlight: number
  backoffLevel: number
}

export interface Consumer<T> {
  on (event: 'error', listener: (err: Error) => void): this
  on (event: 'connected', listener: (address: string) => void): this
  on (event: 'disconnected', listener: (address: string, err: Error | null) => void): this
  on (event: 'giveUp', listener: (msg: Message<T>, reason: GiveUpReason, err: Error | null) => void): this
  on (event: 'backoff', listener: (level: number, waitMs: number) => void): this
}

export class Consumer<T = Buffer> extends EventEmitter {
  readonly options: ConsumerOptions<T>
  readonly topic: string
  readonly channel: string
  private readonly nodes = new Map<string, ConsumerNode<T>>()
  private readonly rdyc: RdyController<ConsumerConn<T>>
  private handler: MessageHandler<T> | null
  private started = false
  private closing = false
  private closePromise: Promise<void> | null = null
  private processing = 0
  private drainWaiters: Array<() => void> = []
  private received = 0
  private finished = 0
  private requeued = 0
  private pollTimer: NodeJS.Timeout | null = null
  private pollSoonTimer: NodeJS.Timeout | null = null
  private polling: Promise<void> | null = null
  private redistributeTimer: NodeJS.Timeout | null = null
  private backoffTimer: NodeJS.Timeout | null = null
  private touchTimer: NodeJS.Timeout | null = null
  private rebalanceScheduled = false
  private settleTimer: NodeJS.Timeout | null = null
  private readonly touching = new Set<Message<T>>()
  // async iteration
  private readonly queue = new Fifo<Message<T>>()
  private waiter: ((r: IteratorResult<Message<T>>) => void) | null = null
  private current: Message<T> | null = null

  constructor (options: Partial<ConsumerOptions<T>> & { topic: string, channel: string }) {
    super()
    const o = { ...defaultConsumerOptions<T>(), ...options }
    if (!isValidTopicName(o.topic)) throw new NsqClientError('INVALID_ARGUMENT', `topic name ${goQuote(o.topic)} is not valid`)
    if (!isValidChannelName(o.channel)) throw new NsqClientError('INVALID_ARGUMENT', `channel name ${goQuote(o.channel)} is not valid`)
    if (o.nsqdTcpAddresses.length === 0 && o.lookupdHttpAddresses.length === 0) {
      throw new NsqClientError('INVALID_ARGUMENT', 'Consumer needs nsqdTcpAddresses or lookupdHttpAddresses')
    }
    if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 0) throw new NsqClientError('INVALID_ARGUMENT', `maxInFlight must be an integer >= 0, got ${o.maxInFlight}`)
    this.options = o
    this.topic = o.topic
    this.channel = o.channel
    this.handler = o.handler
    this.rdyc = new RdyController<ConsumerConn<T>>({
      maxInFlight: o.maxInFlight,
      lowRdyIdleTimeoutMs: o.lowRdyIdleTimeoutMs,
      lowRdyTimeoutMs: o.lowRdyTimeoutMs,
      settleMs: o.rdySettleMs,
      backoff: { backoffMultiplierMs: o.backoffMultiplierMs, maxBackoffMs: o.maxBackoffMs, backoffStrategy: o.backoffStrategy },
      sendRdy: (cc, n) => { if (!cc.closing) cc.conn.command('RDY ' + n) }
    })
  }

  /** Sets the message handler (before connect()). Without one, iterate the consumer instead. */
  handle (handler: MessageHandler<T>): this {
    this.handler = handler
    return this
  }

  /**
   * Starts consuming. Resolves once the first connection round is done. Rejects when only direct
   * addresses are configured and none could be reached; the consumer keeps retrying them in the
   * background until close().
   */
  async connect (): Promise<void> {
    if (this.started) return
    this.started = true
    const o = this.options
    this.redistributeTimer = setInterval(() => {
      this.rdyc.tick(Date.now())
      this.armSettleTimer()
    }, o.rdyRedistributeIntervalMs)
    this.redistributeTimer.unref()
    const dials: Array<Promise<boolean>> = []
    for (const addr of o.nsqdTcpAddresses) {
      const node = new ConsumerNode<T>(addr, true)
      this.nodes.set(addr, node)
      dials.push(this.dial(node))
    }
    if (o.lookupdHttpAddresses.length > 0) {
      dials.push(this.poll().then(() => true))
      this.schedulePoll()
    }
    const results = await Promise.all(dials)
    if (o.lookupdHttpAddresses.length === 0 && !results.some((ok) => ok) && !this.closing) {
      throw new NsqClientError('CONNECT_FAILED', `could not connect to any nsqd (${o.nsqdTcpAddresses.join(', ')})`)
    }
  }

  // ---- connections ------------------------------------------------------------------------------

  private dial (node: ConsumerNode<T>): Promise<boolean> {
    if (node.connecting || node.cc !== null || this.closing) return Promise.resolve(node.cc !== null)
    node.connecting = true
    const o = this.options
    let cc: ConsumerConn<T> | null = null
    const events = {
      onMessage: (data: Buffer) => { if (cc !== null) this.onMessage(cc, data) },
      onNonFatalError: (err: ProtocolError) => { this.reportError(err) },
      onClose: (err: Error | null) => { if (cc !== null) this.onConnClose(node, cc, err) }
    }
    return openConnection(node.address, o.dial, o.connectTimeoutMs, o, events)
      .then(async (conn) => {
        try {
          await conn.requestAsync(`SUB ${this.topic} ${this.channel}`)
        } catch (err) {
          conn.destroy(err as Error)
          throw err
        }
        return conn
      })
      .then((conn) => {
        node.connecting = false
        if (this.closing || (!node.direct && !node.listed && o.closeUnlisted)) {
          conn.close()
          return false
        }
        node.failures = 0
        cc = new ConsumerConn<T>(this, conn)
        node.cc = cc
        this.rdyc.add(cc, Date.now())
        this.armSettleTimer()
        if (o.autoTouch) this.startTouchTimer(conn.identity?.msgTimeoutMs ?? 60_000)
        o.logger.info(`CONSUMER(${this.topic}/${this.channel}): connected to ${node.address}`)
        this.emit('connected', node.address)
        return true
      }, (err: Error) => {
        node.connecting = false
        this.reportError(err)
        this.scheduleReconnect(node)
        return false
      })
  }

  private onConnClose (node: ConsumerNode<T>, cc: ConsumerConn<T>, err: Error | null): void {
    if (node.cc !== cc) return
    node.cc = null
    this.rdyc.remove(cc, Date.now())
    this.armSettleTimer()
    this.emit('disconnected', node.address, err)
    if (this.closing) {
      this.checkDrained()
      return
    }
    if (err !== null) this.reportError(err)
    this.scheduleReconnect(node)
    if (this.options.lookupdHttpAddresses.length > 0) this.pollSoon()
  }

  private scheduleReconnect (node: ConsumerNode<T>): void {
    if (this.closing || node.timer !== null) return
    if (!node.direct && !node.listed) {
      this.nodes.delete(node.address)
      return
    }
    node.failures++
    const delay = reconnectDelayMs(node.failures, this.options.reconnectMinMs, this.options.reconnectMaxMs)
    this.options.logger.info(`CONSUMER(${this.topic}/${this.channel}): reconnecting to ${node.address} in ${delay}ms`)
    node.timer = setTimeout(() => {
      node.timer = null
      if (this.closing || (!node.direct && !node.listed)) return
      void this.dial(node)
    }, delay)
  }

  // ---- discovery --------------------------------------------------------------------------------

  private schedulePoll (): void {
    if (this.closing) return
    const o = this.options
    const delay = o.lookupdPollIntervalMs * (1 + Math.random() * o.lookupdPollJitter)
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null
      void this.poll().finally(() => { this.schedulePoll() })
    }, delay)
  }

  /** Re-polls shortly (after a connection loss), once per burst. */
  private pollSoon (): void {
    if (this.pollSoonTimer !== null || this.closing) return
    this.pollSoonTimer = setTimeout(() => {
      this.pollSoonTimer = null
      void this.poll()
    }, 100)
    this.pollSoonTimer.unref()
  }

  /** Asks every lookupd now and connects to new producers. */
  poll (): Promise<void> {
    if (this.polling !== null) return this.polling
    const o = this.options
    this.polling = lookupAll(o.lookupdHttpAddresses, this.topic, { timeoutMs: o.lookupdTimeoutMs, ...(o.lookupdDnsLookup !== null ? { dnsLookup: o.lookupdDnsLookup } : {}) }).then(async (res) => {
      for (const e of res.errors) this.reportError(e)
      if (!res.ok || this.closing) return
      const dials: Array<Promise<boolean>> = []
      for (const addr of res.producers.keys()) {
        let node = this.nodes.get(addr)
        if (node === undefined) {
          node = new ConsumerNode<T>(addr, false)
          this.nodes.set(addr, node)
        }
        node.listed = true
        if (node.cc === null && !node.connecting && node.timer === null) dials.push(this.dial(node))
      }
      for (const node of [...this.nodes.values()]) {
        if (node.direct || res.producers.has(node.address)) continue
        node.listed = false
        if (node.timer !== null) { clearTimeout(node.timer); node.timer = null }
        if (node.cc === null) {
          if (!node.connecting) this.nodes.delete(node.address)
        } else if (o.closeUnlisted) {
          this.closeConn(node.cc)
        }
      }
      await Promise.all(dials)
    }).finally(() => { this.polling = null })
    return this.polling
  }

  /** The nsqd addresses with an open, subscribed connection. */
  get connectedAddresses (): string[] {
    const out: string[] = []
    for (const n of this.nodes.values()) if (n.cc !== null) out.push(n.address)
    return out
  }

  // ---- messages ---------------------------------------------------------------------------------

  private onMessage (cc: ConsumerConn<T>, data: Buffer): void {
    const now = Date.now()
    let msg: Message<T>
    try {
      msg = new Message<T>(cc, data, now)
    } catch (err) {
      cc.conn.destroy(err as Error)
      return
    }
    cc.inFlight++
    cc.lastMsgAtMs = now
    this.processing++
    this.received++
    if (this.closing || cc.closing) {
      msg.requeue(0, { backoff: false })
      return
    }
    const max = this.options.maxAttempts
    if (max > 0 && msg.attempts > max) {
      this.giveUp(msg, 'max-attempts', null)
      return
    }
    if (this.options.decode !== 'raw') {
      try {
        msg.data = decodeBody(msg.body, this.options.decode, msg.id) as T
      } catch (err) {
        this.onDecodeError(msg, err as Error)
        return
      }
    }
    if (this.options.autoTouch) this.touching.add(msg)
    const h = this.handler
    if (h !== null) {
      this.runHandler(h, msg)
    } else if (this.waiter !== null) {
      const w = this.waiter
      this.waiter = null
      this.current = msg
      w({ value: msg, done: false })
    } else {
      this.queue.push(msg)
    }
  }

  private runHandler (h: MessageHandler<T>, msg: Message<T>): void {
    let r: void | Promise<void>
    try {
      r = h(msg)
    } catch (err) {
      this.handlerFailed(msg, err)
      return
    }
    if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(() => { this.handlerDone(msg) }, (err: unknown) => { this.handlerFailed(msg, err) })
    } else {
      this.handlerDone(msg)
    }
  }

  private handlerDone (msg: Message<T>): void {
    if (!msg.responded && this.options.autoFinish) msg.finish()
  }

  private handlerFailed (msg: Message<T>, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err))
    this.reportError(new Error(`CONSUMER(${this.topic}/${this.channel}): handler failed for message ${msg.id} (attempt ${msg.attempts}): ${e.message}`, { cause: e }))
    if (!msg.responded) msg.requeue()
  }

  private onDecodeError (msg: Message<T>, err: Error): void {
    this.reportError(err)
    if (this.options.onGiveUp !== null || this.listenerCount('giveUp') > 0) this.giveUp(msg, 'decode', err)
    else msg.requeue()
  }

  private giveUp (msg: Message<T>, reason: GiveUpReason, err: Error | null): void {
    const cb = this.options.onGiveUp
    const listened = this.listenerCount('giveUp') > 0
    if (cb === null && !listened) {
      this.options.logger.warn(`CONSUMER(${this.topic}/${this.channel}): giving up on message ${msg.id} after ${msg.attempts} attempts (${reason}); body ${JSON.stringify(msg.body.subarray(0, 64).toString('utf8'))}`)
      msg.finish()
      return
    }
    if (listened) this.emit('giveUp', msg, reason, err)
    if (cb === null) {
      msg.finish()
      return
    }
    let r: void | Promise<void>
    try {
      r = cb(msg, reason, err)
    } catch (e) {
      this.reportError(e as Error)
      msg.requeue()
      return
    }
    if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(() => { msg.finish() }, (e: unknown) => { this.reportError(e as Error); msg.requeue() })
    } else {
      msg.finish()
    }
  }

  /** Called by Message.finish()/requeue() through its connection. */
  respond (cc: ConsumerConn<T>, msg: Message<T>, requeue: boolean, delayMs: number, backoff: boolean): void {
    this.processing--
    if (this.options.autoTouch) this.touching.delete(msg)
    if (requeue) {
      cc.conn.command(`REQ ${msg.id} ${Math.max(0, Math.floor(delayMs))}`)
      this.requeued++
    } else {
      cc.conn.command('FIN ' + msg.id)
      this.finished++
    }
    if (cc.inFlight > 0) cc.inFlight--
    const rdyc = this.rdyc
    if (requeue ? backoff : rdyc.level > 0) {
      const now = Date.now()
      const wait = requeue ? rdyc.onFailure(now) : rdyc.onSuccess(now)
      if (wait > 0) this.armBackoff(wait)
    }
    if (rdyc.needsRebalance) this.scheduleRebalance()
    if (cc.closing && cc.inFlight === 0 && !this.closing) cc.conn.close()
    if (this.processing === 0 && this.drainWaiters.length > 0) this.checkDrained()
  }

  defaultRequeueDelayMs (attempts: number): number {
    return Math.min(this.options.requeueDelayMs * Math.max(1, attempts), this.options.maxRequeueDelayMs)
  }

  private armBackoff (waitMs: number): void {
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer)
    this.emit('backoff', this.rdyc.level, waitMs)
    this.options.logger.info(`CONSUMER(${this.topic}/${this.channel}): backing off for ${waitMs}ms (level ${this.rdyc.level})`)
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null
      this.rdyc.onBackoffTimer(Date.now())
      this.armSettleTimer()
    }, waitMs)
    this.backoffTimer.unref()
  }

  private scheduleRebalance (): void {
    if (this.rebalanceScheduled) return
    this.rebalanceScheduled = true
    process.nextTick(() => {
      this.rebalanceScheduled = false
      if (this.rdyc.needsRebalance) this.rdyc.rebalance(Date.now())
      this.armSettleTimer()
    })
  }

  /** A raise still blocked (budget settling after a decrease): try again once it has settled. */
  private armSettleTimer (): void {
    if (!this.rdyc.needsRebalance || this.settleTimer !== null || this.closing) return
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null
      if (this.rdyc.needsRebalance) this.rdyc.rebalance(Date.now())
      this.armSettleTimer()
    }, this.options.rdySettleMs + 1)
    this.settleTimer.unref()
  }

  private startTouchTimer (msgTimeoutMs: number): void {
    if (this.touchTimer !== null) return
    const every = Math.max(50, Math.floor(msgTimeoutMs / 4))
    this.touchTimer = setInterval(() => {
      const now = Date.now()
      for (const m of this.touching) {
        if (m.responded) { this.touching.delete(m); continue }
        if (now - m.touchedAtMs >= msgTimeoutMs / 2) m.touch()
      }
    }, every)
    this.touchTimer.unref()
  }

  private reportError (err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else this.options.logger.warn(err.message)
  }

  // ---- control ----------------------------------------------------------------------------------

  /** Stops delivery everywhere (RDY 0) until resume(). */
  pause (): void {
    this.rdyc.pause(Date.now())
    this.armSettleTimer()
  }

  resume (): void {
    this.rdyc.resume(Date.now())
    this.armSettleTimer()
  }

  setMaxInFlight (n: number): void {
    this.rdyc.setMaxInFlight(n, Date.now())
    this.armSettleTimer()
  }

  /** go-nsq IsStarved: some connection has ≥ 85 % of its RDY in flight (batching consumers flush). */
  isStarved (): boolean {
    return this.rdyc.isStarved()
  }

  get backoffLevel (): number {
    return this.rdyc.level
  }

  stats (): ConsumerStats {
    return {
      connections: this.rdyc.conns.length,
      received: this.received,
      finished: this.finished,
      requeued: this.requeued,
      inFlight: this.processing,
      backoffLevel: this.rdyc.level
    }
  }

  // ---- async iteration --------------------------------------------------------------------------

  /**
   * `for await (const msg of consumer)`: each message is FINed when the loop asks for the next one
   * (unless responded already or autoFinish is off). Leaving the loop early requeues the message in
   * hand and closes the consumer.
   */
  [Symbol.asyncIterator] (): AsyncIterableIterator<Message<T>> {
    const next = (): Promise<IteratorResult<Message<T>>> => {
      const cur = this.current
      this.current = null
      if (cur !== null && !cur.responded && this.options.autoFinish) cur.finish()
      const m = this.queue.shift()
      if (m !== undefined) {
        this.current = m
        return Promise.resolve({ value: m, done: false })
      }
      if (this.closing) return Promise.resolve({ value: undefined, done: true })
      if (!this.started) void this.connect().catch((err: Error) => { this.reportError(err) })
      return new Promise((resolve) => { this.waiter = resolve })
    }
    const ret = async (): Promise<IteratorResult<Message<T>>> => {
      const cur = this.current
      this.current = null
      if (cur !== null && !cur.responded) cur.requeue(0, { backoff: false })
      await this.close()
      return { value: undefined, done: true }
    }
    const it: AsyncIterableIterator<Message<T>> = {
      next,
      return: ret,
      [Symbol.asyncIterator] () { return it }
    }
    return it
  }

  // ---- closing ----------------------------------------------------------------------------------

  /** Sends CLS; resolves on CLOSE_WAIT (every message frame sent before it has been seen). */
  private closeConn (cc: ConsumerConn<T>): Promise<void> {
    if (cc.closing) return Promise.resolve()
    cc.closing = true
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000)
      cc.conn.request('CLS', null, () => {
        clearTimeout(timer)
        if (cc.inFlight === 0 && !this.closing) cc.conn.close()
        resolve()
      })
    })
  }

  private checkDrained (): void {
    if (this.processing !== 0) return
    const w = this.drainWaiters
    this.drainWaiters = []
    for (const f of w) f()
  }

  /**
   * Graceful stop: no new messages (CLS on every connection), queued but unhandled messages are
   * requeued, in-flight ones are waited for (up to closeTimeoutMs), then the connections close.
   */
  close (): Promise<void> {
    if (this.closePromise !== null) return this.closePromise
    this.closing = true
    this.closePromise = this.doClose()
    return this.closePromise
  }

  private async doClose (): Promise<void> {
    for (const t of [this.pollTimer, this.pollSoonTimer, this.backoffTimer, this.settleTimer]) if (t !== null) clearTimeout(t)
    this.settleTimer = null
    if (this.redistributeTimer !== null) clearInterval(this.redistributeTimer)
    if (this.touchTimer !== null) clearInterval(this.touchTimer)
    this.pollTimer = this.pollSoonTimer = this.backoffTimer = this.redistributeTimer = this.touchTimer = null
    this.rdyc.closing()
    const ccs: Array<ConsumerConn<T>> = []
    for (const node of this.nodes.values()) {
      if (node.timer !== null) { clearTimeout(node.timer); node.timer = null }
      if (node.cc !== null) ccs.push(node.cc)
    }
    const clsDone = Promise.all(ccs.map((cc) => this.closeConn(cc)))
    for (const m of this.queue.drain()) m.requeue(0, { backoff: false })
    if (this.waiter !== null) {
      const w = this.waiter
      this.waiter = null
      w({ value: undefined, done: true })
    }
    await clsDone
    if (this.processing > 0) {
      let timer: NodeJS.Timeout | null = null
      await Promise.race([
        new Promise<void>((resolve) => { this.drainWaiters.push(resolve) }),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, this.options.closeTimeoutMs) })
      ])
      if (timer !== null) clearTimeout(timer)
      if (this.processing > 0) {
        this.options.logger.warn(`CONSUMER(${this.topic}/${this.channel}): closing with ${this.processing} messages still in flight (they time out on nsqd and are redelivered)`)
      }
    }
    await Promise.all(ccs.map((cc) => new Promise<void>((resolve) => {
      if (cc.conn.state === 'closed') { resolve(); return }
      cc.conn.setEvents({ onMessage () {}, onNonFatalError () {}, onClose: () => { resolve() } })
      cc.conn.close()
    })))
    for (const cc of ccs) this.rdyc.remove(cc, Date.now())
    this.nodes.clear()
  }
}
