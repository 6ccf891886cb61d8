// A topic: accepts publishes and copies every message to each of its channels (nsqd-internals.md
// §2-3). With no channels, or paused, or not yet started, it buffers (memory up to
// --mem-queue-size, then its backend); the backlog flows to the channels when they appear.

import { Message, compactBody } from './message.js'
import { MessageFifo } from './message-fifo.js'
import { GuidFactory } from './guid.js'
import { Channel, type ChannelContext } from './channel.js'
import { countersChanged, dropOldest, effectiveCap, overCap, persistCounters, trimWaits, type ChannelPolicyConfig, type QueueCap } from './policy.js'
import type { BackendQueue } from '../store/backend-queue.js'
import { isEphemeral } from '../../client/wire/names.js'

export interface TopicContext extends ChannelContext {
  readonly nodeId: number
  /** False while disk writes fail: publishes to stored topics are refused (E_PUB_FAILED). */
  readonly isHealthy: boolean
  makeBackend (queueName: string, ephemeral: boolean): BackendQueue
  channelCreated (topic: Topic, channel: Channel): void
  channelDeleted (topic: Topic, channel: Channel): void
  /** The topic's policy config changed (metadata). */
  topicPolicyChanged? (topic: Topic): void
  /** An ephemeral topic lost its last channel through a deletion. */
  ephemeralTopicEmpty (topic: Topic): void
  /** A promise while the store's unwritten backlog is over its bound (--store-backlog-size), else null. */
  publishBackpressure (): Promise<void> | null
}

/** How many backlog messages one drain turn moves before yielding to the event loop. */
const DRAIN_BATCH = 8192
/** The drain checks the store's backlog every this many messages. */
const DRAIN_CHECK_EVERY = 256

export class Topic {
  readonly name: string
  readonly ephemeral: boolean
  readonly backend: BackendQueue
  private readonly ctx: TopicContext
  private readonly guid: GuidFactory

  readonly channels = new Map<string, Channel>()
  private channelList: Channel[] = []
  readonly memQueue = new MessageFifo()

  paused = false
  exiting = false
  started = false
  private drainScheduled = false

  messageCount = 0
  messageBytes = 0
  droppedCount = 0
  /** Bounded queue: oldest messages of the topic's own backlog dropped to make room (drop-oldest). */
  fullDropCount = 0
  /** Bounded queue: messages refused because the topic or one of its channels was full (refuse). */
  fullRefusedCount = 0
  /** The topic's own backlog cap (its config, else the flags). */
  cap: QueueCap = { maxMessages: 0, maxBytes: 0, dropOldest: false }
  capOn = false
  /** Publishes are checked against a refuse cap (the topic's or a channel's): the one branch of put(). */
  private refuseCheck = false
  private trimPending = false
  private trimScheduled = false
  /** Why the last put()/putMany() returned false when a queue was full; see takeRefusal(). */
  private refusal: string | null = null
  private readonly countersOut = [0, 0]

  constructor (name: string, ctx: TopicContext) {
    this.name = name
    this.ephemeral = isEphemeral(name)
    this.ctx = ctx
    this.guid = new GuidFactory(ctx.nodeId)
    this.backend = ctx.makeBackend(name, this.ephemeral)
    this.backend.onReadable = () => {
      if (this.trimPending) this.trimToCap()
      this.scheduleDrain()
    }
    this.restoreCounters()
    this.refreshCaps()
  }

  get depth (): number {
    return this.memQueue.length + this.backend.depth()
  }

  /** Starts distribution (after channels were pre-created from lookupd or metadata). */
  start (): void {
    this.started = true
    this.scheduleDrain()
  }

  newMessage (body: Buffer, timestampNs: number, deferMs = 0): Message {
    return new Message(this.guid.next(), compactBody(body), timestampNs, 0, deferMs)
  }

  /** Publishes one message. False if it could not be stored (exiting, backend failure, queue full). */
  put (msg: Message): boolean {
    if (this.exiting || (!this.ephemeral && !this.ctx.isHealthy)) return false
    if (this.refuseCheck && this.isFull(1, msg.body.length)) return false
    if (!this.accept(msg)) return false
    this.messageCount++
    this.messageBytes += msg.body.length
    return true
  }

  /** Publishes many, all or nothing as far as validation goes; returns false on a store failure. */
  putMany (msgs: readonly Message[]): boolean {
    if (this.exiting || (!this.ephemeral && !this.ctx.isHealthy)) return false
    if (this.refuseCheck) {
      let bytes = 0
      for (let i = 0; i < msgs.length; i++) bytes += (msgs[i] as Message).body.length
      // all or nothing: a batch that does not fit is refused as a whole
      if (this.isFull(msgs.length, bytes)) return false
    }
    for (let i = 0; i < msgs.length; i++) {
      const msg = msgs[i] as Message
      if (!this.accept(msg)) return false
      this.messageCount++
      this.messageBytes += msg.body.length
    }
    return true
  }

