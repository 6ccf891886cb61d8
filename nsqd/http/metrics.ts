// GET /metrics (beyond NSQ): the node in the Prometheus text format. Every number is read from the
// same stats snapshot as GET /stats (nsqd/stats.ts), taken once per scrape; prom-client's default
// process/Node.js metrics follow the nsq_* families.
//
// Names follow Prometheus conventions: an nsq_ prefix, _total for counters, seconds for latency.
// e2e latency quantiles are gauges with a `quantile` label (they are NSQ's windowed estimates,
// not a Prometheus summary), present only when --e2e-processing-latency-percentile is set.
//
// The nsq_* families are formatted here, byte for byte as prom-client's Registry would format them
// (families joined by a blank line, `# HELP` with `\` and newline escaped, label values with `\`,
// newline and `"` escaped, values as JavaScript prints numbers). prom-client spent ~40 ms of a
// scrape of 1000 topics × 2 channels building and escaping label objects; here each family's
// header is built once and each topic's and channel's label text is kept between scrapes.

import type { FastifyInstance } from 'fastify'
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { NSQD } from '../nsqd.js'
import { VERSION } from '../options.js'
import { getStats, type StatsSnapshot, type TopicStats, type ChannelStats } from '../stats.js'
import type { LatencyResult } from '../e2e-latency.js'
import type { RouteOptions, RouteSpec } from './respond.js'

export const METRICS_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', url: '/metrics' }
]

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE

type Kind = 'gauge' | 'counter'

