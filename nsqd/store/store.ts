// One LevelDB per nsqd, and the single group-commit writer every queue writes through.
//
// Queues never await I/O per message: they append operations (or mark themselves dirty and
// produce their chunks when asked to seal). Once per tick, everything pending from every queue
// goes into ONE `db.batch()`; while a batch is being written the next one accumulates. A batch
// is written with `sync: true` when the sync policy says so: --sync-every writes since the last
// sync (1 = every batch: durable mode) or the --sync-timeout ticker found unsynced writes.
//
// A failed batch is kept and retried (puts and deletes are idempotent), so nothing already
// acknowledged is lost; meanwhile the store is unhealthy, `whenCommitted()` callers of that batch
// get the error, and topics refuse new publishes (see LevelBackendQueue).
//
// Replication (`replicated`, nsqd/replication): a batch counts as committed for its
// `whenCommitted()` callers only once the standbys acknowledged it, but the next batch is written
// (and shipped) while that acknowledgement is awaited: up to MAX_UNACKED batches in flight, settled
// in order. Queues see a batch as written (committed()) once it is on the local disk. A batch whose
// replication fails is not retried (it is written here and shipped; standbys that missed it catch
// up from the tail or a copy): its callers get the error and the store is unhealthy until a later
// batch replicates.

import type { Level } from 'level'
import { KEY_BYTES, KEY_REMOVED, KEY_CHUNK, KEY_DEFERRED, KEY_INFLIGHT, KEY_META, KEY_READ, KEY_SYNC, chunkBodyBytes, chunkCount, chunkKey, chunkPrefix, decodeBytesRecord, decodeSeq, parseChunkKey, prefixEnd } from './records.js'
import { LevelBackendQueue } from './level-backend-queue.js'
export { MESSAGE_OVERHEAD_BYTES } from './level-backend-queue.js'
import type { LevelQueueOptions, StoredQueueState } from './level-backend-queue.js'
import { classify, isStorageError, openLevel, reasonOf, repairLevel, untouched, StoreOpenError, type RepairFn } from './open.js'

export { StoreOpenError } from './open.js'

export type StoreOp =
  | { type: 'put', key: string, value: Buffer }
  | { type: 'del', key: string }

/** A range deletion; runs between batches, in order with the other operations. */
interface ClearOp { type: 'clear', gte: string, lt: string }

type PendingOp = StoreOp | ClearOp

/** Writes one batch; injectable so tests can simulate a failing or full disk. */
export type WriteBatchFn = (ops: StoreOp[], sync: boolean) => Promise<void>

export interface StoreLogger {
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
}

export interface StoreOptions {
  /** The LevelDB directory (created if missing). */
  path: string
  /** Sync after this many message writes; 1 = every batch is synced (durable mode). */
  syncEvery: number
  /** Sync at least this often while there are unsynced writes. */
  syncTimeoutMs: number
  /** Retry interval for a failed batch. */
  retryMs?: number
  maxChunkMessages?: number
  maxChunkBytes?: number
  readAheadMessages?: number
  /** Body bytes each queue reads ahead from disk (default 4 MiB), whatever the message count. */
  readAheadBytes?: number
  /**
   * Body bytes a queue appends before publishing alone rewrites its b/ record (default
   * BYTES_RECORD_EVERY); also what a restart or a promotion reads back per queue after a crash.
   */
  bytesRecordEvery?: number
  /** LevelDB's in-memory write buffer; bigger means fewer, larger compactions. */
  writeBufferBytes?: number
  /** Unwritten message memory (bodies + MESSAGE_OVERHEAD_BYTES each) above which `behind` is true (publishers wait); default 8 MiB. */
  backlogHighBytes?: number
  logger?: StoreLogger
  /** Replaces `db.batch()`; receives the default writer so it can delegate. */
  writeBatch?: (ops: StoreOp[], sync: boolean, write: WriteBatchFn) => Promise<void>
  /** Replaces a range clear (between batches); receives the default one (replication ships it). */
  clearRange?: (gte: string, lt: string, clear: (gte: string, lt: string) => Promise<void>) => Promise<void>
  /**
   * Replication: called after each batch is written locally; resolves once every batch written so
   * far is replicated, rejects when it cannot be (see the header).
   */
  replicated?: () => Promise<void>
  /** A clean close: called once every batch is written, before the database closes (replication: the exact position). */
  beforeClose?: (db: Level<string, Buffer>) => Promise<void>
  /** Called when health changes. */
  onHealth?: (healthy: boolean, err: Error | null) => void
  /** Tests: replaces LevelDB's repair (e.g. one that fails). */
  repair?: RepairFn
}

