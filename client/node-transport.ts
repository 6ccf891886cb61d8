// Thin Node adapter: a net.Socket as a Transport. Nagle off, one write per flushed batch.

import net from 'node:net'
import { NsqClientError } from './errors.js'
import { splitHostPort } from './transport.js'
import type { DialOptions, Transport, TransportSink } from './transport.js'

export class SocketTransport implements Transport {
  readonly address: string
  private readonly socket: net.Socket
  private sink: TransportSink | null = null
  private closed = false
  private closeErr: Error | null = null

  constructor (socket: net.Socket, address: string) {
    this.socket = socket
    this.address = address
    socket.setNoDelay(true)
    socket.on('data', this.onData)
    socket.on('error', (err) => { this.closeErr ??= err })
    socket.on('close', () => { this.finish() })
    socket.on('end', () => { if (!socket.destroyed) socket.end() })
  }

  private readonly onData = (chunk: Buffer): void => { this.sink?.onData(chunk) }

  /**
   * Hands the socket over to a TLS layer (node-upgrade.ts): this transport stops reading it but
   * still reports its close, so a failed handshake closes the connection.
   */
  takeSocket (): net.Socket {
    this.socket.off('data', this.onData)
    return this.socket
  }

  attach (sink: TransportSink): void {
    this.sink = sink
    if (this.closed) sink.onClose(this.closeErr)
  }

  write (data: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false
    return this.socket.write(data)
  }

  end (): void {
    if (!this.socket.destroyed) this.socket.end()
  }

  destroy (err?: Error): void {
    if (err !== undefined) this.closeErr ??= err
    this.socket.destroy()
  }

  private finish (): void {
    if (this.closed) return
    this.closed = true
    const sink = this.sink
    this.sink = null
    sink?.onClose(this.closeErr)
  }
}

/** Dials host:port over TCP; rejects with CONNECT_FAILED (refused, unreachable, timeout). */
export function dialTcp (address: string, options: DialOptions): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let hp: { host: string, port: number }
    try {
      hp = splitHostPort(address)
    } catch (err) {
      reject(new NsqClientError('CONNECT_FAILED', (err as Error).message, address))
      return
    }
    const socket = net.connect({ host: hp.host, port: hp.port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new NsqClientError('CONNECT_FAILED', `connect to ${address} timed out after ${options.connectTimeoutMs}ms`, address))
    }, options.connectTimeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(new SocketTransport(socket, address))
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      socket.destroy()
      reject(new NsqClientError('CONNECT_FAILED', `connect to ${address} failed: ${err.message}`, address, { cause: err }))
    })
  })
}
