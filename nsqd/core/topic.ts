// A topic: accepts publishes and copies every message to each of its channels (nsqd-internals.md
// §2-3). With no channels, or paused, or not yet started, it buffers (memory up to
// --mem-queue-size, then its backend); the backlog flows to the channels when they appear.

import { Message, compactBody } from './message.js'
import { Fifo } from './fifo.js'
import { GuidFactory } from './guid.js'
import { Channel, type ChannelContext } from './channel.js'
import type { ChannelPolicyConfig } from './policy.js'
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
  readonly memQueue = new Fifo<Message>()

  paused = false
  exiting = false
  started = false
  private drainScheduled = false

  messageCount = 0
  messageBytes = 0
  droppedCount = 0

  constructor (name: string, ctx: TopicContext) {
    this.name = name
    this.ephemeral = isEphemeral(name)
    this.ctx = ctx
    this.guid = new GuidFactory(ctx.nodeId)
    this.backend = ctx.makeBackend(name, this.ephemeral)
    this.backend.onReadable = () => { this.scheduleDrain() }
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

  /** Publishes one message. False if it could not be stored (exiting, backend failure). */
  put (msg: Message): boolean {
    if (this.exiting || (!this.ephemeral && !this.ctx.isHealthy)) return false
    if (!this.accept(msg)) return false
    this.messageCount++
    this.messageBytes += msg.body.length
    return true
  }

  /** Publishes many, all or nothing as far as validation goes; returns false on a store failure. */
  putMany (msgs: readonly Message[]): boolean {
    if (this.exiting || (!this.ephemeral && !this.ctx.isHealthy)) return false
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
    if (this.flowing()) this.scheduleDrain()
    return true
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
