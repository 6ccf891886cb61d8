// nsqlookupd's registration database (spec: lookupd.md §2, §6). Pure data: no I/O, no timers; every
// time-dependent question takes `nowMs`. A registration is (category, key, subkey):
//   ("client", "", "")           every identified nsqd
//   ("topic", topic, "")         a topic
//   ("channel", topic, channel)  a channel of a topic
// Each maps to producers keyed by peer id (the nsqd connection's remote ip:port). All producers of one
// peer share one PeerInfo object, so a PING refreshes the peer everywhere; the tombstone is per
// (registration, producer).
//
// Indexes kept so that every operation the daemon performs is O(answer), not O(database):
//   topics:   topic -> its "topic" registration
//   channels: topic -> channel -> its "channel" registration
//   byPeer:   peer id -> every registration it is in (disconnect cleanup)
//   peerTopicIdx: peer id -> topic -> producer entry (/nodes: topics with tombstones)

import { goJson } from '../client/wire/go-json.js'
import type { Int64 } from '../client/wire/go-unmarshal.js'

export const CATEGORY = { CLIENT: 'client', TOPIC: 'topic', CHANNEL: 'channel' } as const
export type Category = typeof CATEGORY[keyof typeof CATEGORY]

export interface PeerInfo {
  /** Peer id: the remote address of the nsqd's connection to this lookupd. */
  id: string
  remoteAddress: string
  hostname: string
  broadcastAddress: string
  /** Go int (int64): a bigint beyond ±(2^53 − 1), so it is printed exactly. */
  tcpPort: Int64
  httpPort: Int64
  version: string
  topologyZone: string
  topologyRegion: string
  /** Set by IDENTIFY and every PING. */
  lastUpdateMs: number
}

export interface Producer {
  readonly peer: PeerInfo
  tombstoned: boolean
  tombstonedAtMs: number
}

export interface Registration {
  readonly category: Category
  readonly key: string
  readonly subkey: string
  /** peer id -> producer; insertion-ordered. */
  readonly producers: Map<string, Producer>
}

export interface LivenessLimits {
  inactiveProducerTimeoutMs: number
  tombstoneLifetimeMs: number
}

export function newPeerInfo (id: string, fields: Partial<Omit<PeerInfo, 'id'>> = {}): PeerInfo {
  return {
    id,
    remoteAddress: fields.remoteAddress ?? id,
    hostname: fields.hostname ?? '',
    broadcastAddress: fields.broadcastAddress ?? '',
    tcpPort: fields.tcpPort ?? 0,
    httpPort: fields.httpPort ?? 0,
    version: fields.version ?? '',
    topologyZone: fields.topologyZone ?? '',
    topologyRegion: fields.topologyRegion ?? '',
    lastUpdateMs: fields.lastUpdateMs ?? 0
  }
}

/**
 * A peer as Go's json.Marshal writes nsqlookupd's PeerInfo in /lookup (key order is part of the
 * contract), written by hand so an int64 port beyond 2^53 prints exactly. `extra` (already JSON,
 * starting with a comma) goes before the closing brace: /nodes adds tombstones and topics.
 */
export function peerJsonText (p: PeerInfo, extra = ''): string {
  return `{"remote_address":${goJson(p.remoteAddress)},"hostname":${goJson(p.hostname)},` +
    `"broadcast_address":${goJson(p.broadcastAddress)},"tcp_port":${p.tcpPort},"http_port":${p.httpPort},` +
    `"version":${goJson(p.version)},"topology_zone":${goJson(p.topologyZone)},"topology_region":${goJson(p.topologyRegion)}${extra}}`
}

/** Active: pinged within the inactivity timeout. */
export function isActive (p: Producer, nowMs: number, inactiveProducerTimeoutMs: number): boolean {
  return nowMs - p.peer.lastUpdateMs <= inactiveProducerTimeoutMs
}

/** Tombstoned: marked by /topic/tombstone less than `lifetimeMs` ago. */
export function isTombstoned (p: Producer, nowMs: number, lifetimeMs: number): boolean {
  return p.tombstoned && nowMs - p.tombstonedAtMs < lifetimeMs
}

export function tombstone (p: Producer, nowMs: number): void {
  p.tombstoned = true
  p.tombstonedAtMs = nowMs
}

export function regId (category: string, key: string, subkey: string): string {
  return `${category}:${key}:${subkey}`
}

export class RegistrationDB {
  private readonly client: Registration = newRegistration(CATEGORY.CLIENT, '', '')
  private readonly topicRegs = new Map<string, Registration>()
  private readonly channelRegs = new Map<string, Map<string, Registration>>()
  private readonly byPeer = new Map<string, Set<Registration>>()
  /** peer id -> topic -> its producer entry there (the /nodes topics and tombstones). */
  private readonly peerTopicIdx = new Map<string, Map<string, Producer>>()

