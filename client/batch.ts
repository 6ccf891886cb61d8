// Batching publisher: collects messages for one topic and sends them as MPUBs when a batch reaches
// maxMessages or maxBytes, or maxDelayMs after its first message. Each message's outcome is reported
// (its promise or callback settles with its MPUB's answer). One timer per batch, not per message.

import type { Producer, PublishCallback } from './producer.js'
import { encodePayload } from './codec.js'
import type { Payload } from './codec.js'
import { NsqClientError } from './errors.js'
import { ProtocolError } from './wire/errors.js'

export interface BatchOptions {
  maxMessages: number
  /** Sum of body sizes per MPUB (nsqd's --max-body-size is 5 MiB by default). */
  maxBytes: number
  maxDelayMs: number
}

export function defaultBatchOptions (): BatchOptions {
  return { maxMessages: 500, maxBytes: 1024 * 1024, maxDelayMs: 10 }
}

export class BatchPublisher {
  readonly topic: string
  readonly options: BatchOptions
  /** Messages acknowledged / failed so far. */
  published = 0
  failed = 0
  private readonly producer: Producer
  private bodies: Buffer[] = []
  private cbs: PublishCallback[] = []
  private bytes = 0
  private timer: NodeJS.Timeout | null = null
  private inFlight = 0
  private idle: Array<() => void> = []
  private closed = false

  constructor (producer: Producer, topic: string, options: Partial<BatchOptions> = {}) {
    this.producer = producer
    this.topic = topic
    this.options = { ...defaultBatchOptions(), ...options }
  }

  /** Queues one message; resolves when its MPUB is acknowledged. */
  publish (body: Payload): Promise<void> {
    return new Promise((resolve, reject) => {
      this.add(body, (err) => { if (err !== null) reject(err); else resolve() })
    })
  }

  /** Queues one message; `cb` gets its outcome (no promise). */
  add (body: Payload, cb: PublishCallback = noop): void {
    if (this.closed) {
      cb(new NsqClientError('CLOSED', 'batch publisher is closed'))
      return
    }
    let b: Buffer
    try {
      b = encodePayload(body, this.producer.options.objectEncoding)
    } catch (err) {
      cb(err as Error)
      return
    }
    if (b.length === 0) {
      cb(new ProtocolError('E_BAD_MESSAGE', 'MPUB invalid message body size 0'))
      return
    }
    if (this.bodies.length > 0 && this.bytes + b.length > this.options.maxBytes) this.flush()
    this.bodies.push(b)
    this.cbs.push(cb)
    this.bytes += b.length
    if (this.bodies.length >= this.options.maxMessages || this.bytes >= this.options.maxBytes) {
      this.flush()
    } else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, this.options.maxDelayMs)
    }
  }

  private readonly onTimer = (): void => {
    this.timer = null
    this.flush()
  }

  /** Sends the current batch now. */
  flush (): void {
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (this.bodies.length === 0) return
    const bodies = this.bodies
    const cbs = this.cbs
    this.bodies = []
    this.cbs = []
    this.bytes = 0
    this.inFlight++
    this.producer.publishManyCb(this.topic, bodies, (err) => {
      this.inFlight--
      if (err === null) this.published += cbs.length
      else this.failed += cbs.length
      for (const cb of cbs) cb(err)
      if (this.inFlight === 0 && this.bodies.length === 0) {
        const w = this.idle
        this.idle = []
        for (const f of w) f()
      }
    })
  }

  /** Sends what is queued and waits until every MPUB has been answered. */
  async close (): Promise<void> {
    this.closed = true
    this.flush()
    if (this.inFlight > 0) await new Promise<void>((resolve) => { this.idle.push(resolve) })
  }
}

function noop (): void {}