export interface StoreLoaded {
  queues: Map<string, StoredQueueState>
  deferred: Map<string, Buffer[]>
  inFlight: Map<string, Buffer[]>
  /** Sequence numbers removed from the middle of each queue (x/ keys), ascending. */
  removed: Map<string, number[]>
  meta: Buffer | undefined
}

/** Replication: written batches whose acknowledgement may be awaited at once. */
const MAX_UNACKED = 2

/** A queue as the writer sees it. */
export interface StoreClient {
  /** Appends this queue's pending chunk puts, read position and chunk deletions. */
  seal (ops: StoreOp[]): void
  /** Everything sealed so far is written. */
  committed (): void
}

interface Waiter {
  promise: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

const noop = (): void => {}

function newWaiter (): Waiter {
  let resolve: () => void = noop
  let reject: (err: Error) => void = noop
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  promise.catch(noop)
  return { promise, resolve, reject }
}

/** LevelDB's default; it holds up to two (one being flushed) besides the batch being written. */
const DEFAULT_WRITE_BUFFER_BYTES = 4 * 1024 * 1024
/** Unwritten message memory above which publishers are slowed down (they resume at half). */
const DEFAULT_BACKLOG_HIGH_BYTES = 8 * 1024 * 1024


const silentLogger: StoreLogger = { info: noop, warn: noop, error: noop }

export class Store {
  readonly db: Level<string, Buffer>
  readonly options: StoreOptions
  readonly logger: StoreLogger
  readonly durable: boolean
  healthy = true
  lastError: Error | null = null

  private readonly loaded: StoreLoaded
  private readonly queues = new Map<string, LevelBackendQueue>()
  private ops: PendingOp[] = []
  private dirty = new Set<StoreClient>()
  /** Clients sealed into a batch that has not been written yet (kept across failed attempts). */
  private sealed = new Set<StoreClient>()
  private retained: PendingOp[] = []
  private scheduled = false
  private writing = false
  /** Replication: batches written, their acknowledgement still awaited (settled in order). */
  private unacked = 0
  private ackTail: Promise<void> = Promise.resolve()
  private openWaiter: Waiter | null = null
  private writesSinceSync = 0
  /** Memory of messages accepted by queues and not yet written (see `behind`). */
  private backlogBytes = 0
  private caughtUpWaiters: Array<() => void> = []
  private syncRequested = false
  private retryTimer: NodeJS.Timeout | null = null
  private syncTimer: NodeJS.Timeout | null = null
  private closed = false
  private readonly writeFn: WriteBatchFn
  private readonly clearFn: (gte: string, lt: string) => Promise<void>
  private readonly commitNow = (): void => { this.scheduled = false; void this.commit() }

  private constructor (db: Level<string, Buffer>, options: StoreOptions, loaded: StoreLoaded) {
    this.db = db
    this.options = options
    this.logger = options.logger ?? silentLogger
    this.durable = options.syncEvery <= 1
    this.loaded = loaded
    const direct: WriteBatchFn = (ops, sync) => this.db.batch(ops, { sync })
    const inject = options.writeBatch
    this.writeFn = inject === undefined ? direct : (ops, sync) => inject(ops, sync, direct)
    const clear = (gte: string, lt: string): Promise<void> => this.db.clear({ gte, lt })
    const injectClear = options.clearRange
    this.clearFn = injectClear === undefined ? clear : (gte, lt) => injectClear(gte, lt, clear)
    if (options.syncTimeoutMs > 0 && !this.durable) {
      this.syncTimer = setInterval(() => {
        if (this.writesSinceSync > 0) void this.sync()
      }, options.syncTimeoutMs)
      this.syncTimer.unref()
    }
  }

