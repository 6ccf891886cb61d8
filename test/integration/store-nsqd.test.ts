// nsqd on its LevelDB, in process over real sockets: overflow to disk and back in order, restart
// after a clean shutdown (queued, in-flight and deferred messages, metadata), durable mode
// acknowledgements, write failures (a full disk), a damaged store at start.

import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { startNSQD, RawConn, tmpDir, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { Options } from '../../nsqd/options.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import { MESSAGE_OVERHEAD_BYTES, type StoreOp } from '../../nsqd/store/store.js'
import { STORE_DIR } from '../../nsqd/store/node-store.js'

interface TapT { teardown (fn: () => unknown): void }

/** Publishes bodies `${prefix}${i}` for i in [from, to) with MPUBs of `batch`. */
async function mpubRange (c: RawConn, topic: string, prefix: string, from: number, to: number, batch = 1000): Promise<void> {
  for (let i = from; i < to; i += batch) {
    const bodies: Buffer[] = []
    for (let j = i; j < Math.min(to, i + batch); j++) bodies.push(Buffer.from(prefix + j))
    c.write(cmd.mpub(topic, bodies))
    const r = await c.response()
    if (r !== 'OK') throw new Error(`MPUB answered ${r}`)
  }
}

/** Receives `count` messages, FINing them unless `fin` is false; returns the bodies (and ids). */
async function consume (c: RawConn, count: number, fin = true, timeoutMs = 20_000): Promise<Array<{ id: string, body: string, attempts: number }>> {
  const out: Array<{ id: string, body: string, attempts: number }> = []
  const fins: Buffer[] = []
  while (out.length < count) {
    const m = await c.message(timeoutMs)
    out.push({ id: m.id, body: m.body.toString(), attempts: m.attempts })
    if (fin) fins.push(cmd.fin(m.id))
    if (fins.length >= 200 || out.length === count) {
      if (fins.length > 0) c.write(Buffer.concat(fins))
      fins.length = 0
    }
  }
  return out
}

async function restart (t: TapT, old: NSQD, options: Partial<Options>): Promise<NSQD> {
  await old.close()
  return await startNSQD(t, { ...options, dataPath: old.options.dataPath })
}

t.test('100,000 messages through --mem-queue-size=100 come back complete and in order', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 100 })
  const topic = uniq('big')
  const sub = await RawConn.connect(t, nsqd.tcpAddress)
  await sub.identify()
  await sub.subscribe(topic, 'ch', 0)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  await mpubRange(pub, topic, '', 0, 100_000)
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.memQueue.length, 100, 'memory holds --mem-queue-size')
  t.equal(ch.backend.depth(), 99_900, 'the rest is on disk (backend_depth)')
  sub.write(cmd.rdy(2500))
  const got = await consume(sub, 100_000)
  let inOrder = true
  for (let i = 0; i < got.length; i++) if (got[i].body !== String(i)) { inOrder = false; t.fail(`message ${i} is ${got[i].body}`); break }
  t.ok(inOrder, 'all 100,000, in order')
  await until(() => ch.depth === 0 && ch.inFlight.size === 0, 'drained')
})

