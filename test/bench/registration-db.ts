// RegistrationDB throughput: ops/s for the operations nsqlookupd performs, with many producers and
// topics. `npx tsx test/bench/registration-db.ts [producers] [topics] [channelsPerTopic]`
// Defaults: 200 nsqd producers, 2000 topics, 3 channels each (every producer has every topic).

import { CATEGORY, RegistrationDB, newPeerInfo } from '../../lookupd/registration-db.js'
import type { PeerInfo } from '../../lookupd/registration-db.js'

const producers = Number(process.argv[2] ?? 200)
const topics = Number(process.argv[3] ?? 2000)
const channelsPerTopic = Number(process.argv[4] ?? 3)
const limits = { inactiveProducerTimeoutMs: 300_000, tombstoneLifetimeMs: 45_000 }

function report (name: string, ops: number, ms: number): void {
  const rate = ops / (ms / 1000)
  console.log(`${name.padEnd(44)} ${String(ops).padStart(9)} ops  ${ms.toFixed(1).padStart(8)} ms  ${Math.round(rate).toLocaleString('en-US').padStart(12)} ops/s`)
}

function time (name: string, ops: number, fn: () => void): void {
  const t0 = performance.now()
  fn()
  report(name, ops, performance.now() - t0)
}

const peers: PeerInfo[] = []
for (let p = 0; p < producers; p++) {
  peers.push(newPeerInfo(`10.0.${p >> 8}.${p & 255}:${40000 + p}`, { broadcastAddress: `nsqd${p}`, hostname: `nsqd${p}`, tcpPort: 4150, httpPort: 4151, version: '1.3.0', lastUpdateMs: 0 }))
}
const topicNames = Array.from({ length: topics }, (_, i) => `topic_${i}`)
const channelNames = Array.from({ length: channelsPerTopic }, (_, i) => `channel_${i}`)

console.log(`RegistrationDB: ${producers} producers x ${topics} topics x ${channelsPerTopic} channels`)
const db = new RegistrationDB()

time('add (IDENTIFY: client registration)', producers, () => {
  for (const peer of peers) db.addProducer(CATEGORY.CLIENT, '', '', peer)
})
const regOps = producers * topics * (1 + channelsPerTopic)
time('add (REGISTER topic + channels)', regOps, () => {
  for (const peer of peers) {
    for (const t of topicNames) {
      db.addProducer(CATEGORY.TOPIC, t, '', peer)
      for (const c of channelNames) db.addProducer(CATEGORY.CHANNEL, t, c, peer)
    }
  }
})
time('add (re-REGISTER, idempotent)', producers * topics, () => {
  for (const peer of peers) for (const t of topicNames) db.addProducer(CATEGORY.TOPIC, t, '', peer)
})

const lookups = 200_000
let sink = 0
time('find (channels of a topic)', lookups, () => {
  for (let i = 0; i < lookups; i++) sink += db.channels(topicNames[i % topics] as string).length
})
const lookupN = Math.max(1, Math.floor(2_000_000 / producers))
time(`lookup (/lookup producers, ${producers} per topic)`, lookupN, () => {
  for (let i = 0; i < lookupN; i++) sink += db.lookupProducers(topicNames[i % topics] as string, 1000, limits).length
})
time('lookup (/topics)', 1000, () => {
  for (let i = 0; i < 1000; i++) sink += db.topics().length
})
const nodesN = Math.max(1, Math.floor(8_000_000 / (producers * topics)))
time(`lookup (/nodes: ${producers} peers with ${topics} topics)`, nodesN, () => {
  for (let i = 0; i < nodesN; i++) {
    for (const peer of db.activePeers(1000, limits.inactiveProducerTimeoutMs)) sink += db.peerTopics(peer.id, 1000, limits.tombstoneLifetimeMs).topics.length
  }
})
time('tombstone (one node of a topic)', 10_000, () => {
  for (let i = 0; i < 10_000; i++) sink += db.tombstoneTopicProducer(topicNames[i % topics] as string, `nsqd${i % producers}:4151`, 1000)
})
time('remove (UNREGISTER channel)', producers * topics, () => {
  for (const peer of peers) for (const t of topicNames) db.removeProducer(CATEGORY.CHANNEL, t, channelNames[0] as string, peer.id)
})
const perPeer = db.registrationsOf(peers[0]!.id).length
time(`remove (disconnect, ${perPeer} registrations each)`, producers * perPeer, () => {
  for (const peer of peers) db.removePeer(peer.id)
})
if (sink === -1) console.log(sink)
