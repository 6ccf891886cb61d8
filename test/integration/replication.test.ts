// Replication (nsqd/replication): etcd coordination against a real local etcd, then batch shipping
// between in-process nodes. The dead-etcd case runs last: it kills this file's etcd.

import t from 'tap'
import { Coordinator, type MemberInfo } from '../../nsqd/replication/coordinator.js'
import { startEtcd, waitFor, type LocalEtcd } from '../helpers/etcd.js'

let etcd: LocalEtcd
let groupSeq = 0

function member (id: string): MemberInfo {
  return { id, replicationAddress: `127.0.0.1:1${id.length}`, tcpAddress: '127.0.0.1:4150', httpAddress: '127.0.0.1:4151' }
}

interface Teardown { teardown (fn: () => unknown): void }

function coordinator (t: Teardown, group: string, id: string, ttl = 1): Coordinator {
  const c = new Coordinator({ endpoints: [etcd.endpoint], group, member: member(id), sessionTtlSec: ttl, callTimeoutMs: 1500 })
  t.teardown(async () => { await c.close() })
  return c
}

t.before(async () => { etcd = await startEtcd(t) })

t.test('coordination: members, election, epoch compare-and-swap, in-sync set', async (t) => {
  const group = `g${++groupSeq}`
  const a = coordinator(t, group, 'a')
  const b = coordinator(t, group, 'b')
  await a.start()
  await b.start()
  t.same((await a.members()).map(m => m.id), ['a', 'b'], 'both members are registered under their leases')
  t.same((await b.member('a'))?.replicationAddress, member('a').replicationAddress)

  const leaders: Array<string | undefined> = []
  await b.observeLeader((id) => { leaders.push(id) })

  await a.campaign()
  t.ok(a.leaderValid(), 'the elected node holds a valid leadership')
  t.equal(await a.promote(), 1, 'the first primary takes epoch 1')
  let s = await a.state()
  t.same(s.isr, { epoch: 1, members: ['a'] }, 'the in-sync set starts with the primary alone')
  await waitFor('observer sees a', () => leaders.includes('a'))

  let bElected = false
  const bCampaign = b.campaign().then(() => { bElected = true })
  t.ok(await a.setIsr(1, ['a', 'b']), 'the primary widens the in-sync set at its epoch')
  t.notOk(await a.setIsr(0, ['a']), 'an in-sync set written with a stale epoch is refused')
  s = await b.state()
  t.same(s.isr?.members, ['a', 'b'])
  t.notOk(bElected, 'b waits while a leads')

  // a resigns: b is elected next and takes epoch 2; a can no longer change the in-sync set
  await a.resign()
  t.notOk(a.leaderValid(), 'a resigned')
  await waitFor('b elected', () => bElected, 5000)
  await bCampaign
  t.equal(await b.promote(), 2)
  t.notOk(await a.setIsr(1, ['a', 'b']), 'the old primary is fenced by the epoch')
  t.same((await a.state()).isr, { epoch: 2, members: ['b'] })
})

t.test('coordination: a node outside the in-sync set cannot take over', async (t) => {
  const group = `g${++groupSeq}`
  const a = coordinator(t, group, 'a')
  const c = coordinator(t, group, 'c')
  await a.start()
  await c.start()
  await a.campaign()
  t.equal(await a.promote(), 1)
  await a.resign()
  await c.campaign()
  t.equal(await c.promote(), null, 'elected, but not in the in-sync set: promote refuses')
  t.same((await c.state()).epoch, 1, 'the epoch did not move')
})

t.test('coordination: a silent primary\'s lease lapses, a standby takes over, the old one is fenced', async (t) => {
  const group = `g${++groupSeq}`
  const a = coordinator(t, group, 'a', 1)
  const b = coordinator(t, group, 'b', 1)
  await a.start()
  await b.start()
  await a.campaign()
  t.equal(await a.promote(), 1)
  t.ok(await a.setIsr(1, ['a', 'b']))
  let bElected = false
  const p = b.campaign().then(() => { bElected = true })
  const quietAt = Date.now()
  a.abandon() // no more keepalives, nothing revoked: a killed process
  await waitFor('a\'s leadership to lapse locally', () => !a.leaderValid(), 3000)
  await waitFor('b elected after a\'s lease expired', () => bElected, 6000)
  await p
  const took = Date.now() - quietAt
  t.ok(took < 4000, `b took over ${took} ms after a went quiet (TTL 1 s)`)
  t.equal(await b.promote(), 2)
  t.same((await b.members()).map(m => m.id), ['b'], 'a\'s membership expired with its lease')
})

t.test('coordination: watchState reports epoch and in-sync set changes', async (t) => {
  const group = `g${++groupSeq}`
  const a = coordinator(t, group, 'a')
  const b = coordinator(t, group, 'b')
  await a.start()
  await b.start()
  const seen: string[] = []
  await b.watchState((s) => { seen.push(`${s.epoch}:${s.isr?.members.join(',') ?? '-'}`) })
  await a.campaign()
  await a.promote()
  await a.setIsr(1, ['a', 'b'])
  await waitFor('isr a,b seen', () => seen.includes('1:a,b'))
  t.ok(seen.includes('0:-'), 'the initial state is reported')
})

// last: kills this file's etcd
t.test('coordination: a dead etcd fails calls within their deadline and the leadership lapses', async (t) => {
  const group = `g${++groupSeq}`
  const a = coordinator(t, group, 'a', 1)
  await a.start()
  await a.campaign()
  t.equal(await a.promote(), 1)
  let lost = false
  a.on('lost', () => { lost = true })
  await etcd.kill()
  const t0 = Date.now()
  await t.rejects(a.setIsr(1, ['a']), 'an in-sync set change fails')
  t.ok(Date.now() - t0 < 8000, `the call failed after ${Date.now() - t0} ms`)
  await waitFor('leadership to lapse', () => !a.leaderValid(), 3000)
  await waitFor('the session lease is reported lost', () => lost, 8000)
})
