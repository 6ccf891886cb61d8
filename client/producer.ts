// Producer: publishes over TCP to one nsqd or a pool of them. Every publish returns a promise that
// settles on the broker's answer (ProtocolError with the exact NSQ code on an error frame). All
// publishes made in one tick leave in one write. With several addresses the pool fails over (or
// round-robins) and re-sends a publish whose connection was lost before it was answered (so a
// publish may, rarely, be delivered twice: NSQ's at-least-once).

import { Connection, defaultConnectionOptions, openConnection } from './connection.js'
import type { ConnectionOptions, IdentifyResponse } from './connection.js'
import { NsqClientError, isConnectionError } from './errors.js'
import { ProtocolError } from './wire/errors.js'
import { isValidTopicName, goQuote } from './wire/names.js'
import { encodePayload } from './codec.js'
import type { ObjectEncoding, Payload } from './codec.js'
import { reconnectDelayMs } from './backoff.js'
import { dialTcp } from './node-transport.js'
import { nodeUpgrader } from './node-upgrade.js'
import type { Dialer } from './transport.js'
import { consoleLogger } from './logger.js'
import type { Logger } from './logger.js'
import { BatchPublisher } from './batch.js'
import type { BatchOptions } from './batch.js'

export type PoolStrategy = 'failover' | 'round-robin'

export interface ProducerOptions extends ConnectionOptions {
  connectTimeoutMs: number
  /** failover: always the first healthy address; round-robin: spread publishes. */
  strategy: PoolStrategy
  /** How many times a publish is re-sent after a lost connection (not after a broker error). */
  retries: number
  /**
   * Replicated nsqd groups (nsqd/replication): for this long after a publish was first sent, keep
   * re-sending it across the addresses after a lost connection, a standby's refusal (`E_INVALID this
   * nsqd is a replication standby; ...`) or
   * E_PUB_FAILED / E_MPUB_FAILED / E_DPUB_FAILED (too few replicas in sync, or a primary that just
   * stepped down), every `failoverRetryMs`. 0 (the default): off, only `retries` applies.
   */
  failoverTimeoutMs: number
  failoverRetryMs: number
  /** Delay before an address that failed is tried again (doubling up to the max). */
  reconnectMinMs: number
  reconnectMaxMs: number
  /** How object payloads are encoded. */
  objectEncoding: ObjectEncoding
  logger: Logger
  /** Replaces TCP dialing (tests, custom transports). */
  dial: Dialer
}

export function defaultProducerOptions (): ProducerOptions {
  return {
    ...defaultConnectionOptions(),
    connectTimeoutMs: 2000,
    strategy: 'failover',
    retries: 3,
    failoverTimeoutMs: 0,
    failoverRetryMs: 100,
    reconnectMinMs: 100,
    reconnectMaxMs: 10_000,
    objectEncoding: 'json',
    logger: consoleLogger('warn'),
    dial: dialTcp,
    upgrader: nodeUpgrader
  }
}

export type PublishCallback = (err: Error | null) => void

const KIND_PUB = 0
const KIND_MPUB = 1
const KIND_DPUB = 2

interface PubRequest {
  kind: number
  topic: string
  body: Buffer | null
  bodies: Buffer[] | null
  deferMs: number
  attempt: number
  /** When first sent (set only with failoverTimeoutMs). */
  startMs: number
  cb: PublishCallback
}

class ProducerNode {
  readonly address: string
  conn: Connection | null = null
  connecting: Promise<Connection> | null = null
  failures = 0
  downUntilMs = 0

  constructor (address: string) {
    this.address = address
  }

  get ready (): boolean {
    return this.conn !== null && this.conn.state === 'ready' && this.conn.isOpen
  }
}

export class Producer {
  readonly addresses: readonly string[]
  readonly options: ProducerOptions
  private readonly nodes: ProducerNode[]
  private rr = 0
  private closed = false
  private outstanding = 0
  private idleWaiters: Array<() => void> = []
  private lastValidTopic = ''

  constructor (addresses: string | readonly string[], options: Partial<ProducerOptions> = {}) {
    const list = typeof addresses === 'string' ? [addresses] : [...addresses]
    if (list.length === 0) throw new NsqClientError('INVALID_ARGUMENT', 'Producer needs at least one nsqd address')
    this.addresses = list
    this.options = { ...defaultProducerOptions(), ...options }
    this.nodes = list.map((a) => new ProducerNode(a))
  }

  /** Connects to the first reachable address (optional: publishing connects lazily). */
  async connect (): Promise<void> {
    let last: unknown = null
    for (const node of this.order()) {
      try {
        await this.connectNode(node)
        return
      } catch (err) {
        last = err
      }
    }
    throw last ?? new NsqClientError('CONNECT_FAILED', 'no nsqd reachable')
  }

