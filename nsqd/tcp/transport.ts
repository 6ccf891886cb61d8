// Transport upgrades negotiated by IDENTIFY (tcp-protocol.md §10): TLS first, then snappy or
// deflate, each followed by an OK sent through the new layer. The IDENTIFY response has already
// gone out in plain text; output is held while the layers change, so no heartbeat can slip in
// between, and the bytes that arrived after IDENTIFY are handed to the new layer. A connection that
// negotiated nothing keeps the bare socket: no extra layer, nothing on its hot path.

import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { FRAME_OK } from '../../client/wire/frames.js'
import { CompressedWriter, createInflow, type Compression, type Inflow } from '../../client/node-compress.js'
import type { Options } from '../options.js'
import type { Logger } from '../logger.js'
import type { ClientV2 } from './client-v2.js'
import type { Negotiated } from './identify.js'

/** NSQ's deadline for the server side of the TLS handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 5000

const TLS_VERSIONS: Record<string, tls.SecureVersion> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3'
}

/** Certificate material and client-certificate policy, loaded once at start-up. */
export interface TlsSettings {
  context: tls.SecureContext
  /** --tls-client-auth-policy require / require-verify */
  requestCert: boolean
  /** require-verify: the client certificate must chain to --tls-root-ca-file (or system roots) */
  rejectUnauthorized: boolean
  minVersion: tls.SecureVersion
  /** For the HTTPS listener (tls.createServer options). */
  serverOptions: tls.TlsOptions
}

/** Maps --tls-min-version; throws a start-up error for anything else. */
export function tlsMinVersion (name: string): tls.SecureVersion {
  const v = TLS_VERSIONS[name.toLowerCase()]
  if (v === undefined) throw new Error(`--tls-min-version must be one of tls1.0, tls1.1, tls1.2, tls1.3 (got "${name}")`)
  return v
}

/** Loads --tls-cert/--tls-key/--tls-root-ca-file; null when no certificate is configured. */
export function loadTlsSettings (opts: Options): TlsSettings | null {
  const minVersion = tlsMinVersion(opts.tlsMinVersion)
  if (opts.tlsCert === '' && opts.tlsKey === '') return null
  if (opts.tlsCert === '' || opts.tlsKey === '') throw new Error('--tls-cert and --tls-key must be given together')
  const read = (flag: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file)
    } catch (err) {
      throw new Error(`failed to load ${flag} ${file} - ${(err as Error).message}`)
    }
  }
  const cert = read('--tls-cert', opts.tlsCert)
  const key = read('--tls-key', opts.tlsKey)
  const ca = opts.tlsRootCaFile !== '' ? read('--tls-root-ca-file', opts.tlsRootCaFile) : undefined
  const policy = opts.tlsClientAuthPolicy
  const requestCert = policy === 'require' || policy === 'require-verify'
  const rejectUnauthorized = policy === 'require-verify'
  const base: tls.SecureContextOptions = { cert, key, minVersion }
  if (ca !== undefined) base.ca = ca
  let context: tls.SecureContext
  try {
    context = tls.createSecureContext(base)
  } catch (err) {
    throw new Error(`failed to load TLS certificate/key - ${(err as Error).message}`)
  }
  return { context, requestCert, rejectUnauthorized, minVersion, serverOptions: { ...base, requestCert, rejectUnauthorized } }
}

/** What the upgrader needs from the V2 protocol (implemented by ProtocolV2). */
export interface Upgradable {
  readonly client: ClientV2
  /** The listener fed by the socket: routes to `inflow` once compression is on. */
  readonly pushBound: (chunk: Buffer) => void
  /** Plain bytes for the command decoder. */
  pushPlain (chunk: Buffer): void
  inflow: Inflow | null
  tlsCommonName: string
  /** The upgrades are done (OKs sent): decoding continues. */
  upgradeDone (): void
  /** EOF from the peer (on TLS: close_notify or the TCP FIN, after the last decrypted bytes). */
  end (): void
}

/**
 * The verdict of OpenSSL's verification of the client's chain (require-verify). A TLSSocket made
 * outside a tls.Server does not act on it, so we ask the TLS handle as tls.Server does after
 * 'secure'; if that ever becomes unavailable the connection is refused (fail closed).
 */
function peerVerifyError (sock: tls.TLSSocket): string | null {
  const handle = (sock as unknown as { _handle?: { verifyError?: () => Error | null } })._handle
  if (handle === undefined || typeof handle.verifyError !== 'function') return 'cannot verify the client certificate'
  const err = handle.verifyError()
  if (err === null || err === undefined) return null
  return (err as Error & { code?: string }).code ?? err.message
}

function tlsVersionName (v: string | null): string {
  // Node: "TLSv1.3"; nsqd /stats: "TLS1.3"
  return v === null ? '' : v.replace('TLSv', 'TLS').replace(/^TLS1$/, 'TLS1.0')
}

export class Upgrader {
  private readonly tlsSettings: TlsSettings | null
  private readonly logger: Logger
  readonly supported: { tls: boolean, deflate: boolean, snappy: boolean }

