// A channel: its own copy of every message of its topic, delivered to one of its subscribers each.
// The channel owns delivery (STYLE.md rule 10): it picks a ready consumer round-robin and hands it
// the next message from memory, then from its backend queue. In-flight and deferred messages live in
// min-heaps keyed by deadline and are expired by the node's queue scan, never by per-message timers.

import { END_REQUEUED, END_TIMEOUT, type Message } from './message.js'
import { MessageFifo } from './message-fifo.js'
import { MessageHeap } from './pqueue.js'
import { InFlightQueue } from './inflight-queue.js'
import { journalOf, type BackendQueue, type JournalingBackendQueue } from '../store/backend-queue.js'
import { isEphemeral } from '../../client/wire/names.js'
import { countersChanged, dropOldest, effectiveCap, persistCounters, trimWaits, type ChannelPolicyConfig, type QueueCap, type QueueCapDefaults } from './policy.js'

/** What a channel needs from a subscribed connection. Implemented by the TCP client. */
export interface Consumer {
  readonly id: number
  readonly msgTimeoutMs: number
  readonly sampleRate: number
  /** True when the consumer can take one more message now (RDY window open, writable, subscribed). */
  canTake (): boolean
  /** Sends a message that the channel has just put in flight for this consumer. */
  sendMessage (msg: Message): void
  /** One of its in-flight messages left flight without FIN/REQ from it (timeout, empty). */
  inFlightReleased (count: number): void
  /** The channel is going away: close the connection without a frame. */
  closeForDelete (): void
}

/** The channel's narrow view of its surroundings. */
export interface ChannelContext extends QueueCapDefaults {
  readonly memQueueSize: number
  readonly maxMsgTimeoutMs: number
  readonly maxChannelConsumers: number
  /** An ephemeral channel lost its last consumer. */
  ephemeralChannelEmpty (channel: Channel): void
  /** A message was FINed: end-to-end latency sample (ns). */
  recordLatency (channel: Channel, latencyNs: number): void
  /** Set when a backend write fails (health). */
  backendPutFailed (queueName: string): void
  /** Node-wide --max-attempts (0 = unlimited); absent in contexts without policies. */
  readonly maxAttempts?: number
  /** Node-wide --message-ttl in ms (0 = none). */
  readonly messageTtlMs?: number
  /** Publishes a dead letter to `topic`; false when it could not be stored (the message is then delivered). */
  deadLetter? (channel: Channel, topic: string, msg: Message, reason: 'max_attempts' | 'ttl'): boolean
  /** A channel's policy config changed (metadata). */
  policyChanged? (channel: Channel): void
}

export const ERR_NOT_IN_FLIGHT = 'ID not in flight'
export const ERR_NOT_OWNER = 'client does not own message'
export const ERR_ALREADY_DEFERRED = 'ID already deferred'
export const ERR_EXITING = 'exiting'

export class Channel {
  readonly topicName: string
  readonly name: string
  readonly ephemeral: boolean
  readonly backend: BackendQueue
  /** Durable mode: the backend, which keeps in-flight and deferred messages on disk; else null. */
  private readonly journal: JournalingBackendQueue | null
  private readonly ctx: ChannelContext

  paused = false
  exiting = false

  readonly memQueue = new MessageFifo()
  readonly inFlight = new Map<string, Message>()
  readonly inFlightPQ = new InFlightQueue()
  readonly deferred = new Map<string, Message>()
  readonly deferredPQ = new MessageHeap()

  private readonly consumers = new Map<number, Consumer>()
  private consumerList: Consumer[] = []
  private rr = 0
  private pumping = false

  messageCount = 0
  /** Deliveries taken from the memory queue (NSQ reports it as global_msg_count). */
  globalMsgCount = 0
  requeueCount = 0
  timeoutCount = 0
  /** Messages dropped because an ephemeral channel's memory was full. */
  droppedCount = 0
  /** Messages moved to the dead-letter topic (max attempts, or TTL with dead-lettering on). */
  deadLetterCount = 0
  /** Messages not delivered because they outlived their TTL (dead-lettered or dropped). */
  expiredCount = 0
  /** Bounded queue: oldest messages dropped to make room (drop-oldest, or an ephemeral channel). */
  fullDropCount = 0

