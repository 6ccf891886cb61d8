// Coordination of a replication group on etcd (the `etcd3` client): no consensus of our own.
//
// Keys under `nsq/replication/<group>/`:
//   members/<id>   JSON MemberInfo, bound to this node's session lease (gone when the node is)
//   election/...   etcd3's election (one campaign key per candidate, bound to the campaign's lease)
//   epoch          decimal; raised by one in a transaction by every new primary (compare-and-swap)
//   isr            JSON {epoch, members}: the in-sync set; written only with a compare on the epoch
//
// Fencing: a primary may acknowledge only while `leaderValid()` says its campaign lease cannot have
// expired on the etcd side (last keepalive that etcd answered + TTL, measured from when it was
// sent); a paused or partitioned primary therefore stops acknowledging on its own, before any
// other node can have won the election.

import { EventEmitter } from 'node:events'
import type { Etcd3, Campaign, Election, ElectionObserver, Lease, Watcher } from 'etcd3'

export interface MemberInfo {
  id: string
  /** host:port of the replication listener (standbys connect to the primary's). */
  replicationAddress: string
  tcpAddress: string
  httpAddress: string
}

export interface IsrState {
  epoch: number
  members: string[]
}

export interface GroupState {
  epoch: number
  isr: IsrState | null
  /** etcd mod revisions, for compare-and-swap. */
  epochRev: string
  isrRev: string
}

export interface CoordinatorLogger {
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
}

export interface CoordinatorOptions {
  endpoints: string[]
  group: string
  member: MemberInfo
  /** Lease TTL in seconds (>= 1): how long a silent node keeps its membership and its campaign. */
  sessionTtlSec: number
  /** Deadline for each etcd call (ms); default 3000. */
  callTimeoutMs?: number
  logger?: CoordinatorLogger
}

const noop = (): void => {}
const silent: CoordinatorLogger = { info: noop, warn: noop, error: noop }

/** Tracks how long a lease is certainly alive on the etcd side, from its keepalives. */
class LeaseClock {
  validUntil = 0
  private fired: number[] = []
  constructor (lease: Lease, ttlMs: number, grantedAt: number) {
    this.validUntil = grantedAt + ttlMs
    lease.on('keepaliveFired', () => { if (this.fired.length < 64) this.fired.push(Date.now()) })
    lease.on('keepaliveSucceeded', () => {
      const at = this.fired.shift()
      if (at !== undefined) this.validUntil = Math.max(this.validUntil, at + ttlMs)
    })
    lease.on('keepaliveFailed', () => { this.fired = [] })
    lease.on('lost', () => { this.validUntil = 0 })
  }
}

