// nsqd's registration with its nsqlookupds (spec: nsqd-internals.md §2, §12; lookupd.md §4).
//
//   const lookup = new LookupPeers({ lookupdTcpAddresses, broadcastAddress, tcpPort, httpPort, version, logger },
//                                  () => registrations)
//   lookup.start()                                  connect to every lookupd, IDENTIFY, REGISTER everything
//   lookup.notify('register', topic[, channel])     topic/channel created (unregister: deleted)
//   await lookup.lookupChannels(topic)              channels other nsqds/operators made, to pre-create
//   lookup.setAddresses([...])                      PUT /config/nsqlookupd_tcp_addresses
//   lookup.close()
//
// One lazy connection per lookupd. After every (re)connect: magic, IDENTIFY, then one REGISTER per
// topic without channels or per channel. PING every pingIntervalMs; a failed command closes the
// connection and the next command (ping, notification, or the reconnect scheduled when a ready
// connection drops) reconnects and registers everything again. Errors are logged, never thrown.

import os from 'node:os'
import type net from 'node:net'
import { isEphemeral } from '../../client/wire/names.js'
import { channelsFromResponse, getJson, joinHostPort } from './channels-query.js'
import { LookupPeer } from './lookup-peer.js'
import type { LookupdInfo } from './lookup-peer.js'

/** The logger methods used here (nsqd's Logger fits). */
export interface LookupLogger {
  debug (msg: string): void
  info (msg: string): void
  warn (msg: string): void
  error (msg: string): void
}

export interface Registration {
  topic: string
  channel?: string
}

export interface LookupPeersOptions {
  lookupdTcpAddresses: string[]
  /** nsqd's --broadcast-address. */
  broadcastAddress: string
  /** Broadcast TCP/HTTP ports (--broadcast-tcp-port/--broadcast-http-port, else the bound ports). */
  tcpPort: number
  httpPort: number
  version: string
  logger: LookupLogger
  hostname?: string
  topologyZone?: string
  topologyRegion?: string
  /** PING interval (NSQ: 15 s). */
  pingIntervalMs?: number
  /** Dial timeout and per-command deadline (NSQ: 1 s). */
  commandTimeoutMs?: number
  /** Delay before reconnecting after a ready connection dropped (not in NSQ, which waits for the next ping). */
  reconnectDelayMs?: number
  /** Largest lookupd response accepted (NSQ: --max-body-size, 5 MiB). */
  maxResponseSize?: number
  /** --http-client-connect-timeout / --http-client-request-timeout for /channels queries. */
  httpConnectTimeoutMs?: number
  httpRequestTimeoutMs?: number
  /** Name resolution for lookupd host names (dns.lookup's signature; tests inject a stub). */
  dnsLookup?: net.LookupFunction
}

export type RegistrationsProvider = () => Registration[]

function line (text: string): Buffer {
  return Buffer.from(text + '\n', 'latin1')
}

const PING = line('PING')

export class LookupPeers {
  private readonly opts: Required<LookupPeersOptions>
  private readonly getRegistrations: RegistrationsProvider
  private readonly log: LookupLogger
  private peers: LookupPeer[] = []
  private readonly reconnectTimers = new Map<LookupPeer, NodeJS.Timeout>()
  private pingTimer: NodeJS.Timeout | null = null
  private running = false

  constructor (opts: LookupPeersOptions, getRegistrations: RegistrationsProvider) {
    this.opts = {
      hostname: os.hostname(),
      topologyZone: '',
      topologyRegion: '',
      pingIntervalMs: 15_000,
      commandTimeoutMs: 1000,
      reconnectDelayMs: 1000,
      maxResponseSize: 5 * 1024 * 1024,
      httpConnectTimeoutMs: 2000,
      httpRequestTimeoutMs: 5000,
      dnsLookup: undefined as unknown as net.LookupFunction,
      ...opts,
      lookupdTcpAddresses: [...opts.lookupdTcpAddresses]
    }
    this.getRegistrations = getRegistrations
    this.log = opts.logger
  }

  /** The configured lookupd TCP addresses. */
  get addresses (): string[] {
    return this.peers.map((p) => p.address)
  }

