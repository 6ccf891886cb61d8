// The node's stats snapshot (nsqd-http.md §6): one implementation used by GET /stats (JSON and
// text), the statsd pusher and GET /metrics. Objects are built with NSQ's JSON key names, in NSQ's
// order, so JSON.stringify gives the exact /stats body.

import v8 from 'node:v8'
import { PerformanceObserver } from 'node:perf_hooks'
import type { NSQD } from './nsqd.js'
import type { Topic } from './core/topic.js'
import type { Channel } from './core/channel.js'
import { ClientV2 } from './tcp/client-v2.js'
import { GatewayClient } from './gateway/client.js'
import { differsFromGo, goJson } from '../client/wire/go-json.js'
import type { LatencyResult } from './e2e-latency.js'

export interface PubCount { topic: string, count: number }

export interface ClientStats {
  client_id: string
  hostname: string
  version: 'V2'
  remote_address: string
  state: number
  ready_count: number
  in_flight_count: number
  message_count: number
  finish_count: number
  requeue_count: number
  connect_ts: number
  sample_rate: number
  deflate: boolean
  snappy: boolean
  user_agent: string
  authed?: boolean
  auth_identity?: string
  auth_identity_url?: string
  topology_zone: string
  topology_region: string
  pub_counts?: PubCount[]
  tls: boolean
  tls_cipher_suite: string
  tls_version: string
  tls_negotiated_protocol: string
  tls_negotiated_protocol_is_mutual: boolean
}

export interface ChannelStats {
  channel_name: string
  depth: number
  backend_depth: number
  in_flight_count: number
  deferred_count: number
  message_count: number
  /** NSQ quirk: deliveries taken from the in-memory queue; present only when > 0. */
  global_msg_count?: number
  requeue_count: number
  timeout_count: number
  /** Delivery policies (not in NSQ): present only when the channel has one. */
  max_attempts?: number
  message_ttl_ms?: number
  /** '' when dead-lettering is off. */
  dead_letter_topic?: string
  dead_letter_count?: number
  expired_count?: number
  /** Bounded queues (not in NSQ): present only when the channel has a cap (or dropped something). */
  queue_bytes?: number
  max_queue_messages?: number
  max_queue_bytes?: number
  queue_full_policy?: 'refuse' | 'drop-oldest'
  full_drop_count?: number
  client_count: number
  clients: ClientStats[] | null
  paused: boolean
  e2e_processing_latency: LatencyResult
}

export interface TopicStats {
  topic_name: string
  channels: ChannelStats[]
  depth: number
  backend_depth: number
  message_count: number
  message_bytes: number
  paused: boolean
  /** Bounded queues (not in NSQ): present only when the topic or a channel has a cap. */
  queue_bytes?: number
  max_queue_messages?: number
  max_queue_bytes?: number
  queue_full_policy?: 'refuse' | 'drop-oldest'
  full_drop_count?: number
  full_refused_count?: number
  e2e_processing_latency: LatencyResult
}

export interface MemStats {
  heap_objects: number
  heap_idle_bytes: number
  heap_in_use_bytes: number
  heap_released_bytes: number
  gc_pause_usec_100: number
  gc_pause_usec_99: number
  gc_pause_usec_95: number
  next_gc_bytes: number
  gc_total_runs: number
}

export interface StatsFilter {
  /** Only this topic ('' or undefined: all). A missing topic gives `topics: null`. */
  topic?: string
  /** Only this channel in each topic; topics without it are left out. */
  channel?: string
  /** false: `clients` and `producers` are null (client_count is still filled). */
  includeClients: boolean
}

export interface StatsSnapshot {
  topics: TopicStats[] | null
  producers: ClientStats[] | null
}

/** The whole /stats JSON document, keys in NSQ's order. */
export interface StatsDocument {
  version: string
  health: string
  start_time: number
  topics: TopicStats[] | null
  memory?: MemStats
  producers: ClientStats[] | null
  /** Replication (nsqd/replication) only. */
  replication?: Record<string, unknown>
  /** Drain mode (nsqd/drain.ts) only, while draining. */
  draining?: true
  drain_remaining?: number
  drain_stuck_topics?: string[]
  /** Dead-letter topics without channels still holding messages: left in the store, not waited for. */
  drain_dead_letter_topics?: string[]
}

