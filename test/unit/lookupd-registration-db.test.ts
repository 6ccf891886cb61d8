// nsqlookupd's registration database: registrations with and without producers, idempotent
// REGISTER (tombstones survive), producer removal vs registration removal, per-peer cleanup, the
// liveness filters (inactive producers, tombstone lifetime) and /nodes' parallel arrays.

import t from 'tap'
import { CATEGORY, RegistrationDB, isActive, isTombstoned, newPeerInfo, peerJsonText } from '../../lookupd/registration-db.js'

const limits = { inactiveProducerTimeoutMs: 300_000, tombstoneLifetimeMs: 45_000 }

function peer (id: string, n = 1, lastUpdateMs = 1000) {
  return newPeerInfo(id, { broadcastAddress: `nsqd${n}`, hostname: `host${n}`, tcpPort: 4150, httpPort: 4151, version: '1.3.0', lastUpdateMs })
}

t.test('registrations exist with zero producers; topics and channels list them', async (t) => {
  const db = new RegistrationDB()
  t.same(db.topics(), [])
  t.same(db.channels('a'), [])
  db.addRegistration(CATEGORY.TOPIC, 'a', '')
  db.addRegistration(CATEGORY.CHANNEL, 'b', 'c1')
  t.same(db.topics(), ['a'], 'a channel registration alone does not make a topic')
  t.same(db.channels('b'), ['c1'])
  t.ok(db.hasTopic('a'))
  t.notOk(db.hasTopic('b'))
  t.equal(db.addRegistration(CATEGORY.TOPIC, 'a', ''), db.get(CATEGORY.TOPIC, 'a', ''), 'idempotent')
  t.same(db.producers(CATEGORY.TOPIC, 'a', ''), [])
  t.same(db.producers(CATEGORY.TOPIC, 'nope', ''), [])
  t.equal(db.get(CATEGORY.TOPIC, 'a', 'x'), undefined, 'a topic registration has no subkey')
  t.throws(() => db.addRegistration(CATEGORY.CLIENT, 'x', ''))
})

t.test('addProducer is idempotent and keeps the existing entry and its tombstone', async (t) => {
  const db = new RegistrationDB()
  const p = peer('10.0.0.1:5000')
  t.equal(db.addProducer(CATEGORY.TOPIC, 't', '', p), true)
  t.equal(db.addProducer(CATEGORY.TOPIC, 't', '', p), false)
  t.equal(db.tombstoneTopicProducer('t', 'nsqd1:4151', 2000), 1)
  t.equal(db.addProducer(CATEGORY.TOPIC, 't', '', p), false)
  const [prod] = db.producers(CATEGORY.TOPIC, 't', '')
  t.equal(prod?.tombstoned, true, 'tombstone survives re-register')
  t.equal(prod?.tombstonedAtMs, 2000)
  t.equal(db.tombstoneTopicProducer('t', 'nsqd1:9999', 2000), 0, 'node must match broadcast_address:http_port')
  t.equal(db.tombstoneTopicProducer('unknown', 'nsqd1:4151', 2000), 0)
})

t.test('removeProducer leaves the registration; removeRegistration deletes it', async (t) => {
  const db = new RegistrationDB()
  const a = peer('a:1', 1)
  const b = peer('b:1', 2)
  db.addProducer(CATEGORY.CHANNEL, 't', 'c', a)
  db.addProducer(CATEGORY.CHANNEL, 't', 'c', b)
  t.same(db.removeProducer(CATEGORY.CHANNEL, 't', 'c', 'a:1'), { removed: true, left: 1 })
  t.same(db.removeProducer(CATEGORY.CHANNEL, 't', 'c', 'a:1'), { removed: false, left: 1 })
  t.same(db.removeProducer(CATEGORY.CHANNEL, 't', 'c', 'b:1'), { removed: true, left: 0 })
  t.same(db.channels('t'), ['c'], 'empty registration remains')
  t.same(db.removeProducer(CATEGORY.CHANNEL, 't', 'zz', 'a:1'), { removed: false, left: 0 })
  db.addProducer(CATEGORY.CHANNEL, 't', 'c', a)
  t.equal(db.removeRegistration(CATEGORY.CHANNEL, 't', 'c'), true)
  t.equal(db.removeRegistration(CATEGORY.CHANNEL, 't', 'c'), false)
  t.same(db.channels('t'), [])
  t.same(db.registrationsOf('a:1'), [], 'peer index cleaned up')
})

