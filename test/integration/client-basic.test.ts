// The client library against our nsqd started in-process: publish paths and broker errors,
// batching, the producer pool's failover, msgpack payloads, consumer handler and iteration,
// requeue/backoff, max attempts, decode failures, graceful close.

import t from 'tap'
import type { Test } from 'tap'
import { startNSQD, uniq, until } from '../helpers/nsqd.js'
import { Producer, Consumer, ProtocolError, NsqClientError, silentLogger } from '../../client/index.js'
import type { Message } from '../../client/index.js'
import { dialTcp } from '../../client/node-transport.js'
import type { Transport } from '../../client/transport.js'

const quiet = { logger: silentLogger }

function consumer<T = Buffer> (t: Test, opts: ConstructorParameters<typeof Consumer<T>>[0]): Consumer<T> {
  const c = new Consumer<T>({ ...quiet, ...opts })
  t.teardown(() => c.close())
  return c
}

function producer (t: Test, addrs: string | string[], opts: ConstructorParameters<typeof Producer>[1] = {}): Producer {
  const p = new Producer(addrs, { ...quiet, ...opts })
  t.teardown(() => p.close())
  return p
}

t.test('publish, publishMany, publishDeferred; broker errors carry the exact code', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  // count socket writes: many publishes in one tick leave in one write
  let writes = 0
  const dial = async (addr: string, o: { connectTimeoutMs: number }): Promise<Transport> => {
    const tr = await dialTcp(addr, o)
    const w = tr.write.bind(tr)
    tr.write = (b: Buffer) => { writes++; return w(b) }
    return tr
  }
  const p = producer(t, n.tcpAddress, { dial })
  await p.connect()
  t.equal(p.identity?.maxRdyCount, 2500)
  writes = 0
  await Promise.all(Array.from({ length: 100 }, (_, i) => p.publish(topic, `m${i}`)))
  t.equal(writes, 1, '100 publishes in one tick = one write')
  await p.publishMany(topic, ['a', Buffer.from('b'), new Uint8Array([99])])
  const t0 = Date.now()
  await p.publishDeferred(topic, 300, 'deferred')
  await t.rejects(p.publishDeferred(topic, 3_600_001, 'x'), new ProtocolError('E_INVALID', 'DPUB timeout 3600001 out of range 0-3600000'))
  await p.publish(topic, 'after-error') // a fresh connection replaces the one nsqd closed

  const got: string[] = []
  let deferredAt = 0
  const c = consumer(t, { topic, channel: 'ch', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 50 })
  c.handle((m) => { got.push(m.text()); if (m.text() === 'deferred') deferredAt = Date.now() })
  await c.connect()
  await until(() => got.length === 105, 'all messages', 5000)
  t.same(got.filter((s) => s.startsWith('m')).length, 100)
  t.ok(got.includes('c') && got.includes('after-error'))
  t.ok(deferredAt - t0 >= 290, `deferred message held back (${deferredAt - t0}ms)`)
  await until(() => c.stats().finished === 105, 'all finished')
})

t.test('batching: size and time bounds, per-message outcomes', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const p = producer(t, n.tcpAddress)
  const b = p.batch(topic, { maxMessages: 100, maxBytes: 64 * 1024, maxDelayMs: 20 })
  const results = await Promise.all(Array.from({ length: 1050 }, (_, i) => b.publish(`b${i}`).then(() => true)))
  t.equal(results.length, 1050)
  t.equal(b.published, 1050)
  const bad = p.batch('bad topic', { maxDelayMs: 1 })
  const outcomes: string[] = []
  bad.add('x', (err) => { outcomes.push(err instanceof ProtocolError ? err.code : String(err)) })
  bad.add('y', (err) => { outcomes.push(err instanceof ProtocolError ? err.code : String(err)) })
  await bad.close()
  t.same(outcomes, ['E_BAD_TOPIC', 'E_BAD_TOPIC'], 'each message reports its failure')
  await b.close()
  let count = 0
  const c = consumer(t, { topic, channel: 'ch', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 200 })
  c.handle(() => { count++ })
  await c.connect()
  await until(() => count === 1050, 'batched messages delivered')
})

t.test('producer pool fails over and retries on connection loss', async (t) => {
  const n1 = await startNSQD(t)
  const n2 = await startNSQD(t)
  const topic = uniq()
  const p = producer(t, [n1.tcpAddress, n2.tcpAddress], { reconnectMinMs: 20 })
  await p.publish(topic, 'one')
  t.same(p.connectedAddresses, [n1.tcpAddress], 'failover uses the first address')
  await n1.close()
  await p.publish(topic, 'two')
  t.same(p.connectedAddresses, [n2.tcpAddress], 'moved to the second')
  t.ok(n2.topics.has(topic), 'published on the second nsqd')
  const rr = producer(t, [n2.tcpAddress, '127.0.0.1:1'], { strategy: 'round-robin', reconnectMinMs: 10 })
  await Promise.all(Array.from({ length: 10 }, (_, i) => rr.publish(topic, `rr${i}`)))
  const dead = producer(t, ['127.0.0.1:1'], { retries: 1, reconnectMinMs: 5 })
  await t.rejects(dead.publish(topic, 'x'), { code: 'CONNECT_FAILED' })
})

