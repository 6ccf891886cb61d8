// Peek and browse (not in NSQ; issue 17): what a topic or channel holds, read without taking it.
// Nothing here changes a queue: no shift, no attempt counted, no heap or store touched. The queued
// view follows delivery order (the memory queue, then the backend from its read position: the
// read-ahead buffer, stored chunks, then what is not written yet); deferred messages come by due
// time, in-flight ones by deadline. A peek is a snapshot taken while delivery goes on: a message
// delivered during the (asynchronous) disk read may still be listed.

import type { Message } from './message.js'
import type { Fifo } from './fifo.js'
import type { BackendQueue } from '../store/backend-queue.js'
import type { Channel } from './channel.js'

/** A topic or a channel: a memory queue in front of a backend. */
export interface QueueHolder {
  readonly memQueue: Fifo<Message>
  readonly backend: BackendQueue
  /** Appends a message (a topic or a channel); false when it cannot be stored. */
  put (msg: Message): boolean
}

export type PeekState = 'queued' | 'in_flight' | 'deferred'

export interface Peeked {
  msg: Message
  state: PeekState
  /** Deferred: due time; in flight: deadline (ms, Date.now clock); 0 when queued. */
  untilMs: number
  /** Queued: position in delivery order (0 = next); -1 otherwise. */
  position: number
}

/**
 * Visits queued messages in delivery order (memory first, then backend) with their position,
 * until `visit` returns false. Resolves when done.
 */
export async function scanQueued (q: QueueHolder, visit: (msg: Message, seq: number, inMemory: boolean) => boolean): Promise<void> {
  const mem = q.memQueue
  const n = mem.length
  for (let i = 0; i < n; i++) {
    const m = mem.at(i)
    if (m !== undefined && !visit(m, i, true)) return
  }
  const b = q.backend
  if (b.scan !== undefined) await b.scan((m, seq) => visit(m, seq, false))
}

/** The next `n` messages the holder would hand out, in order, from `offset` on. */
export async function peekQueued (q: QueueHolder, n: number, offset = 0): Promise<Peeked[]> {
  const out: Peeked[] = []
  if (n <= 0) return out
  let pos = 0
  await scanQueued(q, (msg) => {
    if (pos >= offset) out.push({ msg, state: 'queued', untilMs: 0, position: pos })
    pos++
    return out.length < n
  })
  return out
}

/** Deferred messages of a channel by due time (ties by id), the first `n`. */
export function peekDeferred (ch: Channel, n: number): Peeked[] {
  const all = [...ch.deferred.values()]
  all.sort((a, b) => a.pri - b.pri || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return all.slice(0, n).map((msg) => ({ msg, state: 'deferred' as const, untilMs: msg.pri, position: -1 }))
}

/** In-flight messages of a channel by deadline, the first `n`. */
export function peekInFlight (ch: Channel, n: number): Peeked[] {
  const all = [...ch.inFlight.values()]
  all.sort((a, b) => a.pri - b.pri || a.deliveryTs - b.deliveryTs)
  return all.slice(0, n).map((msg) => ({ msg, state: 'in_flight' as const, untilMs: msg.pri, position: -1 }))
}

/**
 * Finds a message by id: in flight or deferred (channels), else queued (a scan of memory and
 * disk, stopping at the first match). Null when the holder does not have it.
 */
export async function findMessage (q: QueueHolder, id: string, ch: Channel | null): Promise<Peeked | null> {
  if (ch !== null) {
    const f = ch.inFlight.get(id)
    if (f !== undefined) return { msg: f, state: 'in_flight', untilMs: f.pri, position: -1 }
    const d = ch.deferred.get(id)
    if (d !== undefined) return { msg: d, state: 'deferred', untilMs: d.pri, position: -1 }
  }
  let found: Peeked | null = null
  let pos = 0
  await scanQueued(q, (msg) => {
    if (msg.id === id) {
      found = { msg, state: 'queued', untilMs: 0, position: pos }
      return false
    }
    pos++
    return true
  })
  return found
}