t.test('clean shutdown: queued, in-flight and deferred messages and metadata survive a restart', async (t) => {
  const opts = { memQueueSize: 50 }
  let nsqd = await startNSQD(t, opts)
  const topic = uniq('restart')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 0)
  const paused = nsqd.getTopic(topic).getChannel('paused')
  nsqd.setPaused(nsqd.getTopic(topic), paused, true)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  await mpubRange(pub, topic, 'm', 0, 300, 100)
  // a second topic without channels keeps its backlog at the topic
  await mpubRange(pub, topic + '_solo', 's', 0, 20, 20)
  nsqd.getTopic(uniq('eph') + '#ephemeral')

  c.write(cmd.rdy(10))
  const first = await consume(c, 10, false) // in flight, never FINed
  c.write(cmd.fin(first[0].id))
  const deferId = first[1].id
  const reqAt = Date.now()
  c.write(cmd.req(deferId, 1500)) // deferred: must keep the rest of its delay across the restart
  await until(() => nsqd.getTopic(topic).getChannel('ch').deferred.size === 1, 'deferred')

  nsqd = await restart(t, nsqd, opts)
  const tp = nsqd.getExistingTopic(topic)
  t.ok(tp, 'topic restored')
  t.ok(nsqd.getExistingTopic(topic + '_solo'), 'topic without channels restored')
  t.equal(nsqd.getExistingTopic(topic + '_solo')!.depth, 20, 'with its backlog')
  t.same([...tp!.channels.keys()].sort(), ['ch', 'paused'])
  t.equal(tp!.getExistingChannel('paused')!.paused, true, 'paused flag restored')
  t.equal(tp!.getExistingChannel('paused')!.depth, 300, 'paused channel keeps all 300')
  t.equal([...nsqd.topics.keys()].some(n => n.endsWith('#ephemeral')), false, 'ephemeral topics are not restored')
  const ch = tp!.getExistingChannel('ch')!
  t.equal(ch.deferred.size, 1, 'the deferred message is deferred again')

  const c2 = await RawConn.connect(t, nsqd.tcpAddress)
  await c2.identify()
  await c2.subscribe(topic, 'ch', 500)
  const got = await consume(c2, 298)
  const bodies = new Set(got.map(m => m.body))
  t.equal(bodies.size, 298, 'every message except the FINed and the deferred one, once')
  t.notOk(bodies.has(first[0].body), 'the FINed message is gone')
  t.ok(bodies.has(first[2].body), 'an in-flight message came back')
  t.notOk(bodies.has(first[1].body), 'the deferred message is not delivered early')
  const late = await c2.message(5000)
  const at = Date.now()
  t.equal(late.id, deferId, 'the deferred message arrives last')
  t.ok(at - reqAt >= 1400, `delay kept (${at - reqAt} ms after REQ)`)
  c2.write(cmd.fin(late.id))
})

t.test('deleting a topic removes its data and metadata', async (t) => {
  let nsqd = await startNSQD(t, { memQueueSize: 0 })
  const topic = uniq('del')
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  nsqd.getTopic(topic).getChannel('a')
  await mpubRange(pub, topic, 'x', 0, 100, 100)
  const store = nsqd.store!.store
  await until(() => nsqd.getTopic(topic).getChannel('a').backend.depth() === 100, 'stored')
  await store.whenCommitted()
  t.ok((await store.db.keys({ gte: `q/${topic}:a/`, lt: `q/${topic}:a0` }).all()).length > 0, 'chunks on disk')
  await nsqd.deleteTopic(topic)
  await until(() => store.whenCommitted().then(() => true), 'commit')
  t.same(await store.db.keys({ gte: `q/${topic}`, lt: `q/${topic}\xff` }).all(), [], 'no chunks left')
  nsqd = await restart(t, nsqd, { memQueueSize: 0 })
  t.notOk(nsqd.getExistingTopic(topic), 'not restored')
})

t.test('durable mode: OK after sync, every un-FINed message redelivered after an unclean stop', async (t) => {
  const opts = { memQueueSize: 0, syncEvery: 1 }
  let nsqd = await startNSQD(t, opts)
  t.ok(nsqd.store!.durable, 'durable mode on')
  const topic = uniq('durable')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 0)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'p0'), 'OK')
  pub.write(cmd.dpub(topic, 60_000, Buffer.from('d0')))
  t.equal(await pub.response(), 'OK', 'DPUB')
  await mpubRange(pub, topic, 'm', 0, 50, 25)
  c.write(cmd.rdy(20))
  const got = await consume(c, 20, false)
  c.write(cmd.rdy(0))
  for (const m of got.slice(0, 10)) c.write(cmd.fin(m.id))
  await until(() => nsqd.getTopic(topic).getChannel('ch').inFlight.size === 10, 'FINs processed')
  await nsqd.store!.whenDurable()
  // an unclean stop: the journal is all there is (the in-memory state is thrown away)
  const store = nsqd.store!.store
  await store.db.close()
  const dataPath = nsqd.options.dataPath
  ;(nsqd as unknown as { store: null }).store = null
  for (const tp of nsqd.topics.values()) { tp.exiting = true; for (const ch of tp.channelsList) ch.exiting = true }
  await nsqd.close().catch(() => {})

  nsqd = await startNSQD(t, { ...opts, dataPath })
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.deferred.size, 1, 'the DPUB message is still deferred')
  const c2 = await RawConn.connect(t, nsqd.tcpAddress)
  await c2.identify()
  await c2.subscribe(topic, 'ch', 100)
  const again = await consume(c2, 41)
  const bodies = new Set(again.map(m => m.body))
  const finned = new Set(got.slice(0, 10).map(m => m.body))
  t.equal(bodies.size, 41, '51 published - 10 FINed')
  t.notOk([...finned].some(b => bodies.has(b)), 'FINed messages stay gone')
  t.ok(got.slice(10).every(m => bodies.has(m.body)), 'delivered but un-FINed ones come back')
  t.ok(again.filter(m => got.slice(10).some(g => g.id === m.id)).every(m => m.attempts >= 1), 'with their attempts')
})

