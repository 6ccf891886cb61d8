// Replication (nsqd/replication): etcd coordination against a real local etcd, then batch shipping
// between in-process nodes. The dead-etcd case runs last: it kills this file's etcd.

import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { Level } from 'level'
import { Coordinator, type MemberInfo } from '../../nsqd/replication/coordinator.js'
import { ReplicatedNode } from '../../nsqd/replication/node.js'
import { POS_EVERY_BYTES, POS_KEY, T_BATCH, decodePos, encodePos, type Position } from '../../nsqd/replication/protocol.js'
import { decodeBytesRecord } from '../../nsqd/store/records.js'
import { createCapturingLogger } from '../../nsqd/logger.js'
import type { Options } from '../../nsqd/options.js'
import * as cmd from '../../client/wire/commands.js'
import { Producer } from '../../client/producer.js'
import { silentLogger } from '../../client/logger.js'
import { startEtcd, waitFor, type LocalEtcd } from '../helpers/etcd.js'
import { RawConn, startNSQD, tmpDir, uniq } from '../helpers/nsqd.js'
import { startAdmin, startLookupd } from '../helpers/admin-cluster.js'
import { hasChromium, launchChromium } from '../helpers/browser.js'

let etcd: LocalEtcd
let groupSeq = 0

function member (id: string): MemberInfo {
  return { id, replicationAddress: `127.0.0.1:1${id.length}`, tcpAddress: '127.0.0.1:4150', httpAddress: '127.0.0.1:4151' }
}

interface Teardown { teardown (fn: () => unknown): void }

async function coordinator (t: Teardown, group: string, id: string, ttl = 1): Promise<Coordinator> {
  const c = await Coordinator.create({ endpoints: [etcd.endpoint], group, member: member(id), sessionTtlSec: ttl, callTimeoutMs: 1500 })
  t.teardown(async () => { await c.close() })
  return c
}

t.before(async () => { etcd = await startEtcd(t) })

t.test('coordination: members, election, epoch compare-and-swap, in-sync set', async (t) => {
  const group = `g${++groupSeq}`
  const a = await coordinator(t, group, 'a')
  const b = await coordinator(t, group, 'b')
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
  const a = await coordinator(t, group, 'a')
  const c = await coordinator(t, group, 'c')
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
  const a = await coordinator(t, group, 'a', 1)
  const b = await coordinator(t, group, 'b', 1)
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
  t.ok(took < 5000, `b took over ${took} ms after a went quiet (TTL 1 s, etcd raises it to 2 s)`)
  t.equal(await b.promote(), 2)
  t.same((await b.members()).map(m => m.id), ['b'], 'a\'s membership expired with its lease')
})

t.test('coordination: watchState reports epoch and in-sync set changes', async (t) => {
  const group = `g${++groupSeq}`
  const a = await coordinator(t, group, 'a')
  const b = await coordinator(t, group, 'b')
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

// ---- log shipping between in-process nodes -------------------------------------------------------

async function startNode (t: Teardown & { passing?: () => boolean }, group: string, extra: Partial<Options> = {}): Promise<ReplicatedNode> {
  const logger = createCapturingLogger('debug')
  const n = new ReplicatedNode({
    tcpAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    httpsAddress: '',
    replicationAddress: '127.0.0.1:0',
    broadcastAddress: '127.0.0.1',
    dataPath: extra.dataPath ?? tmpDir(t),
    queueScanIntervalMs: 20,
    logger,
    replicationGroup: group,
    replicationFactor: 2,
    minInsyncReplicas: 2,
    etcdEndpoints: [etcd.endpoint],
    // long enough that a loaded machine never loses the lease by accident; failover tests pass 1000
    replicationSessionTtlMs: 5000,
    replicaLagTimeoutMs: 500,
    ...extra
  })
  await n.start()
  t.teardown(async () => {
    await n.close()
    if (t.passing !== undefined && !t.passing() && process.env.NSQ_TEST_LOGS !== undefined) process.stderr.write(logger.lines.join(''))
  })
  return n
}

async function dump (db: Level<string, Buffer>): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const [k, v] of db.iterator()) out.set(k, v.toString('hex'))
  return out
}

function standbyDb (n: ReplicatedNode): Level<string, Buffer> {
  return (n as unknown as { db: Level<string, Buffer> }).db
}

/** Waits until the primary wrote everything and the standby applied its last batch. */
async function quiesce (p: ReplicatedNode, s: ReplicatedNode): Promise<void> {
  await waitFor('primary idle and standby caught up', async () => {
    await p.nsqd!.store!.store.whenCommitted()
    return s.standby!.appliedSeq === p.primary!.seq && p.primary!.peers.get(s.id)?.acked === p.primary!.seq
  }, 10000)
}