function byName<T extends { name: string }> (a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

/** What /stats reads from a client: a TCP client or a browser gateway client. */
export type StatsClient = Pick<ClientV2, 'clientId' | 'hostname' | 'remoteAddress' | 'state' | 'readyCount' | 'inFlightCount' | 'messageCount' | 'finishCount' | 'requeueCount' | 'connectTs' | 'sampleRate' | 'deflate' | 'snappy' | 'userAgent' | 'topologyZone' | 'topologyRegion' | 'tls' | 'tlsCipherSuite' | 'tlsVersion' | 'authed' | 'authIdentity' | 'authIdentityUrl' | 'pubCounts'>

export function clientStats (c: StatsClient, topicFilter: string): ClientStats {
  const s: ClientStats = {
    client_id: c.clientId,
    hostname: c.hostname,
    version: 'V2',
    remote_address: c.remoteAddress,
    state: c.state,
    ready_count: c.readyCount,
    in_flight_count: c.inFlightCount,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: Math.floor(c.connectTs / 1000),
    sample_rate: c.sampleRate,
    deflate: c.deflate,
    snappy: c.snappy,
    user_agent: c.userAgent,
    topology_zone: c.topologyZone,
    topology_region: c.topologyRegion,
    tls: c.tls,
    tls_cipher_suite: c.tlsCipherSuite,
    tls_version: c.tlsVersion,
    tls_negotiated_protocol: '',
    tls_negotiated_protocol_is_mutual: false
  }
  if (!c.authed && c.authIdentity === '' && c.authIdentityUrl === '' && c.pubCounts.size === 0) return s
  // optional keys sit in the middle of NSQ's order: rebuild with them in place
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === 'topology_zone') {
      if (c.authed) out.authed = true
      if (c.authIdentity !== '') out.auth_identity = c.authIdentity
      if (c.authIdentityUrl !== '') out.auth_identity_url = c.authIdentityUrl
    }
    if (k === 'tls') {
      const counts: PubCount[] = []
      for (const [topic, count] of c.pubCounts) {
        if (topicFilter === '' || topic === topicFilter) counts.push({ topic, count })
      }
      if (counts.length > 0) out.pub_counts = counts
    }
    out[k] = v
  }
  return out as unknown as ClientStats
}

export function channelStats (nsqd: NSQD, ch: Channel, includeClients: boolean, topicFilter: string, nowMs: number): ChannelStats {
  let clients: ClientStats[] | null = null
  if (includeClients) {
    clients = []
    for (const c of ch.clients) if (c instanceof ClientV2 || c instanceof GatewayClient) clients.push(clientStats(c, topicFilter))
  }
  const stats: ChannelStats = {
    channel_name: ch.name,
    depth: ch.depth,
    backend_depth: ch.backend.depth(),
    in_flight_count: ch.inFlight.size,
    deferred_count: ch.deferred.size,
    message_count: ch.messageCount,
    requeue_count: ch.requeueCount,
    timeout_count: ch.timeoutCount,
    // not in NSQ, so only where a policy is set: a node without policies answers exactly as NSQ
    ...(ch.hasPolicy || ch.deadLetterCount > 0 || ch.expiredCount > 0
      ? {
          max_attempts: ch.maxAttempts,
          message_ttl_ms: ch.messageTtlMs,
          dead_letter_topic: ch.deadLettering ? ch.deadLetterTopic : '',
          dead_letter_count: ch.deadLetterCount,
          expired_count: ch.expiredCount
        }
      : {}),
    ...(ch.capOn || ch.fullDropCount > 0
      ? {
          queue_bytes: ch.depthBytes,
          max_queue_messages: ch.cap.maxMessages,
          max_queue_bytes: ch.cap.maxBytes,
          queue_full_policy: ch.dropsOldest ? 'drop-oldest' as const : 'refuse' as const,
          full_drop_count: ch.fullDropCount
        }
      : {}),
    client_count: ch.clientCount,
    clients,
    paused: ch.paused,
    e2e_processing_latency: nsqd.e2e.forChannel(ch, nowMs)
  }
  if (ch.globalMsgCount === 0) return stats
  // NSQ's key order: right after message_count
  const { channel_name, depth, backend_depth, in_flight_count, deferred_count, message_count, ...rest } = stats
  return { channel_name, depth, backend_depth, in_flight_count, deferred_count, message_count, global_msg_count: ch.globalMsgCount, ...rest }
}

export function topicStats (nsqd: NSQD, t: Topic, filter: StatsFilter, nowMs: number): TopicStats | null {
  const channelFilter = filter.channel ?? ''
  let chans: Channel[]
  if (channelFilter !== '') {
    const ch = t.getExistingChannel(channelFilter)
    if (ch === undefined) return null
    chans = [ch]
  } else {
    chans = [...t.channelsList].sort(byName)
  }
  const topicFilter = filter.topic ?? ''
  return {
    topic_name: t.name,
    channels: chans.map((ch) => channelStats(nsqd, ch, filter.includeClients, topicFilter, nowMs)),
    depth: t.depth,
    backend_depth: t.backend.depth(),
    message_count: t.messageCount,
    message_bytes: t.messageBytes,
    paused: t.paused,
    // bounded queues (not in NSQ): only where a cap applies, so a node without caps answers as NSQ
    ...(t.hasCapPolicy
      ? {
          queue_bytes: t.depthBytes,
          max_queue_messages: t.cap.maxMessages,
          max_queue_bytes: t.cap.maxBytes,
          queue_full_policy: t.cap.dropOldest ? 'drop-oldest' as const : 'refuse' as const,
          full_drop_count: t.fullDropCount,
          full_refused_count: t.fullRefusedCount
        }
      : {}),
    e2e_processing_latency: nsqd.e2e.forTopic(chans, nowMs)
  }
}