  /** nsqd's IDENTIFY answer on the connection currently in use (null before connecting). */
  get identity (): IdentifyResponse | null {
    for (const n of this.nodes) if (n.ready) return n.conn!.identity
    return null
  }

  /** Addresses with an open connection. */
  get connectedAddresses (): string[] {
    return this.nodes.filter((n) => n.ready).map((n) => n.address)
  }

  publish (topic: string, body: Payload): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publishCb(topic, body, (err) => { if (err !== null) reject(err); else resolve() })
    })
  }

  publishMany (topic: string, bodies: readonly Payload[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publishManyCb(topic, bodies, (err) => { if (err !== null) reject(err); else resolve() })
    })
  }

  publishDeferred (topic: string, delayMs: number, body: Payload): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publishDeferredCb(topic, delayMs, body, (err) => { if (err !== null) reject(err); else resolve() })
    })
  }

  /** Callback forms (no promise per publish). */
  publishCb (topic: string, body: Payload, cb: PublishCallback): void {
    const b = this.prepare('PUB', topic, body, cb)
    if (b === null) return
    this.dispatch({ kind: KIND_PUB, topic, body: b, bodies: null, deferMs: 0, attempt: 0, startMs: 0, cb })
  }

  publishManyCb (topic: string, bodies: readonly Payload[], cb: PublishCallback): void {
    if (!this.checkTopic('MPUB', topic, cb)) return
    if (bodies.length === 0) {
      cb(new ProtocolError('E_BAD_BODY', 'MPUB invalid message count 0'))
      return
    }
    const bufs: Buffer[] = new Array(bodies.length)
    for (let i = 0; i < bodies.length; i++) {
      let b: Buffer
      try {
        b = encodePayload(bodies[i] as Payload, this.options.objectEncoding)
      } catch (err) {
        cb(err as Error)
        return
      }
      if (b.length === 0) {
        cb(new ProtocolError('E_BAD_MESSAGE', `MPUB invalid message(${i}) body size 0`))
        return
      }
      bufs[i] = b
    }
    this.dispatch({ kind: KIND_MPUB, topic, body: null, bodies: bufs, deferMs: 0, attempt: 0, startMs: 0, cb })
  }

  publishDeferredCb (topic: string, delayMs: number, body: Payload, cb: PublishCallback): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      cb(new NsqClientError('INVALID_ARGUMENT', `DPUB delay must be a non-negative number of ms, got ${delayMs}`))
      return
    }
    const b = this.prepare('DPUB', topic, body, cb)
    if (b === null) return
    this.dispatch({ kind: KIND_DPUB, topic, body: b, bodies: null, deferMs: Math.floor(delayMs), attempt: 0, startMs: 0, cb })
  }

  /** A batching publisher for one topic: MPUBs on a size or time bound. */
  batch (topic: string, options: Partial<BatchOptions> = {}): BatchPublisher {
    return new BatchPublisher(this, topic, options)
  }

  // Client-side checks use nsqd's own codes and texts, and spare the connection a fatal error
  // (which would also fail every other publish pipelined on it).
  private checkTopic (verb: string, topic: string, cb: PublishCallback): boolean {
    if (this.closed) {
      cb(new NsqClientError('CLOSED', 'producer is closed'))
      return false
    }
    if (topic === this.lastValidTopic) return true
    if (!isValidTopicName(topic)) {
      const desc = `${verb} topic name ${goQuote(topic)} is not valid`
      cb(new ProtocolError('E_BAD_TOPIC', verb === 'MPUB' ? `E_BAD_TOPIC ${desc}` : desc))
      return false
    }
    this.lastValidTopic = topic
    return true
  }

  private prepare (verb: string, topic: string, body: Payload, cb: PublishCallback): Buffer | null {
    if (!this.checkTopic(verb, topic, cb)) return null
    let b: Buffer
    try {
      b = encodePayload(body, this.options.objectEncoding)
    } catch (err) {
      cb(err as Error)
      return null
    }
    if (b.length === 0) {
      cb(new ProtocolError('E_BAD_MESSAGE', `${verb} invalid message body size 0`))
      return null
    }
    return b
  }

  // ---- routing --------------------------------------------------------------------------------

  /** Nodes in the order to try them. */
  private order (): ProducerNode[] {
    if (this.options.strategy === 'failover' || this.nodes.length === 1) return this.nodes
    const start = this.rr++ % this.nodes.length
    return [...this.nodes.slice(start), ...this.nodes.slice(0, start)]
  }

  private pick (nowMs: number): ProducerNode {
    const order = this.order()
    for (const n of order) if (n.ready) return n
    for (const n of order) if (n.downUntilMs <= nowMs) return n
    let best = order[0] as ProducerNode
    for (const n of order) if (n.downUntilMs < best.downUntilMs) best = n
    return best
  }

  private dispatch (req: PubRequest): void {
    if (req.attempt === 0) {
      this.outstanding++
      if (this.options.failoverTimeoutMs > 0) req.startMs = Date.now()
    }
    const now = Date.now()
    const node = this.pick(now)
    if (node.ready) {
      this.write(node.conn as Connection, req)
      return
    }
    const wait = Math.max(0, node.downUntilMs - now)
    const go = (): void => {
      this.connectNode(node).then((conn) => { this.write(conn, req) }, (err: Error) => { this.onRequestError(req, err) })
    }
    if (wait > 0) setTimeout(go, wait)
    else go()
  }

  private write (conn: Connection, req: PubRequest): void {
    const cb = (err: Error | null): void => {
      if (err === null) this.settle(req, null)
      else this.onRequestError(req, err)
    }
    if (req.kind === KIND_PUB) conn.pub(req.topic, req.body as Buffer, cb)
    else if (req.kind === KIND_MPUB) conn.mpub(req.topic, req.bodies as Buffer[], cb)
    else conn.dpub(req.topic, req.deferMs, req.body as Buffer, cb)
  }

  private onRequestError (req: PubRequest, err: Error): void {
    if (!this.closed && isConnectionError(err) && req.attempt < this.options.retries) {
      req.attempt++
      this.dispatch(req)
      return
    }
    const o = this.options
    if (!this.closed && o.failoverTimeoutMs > 0 && isFailoverError(err) && Date.now() - req.startMs < o.failoverTimeoutMs) {
      req.attempt++
      setTimeout(() => { this.dispatch(req) }, o.failoverRetryMs)
      return
    }
    this.settle(req, err)
  }

  private settle (req: PubRequest, err: Error | null): void {
    this.outstanding--
    req.cb(err)
    if (this.outstanding === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters
      this.idleWaiters = []
      for (const f of w) f()
    }
  }

  private connectNode (node: ProducerNode): Promise<Connection> {
    if (node.ready) return Promise.resolve(node.conn as Connection)
    if (node.connecting !== null) return node.connecting
    if (this.closed) return Promise.reject(new NsqClientError('CLOSED', 'producer is closed'))
    const o = this.options
    const p = openConnection(node.address, o.dial, o.connectTimeoutMs, o, {
      onMessage: () => {},
      onNonFatalError: (err) => { o.logger.warn(`PRODUCER(${node.address}): ${err.message}`) },
      onClose: (err) => {
        if (node.conn !== null && node.conn.state === 'closed') node.conn = null
        if (err !== null && !this.closed) {
          node.failures = 1
          // a replication standby refused us: try the other addresses first
          node.downUntilMs = isStandbyRefusal(err) ? Date.now() + o.reconnectMinMs : 0
          o.logger.warn(`PRODUCER(${node.address}): connection lost: ${err.message}`)
        }
      }
    }).then((conn) => {
      node.connecting = null
      node.failures = 0
      node.downUntilMs = 0
      if (this.closed) {
        conn.close()
        throw new NsqClientError('CLOSED', 'producer is closed')
      }
      node.conn = conn
      return conn
    }, (err: Error) => {
      node.connecting = null
      node.failures++
      node.downUntilMs = Date.now() + reconnectDelayMs(node.failures, o.reconnectMinMs, o.reconnectMaxMs)
      o.logger.warn(`PRODUCER(${node.address}): ${err.message}`)
      throw err
    })
    node.connecting = p
    return p
  }

  /** Waits for every outstanding publish to settle, then closes the connections. */
  async close (): Promise<void> {
    if (!this.closed && this.outstanding > 0) {
      await new Promise<void>((resolve) => { this.idleWaiters.push(resolve) })
    }
    this.closed = true
    const closing: Array<Promise<void>> = []
    for (const n of this.nodes) {
      const c = n.conn
      n.conn = null
      if (c === null || c.state === 'closed') continue
      closing.push(new Promise((resolve) => {
        c.setEvents({ onMessage () {}, onNonFatalError () {}, onClose: () => { resolve() } })
        c.close()
      }))
    }
    await Promise.all(closing)
  }
}

/** What a replicated group answers while its primary changes (see ProducerOptions.failoverTimeoutMs). */
function isFailoverError (err: Error): boolean {
  if (isConnectionError(err)) return true
  if (isStandbyRefusal(err)) return true
  const code = (err as { code?: unknown }).code
  return code === 'E_PUB_FAILED' || code === 'E_MPUB_FAILED' || code === 'E_DPUB_FAILED'
}

/** `E_INVALID this nsqd is a replication standby; ...` (nsqd/replication/standby-service.ts). */
function isStandbyRefusal (err: Error): boolean {
  return (err as { code?: unknown }).code === 'E_INVALID' && err.message.includes('replication standby')
}
