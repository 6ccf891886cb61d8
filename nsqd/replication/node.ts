// A replicated nsqd (--replication-group): one process that is either a standby (raw LevelDB fed by
// the primary's log, no client service) or the primary (a normal NSQD whose store ships every batch
// and acknowledges publishes only once enough replicas hold them). See README.md in this folder.
//
// Roles: start → standby; elected (and in the in-sync set) → promote (epoch + 1) → primary;
// fenced (lease lapsed, newer epoch, etcd unreachable for an ISR change) → back to standby, full
// resync from whoever leads. The TCP and HTTP addresses stay bound across roles: a standby answers
// on them itself (see standby-service.ts), the primary's NSQD takes them over.

import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Level } from 'level'
import { NSQD } from '../nsqd.js'
import { createLogger, type Logger } from '../logger.js'
import { defaultOptions, validateOptions, VERSION, type Options } from '../options.js'
import { listen } from '../tcp/server.js'
import { STORE_DIR } from '../store/node-store.js'
import { Coordinator, type GroupState } from './coordinator.js'
import { ReplicationPrimary } from './primary.js'
import { ReplicationStandby } from './standby.js'
import { ReplicationTail } from './tail.js'
import { POS_EVERY_BYTES } from './protocol.js'
import { StandbyService } from './standby-service.js'

export type Role = 'starting' | 'standby' | 'promoting' | 'primary' | 'demoting' | 'closed'

const noop = (): void => {}

export class ReplicatedNode {
  readonly options: Options
  readonly logger: Logger
  readonly startTime = Date.now()
  role: Role = 'starting'
  id = ''
  epoch = 0
  /** The current primary's id as etcd's election says (undefined while none). */
  leaderId: string | undefined = undefined
  nsqd: NSQD | null = null
  primary: ReplicationPrimary | null = null
  standby: ReplicationStandby | null = null
  coordinator: Coordinator | null = null
  group: GroupState = { epoch: 0, isr: null, epochRev: '0', isrRev: '0' }
  /** Called once a drain is done (the binary exits 0 then): see `drain`. */
  onDrained: (() => void) | null = null
  /** Drain started (SIGUSR2 or PUT /config/draining true). */
  draining = false
  /** Tests: wraps the standby's apply of each frame (fault injection). */
  standbyApply: ReplicationStandby['options']['applyHook']

  private readonly replServer: net.Server
  private replAddr = ''
  private tcpAddr = ''
  private httpAddr = ''
  private service: StandbyService | null = null
  private db: Level<string, Buffer> | null = null
  private wakeFollow: () => void = noop
  private transition: Promise<void> = Promise.resolve()

  constructor (options: Partial<Options> = {}) {
    // replication keeps every message in the store and answers publishes once committed everywhere
    this.options = { ...defaultOptions(), ...options, memQueueSize: 0, syncEvery: 1 }
    validateOptions(this.options)
    this.logger = this.options.logger ?? createLogger(this.options.logPrefix, this.options.logLevel)
    this.options.logger = this.logger
    this.replServer = net.createServer((s) => { this.onReplicationConnection(s) })
  }

  get tcpAddress (): string { return this.tcpAddr }
  get httpAddress (): string { return this.httpAddr }
  get replicationAddress (): string { return this.replAddr }
  private get dataPath (): string { return this.options.dataPath === '' ? process.cwd() : this.options.dataPath }

  async start (): Promise<void> {
    const o = this.options
    this.replAddr = await listen(this.replServer, o.replicationAddress)
    this.service = new StandbyService(this)
    const bound = await this.service.listen(o.tcpAddress, o.httpAddress)
    this.tcpAddr = bound.tcp
    this.httpAddr = bound.http
    this.id = `${o.broadcastAddress}:${portOf(this.replAddr)}`
    await this.openStandby()
    const c = await Coordinator.create({
      endpoints: o.etcdEndpoints.flatMap(e => e.split(',')).filter(e => e !== ''),
      group: o.replicationGroup,
      member: { id: this.id, replicationAddress: this.advertise(this.replAddr), tcpAddress: this.advertise(this.tcpAddr), httpAddress: this.advertise(this.httpAddr) },
      sessionTtlSec: Math.max(1, Math.round(o.replicationSessionTtlMs / 1000)),
      logger: this.logger
    })
    this.coordinator = c
    c.on('lost', (err: Error) => { void this.sessionLost(err) })
    c.on('campaign-lost', (err: Error) => {
      this.logger.warn(`REPLICATION: campaign lost - ${err.message}`)
      void c.resign().then(() => {
        if (this.role === 'primary') this.stepDown('leadership lease lost')
        else this.maybeCampaign()
      })
    })
    await c.start()
    this.group = await c.state()
    this.standby?.seeEpoch(this.group.epoch)
    this.role = 'standby'
    this.logger.info(`REPLICATION: node ${this.id} in group ${o.replicationGroup} (epoch ${this.group.epoch}); replication listener on ${this.replAddr}`)
    await c.watchState((s) => { this.onState(s) })
    await c.observeLeader((id) => { this.onLeader(id) })
    void this.followLoop()
  }

