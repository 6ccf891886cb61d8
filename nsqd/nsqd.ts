// The broker: owns topics (which own channels), the TCP listener, client registry, the queue scan
// that expires in-flight and deferred messages, and health. A library: main.ts only builds Options.

import fs from 'node:fs'
import net from 'node:net'
import { Topic, type TopicContext } from './core/topic.js'
import type { Channel } from './core/channel.js'
import type { BackendQueue } from './store/backend-queue.js'
import { DummyBackendQueue } from './store/backend-queue.js'
import { MemoryBackendQueue } from './store/memory-backend-queue.js'
import { NodeStore, isJournaling, type NodeStoreOptions } from './store/node-store.js'
import { defaultOptions, validateOptions, VERSION, type Options } from './options.js'
import { createLogger, type Logger } from './logger.js'
import { handleConnection, listen, type TcpHost } from './tcp/server.js'
import type { ProtocolV2 } from './tcp/protocol-v2.js'
import type { ClientV2 } from './tcp/client-v2.js'
import { HttpServer } from './http/server.js'
import { E2eLatency } from './e2e-latency.js'
import { StatsdPusher } from './statsd.js'
import { LookupPeers, type Registration } from './lookup/lookup-peers.js'
import { loadTlsSettings, tlsMinVersion, Upgrader, type TlsSettings } from './tcp/transport.js'
import { AuthClient } from './auth.js'
import { Gateway } from './gateway/gateway.js'
import { Drain } from './drain.js'
import { lastEndName, nowNs, type Message } from './core/message.js'
import { deadLetterEnvelope } from './core/policy.js'
import { isValidTopicName } from '../client/wire/names.js'

export type ChangeKind = 'topic-created' | 'topic-deleted' | 'channel-created' | 'channel-deleted' | 'paused' | 'unpaused' | 'policy'
export type ChangeListener = (kind: ChangeKind, topic: Topic, channel: Channel | null) => void

export class NSQD implements TcpHost, TopicContext {
  private opts: Options
  readonly logger: Logger
  readonly topics = new Map<string, Topic>()
  readonly clients = new Map<number, ProtocolV2>()
  readonly startTime = Date.now()

  private readonly tcpServer: net.Server
  private tcpAddr = ''
  private clientIdSeq = 0
  private scanTimer: NodeJS.Timeout | null = null
  private exiting = false
  private readonly changeListeners: ChangeListener[] = []

  /** Health (nsqd-internals.md §17): the last backend write failure, cleared by a success. */
  healthError: string | null = null

  /** Optional: channels to pre-create for a new topic (from lookupd). */
  channelLookup: ((topic: string) => Promise<string[]>) | null = null
  /** Optional: the factory for non-ephemeral backends (the persistent store). */
  backendFactory: ((queueName: string) => BackendQueue) | null = null
  /** Optional: end-to-end latency sink (stats). */
  latencySink: ((channel: Channel, latencyNs: number) => void) | null = null
  /** End-to-end latency quantiles per channel (/stats, statsd, /metrics). */
  readonly e2e: E2eLatency
  private http: HttpServer | null = null
  private https: HttpServer | null = null
  /** Certificate and client-auth policy (--tls-*); null without --tls-cert/--tls-key. */
  readonly tlsSettings: TlsSettings | null
  /** TLS / snappy / deflate upgrades after IDENTIFY. */
  readonly upgrader: Upgrader
  /** The auth server client (--auth-http-address); null when auth is off. */
  readonly authClient: AuthClient | null
  private statsd: StatsdPusher | null = null
  /** The browser gateway (--http-gateway, nsqd/gateway); null when off. */
  readonly gateway: Gateway | null
  /** Registration with the nsqlookupds (--lookupd-tcp-address), running between start() and close(). */
  lookup: LookupPeers | null = null
  /** The node's LevelDB (nsqd/store), open between start() and close(). */
  store: NodeStore | null = null
  /** Replication (nsqd/replication): the `replication` object of /info and /stats; null when off. */
  replicationInfo: (() => Record<string, unknown>) | null = null
  /** Tests: store hooks (write-failure injection). */
  storeOptions: NodeStoreOptions = {}
  /** Drain mode (nsqd/drain.ts): PUT /config/draining, SIGUSR2. */
  readonly drain: Drain = new Drain(this)