  /** The config set over HTTP (POST /channel/config); empty when none. */
  policyConfig: ChannelPolicyConfig = {}
  /** The topic's config (POST /topic/config), set by the topic; the channel's own keys win. */
  topicPolicyConfig: ChannelPolicyConfig = {}
  /** Dead letters are the JSON envelope rather than the plain body. */
  deadLetterJson = false
  /** Effective policy (config, else node-wide flag); policyOn is the pump's one branch. */
  policyOn = false
  maxAttempts = 0
  messageTtlMs = 0
  deadLetterTopic = ''
  /** Dead-lettering is on: max attempts set, or a dead-letter topic configured. */
  deadLettering = false
  /** Bounded queue (config, else the topic's, else the flags); capOn when either bound is set. */
  cap: QueueCap = { maxMessages: 0, maxBytes: 0, dropOldest: false }
  capOn = false
  /** A drop-oldest trim found the oldest message not yet read back from disk: finish it when it is. */
  private trimPending = false
  private trimScheduled = false
  /** The policy counters as the store keeps them (dead letters, expired, dropped), reused per batch. */
  private readonly countersOut = [0, 0, 0]

  constructor (topicName: string, name: string, backend: BackendQueue, ctx: ChannelContext) {
    this.topicName = topicName
    this.name = name
    this.ephemeral = isEphemeral(name)
    this.backend = backend
    this.journal = journalOf(backend)
    this.ctx = ctx
    backend.onReadable = () => {
      if (this.trimPending) this.trimToCap()
      this.pump()
    }
    this.restoreCounters()
    this.refreshPolicy()
  }

  /** Replaces the channel's policy config (already validated) and recomputes the effective policy. */
  setPolicyConfig (config: ChannelPolicyConfig): void {
    this.policyConfig = config
    this.refreshPolicy()
    if (this.ctx.policyChanged !== undefined) this.ctx.policyChanged(this)
    this.pump()
  }

  /** Effective policy from the channel's config and the node-wide flags. */
  refreshPolicy (): void {
    const c = this.policyConfig
    const t = this.topicPolicyConfig
    this.maxAttempts = c.max_attempts ?? t.max_attempts ?? this.ctx.maxAttempts ?? 0
    this.messageTtlMs = c.message_ttl_ms ?? t.message_ttl_ms ?? this.ctx.messageTtlMs ?? 0
    const dlt = c.dead_letter_topic ?? t.dead_letter_topic
    this.deadLetterTopic = dlt ?? `${this.topicName}.dead`
    this.deadLetterJson = (c.dead_letter_envelope ?? t.dead_letter_envelope) === 'json'
    this.deadLettering = this.ctx.deadLetter !== undefined && (this.maxAttempts > 0 || dlt !== undefined)
    this.policyOn = this.maxAttempts > 0 || this.messageTtlMs > 0
    this.cap = effectiveCap(c, t, this.ctx)
    this.capOn = this.cap.maxMessages > 0 || this.cap.maxBytes > 0
    if (this.capOn && this.dropsOldest) this.scheduleTrim()
  }

  /**
   * A lowered drop-oldest cap trims on the next turn, not at once: at start the node-wide flags
   * apply before the stored channel and topic configs (which may lift the cap) are loaded.
   */
  private scheduleTrim (): void {
    if (this.trimScheduled) return
    this.trimScheduled = true
    setImmediate(() => {
      this.trimScheduled = false
      if (this.capOn && this.dropsOldest && !this.exiting) this.trimToCap()
    })
  }

  /** True when the policy is configured here or node-wide (its counters are then shown in /stats). */
  get hasPolicy (): boolean {
    return this.policyOn || this.deadLettering || this.capOn
  }