  constructor (tlsSettings: TlsSettings | null, logger: Logger) {
    this.tlsSettings = tlsSettings
    this.logger = logger
    this.supported = { tls: tlsSettings !== null, deflate: true, snappy: true }
  }

  /**
   * Runs the negotiated upgrades. The decoder is stopped; `rest` is what arrived after the
   * IDENTIFY body (already part of the upgraded stream).
   */
  upgrade (p: Upgradable, n: Negotiated, rest: Buffer): void {
    const c = p.client
    c.holdOutput(true)
    const compression: Compression | null = n.snappy ? 'snappy' : n.deflate ? 'deflate' : null
    if (!n.tls) {
      this.compress(p, compression, n.deflateLevel, rest)
      return
    }
    const raw = c.conn
    raw.off('data', p.pushBound)
    raw.pause()
    if (rest.length > 0) raw.unshift(rest)
    // everything written so far (the IDENTIFY response) must reach the wire before TLS takes over
    raw.write(Buffer.alloc(0), () => {
      if (!c.closed) this.startTls(p, raw, compression, n.deflateLevel)
    })
  }

  private startTls (p: Upgradable, raw: Duplex, compression: Compression | null, deflateLevel: number): void {
    const c = p.client
    const s = this.tlsSettings as TlsSettings
    const log = this.logger
    log.info(`PROTOCOL(V2): [${c.remoteAddress}] upgrading connection to TLS`)
    const sock = new tls.TLSSocket(raw as net.Socket, {
      isServer: true,
      secureContext: s.context,
      requestCert: s.requestCert,
      rejectUnauthorized: s.rejectUnauthorized
    })
    // as the raw socket: after the client's EOF the error frame for a cut-off command still goes
    // out (inside TLS), then the protocol closes
    sock.allowHalfOpen = true
    let secured = false
    const timer = setTimeout(() => {
      log.error(`PROTOCOL(V2): [${c.remoteAddress}] TLS handshake timed out`)
      sock.destroy()
      c.close()
    }, TLS_HANDSHAKE_TIMEOUT_MS)
    timer.unref()
    sock.on('error', (err) => {
      clearTimeout(timer)
      if (!secured) log.error(`PROTOCOL(V2): [${c.remoteAddress}] - E_IDENTIFY_FAILED IDENTIFY failed ${err.message}`)
      else log.debug(`PROTOCOL(V2): [${c.remoteAddress}] TLS error: ${err.message}`)
      c.close()
    })
    sock.on('close', () => { clearTimeout(timer); c.close() })
    sock.on('secure', () => {
      secured = true
      clearTimeout(timer)
      if (c.closed) { sock.destroy(); return }
      const peer = sock.getPeerCertificate()
      const hasCert = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0
      if (s.requestCert && !hasCert) {
        log.error(`PROTOCOL(V2): [${c.remoteAddress}] - E_IDENTIFY_FAILED IDENTIFY failed tls: client didn't provide a certificate`)
        sock.destroy()
        c.close()
        return
      }
      const verifyError = s.rejectUnauthorized ? peerVerifyError(sock) : null
      if (verifyError !== null) {
        log.error(`PROTOCOL(V2): [${c.remoteAddress}] - E_IDENTIFY_FAILED IDENTIFY failed tls: ${verifyError}`)
        sock.destroy()
        c.close()
        return
      }
      const cn = hasCert ? peer.subject?.CN : undefined
      p.tlsCommonName = typeof cn === 'string' ? cn : Array.isArray(cn) ? String(cn[0] ?? '') : ''
      c.tls = true
      c.tlsVersion = tlsVersionName(sock.getProtocol())
      c.tlsCipherSuite = sock.getCipher()?.standardName ?? ''
      sock.on('data', p.pushBound)
      sock.on('end', () => { p.end() })
      c.switchConn(sock, FRAME_OK)
      c.input = sock
      this.compress(p, compression, deflateLevel, null)
    })
  }

  private compress (p: Upgradable, kind: Compression | null, level: number, rest: Buffer | null): void {
    const c = p.client
    if (kind !== null) {
      this.logger.info(`PROTOCOL(V2): [${c.remoteAddress}] upgrading connection to ${kind}`)
      const writer = new CompressedWriter(c.conn, kind, level)
      writer.on('error', (err) => {
        this.logger.error(`PROTOCOL(V2): [${c.remoteAddress}] ${kind} output failed - ${err.message}`)
        c.close()
      })
      p.inflow = createInflow(kind, (data) => { p.pushPlain(data) }, (err) => {
        // as nsqd: a stream that cannot be read ends the connection without a frame
        this.logger.error(`PROTOCOL(V2): [${c.remoteAddress}] failed to read command - ${err.message}`)
        c.close()
      })
      if (kind === 'snappy') c.snappy = true
      else c.deflate = true
      c.switchConn(writer, FRAME_OK)
      if (rest !== null && rest.length > 0) p.inflow.push(rest)
    } else if (rest !== null && rest.length > 0) {
      p.pushPlain(rest)
    }
    c.holdOutput(false)
    p.upgradeDone()
  }
}