t.test('full disk: E_PUB_FAILED, unhealthy, nothing acknowledged lost, recovers', async (t) => {
  let failing = false
  const writeBatch = async (ops: StoreOp[], sync: boolean, write: (o: StoreOp[], s: boolean) => Promise<void>): Promise<void> => {
    if (failing) throw new Error('ENOSPC: no space left on device, write')
    await write(ops, sync)
  }
  const dataPath = tmpDir(t)
  const nsqd = await startNSQDWith(t, { memQueueSize: 0, syncEvery: 1, dataPath }, writeBatch)
  const topic = uniq('full')
  nsqd.getTopic(topic).getChannel('ch')
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'a1'), 'OK')
  failing = true
  pub.write(cmd.pub(topic, Buffer.from('a2')))
  t.match(await pub.error(), /^E_PUB_FAILED PUB failed/, 'the publish whose batch failed is refused')
  await pub.waitClosed()
  t.match(nsqd.healthError, /no space left/, '/ping reports the failure')
  const pub2 = await RawConn.connect(t, nsqd.tcpAddress)
  pub2.write(cmd.mpub(topic, [Buffer.from('a3')]))
  t.match(await pub2.error(), /^E_MPUB_FAILED/, 'refused at once while unhealthy')
  const httpPub = await fetch(`http://${nsqd.httpAddress}/pub?topic=${topic}`, { method: 'POST', body: 'h1' })
  t.equal(httpPub.status, 500, 'HTTP publish refused with 500')
  t.same(await httpPub.json(), { message: 'INTERNAL_ERROR' })
  const ping = await fetch(`http://${nsqd.httpAddress}/ping`)
  t.equal(ping.status, 500)
  t.match(await ping.text(), /^NOK - .*no space left/, '/ping says why')
  failing = false
  await until(() => nsqd.healthError === null, 'recovery', 5000)
  const pub3 = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub3.publish(topic, 'a4'), 'OK', 'publishes work again')
  t.equal((await fetch(`http://${nsqd.httpAddress}/ping`)).status, 200, '/ping healthy again')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 10)
  const got = (await consume(c, 3)).map(m => m.body).sort()
  // a2's batch was kept and written once space returned: a refused publish may still be
  // delivered (at least once), an acknowledged one is never lost, a3 was never accepted
  t.same(got, ['a1', 'a2', 'a4'], 'acknowledged messages delivered')
  t.ok(await c.quiet(100), 'nothing else')
})

