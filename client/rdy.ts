// RDY policy for a consumer, with no I/O: it decides each connection's RDY and calls `sendRdy`.
// - max-in-flight is spread over the connections (remainder to the first ones), capped by each
//   nsqd's max_rdy_count, and the total of max(RDY, in-flight) never exceeds max-in-flight: when a
//   share shrinks on one connection its budget moves only as that connection's messages complete.
// - With more connections than max-in-flight, RDY 1 goes to a subset; tick() takes it back from a
//   connection that is idle or has held it too long and gives it to the one waiting longest.
// - Backoff (go-nsq semantics): a failure raises the level and sends RDY 0 everywhere for the
//   backoff duration; then one connection gets RDY 1 to test the waters; each success lowers the
//   level; at 0 every connection gets its normal share back. Results during the wait are ignored.
// - After a connection's RDY is lowered, nsqd may already have sent messages under the old value;
//   its old RDY keeps counting against the budget for settleMs (about a round trip, generously).

import { backoffDurationMs, nextBackoffLevel } from './backoff.js'
import type { BackoffOptions } from './backoff.js'

export interface RdyConn {
  /** Last RDY sent. */
  rdy: number
  inFlight: number
  /** nsqd's max_rdy_count. */
  maxRdy: number
  lastMsgAtMs: number
  rdyChangedAtMs: number
  /** RDY before the last decrease, counted until settleUntilMs (messages may be on the wire). */
  prevRdy: number
  settleUntilMs: number
}

export const RDY_MODE = {
  NORMAL: 'normal',
  BACKOFF_WAIT: 'backoff-wait',
  TESTING: 'testing',
  PAUSED: 'paused',
  CLOSING: 'closing'
} as const
export type RdyMode = typeof RDY_MODE[keyof typeof RDY_MODE]

export interface RdyControllerOptions<C> {
  maxInFlight: number
  lowRdyIdleTimeoutMs: number
  lowRdyTimeoutMs: number
  /** How long a lowered RDY still counts (messages sent under it may be in transit). */
  settleMs: number
  backoff: BackoffOptions
  sendRdy: (conn: C, count: number) => void
  random?: () => number
}

export class RdyController<C extends RdyConn> {
  readonly conns: C[] = []
  maxInFlight: number
  mode: RdyMode = RDY_MODE.NORMAL
  level = 0
  /** Some connection is below its target for lack of budget: rebalance when a message completes. */
  needsRebalance = false
  private testConn: C | null = null
  private readonly o: RdyControllerOptions<C>
  private readonly random: () => number

  constructor (options: RdyControllerOptions<C>) {
    this.o = options
    this.maxInFlight = options.maxInFlight
    this.random = options.random ?? Math.random
  }

  add (c: C, nowMs: number): void {
    c.rdy = 0
    c.rdyChangedAtMs = 0
    c.prevRdy = 0
    c.settleUntilMs = 0
    this.conns.push(c)
    this.rebalance(nowMs)
  }

  remove (c: C, nowMs: number): void {
    const i = this.conns.indexOf(c)
    if (i < 0) return
    this.conns.splice(i, 1)
    if (this.testConn === c) this.testConn = null
    if (this.mode === RDY_MODE.TESTING && this.conns.length > 0) this.pickTestConn()
    this.rebalance(nowMs)
  }

  setMaxInFlight (n: number, nowMs: number): void {
    this.maxInFlight = Math.max(0, Math.floor(n))
    this.rebalance(nowMs)
  }

  pause (nowMs: number): void {
    if (this.mode === RDY_MODE.CLOSING) return
    this.mode = RDY_MODE.PAUSED
    this.rebalance(nowMs)
  }

  resume (nowMs: number): void {
    if (this.mode !== RDY_MODE.PAUSED) return
    if (this.level > 0) {
      this.mode = RDY_MODE.TESTING
      this.pickTestConn()
    } else {
      this.mode = RDY_MODE.NORMAL
    }
    this.rebalance(nowMs)
  }

  /** CLS was sent: nsqd zeroes RDY itself; send nothing more. */
  closing (): void {
    this.mode = RDY_MODE.CLOSING
    this.needsRebalance = false
  }

  /** A message was handled successfully. Returns a backoff wait to arm a timer for (0: none). */
  onSuccess (nowMs: number): number {
    if (this.level === 0 || this.mode === RDY_MODE.BACKOFF_WAIT || this.mode === RDY_MODE.PAUSED || this.mode === RDY_MODE.CLOSING) return 0
    this.level--
    if (this.level === 0) {
      this.mode = RDY_MODE.NORMAL
      this.testConn = null
      this.rebalance(nowMs)
      return 0
    }
    return this.enterWait(nowMs)
  }

  /** A message failed (requeued with backoff). Returns a backoff wait (0: none). */
  onFailure (nowMs: number): number {
    if (this.o.backoff.maxBackoffMs <= 0) return 0
    if (this.mode === RDY_MODE.BACKOFF_WAIT || this.mode === RDY_MODE.PAUSED || this.mode === RDY_MODE.CLOSING) return 0
    this.level = nextBackoffLevel(this.level, this.o.backoff)
    return this.enterWait(nowMs)
  }

  /** The backoff wait is over: RDY 1 to one random connection. */
  onBackoffTimer (nowMs: number): void {
    if (this.mode !== RDY_MODE.BACKOFF_WAIT) return
    this.mode = RDY_MODE.TESTING
    this.pickTestConn()
    this.rebalance(nowMs)
  }

