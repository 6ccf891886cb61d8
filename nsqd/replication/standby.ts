// The standby's side of log shipping: one connection to the primary's replication listener. Every
// (re)connection starts with a full copy (the standby's LevelDB is cleared, then filled from the
// primary's snapshot), then each batch and range clear is applied in order and acknowledged by its
// sequence number. Frames from an epoch older than the newest this standby knows are refused
// (fencing). A write that fails (a broken disk) closes the connection, so the primary stops
// counting this standby as in sync.

import net from 'node:net'
import type { Level } from 'level'
import type { StoreOp } from '../store/store.js'
import {
  FrameReader, decodeFrame, encodeJson, encodeMark,
  T_ACK, T_BATCH, T_CLEAR, T_HELLO, T_REJECT, T_SNAP_BEGIN, T_SNAP_DATA, T_SNAP_END, type Frame
} from './protocol.js'

export interface StandbyLogger { info (msg: string): void, warn (msg: string): void, error (msg: string): void }

export interface StandbyOptions {
  id: string
  db: Level<string, Buffer>
  logger: StandbyLogger
  /** The newest epoch known (from etcd); frames below it are refused. */
  epoch: number
  /** Where clients would reach this node, sent in HELLO (the primary lists it: /info, nsqadmin). */
  addresses?: { tcp_address: string, http_address: string, hostname: string }
  /** Tests: wraps applying each frame (a failing or hanging disk); `apply` does the real work. */
  applyHook?: (f: Frame, apply: () => Promise<void>) => Promise<void>
}

/** Frames waiting to be applied above which the socket stops being read. */
const MAX_QUEUED = 64

export class ReplicationStandby {
  readonly options: StandbyOptions
  epoch: number
  /** The primary's address while connected or connecting. */
  primaryAddress = ''
  primaryId = ''
  state: 'idle' | 'connecting' | 'snapshot' | 'streaming' = 'idle'
  /** Sequence number of the last batch applied. */
  appliedSeq = 0
  /** Sequence number of the last batch received (applied or queued). */
  receivedSeq = 0
  /** Catch-ups since start: full copies, and resumptions from the primary's tail. */
  readonly catchups = { snapshot: 0, incremental: 0 }
  lastAppliedAt = 0
  /** The last `follow()` ended because a write failed (a broken disk: the caller backs off). */
  applyFailed = false
  private socket: net.Socket | null = null
  private chain: Promise<void> = Promise.resolve()
  private queued = 0
  private closed = false
  private lastSnapOp: StoreOp | null = null

  constructor (options: StandbyOptions) {
    this.options = options
    this.epoch = options.epoch
  }

  /** Learns a newer epoch (from etcd or a frame). */
  seeEpoch (epoch: number): void {
    if (epoch > this.epoch) this.epoch = epoch
  }

  /** Follows the primary at `address`, dropping any current connection. Resolves on close. */
  follow (primaryId: string, address: string): Promise<void> {
    this.disconnect()
    this.applyFailed = false
    this.primaryId = primaryId
    this.primaryAddress = address
    this.state = 'connecting'
    const [host, port] = splitHostPort(address)
    const s = net.connect({ host, port })
    this.socket = s
    s.setNoDelay(true)
    const reader = new FrameReader((b) => { this.onFrame(s, decodeFrame(b)) })
    s.on('connect', () => { s.write(encodeJson(T_HELLO, { ...this.options.addresses, id: this.options.id, epoch: this.epoch })) })
    s.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk)
      } catch (err) {
        this.options.logger.warn(`REPLICATION: bad data from the primary - ${(err as Error).message}`)
        s.destroy()
      }
    })
    s.on('error', () => {})
    return new Promise((resolve) => {
      s.on('close', () => {
        if (this.socket === s) { this.socket = null; this.state = 'idle' }
        // the applies already queued finish before the caller reconnects (no overlapping resyncs)
        this.chain.then(() => { resolve() }, () => { resolve() })
      })
    })
  }

  get connected (): boolean { return this.socket !== null }

  disconnect (): void {
    if (this.socket !== null) {
      this.socket.destroy()
      this.socket = null
    }
    this.state = 'idle'
  }

  /** Waits for every queued apply, then stops. */
  async close (): Promise<void> {
    this.closed = true
    this.disconnect()
    await this.chain.catch(() => {})
  }

  private onFrame (s: net.Socket, f: Frame): void {
    if (this.socket !== s) return
    if (f.type === T_REJECT) {
      const epoch = Number((f.json as { epoch?: unknown }).epoch ?? 0)
      this.seeEpoch(epoch)
      this.options.logger.info(`REPLICATION: primary ${this.primaryId} refused us - ${String((f.json as { reason?: unknown }).reason)}`)
      s.destroy()
      return
    }
    if (f.epoch < this.epoch) {
      this.options.logger.warn(`REPLICATION: refusing data of epoch ${f.epoch} from ${this.primaryId}: epoch ${this.epoch} is newer`)
      s.end(encodeJson(T_REJECT, { reason: 'stale epoch', epoch: this.epoch }))
      this.socket = null
      this.state = 'idle'
      return
    }
    this.seeEpoch(f.epoch)
    if (f.type === T_SNAP_BEGIN) this.state = 'snapshot'
    if (f.type === T_BATCH || f.type === T_CLEAR || f.type === T_SNAP_END) this.receivedSeq = f.seq
    this.queued++
    if (this.queued > MAX_QUEUED) s.pause()
    this.chain = this.chain.then(async () => {
      if (this.socket !== s || this.closed) return
      await this.apply(f)
      if (f.type === T_SNAP_END) this.state = 'streaming'
      if (f.type === T_SNAP_END || f.type === T_BATCH || f.type === T_CLEAR) {
        this.appliedSeq = f.seq
        this.lastAppliedAt = Date.now()
        if (this.socket === s) s.write(encodeMark(T_ACK, f.epoch, f.seq))
      }
    }).catch((err: Error) => {
      this.applyFailed = true
      this.options.logger.error(`REPLICATION: applying data from ${this.primaryId} failed - ${err.message}; disconnecting`)
      s.destroy()
    }).finally(() => {
      this.queued--
      if (this.queued <= MAX_QUEUED / 2 && s.isPaused()) s.resume()
    })
  }

  private async apply (f: Frame): Promise<void> {
    const hook = this.options.applyHook
    if (hook !== undefined) await hook(f, async () => { await this.applyFrame(f) })
    else await this.applyFrame(f)
  }

  private async applyFrame (f: Frame): Promise<void> {
    const db = this.options.db
    switch (f.type) {
      case T_SNAP_BEGIN:
        this.lastSnapOp = null
        this.catchups.snapshot++
        await db.clear()
        this.appliedSeq = 0
        break
      case T_SNAP_DATA:
        await db.batch(f.ops)
        if (f.ops.length > 0) this.lastSnapOp = f.ops[f.ops.length - 1] as StoreOp
        break
      case T_SNAP_END:
        // the copy is on disk before it is acknowledged: rewriting its last key (same value) with
        // sync:true syncs the log holding all of it (an empty batch would be a no-op)
        if (this.lastSnapOp !== null) await db.batch([this.lastSnapOp], { sync: true })
        this.lastSnapOp = null
        break
      case T_BATCH:
        await db.batch(f.ops, { sync: f.sync })
        break
      case T_CLEAR:
        await db.clear({ gte: f.gte, lt: f.lt })
        break
    }
  }
}

export function splitHostPort (address: string): [string, number] {
  const i = address.lastIndexOf(':')
  let host = address.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1'
  return [host, Number(address.slice(i + 1))]
}
