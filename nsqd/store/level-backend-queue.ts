// A topic's or channel's disk queue inside the node's one LevelDB (see records.ts for keys).
//
// Writes: put() only appends to an open list; at the store's next commit the queue seals that list
// into chunks (many messages per value) together with its read position and the deletions of
// chunks it finished, all in the same atomic batch as every other queue's writes of that tick.
// Reads: a read-ahead buffer refilled in the background from committed chunks; chunks committed
// while the reader is caught up are handed over from memory without reading them back.
// Sequence numbers make depth exact: depth = writeSeq - readSeq - (removed messages not yet passed).
// Removing a message from the middle (replay of selected ids) writes a tombstone key (x/) in the
// caller's batch; readers skip tombstoned sequence numbers, and the tombstone is deleted in the
// batch that moves the read position past it.

import type { Message } from '../core/message.js'
import type { DeferredEntry, JournalingBackendQueue } from './backend-queue.js'
import {
  chunkKey, chunkPrefix, decodeChunk, decodeSingle, deferredKey, deferredPrefix, encodeChunk, encodeSeq,
  encodeSingle, inFlightKey, inFlightPrefix, parseChunkKey, prefixEnd, readKey, removedKey, removedPrefix, bytesKey, encodeBytesRecord
} from './records.js'
import type { Store, StoreClient, StoreOp } from './store.js'

/** Where a stored queue resumes. */
export interface StoredQueueState {
  /** Next sequence number to hand out. */
  readSeq: number
  /** Next sequence number to assign. */
  writeSeq: number
  /** Key sequence of the chunk holding readSeq. */
  readChunkSeq: number
  /** Body bytes of the messages in [readSeq, writeSeq); absent: 0. */
  bytes?: number
  /** The owner's policy counters stored with them (b/<queue>). */
  counters?: number[]
}

export interface LevelQueueOptions {
  /** put() fails while the store cannot write (topics: the publish is answered E_PUB_FAILED). */
  refuseWhenUnhealthy?: boolean
  /** Journal in-flight and deferred messages (durable mode); defaults to the store's mode. */
  journal?: boolean
}

interface SealedChunk { start: number, msgs: Message[] }

const REFILL_CHUNKS_PER_STEP = 16
const EMPTY = Buffer.alloc(0)
/**
 * Publishing alone rewrites a queue's b/ record only after this many body bytes: what a restart
 * after a crash reads back from the chunks to recount them (a clean close writes the record).
 */
export const BYTES_RECORD_EVERY = 64 * 1024 * 1024

/**
 * What a queued message costs beyond its body (the Message, its id, its body view, its slot in
 * the queues), counted into the store's backlog so that small messages are bounded by memory too.
 */
export const MESSAGE_OVERHEAD_BYTES = 300

/** Body bytes a queue reads ahead from disk (besides at most readAheadMessages messages). */
export const DEFAULT_READ_AHEAD_BYTES = 4 * 1024 * 1024

export class LevelBackendQueue implements JournalingBackendQueue, StoreClient {
  onReadable: (() => void) | null = null
  readonly name: string
  readonly journaling: boolean

  private readonly store: Store
  private readonly refuseWhenUnhealthy: boolean
  private readonly maxChunkMessages: number
  private readonly maxChunkBytes: number
  private readonly readAhead: number
  private readonly readAheadBytes: number

  private writeSeq: number
  private readSeq: number
  /** Every sequence number below is written (or was dropped by empty()). */
  private committedSeq: number
  private sealedSeq: number
  /** Body bytes of the messages stored and not yet taken (bounded queues); persisted as b/<queue>. */
  private depthBytes: number
  /** The b/ record must go in the next batch: bytes left by a read, removal or empty, or counters changed. */
  private bytesDirty = false
  /** Body bytes appended since the b/ record was last written (a restart counts them from the chunks). */
  private appendedSinceRecord = 0
  private readonly bytesRecordEvery: number
  /** The owner's counters (dead letters, drops, ...) written beside the byte count; see BackendQueue. */
  countersSource: (() => readonly number[]) | null = null
  private readonly storedCounters: readonly number[] | undefined
  private open: Message[] = []
  private sealedChunks: SealedChunk[] = []
  /** Backlog (bodies + per-message overhead) put and not yet written: open, and sealed into the batch being written. */
  private openBytes = 0
  private sealedBytes = 0
  private inDirtySet = false
  private readDirty = false
  private pendingDels: string[] = []
  /** Tombstones to write, sealed with this queue's chunks (same batch segment as the caller's publish). */
  private pendingTombstones: string[] = []