t.test('msgpack payloads and the matching consumer decode; undecodable bodies are not dropped', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const p = producer(t, n.tcpAddress, { objectEncoding: 'msgpack' })
  await p.publish(topic, { id: 1, tags: ['a', 'b'], nested: { ok: true } })
  await p.publish(topic, 'not msgpack {')
  const got: unknown[] = []
  const gaveUp: string[] = []
  const c = consumer<{ id: number }>(t, {
    topic,
    channel: 'ch',
    nsqdTcpAddresses: [n.tcpAddress],
    decode: 'msgpack',
    onGiveUp: (m, reason) => { gaveUp.push(`${reason}:${m.text()}`) }
  })
  const errors: Error[] = []
  c.on('error', (e) => { errors.push(e) })
  c.handle((m) => { got.push(m.data) })
  await c.connect()
  await until(() => got.length === 1 && gaveUp.length === 1, 'decoded and given up')
  t.same(got, [{ id: 1, tags: ['a', 'b'], nested: { ok: true } }])
  t.same(gaveUp, ['decode:not msgpack {'])
  t.ok(errors.some((e) => e instanceof NsqClientError && e.code === 'DECODE_FAILED'), 'decode failure reported')
})

t.test('requeue, backoff, max attempts', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const p = producer(t, n.tcpAddress)
  await p.publish(topic, 'flaky')
  await p.publish(topic, 'poison')
  const attempts: Record<string, number> = {}
  const gaveUp: Array<[string, number]> = []
  const backoffs: number[] = []
  const c = consumer(t, {
    topic,
    channel: 'ch',
    nsqdTcpAddresses: [n.tcpAddress],
    maxInFlight: 5,
    maxAttempts: 3,
    requeueDelayMs: 10,
    backoffMultiplierMs: 10,
    maxBackoffMs: 40
  })
  c.on('giveUp', (m) => { gaveUp.push([m.text(), m.attempts]) })
  c.on('backoff', (level) => { backoffs.push(level) })
  c.on('error', () => {})
  c.handle((m) => {
    const body = m.text()
    attempts[body] = m.attempts
    if (body === 'poison') throw new Error('cannot handle')
    if (body === 'flaky' && m.attempts < 2) { m.requeue(5); return }
  })
  await c.connect()
  await until(() => gaveUp.length === 1 && attempts.flaky === 2, 'poison given up, flaky done', 5000)
  t.same(gaveUp, [['poison', 4]], 'given up when attempts exceed maxAttempts')
  t.equal(attempts.poison, 3)
  t.ok(backoffs.length > 0, 'failures trigger backoff')
  // the level only drops through successes: RDY 1 tests the waters until it reaches 0
  await p.publishMany(topic, ['after1', 'after2', 'after3', 'after4', 'after5'])
  await until(() => attempts.after5 === 1 && c.backoffLevel === 0, 'backoff recovers through successes', 3000)
  t.equal(c.stats().inFlight, 0)
})

t.test('for await iteration, touch, close waits for in-flight messages', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const p = producer(t, n.tcpAddress)
  await p.publishMany(topic, ['1', '2', '3', '4', '5'])
  const c = consumer(t, { topic, channel: 'it', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 2 })
  const seen: string[] = []
  for await (const m of c) {
    seen.push(m.text())
    m.touch()
    if (seen.length === 3) break
  }
  t.same(seen, ['1', '2', '3'])
  const ch = n.topics.get(topic)?.channels.get('it')
  await until(() => ch !== undefined && ch.inFlight.size === 0, 'message in hand requeued, others finished')

  // handler close: in-flight handler finishes and is FINed before close() resolves
  const c2 = consumer(t, { topic, channel: 'it', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 1 })
  let release: () => void = () => {}
  let started = 0
  let done = 0
  c2.handle(async () => { started++; await new Promise<void>((resolve) => { release = resolve }); done++ })
  await c2.connect()
  await until(() => started === 1, 'handler started')
  const closing = c2.close()
  let closed = false
  void closing.then(() => { closed = true })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(closed, false, 'close waits for the in-flight handler')
  release()
  await closing
  t.equal(done, 1)
  t.equal(c2.stats().finished, 1)
  t.equal(ch?.inFlight.size, 0, 'nothing left in flight on nsqd')
  t.equal(ch?.depth, 2, '3, 4, 5 were requeued by the iterator; one was handled since')
})

t.test('autoTouch keeps a slow message in flight past msg_timeout on a real nsqd', async (t) => {
  const n = await startNSQD(t, { msgTimeoutMs: 400 })
  const topic = uniq()
  await producer(t, n.tcpAddress).publish(topic, 'slow')
  const attempts: number[] = []
  const c = consumer(t, { topic, channel: 'ch', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 1, autoTouch: true })
  let finished = false
  c.handle(async (m: Message) => {
    attempts.push(m.attempts)
    // three times the message timeout; auto-touch must keep it ours
    await until(() => Date.now() - m.receivedAtMs >= 1200, 'a slow handler', 5000, 50)
    finished = true
  })
  await c.connect()
  await until(() => finished, 'handler done', 10000)
  const ch = n.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.inFlight.size === 0, 'FINed', 5000)
  t.same(attempts, [1], 'delivered once')
  t.equal(ch.timeoutCount, 0, 'never timed out')
  t.equal(ch.requeueCount, 0)
})
