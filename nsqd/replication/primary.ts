// The primary's side of log shipping. The store's group-commit writer hands every batch (and every
// range clear) to `writeBatch` / `clearRange`: numbered (epoch, seq), sent to every connected standby
// and written locally at the same time. Then the store calls `replicatedAll`, which resolves only
// when every member of the in-sync set (ISR) acknowledged everything shipped and the ISR, primary
// included, has at least --min-insync-replicas members; the store writes and ships its next batch
// meanwhile (two in flight), and acknowledges publishes in batch order (nsqd/store/store.ts).
//
// A standby that does not acknowledge within --replica-lag-timeout (or whose connection drops) is
// removed from the ISR in etcd (compare on the epoch) BEFORE the batch is acknowledged without it,
// so whichever ISR member wins the next election holds every acknowledged batch. A failed ISR
// write, a refused compare (a newer epoch exists) or a lapsed leadership fence this primary: every
// batch fails from then on and `onFenced` tells the node to step down.
//
// A standby that connects says the last batch its store holds, (entry epoch, seq). When that batch
// is in this primary's history (the tail names it with the same epoch: histories that agree on one
// batch agree on everything before it) and the tail holds every batch after it, the standby gets
// RESUME and those batches (incremental catch-up). Otherwise (a new or wiped standby, one that was
// gone too long, or an old primary holding batches this history never had) it gets a full copy: a
// LevelDB iterator (a snapshot at creation) taken between two batches, streamed, then every batch
// after it. Either way it joins the ISR once it acknowledged the newest batch.

import net from 'node:net'
import type { Level } from 'level'
import type { StoreOp, WriteBatchFn } from '../store/store.js'
import {
  FrameReader, decodeFrame, encodeBatch, encodeClear, encodeJson, encodeMark, encodePos, encodeResume, encodeSnapData, encodeSnapEnd, frameLength,
  POS_EVERY_BYTES, POS_KEY, T_ACK, T_HELLO, T_REJECT, T_SNAP_BEGIN
} from './protocol.js'
import { ReplicationTail } from './tail.js'

/** What the primary needs from the coordinator. */
export interface PrimaryCoordination {
  setIsr (epoch: number, members: string[]): Promise<boolean>
  leaderValid (): boolean
}

export interface PrimaryLogger { info (msg: string): void, warn (msg: string): void, error (msg: string): void }

export interface PrimaryOptions {
  id: string
  epoch: number
  minInsync: number
  lagTimeoutMs: number
  coordination: PrimaryCoordination
  logger: PrimaryLogger
  /** Called once when this primary learns it must not lead any more. */
  onFenced: (reason: string) => void
  /**
   * Recent history (a promoted standby's tail): sequence numbers go on from its last batch.
   * Default: an empty tail of 32 MiB at batch 0.
   */
  tail?: ReplicationTail
}

/** One standby in the primary's `replication.standbys` (/info, /stats, nsqadmin). */
export interface StandbyInfo {
  id: string
  tcp_address: string
  http_address: string
  hostname: string
  in_sync: boolean
  state: string
  acked_seq: number
  lag: number
}

/** A batch refused because replication cannot guarantee it (HTTP answers 503). */
export class ReplicationError extends Error {
  override name = 'ReplicationError'
  readonly replication = true
}

const SNAPSHOT_CHUNK_BYTES = 1024 * 1024
/** Bytes queued on a standby's socket above which it is disconnected (it will copy afresh). */
const MAX_UNSENT_BYTES = 256 * 1024 * 1024

interface Peer {
  id: string
  /** Where clients would reach it (from its HELLO; '' from an older standby). */
  tcpAddress: string
  httpAddress: string
  hostname: string
  socket: net.Socket
  state: 'snapshot' | 'streaming' | 'closed'
  /** Frames held back while the snapshot streams. */
  held: Array<{ seq: number, frame: Buffer }>
  acked: number
  connectedAt: number
}

