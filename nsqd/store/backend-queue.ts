// Where a topic's or channel's messages go once its memory queue is full (nsqd's BackendQueue).
// Operations are synchronous from the caller's view: writes are group-committed by the
// implementation (once per tick, many messages to a value) and reads are served from a read-ahead
// buffer that the implementation refills in the background, calling `onReadable` when messages
// become available again after `shift()` returned undefined.

import type { Message } from '../core/message.js'

export interface BackendQueue {
  /** Appends a message. Returns false when the queue cannot take it (write failure, closed). */
  put (msg: Message): boolean
  /** Takes the next message if one is ready in memory. */
  shift (): Message | undefined
  /** Messages stored and not yet taken (what `backend_depth` reports). */
  depth (): number
  /** Body bytes of those messages (bounded queues: --max-queue-bytes); kept across restarts. */
  bytes (): number
  /**
   * Optional (stores only): the owner's policy counters are written with the queue's next batch,
   * read from `countersSource`, after markCountersDirty(); restoredCounters() gives the values
   * stored at the last run (undefined when none).
   */
  countersSource?: (() => readonly number[]) | null
  markCountersDirty? (): void
  restoredCounters? (): readonly number[] | undefined
  /** Set by the owner: called when `shift()` may return a message again. */
  onReadable: (() => void) | null
  /** Drops everything stored. */
  empty (): void
  /** Drops everything and releases the queue for good (topic/channel deletion). */
  delete (): Promise<void>
  /** Flushes pending writes and releases the queue (clean shutdown); data stays. */
  close (): Promise<void>
  /**
   * Peek and replay (read-only): visits the queued messages in the order shift() would return
   * them, with a position key for remove(), until `visit` returns false. Changes nothing.
   */
  scan? (visit: (msg: Message, seq: number) => boolean): Promise<void>
  /**
   * Removes the message `id` found by scan() at `seq`, keeping the order of the rest; false when
   * it is no longer queued (taken, removed or emptied since). Synchronous: the removal lands in
   * the same store batch as whatever else the caller does in this tick.
   */
  remove? (msg: Message, seq: number): boolean
}

/** A deferred message restored from disk, with its due time (ms, Date.now clock). */
export interface DeferredEntry {
  msg: Message
  dueMs: number
}

/**
 * A disk-backed queue that also keeps a channel's deferred messages across restarts and, in
 * durable mode, journals delivered messages until they are finished. Every method only queues
 * work for the next group commit: channels call them freely per message, no I/O is awaited.
 */
export interface JournalingBackendQueue extends BackendQueue {
  /** True in durable mode: the mark* methods write; otherwise they do nothing. */
  readonly journaling: boolean
  /** Delivered to a client: stays on disk until markDone (durable mode). */
  markInFlight (msg: Message): void
  /** FINed, or moved back into the queue or into the deferred index (durable mode). */
  markDone (msg: Message): void
  /** Entered the deferred queue, due at dueMs (durable mode). */
  markDeferred (msg: Message, dueMs: number): void
  /** Left the deferred queue (durable mode). */
  unmarkDeferred (msg: Message): void
  /** Clean shutdown, any mode: store a deferred message with its due time. */
  putDeferred (msg: Message, dueMs: number): boolean
  /** At start: the deferred messages stored for this queue (call once). */
  takeDeferred (): DeferredEntry[]
  /**
   * Resolves once everything queued so far is written (synced in durable mode); rejects with
   * the write error when that batch failed. One promise per batch, shared by every caller.
   */
  whenCommitted (): Promise<void>
}

/** The queue itself when it journals (durable mode), else null: channels call it per message. */
export function journalOf (q: BackendQueue): JournalingBackendQueue | null {
  return (q as Partial<JournalingBackendQueue>).journaling === true ? q as JournalingBackendQueue : null
}

/** For #ephemeral topics and channels: nothing is ever stored; overflow is dropped. */
export class DummyBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null
  put (_msg: Message): boolean { return true }
  shift (): Message | undefined { return undefined }
  depth (): number { return 0 }
  bytes (): number { return 0 }
  empty (): void {}
  async delete (): Promise<void> {}
  async close (): Promise<void> {}
}