  private buf: Array<Message | undefined> = []
  /** Body bytes in `buf` from `head` on. */
  private bufBytes = 0
  private bufSeq: number[] = []
  private head = 0
  /** Everything below is in `buf` or was skipped. */
  private aheadSeq: number
  /** Key sequence to start the next refill from. */
  private aheadKeySeq: number
  /** [start, end) pairs of chunks loaded into `buf`, deleted once readSeq passes their end. */
  private loaded: number[] = []
  private loadedHead = 0
  private refilling = false
  private wantReadable = false
  private gen = 0
  private closed = false
  private deleted = false
  private restoredDeferred: Buffer[] | undefined
  /** Tombstoned sequence numbers, ascending, from removedHead on (those below readSeq are pruned). */
  private removedSeqs: number[] = []
  private removedHead = 0
  private readonly removedSet = new Set<number>()

  constructor (store: Store, name: string, opts: LevelQueueOptions, state: StoredQueueState | undefined, deferred: Buffer[] | undefined, inFlight: Buffer[] | undefined, removed?: number[]) {
    this.store = store
    this.name = name
    this.journaling = opts.journal ?? store.durable
    this.refuseWhenUnhealthy = opts.refuseWhenUnhealthy ?? false
    this.maxChunkMessages = store.options.maxChunkMessages ?? 1000
    this.maxChunkBytes = store.options.maxChunkBytes ?? 1024 * 1024
    this.readAhead = store.options.readAheadMessages ?? 4000
    this.readAheadBytes = store.options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES
    this.bytesRecordEvery = store.options.bytesRecordEvery ?? BYTES_RECORD_EVERY
    const s = state ?? { readSeq: 0, writeSeq: 0, readChunkSeq: 0 }
    this.writeSeq = s.writeSeq
    this.readSeq = s.readSeq
    this.committedSeq = s.writeSeq
    this.sealedSeq = s.writeSeq
    this.depthBytes = s.writeSeq > s.readSeq ? (s.bytes ?? 0) : 0
    this.storedCounters = s.counters
    this.aheadSeq = s.readSeq
    this.aheadKeySeq = s.readChunkSeq
    this.restoredDeferred = deferred
    if (removed !== undefined) {
      for (const seq of removed) {
        if (seq >= this.readSeq && seq < this.writeSeq) this.addRemoved(seq)
        else this.pendingDels.push(removedKey(name, seq))
      }
      if (this.pendingDels.length > 0) this.markDirty()
    }
    if (inFlight !== undefined) this.requeueJournaled(inFlight)
    this.maybeRefill()
  }

  put (msg: Message): boolean {
    if (this.closed || (this.refuseWhenUnhealthy && !this.store.healthy)) return false
    this.append(msg)
    return true
  }

  shift (): Message | undefined {
    if (this.head >= this.buf.length) {
      this.wantReadable = true
      this.maybeRefill()
      return undefined
    }
    const msg = this.buf[this.head] as Message
    this.buf[this.head] = undefined
    this.bufBytes -= msg.body.length
    this.depthBytes -= msg.body.length
    this.bytesDirty = true
    this.readSeq = this.bufSeq[this.head] + 1
    this.head++
    if (this.head >= this.buf.length) {
      this.buf.length = 0
      this.bufSeq.length = 0
      this.head = 0
      this.bufBytes = 0
      if (this.aheadSeq > this.readSeq) this.readSeq = this.aheadSeq
      // skipped (damaged or missing) messages were never counted out: an empty queue holds 0 bytes
      if (this.readSeq >= this.writeSeq || this.depthBytes < 0) this.depthBytes = 0
    } else if (this.head >= 4096 && this.head * 2 >= this.buf.length) {
      this.buf = this.buf.slice(this.head)
      this.bufSeq = this.bufSeq.slice(this.head)
      this.head = 0
    }
    this.readDirty = true
    if (this.removedHead < this.removedSeqs.length) this.pruneRemoved()
    this.releaseConsumedChunks()
    this.markDirty()
    this.maybeRefill()
    return msg
  }

