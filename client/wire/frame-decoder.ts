// Client side: decodes server frames from a byte stream. Pure; events go to a callback.

import { Accumulator } from './accumulator.js'

export type FrameCallback = (frameType: number, data: Buffer) => void

export class FrameDecoder {
  private readonly acc = new Accumulator()
  private want = 0
  private readonly onFrame: FrameCallback
  private readonly maxFrameSize: number
  private stopped = false

  constructor (onFrame: FrameCallback, maxFrameSize = 64 * 1024 * 1024) {
    this.onFrame = onFrame
    this.maxFrameSize = maxFrameSize
  }

  /** Feeds bytes; throws RangeError on an impossible frame size. */
  push (chunk: Buffer): void {
    const acc = this.acc
    acc.push(chunk, this.want)
    this.run()
  }

  /**
   * Stops decoding after the frame being delivered (call it from the callback): the bytes that
   * follow stay buffered for `takeRest()`, e.g. the start of a compressed stream after IDENTIFY.
   */
  stop (): void {
    this.stopped = true
  }

  /** Resumes decoding of what is buffered (and of later pushes). */
  resume (): void {
    this.stopped = false
    this.run()
  }

  private run (): void {
    const acc = this.acc
    while (!this.stopped) {
      const avail = acc.end - acc.start
      if (avail < 8) { this.want = 8; break }
      const size = acc.buf.readInt32BE(acc.start)
      if (size < 4 || size > this.maxFrameSize) throw new RangeError(`invalid frame size ${size}`)
      if (avail < 4 + size) { this.want = 4 + size; break }
      const type = acc.buf.readInt32BE(acc.start + 4)
      const data = acc.buf.subarray(acc.start + 8, acc.start + 4 + size)
      acc.start += 4 + size
      this.onFrame(type, data)
    }
    if (acc.start === acc.end) acc.clear()
  }

  /** Bytes received but not yet decoded (for a mid-stream upgrade). */
  takeRest (): Buffer {
    const rest = Buffer.from(this.acc.rest())
    this.acc.clear()
    return rest
  }
}
