// GET /metrics (beyond NSQ): the node in the Prometheus text format, through prom-client. Every
// number is read from the same stats snapshot as GET /stats (nsqd/stats.ts), taken once per
// scrape; prom-client's default process/Node.js metrics are included.
//
// Names follow Prometheus conventions: an nsq_ prefix, _total for counters, seconds for latency.
// e2e latency quantiles are gauges with a `quantile` label (they are NSQ's windowed estimates,
// not a Prometheus summary), present only when --e2e-processing-latency-percentile is set.

import type { FastifyInstance } from 'fastify'
import { Registry, collectDefaultMetrics, type Metric, type MetricValue } from 'prom-client'
import type { NSQD } from '../nsqd.js'
import { VERSION } from '../options.js'
import { getStats, type StatsSnapshot, type TopicStats, type ChannelStats } from '../stats.js'
import type { LatencyResult } from '../e2e-latency.js'
import type { RouteOptions, RouteSpec } from './respond.js'

export const METRICS_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/metrics' }
]

type Labels = Record<string, string>
type Row = MetricValue<string>

/**
 * A metric whose values are read from the scrape's snapshot. prom-client's Registry formats it
 * (through the public `get()` contract of its metrics); we skip the per-label-set hashing of
 * Gauge.set/Counter.inc, which dominates a scrape with thousands of channels.
 */
class SnapshotMetric {
  readonly name: string
  readonly help: string
  /** The text format's type ('gauge', 'counter'); prom-client's typings call it an enum. */
  readonly type: string
  readonly aggregator = 'sum' as const
  private readonly rows: () => Row[]

  constructor (name: string, help: string, type: 'gauge' | 'counter', rows: () => Row[]) {
    this.name = name
    this.help = help
    this.type = type
    this.rows = rows
  }

  async get (): Promise<{ name: string, help: string, type: string, values: Row[], aggregator: 'sum' }> {
    return { name: this.name, help: this.help, type: this.type, values: this.rows(), aggregator: this.aggregator }
  }
}

/** Label objects built once per scrape and shared by every metric of a topic or channel. */
interface Scrape {
  snap: StatsSnapshot
  topics: Array<{ t: TopicStats, labels: Labels, channels: Array<{ c: ChannelStats, labels: Labels }> }>
}

export function scrapeOf (snap: StatsSnapshot): Scrape {
  const topics = (snap.topics ?? []).map((t) => ({
    t,
    labels: { topic: t.topic_name },
    channels: t.channels.map((c) => ({ c, labels: { topic: t.topic_name, channel: c.channel_name } }))
  }))
  return { snap, topics }
}