async function startNSQDWith (t: TapT, options: Partial<Options>, writeBatch: NonNullable<NSQD['storeOptions']['writeBatch']>): Promise<NSQD> {
  const { NSQD } = await import('../../nsqd/nsqd.js')
  const { createCapturingLogger } = await import('../../nsqd/logger.js')
  const nsqd = new NSQD({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', queueScanIntervalMs: 20, logger: createCapturingLogger('debug'), ...options })
  nsqd.storeOptions = { writeBatch, retryMs: 20 }
  await nsqd.start()
  t.teardown(async () => { await nsqd.close() })
  return nsqd
}

t.test('a damaged store at start: repaired, logged, nsqd starts', async (t) => {
  const opts = { memQueueSize: 0 }
  let nsqd = await startNSQD(t, opts)
  const topic = uniq('dmg')
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  nsqd.getTopic(topic).getChannel('ch')
  await mpubRange(pub, topic, 'x', 0, 10, 10)
  const dataPath = nsqd.options.dataPath
  await nsqd.close()
  fs.writeFileSync(path.join(dataPath, STORE_DIR, 'CURRENT'), 'garbage\n')
  nsqd = await startNSQD(t, { ...opts, dataPath })
  const logs = (nsqd.logger as unknown as { lines: string[] }).lines.join('')
  t.match(logs, /attempting repair/)
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 20)
  t.same((await consume(c, 10)).map(m => m.body).sort(), Array.from({ length: 10 }, (_, i) => 'x' + i).sort(), 'data recovered')
})

t.test('backpressure: a disk slower than the publishers holds them back instead of growing memory', async (t) => {
  const slowWrites = async (ops: StoreOp[], sync: boolean, write: (o: StoreOp[], s: boolean) => Promise<void>): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 40)) // a slow disk: 40 ms per batch
    await write(ops, sync)
  }
  const { NSQD: NSQDClass } = await import('../../nsqd/nsqd.js')
  const { createCapturingLogger } = await import('../../nsqd/logger.js')
  const nsqd = new NSQDClass({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: tmpDir(t), memQueueSize: 0, queueScanIntervalMs: 20, logger: createCapturingLogger('debug') })
  const HIGH = 512 * 1024
  nsqd.storeOptions = { writeBatch: slowWrites, backlogHighBytes: HIGH }
  await nsqd.start()
  t.teardown(async () => { await nsqd.close() })
  const topic = uniq('bp')
  const store = nsqd.store!.store
  let maxBacklog = 0
  const sampler = setInterval(() => { maxBacklog = Math.max(maxBacklog, store.backlog) }, 1)
  t.teardown(() => { clearInterval(sampler) })

  // one publisher pipelines 40 MPUBs of 100 x 1 KiB (4 MB) without waiting for answers
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  const body = Buffer.alloc(1024, 0x62)
  const N = 40
  for (let i = 0; i < N; i++) p.write(cmd.mpub(topic, Array.from({ length: 100 }, () => body)))
  for (let i = 0; i < N; i++) t.equal(await p.next(10_000).then((f) => f.data.toString()), 'OK', `MPUB ${i} answered`)
  clearInterval(sampler)
  // the backlog stayed near the high-water mark: at most one more request beyond it
  t.ok(maxBacklog <= HIGH + 100 * (1024 + MESSAGE_OVERHEAD_BYTES) + 10 * 1024, `unwritten backlog peaked at ${(maxBacklog / 1024).toFixed(0)} KiB (limit ${HIGH / 1024} KiB)`)
  t.ok(maxBacklog > HIGH / 2, 'the limit was actually reached (the test exercised backpressure)')
  // HTTP publishes are held the same way and still succeed
  const res = await fetch(`http://${nsqd.httpAddress}/pub?topic=${topic}`, { method: 'POST', body: 'last' })
  t.equal(res.status, 200)
  await until(() => nsqd.getExistingTopic(topic)!.depth === N * 100 + 1, 'every message stored', 10_000)
})

t.test('backpressure on a snappy connection pauses the socket it reads from, not the compressing writer', async (t) => {
  const { LayeredConn } = await import('../helpers/transport.js')
  let release: () => void = () => {}
  let held = true
  const gate = new Promise<void>((resolve) => { release = () => { held = false; resolve() } })
  const heldWrites = async (ops: StoreOp[], sync: boolean, write: (o: StoreOp[], s: boolean) => Promise<void>): Promise<void> => {
    if (held) await gate // a stalled disk until the test releases it
    await write(ops, sync)
  }
  const { NSQD: NSQDClass } = await import('../../nsqd/nsqd.js')
  const { createCapturingLogger } = await import('../../nsqd/logger.js')
  const nsqd = new NSQDClass({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: tmpDir(t), memQueueSize: 0, snappy: true, logger: createCapturingLogger('debug') })
  nsqd.storeOptions = { writeBatch: heldWrites, backlogHighBytes: 256 * 1024 }
  await nsqd.start()
  t.teardown(async () => { release(); await nsqd.close() })
  const topic = uniq('bpsnappy')
  const c = await LayeredConn.connect(t, nsqd.tcpAddress)
  await c.identify({ snappy: true })
  c.startCompression('snappy')
  t.equal(await c.response(), 'OK')
  const body = Buffer.alloc(1024, 0x63)
  const N = 8 // 8 x 100 KiB, well over the 256 KiB bound while the disk is stalled
  for (let i = 0; i < N; i++) c.write(cmd.mpub(topic, Array.from({ length: 100 }, () => body)))
  const server = [...nsqd.clients.values()][0]!
  await until(() => server.client.input.isPaused(), 'the socket nsqd reads from is paused while the store is behind', 10_000)
  t.not(server.client.input, server.client.conn, 'input is the socket, conn the snappy writer')
  release()
  for (let i = 0; i < N; i++) t.equal(await c.response(), 'OK', `MPUB ${i} answered once the disk caught up`)
  await until(() => !server.client.input.isPaused(), 'reading resumes', 10_000)
  await until(() => nsqd.getExistingTopic(topic)!.depth === N * 100, 'every message stored', 10_000)
})

