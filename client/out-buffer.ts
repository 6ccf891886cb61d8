// Outgoing command bytes, coalesced per tick. Commands are written straight into a growing buffer
// (no Buffer per command); take() hands out the filled region as one view and keeps appending after
// it, so bytes given to socket.write are never overwritten (a full buffer is replaced, not reused).

const CHUNK = 64 * 1024

export class OutBuffer {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK)
  private start = 0
  private pos = 0

  get length (): number {
    return this.pos - this.start
  }

  private ensure (n: number): void {
    if (this.buf.length - this.pos >= n) return
    const pending = this.pos - this.start
    // Geometric growth: a burst of commands must not copy the pending bytes once per command.
    const nb = Buffer.allocUnsafe(Math.max(CHUNK, (pending + n) * 2))
    this.buf.copy(nb, 0, this.start, this.pos)
    this.buf = nb
    this.start = 0
    this.pos = pending
  }

  /** Writes an ASCII command line (the text without "\n"; it is added). */
  line (text: string): void {
    this.ensure(text.length + 1)
    const buf = this.buf
    this.pos += buf.write(text, this.pos, 'latin1')
    buf[this.pos++] = 0x0a
  }

  int32 (n: number): void {
    this.ensure(4)
    this.buf.writeInt32BE(n, this.pos)
    this.pos += 4
  }

  bytes (data: Buffer): void {
    this.ensure(data.length)
    data.copy(this.buf, this.pos)
    this.pos += data.length
  }

  /** A size-prefixed body. */
  sized (data: Buffer): void {
    this.ensure(4 + data.length)
    this.buf.writeInt32BE(data.length, this.pos)
    data.copy(this.buf, this.pos + 4)
    this.pos += 4 + data.length
  }

  /** The bytes written since the last take(), as one view (empty when nothing is pending). */
  take (): Buffer {
    const out = this.buf.subarray(this.start, this.pos)
    this.start = this.pos
    if (this.buf.length - this.pos < 1024) {
      this.buf = Buffer.allocUnsafe(CHUNK)
      this.start = 0
      this.pos = 0
    }
    return out
  }
}

/** A FIFO over an array with a moving head (no Array.shift per item). */
export class Fifo<T> {
  private items: Array<T | undefined> = []
  private head = 0

  get length (): number {
    return this.items.length - this.head
  }

  push (item: T): void {
    this.items.push(item)
  }

  shift (): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head > 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Removes and returns everything. */
  drain (): T[] {
    const out = this.items.slice(this.head) as T[]
    this.items = []
    this.head = 0
    return out
  }
}
