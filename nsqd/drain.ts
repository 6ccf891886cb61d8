// Drain mode for decommissioning a node (not in NSQ; issue 17). PUT /config/draining `true` or
// SIGUSR2 starts it:
//   - new PUB/MPUB/DPUB are refused (TCP E_PUB_FAILED "PUB failed draining" etc.; HTTP 503 DRAINING),
//     new SUBs are refused (E_SUB_FAILED "SUB failed draining"); connected consumers go on;
//   - the node UNREGISTERs every channel and topic with its lookupds (and registers nothing new, even
//     after a reconnect), so lookupd stops listing it for the topic while it stays in /nodes;
//   - it is drained when no topic holds a message and no channel holds a queued, in-flight or
//     deferred one. A topic without channels that holds messages (nowhere to deliver them) or a
//     paused topic/channel holding messages keeps the drain waiting: /stats lists such topics;
//   - except a dead-letter topic without channels (issue 16): its messages are parked for an
//     operator, not waiting for delivery, so it does not hold the drain up. /stats lists it in
//     drain_dead_letter_topics, the drained log line names it, and its messages stay in the store
//     under --data-path (a topic with channels is drained like any other);
//   - once drained, `onDrained` runs (the nsqd binary then exits 0 unless --drain-exit=false).
// PUT /config/draining `false` cancels a drain that has not finished: the node registers again.

import type { Topic } from './core/topic.js'
import type { Logger } from './logger.js'

export interface DrainHost {
  readonly topics: ReadonlyMap<string, Topic>
  readonly logger: Logger
  /** Tells the lookupds to forget (true) or list again (false) everything this node has. */
  setListed (listed: boolean): void
}

/** How often the drained condition is checked (ms). */
const CHECK_INTERVAL_MS = 100

export class Drain {
  private active = false
  private finished = false
  private timer: NodeJS.Timeout | null = null
  /** Called once when a drain finishes (the binary exits here unless --drain-exit=false). */
  onDrained: (() => void) | null = null
  /**
   * A replicated primary (nsqd/replication) drains by handing over to an in-sync standby instead:
   * `start` calls this, which answers why it refuses (null once started).
   */
  handOff: ((reason: string) => string | null) | null = null

  private readonly host: DrainHost

  constructor (host: DrainHost) {
    this.host = host
  }

  /** True from the start of a drain on (also once finished), until it is cancelled. */
  get draining (): boolean {
    return this.active
  }

  /** True once a drain has delivered everything. */
  get drained (): boolean {
    return this.finished
  }

  /** Starts a drain; answers why not when a replicated primary cannot hand over (else null). */
  start (reason: string): string | null {
    if (this.handOff !== null) return this.handOff(reason)
    if (this.active) return null
    this.active = true
    this.finished = false
    this.host.logger.info(`NSQ: draining (${reason}): refusing publishes and new consumers`)
    this.host.setListed(false)
    this.timer = setInterval(() => { this.check() }, CHECK_INTERVAL_MS)
    this.timer.unref()
    this.check()
    return null
  }

  /** Cancels a drain that has not finished; false when it has (the node may already be going). */
  cancel (): boolean {
    if (!this.active) return true
    if (this.finished) return false
    this.stopTimer()
    this.active = false
    this.host.logger.info('NSQ: drain cancelled')
    this.host.setListed(true)
    return true
  }

  /**
   * Names of the dead-letter topics: every channel's dead-letter topic while dead-lettering is on,
   * and every topic that has received a dead letter since start.
   */
  private deadLetterTopics (): Set<string> {
    const out = new Set<string>()
    for (const t of this.host.topics.values()) {
      if (t.receivedDeadLetters) out.add(t.name)
      for (const ch of t.channelsList) if (ch.deadLettering) out.add(ch.deadLetterTopic)
    }
    return out
  }

  /** A dead-letter topic without channels: parked messages that do not keep the drain waiting. */
  private parked (t: Topic, dead: Set<string>): boolean {
    return t.channels.size === 0 && dead.has(t.name)
  }

  /** Messages still on the node: topic queues, channel queues, in flight and deferred. */
  remaining (): number {
    const dead = this.deadLetterTopics()
    let n = 0
    for (const t of this.host.topics.values()) {
      if (!this.parked(t, dead)) n += t.depth
      for (const ch of t.channelsList) n += ch.depth + ch.inFlightPQ.length + ch.deferredPQ.length
    }
    return n
  }

  /** Topics holding messages with no channel to deliver them to: they keep a drain waiting. */
  stuckTopics (): string[] {
    const dead = this.deadLetterTopics()
    const out: string[] = []
    for (const t of this.host.topics.values()) if (t.channels.size === 0 && t.depth > 0 && !dead.has(t.name)) out.push(t.name)
    return out
  }

  /** Dead-letter topics without channels that hold messages: left in the store, not waited for. */
  parkedTopics (): string[] {
    const dead = this.deadLetterTopics()
    const out: string[] = []
    for (const t of this.host.topics.values()) if (this.parked(t, dead) && t.depth > 0) out.push(t.name)
    return out
  }

  /** The fields /stats adds while draining (absent otherwise). */
  statsFields (): { draining: true, drain_remaining: number, drain_stuck_topics: string[], drain_dead_letter_topics: string[] } {
    return { draining: true, drain_remaining: this.remaining(), drain_stuck_topics: this.stuckTopics(), drain_dead_letter_topics: this.parkedTopics() }
  }

  close (): void {
    this.stopTimer()
  }

  private stopTimer (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  private check (): void {
    if (!this.active || this.finished || this.remaining() > 0) return
    this.finished = true
    this.stopTimer()
    const parked = this.parkedTopics()
    if (parked.length === 0) {
      this.host.logger.info('NSQ: drained: every message delivered')
    } else {
      const list = parked.map((name) => `${name} (${this.host.topics.get(name)?.depth ?? 0})`).join(', ')
      this.host.logger.info(`NSQ: drained: every message delivered; dead letters left in the store: ${list}`)
    }
    if (this.onDrained !== null) this.onDrained()
  }
}
