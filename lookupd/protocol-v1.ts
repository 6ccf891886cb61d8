// nsqlookupd's TCP protocol V1 (spec: lookupd.md §3), on any Duplex (a net.Socket or one end of a
// duplexPair). The connection starts with the magic "  V1", then text lines; IDENTIFY is followed by
// [int32 size][JSON]. Every response, success or error, is framed [int32 size][data] with no frame
// type, and every error is fatal: the error is written, then the connection is closed.
//
// Decoding is a small state machine over a cursor accumulator (no Buffer.concat per chunk). A line is
// trimmed as Go's strings.TrimSpace does (ASCII and Unicode white space). Unlike NSQ, IDENTIFY sizes
// are checked before any body byte is buffered (NSQ crashes on a negative size and buffers any
// positive one), and a line longer than MAX_LINE_LENGTH closes the connection (NSQ buffers without
// bound). A size of 0 is a body of no bytes, which fails to decode, as in NSQ.

import type { Duplex } from 'node:stream'
import { Accumulator } from '../client/wire/accumulator.js'
import { ProtocolError } from '../client/wire/errors.js'
import { GoStruct } from '../client/wire/go-unmarshal.js'
import { MAGIC_V1 } from '../client/wire/frames.js'
import { isEphemeral, isValidChannelName, isValidTopicName } from '../client/wire/names.js'
import type { Logger } from './logger.js'
import { CATEGORY, newPeerInfo } from './registration-db.js'
import type { PeerInfo, RegistrationDB } from './registration-db.js'

/** The longest command line kept, its \n included (nsqd's limit; nsqlookupd 1.3.0 has none). */
export const MAX_LINE_LENGTH = 16 * 1024

/** What a connection needs from the daemon. */
export interface ProtocolContext {
  readonly db: RegistrationDB
  readonly logger: Logger
  /** Clock in ms (tests may inject one). */
  now (): number
  /** The IDENTIFY response body (lookupd's broadcast address, hostname, real ports, version). */
  identifyResponse (): Buffer
  readonly maxIdentifyBodySize: number
}

/** [int32 size][data]: the V1 response framing. */
export function encodeV1Response (data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeInt32BE(body.length, 0)
  body.copy(out, 4)
  return out
}

export const RESPONSE_OK = encodeV1Response('OK')
const BAD_PROTOCOL = encodeV1Response('E_BAD_PROTOCOL')

const STAGE_MAGIC = 0
const STAGE_LINE = 1
const STAGE_SIZE = 2
const STAGE_BODY = 3
const STAGE_CLOSED = 4

function isAsciiSpace (c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d)
}

/**
 * The length of the UTF-8 sequence at b[at] if it is a Unicode white-space rune other than ASCII
 * (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000: Go's
 * unicode.IsSpace), else 0.
 */
function unicodeSpaceAt (b: Buffer, at: number, end: number): number {
  const c = b[at] as number
  if (c === 0xc2 && at + 1 < end) {
    const c1 = b[at + 1] as number
    return c1 === 0x85 || c1 === 0xa0 ? 2 : 0
  }
  if (at + 2 >= end) return 0
  const c1 = b[at + 1] as number
  const c2 = b[at + 2] as number
  if (c === 0xe1) return c1 === 0x9a && c2 === 0x80 ? 3 : 0
  if (c === 0xe2 && c1 === 0x80) return (c2 >= 0x80 && c2 <= 0x8a) || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf ? 3 : 0
  if (c === 0xe2 && c1 === 0x81) return c2 === 0x9f ? 3 : 0
  if (c === 0xe3) return c1 === 0x80 && c2 === 0x80 ? 3 : 0
  return 0
}

/** The line b[s, e) without leading and trailing white space, as Go's strings.TrimSpace. */
function trimGoSpace (b: Buffer, s: number, e: number): [number, number] {
  while (s < e) {
    const c = b[s] as number
    if (isAsciiSpace(c)) { s++; continue }
    const n = c >= 0x80 ? unicodeSpaceAt(b, s, e) : 0
    if (n === 0) break
    s += n
  }
  while (e > s) {
    const c = b[e - 1] as number
    if (isAsciiSpace(c)) { e--; continue }
    if (c < 0x80) break
    // a space rune ends here if it starts 2 or 3 bytes back
    if (e - 2 >= s && unicodeSpaceAt(b, e - 2, e) === 2) e -= 2
    else if (e - 3 >= s && unicodeSpaceAt(b, e - 3, e) === 3) e -= 3
    else break
  }
  return [s, e]
}

