// GET /metrics (beyond NSQ): the node in the Prometheus text format, through prom-client. Every
// number is read from the same stats snapshot as GET /stats (nsqd/stats.ts), taken once per
// scrape; prom-client's default process/Node.js metrics are included.
//
// Names follow Prometheus conventions: an nsq_ prefix, _total for counters, seconds for latency.
// e2e latency quantiles are gauges with a `quantile` label (they are NSQ's windowed estimates,
// not a Prometheus summary), present only when --e2e-processing-latency-percentile is set.

import type { FastifyInstance } from 'fastify'
import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client'
import type { NSQD } from '../nsqd.js'
import { VERSION } from '../options.js'
import { getStats, type StatsSnapshot } from '../stats.js'
import type { LatencyResult } from '../e2e-latency.js'
import type { RouteOptions, RouteSpec } from './respond.js'

export const METRICS_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/metrics' }
]

type TopicLabels = 'topic'
type ChannelLabels = 'topic' | 'channel'

/** A registry whose collectors read `snapshot()` (set right before each scrape). */
export function buildMetricsRegistry (nsqd: NSQD, snapshot: () => StatsSnapshot, defaultMetrics = true): Registry {
  const registry = new Registry()
  const registers = [registry]

  // a gauge or counter set from the snapshot on every scrape
  const topicMetric = (kind: 'gauge' | 'counter', name: string, help: string, pick: (t: NonNullable<StatsSnapshot['topics']>[number]) => number): void => {
    const collect = function (this: Gauge<TopicLabels> | Counter<TopicLabels>): void {
      this.reset()
      for (const t of snapshot().topics ?? []) {
        const v = pick(t)
        if (this instanceof Gauge) this.set({ topic: t.topic_name }, v)
        else this.inc({ topic: t.topic_name }, v)
      }
    }
    if (kind === 'gauge') new Gauge<TopicLabels>({ name, help, labelNames: ['topic'], registers, collect })
    else new Counter<TopicLabels>({ name, help, labelNames: ['topic'], registers, collect })
  }
  type ChannelRow = NonNullable<StatsSnapshot['topics']>[number]['channels'][number]
  const channelMetric = (kind: 'gauge' | 'counter', name: string, help: string, pick: (c: ChannelRow) => number): void => {
    const collect = function (this: Gauge<ChannelLabels> | Counter<ChannelLabels>): void {
      this.reset()
      for (const t of snapshot().topics ?? []) {
        for (const c of t.channels) {
          const labels = { topic: t.topic_name, channel: c.channel_name }
          const v = pick(c)
          if (this instanceof Gauge) this.set(labels, v)
          else this.inc(labels, v)
        }
      }
    }
    if (kind === 'gauge') new Gauge<ChannelLabels>({ name, help, labelNames: ['topic', 'channel'], registers, collect })
    else new Counter<ChannelLabels>({ name, help, labelNames: ['topic', 'channel'], registers, collect })
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
    const setLatency = (g: Gauge<string>, labels: Record<string, string>, r: LatencyResult): void => {
      for (const p of r.percentiles ?? []) g.set({ ...labels, quantile: String(p.quantile) }, p.value / 1e9)
    }
    new Gauge<string>({
      name: 'nsq_topic_e2e_processing_latency_seconds',
      help: 'End-to-end (publish to FIN) latency quantiles over the rolling window, merged over the topic\'s channels',
      labelNames: ['topic', 'quantile'],
      registers,
      collect () {
        this.reset()
        for (const t of snapshot().topics ?? []) setLatency(this, { topic: t.topic_name }, t.e2e_processing_latency)
      }
    })
    new Gauge<string>({
      name: 'nsq_channel_e2e_processing_latency_seconds',
      help: 'End-to-end (publish to FIN) latency quantiles over the rolling window',
      labelNames: ['topic', 'channel', 'quantile'],
      registers,
      collect () {
        this.reset()
        for (const t of snapshot().topics ?? []) {
          for (const c of t.channels) setLatency(this, { topic: t.topic_name, channel: c.channel_name }, c.e2e_processing_latency)
        }
      }
    })
    channelMetric('gauge', 'nsq_channel_e2e_processing_latency_samples', 'FINs in the current latency window', (c) => c.e2e_processing_latency.count)
  }

  new Gauge({
    name: 'nsq_info',
    help: 'Always 1; the labels describe the node',
    labelNames: ['version', 'broadcast_address'],
    registers,
    collect () {
      this.reset()
      this.set({ version: VERSION, broadcast_address: nsqd.options.broadcastAddress }, 1)
    }
  })
  new Gauge({ name: 'nsq_healthy', help: '1 when the node is healthy (last disk write succeeded)', registers, collect () { this.set(nsqd.healthError === null ? 1 : 0) } })
  new Gauge({ name: 'nsq_start_time_seconds', help: 'Start time of the node (Unix seconds)', registers, collect () { this.set(Math.floor(nsqd.startTime / 1000)) } })
  new Gauge({ name: 'nsq_topics', help: 'Topics on the node', registers, collect () { this.set(nsqd.topics.size) } })
  new Gauge({ name: 'nsq_clients', help: 'Connected TCP clients', registers, collect () { this.set(nsqd.clients.size) } })
  new Gauge({
    name: 'nsq_producers',
    help: 'TCP connections that have published',
    registers,
    collect () {
      let n = 0
      for (const p of nsqd.clients.values()) if (p.client.pubCounts.size > 0) n++
      this.set(n)
    }
  })

  if (defaultMetrics) collectDefaultMetrics({ register: registry })
  return registry
}

export async function metricsRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  let current: StatsSnapshot = { topics: [], producers: null }
  const registry = buildMetricsRegistry(nsqd, () => current)
  app.get('/metrics', async (_req, reply) => {
    current = getStats(nsqd, { includeClients: false })
    const text = await registry.metrics()
    current = { topics: [], producers: null }
    return reply.code(200).header('Content-Type', registry.contentType).send(text)
  })
}