  /** Finds one registration, or undefined. */
  get (category: Category, key: string, subkey: string): Registration | undefined {
    switch (category) {
      case CATEGORY.CLIENT: return key === '' && subkey === '' ? this.client : undefined
      case CATEGORY.TOPIC: return subkey === '' ? this.topicRegs.get(key) : undefined
      case CATEGORY.CHANNEL: return this.channelRegs.get(key)?.get(subkey)
    }
  }

  /** Creates the registration (with no producers) if it does not exist; returns it. */
  addRegistration (category: Category, key: string, subkey: string): Registration {
    const found = this.get(category, key, subkey)
    if (found !== undefined) return found
    if (category === CATEGORY.CLIENT) throw new Error('the client registration is ("client", "", "")')
    const reg = newRegistration(category, key, subkey)
    if (category === CATEGORY.TOPIC) {
      if (subkey !== '') throw new Error('a topic registration has no subkey')
      this.topicRegs.set(key, reg)
    } else {
      let chans = this.channelRegs.get(key)
      if (chans === undefined) {
        chans = new Map()
        this.channelRegs.set(key, chans)
      }
      chans.set(subkey, reg)
    }
    return reg
  }

  /**
   * Adds `peer` as a producer of the registration (created if needed). Idempotent: an existing entry
   * (and its tombstone) is kept. Returns true if the producer was added.
   */
  addProducer (category: Category, key: string, subkey: string, peer: PeerInfo): boolean {
    const reg = this.addRegistration(category, key, subkey)
    if (reg.producers.has(peer.id)) return false
    const producer: Producer = { peer, tombstoned: false, tombstonedAtMs: 0 }
    reg.producers.set(peer.id, producer)
    if (category === CATEGORY.TOPIC) {
      let topics = this.peerTopicIdx.get(peer.id)
      if (topics === undefined) {
        topics = new Map()
        this.peerTopicIdx.set(peer.id, topics)
      }
      topics.set(key, producer)
    }
    let regs = this.byPeer.get(peer.id)
    if (regs === undefined) {
      regs = new Set()
      this.byPeer.set(peer.id, regs)
    }
    regs.add(reg)
    return true
  }

  /**
   * Removes a producer from a registration (the registration itself stays). Returns whether it was
   * there and how many producers are left (0 for an unknown registration).
   */
  removeProducer (category: Category, key: string, subkey: string, peerId: string): { removed: boolean, left: number } {
    const reg = this.get(category, key, subkey)
    if (reg === undefined) return { removed: false, left: 0 }
    const removed = reg.producers.delete(peerId)
    if (removed) this.unindex(peerId, reg)
    return { removed, left: reg.producers.size }
  }

  /** Deletes a registration and all its producers. Returns whether it existed. */
  removeRegistration (category: Category, key: string, subkey: string): boolean {
    const reg = this.get(category, key, subkey)
    if (reg === undefined) return false
    for (const id of reg.producers.keys()) this.unindex(id, reg)
    reg.producers.clear()
    if (category === CATEGORY.CLIENT) return true
    if (category === CATEGORY.TOPIC) {
      this.topicRegs.delete(key)
    } else {
      const chans = this.channelRegs.get(key)
      if (chans !== undefined) {
        chans.delete(subkey)
        if (chans.size === 0) this.channelRegs.delete(key)
      }
    }
    return true
  }

  /** Removes a peer from every registration it is in (connection closed). Returns how many. */
  removePeer (peerId: string): number {
    const regs = this.byPeer.get(peerId)
    if (regs === undefined) return 0
    this.byPeer.delete(peerId)
    this.peerTopicIdx.delete(peerId)
    for (const reg of regs) reg.producers.delete(peerId)
    return regs.size
  }

  /** Every registration `peerId` is a producer of. */
  registrationsOf (peerId: string): Registration[] {
    const regs = this.byPeer.get(peerId)
    return regs === undefined ? [] : [...regs]
  }

  /** Topic names `peerId` is registered for (its "topic" registrations). */
  topicsOf (peerId: string): string[] {
    const topics = this.peerTopicIdx.get(peerId)
    return topics === undefined ? [] : [...topics.keys()]
  }

  hasTopic (topic: string): boolean {
    return this.topicRegs.has(topic)
  }

  /** Every topic registration's name, with or without producers. */
  topics (): string[] {
    return [...this.topicRegs.keys()]
  }

  /** Channel names registered under `topic` (with or without producers). */
  channels (topic: string): string[] {
    const chans = this.channelRegs.get(topic)
    return chans === undefined ? [] : [...chans.keys()]
  }