  /** host:port others can reach: the broadcast address replaces a wildcard bind. */
  private advertise (addr: string): string {
    if (addr === '') return ''
    const port = portOf(addr)
    const host = addr.slice(0, addr.lastIndexOf(':'))
    return host === '0.0.0.0' || host === '[::]' ? `${this.options.broadcastAddress}:${port}` : addr
  }

  private async openStandby (): Promise<void> {
    const location = path.join(this.dataPath, STORE_DIR)
    fs.mkdirSync(this.dataPath, { recursive: true })
    // the same LevelDB settings as the store it becomes on promotion
    const db = new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', writeBufferSize: this.options.storeWriteBufferSize })
    try {
      await db.open()
    } catch (err) {
      const e = err as Error & { cause?: Error }
      throw new Error(`cannot open ${location} - ${e.cause?.message ?? e.message}`)
    }
    this.db = db
    const standby = new ReplicationStandby({
      id: this.id,
      db,
      logger: this.logger,
      epoch: this.group.epoch,
      applyHook: this.standbyApply,
      tailBytes: this.options.replicationTailSize,
      addresses: { tcp_address: this.advertise(this.tcpAddr), http_address: this.advertise(this.httpAddr), hostname: os.hostname() }
    })
    await standby.load()
    this.standby = standby
  }

  private async closeStandby (): Promise<void> {
    const s = this.standby
    this.standby = null
    if (s !== null) await s.close()
    const db = this.db
    this.db = null
    if (db !== null) await db.close()
  }

  // ---- etcd events -----------------------------------------------------------------------------

  private onState (s: GroupState): void {
    this.group = s
    this.standby?.seeEpoch(s.epoch)
    if (this.role === 'primary' && s.epoch > this.epoch) this.stepDown(`epoch ${s.epoch} is newer than ours (${this.epoch})`)
    else this.maybeCampaign()
  }

  private onLeader (id: string | undefined): void {
    this.leaderId = id
    this.wakeFollow()
  }

  private inIsr (): boolean {
    return this.group.isr === null || this.group.isr.members.includes(this.id)
  }

  /** A standby campaigns only while it is in the in-sync set (or the group is new). */
  private maybeCampaign (): void {
    const c = this.coordinator
    if (c === null || this.role !== 'standby') return
    if (!c.campaigning && this.inIsr()) {
      c.campaign().then(() => { void this.onElected() }, (err: Error) => {
        this.logger.warn(`REPLICATION: campaign failed - ${err.message}`)
      })
    } else if (c.campaigning && !this.inIsr()) {
      void c.resign()
    }
  }

  private async onElected (): Promise<void> {
    const c = this.coordinator
    if (c === null || this.role !== 'standby') return
    let epoch: number | null = null
    try {
      epoch = await c.promote()
    } catch (err) {
      this.logger.warn(`REPLICATION: promotion failed - ${(err as Error).message}`)
    }
    if (epoch === null) {
      this.logger.info('REPLICATION: elected but not in the in-sync set; resigning')
      await c.resign()
      return
    }
    await this.become(async () => { await this.becomePrimary(epoch) })
  }