t.test('--mem-queue-size=0: an ephemeral channel hands each message to a ready consumer, and drops it only when none can take it (as NSQ)', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 0 })
  const topic = uniq('eph0')
  const sub = await RawConn.connect(t, nsqd.tcpAddress)
  await sub.identify()
  await sub.subscribe(topic, 'tail#ephemeral', 50)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  await mpubRange(pub, topic, 'm', 0, 30, 10)
  t.same((await consume(sub, 30)).map((m) => m.body), Array.from({ length: 30 }, (_, i) => 'm' + i), 'every message reached the ready consumer, in order')
  // no RDY open: nothing can take them, and an ephemeral channel has no disk
  // RDY 0, then a FIN of an unknown id as a barrier: its (non-fatal) error means RDY 0 was applied
  sub.write(Buffer.concat([cmd.rdy(0), cmd.fin('0000000000000000')]))
  t.match(await sub.error(), /^E_FIN_FAILED/)
  t.equal(await pub.publish(topic, 'dropped'), 'OK')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('tail#ephemeral')!
  t.equal(ch.depth, 0, 'nothing kept')
  t.equal(ch.droppedCount, 1, 'dropped, as NSQ drops it')
  // the durable channel beside it keeps everything on disk
  const d = await RawConn.connect(t, nsqd.tcpAddress)
  await d.identify()
  await d.subscribe(topic, 'durable', 0)
  await mpubRange(pub, topic, 'd', 0, 5, 5)
  await until(() => nsqd.getExistingTopic(topic)!.getExistingChannel('durable')!.depth === 5, 'the durable channel holds them')
})

t.test('--store-backlog-size and --store-write-buffer-size reach the store', async (t) => {
  const nsqd = await startNSQD(t, { storeBacklogSize: 3 * 1024 * 1024, storeWriteBufferSize: 2 * 1024 * 1024 })
  t.equal(nsqd.store!.store.options.backlogHighBytes, 3 * 1024 * 1024)
  t.equal(nsqd.store!.store.options.writeBufferBytes, 2 * 1024 * 1024)
})

t.test('backpressure: moving a disk backlog into a new channel waits for the store too', async (t) => {
  const slowWrites = async (ops: StoreOp[], sync: boolean, write: (o: StoreOp[], s: boolean) => Promise<void>): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 20))
    await write(ops, sync)
  }
  const { NSQD: NSQDClass } = await import('../../nsqd/nsqd.js')
  const { createCapturingLogger } = await import('../../nsqd/logger.js')
  const nsqd = new NSQDClass({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath: tmpDir(t), memQueueSize: 0, queueScanIntervalMs: 20, logger: createCapturingLogger('debug') })
  const HIGH = 256 * 1024
  nsqd.storeOptions = { writeBatch: slowWrites, backlogHighBytes: HIGH }
  await nsqd.start()
  t.teardown(async () => { await nsqd.close() })
  const topicName = uniq('drain')
  const store = nsqd.store!.store
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  const body = Buffer.alloc(1024, 0x63)
  const N = 20
  for (let i = 0; i < N; i++) p.write(cmd.mpub(topicName, Array.from({ length: 100 }, () => body)))
  for (let i = 0; i < N; i++) t.equal(await p.next(10_000).then((f) => f.data.toString()), 'OK')
  await store.whenCommitted()
  await until(() => store.backlog === 0, 'the topic backlog is written', 10_000)

  let maxBacklog = 0
  const sampler = setInterval(() => { maxBacklog = Math.max(maxBacklog, store.backlog) }, 1)
  t.teardown(() => { clearInterval(sampler) })
  const topic = nsqd.getExistingTopic(topicName)!
  const ch = topic.getChannel('ch') // 2000 messages flow from the topic's disk queue to the channel's
  await until(() => ch.depth === N * 100 && topic.depth === 0, 'the backlog moved to the channel', 20_000)
  clearInterval(sampler)
  t.ok(maxBacklog <= HIGH + 256 * (1024 + MESSAGE_OVERHEAD_BYTES), `unwritten backlog peaked at ${(maxBacklog / 1024).toFixed(0)} KiB (limit ${HIGH / 1024} KiB)`)
  t.ok(maxBacklog > HIGH / 2, 'the limit was reached (the drain was actually held)')
})
