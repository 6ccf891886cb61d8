// GET /api/*: topics, topic, channel, nodes, node, counter, graphite (spec: nsqadmin.md §4.1-§4.7),
// plus ours: /api/topics?stats=true (one row of numbers per topic) and /api/history/* (charts).

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isValidChannelName, isValidTopicName } from '../../client/wire/names.js'
import { aggregateChannel, aggregateTopic, nodeChannel, nodeTopic } from '../aggregate.js'
import type { NodeRef } from '../cluster-info.js'
import type { ChannelOut, NodeError, TopicOut } from '../types.js'
import type { AdminContext } from './context.js'
import { ApiError, requireSome, sendJson, sendPartial } from './context.js'
import { route } from './route.js'

type Params = Record<string, string>

export function topicParam (req: FastifyRequest): string {
  const t = (req.params as Params).topic ?? ''
  if (!isValidTopicName(t)) throw new ApiError(400, 'INVALID_TOPIC')
  return t
}

export function channelParam (req: FastifyRequest): string {
  const c = (req.params as Params).channel ?? ''
  if (!isValidChannelName(c)) throw new ApiError(400, 'INVALID_CHANNEL')
  return c
}

function query (req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, string | string[] | undefined>)[name]
  return Array.isArray(v) ? v[0] : v
}

function truthy (v: string | undefined): boolean {
  return v === 'true' || v === '1'
}

/** Producers of a topic, or 404 TOPIC_NOT_FOUND / 502 when nothing could be asked. */
async function producersOf (ctx: AdminContext, topic: string): Promise<{ producers: NodeRef[], channels: string[], errors: NodeError[] }> {
  const r = await ctx.cluster.topicProducers(topic)
  requireSome(r)
  if (!r.value.known && r.value.producers.length === 0) throw new ApiError(404, 'TOPIC_NOT_FOUND', r.errors)
  return { producers: r.value.producers, channels: r.value.channels, errors: r.errors }
}

function withRates (ctx: AdminContext, t: TopicOut): Record<string, unknown> {
  const h = ctx.sampler.history
  const rateOf = (key: string): number | null => h.latest(key)
  return {
    ...t,
    rate: rateOf(`t/${t.topic_name}|rate`),
    nodes: t.nodes === null ? null : t.nodes.map((n) => ({ ...n, rate: ctx.sampler.topicNodeRates.get(`${t.topic_name}\u0000${n.node}`) ?? null })),
    channels: t.channels === null ? null : t.channels.map((c) => ({ ...c, rate: rateOf(`c/${t.topic_name}/${c.channel_name}|rate`) }))
  }
}

