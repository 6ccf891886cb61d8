// End-to-end processing latency (nsqd-internals.md §13): publish → FIN, per channel, over a coarse
// rolling window made of two halves; every half-window the older half is reset. Queries merge both
// halves (and, for a topic, all its channels).
//
// The estimator is a log-bucketed histogram with ~1% relative accuracy (each bucket covers
// (γ^(i-1), γ^i] with γ = 1.02): O(1) inserts with no allocation, exact counts, trivially
// mergeable. Buckets are allocated on a channel's first sample. The exact minimum and maximum
// are kept too, so the first and last ranks (q=1.0, a single sample) report the true value.

import type { Channel } from './core/channel.js'

const GAMMA = 1.02
const LOG_GAMMA = Math.log(GAMMA)
/** Enough buckets for every latency up to 2^53 ns (~104 days). */
const BUCKETS = Math.ceil(53 * Math.LN2 / LOG_GAMMA) + 2

export interface Percentile { quantile: number, value: number }
export interface LatencyResult { count: number, percentiles: Percentile[] | null }

export const EMPTY_LATENCY: LatencyResult = Object.freeze({ count: 0, percentiles: null }) as LatencyResult

function bucketOf (ns: number): number {
  if (!(ns > 1)) return 0
  const i = Math.ceil(Math.log(ns) / LOG_GAMMA)
  return i < BUCKETS ? i : BUCKETS - 1
}

/** A representative value of bucket i (the middle of (γ^(i-1), γ^i] in relative terms). */
function bucketValue (i: number): number {
  return i === 0 ? 1 : 2 * Math.pow(GAMMA, i) / (GAMMA + 1)
}

/** One half-window of samples. */
class Half {
  counts: Uint32Array | null = null
  count = 0
  min = Infinity
  max = -Infinity
  lo = BUCKETS
  hi = -1

  add (ns: number): void {
    if (this.counts === null) this.counts = new Uint32Array(BUCKETS)
    const i = bucketOf(ns)
    this.counts[i]!++
    this.count++
    if (ns < this.min) this.min = ns
    if (ns > this.max) this.max = ns
    if (i < this.lo) this.lo = i
    if (i > this.hi) this.hi = i
  }

  reset (): void {
    if (this.count === 0) return
    if (this.counts !== null) this.counts.fill(0, this.lo, this.hi + 1)
    this.count = 0
    this.min = Infinity
    this.max = -Infinity
    this.lo = BUCKETS
    this.hi = -1
  }
}

/** One channel's rolling window. */
export class LatencyWindow {
  private readonly halves: [Half, Half] = [new Half(), new Half()]
  private current = 0
  private lastMoveMs: number
  private readonly halfWindowMs: number

  constructor (windowMs: number, nowMs: number) {
    this.halfWindowMs = Math.max(1, windowMs / 2)
    this.lastMoveMs = nowMs
  }

  /** Starts a new half for every half-window that passed since the last move. */
  rotate (nowMs: number): void {
    const d = nowMs - this.lastMoveMs
    if (d <= this.halfWindowMs) return
    const moves = Math.ceil(d / this.halfWindowMs) - 1
    this.lastMoveMs += moves * this.halfWindowMs
    this.current ^= moves & 1
    this.halves[this.current].reset()
    if (moves > 1) this.halves[this.current ^ 1].reset()
  }

  record (ns: number, nowMs: number): void {
    this.rotate(nowMs)
    this.halves[this.current].add(ns)
  }

  get count (): number {
    return this.halves[0].count + this.halves[1].count
  }

  /** @internal for merging */
  parts (): readonly Half[] {
    return this.halves
  }
}

/** Merges windows and answers each quantile (ns); every quantile is 0 without samples. */
export function mergeQuantiles (windows: readonly LatencyWindow[], quantiles: readonly number[], nowMs: number): LatencyResult {
  let count = 0
  let min = Infinity
  let max = -Infinity
  let lo = BUCKETS
  let hi = -1
  const parts: Half[] = []
  for (const w of windows) {
    w.rotate(nowMs)
    for (const h of w.parts()) {
      if (h.count === 0) continue
      parts.push(h)
      count += h.count
      if (h.min < min) min = h.min
      if (h.max > max) max = h.max
      if (h.lo < lo) lo = h.lo
      if (h.hi > hi) hi = h.hi
    }
  }
  const percentiles: Percentile[] = new Array(quantiles.length)
  if (count === 0) {
    for (let k = 0; k < quantiles.length; k++) percentiles[k] = { quantile: quantiles[k] as number, value: 0 }
    return { count, percentiles }
  }
  // ranks, answered in one ascending walk over the merged buckets
  const order = quantiles.map((q, k) => ({ k, rank: Math.max(1, Math.ceil(q * count)) })).sort((a, b) => a.rank - b.rank)
  let seen = 0
  let next = 0
  for (let i = lo; i <= hi && next < order.length; i++) {
    for (const h of parts) seen += (h.counts as Uint32Array)[i] as number
    while (next < order.length && seen >= (order[next] as { rank: number }).rank) {
      const rank = (order[next] as { rank: number }).rank
      // the extreme ranks are known exactly; the others are the bucket's value, within [min, max]
      const v = rank >= count ? max : rank === 1 ? min : Math.min(max, Math.max(min, bucketValue(i)))
      const { k } = order[next] as { k: number }
      percentiles[k] = { quantile: quantiles[k] as number, value: v }
      next++
    }
  }
  for (; next < order.length; next++) {
    const { k } = order[next] as { k: number }
    percentiles[k] = { quantile: quantiles[k] as number, value: max }
  }
  return { count, percentiles }
}

/** The node's latency tracker: one window per channel, created on first use. */
export class E2eLatency {
  /** Configured quantiles, sorted descending as NSQ stores them. */
  readonly quantiles: readonly number[]
  readonly windowMs: number
  private readonly windows = new WeakMap<Channel, LatencyWindow>()

  constructor (quantiles: readonly number[], windowMs: number) {
    this.quantiles = [...quantiles].sort((a, b) => b - a)
    this.windowMs = windowMs
  }

  get enabled (): boolean {
    return this.quantiles.length > 0
  }

  private windowOf (channel: Channel, nowMs: number): LatencyWindow {
    let w = this.windows.get(channel)
    if (w === undefined) {
      w = new LatencyWindow(this.windowMs, nowMs)
      this.windows.set(channel, w)
    }
    return w
  }

  /** A FIN's sample (the latencySink hook). */
  record (channel: Channel, latencyNs: number, nowMs = Date.now()): void {
    this.windowOf(channel, nowMs).record(latencyNs, nowMs)
  }

  /** A channel's result: every configured quantile from creation on (0 before samples). */
  forChannel (channel: Channel, nowMs = Date.now()): LatencyResult {
    if (!this.enabled) return EMPTY_LATENCY
    return mergeQuantiles([this.windowOf(channel, nowMs)], this.quantiles, nowMs)
  }

  /** A topic's result: the merge of its channels; {count:0, percentiles:null} without channels. */
  forTopic (channels: readonly Channel[], nowMs = Date.now()): LatencyResult {
    if (!this.enabled || channels.length === 0) return EMPTY_LATENCY
    return mergeQuantiles(channels.map((ch) => this.windowOf(ch, nowMs)), this.quantiles, nowMs)
  }
}