  /** A full queue drops its oldest message (an ephemeral channel never refuses its topic's publishes). */
  get dropsOldest (): boolean {
    return this.cap.dropOldest || this.ephemeral
  }

  get depth (): number {
    return this.memQueue.length + this.backend.depth()
  }

  /** The policy counters survive restarts (persistCounters). */
  private restoreCounters (): void {
    const saved = persistCounters(this.backend, () => {
      const o = this.countersOut
      o[0] = this.deadLetterCount
      o[1] = this.expiredCount
      o[2] = this.fullDropCount
      return o
    })
    if (saved === undefined) return
    this.deadLetterCount = saved[0] ?? 0
    this.expiredCount = saved[1] ?? 0
    this.fullDropCount = saved[2] ?? 0
  }

  /** Body bytes queued (memory + disk), what max_queue_bytes bounds. */
  get depthBytes (): number {
    return this.memQueue.bytes + this.backend.bytes()
  }

  /** Drop-oldest (policy.ts dropOldest); a trim that waits for the disk finishes in onReadable. */
  private trimToCap (): void {
    const dropped = dropOldest(this, this.cap)
    this.trimPending = trimWaits(this, this.cap)
    if (dropped === 0) return
    this.fullDropCount += dropped
    countersChanged(this.backend)
  }

  get clientCount (): number {
    return this.consumerList.length
  }

  get clients (): readonly Consumer[] {
    return this.consumerList
  }

  // ---- putting messages in ---------------------------------------------------------------------

  /** A new message from the topic (or one coming back from flight). False if it could not be stored. */
  put (msg: Message): boolean {
    if (this.exiting) return false
    if (!this.enqueue(msg)) return false
    this.messageCount++
    if (this.capOn && this.dropsOldest) this.trimToCap()
    this.pump()
    return true
  }

  /** A message from the topic that carries a publish-time deferral. */
  putDeferred (msg: Message, deferMs: number, now = Date.now()): void {
    if (this.exiting) return
    this.messageCount++
    if (this.startDeferred(msg, now + deferMs) && this.journal !== null) this.journal.markDeferred(msg, msg.pri)
  }

  private enqueue (msg: Message): boolean {
    // Once anything sits in the backend, new messages follow it there, so order is kept.
    if (this.memQueue.length < this.ctx.memQueueSize && this.backend.depth() === 0) {
      this.memQueue.push(msg)
      return true
    }
    if (this.ephemeral) {
      // no room in memory: as NSQ's unbuffered hand-off (--mem-queue-size=0), a consumer that can
      // take it right now gets it; otherwise it is dropped (an ephemeral channel has no disk)
      if (this.memQueue.length === 0 && !this.pumping && !this.paused && this.nextReady() >= 0) {
        this.memQueue.push(msg)
        this.pump()
        return true
      }
      this.droppedCount++
      return true
    }
    if (!this.backend.put(msg)) {
      this.ctx.backendPutFailed(`${this.topicName}:${this.name}`)
      return false
    }
    return true
  }

  private startDeferred (msg: Message, dueMs: number): boolean {
    if (this.deferred.has(msg.id)) return false
    msg.pri = dueMs
    msg.clientId = 0
    this.deferred.set(msg.id, msg)
    this.deferredPQ.push(msg)
    return true
  }

  // ---- delivery --------------------------------------------------------------------------------

  /** Delivers queued messages to ready consumers until one side runs out. */
  pump (): void {
    if (this.pumping || this.paused || this.exiting) return
    const list = this.consumerList
    if (list.length === 0) return
    this.pumping = true
    try {
      const now = Date.now()
      while (true) {
        const idx = this.nextReady()
        if (idx < 0) break
        let msg = this.memQueue.shift()
        if (msg !== undefined) this.globalMsgCount++
        else msg = this.backend.shift()
        if (msg === undefined) break
        if (this.policyOn && this.applyPolicy(msg, now)) continue
        const consumer = list[idx] as Consumer
        this.rr = idx + 1 < list.length ? idx + 1 : 0
        const rate = consumer.sampleRate
        if (rate > 0 && Math.floor(Math.random() * 100) > rate) continue
        msg.attempts++
        msg.deliveryTs = now
        msg.clientId = consumer.id
        msg.pri = now + consumer.msgTimeoutMs
        this.inFlight.set(msg.id, msg)
        this.inFlightPQ.push(msg)
        if (this.journal !== null) this.journal.markInFlight(msg)
        consumer.sendMessage(msg)
      }
    } finally {
      this.pumping = false
    }
  }

