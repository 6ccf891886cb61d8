// A binary min-heap of Messages keyed by `pri` (a deadline in ms). Each message stores its own heap
// `index`, so removal by reference (FIN, REQ, TOUCH) is O(log n). Used for in-flight and deferred.

import type { Message } from './message.js'

export class MessageHeap {
  private items: Message[] = []

  get length (): number {
    return this.items.length
  }

  peek (): Message | undefined {
    return this.items[0]
  }

  push (msg: Message): void {
    const items = this.items
    msg.index = items.length
    items.push(msg)
    this.up(msg.index)
  }

  /** Removes the minimum if its pri ≤ now. */
  popDue (now: number): Message | undefined {
    const top = this.items[0]
    if (top === undefined || top.pri > now) return undefined
    this.removeAt(0)
    return top
  }

  remove (msg: Message): boolean {
    const i = msg.index
    if (i < 0 || this.items[i] !== msg) return false
    this.removeAt(i)
    return true
  }

  /** Re-positions a message whose pri changed. */
  update (msg: Message): void {
    const i = msg.index
    if (i < 0 || this.items[i] !== msg) return
    this.up(i)
    this.down(msg.index)
  }

  clear (): Message[] {
    const all = this.items
    this.items = []
    for (const m of all) m.index = -1
    return all
  }

  /** All messages, heap order (for shutdown flush and stats). */
  toArray (): readonly Message[] {
    return this.items
  }

  private removeAt (i: number): void {
    const items = this.items
    const removed = items[i] as Message
    const last = items.pop() as Message
    removed.index = -1
    if (i < items.length) {
      items[i] = last
      last.index = i
      this.up(i)
      this.down(last.index)
    }
  }

  private up (i: number): void {
    const items = this.items
    const item = items[i] as Message
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent] as Message
      if (p.pri <= item.pri) break
      items[i] = p
      p.index = i
      i = parent
    }
    items[i] = item
    item.index = i
  }

  private down (i: number): void {
    const items = this.items
    const n = items.length
    const item = items[i] as Message
    while (true) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let c = l
      if (r < n && (items[r] as Message).pri < (items[l] as Message).pri) c = r
      const child = items[c] as Message
      if (child.pri >= item.pri) break
      items[i] = child
      child.index = i
      i = c
    }
    items[i] = item
    item.index = i
  }
}