  /** host:port of every lookupd HTTP API learned from IDENTIFY responses. */
  get httpAddresses (): string[] {
    const out: string[] = []
    for (const p of this.peers) {
      if (p.info !== null && p.info.broadcastAddress !== '') out.push(joinHostPort(p.info.broadcastAddress, p.info.httpPort))
    }
    return out
  }

  /** Per-lookupd state, for diagnostics and tests. */
  get status (): Array<{ address: string, connected: boolean, info: LookupdInfo | null }> {
    return this.peers.map((p) => ({ address: p.address, connected: p.isConnected, info: p.info }))
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.addPeers(this.opts.lookupdTcpAddresses)
    this.pingTimer = setInterval(() => { this.pingAll() }, this.opts.pingIntervalMs)
    this.pingTimer.unref()
  }

  close (): void {
    this.running = false
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    this.pingTimer = null
    for (const t of this.reconnectTimers.values()) clearTimeout(t)
    this.reconnectTimers.clear()
    for (const p of this.peers) p.close()
    this.peers = []
  }

  /** Tells every lookupd that a topic (or channel) was created ('register') or deleted ('unregister'). */
  notify (kind: 'register' | 'unregister', topic: string, channel?: string): void {
    const text = `${kind === 'register' ? 'REGISTER' : 'UNREGISTER'} ${topic}${channel !== undefined && channel !== '' ? ' ' + channel : ''}`
    const cmd = line(text)
    for (const p of this.peers) {
      this.log.info(`LOOKUP(${p.address}): ${channel !== undefined && channel !== '' ? 'channel' : 'topic'} ${text}`)
      this.run(p, cmd, text)
    }
  }

  /** Replaces the set of lookupds (PUT /config/nsqlookupd_tcp_addresses). */
  setAddresses (addresses: readonly string[]): void {
    const wanted = new Set(addresses)
    const keep: LookupPeer[] = []
    for (const p of this.peers) {
      if (wanted.has(p.address)) {
        keep.push(p)
        continue
      }
      this.log.info(`LOOKUP(${p.address}): removing peer`)
      const t = this.reconnectTimers.get(p)
      if (t !== undefined) clearTimeout(t)
      this.reconnectTimers.delete(p)
      p.close()
    }
    this.peers = keep
    this.opts.lookupdTcpAddresses = [...addresses]
    if (this.running) this.addPeers(addresses.filter((a) => !keep.some((p) => p.address === a)))
  }