async function post (http: string, path: string, body = ''): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${http}${path}`, { method: 'POST', body })
  return { status: res.status, text: await res.text() }
}

t.test('shipping: after a mixed workload the standby\'s LevelDB equals the primary\'s, byte for byte', async (t) => {
  const group = `g${++groupSeq}`
  const a = await startNode(t, group)
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const b = await startNode(t, group)
  await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
  t.equal(b.role, 'standby')

  const topic = uniq('mix')
  const other = uniq('other')
  const gone = uniq('gone')
  const pub = await RawConn.connect(t, a.tcpAddress)
  await pub.identify()
  t.equal(await pub.publish(topic, 'first'), 'OK')
  // channels first, so the messages below are delivered to them
  const sub = await RawConn.connect(t, a.tcpAddress)
  await sub.identify({ msg_timeout: 1000 })
  await sub.subscribe(topic, 'c1', 0)
  t.equal((await post(a.httpAddress, `/channel/create?topic=${topic}&channel=c2`)).status, 200)
  pub.write(cmd.mpub(topic, Array.from({ length: 20 }, (_, i) => `m${i}`)))
  t.equal(await pub.response(), 'OK')
  pub.write(cmd.dpub(topic, 60_000, 'deferred'))
  t.equal(await pub.response(), 'OK')
  t.equal(await pub.publish(other, 'x'), 'OK')
  t.equal(await pub.publish(gone, 'y'), 'OK')

  // deliveries: FIN, REQ now, REQ with a delay, and some left to time out
  sub.write(cmd.rdy(10))
  const got = []
  for (let i = 0; i < 10; i++) got.push(await sub.message(5000))
  for (let i = 0; i < 4; i++) sub.write(cmd.fin(got[i]!.id))
  sub.write(cmd.req(got[4]!.id, 0))
  sub.write(cmd.req(got[5]!.id, 30_000))
  sub.write(cmd.rdy(0))
  const ch = a.nsqd!.getExistingTopic(topic)!.getExistingChannel('c1')!
  await waitFor('timeouts', () => ch.timeoutCount >= 4, 8000)
  // one message stays in flight (journaled) while the stores are compared
  const holder = await RawConn.connect(t, a.tcpAddress)
  await holder.identify({ msg_timeout: 60_000 })
  await holder.subscribe(topic, 'c1', 1)
  await holder.message(5000)
  t.equal((await post(a.httpAddress, `/channel/pause?topic=${topic}&channel=c2`)).status, 200)
  t.equal((await post(a.httpAddress, `/channel/create?topic=${other}&channel=e`)).status, 200)
  t.equal((await post(a.httpAddress, `/channel/empty?topic=${other}&channel=e`)).status, 200)
  t.equal((await post(a.httpAddress, `/topic/pause?topic=${other}`)).status, 200)
  t.equal((await post(a.httpAddress, `/topic/delete?topic=${gone}`)).status, 200)
  // a new topic by HTTP, emptied
  t.equal((await post(a.httpAddress, `/pub?topic=${other}`, 'http body')).status, 200)
  t.equal((await post(a.httpAddress, `/topic/empty?topic=${other}`)).status, 200)

  // delivery policies (a dead letter with its JSON envelope, a drop-oldest cap), their counters and
  // a replay of one dead letter from the middle of its queue go through the same shipped batches
  const pol = uniq('pol')
  t.equal((await post(a.httpAddress, `/topic/create?topic=${pol}`)).status, 200)
  for (const [name, config] of [['w', { max_attempts: 1, dead_letter_envelope: 'json' }], ['capped', { max_queue_messages: 3, queue_full_policy: 'drop-oldest' }]] as const) {
    t.equal((await post(a.httpAddress, `/channel/create?topic=${pol}&channel=${name}`)).status, 200)
    t.equal((await post(a.httpAddress, `/channel/config?topic=${pol}&channel=${name}`, JSON.stringify(config))).status, 200)
  }
  pub.write(cmd.mpub(pol, Array.from({ length: 6 }, (_, i) => `p${i}`)))
  t.equal(await pub.response(), 'OK')
  const failing = await RawConn.connect(t, a.tcpAddress)
  await failing.identify()
  await failing.subscribe(pol, 'w', 6)
  for (let i = 0; i < 6; i++) failing.write(cmd.req((await failing.message(5000)).id, 0))
  const peekDead = async (): Promise<{ depth: number, messages: Array<{ id: string }> }> =>
    await (await fetch(`http://${a.httpAddress}/topic/peek?topic=${pol}.dead&n=10`)).json() as { depth: number, messages: Array<{ id: string }> }
  await waitFor('six dead letters', async () => (await peekDead()).depth === 6, 8000)
  const middle = (await peekDead()).messages[3]!.id
  t.same(JSON.parse((await post(a.httpAddress, `/topic/replay?topic=${pol}.dead&to=${other}&id=${middle}`)).text), { moved: 1 }, 'one dead letter replayed from the middle')
  t.equal(a.nsqd!.getExistingTopic(pol)!.getExistingChannel('capped')!.depth, 3, 'the capped channel kept its newest 3')

  await quiesce(a, b)
  const primaryKeys = await dump(a.nsqd!.store!.store.db)
  const standbyKeys = await dump(standbyDb(b))
  t.ok([...primaryKeys.keys()].some(k => k.startsWith('x/')), 'the replay left a tombstone')
  t.ok([...primaryKeys.keys()].some(k => k.startsWith('b/')), 'and byte counts with policy counters')
  t.ok([...primaryKeys.keys()].some(k => k.startsWith('d/')), 'the workload left deferred entries')
  t.ok([...primaryKeys.keys()].some(k => k.startsWith('f/')), 'and in-flight entries')
  t.ok(primaryKeys.size > 5, `${primaryKeys.size} keys on the primary`)
  t.same([...standbyKeys.keys()], [...primaryKeys.keys()], 'same keys')
  t.ok([...primaryKeys].every(([k, v]) => k === POS_KEY || standbyKeys.get(k) === v), 'same values, byte for byte (each node writes its own position)')

  // visibility
  const info = await (await fetch(`http://${a.httpAddress}/info`)).json() as { replication: any }
  t.equal(info.replication.role, 'primary')
  t.equal(info.replication.group, group)
  t.equal(info.replication.standbys[0].id, b.id)
  t.equal(info.replication.standbys[0].lag, 0)
  const stats = await (await fetch(`http://${a.httpAddress}/stats?format=json`)).json() as { replication: any }
  t.equal(stats.replication.epoch, a.epoch)
  const metrics = await (await fetch(`http://${a.httpAddress}/metrics`)).text()
  t.match(metrics, new RegExp(`^nsq_replication_epoch ${a.epoch}$`, 'm'), '/metrics exports the epoch')
  t.match(metrics, /^nsq_replication_in_sync_replicas 2$/m)
  t.match(metrics, new RegExp(`^nsq_replication_standby_lag_batches\\{standby="${b.id}",in_sync="true"\\} 0$`, 'm'))
  // nsqadmin's node page data carries the replication object
  const admin = await startAdmin(t, { nsqdHttpAddresses: [a.httpAddress] })
  const nodeName = `127.0.0.1:${a.httpAddress.slice(a.httpAddress.lastIndexOf(':') + 1)}`
  const nodeApi = await (await fetch(`http://${admin.httpAddress.address}/api/nodes/${encodeURIComponent(nodeName)}`)).json() as { replication: any }
  t.equal(nodeApi.replication.role, 'primary', 'nsqadmin /api/nodes/:node has the replication object')
  t.equal(nodeApi.replication.standbys[0].id, b.id)
  if (hasChromium()) {
    // ... and its node page shows the group, the role, the epoch and each standby with its lag
    const browser = await launchChromium(t)
    const page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => { pageErrors.push(err.message) })
    await page.goto(`http://${admin.httpAddress.address}/nodes/${encodeURIComponent(nodeName)}`)
    await page.waitForSelector('section.card h2:text("Replication")', { timeout: 10_000 })
    const text = await page.locator('section.card', { hasText: 'Replication' }).textContent() ?? ''
    t.match(text, new RegExp(`Group ${group} · primary · epoch ${a.epoch}`), 'nsqadmin node page: group, role, epoch')
    t.match(text, b.id, 'and the standby')
    t.same(pageErrors, [])
  }
  const single = await startNSQD(t)
  const plain = await (await fetch(`http://${single.httpAddress}/info`)).json() as Record<string, unknown>
  t.notOk('replication' in plain, 'a node without --replication-group has no replication object')
  t.notOk(/nsq_replication/.test(await (await fetch(`http://${single.httpAddress}/metrics`)).text()))
  const binfo = await (await fetch(`http://${b.httpAddress}/info`)).json() as { replication: any }
  t.equal(binfo.replication.role, 'standby')
  t.equal(binfo.replication.primary, a.id)
  t.equal((await fetch(`http://${b.httpAddress}/ping`)).status, 200, 'a standby answers /ping')
  t.match(binfo.replication, { state: 'streaming', lag: 0, catchups: { snapshot: 1, incremental: 0 } }, 'a standby reports its state, lag and catch-ups')
  const bm = await fetch(`http://${b.httpAddress}/metrics`)
  t.equal(bm.status, 200, 'a standby serves /metrics')
  t.match(bm.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const smetrics = await bm.text()
  t.match(smetrics, /^nsq_info\{version="[^"]+",broadcast_address="127\.0\.0\.1"\} 1$/m)
  t.match(smetrics, /^nsq_replication_primary 0$/m, 'its role')
  t.match(smetrics, new RegExp(`^nsq_replication_epoch ${a.epoch}$`, 'm'), 'the epoch')
  t.match(smetrics, /^nsq_replication_in_sync 1$/m, 'in the in-sync set')
  t.match(smetrics, /^nsq_replication_state\{state="streaming"\} 1$/m)
  t.match(smetrics, new RegExp(`^nsq_replication_applied_seq ${a.primary!.seq}$`, 'm'))
  t.match(smetrics, /^nsq_replication_lag_batches 0$/m, 'its lag')
  t.match(smetrics, /^nsq_replication_catchups_total\{kind="snapshot"\} 1$/m)
  t.match(smetrics, /^process_cpu_user_seconds_total /m, 'and the process metrics')
  t.match(metrics, /^nsq_replication_primary 1$/m, 'the primary says it is one')
  const refused = await fetch(`http://${b.httpAddress}/pub?topic=x`, { method: 'POST', body: 'z' })
  t.equal(refused.status, 503)
  t.same(await refused.json(), { message: 'NOT_PRIMARY', primary: a.httpAddress })
  const c = await RawConn.connect(t, b.tcpAddress)
  c.write(cmd.identify({}))
  t.equal(await c.error(), `E_INVALID this nsqd is a replication standby; the primary is ${a.tcpAddress}`)

  // the standby goes away: too few in sync, publishes fail (TCP and HTTP), health says why
  await b.close()
  await waitFor('b out of the in-sync set in etcd', async () => !((await a.coordinator!.state()).isr?.members.includes(b.id) ?? true), 5000)
  const p2 = await RawConn.connect(t, a.tcpAddress)
  p2.write(cmd.pub(topic, 'refused'))
  t.match(await p2.error(), /^E_PUB_FAILED PUB failed/, 'PUB fails below --min-insync-replicas')
  const h = await post(a.httpAddress, `/pub?topic=${topic}`, 'refused')
  t.equal(h.status, 503)
  t.same(JSON.parse(h.text), { message: 'NOT_ENOUGH_REPLICAS' })
  t.match(await (await fetch(`http://${a.httpAddress}/ping`)).text(), /^NOK - replication failed - not enough in-sync replicas: 1 of 2 required/)

  // a wiped standby comes back: full copy while publishing goes on, joins when caught up
  const b2 = await startNode(t, group)
  await waitFor('b2 in sync', () => a.primary!.isr.has(b2.id), 8000)
  await waitFor('publishes accepted again', async () => {
    const p3 = await RawConn.connect(t, a.tcpAddress)
    p3.write(cmd.pub(topic, 'again'))
    const f = await p3.next(5000)
    p3.socket.destroy()
    return f.data.toString() === 'OK'
  }, 8000, 200)
  await quiesce(a, b2)
  const again = await dump(a.nsqd!.store!.store.db)
  const copy = await dump(standbyDb(b2))
  t.same([...copy.keys()], [...again.keys()], 'the resynced standby has the same keys')
  t.ok([...again].every(([k, v]) => k === POS_KEY || copy.get(k) === v), 'and values (each node writes its own position)')
})