export function registerReadRoutes (app: FastifyInstance, ctx: AdminContext): void {
  route(app, '/api/topics/:topic', {
    GET: async (req, reply) => {
      const topic = topicParam(req)
      const p = await producersOf(ctx, topic)
      const refs = { value: p.producers, errors: p.errors, attempted: p.producers.length + p.errors.length }
      const r = await ctx.cluster.stats(refs, { topic, includeClients: false })
      if (p.producers.length > 0) requireSome(r)
      const now = Date.now()
      const perNode: TopicOut[] = []
      for (const { ref, stats } of r.value) {
        const t = (stats.topics ?? []).find((x) => x.topic_name === topic)
        if (t !== undefined) perNode.push(nodeTopic({ node: ref.node, hostname: ref.hostname, topic: t }, now))
      }
      return sendPartial(reply, withRates(ctx, aggregateTopic(topic, perNode)), r.errors)
    }
  })

  route(app, '/api/topics/:topic/:channel', {
    GET: async (req, reply) => {
      const topic = topicParam(req)
      const channel = channelParam(req)
      const p = await producersOf(ctx, topic)
      const refs = { value: p.producers, errors: p.errors, attempted: p.producers.length + p.errors.length }
      const r = await ctx.cluster.stats(refs, { topic, channel, includeClients: true })
      if (p.producers.length > 0) requireSome(r)
      const now = Date.now()
      const perNode: ChannelOut[] = []
      for (const { ref, stats } of r.value) {
        const t = (stats.topics ?? []).find((x) => x.topic_name === topic)
        const c = t?.channels?.find((x) => x.channel_name === channel)
        if (c !== undefined) perNode.push(nodeChannel(ref.node, ref.hostname, topic, c, now))
      }
      // Nobody has it and lookupd does not know it either (a failed node might have it: then the
      // warning explains the empty answer instead).
      if (perNode.length === 0 && !r.errors.some((e) => e.kind === 'nsqd') && !p.channels.includes(channel)) {
        throw new ApiError(404, 'CHANNEL_NOT_FOUND')
      }
      const agg = aggregateChannel(topic, channel, perNode)
      const rate = ctx.sampler.history.latest(`c/${topic}/${channel}|rate`)
      return sendPartial(reply, { ...agg, rate }, r.errors)
    }
  })

  route(app, '/api/topics', {
    GET: async (req, reply) => {
      if (truthy(query(req, 'inactive'))) {
        if (ctx.cluster.mode === 'nsqd') return sendPartial(reply, { topics: {} }, [])
        const all = await ctx.cluster.topics()
        requireSome(all)
        const errors = [...all.errors]
        const out: Record<string, string[]> = {}
        await Promise.all(all.value.map(async (t) => {
          const p = await ctx.cluster.topicProducers(t)
          if (p.value.producers.length > 0 || p.errors.length > 0) { errors.push(...p.errors); return }
          const ch = await ctx.cluster.lookupdChannels(t)
          errors.push(...ch.errors)
          out[t] = ch.value
        }))
        const sorted: Record<string, string[]> = {}
        for (const k of Object.keys(out).sort()) sorted[k] = out[k] as string[]
        return sendPartial(reply, { topics: sorted }, dedupe(errors))
      }
      if (truthy(query(req, 'stats'))) return sendPartial(reply, ...await topicSummaries(ctx))
      const r = await ctx.cluster.topics()
      requireSome(r)
      return sendPartial(reply, { topics: r.value.length > 0 ? r.value : null }, r.errors)
    }
  })

  route(app, '/api/nodes', {
    GET: async (_req, reply) => {
      const r = await ctx.cluster.nodes()
      requireSome(r)
      const replication = await ctx.cluster.annotate(r.value)
      const present = new Set(r.value.map((p) => `${p.broadcast_address.includes(':') ? `[${p.broadcast_address}]` : p.broadcast_address}:${p.http_port}`))
      const missing = [...ctx.sampler.seen.values()].filter((s) => !present.has(s.node))
        .map((s) => ({ node: s.node, hostname: s.hostname, last_seen: Math.floor(s.lastSeenMs / 1000) }))
      // replication groups only when there are replicated nodes (a plain cluster answers as before)
      return sendPartial(reply, { nodes: r.value, missing, ...(replication.length > 0 ? { replication_groups: replication } : {}) }, r.errors)
    }
  })

  route(app, '/api/nodes/:node', {
    GET: async (req, reply) => {
      const node = (req.params as Params).node ?? ''
      const refs = await ctx.cluster.nodeRefs()
      let ref = refs.value.find((x) => x.node === node)
      if (ref === undefined) ref = await standbyRef(ctx, node)
      if (ref === undefined) {
        requireSome(refs)
        throw new ApiError(404, 'NODE_NOT_FOUND', refs.errors)
      }
      const r = await ctx.cluster.stats({ value: [ref], errors: [], attempted: 1 }, { includeClients: true })
      requireSome(r)
      const stats = r.value[0]!.stats
      const now = Date.now()
      const topics = (stats.topics ?? []).map((t) => nodeTopic({ node, hostname: ref.hostname, topic: t }, now))
      let totalMessages = 0
      let totalClients = 0
      for (const t of topics) {
        totalMessages += t.message_count
        for (const c of t.channels ?? []) totalClients += c.clients.length
      }
      return sendPartial(reply, {
        node,
        hostname: ref.hostname,
        version: stats.version,
        health: stats.health,
        start_time: stats.start_time,
        topics,
        total_messages: totalMessages,
        total_clients: totalClients,
        ...(stats.replication !== undefined ? { replication: stats.replication } : {}),
        ...(stats.draining === true ? { draining: true, drain_remaining: stats.drain_remaining ?? 0, drain_stuck_topics: stats.drain_stuck_topics ?? [] } : {})
      }, refs.errors)
    }
  })

  route(app, '/api/counter', {
    GET: async (_req, reply) => {
      const r = await ctx.cluster.stats(await ctx.cluster.nodeRefs(), { includeClients: false })
      requireSome(r)
      const stats: Record<string, { node: string, topic_name: string, channel_name: string, message_count: number }> = {}
      let total = 0
      for (const { ref, stats: s } of r.value) {
        for (const t of s.topics ?? []) {
          for (const c of t.channels ?? []) {
            stats[`${t.topic_name}:${c.channel_name}:${ref.node}`] = { node: ref.node, topic_name: t.topic_name, channel_name: c.channel_name, message_count: c.message_count }
            total += c.message_count
          }
        }
      }
      return sendPartial(reply, { stats, total_messages: total }, r.errors)
    }
  })

  route(app, '/api/graphite', {
    GET: async (req, reply) => {
      if (query(req, 'metric') !== 'rate') throw new ApiError(400, 'INVALID_ARG_METRIC')
      const target = query(req, 'target')
      if (target === undefined || target === '') throw new ApiError(400, 'INVALID_ARG_TARGET')
      const o = ctx.options()
      if (o.graphiteUrl === '') throw new ApiError(500, 'INTERNAL_ERROR')
      const s = Math.round(o.statsdIntervalMs / 1000)
      const url = `${o.graphiteUrl.replace(/\/$/, '')}/render?from=-${2 * s}sec&until=-${s}sec&format=json&target=${encodeURIComponent(target)}`
      let rate: string
      try {
        const res = await ctx.http.getRaw(url)
        if (res.status !== 200) throw new Error(`status ${res.status}`)
        const data = JSON.parse(res.body.toString('utf8')) as Array<{ datapoints: Array<[number | null, number]> }>
        const v = data[0]?.datapoints?.[0]?.[0]
        rate = typeof v === 'number' && v >= 0 ? (v / s).toFixed(2) : 'N/A'
      } catch (err) {
        ctx.logger.error(`GRAPHITE: ${url} - ${(err as Error).message}`)
        throw new ApiError(500, 'INTERNAL_ERROR')
      }
      return sendJson(reply, { rate })
    }
  })
}