  /**
   * Opens (creating, or repairing a damaged store after keeping a copy: see open.ts) and loads what
   * the queues need to resume. An I/O error changes nothing and throws a one-line StoreOpenError.
   */
  static async open (options: StoreOptions): Promise<Store> {
    const logger = options.logger ?? silentLogger
    const location = options.path
    const bufferBytes = options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES
    let db = await openLevel(location, bufferBytes, logger, options.repair)
    let loaded: StoreLoaded
    try {
      loaded = await loadState(db, logger)
    } catch (err) {
      // a table that does not read back (damage found only now) is repaired like a damaged open
      await db.close().catch(noop)
      if (classify(err) !== 'damaged') throw isStorageError(err) ? untouched(location, err) : err
      db = await repairLevel(location, bufferBytes, logger, reasonOf(err), options.repair)
      try {
        loaded = await loadState(db, logger)
      } catch (err2) {
        await db.close().catch(noop)
        throw new StoreOpenError(`data store ${location} still does not read back after a repair: ${reasonOf(err2)}; the copy made before the repair is kept beside it`, { cause: err2 })
      }
    }
    return new Store(db, options, loaded)
  }

  /** Topic/channel metadata as last written (metadata.ts decodes it). */
  get storedMeta (): Buffer | undefined { return this.loaded.meta }

  /** Names of queues that have data on disk (chunks, deferred or in-flight entries). */
  storedQueueNames (): string[] {
    const names = new Set<string>([...this.loaded.queues.keys(), ...this.loaded.deferred.keys(), ...this.loaded.inFlight.keys()])
    return [...names]
  }

  /** Opens the queue `name` (topic name, or `<topic>:<channel>`), resuming what is stored. */
  openQueue (name: string, opts: LevelQueueOptions = {}): LevelBackendQueue {
    if (this.closed) throw new Error('store is closed')
    if (this.queues.has(name)) throw new Error(`queue ${name} is already open`)
    const state = this.loaded.queues.get(name)
    const deferred = this.loaded.deferred.get(name)
    const inFlight = this.loaded.inFlight.get(name)
    const removed = this.loaded.removed.get(name)
    this.loaded.queues.delete(name)
    this.loaded.deferred.delete(name)
    this.loaded.inFlight.delete(name)
    this.loaded.removed.delete(name)
    const q = new LevelBackendQueue(this, name, opts, state, deferred, inFlight, removed)
    this.queues.set(name, q)
    return q
  }

  /** Called by a queue that released itself. */
  detach (name: string, q: LevelBackendQueue, resumeAt: StoredQueueState | undefined, removed?: number[]): void {
    if (this.queues.get(name) !== q) return
    this.queues.delete(name)
    if (resumeAt !== undefined) this.loaded.queues.set(name, resumeAt)
    if (removed !== undefined && removed.length > 0) this.loaded.removed.set(name, removed)
  }

  /** Queues an operation for the next batch. */
  push (op: StoreOp): void {
    this.ops.push(op)
    this.schedule()
  }

  /** Queues a range deletion, ordered after everything queued before it. */
  clear (gte: string, lt: string): void {
    this.ops.push({ type: 'clear', gte, lt })
    this.schedule()
  }

  /** Marks a queue as having something to seal at the next commit. */
  markDirty (client: StoreClient): void {
    this.dirty.add(client)
    this.schedule()
  }

  /** Counts message writes towards --sync-every. */
  addBacklog (bytes: number): void {
    this.backlogBytes += bytes
  }

  releaseBacklog (bytes: number): void {
    this.backlogBytes = Math.max(0, this.backlogBytes - bytes)
    if (this.caughtUpWaiters.length > 0 && this.backlogBytes <= this.backlogLowBytes) this.releaseWaiters()
  }

  /**
   * True while more than `backlogHighBytes` of accepted messages wait to be written: the disk is
   * slower than the publishers, and they should be slowed down (backpressure) instead of the
   * backlog growing in memory without bound.
   */
  get behind (): boolean {
    return this.backlogBytes > this.backlogHighBytes
  }

  get backlog (): number {
    return this.backlogBytes
  }

  /** Resolves once the unwritten backlog is down to `backlogLowBytes` (at once when not behind). */
  whenCaughtUp (): Promise<void> {
    if (this.backlogBytes <= this.backlogLowBytes || this.closed) return Promise.resolve()
    return new Promise((resolve) => { this.caughtUpWaiters.push(resolve) })
  }

  private get backlogHighBytes (): number {
    return this.options.backlogHighBytes ?? DEFAULT_BACKLOG_HIGH_BYTES
  }

  private get backlogLowBytes (): number {
    return this.backlogHighBytes / 2
  }

  private releaseWaiters (): void {
    const waiters = this.caughtUpWaiters
    this.caughtUpWaiters = []
    for (const w of waiters) w()
  }

  countWrites (n: number): void {
    this.writesSinceSync += n
  }

