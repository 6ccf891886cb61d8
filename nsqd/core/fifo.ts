// A growable ring buffer FIFO (power-of-two capacity, mask arithmetic, no Array#shift).

export class Fifo<T> {
  private items: Array<T | undefined>
  private head = 0
  private tail = 0
  private mask: number
  private count = 0

  constructor (initialCapacity = 16) {
    let cap = 16
    while (cap < initialCapacity) cap *= 2
    this.items = new Array(cap)
    this.mask = cap - 1
  }

  get length (): number {
    return this.count
  }

  push (item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[this.tail] = item
    this.tail = (this.tail + 1) & this.mask
    this.count++
  }

  shift (): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.count--
    return item
  }

  peek (): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** The i-th item from the head (0 = next out), without removing it; undefined past the end. */
  at (i: number): T | undefined {
    return i < 0 || i >= this.count ? undefined : this.items[(this.head + i) & this.mask]
  }

  /**
   * Removes the first item `match` accepts, keeping the order of the rest (O(n): for rare
   * operations such as a replay of selected messages). Returns it, or undefined.
   */
  removeFirst (match: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.count; i++) {
      const item = this.items[(this.head + i) & this.mask] as T
      if (!match(item)) continue
      if (i === 0) return this.shift()
      for (let k = i; k < this.count - 1; k++) {
        this.items[(this.head + k) & this.mask] = this.items[(this.head + k + 1) & this.mask]
      }
      this.tail = (this.tail - 1) & this.mask
      this.items[this.tail] = undefined
      this.count--
      return item
    }
    return undefined
  }

  clear (): void {
    this.items = new Array(16)
    this.mask = 15
    this.head = 0
    this.tail = 0
    this.count = 0
  }

  /** Removes and returns everything, oldest first. */
  drain (): T[] {
    const out: T[] = new Array(this.count)
    for (let i = 0; i < out.length; i++) out[i] = this.shift() as T
    return out
  }

  private grow (): void {
    const old = this.items
    const cap = old.length * 2
    const next: Array<T | undefined> = new Array(cap)
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.tail = this.count
    this.mask = cap - 1
  }
}
