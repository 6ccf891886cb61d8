// The byte-stream seam between the protocol core and the platform. The core (Connection) only sees
// this interface; node-transport.ts adapts a net.Socket. An upgrade (TLS, snappy, deflate) after the
// IDENTIFY response replaces the Transport with one that wraps it, fed with the decoder's rest bytes.

export interface TransportSink {
  onData (chunk: Buffer): void
  /** Called once; `err` is null for an orderly end. */
  onClose (err: Error | null): void
}

export interface Transport {
  /** host:port of the peer, for logs and errors. */
  readonly address: string
  attach (sink: TransportSink): void
  /** Returns false when the platform buffer is full (a hint; data is still queued). */
  write (data: Buffer): boolean
  /** Orderly close after queued data is written. */
  end (): void
  /** Immediate close. */
  destroy (err?: Error): void
}

export interface DialOptions {
  connectTimeoutMs: number
}

export type Dialer = (address: string, options: DialOptions) => Promise<Transport>

/** Features nsqd can switch on after IDENTIFY, in the order they are applied. */
export type UpgradeFeature = 'tls' | 'snappy' | 'deflate'

/** TLS settings for the tls_v1 upgrade (node-upgrade.ts passes them to tls.connect). */
export interface TlsClientOptions {
  /** CA certificate(s) to verify nsqd with (default: the system roots). */
  ca?: string | Buffer | Array<string | Buffer>
  /** Client certificate and key, for nsqd's --tls-client-auth-policy. */
  cert?: string | Buffer
  key?: string | Buffer
  /** Verify nsqd's certificate (default true). */
  rejectUnauthorized?: boolean
  /** Name to verify the certificate against (default: the host of the address). */
  servername?: string
}

/** What an upgrader gets besides the transport: the client's settings for the new layer. */
export interface UpgradeSettings {
  tlsOptions: TlsClientOptions | null
  deflateLevel: number
}

/**
 * Wraps a transport for one negotiated feature. `rest` holds bytes already received after the
 * last handshake answer (they belong to the upgraded stream); `info` is nsqd's IDENTIFY response.
 */
export type TransportUpgrader = (transport: Transport, feature: UpgradeFeature, rest: Buffer, info: Record<string, unknown>, settings: UpgradeSettings) => Promise<Transport>

/** Splits "host:port" (also "[v6]:port"); throws on a missing or bad port. */
export function splitHostPort (address: string): { host: string, port: number } {
  const i = address.lastIndexOf(':')
  if (i <= 0) throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`)
  let host = address.slice(0, i)
  const portText = address.slice(i + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`invalid address ${JSON.stringify(address)}: bad port`)
  }
  return { host, port }
}

export { joinHostPort } from './wire/address.js'