  /**
   * Resolves once everything queued so far is written (with sync:true in durable mode);
   * rejects with the write error if that batch fails. One promise per batch, shared by callers.
   */
  whenCommitted (): Promise<void> {
    if (this.openWaiter === null) {
      if (!this.hasPending() && !this.writing) {
        // replication: the batches in flight hold everything; settled when they are
        return this.unacked === 0 ? Promise.resolve() : this.ackTail.then(() => { if (!this.healthy && this.lastError !== null) throw this.lastError })
      }
      this.openWaiter = newWaiter()
      this.schedule()
    }
    return this.openWaiter.promise
  }

  /** Makes the next batch a synced one and resolves when it is written. */
  sync (): Promise<void> {
    this.syncRequested = true
    if (!this.hasPending()) this.ops.push({ type: 'put', key: KEY_SYNC, value: Buffer.from([1]) })
    return this.whenCommitted()
  }

  /** Writes everything pending (synced), then closes the database. */
  async close (): Promise<void> {
    if (this.closed) return
    await Promise.all([...this.queues.values()].map(async q => { await q.close().catch(noop) }))
    this.closed = true
    this.releaseWaiters()
    if (this.syncTimer !== null) clearInterval(this.syncTimer)
    let clean = true
    try {
      await this.sync()
    } catch (err) {
      clean = false
      // one more immediate attempt; then report what could not be written
      if (this.retryTimer !== null) { clearTimeout(this.retryTimer); this.retryTimer = null }
      try {
        await this.sync()
      } catch (err2) {
        this.logger.error(`DISKQUEUE: closing with ${this.retained.length + this.ops.length} unwritten operations - ${(err2 as Error).message}`)
      }
    }
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    if (clean && this.options.beforeClose !== undefined) await this.options.beforeClose(this.db).catch(noop)
    await this.db.close()
  }

  private hasPending (): boolean {
    return this.ops.length > 0 || this.dirty.size > 0 || this.retained.length > 0
  }

  private schedule (): void {
    if (this.scheduled || this.writing || this.retryTimer !== null || this.unacked >= MAX_UNACKED) return
    this.scheduled = true
    setImmediate(this.commitNow)
  }

  private async commit (): Promise<void> {
    if (this.unacked >= MAX_UNACKED) return // rescheduled when the oldest settles
    if (this.writing || !this.hasPending()) {
      if (!this.writing && this.openWaiter !== null) {
        const w = this.openWaiter
        this.openWaiter = null
        if (this.unacked === 0) w.resolve()
        else void this.ackTail.then(() => { if (!this.healthy && this.lastError !== null) w.reject(this.lastError); else w.resolve() })
      }
      return
    }
    this.writing = true
    const batchOps: StoreOp[] = []
    let pending: PendingOp[] = this.retained
    this.retained = []
    for (const op of this.ops) pending.push(op)
    this.ops = []
    // queues seal after the explicit ops: their chunk puts may follow a range clear they queued
    if (this.dirty.size > 0) {
      for (const client of this.dirty) {
        client.seal(batchOps)
        this.sealed.add(client)
      }
      this.dirty.clear()
      for (const op of batchOps) pending.push(op)
    }
    const waiter = this.openWaiter
    this.openWaiter = null
    const sync = this.durable || this.syncRequested || this.writesSinceSync >= this.options.syncEvery
    const writes = this.writesSinceSync
    this.syncRequested = false
    let done = 0
    try {
      let segment: StoreOp[] = []
      for (let i = 0; i < pending.length; i++) {
        const op = pending[i]
        if (op.type === 'clear') {
          if (segment.length > 0) await this.writeFn(segment, false)
          segment = []
          await this.clearFn(op.gte, op.lt)
          done = i + 1
        } else {
          segment.push(op)
        }
      }
      await this.writeFn(segment, sync)
      done = pending.length
    } catch (err) {
      this.writing = false
      this.retained = pending.slice(done)
      if (sync) this.syncRequested = true
      this.setHealth(false, err as Error)
      waiter?.reject(err as Error)
      if (!this.closed) {
        this.retryTimer = setTimeout(() => { this.retryTimer = null; this.schedule() }, this.options.retryMs ?? 1000)
        this.retryTimer.unref()
      }
      return
    }
    if (sync) this.writesSinceSync = Math.max(0, this.writesSinceSync - writes)
    this.writing = false
    const replicated = this.options.replicated
    if (replicated === undefined) {
      if (!this.healthy) this.setHealth(true, null)
      waiter?.resolve()
    } else {
      this.awaitReplication(replicated(), waiter)
    }
    const sealed = this.sealed
    this.sealed = new Set()
    for (const client of sealed) client.committed()
    if (this.writesSinceSync >= this.options.syncEvery && !this.durable) this.syncRequested = true
    if (this.hasPending() || this.openWaiter !== null) this.schedule()
  }