  /**
   * The slow path when a policy is set: true when `msg` is not to be delivered (dead-lettered or
   * expired). Runs before the attempt is counted, so attempt max_attempts + 1 never reaches a client.
   * The dead-letter publish happens in the same tick as the read from this channel's queue, so both
   * land in the same store batch.
   */
  private applyPolicy (msg: Message, now: number): boolean {
    const ttl = this.messageTtlMs
    if (ttl > 0 && now - msg.timestamp / 1e6 > ttl) {
      if (this.deadLettering && !this.sendDeadLetter(msg, 'ttl')) return false
      this.expiredCount++
      countersChanged(this.backend)
      return true
    }
    if (this.maxAttempts > 0 && msg.attempts >= this.maxAttempts && this.deadLettering) {
      return this.sendDeadLetter(msg, 'max_attempts')
    }
    return false
  }

  private sendDeadLetter (msg: Message, reason: 'max_attempts' | 'ttl'): boolean {
    const dl = this.ctx.deadLetter
    if (dl === undefined || !dl.call(this.ctx, this, this.deadLetterTopic, msg, reason)) return false
    this.deadLetterCount++
    countersChanged(this.backend)
    return true
  }

  /** Index of the next consumer, round-robin from `rr`, that can take a message; -1 if none. */
  private nextReady (): number {
    const list = this.consumerList
    const n = list.length
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n
      if ((list[i] as Consumer).canTake()) return i
    }
    return -1
  }

  // ---- FIN / REQ / TOUCH -----------------------------------------------------------------------

  private takeInFlight (clientId: number, id: string): Message | string {
    const msg = this.inFlight.get(id)
    if (msg === undefined) return ERR_NOT_IN_FLIGHT
    if (msg.clientId !== clientId) return ERR_NOT_OWNER
    this.inFlight.delete(id)
    this.inFlightPQ.remove(msg)
    return msg
  }

  /** Returns null on success or the failure reason. */
  finish (clientId: number, id: string, nowNs: number): string | null {
    const msg = this.takeInFlight(clientId, id)
    if (typeof msg === 'string') return msg
    if (this.journal !== null) this.journal.markDone(msg)
    this.ctx.recordLatency(this, nowNs - msg.timestamp)
    return null
  }

  requeue (clientId: number, id: string, timeoutMs: number, now = Date.now()): string | null {
    const got = this.inFlight.get(id)
    if (got === undefined) return ERR_NOT_IN_FLIGHT
    if (got.clientId !== clientId) return ERR_NOT_OWNER
    if (timeoutMs > 0 && this.deferred.has(id)) return ERR_ALREADY_DEFERRED
    if (this.exiting) return ERR_EXITING
    const msg = this.takeInFlight(clientId, id) as Message
    this.requeueCount++
    msg.clientId = 0
    msg.lastEnd = END_REQUEUED
    if (this.journal !== null) this.journal.markDone(msg)
    if (timeoutMs <= 0) {
      if (!this.enqueue(msg)) return 'failed to requeue message'
      this.pump()
    } else {
      this.startDeferred(msg, now + timeoutMs)
      if (this.journal !== null) this.journal.markDeferred(msg, msg.pri)
    }
    return null
  }

  touch (clientId: number, id: string, msgTimeoutMs: number, now = Date.now()): string | null {
    const msg = this.inFlight.get(id)
    if (msg === undefined) return ERR_NOT_IN_FLIGHT
    if (msg.clientId !== clientId) return ERR_NOT_OWNER
    let deadline = now + msgTimeoutMs
    const ceiling = msg.deliveryTs + this.ctx.maxMsgTimeoutMs
    if (deadline > ceiling) deadline = ceiling
    msg.pri = deadline
    this.inFlightPQ.update(msg)
    return null
  }

  // ---- timeouts (called by the node's queue scan) ----------------------------------------------

  /** Requeues in-flight messages whose deadline passed. Returns how many. */
  processInFlight (now: number): number {
    let n = 0
    let msg: Message | undefined
    while ((msg = this.inFlightPQ.popDue(now)) !== undefined) {
      this.inFlight.delete(msg.id)
      this.timeoutCount++
      msg.lastEnd = END_TIMEOUT
      const owner = this.consumers.get(msg.clientId)
      msg.clientId = 0
      if (owner !== undefined) owner.inFlightReleased(1)
      if (this.journal !== null) this.journal.markDone(msg)
      this.enqueue(msg)
      n++
    }
    if (n > 0) this.pump()
    return n
  }

  /** Moves due deferred messages into the queue. Returns how many. */
  processDeferred (now: number): number {
    let n = 0
    let msg: Message | undefined
    while ((msg = this.deferredPQ.popDue(now)) !== undefined) {
      this.deferred.delete(msg.id)
      if (this.journal !== null) this.journal.unmarkDeferred(msg)
      this.enqueue(msg)
      n++
    }
    if (n > 0) this.pump()
    return n
  }

  // ---- consumers -------------------------------------------------------------------------------

  /** Adds a subscriber; returns an error reason or null. */
  addConsumer (c: Consumer): string | null {
    if (this.exiting) return ERR_EXITING
    if (this.consumers.has(c.id)) return null
    const max = this.ctx.maxChannelConsumers
    if (max > 0 && this.consumers.size >= max) {
      return `consumers for ${this.topicName}:${this.name} exceeds limit of ${max}`
    }
    this.consumers.set(c.id, c)
    // in place (no copy of the whole list per subscriber), unless a pump is walking the list
    if (this.pumping) this.consumerList = [...this.consumerList, c]
    else this.consumerList.push(c)
    return null
  }

  removeConsumer (c: Consumer): void {
    const stored = this.consumers.get(c.id)
    if (stored === undefined) return
    this.consumers.delete(c.id)
    const list = this.pumping ? this.consumerList.slice() : this.consumerList
    const i = list.indexOf(stored)
    if (i >= 0) list.splice(i, 1)
    this.consumerList = list
    if (this.ephemeral && this.consumers.size === 0 && !this.exiting) this.ctx.ephemeralChannelEmpty(this)
  }

  // ---- admin actions ---------------------------------------------------------------------------

  pause (): void {
    this.paused = true
  }

  unpause (): void {
    this.paused = false
    this.pump()
  }

  /** Drops queued, in-flight and deferred messages; every consumer's in-flight count goes to 0. */
  empty (): void {
    this.memQueue.clear()
    this.backend.empty()
    this.inFlight.clear()
    this.inFlightPQ.clear()
    this.deferred.clear()
    this.deferredPQ.clear()
    for (const c of this.consumerList) c.inFlightReleased(Infinity)
    this.pump()
  }

  /** Everything the channel holds that is not on disk, for a clean shutdown: queue, in flight, deferred. */
  takeAllForShutdown (): { queued: Message[], inFlight: Message[], deferred: Message[] } {
    const queued = this.memQueue.drain()
    const inFlight = this.inFlightPQ.clear()
    this.inFlight.clear()
    const deferred = this.deferredPQ.clear()
    this.deferred.clear()
    return { queued, inFlight, deferred }
  }

  /** Marks the channel exiting and closes its consumers' connections (deletion). */
  closeConsumersForDelete (): void {
    this.exiting = true
    const list = this.consumerList
    this.consumerList = []
    this.consumers.clear()
    for (const c of list) c.closeForDelete()
  }
}