t.test('removePeer drops a peer from every registration, including client, and keeps registrations', async (t) => {
  const db = new RegistrationDB()
  const a = peer('a:1', 1)
  const b = peer('b:1', 2)
  for (const p of [a, b]) {
    db.addProducer(CATEGORY.CLIENT, '', '', p)
    db.addProducer(CATEGORY.TOPIC, 't', '', p)
    db.addProducer(CATEGORY.CHANNEL, 't', 'c', p)
  }
  db.addProducer(CATEGORY.TOPIC, 'only-a', '', a)
  t.equal(db.registrationsOf('a:1').length, 4)
  t.same(db.topicsOf('a:1').sort(), ['only-a', 't'])
  t.equal(db.removePeer('a:1'), 4)
  t.equal(db.removePeer('a:1'), 0)
  t.same(db.topics().sort(), ['only-a', 't'])
  t.same(db.producers(CATEGORY.TOPIC, 't', '').map((p) => p.peer.id), ['b:1'])
  t.same(db.producers(CATEGORY.TOPIC, 'only-a', ''), [])
  t.same(db.activePeers(1000, 1000).map((p) => p.id), ['b:1'])
})

t.test('removeTopic deletes the topic and all its channel registrations with producers', async (t) => {
  const db = new RegistrationDB()
  const a = peer('a:1')
  db.addProducer(CATEGORY.TOPIC, 't', '', a)
  db.addProducer(CATEGORY.CHANNEL, 't', 'c1', a)
  db.addRegistration(CATEGORY.CHANNEL, 't', 'c2')
  db.addProducer(CATEGORY.TOPIC, 'u', '', a)
  db.removeTopic('t')
  t.same(db.topics(), ['u'])
  t.same(db.channels('t'), [])
  t.same(db.topicsOf('a:1'), ['u'])
  db.removeTopic('never')
  t.same(db.topics(), ['u'])
})

t.test('liveness: inactive producers and tombstone lifetime', async (t) => {
  const db = new RegistrationDB()
  const a = peer('a:1', 1, 0)
  const b = peer('b:1', 2, 0)
  for (const p of [a, b]) {
    db.addProducer(CATEGORY.CLIENT, '', '', p)
    db.addProducer(CATEGORY.TOPIC, 't', '', p)
  }
  const ids = (now: number): string[] => db.lookupProducers('t', now, limits).map((p) => p.id).sort()
  t.same(ids(300_000), ['a:1', 'b:1'], 'exactly at the timeout still active')
  t.same(ids(300_001), [], 'both inactive')
  a.lastUpdateMs = 300_001 // a PING
  t.same(ids(300_001), ['a:1'])
  t.same(db.activePeers(300_001, limits.inactiveProducerTimeoutMs).map((p) => p.id), ['a:1'])

  db.tombstoneTopicProducer('t', 'nsqd1:4151', 300_001)
  t.same(ids(300_002), [], 'tombstoned a is hidden')
  t.same(db.activePeers(300_002, limits.inactiveProducerTimeoutMs).map((p) => p.id), ['a:1'], '/nodes ignores tombstones')
  t.same(db.peerTopics('a:1', 300_002, limits.tombstoneLifetimeMs), { topics: ['t'], tombstones: [true] })
  a.lastUpdateMs = 345_000
  t.same(ids(345_000), [], 'still within lifetime')
  t.same(ids(345_001), ['a:1'], 'listed again after the lifetime')
  t.same(db.peerTopics('a:1', 345_001, limits.tombstoneLifetimeMs), { topics: ['t'], tombstones: [false] })
  t.same(db.lookupProducers('nope', 0, limits), [])

  const p = db.producers(CATEGORY.TOPIC, 't', '')[0]!
  t.equal(isActive(p, 345_000 + 300_000, 300_000), true)
  t.equal(isTombstoned(p, 300_001, 0), false, 'lifetime 0 never hides')
})

t.test('peer JSON has the spec key order', async (t) => {
  const p = newPeerInfo('10.0.0.7:51544', { hostname: 'nsqd1', broadcastAddress: 'nsqd1.example', tcpPort: 4150, httpPort: 4151, version: '1.3.0' })
  t.equal(peerJsonText(p),
    '{"remote_address":"10.0.0.7:51544","hostname":"nsqd1","broadcast_address":"nsqd1.example","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"","topology_region":""}')
  const big = newPeerInfo('a:1', { hostname: 'h<&>\u2028', tcpPort: 9223372036854775807n, httpPort: -9007199254740993n, version: 'v' })
  t.equal(peerJsonText(big, ',"x":1'),
    '{"remote_address":"a:1","hostname":"h\\u003c\\u0026\\u003e\\u2028","broadcast_address":"","tcp_port":9223372036854775807,"http_port":-9007199254740993,"version":"v","topology_zone":"","topology_region":"","x":1}',
    'int64 ports exact, strings escaped as Go does, extra keys before the brace')
})

t.test('all() yields client, topics and channels', async (t) => {
  const db = new RegistrationDB()
  db.addRegistration(CATEGORY.TOPIC, 't', '')
  db.addRegistration(CATEGORY.CHANNEL, 't', 'c')
  t.same([...db.all()].map((r) => `${r.category}:${r.key}:${r.subkey}`), ['client::', 'topic:t:', 'channel:t:c'])
})