  /** Settles a written batch's callers once it is replicated, after every earlier batch. */
  private awaitReplication (acked: Promise<void>, waiter: Waiter | null): void {
    this.unacked++
    // a rejection is handled below, in order: never unhandled meanwhile
    acked.catch(noop)
    this.ackTail = this.ackTail.then(() => acked).then(() => {
      if (!this.healthy) this.setHealth(true, null)
      waiter?.resolve()
    }, (err: Error) => {
      this.setHealth(false, err)
      waiter?.reject(err)
      this.probeReplication()
    }).finally(() => {
      this.unacked--
      if (this.hasPending() || this.openWaiter !== null) this.schedule()
    })
  }

  /**
   * After a replication failure topics refuse publishes (unhealthy), so nothing would be written to
   * find out that replication works again: a small batch is tried every retryMs until one is
   * replicated (the failed batch itself is not retried: it is written and shipped).
   */
  private probeReplication (): void {
    if (this.closed || this.retryTimer !== null) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.closed && !this.healthy) this.ops.push({ type: 'put', key: KEY_SYNC, value: Buffer.from([1]) })
      // whatever was held back while the timer was set (a closing store's last sync) goes now
      this.schedule()
    }, this.options.retryMs ?? 1000)
    this.retryTimer.unref()
  }

  private setHealth (healthy: boolean, err: Error | null): void {
    const changed = healthy !== this.healthy
    this.healthy = healthy
    if (err !== null) this.lastError = err
    if (healthy) this.lastError = null
    if (changed) {
      if (healthy) this.logger.info('DISKQUEUE: writes succeed again')
      else this.logger.error(`DISKQUEUE: failed to write batch - ${err?.message ?? 'unknown error'}`)
      this.options.onHealth?.(healthy, err)
    }
  }
}