/** Topics (sorted by name) and producers (connections that published), as /stats reports them. */
export function getStats (nsqd: NSQD, filter: StatsFilter, nowMs = Date.now()): StatsSnapshot {
  const topicFilter = filter.topic ?? ''
  let topics: TopicStats[] | null
  if (topicFilter !== '') {
    const t = nsqd.getExistingTopic(topicFilter)
    const s = t === undefined ? null : topicStats(nsqd, t, filter, nowMs)
    topics = t === undefined ? null : s === null ? [] : [s]
  } else {
    topics = []
    for (const t of [...nsqd.topics.values()].sort(byName)) {
      const s = topicStats(nsqd, t, filter, nowMs)
      if (s !== null) topics.push(s)
    }
  }
  // Every connection that has published is a producer. A topic filter only narrows each one's
  // pub_counts (the key goes when none is left); a filter naming a missing topic lists none.
  let producers: ClientStats[] | null = null
  if (filter.includeClients && (topicFilter === '' || topics !== null)) {
    for (const p of nsqd.clients.values()) {
      const c = p.client
      if (c.pubCounts.size === 0) continue
      if (producers === null) producers = []
      producers.push(clientStats(c, topicFilter))
    }
    // browser gateway connections that published (nsqd/gateway)
    if (nsqd.gateway !== null) {
      for (const c of nsqd.gateway.clients.values()) {
        if (c.pubCounts.size === 0) continue
        if (producers === null) producers = []
        producers.push(clientStats(c, topicFilter))
      }
    }
  }
  return { topics, producers }
}

/** "OK" or "NOK - <error>" (nsqd-internals.md §17). */
export function healthText (nsqd: NSQD): string {
  return nsqd.healthError === null ? 'OK' : `NOK - ${nsqd.healthError}`
}

export function statsDocument (nsqd: NSQD, version: string, filter: StatsFilter, includeMem: boolean): StatsDocument {
  const snap = getStats(nsqd, filter)
  const startTime = Math.floor(nsqd.startTime / 1000)
  const health = healthText(nsqd)
  const doc: StatsDocument = includeMem
    ? { version, health, start_time: startTime, topics: snap.topics, memory: memStats(), producers: snap.producers }
    : { version, health, start_time: startTime, topics: snap.topics, producers: snap.producers }
  if (nsqd.replicationInfo !== null) doc.replication = nsqd.replicationInfo()
  // drain mode (nsqd/drain.ts): draining, drain_remaining, drain_stuck_topics, drain_dead_letter_topics, only while draining
  if (nsqd.draining) Object.assign(doc, nsqd.drain.statsFields())
  return doc
}

/**
 * The /stats JSON body, as Go's json.Marshal writes it. Topic and channel names (also those in
 * pub_counts) are valid names, which never need escaping, so only the free-form strings are
 * checked (health, version and every client's string fields), each once; when none differs from
 * what JSON.stringify writes, the 650 KiB of 1,000 topics are not scanned again.
 */
export function statsJson (doc: StatsDocument): string {
  let checked = !differsFromGo(doc.version) && !differsFromGo(doc.health)
  if (checked && doc.producers !== null) checked = clientsChecked(doc.producers)
  if (checked && doc.topics !== null) {
    for (const t of doc.topics) {
      for (const ch of t.channels) if (ch.clients !== null && !clientsChecked(ch.clients)) { checked = false; break }
      if (!checked) break
    }
  }
  return goJson(doc, checked)
}

function clientsChecked (clients: ClientStats[]): boolean {
  for (const c of clients) {
    for (const k in c) {
      const v = (c as unknown as Record<string, unknown>)[k]
      if (typeof v === 'string' && differsFromGo(v)) return false
    }
  }
  return true
}

// ---- memory ------------------------------------------------------------------------------------

/** GC pauses (µs) of the most recent collections, like Go's PauseNs ring of 256. */
const GC_RING = 256
const gcPausesUs = new Float64Array(GC_RING)
let gcRuns = 0
let gcObserver: PerformanceObserver | null = null

function watchGc (): void {
  if (gcObserver !== null) return
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcPausesUs[gcRuns % GC_RING] = e.duration * 1000
      gcRuns++
    }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
}

function percentileOf (sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return Math.round(sorted[i] as number)
}

/**
 * Node equivalents of Go's runtime.MemStats fields (nsqd-http.md §6): V8 heap figures, GC pause
 * percentiles over the last 256 collections (observed from the first call on), GC count.
 * heap_objects has no cheap V8 equivalent and is reported as 0.
 */
export function memStats (): MemStats {
  watchGc()
  const h = v8.getHeapStatistics()
  const n = Math.min(gcRuns, GC_RING)
  const pauses = gcPausesUs.slice(0, n).sort()
  return {
    heap_objects: 0,
    heap_idle_bytes: Math.max(0, h.total_heap_size - h.used_heap_size),
    heap_in_use_bytes: h.used_heap_size,
    heap_released_bytes: Math.max(0, h.total_heap_size - h.total_physical_size),
    gc_pause_usec_100: percentileOf(pauses, 1),
    gc_pause_usec_99: percentileOf(pauses, 0.99),
    gc_pause_usec_95: percentileOf(pauses, 0.95),
    next_gc_bytes: h.total_heap_size,
    gc_total_runs: gcRuns
  }
}