  private async sessionLost (err: Error): Promise<void> {
    if (this.role === 'closed') return
    this.logger.error(`REPLICATION: etcd session lost - ${err.message}`)
    if (this.role === 'primary') this.stepDown('etcd session lost')
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.coordinator?.start()
        this.logger.info('REPLICATION: etcd session renewed')
        return
      } catch (e) {
        if (attempt % 10 === 1) this.logger.warn(`REPLICATION: cannot renew the etcd session - ${(e as Error).message}`)
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    }
  }

  // ---- role changes ----------------------------------------------------------------------------

  /** Serializes role changes. */
  private become (fn: () => Promise<void>): Promise<void> {
    const next = this.transition.then(fn, fn)
    this.transition = next.catch((err: Error) => { this.logger.error(`REPLICATION: role change failed - ${err.message}`) })
    return this.transition
  }

  private async becomePrimary (epoch: number): Promise<void> {
    if (this.role !== 'standby') return
    const t0 = Date.now()
    this.role = 'promoting'
    this.epoch = epoch
    this.logger.info(`REPLICATION: promoted to primary at epoch ${epoch}`)
    // the history goes on from the last batch this node applied; its tail serves the other standbys,
    // unless the store may hold batches beyond it (a lower bound after an unclean stop): then its
    // history starts afresh at the new epoch and every standby copies the whole store
    const s = this.standby
    const tail = s === null ? undefined : s.posExact ? s.tail.copy() : new ReplicationTail(this.options.replicationTailSize, s.appliedSeq, epoch)
    await this.closeStandby()
    await this.service?.close()
    const primary = new ReplicationPrimary({
      id: this.id,
      epoch,
      minInsync: this.options.minInsyncReplicas,
      lagTimeoutMs: this.options.replicaLagTimeoutMs,
      coordination: this.coordinator!,
      logger: this.logger,
      onFenced: (reason) => { this.stepDown(reason) },
      tail: tail ?? new ReplicationTail(this.options.replicationTailSize)
    })
    this.primary = primary
    const nsqd = new NSQD({ ...this.options, tcpAddress: this.tcpAddr, httpAddress: this.httpAddr })
    // a batch refused for want of in-sync replicas is retried soon: standbys usually join within ms
    nsqd.storeOptions = { writeBatch: primary.writeBatch, clearRange: primary.clearRange, replicated: primary.replicatedAll, beforeClose: primary.savePosition, retryMs: 200,
      // byte counts as often as the replication position (a table with one overlaps anyway), so a
      // promotion recounts at most that much per queue
      bytesRecordEvery: POS_EVERY_BYTES }
    nsqd.replicationInfo = () => this.info()
    nsqd.drain.handOff = (reason) => this.drain(reason)
    this.nsqd = nsqd
    try {
      await nsqd.start()
    } catch (err) {
      this.logger.error(`REPLICATION: the primary's nsqd failed to start - ${(err as Error).message}`)
      this.role = 'primary'
      this.stepDown('nsqd failed to start')
      return
    }
    primary.setDb(nsqd.store!.store.db)
    this.role = 'primary'
    this.logger.info(`REPLICATION: serving clients as the primary (epoch ${epoch}, ${Date.now() - t0} ms after the election)`)
    if (primary.fenced) this.stepDown('fenced while starting')
  }

  /** A primary that must not lead any more becomes a standby again (and resyncs). */
  stepDown (reason: string): void {
    if (this.role !== 'primary' && this.role !== 'promoting') return
    void this.become(async () => {
      if (this.role !== 'primary') return
      this.role = 'demoting'
      this.logger.warn(`REPLICATION: stepping down as primary (epoch ${this.epoch}) - ${reason}`)
      this.primary?.fence(reason)
      await this.coordinator?.resign()
      const nsqd = this.nsqd
      this.nsqd = null
      if (nsqd !== null) await this.closeNsqd(nsqd)
      this.primary?.close()
      this.primary = null
      if (this.role !== 'demoting') return
      await this.service?.listen(this.tcpAddr, this.httpAddr)
      await this.openStandby()
      this.role = 'standby'
      this.wakeFollow()
      this.maybeCampaign()
    })
  }

  /**
   * Drain (SIGUSR2, PUT /config/draining true) to take this node out of the group for good:
   *  - a standby leaves: `onDrained` at once (the binary closes: its lease is revoked and the
   *    primary takes it out of the in-sync set);
   *  - the primary hands over: it stops serving clients (its nsqd closes: the last batches reach
   *    the in-sync standbys, in-flight messages are journaled and will be delivered again),
   *    resigns, and once another node leads (bounded: twice the session TTL + 5 s), `onDrained`.
   *    Refused (the reason is returned) without a connected in-sync standby to hand over to.
   */
  drain (reason: string): string | null {
    if (this.draining) return null
    if (this.role === 'standby') {
      this.draining = true
      this.logger.info(`REPLICATION: draining (${reason}): this standby leaves the group`)
      setImmediate(() => { this.onDrained?.() })
      return null
    }
    const p = this.primary
    if (this.role !== 'primary' || p === null) return `this node is ${this.role}`
    const ready = [...p.isr].filter(id => p.peers.get(id)?.state === 'streaming')
    if (ready.length === 0) {
      this.logger.warn(`REPLICATION: drain (${reason}) refused: no in-sync standby to hand over to`)
      return 'no in-sync standby to hand over to'
    }
    this.draining = true
    this.logger.info(`REPLICATION: draining (${reason}): handing over to an in-sync standby (${ready.join(', ')})`)
    void this.handOff()
    return null
  }

  private async handOff (): Promise<void> {
    await this.become(async () => {
      if (this.role !== 'primary') return
      this.role = 'demoting'
      const nsqd = this.nsqd
      this.nsqd = null
      if (nsqd !== null) await this.closeNsqd(nsqd)
      const p = this.primary
      this.primary = null
      const left = p === null ? [] : [...p.isr]
      p?.close()
      await this.coordinator?.resign()
      if (left.length === 0) this.logger.error('REPLICATION: no standby was in sync when the primary stopped: the group waits for this node')
    })
    // done once another node was elected and raised the epoch (it then starts serving)
    const epoch = this.epoch
    const taken = (): boolean => this.leaderId !== undefined && this.leaderId !== this.id && this.group.epoch > epoch
    const deadline = Date.now() + 2 * this.options.replicationSessionTtlMs + 5000
    while (!this.closed && !taken() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (taken()) this.logger.info(`REPLICATION: drained: ${String(this.leaderId)} is the primary now (epoch ${this.group.epoch})`)
    else this.logger.warn('REPLICATION: drained, but no other node took over yet')
    this.onDrained?.()
  }

  /** Closes the primary's NSQD; its LevelDB is closed even if the shutdown failed half way. */
  private async closeNsqd (nsqd: NSQD): Promise<void> {
    try {
      await nsqd.close()
    } catch (err) {
      this.logger.warn(`REPLICATION: nsqd shutdown failed - ${(err as Error).message}`)
    }
    const db = nsqd.store?.store.db
    if (db !== undefined && db.status !== 'closed') await db.close().catch(noop)
  }

  /** While a standby: follow whoever leads, reconnecting after every drop. */
  private async followLoop (): Promise<void> {
    let failures = 0
    while (!this.closed) {
      const leader = this.leaderId
      const s = this.standby
      if (this.role === 'standby' && s !== null && leader !== undefined && leader !== this.id) {
        const m = await this.coordinator?.member(leader).catch(() => null)
        if (m != null && this.standby === s && this.leaderId === leader) {
          await s.follow(leader, m.replicationAddress)
          // a standby whose writes keep failing (a broken disk) retries less and less often, up to 5 s
          failures = s.applyFailed ? failures + 1 : 0
        }
      }
      const waitMs = Math.min(5000, 250 * 2 ** Math.min(failures, 5))
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs)
        function done (): void { clearTimeout(timer); resolve() }
        this.wakeFollow = done
      })
      this.wakeFollow = noop
    }
  }

  private onReplicationConnection (s: net.Socket): void {
    if (this.role === 'primary' && this.primary !== null) {
      this.primary.accept(s)
      return
    }
    s.on('error', noop)
    // not the primary (any more): a standby that knows a newer epoch tells us so on its HELLO
    s.once('data', () => { s.destroy() })
    setTimeout(() => { s.destroy() }, 1000).unref()
  }

  // ---- visibility ------------------------------------------------------------------------------

  /** The `replication` object of /info and /stats. */
  info (): Record<string, unknown> {
    const o = this.options
    const base = {
      role: this.role === 'primary' ? 'primary' : 'standby',
      group: o.replicationGroup,
      node_id: this.id,
      epoch: this.role === 'primary' ? this.epoch : this.group.epoch,
      primary: this.leaderId ?? '',
      in_sync: this.group.isr?.members ?? [],
      replication_factor: o.replicationFactor,
      min_insync_replicas: o.minInsyncReplicas
    }
    if (this.role === 'primary' && this.primary !== null) {
      const p = this.primary
      return {
        ...base,
        in_sync: [this.id, ...p.isr].sort(),
        last_seq: p.seq,
        tail: { after_seq: p.tail.baseSeq, batches: p.tail.length, bytes: p.tail.bytes },
        catchups: { ...p.catchups },
        standbys: p.info()
      }
    }
    const s = this.standby
    return {
      ...base,
      state: s?.state ?? 'idle',
      applied_seq: s?.appliedSeq ?? 0,
      last_applied_at: s?.lastAppliedAt ?? 0,
      lag: s === null ? 0 : Math.max(0, s.receivedSeq - s.appliedSeq),
      catchups: { ...(s?.catchups ?? { snapshot: 0, incremental: 0 }) }
    }
  }

  /** The primary's client (TCP) address, for a standby's refusal message. */
  async primaryTcpAddress (): Promise<string> {
    const id = this.leaderId
    if (id === undefined || this.coordinator === null) return ''
    const m = await this.coordinator.member(id).catch(() => null)
    return m?.tcpAddress ?? ''
  }

  get version (): string { return VERSION }

  /** Read afresh (role changes across awaits). */
  get closed (): boolean { return this.role === 'closed' }

  async close (): Promise<void> {
    if (this.role === 'closed') return
    await this.transition
    const wasPrimary = this.role === 'primary'
    this.role = 'closed'
    this.wakeFollow()
    if (wasPrimary && this.nsqd !== null) await this.closeNsqd(this.nsqd)
    this.nsqd = null
    this.primary?.close()
    await this.closeStandby()
    await this.service?.close()
    await new Promise<void>((resolve) => { this.replServer.close(() => { resolve() }) })
    await this.coordinator?.close()
    this.logger.info('REPLICATION: bye')
  }
}

function portOf (addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1)) || 0
}