t.test('nsqadmin: the nodes page shows the group, its primary and each standby with its lag; lookupd lists only the primary', async (t) => {
  const group = `g${++groupSeq}`
  const lookupd = await startLookupd(t)
  const withLookupd = { lookupdTcpAddresses: [lookupd.tcpAddress.address] }
  const a = await startNode(t, group, withLookupd)
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const b = await startNode(t, group, withLookupd)
  await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
  const topic = uniq('adm')
  t.equal((await post(a.httpAddress, `/pub?topic=${topic}`, 'x')).status, 200)
  const lookup = await waitFor('lookupd lists the topic', async () => {
    const r = await fetch(`http://${lookupd.httpAddress.address}/lookup?topic=${topic}`)
    return r.status === 200 ? await r.json() as { producers: Array<{ http_port: number }> } : false
  }, 5000)
  t.same(lookup.producers.map(p => p.http_port), [Number(a.httpAddress.split(':')[1])], 'consumers are sent to the primary only, never to a standby')

  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  const base = `http://${admin.httpAddress.address}`
  await quiesce(a, b)
  const nodes = await (await fetch(`${base}/api/nodes`)).json() as { nodes: any[], replication_groups: any[] }
  t.same(nodes.nodes.map(n => `${n.broadcast_address}:${n.http_port}`), [a.httpAddress], 'lookupd registers only the primary')
  t.same(nodes.nodes[0].replication, { group, role: 'primary', epoch: a.epoch }, 'the primary row carries its group and role')
  t.equal(nodes.replication_groups.length, 1)
  const g = nodes.replication_groups[0]
  t.match(g, { group, epoch: a.epoch, primary: a.httpAddress, replication_factor: 2, min_insync_replicas: 2, in_sync_count: 2 })
  t.same(g.members.map((m: any) => [m.node, m.role, m.in_sync]), [[a.httpAddress, 'primary', true], [b.httpAddress, 'standby', true]], 'the primary and its standby')
  t.match(g.members[1], { id: b.id, state: 'streaming', lag: 0, tcp_port: Number(b.tcpAddress.split(':')[1]) }, 'with the standby\'s state and lag')
  // the standby's own page (it is not in lookupd: found through its primary)
  const sb = await fetch(`${base}/api/nodes/${encodeURIComponent(b.httpAddress)}`)
  t.equal(sb.status, 200, 'a standby\'s node page is served')
  t.match(await sb.json(), { node: b.httpAddress, topics: [], replication: { role: 'standby', primary: a.id, state: 'streaming' } })
  t.equal((await fetch(`${base}/api/nodes/${encodeURIComponent('127.0.0.1:1')}`)).status, 404, 'an unknown node is still 404')

  if (hasChromium()) {
    const browser = await launchChromium(t)
    const page = await browser.newPage({ viewport: { width: 1366, height: 760 } })
    const pageErrors: string[] = []
    page.on('pageerror', (err) => { pageErrors.push(err.message) })
    await page.goto(`${base}/nodes`)
    await page.waitForSelector(`#repl-${group} tr.repl-row[data-role="standby"]`, { timeout: 10_000 })
    const rows = await page.locator(`#repl-${group} tbody tr`).allTextContents()
    t.equal(rows.length, 2, 'two rows in the group table')
    t.match(rows[0], new RegExp(`${a.httpAddress}.*primary.*serving.*in sync.*0`), 'the primary row')
    t.match(rows[1], new RegExp(`${b.httpAddress}.*standby.*streaming.*in sync.*0`), 'the standby row with its lag')
    t.match(await page.locator('#nodes-table').textContent() ?? '', `primary · ${group}`, 'the nodes table badges the primary')
    t.match(await page.locator('section.card', { hasText: `Replication group ${group}` }).textContent() ?? '', `Epoch ${a.epoch} · primary ${a.httpAddress} · in sync 2 of 2 (min 2)`)
    const dir = path.resolve('test-artifacts', 'admin')
    fs.mkdirSync(dir, { recursive: true })
    await page.screenshot({ path: path.join(dir, 'replication-nodes.png'), fullPage: true })
    // the standby's link opens its page with the Replication card
    await page.locator(`#repl-${group} tr[data-role="standby"] a`).click()
    await page.waitForSelector('section.card h2:text("Replication")', { timeout: 10_000 })
    t.match(await page.locator('section.card', { hasText: 'Replication' }).textContent() ?? '', `Group ${group} · standby`)
    t.same(pageErrors, [])
  }
})

