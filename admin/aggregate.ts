// Merging per-node stats into cluster views (spec: nsqadmin.md §4.2, §4.3, §6): numbers are
// summed, `paused` OR-ed, per-node entries sorted by hostname, e2e latency merged per quantile.
// Pure functions: no I/O, `nowMs` passed in.

import type {
  ChannelOut, ClientOut, E2eAggregate, E2eInput, NsqdChannel, NsqdTopic, TopicOut
} from './types.js'
import { channelPolicy, mergeChannelPolicies, mergeTopicPolicies, topicPolicy } from './policies.js'

/** One nsqd's view of a topic, tagged with the node's identity. */
export interface NodeTopic {
  node: string
  hostname: string
  topic: NsqdTopic
}

function num (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

function setOptionalCounts (out: TopicOut | ChannelOut, zone: number, region: number, global: number): void {
  out.delivery_msg_count = zone + region + global
  if (zone > 0) out.zone_local_msg_count = zone
  if (region > 0) out.region_local_msg_count = region
  if (global > 0) out.global_msg_count = global
}

function nodeE2e (e: E2eInput | undefined, topic: string, channel: string, host: string): E2eAggregate | null {
  if (e === undefined || e === null || e.percentiles === null || e.percentiles === undefined || e.percentiles.length === 0) return null
  return {
    count: num(e.count),
    percentiles: e.percentiles.map((p) => ({
      quantile: num(p.quantile), value: num(p.value), max: num(p.value), min: num(p.value), average: num(p.value), count: num(e.count)
    })),
    topic,
    channel,
    host
  }
}

/** Merges latency objects: max of maxima, min of minima, count-weighted mean; quantiles descending. */
export function mergeE2e (items: Array<E2eAggregate | null>, topic: string, channel: string): E2eAggregate | null {
  const present = items.filter((x): x is E2eAggregate => x !== null)
  if (present.length === 0) return null
  const byQ = new Map<number, { quantile: number, max: number, min: number, average: number, count: number }>()
  let count = 0
  for (const e of present) {
    count += e.count
    for (const p of e.percentiles) {
      const cur = byQ.get(p.quantile)
      if (cur === undefined) {
        byQ.set(p.quantile, { quantile: p.quantile, max: p.max, min: p.min, average: p.average, count: p.count })
        continue
      }
      const total = cur.count + p.count
      cur.average = total > 0 ? (cur.average * cur.count + p.average * p.count) / total : Math.max(cur.average, p.average)
      cur.max = Math.max(cur.max, p.max)
      cur.min = Math.min(cur.min, p.min)
      cur.count = total
    }
  }
  const percentiles = [...byQ.values()].sort((a, b) => b.quantile - a.quantile)
  return { count, percentiles, topic, channel, host: '*' }
}

export function nodeChannel (node: string, hostname: string, topic: string, c: NsqdChannel, nowMs: number): ChannelOut {
  const clients: ClientOut[] = (c.clients ?? []).map((cl) => ({
    ...cl,
    node,
    connected: Math.max(0, Math.round(nowMs / 1000 - num(cl.connect_ts))) * 1e9
  }))
  const out: ChannelOut = {
    node,
    hostname,
    topic_name: topic,
    channel_name: c.channel_name,
    depth: num(c.depth),
    memory_depth: num(c.depth) - num(c.backend_depth),
    backend_depth: num(c.backend_depth),
    in_flight_count: num(c.in_flight_count),
    deferred_count: num(c.deferred_count),
    requeue_count: num(c.requeue_count),
    timeout_count: num(c.timeout_count),
    message_count: num(c.message_count),
    client_count: num(c.client_count),
    nodes: null,
    clients,
    paused: c.paused === true,
    e2e_processing_latency: nodeE2e(c.e2e_processing_latency, topic, c.channel_name, node)
  }
  setOptionalCounts(out, num(c.zone_local_msg_count), num(c.region_local_msg_count), num(c.global_msg_count))
  const policy = channelPolicy(c)
  if (policy !== undefined) out.policy = policy
  return out
}

export function nodeTopic (nt: NodeTopic, nowMs: number): TopicOut {
  const t = nt.topic
  const channels = (t.channels ?? []).map((c) => nodeChannel(nt.node, nt.hostname, t.topic_name, c, nowMs))
  let zone = 0
  let region = 0
  let global = 0
  for (const c of t.channels ?? []) {
    zone += num(c.zone_local_msg_count)
    region += num(c.region_local_msg_count)
    global += num(c.global_msg_count)
  }
  const out: TopicOut = {
    node: nt.node,
    hostname: nt.hostname,
    topic_name: t.topic_name,
    depth: num(t.depth),
    memory_depth: num(t.depth) - num(t.backend_depth),
    backend_depth: num(t.backend_depth),
    message_count: num(t.message_count),
    nodes: null,
    channels,
    paused: t.paused === true,
    e2e_processing_latency: nodeE2e(t.e2e_processing_latency, t.topic_name, '', nt.node)
  }
  setOptionalCounts(out, zone, region, global)
  const policy = topicPolicy(t)
  if (policy !== undefined) out.policy = policy
  return out
}

const byHostname = (a: { hostname: string, node: string }, b: { hostname: string, node: string }): number =>
  a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0

/** Aggregates per-node channel views of one channel (spec §4.3). */
export function aggregateChannel (topic: string, channel: string, perNode: ChannelOut[]): ChannelOut {
  const nodes = [...perNode].sort(byHostname)
  const out: ChannelOut = {
    node: nodes.length > 0 ? '*' : '',
    hostname: '',
    topic_name: topic,
    channel_name: channel,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    message_count: 0,
    client_count: 0,
    nodes,
    clients: [],
    paused: false,
    e2e_processing_latency: null
  }
  let zone = 0
  let region = 0
  let global = 0
  for (const n of nodes) {
    out.depth += n.depth
    out.memory_depth += n.memory_depth
    out.backend_depth += n.backend_depth
    out.in_flight_count += n.in_flight_count
    out.deferred_count += n.deferred_count
    out.requeue_count += n.requeue_count
    out.timeout_count += n.timeout_count
    out.message_count += n.message_count
    out.client_count += n.client_count
    out.paused = out.paused || n.paused
    zone += n.zone_local_msg_count ?? 0
    region += n.region_local_msg_count ?? 0
    global += n.global_msg_count ?? 0
    for (const c of n.clients) out.clients.push(c)
  }
  out.clients.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0))
  out.e2e_processing_latency = mergeE2e(nodes.map((n) => n.e2e_processing_latency), topic, channel)
  setOptionalCounts(out, zone, region, global)
  const policy = mergeChannelPolicies(nodes.map((n) => n.policy))
  if (policy !== undefined) out.policy = policy
  return out
}

