// The standby's side of log shipping: one connection to the primary's replication listener. HELLO
// says the position (entry epoch, seq) of the last batch this standby's store holds, and whether it
// is exact: after an unclean stop the store's POS_KEY is only a lower bound (protocol.ts). The
// primary answers RESUME when that batch is in its history and its tail still holds everything
// after it (incremental catch-up; a lower bound only within the primary's own epoch, as batches
// beyond it came from that primary), else SNAP_BEGIN: a full copy (the store is cleared, then
// filled from the primary's snapshot). Then each batch and range clear is applied in order and acknowledged by its sequence
// number. Frames of a session whose epoch is older than the newest this standby knows are refused
// (fencing). A write that fails (a broken disk) closes the connection, so the primary stops
// counting this standby as in sync.

import net from 'node:net'
import type { Level } from 'level'
import {
  FrameReader, decodeFrame, decodePos, encodeJson, encodeMark, encodePos, POS_EVERY_BYTES, POS_KEY,
  T_ACK, T_BATCH, T_CLEAR, T_HELLO, T_REJECT, T_RESUME, T_SNAP_BEGIN, T_SNAP_DATA, T_SNAP_END, type Frame, type Position
} from './protocol.js'
import { ReplicationTail } from './tail.js'

export interface StandbyLogger { info (msg: string): void, warn (msg: string): void, error (msg: string): void }

export interface StandbyOptions {
  id: string
  db: Level<string, Buffer>
  logger: StandbyLogger
  /** The newest epoch known (from etcd); frames below it are refused. */
  epoch: number
  /** Where clients would reach this node, sent in HELLO (the primary lists it: /info, nsqadmin). */
  addresses?: { tcp_address: string, http_address: string, hostname: string }
  /** Bytes of recent batches kept for standbys, should this node become the primary. */
  tailBytes: number
  /** Tests: wraps applying each frame (a failing or hanging disk); `apply` does the real work. */
  applyHook?: (f: Frame, apply: () => Promise<void>) => Promise<void>
}

