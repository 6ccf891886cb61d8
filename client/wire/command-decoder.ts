// Server side: an incremental decoder for client commands (tcp-protocol.md §3, §8). Pure state
// machine: line, then for body commands a 4-byte size, then the body. Sizes are checked against
// --max-msg-size / --max-body-size *before* any body byte is buffered. The handler sees each line
// first (so state and parameter errors come in NSQ's order), then the body.

import { Accumulator } from './accumulator.js'
import { ProtocolError } from './errors.js'

export const MAX_LINE_LENGTH = 16 * 1024

export interface CommandHandler {
  /**
   * A complete command line. For body commands (IDENTIFY, AUTH, PUB, MPUB, DPUB) this is the
   * pre-body check. Return false to stop decoding (the handler reported a fatal error).
   */
  onLine (verb: string, params: string[]): boolean
  /** The body of a body command, after its size was validated. Return false to stop. */
  onBody (verb: string, params: string[], body: Buffer): boolean
  /** A decoding error: a ProtocolError to send, or null to close without a frame. */
  onDecodeError (err: ProtocolError | null): void
}

export interface DecoderLimits {
  maxMsgSize: number
  maxBodySize: number
}

const STAGE_LINE = 0
const STAGE_SIZE = 1
const STAGE_BODY = 2

export function hasBody (verb: string): boolean {
  return verb === 'PUB' || verb === 'MPUB' || verb === 'DPUB' || verb === 'IDENTIFY' || verb === 'AUTH'
}

/** The size check of each body command, in NSQ's order and wording. */
export function checkBodySize (verb: string, size: number, limits: DecoderLimits): ProtocolError | null {
  switch (verb) {
    case 'PUB':
    case 'DPUB':
      if (size <= 0) return new ProtocolError('E_BAD_MESSAGE', `${verb} invalid message body size ${size}`)
      if (size > limits.maxMsgSize) return new ProtocolError('E_BAD_MESSAGE', `${verb} message too big ${size} > ${limits.maxMsgSize}`)
      return null
    case 'MPUB':
      if (size <= 0) return new ProtocolError('E_BAD_BODY', `MPUB invalid body size ${size}`)
      if (size > limits.maxBodySize) return new ProtocolError('E_BAD_BODY', `MPUB body too big ${size} > ${limits.maxBodySize}`)
      return null
    default: // IDENTIFY, AUTH
      if (size > limits.maxBodySize) return new ProtocolError('E_BAD_BODY', `${verb} body too big ${size} > ${limits.maxBodySize}`)
      if (size <= 0) return new ProtocolError('E_BAD_BODY', `${verb} invalid body size ${size}`)
      return null
  }
}

/** Splits an MPUB body into message bodies (subarrays of `body`), validating as nsqd does. */
export function parseMpubBody (body: Buffer, limits: DecoderLimits): Buffer[] {
  if (body.length < 4) throw new ProtocolError('E_BAD_BODY', 'MPUB failed to read message count')
  const count = body.readInt32BE(0)
  if (count <= 0 || count > Math.floor((limits.maxBodySize - 4) / 5)) {
    throw new ProtocolError('E_BAD_BODY', `MPUB invalid message count ${count}`)
  }
  const out: Buffer[] = new Array(count)
  let o = 4
  for (let i = 0; i < count; i++) {
    if (o + 4 > body.length) throw new ProtocolError('E_BAD_MESSAGE', `MPUB failed to read message(${i}) body size`)
    const size = body.readInt32BE(o)
    o += 4
    if (size <= 0) throw new ProtocolError('E_BAD_MESSAGE', `MPUB invalid message(${i}) body size ${size}`)
    if (size > limits.maxMsgSize) throw new ProtocolError('E_BAD_MESSAGE', `MPUB message too big ${size} > ${limits.maxMsgSize}`)
    if (o + size > body.length) throw new ProtocolError('E_BAD_MESSAGE', 'MPUB failed to read message body')
    out[i] = body.subarray(o, o + size)
    o += size
  }
  return out
}