/** A registry whose metrics read `current()` (set right before each scrape). */
export function buildMetricsRegistry (nsqd: NSQD, current: () => Scrape, defaultMetrics = true): Registry {
  const registry = new Registry()
  const add = (name: string, help: string, type: 'gauge' | 'counter', rows: () => Row[]): void => {
    registry.registerMetric(new SnapshotMetric(name, help, type, rows) as unknown as Metric<string>)
  }
  const topicMetric = (type: 'gauge' | 'counter', name: string, help: string, pick: (t: TopicStats) => number): void => {
    add(name, help, type, () => current().topics.map(({ t, labels }) => ({ labels, value: pick(t) })))
  }
  const channelMetric = (type: 'gauge' | 'counter', name: string, help: string, pick: (c: ChannelStats) => number): void => {
    add(name, help, type, () => {
      const rows: Row[] = []
      for (const t of current().topics) for (const { c, labels } of t.channels) rows.push({ labels, value: pick(c) })
      return rows
    })
  }
  const one = (name: string, help: string, value: () => number): void => {
    add(name, help, 'gauge', () => [{ labels: {}, value: value() }])
  }

  topicMetric('gauge', 'nsq_topic_depth', 'Messages queued at the topic (memory + disk)', (t) => t.depth)
  topicMetric('gauge', 'nsq_topic_backend_depth', 'Messages queued at the topic on disk', (t) => t.backend_depth)
  topicMetric('counter', 'nsq_topic_messages_total', 'Messages published to the topic since start', (t) => t.message_count)
  topicMetric('counter', 'nsq_topic_message_bytes_total', 'Message body bytes published to the topic since start', (t) => t.message_bytes)
  topicMetric('gauge', 'nsq_topic_paused', '1 when the topic is paused', (t) => t.paused ? 1 : 0)
  topicMetric('gauge', 'nsq_topic_channels', 'Channels of the topic', (t) => t.channels.length)

  channelMetric('gauge', 'nsq_channel_depth', 'Messages queued in the channel (memory + disk), not in flight or deferred', (c) => c.depth)
  channelMetric('gauge', 'nsq_channel_backend_depth', 'Messages queued in the channel on disk', (c) => c.backend_depth)
  channelMetric('gauge', 'nsq_channel_in_flight', 'Messages delivered and awaiting FIN, REQ or timeout', (c) => c.in_flight_count)
  channelMetric('gauge', 'nsq_channel_deferred', 'Messages waiting for a REQ delay or a publish deferral', (c) => c.deferred_count)
  channelMetric('counter', 'nsq_channel_messages_total', 'Messages the channel received from its topic since start', (c) => c.message_count)
  channelMetric('counter', 'nsq_channel_requeues_total', 'Explicit REQs since start', (c) => c.requeue_count)
  channelMetric('counter', 'nsq_channel_timeouts_total', 'In-flight timeouts since start', (c) => c.timeout_count)
  channelMetric('gauge', 'nsq_channel_clients', 'Connected subscribers', (c) => c.client_count)
  channelMetric('gauge', 'nsq_channel_paused', '1 when the channel is paused', (c) => c.paused ? 1 : 0)

  if (nsqd.e2e.enabled) {
    const latencyRows = (rows: Row[], labels: Labels, r: LatencyResult): void => {
      for (const p of r.percentiles ?? []) rows.push({ labels: { ...labels, quantile: String(p.quantile) }, value: p.value / 1e9 })
    }
    add('nsq_topic_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window, merged over the topic\'s channels', 'gauge', () => {
      const rows: Row[] = []
      for (const { t, labels } of current().topics) latencyRows(rows, labels, t.e2e_processing_latency)
      return rows
    })
    add('nsq_channel_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window', 'gauge', () => {
      const rows: Row[] = []
      for (const t of current().topics) for (const { c, labels } of t.channels) latencyRows(rows, labels, c.e2e_processing_latency)
      return rows
    })
    channelMetric('gauge', 'nsq_channel_e2e_processing_latency_samples', 'FINs in the current latency window', (c) => c.e2e_processing_latency.count)
  }

  add('nsq_info', 'Always 1; the labels describe the node', 'gauge', () => [{ labels: { version: VERSION, broadcast_address: nsqd.options.broadcastAddress }, value: 1 }])
  one('nsq_healthy', '1 when the node is healthy (last disk write succeeded)', () => nsqd.healthError === null ? 1 : 0)
  one('nsq_start_time_seconds', 'Start time of the node (Unix seconds)', () => Math.floor(nsqd.startTime / 1000))
  one('nsq_topics', 'Topics on the node', () => nsqd.topics.size)
  one('nsq_clients', 'Connected TCP clients', () => nsqd.clients.size)
  one('nsq_producers', 'TCP connections that have published', () => {
    let n = 0
    for (const p of nsqd.clients.values()) if (p.client.pubCounts.size > 0) n++
    return n
  })

  const replication = nsqd.replicationInfo
  if (replication !== null) {
    // a replicated primary (nsqd/replication/README.md); standbys do not serve /metrics
    one('nsq_replication_epoch', 'Replication: the epoch this primary leads', () => Number(replication().epoch) || 0)
    one('nsq_replication_in_sync_replicas', 'Replication: nodes in the in-sync set, primary included', () => (replication().in_sync as unknown[] | undefined)?.length ?? 0)
    add('nsq_replication_standby_lag_batches', 'Replication: batches shipped but not yet acknowledged, per standby', 'gauge', () =>
      ((replication().standbys ?? []) as Array<{ id: string, lag: number, in_sync: boolean }>).map((s) => ({ labels: { standby: s.id, in_sync: String(s.in_sync) }, value: s.lag })))
  }
  if (defaultMetrics) collectDefaultMetrics({ register: registry })
  return registry
}

export async function metricsRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  const idle = scrapeOf({ topics: [], producers: null })
  let current = idle
  const registry = buildMetricsRegistry(nsqd, () => current)
  app.get('/metrics', async (_req, reply) => {
    // every metric's get() runs synchronously inside metrics(), before its first await
    current = scrapeOf(getStats(nsqd, { includeClients: false }))
    const text = await registry.metrics()
    current = idle
    return reply.code(200).header('Content-Type', registry.contentType).send(text)
  })
}
