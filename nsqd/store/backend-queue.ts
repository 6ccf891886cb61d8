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
  /** Set by the owner: called when `shift()` may return a message again. */
  onReadable: (() => void) | null
  /** Drops everything stored. */
  empty (): void
  /** Drops everything and releases the queue for good (topic/channel deletion). */
  delete (): Promise<void>
  /** Flushes pending writes and releases the queue (clean shutdown); data stays. */
  close (): Promise<void>
}

/** For #ephemeral topics and channels: nothing is ever stored; overflow is dropped. */
export class DummyBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null
  put (_msg: Message): boolean { return true }
  shift (): Message | undefined { return undefined }
  depth (): number { return 0 }
  empty (): void {}
  async delete (): Promise<void> {}
  async close (): Promise<void> {}
}