/** Reads an unsigned decimal the way nsqd does: digits only, empty = 0. Returns -1 if not digits. */
export function parseDecimal (token: string): number {
  let n = 0
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** "FIN " followed by 16 bytes without a space: the same split the generic path would make. */
function isPlainFin (buf: Buffer, s: number, end: number): boolean {
  if (end - s !== 20 || buf[s] !== 0x46 || buf[s + 1] !== 0x49 || buf[s + 2] !== 0x4e || buf[s + 3] !== 0x20) return false
  for (let i = s + 4; i < end; i++) if (buf[i] === 0x20) return false
  return true
}

export class CommandDecoder {
  private readonly acc = new Accumulator()
  private stage = STAGE_LINE
  private verb = ''
  private params: string[] = []
  private bodySize = 0
  private stopped = false
  private readonly handler: CommandHandler
  limits: DecoderLimits

  constructor (handler: CommandHandler, limits: DecoderLimits) {
    this.handler = handler
    this.limits = limits
  }

  /** Stops decoding after the current command; `takeRest()` returns what was not consumed. */
  stop (): void {
    this.stopped = true
  }

  resume (): void {
    this.stopped = false
  }

  get isStopped (): boolean {
    return this.stopped
  }

  takeRest (): Buffer {
    const rest = Buffer.from(this.acc.rest())
    this.acc.clear()
    return rest
  }

  /** Feeds bytes. Returns the number of complete commands handled. */
  push (chunk: Buffer): number {
    const acc = this.acc
    acc.push(chunk, this.stage === STAGE_BODY ? 4 + this.bodySize : 0)
    return this.run()
  }

  /** Continues decoding already-buffered bytes (after `resume()`). */
  run (): number {
    const acc = this.acc
    let handled = 0
    while (!this.stopped) {
      if (this.stage === STAGE_LINE) {
        const buf = acc.buf
        let nl = buf.indexOf(0x0a, acc.start)
        if (nl >= acc.end) nl = -1
        if (nl < 0) {
          if (acc.end - acc.start > MAX_LINE_LENGTH) {
            this.stopped = true
            this.handler.onDecodeError(null)
          }
          break
        }
        let lineEnd = nl
        if (lineEnd > acc.start && buf[lineEnd - 1] === 0x0d) lineEnd--
        const s = acc.start
        // The most frequent command by far, FIN <16-byte id>, skips the generic split.
        const params = isPlainFin(buf, s, lineEnd)
          ? ['FIN', buf.toString('latin1', s + 4, lineEnd)]
          : buf.toString('latin1', s, lineEnd).split(' ')
        acc.start = nl + 1
        const verb = params[0] as string
        if (!hasBody(verb)) {
          handled++
          if (!this.handler.onLine(verb, params)) { this.stopped = true; break }
          continue
        }
        if (!this.handler.onLine(verb, params)) { this.stopped = true; break }
        this.verb = verb
        this.params = params
        this.stage = STAGE_SIZE
      } else if (this.stage === STAGE_SIZE) {
        if (acc.end - acc.start < 4) break
        const size = acc.buf.readInt32BE(acc.start)
        const err = checkBodySize(this.verb, size, this.limits)
        if (err !== null) {
          this.stopped = true
          this.stage = STAGE_LINE
          this.handler.onDecodeError(err)
          break
        }
        this.bodySize = size
        this.stage = STAGE_BODY
      } else {
        if (acc.end - acc.start < 4 + this.bodySize) break
        const body = acc.buf.subarray(acc.start + 4, acc.start + 4 + this.bodySize)
        acc.start += 4 + this.bodySize
        this.stage = STAGE_LINE
        handled++
        const verb = this.verb
        const params = this.params
        this.params = []
        if (!this.handler.onBody(verb, params, body)) { this.stopped = true; break }
      }
    }
    if (acc.start === acc.end) acc.clear()
    return handled
  }
}