  depth (): number {
    return this.writeSeq - this.readSeq - (this.removedSeqs.length - this.removedHead)
  }

  /** See BackendQueue.scan: read-ahead buffer, then committed chunks, then what is not written yet. */
  async scan (visit: (msg: Message, seq: number) => boolean): Promise<void> {
    if (this.closed) return
    for (let i = this.head; i < this.buf.length; i++) if (!visit(this.buf[i] as Message, this.bufSeq[i])) return
    // the rest as it is now: committed chunks from aheadSeq, sealed ones being written, the open list
    const from = this.aheadSeq
    const to = this.committedSeq
    const sealed = this.sealedChunks.slice()
    const open = this.open.slice()
    const openStart = this.writeSeq - open.length
    const removed = new Set(this.removedSet)
    if (from < to) {
      const prefix = chunkPrefix(this.name)
      const it = this.store.db.iterator({ gte: chunkKey(this.name, Math.min(this.aheadKeySeq, from)), lt: chunkKey(this.name, to) })
      const decoded: Message[] = []
      try {
        while (true) {
          const entries = await it.nextv(REFILL_CHUNKS_PER_STEP)
          if (entries.length === 0) break
          for (const [key, value] of entries) {
            const start = parseChunkKey(key)?.seq ?? -1
            if (start < 0 || !key.startsWith(prefix)) continue
            decoded.length = 0
            const count = decodeChunk(value, decoded)
            for (let i = 0; i < count; i++) {
              const seq = start + i
              if (seq < from || seq >= to || removed.has(seq)) continue
              if (!visit(decoded[i], seq)) return
            }
          }
        }
      } finally {
        await it.close()
      }
    }
    for (const chunk of sealed) {
      for (let i = 0; i < chunk.msgs.length; i++) {
        const seq = chunk.start + i
        if (seq >= to && !removed.has(seq) && !visit(chunk.msgs[i], seq)) return
      }
    }
    for (let i = 0; i < open.length; i++) {
      const seq = openStart + i
      if (!removed.has(seq) && !visit(open[i], seq)) return
    }
  }