/** Aggregates per-node topic views (spec §4.2); channels are merged by name, sorted. */
export function aggregateTopic (topic: string, perNode: TopicOut[]): TopicOut {
  const nodes = [...perNode].sort(byHostname)
  const out: TopicOut = {
    node: nodes.length > 0 ? '*' : '',
    hostname: '',
    topic_name: topic,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    message_count: 0,
    nodes: nodes.length > 0 ? nodes : null,
    channels: null,
    paused: false,
    e2e_processing_latency: null
  }
  let zone = 0
  let region = 0
  let global = 0
  const channelNodes = new Map<string, ChannelOut[]>()
  for (const n of nodes) {
    out.depth += n.depth
    out.memory_depth += n.memory_depth
    out.backend_depth += n.backend_depth
    out.message_count += n.message_count
    out.paused = out.paused || n.paused
    zone += n.zone_local_msg_count ?? 0
    region += n.region_local_msg_count ?? 0
    global += n.global_msg_count ?? 0
    for (const c of n.channels ?? []) {
      const list = channelNodes.get(c.channel_name)
      if (list === undefined) channelNodes.set(c.channel_name, [c])
      else list.push(c)
    }
  }
  const names = [...channelNodes.keys()].sort()
  out.channels = names.length > 0 ? names.map((name) => aggregateChannel(topic, name, channelNodes.get(name) as ChannelOut[])) : null
  out.e2e_processing_latency = mergeE2e(nodes.map((n) => n.e2e_processing_latency), topic, '')
  setOptionalCounts(out, zone, region, global)
  const policy = mergeTopicPolicies(nodes.map((n) => n.policy))
  if (policy !== undefined) out.policy = policy
  return out
}