/** One nsqd connection. */
export class LookupConnectionV1 {
  readonly remoteAddress: string
  peer: PeerInfo | null = null
  private readonly conn: Duplex
  private readonly ctx: ProtocolContext
  private readonly acc = new Accumulator()
  private stage = STAGE_MAGIC
  private bodySize = 0

  constructor (conn: Duplex, remoteAddress: string, ctx: ProtocolContext) {
    this.conn = conn
    this.remoteAddress = remoteAddress
    this.ctx = ctx
    conn.on('data', (chunk: Buffer) => { this.onData(chunk) })
    conn.on('end', () => { this.onEnd() })
    conn.on('error', (err) => { ctx.logger.debug(`PROTOCOL(V1): [${remoteAddress}] ${err.message}`) })
    conn.on('close', () => { this.onClose() })
  }

  private onData (chunk: Buffer): void {
    if (this.stage === STAGE_CLOSED) return
    this.acc.push(chunk, this.stage === STAGE_BODY ? 4 + this.bodySize : 0)
    this.conn.cork()
    try {
      this.run()
    } catch (err) {
      // a bug while handling one peer closes that peer, never the daemon
      this.ctx.logger.error(`CLIENT(${this.remoteAddress}): internal error, closing - ${(err as Error).stack ?? String(err)}`)
      this.closeWith(null)
    } finally {
      this.conn.uncork()
    }
  }

  private run (): void {
    const acc = this.acc
    while (this.stage !== STAGE_CLOSED) {
      if (this.stage === STAGE_MAGIC) {
        if (acc.length < 4) break
        const magic = acc.buf.subarray(acc.start, acc.start + 4)
        acc.start += 4
        this.ctx.logger.info(`CLIENT(${this.remoteAddress}): desired protocol magic '${magic.toString('latin1')}'`)
        if (!magic.equals(MAGIC_V1)) {
          this.ctx.logger.error(`client(${this.remoteAddress}) bad protocol magic '${magic.toString('latin1')}'`)
          this.closeWith(BAD_PROTOCOL)
          break
        }
        this.stage = STAGE_LINE
      } else if (this.stage === STAGE_LINE) {
        let nl = acc.buf.indexOf(0x0a, acc.start)
        if (nl >= acc.end) nl = -1
        if (nl < 0) {
          if (acc.length > MAX_LINE_LENGTH) {
            this.ctx.logger.error(`PROTOCOL(V1): [${this.remoteAddress}] command line longer than ${MAX_LINE_LENGTH} bytes`)
            this.closeWith(null)
          }
          break
        }
        const [s, e] = trimGoSpace(acc.buf, acc.start, nl)
        const params = acc.buf.toString('latin1', s, e).split(' ')
        acc.start = nl + 1
        this.exec(params)
      } else if (this.stage === STAGE_SIZE) {
        if (acc.length < 4) break
        const size = acc.buf.readInt32BE(acc.start)
        // deviations: NSQ crashes on a negative size and waits for any positive one
        const max = this.ctx.maxIdentifyBodySize
        const err = size < 0 ? `IDENTIFY invalid body size ${size}` : size > max ? `IDENTIFY body too big ${size} > ${max}` : null
        if (err !== null) {
          this.fail(new ProtocolError('E_BAD_BODY', err))
          break
        }
        this.bodySize = size
        this.stage = STAGE_BODY
      } else {
        if (acc.length < 4 + this.bodySize) break
        const body = acc.buf.subarray(acc.start + 4, acc.start + 4 + this.bodySize)
        acc.start += 4 + this.bodySize
        this.stage = STAGE_LINE
        this.identifyBody(body)
      }
    }
    if (acc.length === 0) acc.clear()
  }

