// The only module that talks to nsqlookupd and nsqd, over their public HTTP APIs (spec:
// nsqadmin.md §1, §6). Every query to a set of hosts runs in parallel; each answer is a partial
// result: whatever succeeded plus one NodeError per host that failed, was slow, or is not what
// it should be (say, a "lookupd" address that is really something else).

import type { HttpClient } from './http-client.js'
import { UpstreamError } from './http-client.js'
import { joinHostPort } from './options.js'
import type { LookupNode, LookupPeer, NodeError, NsqdInfo, NsqdStats, Producer, ReplicationGroupOut } from './types.js'

export interface PartialResult<T> {
  value: T
  errors: NodeError[]
  /** How many hosts were asked; when every one failed the API answers 502. */
  attempted: number
}

/** One nsqd: `node` is its identity (<broadcast_address>:<http_port>), `httpAddress` where we reach it. */
export interface NodeRef {
  node: string
  httpAddress: string
  hostname: string
}

export interface NodeStats {
  ref: NodeRef
  stats: NsqdStats
}

export interface TopicProducers {
  producers: NodeRef[]
  channels: string[]
  /** false when every lookupd that answered said TOPIC_NOT_FOUND (or, in nsqd mode, no node has it) */
  known: boolean
}

const INFO_TTL_MS = 30_000