interface Wait {
  seq: number
  members: Set<string>
  resolve: () => void
  timer: NodeJS.Timeout | null
}

export class ReplicationPrimary {
  readonly options: PrimaryOptions
  /** Sequence number of the last batch shipped. */
  seq: number
  /** Recent batches, for standbys that reconnect (incremental catch-up). */
  readonly tail: ReplicationTail
  /** Catch-ups served since this node became primary. */
  readonly catchups = { snapshot: 0, incremental: 0 }
  /** Standbys in the in-sync set (this primary is always in it too). */
  readonly isr = new Set<string>()
  readonly peers = new Map<string, Peer>()
  private db: Level<string, Buffer> | null = null
  private localBusy = false
  /** The last local write failed (the store retries it): a snapshot now would lack that batch. */
  private localFailed = false
  private snapshotWaiters: Array<() => void> = []
  /** Batches whose acknowledgement is awaited (the store keeps up to two in flight). */
  private readonly waits: Wait[] = []
  /** The newest batch deemed replicated: a standby joins the ISR only once it holds it. */
  private settledSeq: number
  private isrChain: Promise<boolean> = Promise.resolve(true)
  /**
   * The latest ISR write that removed members: a batch is acknowledged only once it is in etcd
   * (a standby dropped between batches was taken out of `isr` before its write completed).
   */
  private removal: Promise<boolean> = Promise.resolve(true)
  private fencedReason: string | null = null
  private closing = false
  /** POS_KEY went into a batch of this term (the first one must: it clears the exact flag). */
  private posWritten = false
  private bytesSincePos = 0
  /** The last batch written locally (savePosition writes only when it is the last one shipped). */
  private localWrittenSeq = -1

  constructor (options: PrimaryOptions) {
    this.options = options
    this.tail = options.tail ?? new ReplicationTail(32 * 1024 * 1024)
    this.seq = this.tail.lastSeq
    this.settledSeq = this.seq
  }

  get epoch (): number { return this.options.epoch }
  get fenced (): boolean { return this.fencedReason !== null }

  /** The store's database, for snapshots (standbys are accepted only once it is set). */
  setDb (db: Level<string, Buffer>): void { this.db = db }

  /**
   * A clean stop, once the store wrote its last batch: the exact position of what the store holds
   * (a lower bound otherwise, protocol.ts: POS_KEY). Not after a failed local write.
   */
  readonly savePosition = async (db: Level<string, Buffer>): Promise<void> => {
    if (this.localFailed || this.localBusy || this.localWrittenSeq !== this.seq || db.status !== 'open') return
    await db.put(POS_KEY, encodePos(this.epoch, this.seq, true), { sync: true })
  }

  /** Stops acknowledging for good. */
  fence (reason: string): void {
    if (this.fencedReason !== null) return
    this.fencedReason = reason
    this.options.logger.warn(`REPLICATION: primary fenced at epoch ${this.epoch} - ${reason}`)
    this.finishAllWaits()
    this.options.onFenced(reason)
  }

  /**
   * The store's replication check (StoreOptions.replicated), called once a batch is written
   * locally: resolves when every batch shipped so far is acknowledged by the ISR (laggards
   * removed first), or throws. The store writes the next batch meanwhile.
   */
  readonly replicatedAll = (): Promise<void> => this.replicated(this.seq)

  /** The store's batch writer (StoreOptions.writeBatch): ships and writes locally. */
  readonly writeBatch = async (ops: StoreOp[], sync: boolean, write: WriteBatchFn): Promise<void> => {
    this.check()
    const seq = ++this.seq
    // our position goes in the same atomic batch when due (standbys add theirs when they apply it)
    await this.shipAndWrite(seq, encodeBatch(this.epoch, seq, sync, ops), async (pos) => {
      await write(pos === null ? ops : ops.concat(pos), sync)
    })
  }

