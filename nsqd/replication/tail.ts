// The recent batches of the group's history a node keeps in memory, so a standby that reconnects
// (a restart, a network blip, a pause) can catch up from where it stopped instead of copying the
// whole store (--replication-tail-size bytes, oldest dropped first).
//
// Entries are contiguous: entry i is batch `baseSeq + 1 + i`. `baseSeq`/`baseEpoch` name the batch
// just before the first entry (the position the tail starts from). A primary appends every batch
// it ships; a standby every batch it applied (a standby promoted to primary keeps its tail, so the
// other standbys can go on from where they were).

export interface TailEntry {
  seq: number
  epoch: number
  /** The frame's type + payload (no length prefix). */
  frame: Buffer
}

export class ReplicationTail {
  baseSeq: number
  baseEpoch: number
  bytes = 0
  readonly maxBytes: number
  private entries: TailEntry[] = []
  private head = 0

  constructor (maxBytes: number, baseSeq = 0, baseEpoch = 0) {
    this.maxBytes = maxBytes
    this.baseSeq = baseSeq
    this.baseEpoch = baseEpoch
  }

  /** Sequence number of the newest batch named (an entry, or the base). */
  get lastSeq (): number { return this.baseSeq + this.entries.length - this.head }
  get lastEpoch (): number {
    return this.entries.length > this.head ? (this.entries[this.entries.length - 1] as TailEntry).epoch : this.baseEpoch
  }

  get length (): number { return this.entries.length - this.head }

  /** Starts afresh at a position (after a snapshot: nothing before it can be replayed). */
  reset (seq: number, epoch: number): void {
    this.entries = []
    this.head = 0
    this.bytes = 0
    this.baseSeq = seq
    this.baseEpoch = epoch
  }

  append (seq: number, epoch: number, frame: Buffer): void {
    if (seq !== this.lastSeq + 1) {
      // not contiguous (cannot happen in one history): this batch is the new base
      this.reset(seq, epoch)
      return
    }
    this.entries.push({ seq, epoch, frame })
    this.bytes += frame.length
    while (this.bytes > this.maxBytes && this.head < this.entries.length) {
      const e = this.entries[this.head] as TailEntry
      this.entries[this.head] = undefined as unknown as TailEntry
      this.head++
      this.bytes -= e.frame.length
      this.baseSeq = e.seq
      this.baseEpoch = e.epoch
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  /** The epoch of batch `seq` if the tail names it (an entry or the base), else undefined. */
  epochAt (seq: number): number | undefined {
    if (seq === this.baseSeq) return this.baseEpoch
    if (seq < this.baseSeq || seq > this.lastSeq) return undefined
    return (this.entries[this.head + (seq - this.baseSeq - 1)] as TailEntry).epoch
  }

  /** The entries after `seq` (seq must be named by the tail). */
  after (seq: number): TailEntry[] {
    return this.entries.slice(this.head + (seq - this.baseSeq))
  }

  /** Every entry, for a standby promoted to primary. */
  copy (maxBytes = this.maxBytes): ReplicationTail {
    const t = new ReplicationTail(maxBytes, this.baseSeq, this.baseEpoch)
    t.entries = this.entries.slice(this.head)
    t.bytes = this.bytes
    return t
  }
}