  /** Deletes the topic registration and all its channel registrations. */
  removeTopic (topic: string): void {
    const chans = this.channelRegs.get(topic)
    if (chans !== undefined) {
      for (const name of [...chans.keys()]) this.removeRegistration(CATEGORY.CHANNEL, topic, name)
    }
    this.removeRegistration(CATEGORY.TOPIC, topic, '')
  }

  /** All producers of a registration (none if it does not exist). */
  producers (category: Category, key: string, subkey: string): Producer[] {
    const reg = this.get(category, key, subkey)
    return reg === undefined ? [] : [...reg.producers.values()]
  }

  /** Producers of `topic` that are active and not tombstoned: the /lookup answer. */
  lookupProducers (topic: string, nowMs: number, limits: LivenessLimits): PeerInfo[] {
    const out: PeerInfo[] = []
    const reg = this.topicRegs.get(topic)
    if (reg === undefined) return out
    for (const p of reg.producers.values()) {
      if (!isActive(p, nowMs, limits.inactiveProducerTimeoutMs)) continue
      if (isTombstoned(p, nowMs, limits.tombstoneLifetimeMs)) continue
      out.push(p.peer)
    }
    return out
  }

  /** Identified peers that are active (tombstones do not matter here): the /nodes list. */
  activePeers (nowMs: number, inactiveProducerTimeoutMs: number): PeerInfo[] {
    const out: PeerInfo[] = []
    for (const p of this.client.producers.values()) {
      if (isActive(p, nowMs, inactiveProducerTimeoutMs)) out.push(p.peer)
    }
    return out
  }

  /** Topics of a peer with whether it is tombstoned on each (parallel arrays, as /nodes needs). */
  peerTopics (peerId: string, nowMs: number, tombstoneLifetimeMs: number): { topics: string[], tombstones: boolean[] } {
    const topics: string[] = []
    const tombstones: boolean[] = []
    const idx = this.peerTopicIdx.get(peerId)
    if (idx !== undefined) {
      for (const [topic, p] of idx) {
        topics.push(topic)
        tombstones.push(isTombstoned(p, nowMs, tombstoneLifetimeMs))
      }
    }
    return { topics, tombstones }
  }

  /** Channel names of every topic, one per channel registration (Go's FindRegistrations("channel", "*", "*")). */
  allChannels (): string[] {
    const out: string[] = []
    for (const chans of this.channelRegs.values()) for (const name of chans.keys()) out.push(name)
    return out
  }

  /**
   * One producer entry per peer across every topic registration, the first found (Go's
   * FindProducers("topic", "*", ""), whose map order is unspecified).
   */
  anyTopicProducers (): Producer[] {
    const seen = new Map<string, Producer>()
    for (const reg of this.topicRegs.values()) {
      for (const [id, p] of reg.producers) if (!seen.has(id)) seen.set(id, p)
    }
    return [...seen.values()]
  }

  /** Deletes every topic and channel registration (POST /topic/delete?topic=*). */
  removeAllTopics (): void {
    for (const topic of [...this.channelRegs.keys()]) {
      for (const name of [...(this.channelRegs.get(topic)?.keys() ?? [])]) this.removeRegistration(CATEGORY.CHANNEL, topic, name)
    }
    for (const topic of [...this.topicRegs.keys()]) this.removeRegistration(CATEGORY.TOPIC, topic, '')
  }

  /** Tombstones every producer of `topic` whose `broadcast_address:http_port` is `node`. */
  tombstoneTopicProducer (topic: string, node: string, nowMs: number): number {
    const reg = this.topicRegs.get(topic)
    if (reg === undefined) return 0
    let n = 0
    for (const p of reg.producers.values()) {
      if (`${p.peer.broadcastAddress}:${p.peer.httpPort}` === node) {
        tombstone(p, nowMs)
        n++
      }
    }
    return n
  }

  /** Every registration (client first, then topics with their channels). */
  * all (): IterableIterator<Registration> {
    yield this.client
    for (const reg of this.topicRegs.values()) yield reg
    for (const chans of this.channelRegs.values()) yield * chans.values()
  }

  private unindex (peerId: string, reg: Registration): void {
    if (reg.category === CATEGORY.TOPIC) {
      const topics = this.peerTopicIdx.get(peerId)
      if (topics !== undefined) {
        topics.delete(reg.key)
        if (topics.size === 0) this.peerTopicIdx.delete(peerId)
      }
    }
    const regs = this.byPeer.get(peerId)
    if (regs === undefined) return
    regs.delete(reg)
    if (regs.size === 0) this.byPeer.delete(peerId)
  }
}

function newRegistration (category: Category, key: string, subkey: string): Registration {
  return { category, key, subkey, producers: new Map() }
}