t.test('shipping: a standby that stops acknowledging leaves the in-sync set in etcd before the primary acknowledges without it', async (t) => {
  const group = `g${++groupSeq}`
  const a = await startNode(t, group, { minInsyncReplicas: 1 })
  await waitFor('a primary', () => a.role === 'primary', 8000)
  let stall = false
  let broken = false
  const stalls: Array<() => void> = []
  const b = new ReplicatedNode({ ...a.options, logger: createCapturingLogger('debug'), dataPath: tmpDir(t), tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', replicationAddress: '127.0.0.1:0' })
  b.standbyApply = async (f, apply) => {
    if (stall && f.type === T_BATCH) await new Promise<void>((resolve) => { stalls.push(resolve) })
    if (broken) throw new Error('EIO: simulated disk failure') // batches and copies alike
    await apply()
  }
  await b.start()
  t.teardown(async () => { for (const r of stalls) r(); await b.close() })
  await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
  const topic = uniq('lag')
  const pub = await RawConn.connect(t, a.tcpAddress)
  t.equal(await pub.publish(topic, 'one'), 'OK')
  stall = true // b's disk hangs
  const t0 = Date.now()
  t.equal(await pub.publish(topic, 'two'), 'OK', 'acknowledged (min-insync 1) ...')
  const waited = Date.now() - t0
  const s = await a.coordinator!.state()
  t.same(s.isr?.members, [a.id], '... only after b was removed from the in-sync set in etcd')
  t.ok(waited >= 450, `after the lag timeout (${waited} ms)`)

  // b's disk comes back: it catches up and rejoins the in-sync set
  stall = false
  for (const r of stalls.splice(0)) r()
  await waitFor('b back in sync', async () => (await a.coordinator!.state()).isr?.members.includes(b.id), 5000)
  t.equal(await pub.publish(topic, 'three'), 'OK')

  // b's disk fails: it disconnects and leaves the in-sync set; the primary acknowledges without it
  broken = true
  t.equal(await pub.publish(topic, 'four'), 'OK')
  t.same((await a.coordinator!.state()).isr?.members, [a.id], 'a standby whose writes fail is out of the in-sync set')
  broken = false
})

/** Publishes `n` messages, one batch each (awaited one at a time). */
async function publishEach (t: Teardown, tcp: string, topic: string, n: number, prefix: string): Promise<void> {
  const c = await RawConn.connect(t as any, tcp)
  await c.identify()
  for (let i = 0; i < n; i++) {
    const r = await c.publish(topic, `${prefix}${i}`)
    if (r !== 'OK') throw new Error(`publish ${prefix}${i}: ${r}`)
  }
  c.socket.destroy()
}

async function sameStores (t: Teardown & { same: Function, ok: Function }, p: ReplicatedNode, s: ReplicatedNode): Promise<void> {
  await quiesce(p, s)
  const want = await dump(p.nsqd!.store!.store.db)
  const got = await dump(standbyDb(s))
  t.same([...got.keys()], [...want.keys()], 'same keys (the replication position included)')
  // each node writes its own position, at its own times (protocol.ts: POS_KEY)
  t.ok([...want].every(([k, v]) => k === POS_KEY || got.get(k) === v), 'same values, byte for byte')
}

function logged (n: ReplicatedNode, re: RegExp): boolean {
  return (n.logger as unknown as { lines: string[] }).lines.some(l => re.test(l))
}

t.test('catch-up: a restarted standby resumes from its last batch when the tail has it, else copies everything', async (t) => {
  for (const [tail, kind] of [[64 * 1024 * 1024, 'incremental'], [2048, 'snapshot']] as const) {
    const group = `g${++groupSeq}`
    const a = await startNode(t, group, { minInsyncReplicas: 1, replicationTailSize: tail })
    await waitFor('a primary', () => a.role === 'primary', 8000)
    const b = await startNode(t, group, { minInsyncReplicas: 1 })
    await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
    const topic = uniq('cu')
    await publishEach(t, a.tcpAddress, topic, 5, 'before')
    await quiesce(a, b)
    const stoppedAt = b.standby!.appliedSeq
    await b.close()
    // published while b is down: ~40 batches of ~130 bytes, more than a 2 KiB tail holds
    await publishEach(t, a.tcpAddress, topic, 40, 'during')
    const b2 = await startNode(t, group, { minInsyncReplicas: 1, dataPath: b.options.dataPath, replicationAddress: b.replicationAddress })
    t.equal(b2.id, b.id, 'the same node comes back')
    await waitFor('b back in sync', () => a.primary!.isr.has(b2.id) && a.primary!.peers.get(b2.id)?.acked === a.primary!.seq, 8000)
    const c = b2.standby!.catchups
    if (kind === 'incremental') {
      t.same(c, { snapshot: 0, incremental: 1 }, 'incremental catch-up, no copy')
      t.ok(logged(a, new RegExp(`incremental catch-up from batch ${stoppedAt}: \\d+ batches`)), `the primary sent the batches after ${stoppedAt}`)
    } else {
      t.same(c, { snapshot: 1, incremental: 0 }, 'the tail no longer holds the batch after it: a full copy')
      t.ok(logged(a, /sending a snapshot \(batch \d+ is no longer in our tail/), 'the primary says why')
    }
    await publishEach(t, a.tcpAddress, topic, 3, 'after')
    await sameStores(t, a, b2)
    const info = await (await fetch(`http://${b2.httpAddress}/info`)).json() as { replication: any }
    t.same(info.replication.catchups, c, '/info reports the catch-ups')
  }
})

t.test('catch-up: across a failover the old primary resumes from the new one; an old primary holding a batch the new history lacks gets a full copy', async (t) => {
  const group = `g${++groupSeq}`
  const a = await startNode(t, group, { minInsyncReplicas: 1 })
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const b = await startNode(t, group, { minInsyncReplicas: 1 })
  await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
  const topic = uniq('div')
  await publishEach(t, a.tcpAddress, topic, 5, 'one')
  await quiesce(a, b)
  const epochA = a.epoch

  // a leaves cleanly: b takes over, and its history goes on from the last batch it applied
  await a.close()
  await waitFor('b primary', () => b.role === 'primary', 8000)
  t.ok(b.epoch > epochA, 'b leads a newer epoch')
  await publishEach(t, b.tcpAddress, topic, 3, 'two')
  const a2 = await startNode(t, group, { minInsyncReplicas: 1, dataPath: a.options.dataPath, replicationAddress: a.replicationAddress })
  await waitFor('a back in sync', () => b.primary!.isr.has(a2.id), 8000)
  t.same(a2.standby!.catchups, { snapshot: 0, incremental: 1 }, 'the old primary resumes from the new primary\'s tail (batches of both epochs)')
  await sameStores(t, b, a2)

  // a2 stops holding a batch that b never had (as an old primary that wrote a batch nobody received)
  await a2.close()
  const dir = path.join(a.options.dataPath, 'nsqd.leveldb')
  const db = new Level<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  await db.open()
  const pos = decodePos(await db.get(POS_KEY))!
  t.ok(pos !== null && pos.epoch === b.epoch, `a's store holds its position (${JSON.stringify(pos)})`)
  await db.batch([{ type: 'put', key: 'x/only-on-a', value: Buffer.from('lost') }, { type: 'put', key: POS_KEY, value: encodePos(epochA, pos.seq + 1) }])
  await db.close()
  await publishEach(t, b.tcpAddress, topic, 3, 'three') // b's batch pos.seq + 1 is of its own epoch
  const a3 = await startNode(t, group, { minInsyncReplicas: 1, dataPath: a.options.dataPath, replicationAddress: a.replicationAddress })
  await waitFor('a back in sync', () => b.primary!.isr.has(a3.id) && b.primary!.peers.get(a3.id)?.state === 'streaming', 8000)
  t.same(a3.standby!.catchups, { snapshot: 1, incremental: 0 }, 'a diverged history is never resumed: a full copy')
  t.ok(logged(b, new RegExp(`its batch ${pos.seq + 1} is of epoch ${epochA}, ours of epoch ${b.epoch}: the histories diverged`)), 'the primary says why')
  await sameStores(t, b, a3)
  t.notOk((await dump(standbyDb(a3))).has('x/only-on-a'), 'the batch only a had is gone')
  // and a batch beyond the newest the primary has: also a copy
  await a3.close()
  const db2 = new Level<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  await db2.open()
  await db2.put(POS_KEY, encodePos(b.epoch, b.primary!.seq + 1000))
  await db2.close()
  const a4 = await startNode(t, group, { minInsyncReplicas: 1, dataPath: a.options.dataPath, replicationAddress: a.replicationAddress })
  await waitFor('a back in sync', () => b.primary!.isr.has(a4.id) && b.primary!.peers.get(a4.id)?.state === 'streaming', 8000)
  t.same(a4.standby!.catchups, { snapshot: 1, incremental: 0 }, 'a position beyond our newest batch: a full copy')
  await sameStores(t, b, a4)
})

t.test('catch-up: after an unclean stop a position is a lower bound: resumed within the same epoch, a full copy across an election', async (t) => {
  const group = `g${++groupSeq}`
  const opts = { minInsyncReplicas: 1, replicationFactor: 3 }
  const a = await startNode(t, group, opts)
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const b = await startNode(t, group, opts)
  const c = await startNode(t, group, opts)
  const streaming = (p: ReplicatedNode, n: ReplicatedNode): boolean => p.primary!.isr.has(n.id) && p.primary!.peers.get(n.id)?.state === 'streaming'
  await waitFor('b and c in sync', () => streaming(a, b) && streaming(a, c), 8000)
  const topic = uniq('lb')
  await publishEach(t, a.tcpAddress, topic, 20, 'one')
  await quiesce(a, b)
  const primaryPos = decodePos(await a.nsqd!.store!.store.db.get(POS_KEY))!
  t.ok(primaryPos !== null && !primaryPos.exact && primaryPos.seq < a.primary!.seq, `the primary does not write its position in every batch (${JSON.stringify(primaryPos)}, newest ${a.primary!.seq})`)

  // b stops uncleanly: its store is closed under it, as by kill -9
  const crash = async (n: ReplicatedNode): Promise<void> => {
    n.standby!.disconnect()
    await standbyDb(n).close()
    await n.close()
  }
  const storedPos = async (n: ReplicatedNode): Promise<Position> => {
    const db = new Level<string, Buffer>(path.join(n.options.dataPath, 'nsqd.leveldb'), { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    await db.open()
    try { return decodePos(await db.get(POS_KEY))! } finally { await db.close() }
  }
  const heldUpTo = b.standby!.appliedSeq
  await crash(b)
  const pos = await storedPos(b)
  t.ok(pos !== null && !pos.exact && pos.seq < heldUpTo, `b's store keeps a lower bound (${JSON.stringify(pos)}; it held batch ${heldUpTo})`)
  await publishEach(t, a.tcpAddress, topic, 5, 'two')
  const b2 = await startNode(t, group, { ...opts, dataPath: b.options.dataPath, replicationAddress: b.replicationAddress })
  await waitFor('b back in sync', () => a.primary!.isr.has(b2.id) && a.primary!.peers.get(b2.id)?.acked === a.primary!.seq, 8000)
  t.same(b2.standby!.catchups, { snapshot: 0, incremental: 1 }, 'same epoch: resumed from the lower bound (the batches it held are applied again)')
  t.ok(logged(a, new RegExp(`incremental catch-up from batch ${pos.seq}:`)), 'from the position it stored')
  await sameStores(t, a, b2)
  t.ok(b2.standby!.posExact, 'its position is exact again once it applied the batches up to the primary\'s newest')

  // b stops uncleanly again; a stops cleanly: c leads a new epoch, with a tail that still holds
  // b's stored batch, of the old epoch
  await publishEach(t, a.tcpAddress, topic, 3, 'three')
  await quiesce(a, b2)
  await crash(b2)
  const pos2 = await storedPos(b2)
  const epochA = a.epoch
  await a.close()
  const cleanPos = await storedPos(a)
  t.ok(cleanPos !== null && cleanPos.exact && cleanPos.seq > pos2.seq, `a clean stop writes the exact position (${JSON.stringify(cleanPos)})`)
  await waitFor('c primary', () => c.role === 'primary', 15000)
  t.ok(c.epoch > epochA, 'a newer epoch')
  t.equal(c.primary!.tail.epochAt(pos2.seq), pos2.epoch, `c's history holds b's stored batch ${pos2.seq} (epoch ${pos2.epoch})`)
  await publishEach(t, c.tcpAddress, topic, 2, 'four')
  const b3 = await startNode(t, group, { ...opts, dataPath: b.options.dataPath, replicationAddress: b.replicationAddress })
  await waitFor('b back in sync', () => streaming(c, b3), 15000)
  t.same(b3.standby!.catchups, { snapshot: 1, incremental: 0 }, 'a lower bound from an earlier epoch: a full copy')
  t.ok(logged(c, /is a lower bound after an unclean stop, from an earlier epoch/), 'the primary says why')
  await sameStores(t, c, b3)
})

t.test('a replicated store writes its byte counts as often as its position, so a promotion recounts at most that much per queue', async (t) => {
  const group = `g${++groupSeq}`
  const a = await startNode(t, group, { minInsyncReplicas: 1 })
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const topic = uniq('bytes')
  const body = Buffer.alloc(100 * 1024, 0x61)
  const n = Math.ceil(POS_EVERY_BYTES / body.length) + 5
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://${a.httpAddress}/pub?topic=${topic}`, { method: 'POST', body })
    if (r.status !== 200) throw new Error(`publish ${i}: ${r.status}`)
  }
  await a.nsqd!.store!.store.whenCommitted()
  const raw = await a.nsqd!.store!.store.db.get(`b/${topic}`)
  const rec = raw === undefined ? undefined : decodeBytesRecord(raw)
  t.ok(rec !== undefined && rec.atWriteSeq !== undefined && rec.atWriteSeq > 0 && rec.bytes === rec.atWriteSeq * body.length,
    `publishing ${n} × 100 KiB alone wrote the byte record (${JSON.stringify(rec)}; a single node writes it every 64 MiB)`)
})

t.test('drain: a primary without an in-sync standby refuses; with one it hands over without losing a message; a standby leaves the group', async (t) => {
  const group = `g${++groupSeq}`
  const opts = { minInsyncReplicas: 1, replicationFactor: 3 }
  const a = await startNode(t, group, opts)
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const put = async (http: string, body: string): Promise<{ status: number, text: string }> => {
    const r = await fetch(`http://${http}/config/draining`, { method: 'PUT', body })
    return { status: r.status, text: await r.text() }
  }
  t.same(await put(a.httpAddress, 'true'), { status: 503, text: '{"message":"NO_INSYNC_STANDBY"}' }, 'nobody to hand over to: refused')
  t.equal(a.role, 'primary', 'and it goes on serving')
  const b = await startNode(t, group, opts)
  const c = await startNode(t, group, opts)
  await waitFor('b and c in sync', () => a.primary!.isr.has(b.id) && a.primary!.isr.has(c.id), 8000)

  const topic = uniq('drain')
  const pub = await RawConn.connect(t, a.tcpAddress)
  await pub.identify()
  pub.write(cmd.mpub(topic, Array.from({ length: 30 }, (_, i) => `d${i}`)))
  const sub = await RawConn.connect(t, a.tcpAddress)
  await sub.identify({ msg_timeout: 60_000 })
  await sub.subscribe(topic, 'ch', 3)
  t.equal(await pub.response(), 'OK')
  for (let i = 0; i < 3; i++) await sub.message(5000) // in flight, never finished
  let drained = 0
  a.onDrained = () => { drained++ }
  const epoch = a.epoch
  t.same(await put(a.httpAddress, 'true'), { status: 200, text: 'true' }, 'PUT /config/draining true on the primary starts the hand-over')
  await waitFor('a drained', () => drained === 1, 15000)
  t.ok(a.leaderId === b.id || a.leaderId === c.id, `a standby was elected before the drained node said it was done (${String(a.leaderId)})`)
  t.ok(a.group.epoch > epoch, 'and raised the epoch')
  const next = await waitFor('the new primary serving', () => [b, c].find(n => n.role === 'primary'), 8000)
  // (the first standby elected may lose its campaign to the other one: the drained node stops
  // watching once a new primary is in place, so its leaderId can name the earlier winner)
  t.equal([b, c].filter(n => n.role === 'primary').length, 1, 'exactly one new primary serves clients')
  t.ok(next.epoch > epoch, 'at a newer epoch')
  const ch = next.nsqd!.getExistingTopic(topic)?.getExistingChannel('ch')
  t.equal(ch?.depth, 30, 'every message is on the new primary (the 3 in flight requeued)')
  await sub.waitClosed(5000)
  t.pass('the old primary\'s consumers were disconnected')

  // the other standby leaves the group: the new primary takes it out of the in-sync set
  const other = next === b ? c : b
  await waitFor('other in sync with the new primary', () => next.primary!.isr.has(other.id), 8000)
  let left = 0
  other.onDrained = () => { left++ }
  t.same(await put(other.httpAddress, 'true'), { status: 200, text: 'true' }, 'PUT /config/draining true on a standby')
  await waitFor('standby drained', () => left === 1, 5000)
  await other.close()
  await waitFor('out of the in-sync set in etcd', async () => !((await next.coordinator!.state()).isr?.members.includes(other.id) ?? true), 5000)
  await pub.waitClosed(5000)
  const pub2 = await RawConn.connect(t, next.tcpAddress)
  t.equal(await pub2.publish(topic, 'after'), 'OK', 'the new primary takes publishes (min-insync 1)')
  await a.close()
})

t.test('failover: a standby takes over with every topic, depth, deferred and in-flight message; the old primary is fenced and rejoins', async (t) => {
  const group = `g${++groupSeq}`
  const a = await startNode(t, group, { replicationSessionTtlMs: 1000 })
  await waitFor('a primary', () => a.role === 'primary', 8000)
  const b = await startNode(t, group, { replicationSessionTtlMs: 1000 })
  await waitFor('b in sync', () => a.primary!.isr.has(b.id), 8000)
  const topic = uniq('fo')
  const pub = await RawConn.connect(t, a.tcpAddress)
  await pub.identify()
  const sub = await RawConn.connect(t, a.tcpAddress)
  await sub.identify({ msg_timeout: 60_000 })
  await sub.subscribe(topic, 'c', 0)
  pub.write(cmd.mpub(topic, Array.from({ length: 30 }, (_, i) => `b${i}`)))
  t.equal(await pub.response(), 'OK')
  pub.write(cmd.dpub(topic, 60_000, 'later'))
  t.equal(await pub.response(), 'OK')
  sub.write(cmd.rdy(5))
  const held = []
  for (let i = 0; i < 5; i++) held.push(await sub.message(5000))
  sub.write(cmd.rdy(0))
  sub.write(cmd.fin(held[0]!.id))
  sub.write(cmd.fin(held[1]!.id))
  const chA = a.nsqd!.getExistingTopic(topic)!.getExistingChannel('c')!
  await waitFor('FINs committed', () => chA.inFlightPQ.length === 3, 5000).catch((err: Error) => { throw new Error(`${err.message}: ${chA.inFlightPQ.length} in flight, depth ${chA.depth}`) })
  await quiesce(a, b)
  const epoch = a.epoch

  // our Producer, given both addresses, keeps publishing through the failover (awaited, one at a time)
  const ptopic = uniq('prod')
  const producer = new Producer([a.tcpAddress, b.tcpAddress], { failoverTimeoutMs: 15_000, logger: silentLogger })
  t.teardown(async () => { await producer.close() })
  let stopProducing = false
  const produced: string[] = []
  const rejected: string[] = []
  const producing = (async () => {
    for (let i = 0; !stopProducing && i < 100_000; i++) {
      try {
        await producer.publish(ptopic, `p${i}`)
        produced.push(`p${i}`)
      } catch (err) {
        rejected.push(`p${i}: ${(err as Error).message}`)
      }
    }
  })()
  await waitFor('producer running', () => produced.length >= 20, 5000)

  // a stops renewing its leases (a pause or a partition): b takes over after the TTL
  const t0 = Date.now()
  a.coordinator!.stall()
  await waitFor('b primary', () => b.role === 'primary', 8000)
  const took = Date.now() - t0
  t.ok(took < 5000, `b took over ${took} ms after a went silent (TTL 1 s)`)
  t.equal(b.epoch, epoch + 1, 'with the next epoch')
  // fencing: a never acknowledges again
  const late = await RawConn.connect(t, a.tcpAddress).catch(() => null)
  if (late !== null) {
    late.write(cmd.pub(topic, 'stale'))
    const f = await late.next(5000).catch(() => null)
    t.not(f?.data.toString(), 'OK', 'the old primary does not acknowledge a publish')
  }
  await waitFor('a steps down', () => a.role === 'standby', 5000)

  const ch = b.nsqd!.getExistingTopic(topic)?.getExistingChannel('c')
  t.ok(ch !== undefined, 'the topic and channel exist on the new primary')
  t.equal(ch!.depth, 28, 'depth: 30 published - 2 finished (the 3 in flight requeued)')
  t.equal(ch!.deferredPQ.length, 1, 'the deferred message is still deferred')
  // publishes need min-insync 2: a must rejoin (resync) first
  await waitFor('a back in sync', () => b.primary?.isr.has(a.id) ?? false, 10000)
  // (a refused PUB closes its connection: one connection per attempt)
  await waitFor('publish accepted by the new primary', async () => {
    const pub2 = await RawConn.connect(t, b.tcpAddress)
    pub2.write(cmd.pub(topic, 'new'))
    const f = await pub2.next(5000)
    pub2.socket.destroy()
    return f.data.toString() === 'OK'
  }, 8000, 200)
  const c2 = await RawConn.connect(t, b.tcpAddress)
  await c2.identify()
  await c2.subscribe(topic, 'c', 100)
  const bodies = new Set<string>()
  for (let i = 0; i < 29; i++) {
    const m = await c2.message(5000)
    bodies.add(m.body.toString())
    c2.write(cmd.fin(m.id))
  }
  const missing = Array.from({ length: 28 }, (_, i) => `b${i + 2}`).filter(x => !bodies.has(x))
  t.same(missing, [], 'every unfinished message is delivered by the new primary')
  t.ok(bodies.has('new'), 'and the one published after the failover')
  const before = produced.length
  await waitFor('the producer publishes to the new primary', () => produced.length >= before + 20, 10000)
  stopProducing = true
  await producing
  t.same(rejected, [], `the Producer failed none of ${produced.length} awaited publishes across the failover`)
  const c3 = await RawConn.connect(t, b.tcpAddress)
  await c3.identify()
  await c3.subscribe(ptopic, 'p', 500)
  const seen = new Set<string>()
  await waitFor('every acknowledged producer body on the new primary', async () => {
    const m = await c3.message(5000)
    seen.add(m.body.toString())
    c3.write(cmd.fin(m.id))
    return produced.every(x => seen.has(x))
  }, 15000, 0)
  t.pass(`all ${produced.length} acknowledged bodies delivered by the new primary`)
})

// last: kills this file's etcd
t.test('coordination: a dead etcd fails calls within their deadline and the leadership lapses', async (t) => {
  const group = `g${++groupSeq}`
  const a = await coordinator(t, group, 'a', 1)
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