  constructor (options: Partial<Options> = {}) {
    this.opts = { ...defaultOptions(), ...options }
    validateOptions(this.opts)
    this.logger = this.opts.logger ?? createLogger(this.opts.logPrefix, this.opts.logLevel)
    this.tlsSettings = loadTlsSettings(this.opts)
    this.upgrader = new Upgrader(this.tlsSettings, this.logger)
    this.authClient = this.makeAuthClient()
    this.gateway = this.opts.httpGateway ? new Gateway(this) : null
    this.tcpServer = net.createServer((socket) => { handleConnection(this, socket) })
    this.e2e = new E2eLatency(this.opts.e2eProcessingLatencyPercentiles, this.opts.e2eProcessingLatencyWindowTimeMs)
    if (this.e2e.enabled) this.latencySink = (channel, latencyNs) => { this.e2e.record(channel, latencyNs) }
  }

  get options (): Options {
    return this.opts
  }

  private makeAuthClient (): AuthClient | null {
    const o = this.opts
    if (o.authHttpAddresses.length === 0) return null
    return new AuthClient({
      addresses: o.authHttpAddresses,
      method: o.authHttpRequestMethod,
      connectTimeoutMs: o.httpClientConnectTimeoutMs,
      requestTimeoutMs: o.httpClientRequestTimeoutMs,
      ...(o.tlsRootCaFile !== '' ? { ca: fs.readFileSync(o.tlsRootCaFile) } : {}),
      minVersion: tlsMinVersion(o.tlsMinVersion)
    })
  }

  /** Replaces the options as a whole (PUT /config/:opt). */
  swapOptions (next: Options): void {
    validateOptions(next)
    const prev = this.opts
    this.opts = next
    if (prev.logLevel !== next.logLevel && this.logger.setLevel !== undefined) this.logger.setLevel(next.logLevel)
    if (this.lookup !== null && prev.lookupdTcpAddresses.join(',') !== next.lookupdTcpAddresses.join(',')) {
      this.lookup.setAddresses(next.lookupdTcpAddresses)
    }
  }

  /** The TCP address actually bound ("host:port"). */
  get tcpAddress (): string {
    return this.tcpAddr
  }

  /** The HTTP address actually bound ("host:port"); '' when --http-address is empty. */
  get httpAddress (): string {
    return this.http === null ? '' : this.http.address
  }

  /** The HTTPS address actually bound; '' without a certificate or with --https-address empty. */
  get httpsAddress (): string {
    return this.https === null ? '' : this.https.address
  }

  get isExiting (): boolean {
    return this.exiting
  }

  /** Drain mode (nsqd/drain.ts): publishes and new SUBs are refused. */
  get draining (): boolean {
    return this.drain.draining
  }

  /** Drain mode: the lookupds forget (false) or list again (true) every topic and channel. */
  setListed (listed: boolean): void {
    const lookup = this.lookup
    if (lookup === null) return
    const regs = this.allRegistrations()
    if (listed) {
      for (const r of regs) lookup.notify('register', r.topic, r.channel)
      return
    }
    // channels first, then each topic (as NSQ's lookupd, UNREGISTER of a topic also drops its channels)
    for (const r of regs) if (r.channel !== undefined) lookup.notify('unregister', r.topic, r.channel)
    for (const t of this.topics.keys()) lookup.notify('unregister', t)
  }