  /** The store's range clear (StoreOptions.clearRange). */
  readonly clearRange = async (gte: string, lt: string, clear: (gte: string, lt: string) => Promise<void>): Promise<void> => {
    this.check()
    const seq = ++this.seq
    await this.shipAndWrite(seq, encodeClear(this.epoch, seq, gte, lt), async (pos) => {
      await clear(gte, lt)
      // not atomic with the clear: a position left behind only replays the clear (idempotent)
      if (pos !== null && this.db !== null) await this.db.put(pos.key, pos.value)
    })
  }

  /**
   * Ships batch `seq`, then writes it locally: shipped first, so the standbys write while we do
   * (one disk write + one round trip, not two writes in a row). `writeLocal` gets our position
   * record when one is due (the first batch of this term, then every POS_EVERY_BYTES; protocol.ts:
   * POS_KEY), else null. Should the local write fail, the store retries the same (idempotent) ops.
   */
  private async shipAndWrite (seq: number, frame: Buffer, writeLocal: (pos: { type: 'put', key: string, value: Buffer } | null) => Promise<void>): Promise<void> {
    this.localBusy = true
    this.ship(seq, frame)
    try {
      this.bytesSincePos += frame.length
      const due = !this.posWritten || this.bytesSincePos >= POS_EVERY_BYTES
      await writeLocal(due ? { type: 'put', key: POS_KEY, value: encodePos(this.epoch, seq) } : null)
      if (due) {
        this.posWritten = true
        this.bytesSincePos = 0
      }
      this.localWrittenSeq = seq
      this.localFailed = false
    } catch (err) {
      this.localFailed = true
      throw err
    } finally {
      this.localDone()
    }
  }

  private check (): void {
    if (this.fencedReason !== null) throw new ReplicationError(`not the primary any more (${this.fencedReason})`)
    if (!this.options.coordination.leaderValid()) {
      this.fence('leadership lease lapsed')
      throw new ReplicationError('not the primary any more (leadership lease lapsed)')
    }
  }

  private localDone (): void {
    this.localBusy = false
    const waiters = this.snapshotWaiters
    this.snapshotWaiters = []
    for (const w of waiters) w()
  }

  private ship (seq: number, frame: Buffer): void {
    this.tail.append(seq, this.epoch, frame.subarray(4))
    for (const p of this.peers.values()) {
      if (p.state === 'streaming') {
        // a standby that cannot keep up would make us buffer without bound: drop it (it resyncs)
        if (p.socket.writableLength > MAX_UNSENT_BYTES) this.dropPeer(p, `more than ${MAX_UNSENT_BYTES} bytes unsent`)
        else p.socket.write(frame)
      } else if (p.state === 'snapshot') {
        p.held.push({ seq, frame })
      }
    }
  }

  /** Resolves when every ISR member acknowledged `seq` (laggards removed first), or throws. */
  private async replicated (seq: number): Promise<void> {
    const members = new Set<string>()
    for (const id of this.isr) {
      const p = this.peers.get(id)
      if (p === undefined || p.acked < seq) members.add(id)
    }
    if (members.size > 0) {
      await new Promise<void>((resolve) => {
        const w: Wait = { seq, members, resolve, timer: null }
        w.timer = setTimeout(() => { this.finishWait(w) }, this.options.lagTimeoutMs)
        this.waits.push(w)
        // a member whose connection is gone cannot ack: do not wait for the timeout
        for (const id of members) if (!this.peers.has(id)) this.memberGone(id)
      })
      // (members may have grown: a standby that joined the ISR meanwhile is waited for too)
      const laggards = [...members].filter(id => (this.peers.get(id)?.acked ?? -1) < seq)
      if (laggards.length > 0) await this.removeFromIsr(laggards, `no acknowledgement of batch ${seq} within ${this.options.lagTimeoutMs} ms`)
    } else if (seq > this.settledSeq) {
      this.settledSeq = seq
    }
    if (!(await this.removal)) throw new ReplicationError(`not the primary any more (${this.fencedReason ?? 'in-sync set update failed'})`)
    if (this.fencedReason !== null) throw new ReplicationError(`not the primary any more (${this.fencedReason})`)
    const inSync = 1 + this.isr.size
    if (inSync < this.options.minInsync) {
      throw new ReplicationError(`not enough in-sync replicas: ${inSync} of ${this.options.minInsync} required`)
    }
    if (!this.options.coordination.leaderValid()) {
      this.fence('leadership lease lapsed')
      throw new ReplicationError('not the primary any more (leadership lease lapsed)')
    }
  }

