// Wires the node's one LevelDB into NSQD: the backend factory for topics and channels, metadata
// (load at start, persist on every create/delete/pause), deferred messages restored with their
// remaining delay, health from write failures, and the durable mode's publish acknowledgements.
//
// Durable mode (beyond NSQ) = --mem-queue-size=0 and --sync-every=1: every batch is written with
// sync:true, channels journal delivered messages until FIN, and PUB/MPUB/DPUB/HTTP publishes are
// acknowledged only once their batch is on disk.

import path from 'node:path'
import type { NSQD } from '../nsqd.js'
import type { Channel } from '../core/channel.js'
import type { BackendQueue, JournalingBackendQueue } from './backend-queue.js'
import { Store } from './store.js'
import { loadMetadata, saveMetadata, type Metadata } from './metadata.js'
import type { StoreOp, StoreOptions } from './store.js'

/** The LevelDB directory inside --data-path. */
export const STORE_DIR = 'nsqd.leveldb'

export interface NodeStoreOptions {
  /** Tests: wraps every batch write (e.g. to inject failures). */
  writeBatch?: (ops: StoreOp[], sync: boolean, write: (ops: StoreOp[], sync: boolean) => Promise<void>) => Promise<void>
  /** Replication: wraps every range clear (see StoreOptions.clearRange). */
  clearRange?: (gte: string, lt: string, clear: (gte: string, lt: string) => Promise<void>) => Promise<void>
  /** Replication: see StoreOptions.replicated. */
  replicated?: () => Promise<void>
  /** Replication: see StoreOptions.beforeClose. */
  beforeClose?: StoreOptions['beforeClose']
  /** See StoreOptions.bytesRecordEvery. */
  bytesRecordEvery?: number
  /** Retry interval after a failed write. */
  retryMs?: number
  /** Tests: unwritten bytes above which publishers are held back (default --store-backlog-size). */
  backlogHighBytes?: number
}

export function isJournaling (q: BackendQueue): q is JournalingBackendQueue {
  return (q as Partial<JournalingBackendQueue>).takeDeferred !== undefined
}

export class NodeStore {
  readonly store: Store
  readonly durable: boolean
  private readonly nsqd: NSQD
  private saveScheduled = false
  private closed = false

  private constructor (nsqd: NSQD, store: Store, durable: boolean) {
    this.nsqd = nsqd
    this.store = store
    this.durable = durable
  }

  /** Opens the store under --data-path, installs the backend factory and loads the metadata. */
  static async open (nsqd: NSQD, extra: NodeStoreOptions = {}): Promise<NodeStore> {
    const o = nsqd.options
    const dataPath = o.dataPath === '' ? process.cwd() : o.dataPath
    const durable = o.memQueueSize === 0 && o.syncEvery <= 1
    const logger = nsqd.logger
    let store: Store
    try {
      store = await Store.open({
        path: path.join(dataPath, STORE_DIR),
        syncEvery: o.syncEvery,
        syncTimeoutMs: o.syncTimeoutMs,
        retryMs: extra.retryMs,
        backlogHighBytes: extra.backlogHighBytes ?? o.storeBacklogSize,
        writeBufferBytes: o.storeWriteBufferSize,
        writeBatch: extra.writeBatch,
        clearRange: extra.clearRange,
        replicated: extra.replicated,
        beforeClose: extra.beforeClose,
        bytesRecordEvery: extra.bytesRecordEvery,
        logger,
        onHealth: (healthy, err) => {
          const replication = (err as { replication?: boolean } | null)?.replication === true
          nsqd.healthError = healthy ? null : `${replication ? 'replication failed' : 'failed to write to disk'} - ${err?.message ?? 'unknown error'}`
        }
      })
    } catch (err) {
      const e = err as Error & { code?: string, cause?: Error & { code?: string } }
      if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED') {
        throw new Error(`failed to lock data-path: cannot flock directory ${dataPath} - ${e.cause?.message ?? e.message} (possibly in use by another instance of nsqd)`)
      }
      throw err
    }
    const ns = new NodeStore(nsqd, store, durable)
    nsqd.backendFactory = (queueName) => store.openQueue(queueName, {
      refuseWhenUnhealthy: !queueName.includes(':'),
      journal: durable
    })
    nsqd.onChange((kind, _topic, channel) => {
      if (kind === 'channel-created' && channel !== null) ns.restoreDeferred(channel)
      ns.scheduleSave()
    })
    if (durable) logger.info('NSQ: durable mode: publishes are acknowledged once synced, in-flight messages are journaled')
    ns.load(loadMetadata(store))
    return ns
  }

  /** Resolves when everything published so far is on disk (durable mode acknowledgements). */
  whenDurable (): Promise<void> {
    return this.store.whenCommitted()
  }

  /** Flushes everything (synced) and closes the database; call after every queue was closed. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.saveScheduled) this.save()
    await this.store.close()
  }

  private load (meta: Metadata): void {
    const nsqd = this.nsqd
    for (const t of meta.topics) {
      const topic = nsqd.getTopic(t.name)
      for (const c of t.channels) {
        const ch = topic.getChannel(c.name)
        if (c.config !== undefined) ch.setPolicyConfig(c.config)
        if (c.paused) ch.pause()
      }
      if (t.config !== undefined) topic.setPolicyConfig(t.config)
      if (t.paused) topic.pause()
    }
    const n = meta.topics.length
    if (n > 0) nsqd.logger.info(`NSQ: loaded ${n} topic${n === 1 ? '' : 's'} from the store`)
  }

  /** A channel was created: hand it the deferred messages stored for it, with their remaining delay. */
  private restoreDeferred (channel: Channel): void {
    const backend = channel.backend
    if (!isJournaling(backend)) return
    const entries = backend.takeDeferred()
    if (entries.length === 0) return
    const now = Date.now()
    for (const e of entries) channel.putDeferred(e.msg, Math.max(0, e.dueMs - now), now)
    this.nsqd.logger.info(`CHANNEL(${channel.name}): restored ${entries.length} deferred messages`)
  }

  private scheduleSave (): void {
    if (this.saveScheduled || this.closed) return
    this.saveScheduled = true
    setImmediate(() => { this.save() })
  }

  private save (): void {
    if (!this.saveScheduled) return
    this.saveScheduled = false
    const topics = []
    for (const t of this.nsqd.topics.values()) {
      const channels = []
      for (const c of t.channels.values()) channels.push({ name: c.name, paused: c.paused, config: c.policyConfig })
      topics.push({ name: t.name, paused: t.paused, config: t.policyConfig, channels })
    }
    saveMetadata(this.store, { topics }).catch((err: Error) => {
      this.nsqd.logger.error(`NSQ: failed to persist metadata - ${err.message}`)
    })
  }
}