  private exec (params: string[]): void {
    const verb = params[0] as string
    switch (verb) {
      case 'PING': this.ping(); break
      case 'IDENTIFY': this.identify(); break
      case 'REGISTER': this.register(params); break
      case 'UNREGISTER': this.unregister(params); break
      default: this.fail(new ProtocolError('E_INVALID', `invalid command ${verb}`))
    }
  }

  private ping (): void {
    if (this.peer !== null) {
      const now = this.ctx.now()
      this.ctx.logger.debug(`CLIENT(${this.peer.id}): pinged (last ping ${now - this.peer.lastUpdateMs}ms ago)`)
      this.peer.lastUpdateMs = now
    }
    this.conn.write(RESPONSE_OK)
  }

  private identify (): void {
    if (this.peer !== null) {
      this.fail(new ProtocolError('E_INVALID', 'cannot IDENTIFY again'))
      return
    }
    this.stage = STAGE_SIZE
  }

  private identifyBody (body: Buffer): void {
    const peer = decodeIdentify(body, this.remoteAddress)
    if (peer === null) {
      this.fail(new ProtocolError('E_BAD_BODY', 'IDENTIFY failed to decode JSON body'))
      return
    }
    if (peer.broadcastAddress === '' || peer.tcpPort === 0 || peer.httpPort === 0 || peer.version === '') {
      this.fail(new ProtocolError('E_BAD_BODY', 'IDENTIFY missing fields'))
      return
    }
    peer.lastUpdateMs = this.ctx.now()
    this.peer = peer
    this.ctx.logger.info(`CLIENT(${peer.id}): IDENTIFY Address:${peer.broadcastAddress} TCP:${peer.tcpPort} HTTP:${peer.httpPort} Version:${peer.version}`)
    if (this.ctx.db.addProducer(CATEGORY.CLIENT, '', '', peer)) {
      this.ctx.logger.info(`DB: client(${peer.id}) REGISTER category:client key: subkey:`)
    }
    this.conn.write(encodeV1Response(this.ctx.identifyResponse()))
  }

  /** Shared checks of REGISTER/UNREGISTER; null after a fatal error was sent. */
  private topicChannel (verb: string, params: string[]): { peer: PeerInfo, topic: string, channel: string } | null {
    if (this.peer === null) {
      this.fail(new ProtocolError('E_INVALID', 'client must IDENTIFY'))
      return null
    }
    if (params.length <= 1) {
      this.fail(new ProtocolError('E_INVALID', `${verb} insufficient number of params`))
      return null
    }
    const topic = params[1] as string
    const channel = params.length >= 3 ? params[2] as string : ''
    if (!isValidTopicName(topic)) {
      this.fail(new ProtocolError('E_BAD_TOPIC', `${verb} topic name '${topic}' is not valid`))
      return null
    }
    if (channel !== '' && !isValidChannelName(channel)) {
      this.fail(new ProtocolError('E_BAD_CHANNEL', `${verb} channel name '${channel}' is not valid`))
      return null
    }
    return { peer: this.peer, topic, channel }
  }

  private register (params: string[]): void {
    const tc = this.topicChannel('REGISTER', params)
    if (tc === null) return
    const { peer, topic, channel } = tc
    const db = this.ctx.db
    if (channel !== '' && db.addProducer(CATEGORY.CHANNEL, topic, channel, peer)) {
      this.ctx.logger.info(`DB: client(${peer.id}) REGISTER category:channel key:${topic} subkey:${channel}`)
    }
    if (db.addProducer(CATEGORY.TOPIC, topic, '', peer)) {
      this.ctx.logger.info(`DB: client(${peer.id}) REGISTER category:topic key:${topic} subkey:`)
    }
    this.conn.write(RESPONSE_OK)
  }

