// The TCP listener (nsqd's tcp.go): accepts connections, reads the 4-byte magic and hands the
// connection to the V2 protocol. Anything other than "  V2" gets E_BAD_PROTOCOL and is closed.

import net from 'node:net'
import { encodeFrame, FRAME_TYPE_ERROR, MAGIC_V2 } from '../../client/wire/frames.js'
import { ProtocolV2, type ProtocolHost } from './protocol-v2.js'

const BAD_PROTOCOL = encodeFrame(FRAME_TYPE_ERROR, 'E_BAD_PROTOCOL')

export interface TcpHost extends ProtocolHost {
  nextClientId (): number
  clientConnected (p: ProtocolV2): void
}

export function handleConnection (host: TcpHost, socket: net.Socket): void {
  socket.setNoDelay(true)
  // A client may end its side after a partial command and still read nsqd's error frame for it:
  // the socket stays writable after EOF, and the protocol decides when to close.
  socket.allowHalfOpen = true
  const remote = socket.remoteAddress !== undefined
    ? (socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`)
    : 'unix'
  let magic: Buffer | null = null
  let protocol: ProtocolV2 | null = null
  host.logger.info(`TCP: new client(${remote})`)

  const onData = (chunk: Buffer): void => {
    magic = magic === null ? chunk : Buffer.concat([magic, chunk])
    if (magic.length < 4) return
    if (!magic.subarray(0, 4).equals(MAGIC_V2)) {
      host.logger.error(`client(${remote}) bad protocol magic '${magic.subarray(0, 4).toString('latin1')}'`)
      socket.end(BAD_PROTOCOL)
      socket.off('data', onData)
      setTimeout(() => { socket.destroy() }, 1000).unref()
      return
    }
    host.logger.info(`CLIENT(${remote}): desired protocol magic '  V2'`)
    protocol = new ProtocolV2(host.nextClientId(), socket, remote, host)
    host.clientConnected(protocol)
    const rest = magic.subarray(4)
    magic = null
    // from here on the protocol reads the socket itself (a TLS upgrade detaches this listener)
    socket.off('data', onData)
    socket.on('data', protocol.pushBound)
    if (rest.length > 0) protocol.push(rest)
  }
  socket.on('data', onData)
  socket.on('end', () => {
    if (protocol !== null) protocol.end()
    else socket.end() // EOF before the magic: just close
  })
  socket.on('error', (err) => {
    host.logger.debug(`TCP: client(${remote}) error: ${err.message}`)
  })
  socket.on('close', () => {
    if (protocol !== null) {
      host.logger.info(`PROTOCOL(V2): [${remote}] exiting ioloop`)
      protocol.client.cleanup()
      protocol.dispose()
    }
  })
}

/** Parses "host:port" (IPv6 in brackets); anything without a port is a Unix socket path. */
export function parseListenAddress (addr: string): { host: string, port: number } | { path: string } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr)
  if (m === null) return { path: addr }
  const host = m[1] ?? m[2] ?? ''
  return { host: host === '' ? '0.0.0.0' : host, port: Number(m[3]) }
}

export async function listen (server: net.Server, addr: string): Promise<string> {
  const target = parseListenAddress(addr)
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { reject(new Error(`listen (${addr}) failed - ${err.message}`)) }
    server.once('error', onError)
    const done = (): void => { server.off('error', onError); resolve() }
    if ('path' in target) server.listen(target.path, done)
    else server.listen(target.port, target.host, done)
  })
  const a = server.address()
  if (a === null || typeof a === 'string') return a ?? addr
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
}