function withScheme (endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`
}

export class Coordinator extends EventEmitter {
  readonly options: CoordinatorOptions
  readonly prefix: string
  readonly client: Etcd3
  private readonly logger: CoordinatorLogger
  private lease: Lease | null = null
  private readonly election: Election
  private campaignRef: Campaign | null = null
  private campaignClock: LeaseClock | null = null
  private elected = false
  private observer: ElectionObserver | null = null
  private watcher: Watcher | null = null
  private closed = false

  /** Loads the etcd client (only replicated nodes pay for loading gRPC) and builds a coordinator. */
  static async create (options: CoordinatorOptions): Promise<Coordinator> {
    const { Etcd3: Client } = await import('etcd3')
    return new Coordinator(options, Client)
  }

  private constructor (options: CoordinatorOptions, Client: typeof Etcd3) {
    super()
    if (options.sessionTtlSec < 1) throw new Error('--replication-session-ttl must be at least 1s')
    this.options = options
    this.logger = options.logger ?? silent
    this.prefix = `nsq/replication/${options.group}/`
    const timeout = options.callTimeoutMs ?? 3000
    this.client = new Client({
      hosts: options.endpoints.map(withScheme),
      dialTimeout: timeout,
      // unary calls get a deadline (a dead etcd fails them); the lease and watch streams do not
      defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + timeout }
    })
    this.election = this.client.election(this.prefix + 'election', options.sessionTtlSec)
  }

  get id (): string { return this.options.member.id }
  private get ttlMs (): number { return this.options.sessionTtlSec * 1000 }
  private key (name: string): string { return this.prefix + name }

  /**
   * Grants the session lease and registers this member under it. Emits 'lost' (Error) when the
   * lease is lost (etcd unreachable for a TTL, or the lease expired).
   */
  async start (): Promise<void> {
    const lease = this.client.lease(this.options.sessionTtlSec)
    this.lease = lease
    lease.on('lost', (err) => { if (!this.closed) this.emit('lost', err) })
    await lease.grant()
    await lease.put(this.key(`members/${this.id}`)).value(JSON.stringify(this.options.member))
  }

  /** Every registered (live) member. */
  async members (): Promise<MemberInfo[]> {
    const all = await this.client.getAll().prefix(this.key('members/')).strings()
    const out: MemberInfo[] = []
    for (const v of Object.values(all)) {
      try { out.push(JSON.parse(v) as MemberInfo) } catch {}
    }
    return out.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  }

  async member (id: string): Promise<MemberInfo | null> {
    const v = await this.client.get(this.key(`members/${id}`)).string()
    if (v === null) return null
    try { return JSON.parse(v) as MemberInfo } catch { return null }
  }

  /** The epoch and in-sync set, with their revisions. */
  async state (): Promise<GroupState> {
    const res = await this.client.getAll().prefix(this.prefix).exec()
    let epoch = 0
    let isr: IsrState | null = null
    let epochRev = '0'
    let isrRev = '0'
    for (const kv of res.kvs) {
      const k = kv.key.toString()
      if (k === this.key('epoch')) {
        epoch = Number(kv.value.toString()) || 0
        epochRev = String(kv.mod_revision)
      } else if (k === this.key('isr')) {
        try { isr = JSON.parse(kv.value.toString()) as IsrState } catch { isr = null }
        isrRev = String(kv.mod_revision)
      }
    }
    return { epoch, isr, epochRev, isrRev }
  }

  /**
   * Campaigns for primary (etcd3's election, value = this node's id); resolves once elected.
   * Rejects if the campaign fails (its lease is lost); never resolves if `resign()` comes first.
   */
  async campaign (): Promise<void> {
    if (this.campaignRef !== null) throw new Error('already campaigning')
    const c = this.election.campaign(this.id)
    this.campaignRef = c
    // the campaign's own lease decides leadership; track when it certainly lives (see the header)
    const lease = (c as unknown as { lease: Lease }).lease
    const grantedAt = Date.now()
    this.campaignClock = new LeaseClock(lease, this.ttlMs, grantedAt)
    c.on('error', (err) => {
      if (this.campaignRef !== c) return
      this.elected = false
      if (!this.closed) this.emit('campaign-lost', err)
    })
    await new Promise<void>((resolve, reject) => {
      // etcd3 1.1 can emit 'elected' for a campaign that resigned meanwhile: ignore it then
      c.once('elected', () => {
        if (this.campaignRef !== c) return
        this.elected = true
        resolve()
      })
      c.once('error', (err) => { if (this.campaignRef === c) reject(err) })
    })
  }

  get campaigning (): boolean { return this.campaignRef !== null }

  /** True while this node was elected and its campaign lease cannot have expired in etcd. */
  leaderValid (now = Date.now()): boolean {
    return this.elected && this.campaignClock !== null && now < this.campaignClock.validUntil
  }

  /** Gives up the campaign (and leadership): revokes the campaign lease. */
  async resign (): Promise<void> {
    const c = this.campaignRef
    this.campaignRef = null
    this.campaignClock = null
    this.elected = false
    if (c !== null) await c.resign().catch(noop)
  }

  /**
   * The elected primary takes over: epoch + 1 and the in-sync set reduced to itself, in one
   * transaction that fails if either changed since read. Returns the new epoch, or null when this
   * node is not in the in-sync set (it must not lead) or the state moved under it.
   */
  async promote (): Promise<number | null> {
    const s = await this.state()
    if (s.isr !== null && !s.isr.members.includes(this.id)) return null
    const epoch = s.epoch + 1
    const isr: IsrState = { epoch, members: [this.id] }
    const r = await this.client.if(this.key('epoch'), 'Mod', '==', s.epochRev)
      .and(this.key('isr'), 'Mod', '==', s.isrRev)
      .then(this.client.put(this.key('epoch')).value(String(epoch)), this.client.put(this.key('isr')).value(JSON.stringify(isr)))
      .commit()
    return r.succeeded ? epoch : null
  }

  /** Replaces the in-sync set, only if the epoch is still `epoch` (else false: fenced). */
  async setIsr (epoch: number, members: string[]): Promise<boolean> {
    const isr: IsrState = { epoch, members: [...members].sort() }
    const r = await this.client.if(this.key('epoch'), 'Value', '==', String(epoch))
      .then(this.client.put(this.key('isr')).value(JSON.stringify(isr)))
      .commit()
    return r.succeeded
  }

  /** Calls `fn` with the group state now and whenever the epoch or the in-sync set changes. */
  async watchState (fn: (s: GroupState) => void): Promise<void> {
    const w = await this.client.watch().prefix(this.prefix).create()
    this.watcher = w
    const refresh = (): void => {
      this.state().then((s) => { if (!this.closed) fn(s) }, (err: Error) => { this.logger.warn(`REPLICATION: reading group state failed - ${err.message}`) })
    }
    w.on('put', (kv) => {
      const k = kv.key.toString()
      if (k === this.key('epoch') || k === this.key('isr')) refresh()
    })
    w.on('connected', refresh)
    w.on('error', (err) => { this.logger.warn(`REPLICATION: etcd watch error - ${err.message}`) })
    refresh()
  }

  /** Calls `fn` with the current primary's id (undefined while there is none) on every change. */
  async observeLeader (fn: (id: string | undefined) => void): Promise<void> {
    const o = await this.election.observe()
    this.observer = o
    o.on('change', (v) => { if (!this.closed) fn(v) })
    o.on('error', (err) => { this.logger.warn(`REPLICATION: election observer error - ${err.message}`) })
    fn(o.leader())
  }

  /** Resigns, revokes the session lease (members see us go at once) and closes the client. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.resign()
    if (this.observer !== null) await this.observer.cancel().catch(noop)
    if (this.watcher !== null) await this.watcher.cancel().catch(noop)
    if (this.lease !== null) await this.lease.revoke().catch(noop)
    this.client.close()
  }

  /**
   * Tests: stop renewing both leases without revoking them (a paused or partitioned process); the
   * client stays open, so watches keep reporting.
   */
  stall (): void {
    this.lease?.release()
    if (this.campaignRef !== null) (this.campaignRef as unknown as { lease: Lease }).lease.release()
  }

  /** Tests: stop talking to etcd without revoking anything (as a killed process would). */
  abandon (): void {
    this.closed = true
    this.lease?.release()
    if (this.campaignRef !== null) (this.campaignRef as unknown as { lease: Lease }).lease.release()
    this.client.close()
  }
}
