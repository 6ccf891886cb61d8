// Per-connection state of a V2 client: settings from IDENTIFY, RDY/in-flight accounting, counters
// for /stats, output buffering and heartbeats. Message frames are written into a shared output
// chunk and flushed once per event-loop turn; responses and errors flush at once (tcp-protocol.md
// §13). Bytes handed to the socket are never overwritten: writing continues past them, and a full
// chunk is replaced by a fresh one.

import type { Duplex } from 'node:stream'
import type { Message } from '../core/message.js'
import type { Channel, Consumer } from '../core/channel.js'
import { FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, FRAME_HEARTBEAT } from '../../client/wire/frames.js'
import { MESSAGE_HEADER_SIZE, writeMessageHeader } from '../../client/wire/message.js'
import { DEFAULT_OUTPUT_BUFFER_SIZE } from './identify.js'

export const STATE_INIT = 0
export const STATE_SUBSCRIBED = 3
export const STATE_CLOSING = 4

const CHUNK_SIZE = 64 * 1024
/** Bodies at least this large are written as their own chunk instead of being copied. */
const ZERO_COPY_BODY = 16 * 1024
const EMPTY = Buffer.alloc(0)
const NOT_BYTES = /[^\x00-\xff]/

export interface ClientHost {
  /** Called once when the connection is gone. */
  clientClosed (client: ClientV2): void
  debug (msg: string): void
}

export class ClientV2 implements Consumer {
  readonly id: number
  /** The socket, or after an upgrade the TLS socket / compression layer on top of it. */
  conn: Duplex
  /** Where the client's bytes are read from: the socket, or the TLS socket after a TLS upgrade (a compression layer only wraps the output side). */
  input: Duplex
  readonly remoteAddress: string
  readonly connectTs: number
  private readonly host: ClientHost

  state = STATE_INIT
  identified = false
  /** The remote IP until IDENTIFY, which replaces both with its fields ("" when missing or null). */
  clientId: string
  hostname: string
  userAgent = ''
  topologyRegion = ''
  topologyZone = ''
  heartbeatIntervalMs: number
  outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE
  outputBufferTimeoutMs: number
  msgTimeoutMs: number
  sampleRate = 0
  tls = false
  snappy = false
  deflate = false
  deflateLevel = 0
  authed = false
  authIdentity = ''
  authIdentityUrl = ''
  tlsVersion = ''
  tlsCipherSuite = ''

  readyCount = 0
  inFlightCount = 0
  messageCount = 0
  finishCount = 0
  requeueCount = 0
  readonly pubCounts = new Map<string, number>()
  channel: Channel | null = null

  private writable = true
  closed = false
  /**
   * Set while the commands of one read are handled: their OK and error frames are written
   * together when the read is done (one write for a pipelined burst), still in the same turn.
   * JSON responses (IDENTIFY, AUTH) always flush at once: an upgrade may follow them.
   */
  deferFlush = false
  /** While a transport upgrade runs, output stays buffered (nsqd holds the write lock). */
  private held = false
  private out: Buffer = EMPTY
  private outStart = 0
  private outPos = 0
  private chunks: Buffer[] = []
  private flushScheduled = false
  private heartbeatTimer: NodeJS.Timeout | null = null
  private readTimer: NodeJS.Timeout | null = null
  private drainTimer: NodeJS.Timeout | null = null
  private readonly flushBound = (): void => { this.flushScheduled = false; this.flush() }
  private readonly onDrainBound = (): void => { this.onDrain() }

  constructor (id: number, conn: Duplex, remoteAddress: string, host: ClientHost, defaults: { msgTimeoutMs: number, outputBufferTimeoutMs: number, heartbeatIntervalMs: number }) {
    this.id = id
    this.conn = conn
    this.input = conn
    this.remoteAddress = remoteAddress
    this.connectTs = Date.now()
    this.host = host
    const ip = hostPart(remoteAddress)
    this.clientId = ip
    this.hostname = ip
    this.msgTimeoutMs = defaults.msgTimeoutMs
    this.outputBufferTimeoutMs = defaults.outputBufferTimeoutMs
    this.heartbeatIntervalMs = defaults.heartbeatIntervalMs
    conn.on('drain', this.onDrainBound)
    this.armTimers()
  }

