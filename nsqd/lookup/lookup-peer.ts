// One nsqd → nsqlookupd connection (spec: lookupd.md §3–4, nsqd-internals.md §12). Lazy: the first
// command dials (1 s timeout), sends the magic "  V1" and runs the connect callback (IDENTIFY and
// the registrations) before the command itself. Commands are serialized: one in flight, each
// answered by a [int32 size][data] response within `timeoutMs`. Any failure closes the connection;
// the next command reconnects.
//
// Host names are never cached (nsq#1233): every dial resolves the name again (net.connect with the
// `lookup` hook, dns.lookup by default), and a command sent with `recheck` (the PING) first resolves
// the name again and, when the connected peer's IP is no longer among the answers, drops the
// connection and dials the new address, so a lookupd that moved (a Kubernetes pod) is found again.

import dns from 'node:dns'
import net from 'node:net'
import { MAGIC_V1 } from '../../client/wire/frames.js'
import { Accumulator } from '../../client/wire/accumulator.js'

/** What lookupd answered to IDENTIFY. */
export interface LookupdInfo {
  broadcastAddress: string
  hostname: string
  httpPort: number
  tcpPort: number
  version: string
}

export interface LookupPeerOptions {
  /** Dial timeout and per-command response deadline (NSQ: 1 s). */
  timeoutMs: number
  /** Largest response accepted (NSQ: --max-body-size). */
  maxResponseSize: number
  /** Runs on every connect, after the magic; throws to abandon the connection. */
  onConnect: (peer: LookupPeer) => Promise<void>
  /** Called when a ready connection (connect callback done) drops without close() being called. */
  onDisconnect: (peer: LookupPeer) => void
  /** Name resolution (dns.lookup's signature); a test stub, or dns.lookup when absent. */
  lookup?: net.LookupFunction
  /** Logs an address change found by a recheck. */
  onMoved?: (peer: LookupPeer, from: string, to: string[]) => void
}

export class LookupPeerError extends Error {
  override name = 'LookupPeerError'
}