  private finishWait (w: Wait): void {
    const i = this.waits.indexOf(w)
    if (i < 0) return
    this.waits.splice(i, 1)
    if (w.timer !== null) clearTimeout(w.timer)
    if (w.seq > this.settledSeq) this.settledSeq = w.seq
    w.resolve()
  }

  private finishAllWaits (): void {
    for (const w of [...this.waits]) this.finishWait(w)
  }

  /** Every member still connected acknowledged the wait's batch (gone members do not count). */
  private waitDone (w: Wait): boolean {
    for (const m of w.members) {
      const q = this.peers.get(m)
      if (q !== undefined && q.acked < w.seq) return false
    }
    return true
  }

  private memberGone (id: string): void {
    // everyone else may already have acked: finish when only gone members remain
    for (const w of [...this.waits]) if (w.members.has(id) && this.waitDone(w)) this.finishWait(w)
  }

  private acked (p: Peer, seq: number): void {
    if (seq > p.acked) p.acked = seq
    for (const w of [...this.waits]) if (w.members.has(p.id) && this.waitDone(w)) this.finishWait(w)
    // joins once it holds every batch deemed replicated; the batches still awaited wait for it too,
    // so none is acknowledged without it once it counts as in sync
    if (!this.isr.has(p.id) && p.state === 'streaming' && p.acked >= this.settledSeq && this.fencedReason === null) {
      this.isr.add(p.id)
      for (const w of this.waits) if (w.seq > p.acked) w.members.add(p.id)
      this.options.logger.info(`REPLICATION: standby ${p.id} caught up at batch ${p.acked}; joins the in-sync set`)
      void this.writeIsr().catch(() => {})
    }
  }

  /** Removes members from the ISR in etcd; throws (and fences) if that cannot be done. */
  private async removeFromIsr (ids: string[], why: string): Promise<void> {
    let changed = false
    for (const id of ids) {
      if (this.isr.delete(id)) {
        changed = true
        this.options.logger.warn(`REPLICATION: standby ${id} leaves the in-sync set - ${why}`)
      }
    }
    if (!changed) { await this.isrChain; return }
    const write = this.writeIsr()
    this.removal = write
    const ok = await write
    if (!ok) throw new ReplicationError(`not the primary any more (${this.fencedReason ?? 'in-sync set update failed'})`)
  }

  /** Writes the current ISR to etcd, serialized; false (and fenced) when it could not be written. */
  private writeIsr (): Promise<boolean> {
    const next = this.isrChain.then(async () => {
      if (this.fencedReason !== null) return false
      const members = [this.options.id, ...this.isr]
      try {
        if (await this.options.coordination.setIsr(this.epoch, members)) return true
        this.fence('the epoch moved on (a newer primary exists)')
      } catch (err) {
        this.fence(`cannot update the in-sync set in etcd - ${(err as Error).message}`)
      }
      return false
    })
    this.isrChain = next
    return next
  }

  // ---- standby connections ---------------------------------------------------------------------