  private unregister (params: string[]): void {
    const tc = this.topicChannel('UNREGISTER', params)
    if (tc === null) return
    const { peer, topic, channel } = tc
    const db = this.ctx.db
    const log = this.ctx.logger
    if (channel !== '') {
      const { removed, left } = db.removeProducer(CATEGORY.CHANNEL, topic, channel, peer.id)
      if (removed) log.info(`DB: client(${peer.id}) UNREGISTER category:channel key:${topic} subkey:${channel}`)
      if (left === 0 && isEphemeral(channel)) db.removeRegistration(CATEGORY.CHANNEL, topic, channel)
    } else {
      // A topic unregistration: drop this producer from the topic's channels too.
      for (const ch of db.channels(topic)) {
        if (db.removeProducer(CATEGORY.CHANNEL, topic, ch, peer.id).removed) {
          log.warn(`client(${peer.id}) unexpected UNREGISTER category:channel key:${topic} subkey:${ch}`)
        }
      }
      const { removed, left } = db.removeProducer(CATEGORY.TOPIC, topic, '', peer.id)
      if (removed) log.info(`DB: client(${peer.id}) UNREGISTER category:topic key:${topic} subkey:`)
      if (left === 0 && isEphemeral(topic)) db.removeRegistration(CATEGORY.TOPIC, topic, '')
    }
    this.conn.write(RESPONSE_OK)
  }

  private onEnd (): void {
    // The peer half-closed. A command cut short by the end gets NSQ's read error; otherwise close.
    if (this.stage === STAGE_SIZE) this.fail(new ProtocolError('E_BAD_BODY', 'IDENTIFY failed to read body size'))
    else if (this.stage === STAGE_BODY) this.fail(new ProtocolError('E_BAD_BODY', 'IDENTIFY failed to read body'))
    else this.closeWith(null)
  }

  private onClose (): void {
    this.stage = STAGE_CLOSED
    this.acc.clear()
    const peer = this.peer
    this.ctx.logger.info(`PROTOCOL(V1): [${this.remoteAddress}] exiting ioloop`)
    if (peer === null) return
    this.peer = null
    for (const reg of this.ctx.db.registrationsOf(peer.id)) {
      this.ctx.logger.info(`DB: client(${peer.id}) UNREGISTER category:${reg.category} key:${reg.key} subkey:${reg.subkey}`)
    }
    this.ctx.db.removePeer(peer.id)
  }

  private fail (err: ProtocolError): void {
    this.ctx.logger.error(`PROTOCOL(V1): [${this.remoteAddress}] ${err.message}`)
    this.closeWith(encodeV1Response(err.message))
  }

  /** Writes the last frame (if any), ends the stream and destroys it once flushed. */
  private closeWith (frame: Buffer | null): void {
    if (this.stage === STAGE_CLOSED) return
    this.stage = STAGE_CLOSED
    const conn = this.conn
    if (conn.destroyed) return
    if (conn.writableEnded) {
      conn.destroy()
      return
    }
    conn.once('finish', () => { conn.destroy() })
    if (frame !== null) conn.end(frame)
    else conn.end()
  }
}

/**
 * nsqlookupd's PeerInfo as Go's encoding/json fills it from an IDENTIFY body (lookupd.md §3.2):
 * strings, and the ports as Go `int` (int64). remote_address is a field too (so a wrong type fails
 * the body) though the socket's address always replaces it. topology_* exist on NSQ's master only.
 */
const PEER_INFO_STRUCT = new GoStruct({
  remote_address: 'string',
  hostname: 'string',
  broadcast_address: 'string',
  tcp_port: 'int64',
  http_port: 'int64',
  version: 'string',
  topology_zone: 'string',
  topology_region: 'string'
})

/**
 * Decodes an IDENTIFY body by Go's encoding/json rules (client/wire/go-unmarshal.ts): keys folded
 * case-insensitively and applied in order, unknown keys ignored, null leaves a field unset, a wrong
 * type or an integer outside int64 fails the body, invalid UTF-8 becomes U+FFFD per byte.
 * Returns null when Go's json.Unmarshal fails. remote_address is always the socket's.
 */
export function decodeIdentify (body: Buffer, remoteAddress: string): PeerInfo | null {
  const f = PEER_INFO_STRUCT.decode(body)
  if (f === null) return null
  return newPeerInfo(remoteAddress, {
    remoteAddress,
    hostname: f.hostname,
    broadcastAddress: f.broadcast_address,
    tcpPort: f.tcp_port,
    httpPort: f.http_port,
    version: f.version,
    topologyZone: f.topology_zone,
    topologyRegion: f.topology_region
  })
}