type Waiter = { resolve: (b: Buffer) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

export class LookupPeer {
  readonly address: string
  readonly host: string
  readonly port: number
  /** Learned from the last successful IDENTIFY; kept across reconnects (as NSQ does). */
  info: LookupdInfo | null = null
  private readonly opts: LookupPeerOptions
  private socket: net.Socket | null = null
  private connected = false
  /** Connected and the connect callback finished: only then is a drop reported. */
  private ready = false
  private closed = false
  private readonly acc = new Accumulator()
  private waiter: Waiter | null = null
  private chain: Promise<unknown> = Promise.resolve()

  constructor (address: string, opts: LookupPeerOptions) {
    this.address = address
    const i = address.lastIndexOf(':')
    this.host = i < 0 ? address : address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
    this.port = i < 0 ? 4160 : Number(address.slice(i + 1))
    this.opts = opts
  }

  get isConnected (): boolean {
    return this.connected
  }

  get isClosed (): boolean {
    return this.closed
  }

  /**
   * Queues a command (null = only make sure we are connected). Resolves with the response payload
   * (null for a null command); rejects on connect/IO/timeout errors, after closing the connection.
   */
  command (cmd: Buffer | null, recheck = false): Promise<Buffer | null> {
    const run = this.chain.then(async () => {
      if (recheck && this.connected) await this.recheckAddress()
      return await this.exec(cmd)
    })
    this.chain = run.catch(() => {})
    return run
  }

  /** Sends one command on the current connection (for use inside onConnect only). */
  async send (cmd: Buffer): Promise<Buffer> {
    const sock = this.socket
    if (sock === null || !this.connected) throw new LookupPeerError('not connected')
    if (this.waiter !== null) throw new LookupPeerError('a command is already in flight')
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failConnection(new LookupPeerError(`timed out after ${this.opts.timeoutMs}ms waiting for a response`))
      }, this.opts.timeoutMs)
      this.waiter = { resolve, reject, timer }
      sock.write(cmd)
    })
  }

  /** Closes the connection for good (no reconnects); pending commands fail. */
  close (): void {
    this.closed = true
    this.disconnect(new LookupPeerError('peer closed'))
  }

  /** Drops the current connection; the next command reconnects. Returns whether it was ready. */
  disconnect (err: Error = new LookupPeerError('disconnected')): boolean {
    const wasReady = this.ready
    const sock = this.socket
    this.socket = null
    this.connected = false
    this.ready = false
    this.acc.clear()
    const w = this.waiter
    this.waiter = null
    if (w !== null) {
      clearTimeout(w.timer)
      w.reject(err)
    }
    if (sock !== null) sock.destroy()
    return wasReady
  }

  /** Resolves the host again; drops the connection when its peer IP is no longer an answer. */
  private async recheckAddress (): Promise<void> {
    if (net.isIP(this.host) !== 0) return
    const remote = this.socket?.remoteAddress
    if (remote === undefined) return
    let addrs: string[]
    try {
      addrs = await this.resolve()
    } catch {
      return // a failed resolution keeps the working connection
    }
    if (!this.connected || this.socket === null || addrs.length === 0 || addrs.includes(remote)) return
    this.opts.onMoved?.(this, remote, addrs)
    this.disconnect(new LookupPeerError(`${this.host} now resolves to ${addrs.join(', ')}`))
  }

  private resolve (): Promise<string[]> {
    const lookup = this.opts.lookup ?? (dns.lookup as unknown as net.LookupFunction)
    return new Promise((resolve, reject) => {
      lookup(this.host, { all: true }, (err: Error | null, address: string | dns.LookupAddress[]) => {
        if (err !== null) reject(err)
        else resolve(Array.isArray(address) ? address.map((a) => a.address) : [address])
      })
    })
  }

  private async exec (cmd: Buffer | null): Promise<Buffer | null> {
    if (this.closed) throw new LookupPeerError('peer closed')
    if (!this.connected) {
      await this.connect()
      try {
        await this.opts.onConnect(this)
      } catch (err) {
        this.disconnect()
        throw err
      }
      if (!this.connected) throw new LookupPeerError('connect callback failed')
      this.ready = true
    }
    if (cmd === null) return null
    return await this.send(cmd)
  }

  private connect (): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.host, port: this.port, noDelay: true, ...(this.opts.lookup !== undefined ? { lookup: this.opts.lookup } : {}) })
      const timer = setTimeout(() => {
        sock.destroy()
        reject(new LookupPeerError(`dial tcp ${this.address}: i/o timeout`))
      }, this.opts.timeoutMs)
      const onError = (err: Error): void => {
        clearTimeout(timer)
        reject(err)
      }
      sock.once('error', onError)
      sock.once('connect', () => {
        clearTimeout(timer)
        sock.off('error', onError)
        if (this.closed) {
          sock.destroy()
          reject(new LookupPeerError('peer closed'))
          return
        }
        this.socket = sock
        this.connected = true
        sock.on('data', (chunk: Buffer) => { this.onData(sock, chunk) })
        sock.on('error', (err) => { if (this.socket === sock) this.failConnection(err) })
        sock.on('close', () => {
          if (this.socket !== sock) return
          if (this.disconnect(new LookupPeerError('connection closed by lookupd')) && !this.closed) this.opts.onDisconnect(this)
        })
        sock.write(MAGIC_V1)
        resolve()
      })
    })
  }

  private onData (sock: net.Socket, chunk: Buffer): void {
    if (this.socket !== sock) return
    const acc = this.acc
    acc.push(chunk)
    while (acc.length >= 4) {
      const size = acc.buf.readInt32BE(acc.start)
      if (size < 0 || size > this.opts.maxResponseSize) {
        this.failConnection(new LookupPeerError(`response size ${size} out of range (max ${this.opts.maxResponseSize})`))
        return
      }
      if (acc.length < 4 + size) break
      const data = Buffer.from(acc.buf.subarray(acc.start + 4, acc.start + 4 + size))
      acc.start += 4 + size
      const w = this.waiter
      if (w === null) {
        this.failConnection(new LookupPeerError('unexpected response from lookupd'))
        return
      }
      this.waiter = null
      clearTimeout(w.timer)
      w.resolve(data)
    }
    if (acc.length === 0) acc.clear()
  }

  private failConnection (err: Error): void {
    if (this.disconnect(err) && !this.closed) this.opts.onDisconnect(this)
  }
}
