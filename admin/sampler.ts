// Samples the cluster every --history-interval into History (beyond NSQ) and tells listeners
// (the live-update stream) when a new sample is in. Rates are computed per node from counter
// deltas and then summed, so a node appearing or restarting never produces a bogus spike.
//
// Series keys: `t/<topic>|<metric>`, `c/<topic>/<channel>|<metric>`, `n/<node>|<metric>`,
// `cluster|<metric>`; see README for the list of metrics.

import type { ClusterInfo, NodeStats } from './cluster-info.js'
import { History } from './history.js'
import type { Logger } from './logger.js'
import type { NodeError } from './types.js'

export interface SeenNode {
  node: string
  hostname: string
  lastSeenMs: number
}

export type SampleListener = (tsMs: number, errors: NodeError[]) => void

export class Sampler {
  readonly history: History
  private readonly cluster: ClusterInfo
  private readonly logger: Logger
  private readonly intervalMs: number
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private prevCounts = new Map<string, number>()
  private prevTs = 0
  private readonly listeners = new Set<SampleListener>()
  /** Every nsqd seen within the history window, with when it was last answering. */
  readonly seen = new Map<string, SeenNode>()
  /** Latest per-node publish rate of each topic: key `<topic>\u0000<node>`. */
  readonly topicNodeRates = new Map<string, number>()
  lastErrors: NodeError[] = []
  private closed = false

  constructor (cluster: ClusterInfo, logger: Logger, intervalMs: number, windowMs: number) {
    this.cluster = cluster
    this.logger = logger
    this.intervalMs = intervalMs
    this.history = new History(windowMs, intervalMs)
  }

  start (): void {
    if (this.intervalMs <= 0) return
    void this.sampleNow()
    this.timer = setInterval(() => { if (this.running === null) void this.sampleNow() }, this.intervalMs)
    this.timer.unref()
  }

  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.listeners.clear()
    if (this.running !== null) await this.running
  }

  onSample (fn: SampleListener): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  /** Takes one sample now (also used by tests); concurrent calls share one run. */
  sampleNow (): Promise<void> {
    if (this.running === null) {
      this.running = this.sampleOnce().catch((err: Error) => {
        this.logger.error(`HISTORY: sample failed - ${err.message}`)
      }).finally(() => { this.running = null })
    }
    return this.running
  }

  private async sampleOnce (): Promise<void> {
    const refs = await this.cluster.nodeRefs()
    const r = await this.cluster.stats(refs, { includeClients: false })
    if (this.closed) return
    const now = Date.now()
    this.record(now, r.value)
    this.lastErrors = r.errors
    for (const fn of this.listeners) {
      try { fn(now, r.errors) } catch (err) { this.logger.warn(`HISTORY: listener failed - ${(err as Error).message}`) }
    }
  }

  /** Turns one round of /stats answers into series values. Exposed for unit tests. */
  record (now: number, nodes: NodeStats[]): void {
    const values = new Map<string, number>()
    const counts = new Map<string, number>()
    const dtS = this.prevTs > 0 ? (now - this.prevTs) / 1000 : 0
    const add = (key: string, v: number): void => { values.set(key, (values.get(key) ?? 0) + v) }
    // Adds the rate of a counter (per node) to a series; null rate on the first sample.
    const rate = (series: string, counterKey: string, count: number): void => {
      counts.set(counterKey, count)
      const prev = this.prevCounts.get(counterKey)
      if (dtS <= 0 || prev === undefined) {
        if (!values.has(series)) values.set(series, NaN)
        return
      }
      const r = Math.max(0, count - prev) / dtS
      const cur = values.get(series)
      values.set(series, cur === undefined || Number.isNaN(cur) ? r : cur + r)
    }
    this.topicNodeRates.clear()
    add('cluster|depth', 0)
    add('cluster|in_flight', 0)
    add('cluster|messages', 0)
    add('cluster|nodes', nodes.length)
    for (const { ref, stats } of nodes) {
      const node = ref.node
      this.seen.set(node, { node, hostname: ref.hostname, lastSeenMs: now })
      let nodeDepth = 0
      let nodeClients = 0
      for (const t of stats.topics ?? []) {
        const tk = `t/${t.topic_name}`
        add(`${tk}|depth`, t.depth)
        add(`${tk}|in_flight`, 0)
        add(`${tk}|channel_depth`, 0)
        nodeDepth += t.depth
        const ck = `${node}\u0000${t.topic_name}`
        rate(`${tk}|rate`, ck, t.message_count)
        rate(`n/${node}|rate`, ck, t.message_count)
        rate('cluster|rate', ck, t.message_count)
        const prev = this.prevCounts.get(ck)
        if (prev !== undefined && dtS > 0) this.topicNodeRates.set(`${t.topic_name}\u0000${node}`, Math.max(0, t.message_count - prev) / dtS)
        for (const c of t.channels ?? []) {
          const k = `c/${t.topic_name}/${c.channel_name}`
          add(`${k}|depth`, c.depth)
          add(`${k}|in_flight`, c.in_flight_count)
          add(`${k}|deferred`, c.deferred_count)
          add(`${k}|clients`, c.client_count)
          add(`${tk}|in_flight`, c.in_flight_count)
          add(`${tk}|channel_depth`, c.depth)
          add('cluster|in_flight', c.in_flight_count)
          add('cluster|messages', c.message_count)
          nodeDepth += c.depth
          nodeClients += c.client_count
          const cc = `${ck}\u0000${c.channel_name}`
          rate(`${k}|rate`, cc, c.message_count)
          rate('cluster|processed_rate', cc, c.message_count)
          rate(`${k}|requeue_rate`, `${cc}\u0000r`, c.requeue_count)
          rate(`${k}|timeout_rate`, `${cc}\u0000t`, c.timeout_count)
        }
      }
      add(`n/${node}|depth`, nodeDepth)
      add(`n/${node}|clients`, nodeClients)
      add(`n/${node}|topics`, (stats.topics ?? []).length)
      const heap = stats.memory?.heap_in_use_bytes
      if (typeof heap === 'number') add(`n/${node}|heap_bytes`, heap)
      add('cluster|depth', nodeDepth)
    }
    this.prevCounts = counts
    this.prevTs = now
    this.history.record(now, values)
    const horizon = now - this.history.capacity * this.intervalMs
    for (const [k, s] of this.seen) if (s.lastSeenMs < horizon) this.seen.delete(k)
  }
}