  // ---- Consumer (what the channel sees) ---------------------------------------------------------

  canTake (): boolean {
    return this.state === STATE_SUBSCRIBED && this.writable && this.inFlightCount < this.readyCount
  }

  sendMessage (msg: Message): void {
    this.inFlightCount++
    this.messageCount++
    const bodyLen = msg.body.length
    if (bodyLen >= ZERO_COPY_BODY) {
      const head = this.reserve(8 + MESSAGE_HEADER_SIZE)
      this.writeFrameHead(head, 4 + MESSAGE_HEADER_SIZE + bodyLen, FRAME_TYPE_MESSAGE)
      writeMessageHeader(this.out, head + 8, msg.timestamp, msg.attempts, msg.id)
      this.outPos = head + 8 + MESSAGE_HEADER_SIZE
      this.cutChunk()
      this.chunks.push(msg.body)
    } else {
      const at = this.reserve(8 + MESSAGE_HEADER_SIZE + bodyLen)
      const out = this.out
      this.writeFrameHead(at, 4 + MESSAGE_HEADER_SIZE + bodyLen, FRAME_TYPE_MESSAGE)
      writeMessageHeader(out, at + 8, msg.timestamp, msg.attempts, msg.id)
      msg.body.copy(out, at + 8 + MESSAGE_HEADER_SIZE)
      this.outPos = at + 8 + MESSAGE_HEADER_SIZE + bodyLen
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flushBound)
    }
  }

  inFlightReleased (count: number): void {
    this.inFlightCount = count === Infinity ? 0 : Math.max(0, this.inFlightCount - count)
  }

  closeForDelete (): void {
    this.channel = null
    this.close()
  }

  // ---- output ----------------------------------------------------------------------------------

  /** Sends a response frame (type 0) and flushes. `frame` may be a pre-built full frame. */
  sendFrame (frame: Buffer): void {
    const at = this.reserve(frame.length)
    frame.copy(this.out, at)
    this.outPos = at + frame.length
    if (!this.deferFlush) this.flush()
  }

  sendResponse (data: string | Buffer): void {
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    const at = this.reserve(8 + body.length)
    this.writeFrameHead(at, 4 + body.length, FRAME_TYPE_RESPONSE)
    body.copy(this.out, at + 8)
    this.outPos = at + 8 + body.length
    this.flush()
  }

  /**
   * `payload` is a byte string, one char per byte, like the command line it may echo (decoded with
   * latin1), so raw name bytes go back exactly as they came. A char above U+00FF cannot be a byte:
   * such a text is sent as UTF-8.
   */
  sendError (payload: string): void {
    const body = Buffer.from(payload, NOT_BYTES.test(payload) ? 'utf8' : 'latin1')
    const at = this.reserve(8 + body.length)
    this.writeFrameHead(at, 4 + body.length, FRAME_TYPE_ERROR)
    body.copy(this.out, at + 8)
    this.outPos = at + 8 + body.length
    if (!this.deferFlush) this.flush()
  }

  private writeFrameHead (at: number, size: number, type: number): void {
    const out = this.out
    out.writeInt32BE(size, at)
    out.writeInt32BE(type, at + 4)
  }

  /** Makes room for n bytes at outPos and returns the offset to write at. */
  private reserve (n: number): number {
    if (this.out.length - this.outPos >= n) return this.outPos
    this.cutChunk()
    this.out = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, n))
    this.outStart = 0
    this.outPos = 0
    return 0
  }

  private cutChunk (): void {
    if (this.outPos > this.outStart) {
      this.chunks.push(this.out.subarray(this.outStart, this.outPos))
      this.outStart = this.outPos
    }
  }

  /** Writes everything buffered to the connection. */
  flush (): void {
    this.cutChunk()
    const chunks = this.chunks
    if (this.held) return
    if (chunks.length === 0 || this.closed) { chunks.length = 0; return }
    const conn = this.conn
    let ok = true
    if (chunks.length === 1) {
      ok = conn.write(chunks[0])
    } else {
      conn.cork()
      for (let i = 0; i < chunks.length; i++) ok = conn.write(chunks[i])
      conn.uncork()
    }
    chunks.length = 0
    if (!ok && this.writable) {
      this.writable = false
      // A reader that does not drain within a heartbeat interval is gone (write deadline).
      const limit = this.heartbeatIntervalMs > 0 ? this.heartbeatIntervalMs : 0
      if (limit > 0) {
        this.drainTimer = setTimeout(() => {
          this.host.debug(`PROTOCOL(V2): [${this.remoteAddress}] write timeout, closing`)
          this.close()
        }, limit)
        this.drainTimer.unref()
      }
    }
  }

  /** Holds output during a transport upgrade; releasing it flushes what was held. */
  holdOutput (on: boolean): void {
    this.held = on
    if (!on) this.flush()
  }

  /**
   * Continues on an upgraded layer: writes `first` (the upgrade's OK) through it ahead of anything
   * held, and follows the new layer's drain events.
   */
  switchConn (conn: Duplex, first: Buffer): void {
    this.conn.off('drain', this.onDrainBound)
    this.conn = conn
    conn.on('drain', this.onDrainBound)
    if (!this.closed) conn.write(first)
  }

  private onDrain (): void {
    if (this.writable) return
    this.writable = true
    if (this.drainTimer !== null) { clearTimeout(this.drainTimer); this.drainTimer = null }
    if (this.channel !== null) this.channel.pump()
  }

  // ---- heartbeats and deadlines ----------------------------------------------------------------

  /** (Re)starts the heartbeat and the read deadline from the current interval. */
  armTimers (): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    if (this.readTimer !== null) clearTimeout(this.readTimer)
    this.heartbeatTimer = null
    this.readTimer = null
    const hb = this.heartbeatIntervalMs
    if (hb <= 0 || this.closed) return
    this.heartbeatTimer = setInterval(() => { this.sendFrame(FRAME_HEARTBEAT) }, hb)
    this.heartbeatTimer.unref()
    this.readTimer = setTimeout(() => {
      this.host.debug(`PROTOCOL(V2): [${this.remoteAddress}] read timeout after ${2 * hb}ms, closing`)
      this.close()
    }, 2 * hb)
    this.readTimer.unref()
  }

  /** A complete command arrived: the read deadline starts again. */
  commandSeen (): void {
    if (this.readTimer !== null) this.readTimer.refresh()
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Sends nothing more and closes after what is buffered has been written. */
  closeAfterFlush (): void {
    if (this.closed) return
    this.flush()
    this.conn.end()
    // a peer that never reads must not keep the socket alive
    const t = setTimeout(() => { this.conn.destroy() }, 1000)
    t.unref()
    this.cleanup()
  }

  /** Closes at once without a frame. */
  close (): void {
    if (this.closed) return
    this.conn.destroy()
    this.cleanup()
  }

  /** Called once, whichever way the connection ended. */
  cleanup (): void {
    if (this.closed) return
    this.closed = true
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer)
    if (this.readTimer !== null) clearTimeout(this.readTimer)
    if (this.drainTimer !== null) clearTimeout(this.drainTimer)
    this.heartbeatTimer = this.readTimer = this.drainTimer = null
    this.conn.off('drain', this.onDrainBound)
    const ch = this.channel
    this.channel = null
    if (ch !== null) ch.removeConsumer(this)
    this.host.clientClosed(this)
  }

  countPub (topic: string, n: number): void {
    this.pubCounts.set(topic, (this.pubCounts.get(topic) ?? 0) + n)
  }
}

export function hostPart (address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'))
  const i = address.lastIndexOf(':')
  return i < 0 ? address : address.slice(0, i)
}
