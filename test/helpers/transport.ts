// Test helpers for upgraded connections: a recording TCP proxy (what really crossed the wire, per
// direction) and a raw V2 connection that can step through TLS / snappy / deflate upgrades.

import net from 'node:net'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import { MAGIC_V2, FRAME_TYPE_RESPONSE } from '../../client/wire/frames.js'
import * as cmd from '../../client/wire/commands.js'
import { CompressedWriter, createInflow, type Compression, type Inflow } from '../../client/node-compress.js'
import { hostPort, FrameQueue, type Frame } from './nsqd.js'

interface TapLike { teardown (fn: () => unknown): void }

export interface Recording {
  toClient: Buffer[]
  toServer: Buffer[]
}

export interface RecordingProxy {
  addr: string
  /** One entry per accepted connection, in accept order. */
  conns: Recording[]
}

/** A TCP proxy to `target` that records every byte in both directions. */
export async function recordingProxy (t: TapLike, target: string): Promise<RecordingProxy> {
  const { host, port } = hostPort(target)
  const conns: Recording[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const rec: Recording = { toClient: [], toServer: [] }
    conns.push(rec)
    const upstream = net.connect(port, host)
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (d: Buffer) => { rec.toServer.push(d); upstream.write(d) })
    upstream.on('data', (d: Buffer) => { rec.toClient.push(d); client.write(d) })
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
  const a = server.address() as net.AddressInfo
  return { addr: `127.0.0.1:${a.port}`, conns }
}

/** A V2 connection that can be upgraded the way the spec orders it. */
export class LayeredConn extends FrameQueue {
  readonly raw: net.Socket
  private out: Duplex
  private src: Duplex
  private inflow: Inflow | null = null
  private readonly decoder: FrameDecoder
  private stopAfterNext = false
  private belowClosed = false
  streamError: Error | null = null
  private readonly onSrc = (chunk: Buffer): void => {
    if (this.inflow !== null) this.inflow.push(chunk)
    else this.decoder.push(chunk)
  }

  private constructor (raw: net.Socket) {
    super()
    this.raw = raw
    this.out = raw
    this.src = raw
    this.decoder = new FrameDecoder((type, data) => {
      if (this.stopAfterNext) { this.stopAfterNext = false; this.decoder.stop() }
      this.received({ type, data: Buffer.from(data) })
    })
    raw.on('data', this.onSrc)
    raw.on('close', () => { this.closedBelow() })
    raw.on('error', () => {})
  }

  static async connect (t: TapLike, addr: string): Promise<LayeredConn> {
    const { host, port } = hostPort(addr)
    const socket = net.connect(port, host)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => { resolve() })
      socket.once('error', reject)
    })
    t.teardown(() => { socket.destroy() })
    socket.write(MAGIC_V2)
    return new LayeredConn(socket)
  }

  write (b: Buffer | string): void {
    this.out.write(b)
  }

  /** IDENTIFY with feature negotiation; decoding stops after the (plain) response. */
  async identify (data: Record<string, unknown>): Promise<Frame> {
    this.stopAfterNext = true
    this.write(cmd.identify({ feature_negotiation: true, heartbeat_interval: 1000, ...data }))
    return await this.next()
  }

  async startTls (options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const rest = this.decoder.takeRest()
    if (rest.length > 0) throw new Error('bytes before the TLS handshake')
    this.src.off('data', this.onSrc)
    const sock = tls.connect({ socket: this.raw, servername: 'localhost', ...options })
    sock.on('error', (err) => { this.streamError = err })
    sock.on('close', () => { this.closedBelow() })
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => { resolve() })
      sock.once('error', reject)
      sock.once('close', () => { reject(new Error('closed during the TLS handshake')) })
    })
    this.src = sock
    this.out = sock
    sock.on('data', this.onSrc)
    // the OK inside TLS may share a record with the first compressed bytes: stop after it
    this.stopAfterNext = true
    this.decoder.resume()
    return sock
  }

  /** After the TLS OK when no compression follows. */
  continuePlain (): void {
    this.decoder.resume()
  }

  startCompression (kind: Compression, level = 6): void {
    const rest = this.decoder.takeRest()
    this.inflow = createInflow(kind, (d) => { this.decoder.push(d) }, (err) => {
      this.streamError = err
      if (this.belowClosed) this.markClosed()
    })
    this.out = new CompressedWriter(this.out, kind, level)
    this.out.on('error', () => {})
    this.decoder.resume()
    if (rest.length > 0) this.inflow.push(rest)
  }

  /** The connection closed: closed for the reader once the decompressor has handed over the rest. */
  private closedBelow (): void {
    if (this.belowClosed) return
    this.belowClosed = true
    const inflow = this.inflow
    if (inflow === null || this.streamError !== null) this.markClosed()
    else inflow.end(() => { this.markClosed() })
  }

  /** Half-closes: ends the write side through every layer; reading goes on. */
  end (): void {
    this.out.end()
  }

  /** Frames received and not yet taken, heartbeats left out. */
  pending (): number {
    let n = 0
    for (const f of this.frames) if (!(f.type === FRAME_TYPE_RESPONSE && f.data.toString() === '_heartbeat_')) n++
    return n
  }

  /** Heartbeats are answered with NOP, as clients do. */
  protected override onHeartbeat (): void {
    this.write(cmd.NOP)
  }
}
