// An unbounded in-memory BackendQueue: the reference implementation the contract suite checks the
// level queue against, and a stand-in where no store is open. Nothing survives a restart.

import type { Message } from '../core/message.js'
import type { BackendQueue } from './backend-queue.js'

export class MemoryBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null
  private items: Array<Message | undefined> = []
  private head = 0
  private closed = false
  private wantReadable = false

  put (msg: Message): boolean {
    if (this.closed) return false
    this.items.push(msg)
    if (this.wantReadable) {
      this.wantReadable = false
      queueMicrotask(() => this.onReadable?.())
    }
    return true
  }

  shift (): Message | undefined {
    if (this.head >= this.items.length) {
      this.wantReadable = true
      return undefined
    }
    const msg = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return msg
  }

  depth (): number {
    return this.items.length - this.head
  }

  empty (): void {
    this.items = []
    this.head = 0
  }

  async delete (): Promise<void> {
    this.empty()
    this.closed = true
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
