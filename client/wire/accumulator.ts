// Cursor-based accumulation of incoming chunks (pg-protocol style): no Buffer.concat per chunk.
// When nothing is left over, a chunk is parsed in place. Leftover bytes are copied into a buffer we
// own, sized for the unit being read, and later chunks are appended into its spare capacity.
// Bytes handed out as subarrays are never overwritten: a buffer is only ever appended to past `end`,
// and compaction always allocates a fresh buffer.

const EMPTY = Buffer.alloc(0)

export class Accumulator {
  buf: Buffer = EMPTY
  start = 0
  end = 0
  private own = false

  get length (): number {
    return this.end - this.start
  }

  /**
   * Adds a chunk. `want` is how many bytes (from `start`) the current unit needs, when known,
   * so a large body is accumulated into one allocation of the right size.
   */
  push (chunk: Buffer, want = 0): void {
    const left = this.end - this.start
    if (left === 0) {
      this.buf = chunk
      this.start = 0
      this.end = chunk.length
      this.own = false
      return
    }
    if (this.own && this.buf.length - this.end >= chunk.length) {
      chunk.copy(this.buf, this.end)
      this.end += chunk.length
      return
    }
    const need = left + chunk.length
    const cap = Math.max(need, want, Math.min(left * 2, need + 65536), 256)
    const nb = Buffer.allocUnsafe(cap)
    this.buf.copy(nb, 0, this.start, this.end)
    chunk.copy(nb, left)
    this.buf = nb
    this.start = 0
    this.end = need
    this.own = true
  }

  /** Unconsumed bytes as a view (for handing the rest of a stream to an upgraded layer). */
  rest (): Buffer {
    return this.buf.subarray(this.start, this.end)
  }

  clear (): void {
    this.buf = EMPTY
    this.start = 0
    this.end = 0
    this.own = false
  }
}