/** prom-client's escaping: `\` and newline in HELP text; also `"` in label values. */
function escapeHelp (s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabel (s: string): string {
  return escapeHelp(s).replace(/"/g, '\\"')
}

/** A sample value as prom-client prints it. */
function valueText (v: number): string {
  if (Number.isNaN(v)) return 'Nan'
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf'
  return `${v}`
}

/** `# HELP` and `# TYPE` lines of a family, without a trailing newline. */
function header (name: string, help: string, type: Kind): string {
  const n = escapeHelp(name)
  return `# HELP ${n} ${escapeHelp(help)}\n# TYPE ${n} ${type}`
}

interface TopicFamily { name: string, head: string, pick: (t: TopicStats) => number }
interface ChannelFamily { name: string, head: string, pick: (c: ChannelStats) => number }

const topicFamily = (type: Kind, name: string, help: string, pick: (t: TopicStats) => number): TopicFamily =>
  ({ name, head: header(name, help, type), pick })
const channelFamily = (type: Kind, name: string, help: string, pick: (c: ChannelStats) => number): ChannelFamily =>
  ({ name, head: header(name, help, type), pick })

const TOPIC_FAMILIES: readonly TopicFamily[] = [
  topicFamily('gauge', 'nsq_topic_depth', 'Messages queued at the topic (memory + disk)', (t) => t.depth),
  topicFamily('gauge', 'nsq_topic_backend_depth', 'Messages queued at the topic on disk', (t) => t.backend_depth),
  topicFamily('counter', 'nsq_topic_messages_total', 'Messages published to the topic since start', (t) => t.message_count),
  topicFamily('counter', 'nsq_topic_message_bytes_total', 'Message body bytes published to the topic since start', (t) => t.message_bytes),
  topicFamily('gauge', 'nsq_topic_paused', '1 when the topic is paused', (t) => t.paused ? 1 : 0),
  topicFamily('gauge', 'nsq_topic_channels', 'Channels of the topic', (t) => t.channels.length),
  topicFamily('gauge', 'nsq_topic_queue_bytes', 'Message body bytes queued at the topic (memory + disk); 0 where no bounded-queue cap applies', (t) => t.queue_bytes ?? 0),
  topicFamily('gauge', 'nsq_topic_max_queue_messages', 'Bounded-queue cap of the topic\'s own backlog in messages (0 = none)', (t) => t.max_queue_messages ?? 0),
  topicFamily('gauge', 'nsq_topic_max_queue_bytes', 'Bounded-queue cap of the topic\'s own backlog in body bytes (0 = none)', (t) => t.max_queue_bytes ?? 0),
  topicFamily('counter', 'nsq_topic_full_drops_total', 'Oldest messages dropped from the topic\'s full backlog (drop-oldest) since start', (t) => t.full_drop_count ?? 0),
  topicFamily('counter', 'nsq_topic_full_refused_total', 'Messages refused because the topic or one of its channels was full (refuse) since start', (t) => t.full_refused_count ?? 0)
]

const CHANNEL_FAMILIES: readonly ChannelFamily[] = [
  channelFamily('gauge', 'nsq_channel_depth', 'Messages queued in the channel (memory + disk), not in flight or deferred', (c) => c.depth),
  channelFamily('gauge', 'nsq_channel_backend_depth', 'Messages queued in the channel on disk', (c) => c.backend_depth),
  channelFamily('gauge', 'nsq_channel_in_flight', 'Messages delivered and awaiting FIN, REQ or timeout', (c) => c.in_flight_count),
  channelFamily('gauge', 'nsq_channel_deferred', 'Messages waiting for a REQ delay or a publish deferral', (c) => c.deferred_count),
  channelFamily('counter', 'nsq_channel_messages_total', 'Messages the channel received from its topic since start', (c) => c.message_count),
  channelFamily('counter', 'nsq_channel_requeues_total', 'Explicit REQs since start', (c) => c.requeue_count),
  channelFamily('counter', 'nsq_channel_timeouts_total', 'In-flight timeouts since start', (c) => c.timeout_count),
  channelFamily('counter', 'nsq_channel_dead_letters_total', 'Messages moved to the dead-letter topic since start (max attempts or TTL)', (c) => c.dead_letter_count ?? 0),
  channelFamily('counter', 'nsq_channel_expired_total', 'Messages not delivered because they outlived their TTL, since start', (c) => c.expired_count ?? 0),
  channelFamily('gauge', 'nsq_channel_queue_bytes', 'Message body bytes queued in the channel (memory + disk); 0 where no bounded-queue cap applies', (c) => c.queue_bytes ?? 0),
  channelFamily('gauge', 'nsq_channel_max_queue_messages', 'Bounded-queue cap of the channel in messages (0 = none)', (c) => c.max_queue_messages ?? 0),
  channelFamily('gauge', 'nsq_channel_max_queue_bytes', 'Bounded-queue cap of the channel in body bytes (0 = none)', (c) => c.max_queue_bytes ?? 0),
  channelFamily('counter', 'nsq_channel_full_drops_total', 'Oldest messages dropped from the full channel (drop-oldest, or an ephemeral channel at its cap) since start', (c) => c.full_drop_count ?? 0),
  channelFamily('gauge', 'nsq_channel_clients', 'Connected subscribers', (c) => c.client_count),
  channelFamily('gauge', 'nsq_channel_paused', '1 when the channel is paused', (c) => c.paused ? 1 : 0)
]

const TOPIC_LATENCY_HEAD = header('nsq_topic_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window, merged over the topic\'s channels', 'gauge')
const CHANNEL_LATENCY_HEAD = header('nsq_channel_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window', 'gauge')
const LATENCY_SAMPLES = channelFamily('gauge', 'nsq_channel_e2e_processing_latency_samples', 'FINs in the current latency window', (c) => c.e2e_processing_latency.count)

/**
 * One topic's or channel's series, kept between scrapes: its label text (`topic="x"` or
 * `topic="x",channel="y"`) and, per family, the last value and the sample line printed for it.
 */
class Series {
  readonly inner: string
  readonly braced: string
  private readonly values: number[]
  readonly lines: string[]

  constructor (inner: string, families: number) {
    this.inner = inner
    this.braced = `{${inner}}`
    this.values = new Array<number>(families).fill(NaN)
    this.lines = new Array<string>(families).fill('')
  }

  /** Sets family k's line to `\n<name>{labels} <value>`; false when the value had not changed. */
  update (k: number, name: string, value: number): boolean {
    if (this.values[k] === value) return false
    this.values[k] = value
    this.lines[k] = `\n${name}${this.braced} ${valueText(value)}`
    return true
  }
}

interface TopicEntry { series: Series, channels: Map<string, Series> }

const SEPARATOR = Buffer.from('\n\n')
const CHANNEL_SERIES_FAMILIES = CHANNEL_FAMILIES.length + 1 // + the latency samples

/** A family's text (header and samples), re-encoded only when a value or the list of series changed. */
class FamilyBlock {
  private text: Buffer = Buffer.alloc(0)
  private valid = false

  /** The family over `series`/`stats`; `layoutChanged` when the series are not the last scrape's. */
  render<S> (k: number, name: string, head: string, pick: (s: S) => number, series: Series[], stats: S[], layoutChanged: boolean): Buffer {
    let changed = layoutChanged || !this.valid
    for (let i = 0; i < series.length; i++) if (series[i]!.update(k, name, pick(stats[i]!))) changed = true
    if (changed) {
      const parts: string[] = [head]
      for (let i = 0; i < series.length; i++) parts.push(series[i]!.lines[k]!)
      this.text = Buffer.from(parts.join(''))
      this.valid = true
    }
    return this.text
  }
}

/**
 * Formats the nsq_* families of a snapshot. Series are cached per topic and channel name (the
 * cache keeps only the names seen in the latest scrape, so deleted topics and channels leave it),
 * and each family's encoded text is reused while none of its values changed.
 */
export class MetricsFormatter {
  private cache = new Map<string, TopicEntry>()
  private lastTopics: Series[] = []
  private lastChannels: Series[] = []
  private readonly topicBlocks = TOPIC_FAMILIES.map(() => new FamilyBlock())
  private readonly channelBlocks = Array.from({ length: CHANNEL_SERIES_FAMILIES }, () => new FamilyBlock())

  /** The nsq_* families joined as prom-client joins families, with no trailing newline, in chunks. */
  format (nsqd: NSQD, snap: StatsSnapshot): Buffer[] {
    const topics = snap.topics ?? []
    const next = new Map<string, TopicEntry>()
    const ts: Series[] = new Array(topics.length)
    // channels in snapshot order (topic by topic), with their series
    const chs: Series[] = []
    const cs: ChannelStats[] = []
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i]!
      let e = this.cache.get(t.topic_name)
      if (e === undefined) e = { series: new Series(`topic="${escapeLabel(t.topic_name)}"`, TOPIC_FAMILIES.length), channels: new Map() }
      next.set(t.topic_name, e)
      ts[i] = e.series
      const seen = new Map<string, Series>()
      for (const c of t.channels) {
        let x = e.channels.get(c.channel_name)
        if (x === undefined) x = new Series(`${e.series.inner},channel="${escapeLabel(c.channel_name)}"`, CHANNEL_SERIES_FAMILIES)
        seen.set(c.channel_name, x)
        chs.push(x)
        cs.push(c)
      }
      e.channels = seen
    }
    this.cache = next
    const topicsMoved = !sameSeries(ts, this.lastTopics)
    const channelsMoved = !sameSeries(chs, this.lastChannels)
    this.lastTopics = ts
    this.lastChannels = chs

    const out: Buffer[] = []
    for (let k = 0; k < TOPIC_FAMILIES.length; k++) {
      const f = TOPIC_FAMILIES[k]!
      if (k > 0) out.push(SEPARATOR)
      out.push(this.topicBlocks[k]!.render(k, f.name, f.head, f.pick, ts, topics, topicsMoved))
    }
    for (let k = 0; k < CHANNEL_FAMILIES.length; k++) {
      const f = CHANNEL_FAMILIES[k]!
      out.push(SEPARATOR, this.channelBlocks[k]!.render(k, f.name, f.head, f.pick, chs, cs, channelsMoved))
    }

    let tail = ''
    if (nsqd.e2e.enabled) {
      tail += '\n\n' + TOPIC_LATENCY_HEAD
      for (let i = 0; i < topics.length; i++) tail += latencyText('nsq_topic_e2e_processing_latency_seconds', ts[i]!.inner, topics[i]!.e2e_processing_latency)
      tail += '\n\n' + CHANNEL_LATENCY_HEAD
      for (let i = 0; i < cs.length; i++) tail += latencyText('nsq_channel_e2e_processing_latency_seconds', chs[i]!.inner, cs[i]!.e2e_processing_latency)
      out.push(Buffer.from(tail), SEPARATOR)
      const f = LATENCY_SAMPLES
      out.push(this.channelBlocks[CHANNEL_FAMILIES.length]!.render(CHANNEL_FAMILIES.length, f.name, f.head, f.pick, chs, cs, channelsMoved))
      tail = ''
    }

    let producers = 0
    for (const p of nsqd.clients.values()) if (p.client.pubCounts.size > 0) producers++
    tail += `\n\n${INFO_HEAD}\nnsq_info{version="${escapeLabel(VERSION)}",broadcast_address="${escapeLabel(nsqd.options.broadcastAddress)}"} 1`
    tail += single(HEALTHY_HEAD, 'nsq_healthy', nsqd.healthError === null ? 1 : 0)
    tail += single(START_HEAD, 'nsq_start_time_seconds', Math.floor(nsqd.startTime / 1000))
    tail += single(TOPICS_HEAD, 'nsq_topics', nsqd.topics.size)
    tail += single(CLIENTS_HEAD, 'nsq_clients', nsqd.clients.size)
    tail += single(PRODUCERS_HEAD, 'nsq_producers', producers)
    const replication = nsqd.replicationInfo
    if (replication !== null) tail += replicationText(replication())
    out.push(Buffer.from(tail))
    return out
  }
}

