// Server side: an incremental decoder for client commands (tcp-protocol.md §3, §8). Pure state
// machine: line, then for body commands a 4-byte size, then the body. Sizes are checked against
// --max-msg-size / --max-body-size *before* any body byte is buffered. The handler sees each line
// first (so state and parameter errors come in NSQ's order), then the body. MPUB is read as nsqd
// reads it, straight from the stream: its count, then each message's size (checked before its body
// is buffered) and body; the declared body size is only a buffering hint. A line, its \n included,
// must fit in 16 KiB, and `eofError()` says what nsqd answers when the stream ends mid-command.

import { Accumulator } from './accumulator.js'
import { ProtocolError } from './errors.js'

export const MAX_LINE_LENGTH = 16 * 1024

export interface CommandHandler {
  /**
   * A complete command line. For body commands (IDENTIFY, AUTH, PUB, MPUB, DPUB) this is the
   * pre-body check. Return false to stop decoding (the handler reported a fatal error).
   */
  onLine (verb: string, params: string[]): boolean
  /** The body of PUB, DPUB, IDENTIFY or AUTH, after its size was validated. Return false to stop. */
  onBody (verb: string, params: string[], body: Buffer): boolean
  /** The messages of an MPUB, each read and validated. Return false to stop. */
  onMpub (params: string[], bodies: Buffer[]): boolean
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
const STAGE_MPUB_COUNT = 3
const STAGE_MPUB = 4

const NO_PARAMS: string[] = []
const NO_BODIES: Buffer[] = []

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

/**
 * nsqd's ByteToBase10 for RDY counts and REQ/DPUB timeouts: ASCII digits only (no sign, no space),
 * an empty token is 0, and the digits accumulate in a uint64 that wraps mod 2^64. Returns -1 when a
 * byte is not a digit. Up to 15 digits the value is a plain number (the common case); a longer
 * token takes the slow path and gives the exact wrapped uint64 as a bigint.
 */
export function parseDecimal (token: string): number | bigint {
  const len = token.length
  if (len > 15) return parseLongDecimal(token)
  let n = 0
  for (let i = 0; i < len; i++) {
    const c = token.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

function parseLongDecimal (token: string): bigint | -1 {
  let n = 0n
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = BigInt.asUintN(64, n * 10n + BigInt(c))
  }
  return n
}

/** Go's int64(u) of a parseDecimal value (RDY's count): a uint64 of 2^63 or more turns negative. */
export function goInt64 (u: number | bigint): number | bigint {
  if (typeof u === 'number') return u
  const v = BigInt.asIntN(64, u)
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** The largest millisecond count whose nanoseconds fit an int64 (no wrap). */
const MAX_PLAIN_MS = 9223372036854
export const DURATION_NEGATIVE = -1
export const DURATION_TOO_LONG = Infinity

/**
 * Go's `time.Duration(u) * time.Millisecond` for a parseDecimal value `u` (REQ and DPUB timeouts):
 * an int64 nanosecond product that wraps. Returns the duration in milliseconds when it lies in
 * [0, maxMs] (a wrapped product can leave a fraction of a millisecond; it is rounded up, so a
 * positive duration stays positive), DURATION_NEGATIVE below 0, DURATION_TOO_LONG above maxMs.
 */
export function goDurationMs (u: number | bigint, maxMs: number): number {
  if (typeof u === 'number' && u <= MAX_PLAIN_MS) return u > maxMs ? DURATION_TOO_LONG : u
  const ns = BigInt.asIntN(64, BigInt(u) * 1000000n)
  if (ns < 0n) return DURATION_NEGATIVE
  if (ns > BigInt(Math.round(maxMs * 1e6))) return DURATION_TOO_LONG
  return Math.ceil(Number(ns) / 1e6)
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
  /** Where the newline search of a partial line resumes (bytes before it hold no \n). */
  private lineScan = 0
  /** MPUB: the message count, the messages read so far, and what the declared body has left. */
  private mpubCount = 0
  private mpubRead = 0
  private mpubBodies: Buffer[] = NO_BODIES
  private mpubLeft = 0
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
    this.lineScan = 0
    return rest
  }

  /**
   * The stream ended here (EOF). Inside or between command lines that is a clean end (null); once a
   * command line is complete, it is the error nsqd sends when the read of its size, count or body
   * fails.
   */
  eofError (): ProtocolError | null {
    const verb = this.verb
    switch (this.stage) {
      case STAGE_LINE:
        return null
      case STAGE_SIZE:
        if (verb === 'MPUB') return new ProtocolError('E_BAD_BODY', 'MPUB failed to read body size')
        if (verb === 'PUB' || verb === 'DPUB') return new ProtocolError('E_BAD_MESSAGE', `${verb} failed to read message body size`)
        return new ProtocolError('E_BAD_BODY', `${verb} failed to read body size`)
      case STAGE_BODY:
        if (verb === 'PUB' || verb === 'DPUB') return new ProtocolError('E_BAD_MESSAGE', `${verb} failed to read message body`)
        return new ProtocolError('E_BAD_BODY', `${verb} failed to read body`)
      case STAGE_MPUB_COUNT:
        return new ProtocolError('E_BAD_BODY', 'MPUB failed to read message count')
      default: // STAGE_MPUB: a size that was read has been validated, so the body is what is missing
        if (this.acc.length < 4) return new ProtocolError('E_BAD_MESSAGE', `MPUB failed to read message(${this.mpubRead}) body size`)
        return new ProtocolError('E_BAD_MESSAGE', 'MPUB failed to read message body')
    }
  }

  /** Feeds bytes. Returns the number of complete commands handled. */
  push (chunk: Buffer): number {
    const stage = this.stage
    // how many bytes the current unit needs, so a large body is gathered in one allocation
    const want = stage === STAGE_BODY ? this.bodySize : stage >= STAGE_MPUB_COUNT ? this.mpubLeft : 0
    this.acc.push(chunk, want)
    return this.run()
  }

  /** Continues decoding already-buffered bytes (after `resume()`). */
  run (): number {
    const acc = this.acc
    let handled = 0
    while (!this.stopped) {
      const stage = this.stage
      if (stage === STAGE_LINE) {
        const buf = acc.buf
        const s = acc.start
        let nl = buf.indexOf(0x0a, s + this.lineScan)
        if (nl >= acc.end) nl = -1
        if (nl < 0) {
          // nsqd reads lines through a 16 KiB buffer: a line that does not fit ends the connection
          if (acc.end - s >= MAX_LINE_LENGTH) {
            this.stopped = true
            this.handler.onDecodeError(null)
          } else {
            this.lineScan = acc.end - s
          }
          break
        }
        this.lineScan = 0
        if (nl - s >= MAX_LINE_LENGTH) {
          this.stopped = true
          this.handler.onDecodeError(null)
          break
        }
        let lineEnd = nl
        if (lineEnd > s && buf[lineEnd - 1] === 0x0d) lineEnd--
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
      } else if (stage === STAGE_SIZE) {
        if (acc.end - acc.start < 4) break
        const size = acc.buf.readInt32BE(acc.start)
        const err = checkBodySize(this.verb, size, this.limits)
        if (err !== null) {
          this.stopped = true
          this.stage = STAGE_LINE
          this.handler.onDecodeError(err)
          break
        }
        acc.start += 4
        this.bodySize = size
        if (this.verb === 'MPUB') {
          this.mpubLeft = size
          this.stage = STAGE_MPUB_COUNT
        } else {
          this.stage = STAGE_BODY
        }
      } else if (stage === STAGE_BODY) {
        const size = this.bodySize
        if (acc.end - acc.start < size) break
        const body = acc.buf.subarray(acc.start, acc.start + size)
        acc.start += size
        this.stage = STAGE_LINE
        handled++
        const verb = this.verb
        const params = this.params
        this.params = NO_PARAMS
        if (!this.handler.onBody(verb, params, body)) { this.stopped = true; break }
      } else if (stage === STAGE_MPUB_COUNT) {
        if (acc.end - acc.start < 4) break
        const count = acc.buf.readInt32BE(acc.start)
        if (count <= 0 || count > Math.floor((this.limits.maxBodySize - 4) / 5)) {
          this.fail(new ProtocolError('E_BAD_BODY', `MPUB invalid message count ${count}`))
          break
        }
        acc.start += 4
        this.mpubLeft -= 4
        this.mpubCount = count
        this.mpubRead = 0
        // a huge count must not allocate up front: the array grows as messages arrive
        this.mpubBodies = new Array(count <= 65536 ? count : 0)
        this.stage = STAGE_MPUB
      } else {
        // MPUB messages straight from the stream: the declared body size does not bound them
        if (!this.readMpub()) break
        const params = this.params
        const bodies = this.mpubBodies
        this.params = NO_PARAMS
        this.mpubBodies = NO_BODIES
        this.stage = STAGE_LINE
        handled++
        if (!this.handler.onMpub(params, bodies)) { this.stopped = true; break }
      }
    }
    if (acc.start === acc.end) acc.clear()
    return handled
  }

  /** Reads the MPUB messages that are buffered; true once all `count` are in. */
  private readMpub (): boolean {
    const acc = this.acc
    const buf = acc.buf
    const end = acc.end
    const max = this.limits.maxMsgSize
    const count = this.mpubCount
    const bodies = this.mpubBodies
    let p = acc.start
    let i = this.mpubRead
    while (i < count) {
      if (end - p < 4) break
      const size = buf.readInt32BE(p)
      if (size <= 0) {
        this.consumedMpub(p, i)
        this.fail(new ProtocolError('E_BAD_MESSAGE', `MPUB invalid message(${i}) body size ${size}`))
        return false
      }
      if (size > max) {
        this.consumedMpub(p, i)
        this.fail(new ProtocolError('E_BAD_MESSAGE', `MPUB message too big ${size} > ${max}`))
        return false
      }
      if (end - p - 4 < size) break
      bodies[i++] = buf.subarray(p + 4, p + 4 + size)
      p += 4 + size
    }
    this.consumedMpub(p, i)
    return i === count
  }

  private consumedMpub (p: number, read: number): void {
    const acc = this.acc
    this.mpubLeft -= p - acc.start
    acc.start = p
    this.mpubRead = read
  }

  private fail (err: ProtocolError): void {
    this.stopped = true
    this.stage = STAGE_LINE
    this.params = NO_PARAMS
    this.mpubBodies = NO_BODIES
    this.handler.onDecodeError(err)
  }
}