export function allFailed (r: PartialResult<unknown>): boolean {
  return r.attempted > 0 && r.errors.length >= r.attempted
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function portOf (addr: string): number {
  return addr === '' ? 0 : Number(addr.slice(addr.lastIndexOf(':') + 1)) || 0
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function stringArray (v: unknown, field: string, what: string): string[] {
  if (!isObject(v) || !Array.isArray(v[field])) {
    throw new UpstreamError(`${what}: unexpected answer (no "${field}" list) - is this an nsqlookupd HTTP address?`)
  }
  return (v[field] as unknown[]).filter((x): x is string => typeof x === 'string')
}

/** Compares dotted versions numerically ("1.10.0" > "1.9.2"); pre-release tags ignored. */
export function compareVersions (a: string, b: string): number {
  const pa = a.split(/[-+]/)[0]!.split('.').map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split(/[-+]/)[0]!.split('.').map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

export class ClusterInfo {
  private readonly http: HttpClient
  lookupdAddresses: string[]
  readonly nsqdAddresses: string[]
  private readonly infoCache = new Map<string, { at: number, info: NsqdInfo }>()

  constructor (http: HttpClient, lookupdAddresses: string[], nsqdAddresses: string[]) {
    this.http = http
    this.lookupdAddresses = [...lookupdAddresses]
    this.nsqdAddresses = [...nsqdAddresses]
  }

  get mode (): 'lookupd' | 'nsqd' {
    return this.nsqdAddresses.length > 0 ? 'nsqd' : 'lookupd'
  }

  /** Runs fn on every address in parallel; collects values and per-address errors. */
  private async each<T> (kind: NodeError['kind'], addrs: readonly string[], fn: (addr: string) => Promise<T>): Promise<{ ok: Array<{ addr: string, value: T }>, errors: NodeError[] }> {
    const settled = await Promise.allSettled(addrs.map(fn))
    const ok: Array<{ addr: string, value: T }> = []
    const errors: NodeError[] = []
    settled.forEach((s, i) => {
      const addr = addrs[i] as string
      if (s.status === 'fulfilled') ok.push({ addr, value: s.value })
      else errors.push({ kind, address: addr, error: errorText(s.reason) })
    })
    return { ok, errors }
  }

  // ---- nsqd-mode helpers ------------------------------------------------------------------

  private async nsqdInfo (addr: string): Promise<NsqdInfo> {
    const hit = this.infoCache.get(addr)
    if (hit !== undefined && Date.now() - hit.at < INFO_TTL_MS) return hit.info
    const v = await this.http.getJson(addr, '/info')
    if (!isObject(v) || typeof v.version !== 'string') {
      throw new UpstreamError(`GET http://${addr}/info: unexpected answer - is this an nsqd HTTP address?`)
    }
    const info = v as unknown as NsqdInfo
    this.infoCache.set(addr, { at: Date.now(), info })
    return info
  }

  private async staticRef (addr: string): Promise<NodeRef> {
    const info = await this.nsqdInfo(addr)
    const bcast = info.broadcast_address !== '' ? info.broadcast_address : addr.slice(0, addr.lastIndexOf(':'))
    return { node: joinHostPort(bcast, info.http_port), httpAddress: addr, hostname: info.hostname }
  }

  // ---- queries ----------------------------------------------------------------------------

  /** Every nsqd of the cluster as a NodeRef (lookupd /nodes, or the configured list). */
  async nodeRefs (): Promise<PartialResult<NodeRef[]>> {
    if (this.mode === 'nsqd') {
      const r = await this.each('nsqd', this.nsqdAddresses, async (a) => await this.staticRef(a))
      return { value: r.ok.map((x) => x.value), errors: r.errors, attempted: this.nsqdAddresses.length }
    }
    const nodes = await this.nodes()
    return {
      value: nodes.value.map((p) => ({ node: joinHostPort(p.broadcast_address, p.http_port), httpAddress: joinHostPort(p.broadcast_address, p.http_port), hostname: p.hostname })),
      errors: nodes.errors,
      attempted: nodes.attempted
    }
  }

  /** Sorted union of topic names. */
  async topics (): Promise<PartialResult<string[]>> {
    if (this.mode === 'nsqd') {
      const r = await this.stats(await this.nodeRefs(), { includeClients: false })
      const set = new Set<string>()
      for (const s of r.value) for (const t of s.stats.topics ?? []) set.add(t.topic_name)
      return { value: [...set].sort(), errors: r.errors, attempted: r.attempted }
    }
    const r = await this.each('lookupd', this.lookupdAddresses, async (a) =>
      stringArray(await this.http.getJson(a, '/topics'), 'topics', `GET http://${a}/topics`))
    const set = new Set<string>()
    for (const x of r.ok) for (const t of x.value) set.add(t)
    return { value: [...set].sort(), errors: r.errors, attempted: this.lookupdAddresses.length }
  }

  /** Union of the channels lookupd knows for a topic. */
  async lookupdChannels (topic: string): Promise<PartialResult<string[]>> {
    const q = `/channels?topic=${encodeURIComponent(topic)}`
    const r = await this.each('lookupd', this.lookupdAddresses, async (a) =>
      stringArray(await this.http.getJson(a, q), 'channels', `GET http://${a}${q}`))
    const set = new Set<string>()
    for (const x of r.ok) for (const c of x.value) set.add(c)
    return { value: [...set].sort(), errors: r.errors, attempted: this.lookupdAddresses.length }
  }

  /** The nsqd nodes producing a topic (lookupd /lookup union, dedup by node). */
  async topicProducers (topic: string): Promise<PartialResult<TopicProducers>> {
    if (this.mode === 'nsqd') {
      const refs = await this.nodeRefs()
      const r = await this.stats(refs, { topic, includeClients: false })
      const producers = r.value.filter((s) => (s.stats.topics ?? []).some((t) => t.topic_name === topic)).map((s) => s.ref)
      return { value: { producers, channels: [], known: producers.length > 0 }, errors: r.errors, attempted: r.attempted }
    }
    const q = `/lookup?topic=${encodeURIComponent(topic)}`
    let notFound = 0
    const r = await this.each('lookupd', this.lookupdAddresses, async (a) => {
      try {
        const v = await this.http.getJson(a, q)
        if (!isObject(v) || !Array.isArray(v.producers)) {
          throw new UpstreamError(`GET http://${a}${q}: unexpected answer (no "producers" list) - is this an nsqlookupd HTTP address?`)
        }
        return { producers: v.producers as LookupPeer[], channels: Array.isArray(v.channels) ? v.channels as string[] : [] }
      } catch (err) {
        if (err instanceof UpstreamError && err.status === 404 && err.upstreamMessage === 'TOPIC_NOT_FOUND') {
          notFound++
          return { producers: [], channels: [] }
        }
        throw err
      }
    })
    const seen = new Map<string, NodeRef>()
    const channels = new Set<string>()
    for (const x of r.ok) {
      for (const p of x.value.producers) {
        const node = joinHostPort(p.broadcast_address, p.http_port)
        if (!seen.has(node)) seen.set(node, { node, httpAddress: node, hostname: p.hostname })
      }
      for (const c of x.value.channels) channels.add(c)
    }
    const known = r.ok.length === 0 ? true : notFound < r.ok.length
    return { value: { producers: [...seen.values()], channels: [...channels].sort(), known }, errors: r.errors, attempted: this.lookupdAddresses.length }
  }

  /** Every nsqd (spec §4.4 Producer objects), de-duplicated by broadcast_address:tcp_port. */
  async nodes (): Promise<PartialResult<Producer[]>> {
    if (this.mode === 'nsqd') {
      const r = await this.each('nsqd', this.nsqdAddresses, async (a) => {
        const [info, stats] = await Promise.all([this.nsqdInfo(a), this.statsOf(a, { includeClients: false })])
        const p: Producer = {
          remote_addresses: null,
          remote_address: '',
          hostname: info.hostname,
          broadcast_address: info.broadcast_address !== '' ? info.broadcast_address : a.slice(0, a.lastIndexOf(':')),
          tcp_port: info.tcp_port,
          http_port: info.http_port,
          version: info.version,
          topics: (stats.topics ?? []).map((t) => ({ topic: t.topic_name, tombstoned: false })).sort((x, y) => (x.topic < y.topic ? -1 : 1)),
          out_of_date: false
        }
        if (info.topology_zone) p.topology_zone = info.topology_zone
        if (info.topology_region) p.topology_region = info.topology_region
        return p
      })
      return { value: r.ok.map((x) => x.value).sort((x, y) => (x.hostname < y.hostname ? -1 : x.hostname > y.hostname ? 1 : 0)), errors: r.errors, attempted: this.nsqdAddresses.length }
    }
    const r = await this.each('lookupd', this.lookupdAddresses, async (a) => {
      const v = await this.http.getJson(a, '/nodes')
      if (!isObject(v) || !Array.isArray(v.producers)) {
        throw new UpstreamError(`GET http://${a}/nodes: unexpected answer (no "producers" list) - is this an nsqlookupd HTTP address?`)
      }
      return v.producers as LookupNode[]
    })
    const byKey = new Map<string, Producer>()
    for (const { addr, value } of r.ok) {
      for (const n of value) {
        const key = joinHostPort(n.broadcast_address, n.tcp_port)
        let p = byKey.get(key)
        if (p === undefined) {
          p = {
            remote_addresses: [],
            remote_address: n.remote_address,
            hostname: n.hostname,
            broadcast_address: n.broadcast_address,
            tcp_port: n.tcp_port,
            http_port: n.http_port,
            version: n.version,
            topics: [],
            out_of_date: false
          }
          if (n.topology_zone) p.topology_zone = n.topology_zone
          if (n.topology_region) p.topology_region = n.topology_region
          byKey.set(key, p)
        }
        p.remote_addresses!.push(`${addr}/${n.remote_address}`)
        const topics = Array.isArray(n.topics) ? n.topics : []
        topics.forEach((t, i) => {
          const tomb = Array.isArray(n.tombstones) && n.tombstones[i] === true
          const existing = p!.topics.find((x) => x.topic === t)
          if (existing === undefined) p!.topics.push({ topic: t, tombstoned: tomb })
          else existing.tombstoned = existing.tombstoned || tomb
        })
      }
    }
    const list = [...byKey.values()]
    let maxVersion = ''
    for (const p of list) if (maxVersion === '' || compareVersions(p.version, maxVersion) > 0) maxVersion = p.version
    for (const p of list) {
      p.topics.sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : 0))
      p.out_of_date = compareVersions(p.version, maxVersion) < 0
    }
    list.sort((x, y) => (x.hostname < y.hostname ? -1 : x.hostname > y.hostname ? 1 : 0))
    return { value: list, errors: r.errors, attempted: this.lookupdAddresses.length }
  }

  private async statsOf (addr: string, q: { topic?: string, channel?: string, includeClients: boolean }): Promise<NsqdStats> {
    let path = '/stats?format=json'
    if (q.topic !== undefined) path += `&topic=${encodeURIComponent(q.topic)}`
    if (q.channel !== undefined) path += `&channel=${encodeURIComponent(q.channel)}`
    if (!q.includeClients) path += '&include_clients=false'
    const v = await this.http.getJson(addr, path)
    if (!isObject(v) || !('topics' in v) || (v.topics !== null && !Array.isArray(v.topics))) {
      throw new UpstreamError(`GET http://${addr}${path}: unexpected answer (no "topics") - is this an nsqd HTTP address?`)
    }
    return v as unknown as NsqdStats
  }

  /** /stats of each node; errors of an earlier step (refs) are carried along. */
  async stats (refs: PartialResult<NodeRef[]>, q: { topic?: string, channel?: string, includeClients: boolean }): Promise<PartialResult<NodeStats[]>> {
    const list = refs.value
    const r = await this.each('nsqd', list.map((x) => x.httpAddress), async (a) => await this.statsOf(a, q))
    const byAddr = new Map(list.map((x) => [x.httpAddress, x]))
    const value = r.ok.map((x) => ({ ref: byAddr.get(x.addr) as NodeRef, stats: x.value }))
    // With nodes to ask, the answer failed only if every node failed; with none (say every
    // lookupd was down), it failed if the step that finds nodes failed everywhere.
    const attempted = list.length > 0 ? list.length + refs.errors.length : refs.attempted
    return { value, errors: [...refs.errors, ...r.errors], attempted }
  }

  // ---- actions ----------------------------------------------------------------------------

  /** POST to every lookupd; `ignore404` treats "already gone" answers as success (deletes). */
  async lookupdPost (path: string, ignore404 = false): Promise<PartialResult<null>> {
    const r = await this.each('lookupd', this.lookupdAddresses, async (a) => { await this.postOk(a, path, ignore404) })
    return { value: null, errors: r.errors, attempted: this.lookupdAddresses.length }
  }

  async nsqdPost (refs: NodeRef[], path: string, ignore404 = false): Promise<PartialResult<null>> {
    const r = await this.each('nsqd', refs.map((x) => x.httpAddress), async (a) => { await this.postOk(a, path, ignore404) })
    return { value: null, errors: r.errors, attempted: refs.length }
  }

  /** PUT a body to one nsqd (PUT /config/draining). */
  async nsqdPut (ref: NodeRef, path: string, body: string): Promise<PartialResult<null>> {
    const r = await this.each('nsqd', [ref.httpAddress], async (a) => { await this.http.request('PUT', `http://${a}${path}`, Buffer.from(body), null) })
    return { value: null, errors: r.errors, attempted: 1 }
  }

  /**
   * Marks the nodes that are draining (drain mode, nsqd/drain.ts) from each one's /info, asked
   * fresh (no cache): a node that does not answer, or an NSQ nsqd without the field, is not marked.
   */
  /**
   * Reads every node's /info (not cached: these change): marks draining nodes, notes each
   * replicated node's group and role, and returns the replication groups with their standbys
   * (standbys do not register with nsqlookupd: the primary's /info lists them with their lag).
   */
  async annotate (nodes: Producer[]): Promise<ReplicationGroupOut[]> {
    const infos = await Promise.all(nodes.map(async (p) => {
      try {
        const v = await this.http.getJson(joinHostPort(p.broadcast_address, p.http_port), '/info')
        if (!isObject(v)) return null
        if (v.draining === true) p.draining = true
        const r = v.replication
        if (!isObject(r) || typeof r.group !== 'string') return null
        p.replication = { group: r.group, role: String(r.role), epoch: Number(r.epoch) || 0 }
        return { p, r }
      } catch { return null }
    }))
    const groups = new Map<string, ReplicationGroupOut>()
    const group = (r: Record<string, unknown>): ReplicationGroupOut => {
      const name = String(r.group)
      let g = groups.get(name)
      if (g === undefined) {
        g = {
          group: name, epoch: Number(r.epoch) || 0, primary: '', replication_factor: Number(r.replication_factor) || 0,
          min_insync_replicas: Number(r.min_insync_replicas) || 0, in_sync_count: Array.isArray(r.in_sync) ? r.in_sync.length : 0, members: []
        }
        groups.set(name, g)
      }
      return g
    }
    const found = infos.filter((x): x is { p: Producer, r: Record<string, unknown> } => x !== null)
    // primaries first: they know every standby's lag
    for (const { p, r } of found) {
      if (r.role !== 'primary') continue
      const g = group(r)
      const node = joinHostPort(p.broadcast_address, p.http_port)
      g.primary = node
      g.epoch = Number(r.epoch) || 0
      g.in_sync_count = Array.isArray(r.in_sync) ? r.in_sync.length : 0
      g.members.unshift({ node, id: String(r.node_id ?? ''), role: 'primary', hostname: p.hostname, tcp_port: p.tcp_port, http_port: p.http_port, state: 'serving', in_sync: true, lag: 0, acked_seq: Number(r.last_seq) || 0 })
      for (const sb of Array.isArray(r.standbys) ? r.standbys : []) {
        if (!isObject(sb)) continue
        const http = typeof sb.http_address === 'string' ? sb.http_address : ''
        const tcp = typeof sb.tcp_address === 'string' ? sb.tcp_address : ''
        g.members.push({
          node: http !== '' ? http : String(sb.id), id: String(sb.id), role: 'standby', hostname: String(sb.hostname ?? ''),
          tcp_port: portOf(tcp), http_port: portOf(http), state: String(sb.state), in_sync: sb.in_sync === true,
          lag: Number(sb.lag) || 0, acked_seq: Number(sb.acked_seq) || 0
        })
      }
    }
    // standbys listed themselves (nsqadmin given every nsqd address) that no primary reported
    for (const { p, r } of found) {
      if (r.role === 'primary') continue
      const g = group(r)
      const node = joinHostPort(p.broadcast_address, p.http_port)
      const id = String(r.node_id ?? '')
      if (g.members.some((m) => m.node === node || m.id === id)) continue
      g.members.push({
        node, id, role: 'standby', hostname: p.hostname, tcp_port: p.tcp_port, http_port: p.http_port, state: String(r.state ?? 'idle'),
        in_sync: Array.isArray(r.in_sync) && r.in_sync.includes(id), lag: null, acked_seq: null
      })
    }
    return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))
  }

  private async postOk (addr: string, path: string, ignore404: boolean): Promise<void> {
    try {
      await this.http.post(addr, path)
    } catch (err) {
      if (ignore404 && err instanceof UpstreamError && err.status === 404) return
      throw err
    }
  }
}
