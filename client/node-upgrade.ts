// The Node side of the upgrades nsqd negotiates in IDENTIFY (tcp-protocol.md §10): tls_v1 wraps
// the socket in TLS (tls.connect over it), snappy and deflate wrap whatever transport is below
// (the socket or the TLS socket) in a compressing one. The Producer and Consumer use this by
// default; the Connection core only sees Transports.

import net from 'node:net'
import tls from 'node:tls'
import zlib from 'node:zlib'
import { SocketTransport } from './node-transport.js'
import { splitHostPort } from './transport.js'
import type { Transport, TransportSink, TransportUpgrader, UpgradeFeature, UpgradeSettings } from './transport.js'
import { createInflow, type Inflow } from './node-compress.js'
import { SnappyFrameEncoder } from './wire/snappy-stream.js'

/** Upgrades a transport for one negotiated feature. */
export const nodeUpgrader: TransportUpgrader = async (transport, feature, rest, info, settings) => {
  if (feature === 'tls') return await upgradeTls(transport, rest, settings)
  const level = typeof info.deflate_level === 'number' && info.deflate_level > 0 ? info.deflate_level : settings.deflateLevel
  return new CompressedTransport(transport, feature, level, rest)
}

async function upgradeTls (transport: Transport, rest: Buffer, settings: UpgradeSettings): Promise<Transport> {
  if (!(transport instanceof SocketTransport)) throw new Error('TLS needs a socket transport')
  const raw = transport.takeSocket()
  if (rest.length > 0) raw.unshift(rest)
  const o = settings.tlsOptions ?? {}
  const { host } = splitHostPort(transport.address)
  const options: tls.ConnectionOptions = { socket: raw, host }
  const servername = o.servername ?? (net.isIP(host) === 0 ? host : undefined)
  if (servername !== undefined) options.servername = servername
  if (o.ca !== undefined) options.ca = o.ca
  if (o.cert !== undefined) options.cert = o.cert
  if (o.key !== undefined) options.key = o.key
  options.rejectUnauthorized = o.rejectUnauthorized ?? true
  const sock = tls.connect(options)
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => { sock.destroy(); raw.destroy(); reject(err) }
    sock.once('secureConnect', () => { sock.off('error', fail); resolve() })
    sock.once('error', fail)
  })
  return new SocketTransport(sock, transport.address)
}

/**
 * Compresses writes into the transport below and decompresses what it reads. Each write is one
 * flush unit (snappy chunks; deflate ends it with a sync flush), as nsqd expects.
 */
export class CompressedTransport implements Transport {
  readonly address: string
  readonly kind: 'snappy' | 'deflate'
  private readonly inner: Transport
  private readonly inflow: Inflow
  private readonly snappy: SnappyFrameEncoder | null = null
  private readonly deflate: zlib.DeflateRaw | null = null
  private sink: TransportSink | null = null
  private pendingRest: Buffer | null
  private closeState: { err: Error | null } | null = null
  private ended = false

  constructor (inner: Transport, kind: Exclude<UpgradeFeature, 'tls'>, deflateLevel: number, rest: Buffer) {
    this.inner = inner
    this.address = inner.address
    this.kind = kind
    this.pendingRest = rest.length > 0 ? rest : null
    this.inflow = createInflow(kind, (d) => { this.sink?.onData(d) }, (err) => { inner.destroy(err) })
    if (kind === 'snappy') {
      this.snappy = new SnappyFrameEncoder()
    } else {
      const z = zlib.createDeflateRaw({ level: deflateLevel })
      z.on('data', (d: Buffer) => { inner.write(d) })
      z.on('error', (err) => { inner.destroy(err) })
      this.deflate = z
    }
    inner.attach({
      onData: (chunk) => { this.inflow.push(chunk) },
      onClose: (err) => { this.closed(err) }
    })
  }

  attach (sink: TransportSink): void {
    this.sink = sink
    const rest = this.pendingRest
    this.pendingRest = null
    if (rest !== null) this.inflow.push(rest)
    if (this.closeState !== null) sink.onClose(this.closeState.err)
  }

  write (data: Buffer): boolean {
    if (this.closeState !== null || this.ended) return false
    const z = this.deflate
    if (z !== null) {
      z.write(data)
      z.flush(zlib.constants.Z_SYNC_FLUSH)
      return z.writableLength < 1024 * 1024
    }
    const out: Buffer[] = []
    ;(this.snappy as SnappyFrameEncoder).encode([data], out)
    let ok = true
    for (let i = 0; i < out.length; i++) ok = this.inner.write(out[i] as Buffer)
    return ok
  }

  end (): void {
    if (this.ended) return
    this.ended = true
    const z = this.deflate
    if (z === null) { this.inner.end(); return }
    z.once('end', () => { this.inner.end() })
    z.end()
  }

  destroy (err?: Error): void {
    if (this.deflate !== null) this.deflate.destroy()
    this.inner.destroy(err)
  }

  private closed (err: Error | null): void {
    if (this.closeState !== null) return
    this.closeState = { err }
    this.inflow.destroy()
    if (this.deflate !== null) this.deflate.destroy()
    const sink = this.sink
    if (sink !== null) sink.onClose(err)
  }
}
