// A Fifo of messages that keeps the sum of their body sizes (bounded queues count bytes: one
// addition per push, one subtraction per shift).

import { Fifo } from './fifo.js'
import type { Message } from './message.js'

export class MessageFifo extends Fifo<Message> {
  /** Body bytes of the messages held. */
  bytes = 0

  override push (msg: Message): void {
    super.push(msg)
    this.bytes += msg.body.length
  }

  override shift (): Message | undefined {
    const msg = super.shift()
    if (msg !== undefined) this.bytes -= msg.body.length
    return msg
  }

  override removeFirst (match: (msg: Message) => boolean): Message | undefined {
    // the head is removed through shift(), which counts it out already
    const head = this.at(0)
    const msg = super.removeFirst(match)
    if (msg !== undefined && msg !== head) this.bytes -= msg.body.length
    return msg
  }

  override clear (): void {
    super.clear()
    this.bytes = 0
  }
}