  /**
   * Channels of `topic` known to the lookupds (union over every lookupd that has IDENTIFY info),
   * without #ephemeral names, sorted. Failures are logged and ignored.
   */
  async lookupChannels (topic: string): Promise<string[]> {
    let addrs = this.httpAddresses
    // Beyond NSQ: right after start-up the first IDENTIFY may still be on its way; wait for it
    // (bounded by the command timeout) rather than create the topic without its channels.
    const until = Date.now() + this.opts.commandTimeoutMs
    while (addrs.length === 0 && this.running && this.peers.length > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      addrs = this.httpAddresses
    }
    if (addrs.length === 0) {
      if (this.peers.length > 0) this.log.error(`no available nsqlookupd to query for channels to pre-create for topic ${topic}`)
      return []
    }
    const timeouts = { connectTimeoutMs: this.opts.httpConnectTimeoutMs, requestTimeoutMs: this.opts.httpRequestTimeoutMs }
    const results = await Promise.allSettled(addrs.map(async (a) => {
      const url = `http://${a}/channels?topic=${encodeURIComponent(topic)}`
      return channelsFromResponse(await getJson(url, timeouts))
    }))
    const names = new Set<string>()
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        for (const c of r.value) if (!isEphemeral(c)) names.add(c)
      } else {
        this.log.warn(`failed to query nsqlookupd ${addrs[i] as string} for channels to pre-create for topic ${topic} - ${(r.reason as Error).message}`)
      }
    })
    return [...names].sort()
  }

  private addPeers (addresses: readonly string[]): void {
    for (const address of addresses) {
      if (this.peers.some((p) => p.address === address)) continue
      this.log.info(`LOOKUP(${address}): adding peer`)
      const peer = new LookupPeer(address, {
        timeoutMs: this.opts.commandTimeoutMs,
        maxResponseSize: this.opts.maxResponseSize,
        onConnect: (p) => this.onConnect(p),
        onDisconnect: (p) => { this.scheduleReconnect(p) },
        ...(this.opts.dnsLookup !== undefined ? { lookup: this.opts.dnsLookup } : {}),
        onMoved: (p, from, to) => { this.log.warn(`LOOKUP(${p.address}): ${p.host} moved from ${from} to ${to.join(', ')}, reconnecting`) }
      })
      this.peers.push(peer)
      this.run(peer, null, 'connect')
    }
  }

  private pingAll (): void {
    for (const p of this.peers) {
      this.log.debug(`LOOKUP(${p.address}): sending heartbeat`)
      this.run(p, PING, 'PING', true)
    }
  }

  private run (peer: LookupPeer, cmd: Buffer | null, label: string, recheck = false): void {
    peer.command(cmd, recheck).then((resp) => {
      if (resp !== null && !resp.equals(OK)) this.log.error(`LOOKUP(${peer.address}): ${label} - lookupd answered ${resp.toString('latin1')}`)
    }, (err: Error) => {
      if (!peer.isClosed) this.log.error(`LOOKUP(${peer.address}): ${label} - ${err.message}`)
    })
  }

  private scheduleReconnect (peer: LookupPeer): void {
    if (!this.running || this.reconnectTimers.has(peer)) return
    this.log.warn(`LOOKUP(${peer.address}): connection lost, reconnecting in ${this.opts.reconnectDelayMs}ms`)
    const t = setTimeout(() => {
      this.reconnectTimers.delete(peer)
      if (this.running && !peer.isClosed && !peer.isConnected) this.run(peer, null, 'reconnect')
    }, this.opts.reconnectDelayMs)
    t.unref()
    this.reconnectTimers.set(peer, t)
  }

  /** The connect callback: IDENTIFY, then re-register everything. Throws to drop the connection. */
  private async onConnect (peer: LookupPeer): Promise<void> {
    const o = this.opts
    const body = Buffer.from(JSON.stringify({
      broadcast_address: o.broadcastAddress,
      hostname: o.hostname,
      http_port: o.httpPort,
      tcp_port: o.tcpPort,
      topology_region: o.topologyRegion,
      topology_zone: o.topologyZone,
      version: o.version
    }), 'utf8')
    const cmd = Buffer.allocUnsafe(9 + 4 + body.length)
    cmd.write('IDENTIFY\n', 0, 'latin1')
    cmd.writeInt32BE(body.length, 9)
    body.copy(cmd, 13)
    this.log.info(`LOOKUP(${peer.address}): IDENTIFY`)
    const resp = await peer.send(cmd)
    const text = resp.toString('utf8')
    if (text === 'E_INVALID' || text.startsWith('E_')) throw new Error(`lookupd returned ${text}`)
    let info: Record<string, unknown>
    try {
      info = JSON.parse(text) as Record<string, unknown>
    } catch (err) {
      throw new Error(`error parsing IDENTIFY response ${JSON.stringify(text)} - ${(err as Error).message}`)
    }
    peer.info = {
      broadcastAddress: typeof info.broadcast_address === 'string' ? info.broadcast_address : '',
      hostname: typeof info.hostname === 'string' ? info.hostname : '',
      httpPort: typeof info.http_port === 'number' ? info.http_port : 0,
      tcpPort: typeof info.tcp_port === 'number' ? info.tcp_port : 0,
      version: typeof info.version === 'string' ? info.version : ''
    }
    this.log.info(`LOOKUP(${peer.address}): peer info ${text}`)
    if (peer.info.broadcastAddress === '') this.log.error(`LOOKUP(${peer.address}): no broadcast address`)

    for (const r of this.getRegistrations()) {
      const t = r.channel !== undefined && r.channel !== '' ? `REGISTER ${r.topic} ${r.channel}` : `REGISTER ${r.topic}`
      this.log.info(`LOOKUP(${peer.address}): ${t}`)
      const answer = await peer.send(line(t))
      if (!answer.equals(OK)) throw new Error(`${t} - lookupd answered ${answer.toString('latin1')}`)
    }
  }
}

const OK = Buffer.from('OK', 'latin1')