  async start (): Promise<void> {
    // the store locks --data-path and restores topics, channels and paused flags before listening
    this.store = await NodeStore.open(this, this.storeOptions)
    this.tcpAddr = await listen(this.tcpServer, this.opts.tcpAddress)
    this.logger.info(`TCP: listening on ${this.tcpAddr}`)
    if (this.opts.httpAddress !== '') {
      this.http = new HttpServer(this)
      this.logger.info(`HTTP: listening on ${await this.http.listen(this.opts.httpAddress)}`)
    }
    if (this.tlsSettings !== null && this.opts.httpsAddress !== '') {
      this.https = new HttpServer(this, this.tlsSettings)
      this.logger.info(`HTTPS: listening on ${await this.https.listen(this.opts.httpsAddress)}`)
    }
    if (this.opts.statsdAddress !== '') {
      this.statsd = new StatsdPusher(this)
      this.statsd.start()
    }
    this.startLookup()
    this.scanTimer = setInterval(() => { this.queueScan(Date.now()) }, this.opts.queueScanIntervalMs)
    this.scanTimer.unref()
  }

  /** Registers every topic and channel with the lookupds, and keeps them told of changes. */
  private startLookup (): void {
    const o = this.opts
    const port = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1)) || 0
    const lookup = new LookupPeers({
      lookupdTcpAddresses: o.lookupdTcpAddresses,
      broadcastAddress: o.broadcastAddress,
      tcpPort: o.broadcastTcpPort !== 0 ? o.broadcastTcpPort : port(this.tcpAddr),
      httpPort: o.broadcastHttpPort !== 0 ? o.broadcastHttpPort : port(this.httpAddress),
      version: VERSION,
      topologyZone: o.topologyZone,
      topologyRegion: o.topologyRegion,
      httpConnectTimeoutMs: o.httpClientConnectTimeoutMs,
      httpRequestTimeoutMs: o.httpClientRequestTimeoutMs,
      maxResponseSize: o.maxBodySize,
      pingIntervalMs: o.lookupdPingIntervalMs,
      logger: this.logger
    }, () => this.registrations())
    this.lookup = lookup
    this.onChange((kind, topic, channel) => {
      if (this.drain.draining) return
      if (kind === 'topic-created') lookup.notify('register', topic.name)
      else if (kind === 'topic-deleted') lookup.notify('unregister', topic.name)
      else if (kind === 'channel-created' && channel !== null) lookup.notify('register', topic.name, channel.name)
      else if (kind === 'channel-deleted' && channel !== null) lookup.notify('unregister', topic.name, channel.name)
    })
    this.channelLookup = async (name) => await lookup.lookupChannels(name)
    lookup.start()
  }

  /** Every topic (alone when it has no channels) and channel, for lookupd registration. */
  registrations (): Registration[] {
    return this.drain.draining ? [] : this.allRegistrations()
  }

  private allRegistrations (): Registration[] {
    const out: Registration[] = []
    for (const t of this.topics.values()) {
      if (t.channels.size === 0) out.push({ topic: t.name })
      else for (const c of t.channels.keys()) out.push({ topic: t.name, channel: c })
    }
    return out
  }

  onChange (listener: ChangeListener): void {
    this.changeListeners.push(listener)
  }

  private emitChange (kind: ChangeKind, topic: Topic, channel: Channel | null): void {
    for (const l of this.changeListeners) {
      try {
        l(kind, topic, channel)
      } catch (err) {
        this.logger.error(`NSQ: change listener failed: ${(err as Error).message}`)
      }
    }
  }

  // ---- topics ----------------------------------------------------------------------------------

  /** Get-or-create. A new topic starts distributing once channels known to lookupd exist. */
  getTopic (name: string): Topic {
    let t = this.topics.get(name)
    if (t !== undefined) return t
    t = new Topic(name, this)
    this.topics.set(name, t)
    this.logger.info(`TOPIC(${name}): created`)
    this.emitChange('topic-created', t, null)
    const lookup = this.channelLookup
    if (lookup === null || this.opts.lookupdTcpAddresses.length === 0) {
      t.start()
    } else {
      const topic = t
      lookup(name).then((names) => {
        for (const ch of names) if (!topic.exiting) topic.getChannel(ch)
      }, (err: Error) => {
        this.logger.error(`TOPIC(${name}): channel lookup failed - ${err.message}`)
      }).finally(() => { topic.start() })
    }
    return t
  }

  getExistingTopic (name: string): Topic | undefined {
    return this.topics.get(name)
  }

  async deleteTopic (name: string): Promise<boolean> {
    const t = this.topics.get(name)
    if (t === undefined) return false
    t.exiting = true
    this.topics.delete(name)
    for (const chName of [...t.channels.keys()]) await t.deleteChannel(chName)
    t.empty()
    await t.backend.delete()
    this.logger.info(`TOPIC(${name}): deleted`)
    this.emitChange('topic-deleted', t, null)
    return true
  }

  /** Pause or unpause a topic or channel and tell listeners (metadata). */
  setPaused (topic: Topic, channel: Channel | null, paused: boolean): void {
    const target = channel ?? topic
    if (paused) target.pause()
    else target.unpause()
    this.emitChange(paused ? 'paused' : 'unpaused', topic, channel)
  }

  // ---- TopicContext ----------------------------------------------------------------------------

  get nodeId (): number { return this.opts.nodeId }
  get memQueueSize (): number { return this.opts.memQueueSize }
  get maxMsgTimeoutMs (): number { return this.opts.maxMsgTimeoutMs }
  get maxChannelConsumers (): number { return this.opts.maxChannelConsumers }
  get maxAttempts (): number { return this.opts.maxAttempts }
  get messageTtlMs (): number { return this.opts.messageTtlMs }
  get maxQueueMessages (): number { return this.opts.maxQueueMessages }
  get maxQueueBytes (): number { return this.opts.maxQueueBytes }
  get queueFullPolicy (): 'refuse' | 'drop-oldest' { return this.opts.queueFullPolicy }

  /**
   * Publishes a message leaving `channel` to its dead-letter topic (created if needed): a new
   * message (new id, attempts 0, timestamp now) with the same body, or the JSON envelope when the
   * channel asks for it. Runs in the tick that took the message from the channel's queue, so the
   * store writes both in one batch.
   */
  deadLetter (channel: Channel, topicName: string, msg: Message, reason: 'max_attempts' | 'ttl'): boolean {
    if (this.exiting || topicName === channel.topicName || !isValidTopicName(topicName)) return false
    const topic = this.getTopic(topicName)
    topic.receivedDeadLetters = true
    const body = channel.deadLetterJson
      ? deadLetterEnvelope({ topic: channel.topicName, channel: channel.name, id: msg.id, attempts: msg.attempts, timestampNs: msg.timestamp, reason, lastError: lastEndName(msg.lastEnd) }, msg.body)
      : msg.body
    if (topic.put(topic.newMessage(body, nowNs()))) return true
    // a full dead-letter topic under refuse: the message stays (and is delivered) in its channel
    topic.takeRefusal()
    return false
  }

  topicPolicyChanged (topic: Topic): void {
    this.emitChange('policy', topic, null)
  }

  policyChanged (channel: Channel): void {
    const topic = this.topics.get(channel.topicName)
    if (topic === undefined) return
    topic.refreshCaps()
    this.emitChange('policy', topic, channel)
  }

  makeBackend (queueName: string, ephemeral: boolean): BackendQueue {
    if (ephemeral) return new DummyBackendQueue()
    if (this.backendFactory !== null) return this.backendFactory(queueName)
    return new MemoryBackendQueue()
  }

  channelCreated (topic: Topic, channel: Channel): void {
    this.logger.info(`TOPIC(${topic.name}): new channel(${channel.name})`)
    this.emitChange('channel-created', topic, channel)
  }

  channelDeleted (topic: Topic, channel: Channel): void {
    this.logger.info(`TOPIC(${topic.name}): deleting channel ${channel.name}`)
    this.emitChange('channel-deleted', topic, channel)
  }

  ephemeralChannelEmpty (channel: Channel): void {
    const topic = this.topics.get(channel.topicName)
    if (topic === undefined) return
    topic.deleteChannel(channel.name).catch((err: Error) => {
      this.logger.error(`CHANNEL(${channel.name}): delete failed - ${err.message}`)
    })
  }

  ephemeralTopicEmpty (topic: Topic): void {
    this.deleteTopic(topic.name).catch((err: Error) => {
      this.logger.error(`TOPIC(${topic.name}): delete failed - ${err.message}`)
    })
  }

  recordLatency (channel: Channel, latencyNs: number): void {
    if (this.latencySink !== null) this.latencySink(channel, latencyNs)
  }

  /**
   * Durable mode: resolves once everything published so far is synced to disk (a publish is
   * acknowledged only then); null when acknowledgements need not wait.
   */
  /** Backpressure for publishers: a promise while the store's unwritten backlog is too large. */
  publishBackpressure (): Promise<void> | null {
    return this.store !== null && this.store.store.behind ? this.store.store.whenCaughtUp() : null
  }

  whenDurable (): Promise<void> | null {
    return this.store !== null && this.store.durable ? this.store.whenDurable() : null
  }

  backendPutFailed (queueName: string): void {
    this.healthError = `failed to write to backend ${queueName}`
    this.logger.error(`DISKQUEUE(${queueName}): write failed`)
  }

  get isHealthy (): boolean {
    return this.healthError === null
  }

  // ---- clients (TcpHost) -----------------------------------------------------------------------

  nextClientId (): number {
    return ++this.clientIdSeq
  }

  clientConnected (p: ProtocolV2): void {
    this.clients.set(p.client.id, p)
    // a connection whose magic arrives while nsqd closes would keep the listener's close waiting
    if (this.exiting) setImmediate(() => { p.client.close() })
  }

  clientClosed (client: ClientV2): void {
    this.clients.delete(client.id)
  }

  debug (msg: string): void {
    this.logger.debug(msg)
  }

  // ---- timeouts --------------------------------------------------------------------------------

  /** Expires in-flight messages and releases due deferred ones, on every channel that has any. */
  queueScan (now: number): number {
    let n = 0
    for (const t of this.topics.values()) {
      for (const ch of t.channelsList) {
        if (ch.inFlightPQ.length > 0) n += ch.processInFlight(now)
        if (ch.deferredPQ.length > 0) n += ch.processDeferred(now)
      }
    }
    return n
  }

  // ---- shutdown --------------------------------------------------------------------------------

  /**
   * Clean shutdown (nsqd-internals.md §11): stop accepting, close clients, then every channel puts
   * its queue, in-flight and deferred messages into its backend and closes it; then the topics.
   */
  async close (): Promise<void> {
    if (this.exiting) return
    this.exiting = true
    if (this.scanTimer !== null) clearInterval(this.scanTimer)
    this.drain.close()
    if (this.lookup !== null) this.lookup.close()
    if (this.statsd !== null) this.statsd.stop()
    if (this.gateway !== null) this.gateway.close()
    if (this.http !== null) await this.http.close().catch(() => {})
    if (this.https !== null) await this.https.close().catch(() => {})
    const closed = new Promise<void>((resolve) => { this.tcpServer.close(() => { resolve() }) })
    for (const p of [...this.clients.values()]) p.client.close()
    await closed.catch(() => {})
    for (const t of this.topics.values()) {
      t.exiting = true
      for (const ch of t.channelsList) {
        ch.exiting = true
        const held = ch.takeAllForShutdown()
        if (!ch.ephemeral) {
          const b = ch.backend
          for (const m of held.queued) b.put(m)
          // in flight: back into the queue (and out of the durable journal, in the same batch)
          for (const m of held.inFlight) { if (isJournaling(b)) b.markDone(m); b.put(m) }
          // deferred: kept with their due time when the backend can store it
          for (const m of held.deferred) { if (isJournaling(b)) b.putDeferred(m, m.pri); else b.put(m) }
        }
        await ch.backend.close()
      }
      if (!t.ephemeral) for (const m of t.memQueue.drain()) t.backend.put(m)
      await t.backend.close()
    }
    if (this.store !== null) await this.store.close()
    this.logger.info('NSQ: bye')
  }
}