  private flowing (): boolean {
    return this.started && !this.paused && this.channelList.length > 0
  }

  private accept (msg: Message): boolean {
    if (this.flowing() && this.memQueue.length === 0 && this.backend.depth() === 0) {
      this.fanOut(msg)
      return true
    }
    if (this.memQueue.length < this.ctx.memQueueSize && this.backend.depth() === 0) {
      this.memQueue.push(msg)
    } else if (this.ephemeral) {
      this.droppedCount++
    } else if (!this.backend.put(msg)) {
      this.ctx.backendPutFailed(this.name)
      return false
    }
    if (this.capOn && this.cap.dropOldest) this.trimToCap()
    if (this.flowing()) this.scheduleDrain()
    return true
  }

  // ---- bounded queues (issue 16) ----------------------------------------------------------------

  /** A cap applies to the topic or one of its channels, or one counted something (/stats shows them). */
  get hasCapPolicy (): boolean {
    return this.capOn || this.refuseCheck || this.fullDropCount > 0 || this.fullRefusedCount > 0 || this.channelList.some((ch) => ch.capOn)
  }

  /** The bounded-queue counters survive restarts (persistCounters). */
  private restoreCounters (): void {
    const saved = persistCounters(this.backend, () => {
      const o = this.countersOut
      o[0] = this.fullDropCount
      o[1] = this.fullRefusedCount
      return o
    })
    if (saved === undefined) return
    this.fullDropCount = saved[0] ?? 0
    this.fullRefusedCount = saved[1] ?? 0
  }

  /** Body bytes of the topic's own backlog (memory + disk). */
  get depthBytes (): number {
    return this.memQueue.bytes + this.backend.bytes()
  }

  /**
   * Recomputes the topic's own cap and whether publishes must be checked: a refuse cap on the
   * topic, or on any of its channels (ephemeral channels drop instead). Called when a config or the
   * channel list changes.
   */
  refreshCaps (): void {
    this.cap = effectiveCap(this.policyConfig, {}, this.ctx)
    this.capOn = this.cap.maxMessages > 0 || this.cap.maxBytes > 0
    let check = this.capOn && !this.cap.dropOldest
    for (const ch of this.channelList) if (ch.capOn && !ch.dropsOldest) check = true
    this.refuseCheck = check
    if (this.capOn && this.cap.dropOldest) this.scheduleTrim()
  }

  /** A lowered drop-oldest cap trims on the next turn (at start, after the stored configs are loaded). */
  private scheduleTrim (): void {
    if (this.trimScheduled) return
    this.trimScheduled = true
    setImmediate(() => {
      this.trimScheduled = false
      if (this.capOn && this.cap.dropOldest && !this.exiting) this.trimToCap()
    })
  }

  /**
   * Refuse: true (and the reason kept for takeRefusal) when `n` more messages of `bytes` body bytes
   * would overflow the topic's own backlog or any channel's queue. A channel counts what it holds
   * plus the topic's backlog, which is on its way to it. One full channel refuses the publish for
   * the whole topic: the message would otherwise be lost for that channel's consumers.
   */
  private isFull (n: number, bytes: number): boolean {
    const depth = this.depth
    const depthBytes = this.depthBytes
    let reason: string | null = null
    if (this.capOn && !this.cap.dropOldest && overCap(this.cap, depth, depthBytes, n, bytes)) {
      reason = fullReason(`topic ${this.name}`, this.cap, depth, depthBytes, n)
    } else {
      const list = this.channelList
      for (let i = 0; i < list.length; i++) {
        const ch = list[i] as Channel
        if (!ch.capOn || ch.dropsOldest) continue
        const d = ch.depth + depth
        const b = ch.depthBytes + depthBytes
        if (overCap(ch.cap, d, b, n, bytes)) {
          reason = fullReason(`channel ${this.name}:${ch.name}`, ch.cap, d, b, n)
          break
        }
      }
    }
    if (reason === null) return false
    this.refusal = reason
    this.fullRefusedCount += n
    countersChanged(this.backend)
    return true
  }

  /** Why put()/putMany() just returned false: 'exiting', the full queue's reason, or 'write error'. */
  failReason (): string {
    if (this.exiting) return 'exiting'
    return this.takeRefusal() ?? 'write error'
  }

  /** The reason the last publish was refused for a full queue, once; null when it was not. */
  takeRefusal (): string | null {
    const r = this.refusal
    this.refusal = null
    return r
  }

