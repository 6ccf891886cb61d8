// nsqlookupd's TCP listener: accepts nsqd connections and hands each to protocol V1. Tracks open
// connections so close() can end them all.

import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { LookupConnectionV1 } from '../protocol-v1.js'
import type { ProtocolContext } from '../protocol-v1.js'

export class LookupTcpServer {
  private readonly server: net.Server
  private readonly ctx: ProtocolContext
  private readonly sockets = new Set<net.Socket>()

  constructor (ctx: ProtocolContext) {
    this.ctx = ctx
    // Half-open: a client that ends its side mid-IDENTIFY still gets NSQ's read error back.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => { this.accept(socket) })
  }

  listen (host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => { reject(err) }
      this.server.once('error', onError)
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError)
        this.server.on('error', (err) => { this.ctx.logger.error(`TCP: listener error - ${err.message}`) })
        const addr = this.server.address() as AddressInfo
        this.ctx.logger.info(`TCP: listening on ${formatAddress(addr)}`)
        resolve(addr)
      })
    })
  }

  get connectionCount (): number {
    return this.sockets.size
  }

  private accept (socket: net.Socket): void {
    const remote = socket.remoteAddress === undefined
      ? 'unknown'
      : formatAddress({ address: socket.remoteAddress, port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '' })
    this.ctx.logger.info(`TCP: new client(${remote})`)
    this.sockets.add(socket)
    socket.on('close', () => { this.sockets.delete(socket) })
    new LookupConnectionV1(socket, remote, this.ctx) // eslint-disable-line no-new
  }

  close (): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.sockets) s.destroy()
      if (!this.server.listening) { resolve(); return }
      this.server.close(() => {
        this.ctx.logger.info('TCP: closing')
        resolve()
      })
    })
  }
}

/** ip:port, with IPv6 addresses in brackets (as Go's net.Addr.String()). */
export function formatAddress (a: { address: string, port: number, family?: string }): string {
  const ip = a.address.startsWith('::ffff:') && a.address.includes('.') ? a.address.slice(7) : a.address
  return ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`
}
