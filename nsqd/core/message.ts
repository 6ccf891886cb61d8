// One delivery envelope. The body Buffer is immutable and shared by every channel's copy; the
// envelope (attempts, timing, queue links, owner) is per channel. Every field is initialised in the
// constructor so all Message objects share one shape.

import type { DeadlineList } from './inflight-queue.js'

/** Message.lastEnd: not known (no attempt yet, or restored from disk). */
export const END_NONE = 0
/** Message.lastEnd: the consumer sent REQ. */
export const END_REQUEUED = 1
/** Message.lastEnd: msg_timeout passed without FIN/REQ/TOUCH. */
export const END_TIMEOUT = 2

/** The dead-letter envelope's `last_error` for a Message.lastEnd value. */
export function lastEndName (end: number): 'requeued' | 'timeout' | null {
  return end === END_REQUEUED ? 'requeued' : end === END_TIMEOUT ? 'timeout' : null
}

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
  /** What ended the last delivery attempt: END_NONE, END_REQUEUED or END_TIMEOUT (kept in memory only). */
  lastEnd: number
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
    this.lastEnd = END_NONE
    this.prev = null
    this.next = null
    this.list = null
  }

  /** A copy for another channel: same id, body, timestamp and deferral; attempts start at 0. */
  copy (): Message {
    return new Message(this.id, this.body, this.timestamp, 0, this.deferredMs)
  }
}

/** Bodies up to this size are candidates for compaction; above it one buffer's overhead is small. */
const COMPACT_MAX_BYTES = 2048
/** Slab size: small enough that a long-lived message pins little, big enough to amortise the slab. */
const SLAB_BYTES = 16 * 1024

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
let slabUsed = 0

/**
 * The body a message keeps. A small body that is (nearly) alone in its buffer, as a PUB read from
 * its own socket chunk is, would cost a whole ArrayBuffer (~250 bytes of heap and native bookkeeping)
 * per queued message: such a body is copied into a shared slab instead. A body that is one of many
 * in its buffer (MPUB, pipelined PUBs, a stored chunk) stays a view: its neighbours share the cost.
 * The copy also means the message never shares bytes with a buffer its reader may reuse.
 */
export function compactBody (body: Buffer): Buffer {
  const n = body.length
  if (n > COMPACT_MAX_BYTES || body.buffer.byteLength > 4 * n + 256) return body
  if (slabUsed + n > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + n)
  out.set(body)
  slabUsed += n
  return out
}

/** Nanoseconds since the epoch as a JS number. */
export function nowNs (): number {
  return Date.now() * 1e6
}
