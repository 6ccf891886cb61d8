// The admin's own short memory (beyond NSQ, which needs graphite for any chart): a ring of
// sample timestamps and, per series, a Float64Array ring of the same length, aligned by slot.
// A series that misses a sample holds NaN there (sent as null). Series that stayed empty for a
// whole window are dropped. Memory: 8 bytes × capacity per series (720 slots = 5.6 KiB).

export interface SeriesSnapshot {
  interval_ms: number
  timestamps: number[]
  series: Record<string, Array<number | null>>
}

export class History {
  readonly capacity: number
  readonly intervalMs: number
  private readonly ts: Float64Array
  private readonly series = new Map<string, Float64Array>()
  /** Slot of the newest sample; -1 before the first. */
  private head = -1
  private count = 0

  constructor (windowMs: number, intervalMs: number) {
    this.intervalMs = intervalMs
    this.capacity = Math.max(2, Math.ceil(windowMs / Math.max(1, intervalMs)))
    this.ts = new Float64Array(this.capacity)
  }

  get size (): number {
    return this.count
  }

  get seriesCount (): number {
    return this.series.size
  }

  get latestTs (): number | null {
    return this.head < 0 ? null : this.ts[this.head] as number
  }

  /** Appends one sample: every known series gets its value or NaN. */
  record (tsMs: number, values: ReadonlyMap<string, number>): void {
    this.head = (this.head + 1) % this.capacity
    if (this.count < this.capacity) this.count++
    this.ts[this.head] = tsMs
    for (const [key, ring] of this.series) {
      const v = values.get(key)
      ring[this.head] = v === undefined ? NaN : v
    }
    for (const [key, v] of values) {
      if (this.series.has(key)) continue
      const ring = new Float64Array(this.capacity).fill(NaN)
      ring[this.head] = v
      this.series.set(key, ring)
    }
    if (this.head === 0) this.prune()
  }

  /** The newest value of a series, or null. */
  latest (key: string): number | null {
    const ring = this.series.get(key)
    if (ring === undefined || this.head < 0) return null
    const v = ring[this.head] as number
    return Number.isNaN(v) ? null : v
  }

  /** Time-ordered samples newer than sinceMs for the series whose keys start with `prefix`. */
  snapshot (prefix: string, sinceMs = 0): SeriesSnapshot {
    const slots: number[] = []
    for (let i = this.count - 1; i >= 0; i--) {
      const slot = (this.head - i + this.capacity) % this.capacity
      if ((this.ts[slot] as number) > sinceMs) slots.push(slot)
    }
    const out: SeriesSnapshot = { interval_ms: this.intervalMs, timestamps: slots.map((s) => this.ts[s] as number), series: {} }
    for (const [key, ring] of this.series) {
      if (!key.startsWith(prefix)) continue
      out.series[key.slice(prefix.length)] = slots.map((s) => {
        const v = ring[s] as number
        return Number.isNaN(v) ? null : v
      })
    }
    return out
  }

  /** Drops series with no value in the whole window (deleted topics, gone nodes). */
  private prune (): void {
    for (const [key, ring] of this.series) {
      let empty = true
      for (let i = 0; i < ring.length; i++) {
        if (!Number.isNaN(ring[i] as number)) { empty = false; break }
      }
      if (empty) this.series.delete(key)
    }
  }
}