/** A replication standby (not registered with lookupd) that a primary of the cluster lists. */
async function standbyRef (ctx: AdminContext, node: string): Promise<NodeRef | undefined> {
  const r = await ctx.cluster.nodes()
  for (const g of await ctx.cluster.annotate(r.value)) {
    const m = g.members.find((x) => x.role === 'standby' && x.node === node && x.http_port > 0)
    if (m !== undefined) return { node, httpAddress: node, hostname: m.hostname }
  }
  return undefined
}

function dedupe (errors: NodeError[]): NodeError[] {
  const seen = new Set<string>()
  return errors.filter((e) => {
    const k = `${e.kind}|${e.address}|${e.error}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Ours: every topic with its cluster-wide numbers, for the topics page. */
async function topicSummaries (ctx: AdminContext): Promise<[Record<string, unknown>, NodeError[]]> {
  const [names, stats] = await Promise.all([
    ctx.cluster.mode === 'lookupd' ? ctx.cluster.topics() : Promise.resolve({ value: [] as string[], errors: [], attempted: 0 }),
    ctx.cluster.nodeRefs().then(async (refs) => await ctx.cluster.stats(refs, { includeClients: false }))
  ])
  if (names.attempted > 0) requireSome(names)
  else requireSome(stats)
  interface Row {
    topic_name: string, depth: number, memory_depth: number, backend_depth: number, channel_depth: number,
    in_flight_count: number, deferred_count: number, message_count: number, client_count: number,
    channels: string[], nodes: string[], paused: boolean, rate: number | null
  }
  const rows = new Map<string, Row>()
  const row = (t: string): Row => {
    let r = rows.get(t)
    if (r === undefined) {
      r = { topic_name: t, depth: 0, memory_depth: 0, backend_depth: 0, channel_depth: 0, in_flight_count: 0, deferred_count: 0, message_count: 0, client_count: 0, channels: [], nodes: [], paused: false, rate: ctx.sampler.history.latest(`t/${t}|rate`) }
      rows.set(t, r)
    }
    return r
  }
  for (const t of names.value) row(t)
  for (const { ref, stats: s } of stats.value) {
    for (const t of s.topics ?? []) {
      const r = row(t.topic_name)
      r.depth += t.depth
      r.backend_depth += t.backend_depth
      r.memory_depth += t.depth - t.backend_depth
      r.message_count += t.message_count
      r.paused = r.paused || t.paused
      r.nodes.push(ref.node)
      for (const c of t.channels ?? []) {
        r.channel_depth += c.depth
        r.in_flight_count += c.in_flight_count
        r.deferred_count += c.deferred_count
        r.client_count += c.client_count
        if (!r.channels.includes(c.channel_name)) r.channels.push(c.channel_name)
      }
    }
  }
  const topics = [...rows.values()].sort((a, b) => (a.topic_name < b.topic_name ? -1 : 1))
  for (const r of topics) r.channels.sort()
  return [{ topics }, dedupe([...names.errors, ...stats.errors])]
}
