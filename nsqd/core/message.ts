// One delivery envelope. The body Buffer is immutable and shared by every channel's copy; the
// envelope (attempts, timing, queue links, owner) is per channel. Every field is initialised in the
// constructor so all Message objects share one shape.

import type { DeadlineList } from './inflight-queue.js'

export class Message {
  /** 16 lowercase hex characters. */
  readonly id: string
  readonly body: Buffer
  /** Publish time, nanoseconds since the epoch (a JS number: exact to 256 ns). */
  readonly timestamp: number
  attempts: number
  /** When the current delivery happened (ms, Date.now clock). */
  deliveryTs: number
  /** Owner client id while in flight, 0 otherwise. */
  clientId: number
  /** Heap key: in-flight deadline or deferred due time (ms). */
  pri: number
  /** Position in the heap holding it, -1 when in none. */
  index: number
  /** Deferral requested at publish (DPUB / defer=), ms; 0 for none. */
  deferredMs: number
  /** Links in the in-flight deadline list (InFlightQueue), null outside it. */
  prev: Message | null
  next: Message | null
  list: DeadlineList | null

  constructor (id: string, body: Buffer, timestamp: number, attempts = 0, deferredMs = 0) {
    this.id = id
    this.body = body
    this.timestamp = timestamp
    this.attempts = attempts
    this.deliveryTs = 0
    this.clientId = 0
    this.pri = 0
    this.index = -1
    this.deferredMs = deferredMs
    this.prev = null
    this.next = null
    this.list = null
  }

  /** A copy for another channel: same id, body, timestamp and deferral; attempts start at 0. */
  copy (): Message {
    return new Message(this.id, this.body, this.timestamp, 0, this.deferredMs)
  }
}

/** Nanoseconds since the epoch as a JS number. */
export function nowNs (): number {
  return Date.now() * 1e6
}