  /** A connection on the replication listener. */
  accept (socket: net.Socket): void {
    socket.setNoDelay(true)
    let peer: Peer | null = null
    const reader = new FrameReader((b) => {
      const f = decodeFrame(b)
      if (f.type === T_HELLO && peer === null) {
        const hello = f.json as { id?: unknown, epoch?: unknown, pos?: { epoch?: unknown, seq?: unknown, exact?: unknown } | null, tcp_address?: unknown, http_address?: unknown, hostname?: unknown }
        const id = String(hello.id ?? '')
        const theirEpoch = Number(hello.epoch ?? 0)
        if (theirEpoch > this.epoch) {
          socket.end(encodeJson(T_REJECT, { reason: 'stale primary', epoch: theirEpoch }))
          this.fence(`standby ${id} knows epoch ${theirEpoch}`)
          return
        }
        if (this.fencedReason !== null || this.db === null) {
          socket.end(encodeJson(T_REJECT, { reason: 'not ready', epoch: this.epoch }))
          return
        }
        const old = this.peers.get(id)
        if (old !== undefined) this.dropPeer(old, 'replaced by a new connection')
        peer = {
          id, socket, state: 'snapshot', held: [], acked: 0, connectedAt: Date.now(),
          tcpAddress: String(hello.tcp_address ?? ''), httpAddress: String(hello.http_address ?? ''), hostname: String(hello.hostname ?? '')
        }
        this.peers.set(id, peer)
        const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`
        const pos = hello.pos ?? null
        const why = pos === null ? 'it holds no complete copy' : this.resumeRefusal(Number(pos.epoch), Number(pos.seq), pos.exact !== false)
        if (why === null) {
          this.resume(peer, Number(pos!.seq), from)
        } else {
          this.options.logger.info(`REPLICATION: standby ${id} connected from ${from}; sending a snapshot (${why})`)
          void this.sendSnapshot(peer)
        }
      } else if (f.type === T_ACK && peer !== null) {
        if (f.epoch !== this.epoch) return
        this.acked(peer, f.seq)
      } else if (f.type === T_REJECT) {
        const epoch = Number((f.json as { epoch?: unknown }).epoch ?? 0)
        if (epoch > this.epoch) this.fence(`a standby knows epoch ${epoch}`)
        socket.destroy()
      }
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk)
      } catch (err) {
        this.options.logger.warn(`REPLICATION: bad data from a standby - ${(err as Error).message}`)
        socket.destroy()
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => { if (peer !== null) this.dropPeer(peer, 'connection closed') })
  }

  private dropPeer (p: Peer, why: string): void {
    if (closed(p)) return
    p.state = 'closed'
    p.held = []
    p.socket.destroy()
    if (this.peers.get(p.id) === p) this.peers.delete(p.id)
    this.options.logger.info(`REPLICATION: standby ${p.id} disconnected - ${why}`)
    if (this.isr.has(p.id) && !this.closing) {
      if (this.waits.some(w => w.members.has(p.id))) this.memberGone(p.id)
      else void this.removeFromIsr([p.id], why).catch(() => {})
    }
  }

  /** null when a standby holding batch (epoch, seq) can catch up from the tail, else why not. */
  private resumeRefusal (epoch: number, seq: number, exact: boolean): string | null {
    if (!Number.isSafeInteger(seq) || seq < 0) return 'no position'
    if (seq > this.seq) return `it holds batch ${seq}, beyond our newest (${this.seq}): a history we do not have`
    const ours = this.tail.epochAt(seq)
    if (ours === undefined) return `batch ${seq} is no longer in our tail (it starts after batch ${this.tail.baseSeq})`
    if (ours !== epoch) return `its batch ${seq} is of epoch ${epoch}, ours of epoch ${ours}: the histories diverged`
    // a lower bound (an unclean stop): what it holds beyond came from the primary of that epoch,
    // which is in our history only if that primary is us
    if (!exact && epoch !== this.epoch) return `its position (batch ${seq}, epoch ${epoch}) is a lower bound after an unclean stop, from an earlier epoch`
    return null
  }

  /** Incremental catch-up: RESUME, then the tail's batches after `seq`, then live batches. */
  private resume (p: Peer, seq: number, from: string): void {
    const s = p.socket
    const entries = this.tail.after(seq)
    let bytes = 0
    s.cork()
    s.write(encodeResume(this.epoch, seq, this.seq))
    for (const e of entries) {
      s.write(frameLength(e.frame))
      s.write(e.frame)
      bytes += e.frame.length + 4
    }
    s.uncork()
    p.acked = seq
    p.state = 'streaming'
    this.catchups.incremental++
    this.options.logger.info(`REPLICATION: standby ${p.id} connected from ${from}; incremental catch-up from batch ${seq}: ${entries.length} batches, ${bytes} bytes`)
  }

  private async sendSnapshot (p: Peer): Promise<void> {
    const db = this.db
    if (db === null) return
    // between two batches: no local write may be half applied when the iterator is created
    // the standby wipes its copy on SNAP_BEGIN: it must be out of the ISR in etcd before that, or it
    // could win an election with half a copy
    try {
      if (this.isr.has(p.id)) await this.removeFromIsr([p.id], 'resyncing')
      else await this.isrChain
    } catch (err) {
      this.dropPeer(p, (err as Error).message)
      return
    }
    while (this.localBusy || this.localFailed) await new Promise<void>((resolve) => { this.snapshotWaiters.push(resolve) })
    if (closed(p)) return
    const it = db.iterator()
    const at = this.seq
    const s = p.socket
    try {
      s.write(encodeMark(T_SNAP_BEGIN, this.epoch, at))
      let ops: StoreOp[] = []
      let bytes = 0
      let sent = 0
      for await (const [key, value] of it) {
        if (closed(p)) return
        if (key === POS_KEY) continue // each node writes its own
        ops.push({ type: 'put', key, value })
        bytes += key.length + value.length + 9
        sent++
        if (bytes >= SNAPSHOT_CHUNK_BYTES) {
          if (!s.write(encodeSnapData(this.epoch, ops))) await waitDrain(s)
          ops = []
          bytes = 0
        }
      }
      if (closed(p)) return
      if (ops.length > 0) s.write(encodeSnapData(this.epoch, ops))
      s.write(encodeSnapEnd(this.epoch, at, this.tail.epochAt(at) ?? this.epoch))
      // batches shipped while the ISR change was awaited are in the snapshot already
      for (const h of p.held) if (h.seq > at) s.write(h.frame)
      p.held = []
      p.state = 'streaming'
      this.catchups.snapshot++
      this.options.logger.info(`REPLICATION: snapshot of ${sent} keys at batch ${at} sent to ${p.id}`)
    } catch (err) {
      this.dropPeer(p, `snapshot failed - ${(err as Error).message}`)
    } finally {
      await it.close().catch(() => {})
    }
  }

  /** Per standby: where clients would reach it, in sync or not, and how many batches behind. */
  info (): StandbyInfo[] {
    const out: StandbyInfo[] = []
    for (const p of this.peers.values()) {
      out.push({
        id: p.id, tcp_address: p.tcpAddress, http_address: p.httpAddress, hostname: p.hostname,
        in_sync: this.isr.has(p.id), state: p.state, acked_seq: p.acked, lag: Math.max(0, this.seq - p.acked)
      })
    }
    for (const id of this.isr) {
      if (!this.peers.has(id)) out.push({ id, tcp_address: '', http_address: '', hostname: '', in_sync: true, state: 'disconnected', acked_seq: 0, lag: this.seq })
    }
    return out
  }

  close (): void {
    this.closing = true
    this.finishAllWaits()
    for (const p of [...this.peers.values()]) this.dropPeer(p, 'primary closing')
  }
}

/** Reads the state afresh (it changes across awaits). */
function closed (p: Peer): boolean { return p.state === 'closed' }

function waitDrain (s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { s.off('drain', done); s.off('close', done); resolve() }
    s.on('drain', done)
    s.on('close', done)
  })
}