  /** Drop-oldest for the topic's own backlog (policy.ts dropOldest), finished in onReadable if it waits. */
  private trimToCap (): void {
    const dropped = dropOldest(this, this.cap)
    this.trimPending = trimWaits(this, this.cap)
    if (dropped === 0) return
    this.fullDropCount += dropped
    countersChanged(this.backend)
  }

  private fanOut (msg: Message): void {
    const list = this.channelList
    for (let i = 0; i < list.length; i++) {
      const ch = list[i] as Channel
      const m = i === 0 ? msg : msg.copy()
      if (m.deferredMs > 0) ch.putDeferred(m, m.deferredMs)
      else ch.put(m)
    }
  }

  private readonly resumeDrain = (): void => {
    this.drainScheduled = false
    this.scheduleDrain()
  }

  private scheduleDrain (): void {
    if (this.drainScheduled || !this.flowing()) return
    this.drainScheduled = true
    setImmediate(() => { this.drain() })
  }

  /**
   * Moves the backlog to the channels, a batch per event-loop turn. Channels whose memory queue is
   * full write what they get to the store: while the store is behind, the drain waits as publishers
   * do, so moving a disk backlog never builds an unbounded write batch.
   */
  private drain (): void {
    this.drainScheduled = false
    if (!this.flowing() || this.exiting) return
    let n = 0
    while (n < DRAIN_BATCH) {
      if ((n & (DRAIN_CHECK_EVERY - 1)) === 0) {
        const slow = this.ctx.publishBackpressure()
        if (slow !== null) {
          this.drainScheduled = true
          void slow.then(this.resumeDrain)
          return
        }
      }
      const msg = this.memQueue.shift() ?? this.backend.shift()
      if (msg === undefined) return
      this.fanOut(msg)
      n++
    }
    this.scheduleDrain()
  }

  // ---- delivery policies (issue 16) -------------------------------------------------------------

  /** Has taken a dead letter since start (drain mode does not wait for such a topic without channels). */
  receivedDeadLetters = false

  /** Defaults for this topic's channels (POST /topic/config); a channel's own keys win. */
  policyConfig: ChannelPolicyConfig = {}

  get hasPolicyConfig (): boolean {
    return Object.keys(this.policyConfig).length > 0
  }

  setPolicyConfig (config: ChannelPolicyConfig): void {
    this.policyConfig = config
    for (const ch of this.channelList) {
      ch.topicPolicyConfig = config
      ch.refreshPolicy()
      ch.pump()
    }
    this.refreshCaps()
    if (this.ctx.topicPolicyChanged !== undefined) this.ctx.topicPolicyChanged(this)
  }

  // ---- channels --------------------------------------------------------------------------------

  getChannel (name: string): Channel {
    let ch = this.channels.get(name)
    if (ch !== undefined) return ch
    ch = new Channel(this.name, name, this.ctx.makeBackend(`${this.name}:${name}`, this.ephemeral || isEphemeral(name)), this.ctx)
    if (this.hasPolicyConfig) { ch.topicPolicyConfig = this.policyConfig; ch.refreshPolicy() }
    this.channels.set(name, ch)
    this.channelList = [...this.channels.values()]
    this.refreshCaps()
    this.ctx.channelCreated(this, ch)
    this.scheduleDrain()
    return ch
  }

  getExistingChannel (name: string): Channel | undefined {
    return this.channels.get(name)
  }

  /** Deletes a channel: closes its consumers, drops its data. */
  async deleteChannel (name: string): Promise<boolean> {
    const ch = this.channels.get(name)
    if (ch === undefined) return false
    this.channels.delete(name)
    this.channelList = [...this.channels.values()]
    this.refreshCaps()
    ch.closeConsumersForDelete()
    ch.empty()
    await ch.backend.delete()
    this.ctx.channelDeleted(this, ch)
    if (this.ephemeral && this.channels.size === 0 && !this.exiting) this.ctx.ephemeralTopicEmpty(this)
    return true
  }

  // ---- admin actions ---------------------------------------------------------------------------

  pause (): void {
    this.paused = true
  }

  unpause (): void {
    this.paused = false
    this.scheduleDrain()
  }

  /** Drops the topic's own backlog (memory and backend); channels keep theirs. */
  empty (): void {
    this.memQueue.clear()
    this.backend.empty()
  }

  get channelsList (): readonly Channel[] {
    return this.channelList
  }
}

/** "queue full: channel T:C holds N of max M messages" (or bytes): why a publish is refused. */
function fullReason (what: string, cap: QueueCap, depth: number, bytes: number, n: number): string {
  if (cap.maxMessages > 0 && depth + n > cap.maxMessages) return `queue full: ${what} holds ${depth} of max ${cap.maxMessages} messages`
  return `queue full: ${what} holds ${bytes} of max ${cap.maxBytes} bytes`
}