  private enterWait (nowMs: number): number {
    this.mode = RDY_MODE.BACKOFF_WAIT
    this.testConn = null
    this.rebalance(nowMs)
    return Math.max(1, backoffDurationMs(this.level, this.o.backoff, this.random))
  }

  private pickTestConn (): void {
    const n = this.conns.length
    this.testConn = n === 0 ? null : this.conns[Math.floor(this.random() * n) % n] as C
  }

  /** Periodic redistribution for low-RDY situations (and a stuck test connection). */
  tick (nowMs: number): void {
    if (this.mode === RDY_MODE.TESTING) {
      const t = this.testConn
      if (t !== null && this.conns.length > 1 && t.inFlight === 0 &&
          nowMs - Math.max(t.lastMsgAtMs, t.rdyChangedAtMs) >= this.o.lowRdyIdleTimeoutMs) {
        const others = this.conns.filter((c) => c !== t)
        this.testConn = others[Math.floor(this.random() * others.length) % others.length] as C
        this.rebalance(nowMs)
      }
      return
    }
    if (this.mode !== RDY_MODE.NORMAL) return
    let waiting = 0
    for (const c of this.conns) if (c.rdy === 0 && this.capOf(c) > 0) waiting++
    if (waiting === 0 || this.maxInFlight >= this.conns.length) {
      if (this.needsRebalance) this.rebalance(nowMs)
      return
    }
    for (const c of this.conns) {
      if (waiting === 0) break
      if (c.rdy === 0) continue
      const idle = c.inFlight === 0 && nowMs - Math.max(c.lastMsgAtMs, c.rdyChangedAtMs) >= this.o.lowRdyIdleTimeoutMs
      const held = nowMs - c.rdyChangedAtMs >= this.o.lowRdyTimeoutMs
      if (idle || held) {
        this.set(c, 0, nowMs)
        waiting--
      }
    }
    this.rebalance(nowMs)
  }

  private capOf (c: C): number {
    return Math.max(0, Math.min(c.maxRdy, this.maxInFlight))
  }

  private targets (): number[] {
    const conns = this.conns
    const n = conns.length
    const out = new Array<number>(n).fill(0)
    if (n === 0) return out
    if (this.mode === RDY_MODE.TESTING) {
      const i = this.testConn === null ? -1 : conns.indexOf(this.testConn)
      if (i >= 0 && this.maxInFlight > 0) out[i] = Math.min(1, this.capOf(this.testConn as C))
      return out
    }
    if (this.mode !== RDY_MODE.NORMAL) return out
    const m = this.maxInFlight
    if (m >= n) {
      const base = Math.floor(m / n)
      const extra = m % n
      for (let i = 0; i < n; i++) out[i] = Math.min(base + (i < extra ? 1 : 0), conns[i]!.maxRdy)
      return out
    }
    // Fewer RDY than connections: holders keep theirs, then the longest-waiting get RDY 1.
    let left = m
    for (let i = 0; i < n && left > 0; i++) {
      if (conns[i]!.rdy > 0 && conns[i]!.maxRdy > 0) { out[i] = 1; left-- }
    }
    if (left > 0) {
      const order: number[] = []
      for (let i = 0; i < n; i++) if (out[i] === 0 && conns[i]!.maxRdy > 0) order.push(i)
      order.sort((a, b) => conns[a]!.rdyChangedAtMs - conns[b]!.rdyChangedAtMs)
      for (const i of order) {
        if (left === 0) break
        out[i] = 1
        left--
      }
    }
    return out
  }

  /** Applies the targets: lowers first, then raises within the remaining budget. */
  rebalance (nowMs: number): void {
    this.needsRebalance = false
    if (this.mode === RDY_MODE.CLOSING) return
    const conns = this.conns
    const t = this.targets()
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i]!
      if (c.rdy > t[i]!) this.set(c, t[i]!, nowMs)
    }
    let used = 0
    for (const c of conns) used += this.usage(c, nowMs)
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i]!
      const want = t[i]!
      if (c.rdy >= want) continue
      const own = this.usage(c, nowMs)
      const allowed = this.maxInFlight - (used - own)
      const next = Math.min(want, Math.max(c.rdy, allowed))
      if (next < want) this.needsRebalance = true
      if (next > c.rdy) {
        used += Math.max(next, own) - own
        this.set(c, next, nowMs)
      }
    }
  }

  /** What a connection may hold: its RDY, its in-flight count, or a lowered RDY still settling. */
  private usage (c: C, nowMs: number): number {
    const u = c.rdy > c.inFlight ? c.rdy : c.inFlight
    return nowMs < c.settleUntilMs && c.prevRdy > u ? c.prevRdy : u
  }

  private set (c: C, n: number, nowMs: number): void {
    if (c.rdy === n) return
    if (n < c.rdy) {
      c.prevRdy = nowMs < c.settleUntilMs ? Math.max(c.prevRdy, c.rdy) : c.rdy
      c.settleUntilMs = nowMs + this.o.settleMs
    }
    c.rdy = n
    c.rdyChangedAtMs = nowMs
    this.o.sendRdy(c, n)
  }

  /** go-nsq IsStarved: some connection holds ≥ 85 % of its RDY in flight. */
  isStarved (): boolean {
    for (const c of this.conns) {
      if (c.inFlight > 0 && c.inFlight >= 0.85 * c.rdy) return true
    }
    return false
  }
}
