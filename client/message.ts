// A received message: header fields, the body (a view into the receive buffer), the decoded value,
// and the responses. One fixed shape; no closures or timers per message.

import { MESSAGE_HEADER_SIZE, readTimestamp } from './wire/message.js'
import { NsqClientError } from './errors.js'
import { decodeBody } from './codec.js'

/** What a message reports its responses to (the consumer's per-connection state). */
export interface MessageOwner {
  readonly address: string
  /** FIN (requeue false) or REQ; called once per message. */
  respond (msg: Message, requeue: boolean, delayMs: number, backoff: boolean): void
  touch (msg: Message): void
  /** Default requeue delay for this message's attempt count. */
  requeueDelayMs (attempts: number): number
}

export class Message<T = unknown> {
  /** 16 ASCII characters, opaque. */
  readonly id: string
  /** Delivery attempts including this one (1 on first delivery). */
  readonly attempts: number
  /** Publish time in nanoseconds since the epoch (exact to 256 ns). */
  readonly timestamp: number
  readonly body: Buffer
  /** The body decoded with the consumer's `decode` option (the body itself for 'raw'). */
  data: T
  /** When this client received it (Date.now()). */
  readonly receivedAtMs: number
  /** Set once finish() or requeue() has been called. */
  responded: boolean
  /** Last TOUCH (or receipt), ms; used by auto-touch. */
  touchedAtMs: number
  private readonly owner: MessageOwner

  constructor (owner: MessageOwner, frame: Buffer, nowMs: number) {
    if (frame.length < MESSAGE_HEADER_SIZE) {
      throw new NsqClientError('BAD_FRAME', `${owner.address}: message frame too short (${frame.length} bytes)`, owner.address)
    }
    this.owner = owner
    this.timestamp = readTimestamp(frame, 0)
    this.attempts = frame.readUInt16BE(8)
    this.id = frame.toString('latin1', 10, 26)
    this.body = frame.subarray(MESSAGE_HEADER_SIZE)
    this.data = this.body as T
    this.receivedAtMs = nowMs
    this.responded = false
    this.touchedAtMs = nowMs
  }

  /** The nsqd (host:port) that delivered it. */
  get address (): string {
    return this.owner.address
  }

  get timestampMs (): number {
    return Math.floor(this.timestamp / 1e6)
  }

  text (): string {
    return this.body.toString('utf8')
  }

  json<U = unknown> (): U {
    return decodeBody(this.body, 'json', this.id) as U
  }

  msgpack<U = unknown> (): U {
    return decodeBody(this.body, 'msgpack', this.id) as U
  }

  /** FIN: done with it. A second response is ignored. */
  finish (): void {
    if (this.responded) return
    this.responded = true
    this.owner.respond(this, false, 0, false)
  }

  /**
   * REQ: give it back for redelivery after `delayMs` (default: the consumer's requeue delay ×
   * attempts, capped). `backoff: false` keeps the consumer from slowing down because of it.
   */
  requeue (delayMs?: number, options?: { backoff?: boolean }): void {
    if (this.responded) return
    this.responded = true
    const d = delayMs ?? this.owner.requeueDelayMs(this.attempts)
    this.owner.respond(this, true, d, options?.backoff ?? true)
  }

  /** TOUCH: reset nsqd's timeout for it (up to nsqd's max msg timeout). */
  touch (): void {
    if (this.responded) return
    this.touchedAtMs = Date.now()
    this.owner.touch(this)
  }
}