function sameSeries (a: Series[], b: Series[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const INFO_HEAD = header('nsq_info', 'Always 1; the labels describe the node', 'gauge')
const HEALTHY_HEAD = header('nsq_healthy', '1 when the node is healthy (last disk write succeeded)', 'gauge')
const START_HEAD = header('nsq_start_time_seconds', 'Start time of the node (Unix seconds)', 'gauge')
const TOPICS_HEAD = header('nsq_topics', 'Topics on the node', 'gauge')
const CLIENTS_HEAD = header('nsq_clients', 'Connected TCP clients', 'gauge')
const PRODUCERS_HEAD = header('nsq_producers', 'TCP connections that have published', 'gauge')

const REPL_PRIMARY_HEAD = header('nsq_replication_primary', 'Replication: 1 on the primary, 0 on a standby', 'gauge')
const REPL_EPOCH_HEAD = header('nsq_replication_epoch', 'Replication: the epoch this primary leads (on a standby: the newest epoch it knows)', 'gauge')
const REPL_ISR_HEAD = header('nsq_replication_in_sync_replicas', 'Replication: nodes in the in-sync set, primary included', 'gauge')
const REPL_LAG_HEAD = header('nsq_replication_standby_lag_batches', 'Replication: batches shipped but not yet acknowledged, per standby', 'gauge')
const REPL_SELF_IN_SYNC_HEAD = header('nsq_replication_in_sync', 'Replication: 1 when this standby is in the in-sync set', 'gauge')
const REPL_STATE_HEAD = header('nsq_replication_state', 'Replication: 1 for the standby\'s current state (connecting, snapshot, streaming, idle)', 'gauge')
const REPL_APPLIED_HEAD = header('nsq_replication_applied_seq', 'Replication: sequence number of the last batch this standby applied', 'gauge')
const REPL_SELF_LAG_HEAD = header('nsq_replication_lag_batches', 'Replication: batches this standby received and has not applied yet', 'gauge')
const REPL_CATCHUP_HEAD = header('nsq_replication_catchups_total', 'Replication: catch-ups since start, by kind (snapshot: a full copy; incremental: from the primary\'s tail)', 'counter')

/** A replicated node's families (nsqd/replication/README.md): the primary's, or a standby's. */
export function replicationText (r: Record<string, unknown>): string {
  const primary = r.role === 'primary'
  let out = single(REPL_PRIMARY_HEAD, 'nsq_replication_primary', primary ? 1 : 0)
  out += single(REPL_EPOCH_HEAD, 'nsq_replication_epoch', Number(r.epoch) || 0)
  out += single(REPL_ISR_HEAD, 'nsq_replication_in_sync_replicas', (r.in_sync as unknown[] | undefined)?.length ?? 0)
  if (primary) {
    out += `\n\n${REPL_LAG_HEAD}`
    for (const sb of (r.standbys ?? []) as Array<{ id: string, lag: number, in_sync: boolean }>) {
      out += `\nnsq_replication_standby_lag_batches{standby="${escapeLabel(sb.id)}",in_sync="${String(sb.in_sync)}"} ${valueText(sb.lag)}`
    }
    return out
  }
  const inSync = ((r.in_sync ?? []) as unknown[]).includes(r.node_id)
  out += single(REPL_SELF_IN_SYNC_HEAD, 'nsq_replication_in_sync', inSync ? 1 : 0)
  out += `\n\n${REPL_STATE_HEAD}\nnsq_replication_state{state="${escapeLabel(String(r.state))}"} 1`
  out += single(REPL_APPLIED_HEAD, 'nsq_replication_applied_seq', Number(r.applied_seq) || 0)
  out += single(REPL_SELF_LAG_HEAD, 'nsq_replication_lag_batches', Number(r.lag) || 0)
  const c = (r.catchups ?? {}) as { snapshot?: number, incremental?: number }
  out += `\n\n${REPL_CATCHUP_HEAD}\nnsq_replication_catchups_total{kind="snapshot"} ${valueText(c.snapshot ?? 0)}` +
    `\nnsq_replication_catchups_total{kind="incremental"} ${valueText(c.incremental ?? 0)}`
  return out
}

/**
 * A standby's /metrics (it runs no NSQD): nsq_info, nsq_healthy, nsq_start_time_seconds, its
 * replication families, then prom-client's default metrics from `defaults`.
 */
export async function standbyMetricsBody (version: string, broadcastAddress: string, startTime: number, replication: Record<string, unknown>, defaults: Registry): Promise<string> {
  let out = `${INFO_HEAD}\nnsq_info{version="${escapeLabel(version)}",broadcast_address="${escapeLabel(broadcastAddress)}"} 1`
  out += single(HEALTHY_HEAD, 'nsq_healthy', 1)
  out += single(START_HEAD, 'nsq_start_time_seconds', Math.floor(startTime / 1000))
  out += replicationText(replication)
  return `${out}\n\n${await defaults.metrics()}`
}

function single (head: string, name: string, value: number): string {
  return `\n\n${head}\n${name} ${valueText(value)}`
}

function latencyText (name: string, inner: string, r: LatencyResult): string {
  let out = ''
  for (const p of r.percentiles ?? []) out += `\n${name}{${inner},quantile="${escapeLabel(String(p.quantile))}"} ${valueText(p.value / 1e9)}`
  return out
}

/** The whole scrape: the nsq_* families, then prom-client's default metrics from `defaults`. */
export async function metricsBody (nsqd: NSQD, formatter: MetricsFormatter, defaults: Registry | null): Promise<Buffer> {
  const chunks = formatter.format(nsqd, getStats(nsqd, { includeClients: false }))
  chunks.push(Buffer.from(defaults === null ? '\n' : `\n\n${await defaults.metrics()}`))
  return Buffer.concat(chunks)
}

export async function metricsRoutes (app: FastifyInstance, { nsqd }: RouteOptions): Promise<void> {
  const formatter = new MetricsFormatter()
  const defaults = new Registry()
  collectDefaultMetrics({ register: defaults })
  app.get('/metrics', async (_req, reply) => {
    const body = await metricsBody(nsqd, formatter, defaults)
    return reply.code(200).header('Content-Type', METRICS_CONTENT_TYPE).send(body)
  })
}