/** The socket's one read buffer. */
const READ_BUFFER_BYTES = 256 * 1024

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
  /** The epoch that wrote that batch; the position is not valid while a copy is half done. */
  appliedEpoch = 0
  posValid = false
  /**
   * The position names the last batch the store holds (not a lower bound left by an unclean stop).
   * After one, false until a full copy, or until a RESUME's batches up to the primary's newest
   * were applied again (nothing held beyond them then).
   */
  posExact = false
  /** After a RESUME from a lower bound: the batch from which the position is exact again. */
  private exactAt = Infinity
  /** POS_KEY was rewritten since load (the first batch applied must: it clears the exact flag). */
  private posWritten = false
  private bytesSincePos = 0
  /** Recent batches applied (handed to the primary this node may become). */
  readonly tail: ReplicationTail
  /** The epoch of the current session (its SNAP_BEGIN or RESUME): what fencing compares. */
  private sessionEpoch = 0
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

  constructor (options: StandbyOptions) {
    this.options = options
    this.epoch = options.epoch
    this.tail = new ReplicationTail(options.tailBytes)
  }

  /** Reads the position this node's store holds (call once, before following). */
  async load (): Promise<Position | null> {
    const pos = decodePos(await this.options.db.get(POS_KEY).catch(() => undefined) ?? undefined)
    this.posValid = pos !== null
    this.posExact = pos?.exact ?? false
    this.exactAt = Infinity
    this.posWritten = false
    if (pos !== null) {
      this.appliedSeq = this.receivedSeq = pos.seq
      this.appliedEpoch = pos.epoch
      this.tail.reset(pos.seq, pos.epoch)
    }
    return pos
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
    const reader = new FrameReader((b) => {
      // a batch is kept (tail), and its put values point into it: the reader gave it a buffer of
      // its own, except a small frame (a slice of Node's shared pool), which is copied
      if (b[0] === T_BATCH || b[0] === T_CLEAR) {
        const raw = b.buffer.byteLength - b.length > 64 ? Buffer.from(b) : b
        this.onFrame(s, decodeFrame(raw, false), raw)
      } else {
        this.onFrame(s, decodeFrame(b), null)
      }
    })
    // the socket reads into one buffer, reused (the reader copies every frame out of it), rather
    // than a new 64 KiB buffer per read
    const s = net.connect({
      host,
      port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          try {
            reader.push(Buffer.from(buf.buffer, buf.byteOffset, n))
          } catch (err) {
            this.options.logger.warn(`REPLICATION: bad data from the primary - ${(err as Error).message}`)
            s.destroy()
          }
          return true
        }
      }
    })
    this.socket = s
    s.setNoDelay(true)
    s.on('connect', () => {
      const pos = this.posValid ? { epoch: this.appliedEpoch, seq: this.appliedSeq, exact: this.posExact } : null
      s.write(encodeJson(T_HELLO, { ...this.options.addresses, id: this.options.id, epoch: this.epoch, pos }))
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

  /** Waits for every queued apply, then stops; the store keeps the exact position (a clean stop). */
  async close (): Promise<void> {
    this.closed = true
    this.disconnect()
    await this.chain.catch(() => {})
    const db = this.options.db
    if (this.posValid && !this.applyFailed && db.status === 'open') {
      await db.put(POS_KEY, encodePos(this.appliedEpoch, this.appliedSeq, this.posExact), { sync: true }).catch(() => {})
    }
  }

  private onFrame (s: net.Socket, f: Frame, raw: Buffer | null): void {
    if (this.socket !== s) return
    if (f.type === T_REJECT) {
      const epoch = Number((f.json as { epoch?: unknown }).epoch ?? 0)
      this.seeEpoch(epoch)
      this.options.logger.info(`REPLICATION: primary ${this.primaryId} refused us - ${String((f.json as { reason?: unknown }).reason)}`)
      s.destroy()
      return
    }
    if (f.type === T_SNAP_BEGIN || f.type === T_RESUME) this.sessionEpoch = f.epoch
    if (this.sessionEpoch < this.epoch || f.epoch > this.sessionEpoch) {
      const epoch = Math.max(this.sessionEpoch, f.epoch)
      this.options.logger.warn(`REPLICATION: refusing data of epoch ${epoch} from ${this.primaryId}: epoch ${this.epoch} is newer`)
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
      if ((f.type === T_BATCH || f.type === T_CLEAR) && f.seq !== this.appliedSeq + 1) {
        throw new Error(`batch ${f.seq} does not follow batch ${this.appliedSeq}`)
      }
      if (f.type === T_RESUME && (!this.posValid || f.seq !== this.appliedSeq)) {
        throw new Error(`the primary resumes at batch ${f.seq}, we hold ${this.posValid ? String(this.appliedSeq) : 'no complete copy'}`)
      }
      await this.apply(f)
      if (f.type === T_SNAP_END) {
        this.state = 'streaming'
        this.tail.reset(f.seq, f.entryEpoch)
      } else if (f.type === T_RESUME) {
        this.state = 'streaming'
        this.catchups.incremental++
        // from a lower bound: what the store holds beyond it came from this primary, which names
        // its newest batch; once that one is applied again the position is exact
        if (!this.posExact) this.exactAt = f.upTo > 0 ? f.upTo : Infinity
        this.options.logger.info(`REPLICATION: resuming from ${this.primaryId} after batch ${f.seq} (incremental catch-up)`)
      } else if (raw !== null) {
        this.tail.append(f.seq, f.epoch, raw)
      }
      if (f.type === T_SNAP_END || f.type === T_BATCH || f.type === T_CLEAR || f.type === T_RESUME) {
        this.appliedSeq = f.seq
        if (f.type !== T_RESUME) this.appliedEpoch = f.type === T_SNAP_END ? f.entryEpoch : f.epoch
        this.lastAppliedAt = Date.now()
        if (!this.posExact && this.appliedSeq >= this.exactAt) this.posExact = true
        if (this.socket === s) s.write(encodeMark(T_ACK, this.sessionEpoch, f.seq))
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
        this.catchups.snapshot++
        // the position goes first (synced): a copy cut short must not look complete after a restart
        this.posValid = false
        await db.del(POS_KEY, { sync: true })
        await db.clear()
        this.appliedSeq = 0
        this.posExact = false
        break
      case T_SNAP_DATA:
        await db.batch(f.ops)
        break
      case T_SNAP_END: {
        // the copy is on disk before it is acknowledged: the position's write, synced, syncs the
        // log that holds all of it
        await db.put(POS_KEY, encodePos(f.entryEpoch, f.seq), { sync: true })
        this.posValid = true
        this.posExact = true
        this.positionSaved()
        break
      }
      case T_BATCH: {
        // the position goes in now and then, not in every batch (protocol.ts: POS_KEY)
        this.bytesSincePos += f.size
        const due = !this.posWritten || this.bytesSincePos >= POS_EVERY_BYTES
        if (due) f.ops.push({ type: 'put', key: POS_KEY, value: encodePos(f.epoch, f.seq) })
        await db.batch(f.ops, { sync: f.sync })
        if (due) this.positionSaved()
        break
      }
      case T_CLEAR:
        // not atomic with the clear: a position left behind only replays the clear (idempotent)
        await db.clear({ gte: f.gte, lt: f.lt })
        await db.put(POS_KEY, encodePos(f.epoch, f.seq))
        this.positionSaved()
        break
    }
  }

  private positionSaved (): void {
    this.posWritten = true
    this.bytesSincePos = 0
  }
}

export function splitHostPort (address: string): [string, number] {
  const i = address.lastIndexOf(':')
  let host = address.slice(0, i)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1'
  return [host, Number(address.slice(i + 1))]
}