/** Reads read positions, chunk ranges, deferred and in-flight entries and metadata. */
async function loadState (db: Level<string, Buffer>, logger: StoreLogger): Promise<StoreLoaded> {
  const readSeqs = new Map<string, number>()
  for await (const [key, value] of db.iterator({ gte: KEY_READ, lt: prefixEnd(KEY_READ) })) {
    const seq = decodeSeq(value)
    if (seq >= 0) readSeqs.set(key.slice(KEY_READ.length), seq)
  }
  const storedBytes = new Map<string, { bytes: number, atWriteSeq: number | undefined }>()
  const storedCounters = new Map<string, number[]>()
  for await (const [key, value] of db.iterator({ gte: KEY_BYTES, lt: prefixEnd(KEY_BYTES) })) {
    const rec = decodeBytesRecord(value)
    if (rec === undefined) continue
    storedBytes.set(key.slice(KEY_BYTES.length), { bytes: rec.bytes, atWriteSeq: rec.atWriteSeq })
    if (rec.counters.length > 0) storedCounters.set(key.slice(KEY_BYTES.length), rec.counters)
  }
  const deferred = await loadSingles(db, KEY_DEFERRED)
  const inFlight = await loadSingles(db, KEY_INFLIGHT)
  const removed = new Map<string, number[]>()
  for await (const key of db.keys({ gte: KEY_REMOVED, lt: prefixEnd(KEY_REMOVED) })) {
    const slash = key.lastIndexOf('/')
    const seq = parseInt(key.slice(slash + 1), 16)
    if (slash <= KEY_REMOVED.length || !Number.isSafeInteger(seq)) continue
    const queue = key.slice(KEY_REMOVED.length, slash)
    let list = removed.get(queue)
    if (list === undefined) { list = []; removed.set(queue, list) }
    list.push(seq)
  }
  const meta = await db.get(KEY_META)

  // one seek per queue: the first chunk key of each queue
  const firsts = new Map<string, number>()
  const keys = db.keys({ gte: KEY_CHUNK, lt: prefixEnd(KEY_CHUNK) })
  try {
    let key = await keys.next()
    while (key !== undefined) {
      const parsed = parseChunkKey(key)
      if (parsed === undefined) {
        logger.warn(`DISKQUEUE: ignoring unexpected key ${JSON.stringify(key)}`)
        const slash = key.indexOf('/', KEY_CHUNK.length)
        keys.seek(slash < 0 ? key + '\x00' : prefixEnd(key.slice(0, slash + 1)))
      } else {
        firsts.set(parsed.queue, parsed.seq)
        keys.seek(prefixEnd(chunkPrefix(parsed.queue)))
      }
      key = await keys.next()
    }
  } finally {
    await keys.close()
  }

  const queues = new Map<string, StoredQueueState>()
  for (const [name, firstSeq] of firsts) {
    const prefix = chunkPrefix(name)
    const last = await db.iterator({ gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 }).all()
    const lastSeq = parseChunkKey(last[0][0])?.seq ?? firstSeq
    let count = chunkCount(last[0][1])
    if (count < 0) {
      logger.error(`DISKQUEUE(${name}): last chunk ${last[0][0]} is damaged`)
      count = 1
    }
    const writeSeq = lastSeq + count
    let readSeq = readSeqs.get(name) ?? firstSeq
    if (readSeq > writeSeq) {
      logger.warn(`DISKQUEUE(${name}): read position ${readSeq} beyond write position ${writeSeq}; resetting`)
      readSeq = writeSeq
    }
    if (readSeq < firstSeq) {
      logger.warn(`DISKQUEUE(${name}): ${firstSeq - readSeq} messages missing before ${chunkKey(name, firstSeq)}; skipping them`)
      readSeq = firstSeq
    }
    const at = await db.keys({ gte: prefix, lte: chunkKey(name, readSeq), reverse: true, limit: 1 }).all()
    const readChunkSeq = at.length > 0 ? (parseChunkKey(at[0])?.seq ?? firstSeq) : firstSeq
    const rec = storedBytes.get(name)
    let bytes: number | undefined
    if (rec !== undefined && (rec.atWriteSeq === undefined || rec.atWriteSeq === writeSeq)) {
      bytes = rec.bytes
    } else if (rec?.atWriteSeq !== undefined && rec.atWriteSeq >= readSeq && rec.atWriteSeq < writeSeq) {
      // counted at an earlier write position: add the chunks published since (none was read since,
      // or the record would have been rewritten)
      bytes = rec.bytes + await countBytes(db, name, rec.atWriteSeq, rec.atWriteSeq)
    } else if (readSeq < writeSeq) {
      bytes = await countBytes(db, name, readChunkSeq, readSeq)
      logger.info(`DISKQUEUE(${name}): counted ${bytes} bytes in ${writeSeq - readSeq} stored messages`)
    }
    queues.set(name, { readSeq, writeSeq, readChunkSeq, bytes: bytes ?? 0, counters: storedCounters.get(name) })
  }
  // queues whose data was all consumed still have a read position: keep numbering from it
  for (const [name, seq] of readSeqs) {
    if (!queues.has(name)) queues.set(name, { readSeq: seq, writeSeq: seq, readChunkSeq: seq, counters: storedCounters.get(name) })
  }
  // counters of a queue that never stored a message
  for (const [name, counters] of storedCounters) {
    if (!queues.has(name)) queues.set(name, { readSeq: 0, writeSeq: 0, readChunkSeq: 0, counters })
  }
  return { queues, deferred, inFlight, removed, meta }
}

/** Body bytes stored for `name` from readSeq on (a store written before b/ keys existed). */
async function countBytes (db: Level<string, Buffer>, name: string, readChunkSeq: number, readSeq: number): Promise<number> {
  let total = 0
  for await (const [key, value] of db.iterator({ gte: chunkKey(name, readChunkSeq), lt: prefixEnd(chunkPrefix(name)) })) {
    const start = parseChunkKey(key)?.seq ?? readSeq
    const n = chunkBodyBytes(value, Math.max(0, readSeq - start))
    if (n > 0) total += n
  }
  return total
}

async function loadSingles (db: Level<string, Buffer>, prefix: string): Promise<Map<string, Buffer[]>> {
  const out = new Map<string, Buffer[]>()
  for await (const [key, value] of db.iterator({ gte: prefix, lt: prefixEnd(prefix) })) {
    const slash = key.lastIndexOf('/')
    if (slash <= prefix.length) continue
    const queue = key.slice(prefix.length, slash)
    let list = out.get(queue)
    if (list === undefined) { list = []; out.set(queue, list) }
    list.push(value)
  }
  return out
}
