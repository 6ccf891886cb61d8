// An in-memory BackendQueue: the reference implementation for the contract tests, and what a node
// without a data store uses for overflow.

import type { Message } from '../core/message.js'
import type { BackendQueue } from './backend-queue.js'
import { MessageFifo } from '../core/message-fifo.js'

export class MemoryBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null
  private readonly items = new MessageFifo()
  private closed = false

  put (msg: Message): boolean {
    if (this.closed) return false
    this.items.push(msg)
    return true
  }

  shift (): Message | undefined {
    return this.items.shift()
  }

  depth (): number {
    return this.items.length
  }

  bytes (): number {
    return this.items.bytes
  }

  empty (): void {
    this.items.clear()
  }

  async scan (visit: (msg: Message, seq: number) => boolean): Promise<void> {
    const items = this.items
    for (let i = 0; i < items.length; i++) if (!visit(items.at(i) as Message, i)) return
  }

  remove (msg: Message, _seq: number): boolean {
    return this.items.removeFirst((m) => m.id === msg.id) !== undefined
  }

  async delete (): Promise<void> {
    this.items.clear()
    this.closed = true
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