  /** See BackendQueue.remove. At the head it is a read; elsewhere a tombstone in this tick's batch. */
  remove (found: Message, seq: number): boolean {
    const id = found.id
    if (this.closed || seq < this.readSeq || seq >= this.writeSeq || this.removedSet.has(seq)) return false
    if (this.head < this.buf.length && this.bufSeq[this.head] === seq) {
      if ((this.buf[this.head] as Message).id !== id) return false
      this.shift()
      return true
    }
    if (seq < this.aheadSeq) {
      // in the read-ahead buffer, or skipped
      let lo = this.head
      let hi = this.buf.length - 1
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        const at = this.bufSeq[mid]
        if (at === seq) {
          const msg = this.buf[mid] as Message
          if (msg.id !== id) return false
          this.buf.splice(mid, 1)
          this.bufSeq.splice(mid, 1)
          this.bufBytes -= msg.body.length
          lo = -1
          break
        }
        if (at < seq) lo = mid + 1
        else hi = mid - 1
      }
      if (lo !== -1) return false
    }
    this.addRemoved(seq)
    this.pendingTombstones.push(removedKey(this.name, seq))
    this.depthBytes -= found.body.length
    this.bytesDirty = true
    this.markDirty()
    return true
  }

  private addRemoved (seq: number): void {
    const list = this.removedSeqs
    let i = list.length
    while (i > this.removedHead && list[i - 1] > seq) i--
    list.splice(i, 0, seq)
    this.removedSet.add(seq)
  }

  /** Drops the tombstones the read position has passed (their keys go in the next batch). */
  private pruneRemoved (): void {
    const list = this.removedSeqs
    while (this.removedHead < list.length && list[this.removedHead] < this.readSeq) {
      const seq = list[this.removedHead++]
      this.removedSet.delete(seq)
      this.pendingDels.push(removedKey(this.name, seq))
    }
    if (this.removedHead === list.length) {
      list.length = 0
      this.removedHead = 0
    }
  }

  bytes (): number {
    return this.depthBytes
  }

  markCountersDirty (): void {
    if (this.closed || this.deleted) return
    this.bytesDirty = true
    this.markDirty()
  }

  restoredCounters (): readonly number[] | undefined {
    return this.storedCounters
  }

  empty (): void {
    if (this.closed) return
    this.dropAll()
    this.store.clear(chunkPrefix(this.name), chunkKey(this.name, this.writeSeq))
    this.store.clear(deferredPrefix(this.name), prefixEnd(deferredPrefix(this.name)))
    this.store.clear(inFlightPrefix(this.name), prefixEnd(inFlightPrefix(this.name)))
    this.store.clear(removedPrefix(this.name), prefixEnd(removedPrefix(this.name)))
    this.readDirty = true
    this.markDirty()
  }

  async delete (): Promise<void> {
    if (this.closed) return
    this.dropAll()
    this.closed = true
    this.deleted = true
    const prefix = chunkPrefix(this.name)
    this.store.clear(prefix, prefixEnd(prefix))
    this.store.clear(deferredPrefix(this.name), prefixEnd(deferredPrefix(this.name)))
    this.store.clear(inFlightPrefix(this.name), prefixEnd(inFlightPrefix(this.name)))
    this.store.clear(removedPrefix(this.name), prefixEnd(removedPrefix(this.name)))
    this.store.push({ type: 'del', key: readKey(this.name) })
    this.store.push({ type: 'del', key: bytesKey(this.name) })
    this.store.detach(this.name, this, undefined)
    await this.store.whenCommitted()
  }

  async close (): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.gen++
      this.readDirty = true
      this.bytesDirty = true
      this.markDirty()
      const chunkSeq = this.loadedHead < this.loaded.length ? this.loaded[this.loadedHead] : this.aheadKeySeq
      this.store.detach(this.name, this, { readSeq: this.readSeq, writeSeq: this.writeSeq, readChunkSeq: Math.min(chunkSeq, this.readSeq), bytes: this.depthBytes, counters: this.countersSource?.().slice() }, this.removedSeqs.slice(this.removedHead))
    }
    await this.store.whenCommitted()
  }

  whenCommitted (): Promise<void> {
    return this.store.whenCommitted()
  }

  markInFlight (msg: Message): void {
    if (this.journaling && !this.closed) this.store.push({ type: 'put', key: inFlightKey(this.name, msg.id), value: encodeSingle(msg, 0) })
  }

  markDone (msg: Message): void {
    if (this.journaling && !this.closed) this.store.push({ type: 'del', key: inFlightKey(this.name, msg.id) })
  }

  markDeferred (msg: Message, dueMs: number): void {
    if (this.journaling && !this.closed) this.store.push({ type: 'put', key: deferredKey(this.name, msg.id), value: encodeSingle(msg, dueMs) })
  }

  unmarkDeferred (msg: Message): void {
    if (this.journaling && !this.closed) this.store.push({ type: 'del', key: deferredKey(this.name, msg.id) })
  }

  putDeferred (msg: Message, dueMs: number): boolean {
    if (this.closed) return false
    this.store.push({ type: 'put', key: deferredKey(this.name, msg.id), value: encodeSingle(msg, dueMs) })
    return true
  }

  takeDeferred (): DeferredEntry[] {
    const values = this.restoredDeferred
    this.restoredDeferred = undefined
    if (values === undefined) return []
    const out: DeferredEntry[] = []
    for (const value of values) {
      const rec = decodeSingle(value)
      if (rec === undefined) {
        this.store.logger.error(`DISKQUEUE(${this.name}): dropping a damaged deferred entry`)
        continue
      }
      out.push({ msg: rec.msg, dueMs: rec.prefixNumber })
    }
    if (!this.journaling) {
      // from now on they live in the channel's memory (written again at shutdown)
      this.store.clear(deferredPrefix(this.name), prefixEnd(deferredPrefix(this.name)))
    }
    return out
  }

  // --- StoreClient ---

  seal (ops: StoreOp[]): void {
    this.inDirtySet = false
    if (this.deleted) return
    const open = this.open
    if (open.length > 0) {
      let start = this.writeSeq - open.length
      let i = 0
      while (i < open.length) {
        let j = i
        let bytes = 0
        while (j < open.length && j - i < this.maxChunkMessages && (j === i || bytes + open[j].body.length <= this.maxChunkBytes)) {
          bytes += open[j].body.length
          j++
        }
        ops.push({ type: 'put', key: chunkKey(this.name, start), value: encodeChunk(open, i, j) })
        this.sealedChunks.push({ start, msgs: i === 0 && j === open.length ? open : open.slice(i, j) })
        start += j - i
        i = j
      }
      this.open = []
      this.sealedBytes += this.openBytes
      this.openBytes = 0
    }
    this.sealedSeq = this.writeSeq
    if (this.readDirty) {
      this.readDirty = false
      ops.push({ type: 'put', key: readKey(this.name), value: encodeSeq(this.readSeq) })
    }
    if (this.pendingTombstones.length > 0) {
      for (const key of this.pendingTombstones) ops.push({ type: 'put', key, value: EMPTY })
      this.pendingTombstones = []
    }
    if (this.bytesDirty || this.appendedSinceRecord >= this.bytesRecordEvery) {
      // in the batch that holds the chunks and the read position it describes; publish-only
      // batches leave it alone (a restart adds the bytes of the chunks from writeSeq on)
      this.bytesDirty = false
      this.appendedSinceRecord = 0
      ops.push({ type: 'put', key: bytesKey(this.name), value: encodeBytesRecord(Math.max(0, this.depthBytes), this.writeSeq, this.countersSource?.()) })
    }
    if (this.pendingDels.length > 0) {
      for (const key of this.pendingDels) ops.push({ type: 'del', key })
      this.pendingDels = []
    }
  }

  committed (): void {
    if (this.sealedSeq > this.committedSeq) this.committedSeq = this.sealedSeq
    if (this.sealedBytes > 0) {
      this.store.releaseBacklog(this.sealedBytes)
      this.sealedBytes = 0
    }
    const chunks = this.sealedChunks
    if (chunks.length === 0) return
    this.sealedChunks = []
    if (this.closed || this.refilling || chunks[0].start !== this.aheadSeq || this.aheadFull()) {
      this.maybeRefill()
      return
    }
    // the reader is caught up: hand the just-written messages over without reading them back
    for (const chunk of chunks) {
      const n = chunk.msgs.length
      for (let i = 0; i < n; i++) {
        const msg = chunk.msgs[i]
        if (this.removedSet.size > 0 && this.removedSet.has(chunk.start + i)) continue
        this.buf.push(msg)
        this.bufSeq.push(chunk.start + i)
        this.bufBytes += msg.body.length
      }
      this.loaded.push(chunk.start, chunk.start + n)
      this.aheadSeq = chunk.start + n
      this.aheadKeySeq = this.aheadSeq
    }
    this.notify()
  }

  // --- internals ---

  private append (msg: Message): void {
    this.open.push(msg)
    const cost = msg.body.length + MESSAGE_OVERHEAD_BYTES
    this.openBytes += cost
    this.depthBytes += msg.body.length
    this.appendedSinceRecord += msg.body.length
    this.store.addBacklog(cost)
    this.writeSeq++
    this.store.countWrites(1)
    this.markDirty()
  }

  private markDirty (): void {
    if (this.inDirtySet) return
    this.inDirtySet = true
    this.store.markDirty(this)
  }

  /** Durable mode restart: delivered-but-unfinished messages go back at the end of the queue. */
  private requeueJournaled (values: Buffer[]): void {
    let n = 0
    for (const value of values) {
      const rec = decodeSingle(value)
      if (rec !== undefined) {
        this.append(rec.msg)
        this.store.push({ type: 'del', key: inFlightKey(this.name, rec.msg.id) })
        n++
      } else {
        this.store.logger.error(`DISKQUEUE(${this.name}): dropping a damaged in-flight entry`)
      }
    }
    this.store.clear(inFlightPrefix(this.name), prefixEnd(inFlightPrefix(this.name)))
    if (n > 0) this.store.logger.info(`DISKQUEUE(${this.name}): requeued ${n} unfinished in-flight messages`)
  }

  private dropAll (): void {
    this.gen++
    this.refilling = false
    this.open = []
    this.sealedChunks = []
    this.store.releaseBacklog(this.openBytes + this.sealedBytes)
    this.openBytes = 0
    this.sealedBytes = 0
    this.buf = []
    this.bufBytes = 0
    this.bufSeq = []
    this.head = 0
    this.loaded = []
    this.loadedHead = 0
    this.pendingDels = []
    this.pendingTombstones = []
    this.restoredDeferred = undefined
    this.removedSeqs = []
    this.removedHead = 0
    this.removedSet.clear()
    this.readSeq = this.writeSeq
    this.aheadSeq = this.writeSeq
    this.aheadKeySeq = this.writeSeq
    this.depthBytes = 0
    this.bytesDirty = true
  }

  private releaseConsumedChunks (): void {
    const loaded = this.loaded
    while (this.loadedHead < loaded.length && loaded[this.loadedHead + 1] <= this.readSeq) {
      this.pendingDels.push(chunkKey(this.name, loaded[this.loadedHead]))
      this.loadedHead += 2
    }
    if (this.loadedHead === loaded.length) {
      loaded.length = 0
      this.loadedHead = 0
    } else if (this.loadedHead > 1024) {
      this.loaded = loaded.slice(this.loadedHead)
      this.loadedHead = 0
    }
  }

  private notify (): void {
    if (this.wantReadable && this.head < this.buf.length) {
      this.wantReadable = false
      this.onReadable?.()
    }
  }

  private maybeRefill (): void {
    if (this.refilling || this.closed || this.aheadSeq >= this.committedSeq) return
    if (this.buf.length - this.head >= this.readAhead >> 1 || this.bufBytes >= this.readAheadBytes >> 1) return
    this.refilling = true
    this.refill().catch((err: Error) => {
      this.store.logger.error(`DISKQUEUE(${this.name}): read failed - ${err.message}`)
    })
  }

  private async refill (): Promise<void> {
    const gen = this.gen
    const limitSeq = this.committedSeq
    const prefix = chunkPrefix(this.name)
    const it = this.store.db.iterator({ gte: chunkKey(this.name, this.aheadKeySeq), lt: chunkKey(this.name, limitSeq) })
    let exhausted = false
    const decoded: Message[] = []
    try {
      while (!this.aheadFull()) {
        // chunks are up to maxChunkBytes each: read no more of them than the byte bound allows
        const room = Math.floor((this.readAheadBytes - this.bufBytes) / this.maxChunkBytes)
        const entries = await it.nextv(Math.max(1, Math.min(REFILL_CHUNKS_PER_STEP, room)))
        if (gen !== this.gen) return
        if (entries.length === 0) { exhausted = true; break }
        for (const [key, value] of entries) {
          const start = parseChunkKey(key)?.seq ?? -1
          if (start < 0 || !key.startsWith(prefix)) continue
          if (start > this.aheadSeq) this.skipTo(start, 'missing')
          decoded.length = 0
          const count = decodeChunk(value, decoded)
          if (count < 0) {
            this.store.logger.error(`DISKQUEUE(${this.name}): skipping damaged chunk ${key} (${value.length} bytes)`)
            this.pendingDels.push(key)
            this.aheadKeySeq = start + 1
            continue
          }
          const end = start + count
          for (let i = 0; i < count; i++) {
            if (start + i >= this.aheadSeq && (this.removedSet.size === 0 || !this.removedSet.has(start + i))) {
              const msg = decoded[i]
              this.buf.push(msg)
              this.bufSeq.push(start + i)
              this.bufBytes += msg.body.length
            }
          }
          this.loaded.push(start, end)
          if (end > this.aheadSeq) this.aheadSeq = end
          this.aheadKeySeq = end
        }
      }
      if (exhausted && this.aheadSeq < limitSeq) this.skipTo(limitSeq, 'missing at the end of')
    } finally {
      if (gen === this.gen) this.refilling = false
      await it.close()
    }
    if (gen !== this.gen) return
    if (this.head >= this.buf.length && this.aheadSeq > this.readSeq) {
      // everything up to aheadSeq was dropped: move the read position past it
      this.readSeq = this.aheadSeq
      this.readDirty = true
    }
    if (this.removedHead < this.removedSeqs.length) this.pruneRemoved()
    this.releaseConsumedChunks()
    if (this.readDirty || this.pendingDels.length > 0) this.markDirty()
    this.notify()
    this.maybeRefill()
  }

  /** The read-ahead holds enough: by count (readAheadMessages) or by body bytes (readAheadBytes). */
  private aheadFull (): boolean {
    return this.buf.length - this.head >= this.readAhead || this.bufBytes >= this.readAheadBytes
  }

  private skipTo (seq: number, what: string): void {
    this.store.logger.error(`DISKQUEUE(${this.name}): ${seq - this.aheadSeq} messages ${what} the queue were dropped`)
    this.aheadSeq = seq
    this.aheadKeySeq = seq
  }
}
