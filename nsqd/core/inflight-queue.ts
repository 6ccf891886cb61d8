// In-flight messages ordered by deadline, for O(1) FIN/REQ/timeout. A delivered message's deadline
// is its delivery time plus its consumer's msg_timeout, so messages delivered with the same timeout
// arrive in deadline order: each timeout class is an intrusive doubly linked list appended at the
// tail. FIN and REQ unlink in O(1); the expiry scan pops from the heads. A TOUCH moves the message
// to the tail again (walking back only when --max-msg-timeout capped its new deadline). Consumers of
// one channel rarely differ in msg_timeout, so there are few lists.

import type { Message } from './message.js'

export class DeadlineList {
  head: Message | null = null
  tail: Message | null = null
  size = 0
}

export class InFlightQueue {
  private readonly lists = new Map<number, DeadlineList>()
  private count = 0

  get length (): number {
    return this.count
  }

  /** Adds a message whose `pri` (deadline) and `deliveryTs` are set. */
  push (msg: Message): void {
    const cls = msg.pri - msg.deliveryTs
    let list = this.lists.get(cls)
    if (list === undefined) {
      list = new DeadlineList()
      this.lists.set(cls, list)
    }
    this.insert(list, msg)
    this.count++
  }

  remove (msg: Message): boolean {
    const list = msg.list
    if (list === null) return false
    this.unlink(list, msg)
    this.count--
    return true
  }

  /** Re-positions a message whose `pri` changed (TOUCH). */
  update (msg: Message): void {
    const list = msg.list
    if (list === null) return
    this.unlink(list, msg)
    this.insert(list, msg)
  }

  /** Removes and returns the message with the earliest deadline if it is ≤ now. */
  popDue (now: number): Message | undefined {
    let best: Message | null = null
    for (const list of this.lists.values()) {
      const h = list.head
      if (h !== null && h.pri <= now && (best === null || h.pri < best.pri)) best = h
    }
    if (best === null) return undefined
    this.unlink(best.list as DeadlineList, best)
    this.count--
    return best
  }

  /** Empties the queue; returns what it held. */
  clear (): Message[] {
    const out: Message[] = []
    for (const list of this.lists.values()) {
      let m = list.head
      while (m !== null) {
        const next = m.next
        m.prev = m.next = null
        m.list = null
        out.push(m)
        m = next
      }
    }
    this.lists.clear()
    this.count = 0
    return out
  }

  private insert (list: DeadlineList, msg: Message): void {
    let after = list.tail
    while (after !== null && after.pri > msg.pri) after = after.prev
    msg.list = list
    msg.prev = after
    if (after === null) {
      msg.next = list.head
      if (list.head !== null) list.head.prev = msg
      list.head = msg
    } else {
      msg.next = after.next
      if (after.next !== null) after.next.prev = msg
      after.next = msg
    }
    if (msg.next === null) list.tail = msg
    list.size++
  }

  private unlink (list: DeadlineList, msg: Message): void {
    if (msg.prev !== null) msg.prev.next = msg.next
    else list.head = msg.next
    if (msg.next !== null) msg.next.prev = msg.prev
    else list.tail = msg.prev
    msg.prev = msg.next = null
    msg.list = null
    list.size--
  }
}
