// Client core without a broker: RDY policy and backoff (pure), the connection over a fake
// transport (handshake, FIFO answers, heartbeats, fatal errors, one write per tick), the command
// bytes against the wire encoder, payload codecs and lookupd response handling.

import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { RdyController } from '../../client/rdy.js'
import type { RdyConn } from '../../client/rdy.js'
import { backoffDurationMs, nextBackoffLevel, reconnectDelayMs } from '../../client/backoff.js'
import { Connection, defaultConnectionOptions, parseIdentify } from '../../client/connection.js'
import type { Transport, TransportSink } from '../../client/transport.js'
import { splitHostPort } from '../../client/transport.js'
import { OutBuffer, Fifo } from '../../client/out-buffer.js'
import { encodeFrame, FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE } from '../../client/wire/frames.js'
import { encodeMessage } from '../../client/wire/message.js'
import * as cmd from '../../client/wire/commands.js'
import { ProtocolError } from '../../client/wire/errors.js'
import { NsqClientError } from '../../client/errors.js'
import { encodePayload, decodeBody } from '../../client/codec.js'
import { lookupTopic, lookupAll, lookupdUrl, parseProducers, lookupdTopics } from '../../client/lookup.js'
import { Producer } from '../../client/producer.js'
import { silentLogger } from '../../client/logger.js'

interface FakeConn extends RdyConn { name: string }

function conn (name: string, maxRdy = 2500): FakeConn {
  return { name, rdy: 0, inFlight: 0, maxRdy, lastMsgAtMs: 0, rdyChangedAtMs: 0, prevRdy: 0, settleUntilMs: 0 }
}

function controller (maxInFlight: number, sent: string[], extra: { maxBackoffMs?: number, settleMs?: number } = {}) {
  return new RdyController<FakeConn>({
    maxInFlight,
    lowRdyIdleTimeoutMs: 100,
    lowRdyTimeoutMs: 1000,
    settleMs: extra.settleMs ?? 0,
    backoff: { backoffMultiplierMs: 10, maxBackoffMs: extra.maxBackoffMs ?? 100, backoffStrategy: 'exponential' },
    sendRdy: (c, n) => { sent.push(`${c.name}=${n}`) },
    random: () => 0
  })
}

function total (cs: FakeConn[]): number {
  return cs.reduce((s, c) => s + Math.max(c.rdy, c.inFlight), 0)
}

t.test('RDY: max-in-flight spread over connections, never exceeded', async (t) => {
  const sent: string[] = []
  const r = controller(10, sent)
  const a = conn('a'); const b = conn('b'); const c = conn('c')
  r.add(a, 1)
  t.same(sent, ['a=10'])
  a.inFlight = 10
  r.add(b, 2)
  // a is lowered to 5 at once; b may only rise as a's messages complete
  t.equal(a.rdy, 5)
  t.equal(b.rdy, 0)
  t.equal(r.needsRebalance, true)
  a.inFlight = 5
  r.rebalance(3)
  t.equal(b.rdy, 5)
  t.ok(total([a, b]) <= 10)
  a.inFlight = 0
  r.add(c, 4)
  t.same([a.rdy, b.rdy, c.rdy], [4, 3, 3], 'remainder to the first connections')
  t.equal(total([a, b, c]), 10)
  r.remove(a, 5)
  t.same([b.rdy, c.rdy], [5, 5])
  // a lowered RDY keeps counting while messages sent under it may still be on the wire
  const s = controller(4, [], { settleMs: 100 })
  const x = conn('x'); const y = conn('y')
  s.add(x, 1000)
  s.add(y, 1001)
  t.same([x.rdy, y.rdy], [2, 0], 'x lowered to 2, its old 4 still settling')
  s.rebalance(1050)
  t.equal(y.rdy, 0)
  s.rebalance(1101)
  t.same([x.rdy, y.rdy], [2, 2], 'settled')
  const capped = conn('d', 2)
  const r2 = controller(10, [])
  r2.add(capped, 1)
  t.equal(capped.rdy, 2, 'capped by max_rdy_count')
})

t.test('RDY: more connections than max-in-flight rotate without starving any', async (t) => {
  const sent: string[] = []
  const r = controller(2, sent)
  const cs = ['a', 'b', 'c', 'd', 'e'].map((n) => conn(n))
  let now = 1
  for (const c of cs) r.add(c, now++)
  t.equal(cs.filter((c) => c.rdy === 1).length, 2)
  t.ok(total(cs) <= 2)
  const served = new Set<string>()
  for (let round = 0; round < 10; round++) {
    for (const c of cs) if (c.rdy > 0) { served.add(c.name); c.lastMsgAtMs = now }
    now += 150 // idle past lowRdyIdleTimeoutMs
    r.tick(now)
    t.ok(cs.filter((c) => c.rdy > 0).length <= 2, 'never more than max-in-flight RDY')
    t.ok(total(cs) <= 2)
  }
  t.same([...served].sort(), ['a', 'b', 'c', 'd', 'e'], 'every connection got RDY at some point')
  // a busy holder (message in flight) keeps RDY until low_rdy_timeout, then gives it up
  const busy = cs.find((c) => c.rdy > 0) as FakeConn
  busy.inFlight = 1
  busy.lastMsgAtMs = now
  r.tick(now + 50)
  t.equal(busy.rdy, 1, 'busy connection not idle yet')
  r.tick(now + 2000)
  t.equal(busy.rdy, 0, 'held longer than low_rdy_timeout')
  t.ok(total(cs) <= 2, 'its in-flight message still counts against the budget')
})

t.test('RDY: backoff sends RDY 0, tests the waters with RDY 1, recovers', async (t) => {
  const sent: string[] = []
  const r = controller(6, sent)
  const a = conn('a'); const b = conn('b')
  r.add(a, 1); r.add(b, 1)
  t.same([a.rdy, b.rdy], [3, 3])
  const wait1 = r.onFailure(10)
  t.equal(wait1, 20, 'level 1: 10ms × 2')
  t.same([a.rdy, b.rdy], [0, 0])
  t.equal(r.onFailure(11), 0, 'results during the wait are ignored')
  t.equal(r.level, 1)
  r.onBackoffTimer(40)
  t.equal(a.rdy + b.rdy, 1, 'one connection tests the waters')
  const wait2 = r.onFailure(41)
  t.equal(wait2, 40, 'level 2')
  r.onBackoffTimer(90)
  t.equal(r.onSuccess(91), 20, 'success lowers the level and waits again')
  t.equal(r.level, 1)
  r.onBackoffTimer(120)
  t.equal(r.onSuccess(121), 0)
  t.equal(r.level, 0)
  t.same([a.rdy, b.rdy], [3, 3], 'back to normal shares')
  // the level stops rising at the cap
  for (let i = 0; i < 10; i++) { r.onFailure(200 + i * 1000); r.onBackoffTimer(200 + i * 1000 + 500) }
  t.ok(backoffDurationMs(r.level, { backoffMultiplierMs: 10, maxBackoffMs: 100, backoffStrategy: 'exponential' }) <= 100)
  t.equal(nextBackoffLevel(0, { backoffMultiplierMs: 10, maxBackoffMs: 0, backoffStrategy: 'exponential' }), 0, 'disabled')
  const off = controller(4, [], { maxBackoffMs: 0 })
  const x = conn('x'); off.add(x, 1)
  t.equal(off.onFailure(2), 0)
  t.equal(x.rdy, 4, 'no backoff when disabled')
  t.ok(reconnectDelayMs(1, 100, 1000, () => 0.5) === 100)
  t.ok(reconnectDelayMs(10, 100, 1000, () => 0.5) === 1000)
  t.ok(r.isStarved() === false)
  a.inFlight = 3
  t.ok(r.isStarved(), 'in-flight ≥ 85 % of RDY')
})

class FakeTransport implements Transport {
  readonly address = 'fake:4150'
  writes: Buffer[] = []
  sink: TransportSink | null = null
  ended = false
  attach (sink: TransportSink): void { this.sink = sink }
  write (data: Buffer): boolean { this.writes.push(Buffer.from(data)); return true }
  end (): void { this.ended = true; queueMicrotask(() => this.sink?.onClose(null)) }
  destroy (err?: Error): void { queueMicrotask(() => this.sink?.onClose(err ?? null)) }
  frame (type: number, data: string | Buffer): void { this.sink?.onData(encodeFrame(type, data)) }
  get all (): Buffer { return Buffer.concat(this.writes) }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('connection: handshake, FIFO answers, heartbeat, one write per tick, fatal error', async (t) => {
  const tr = new FakeTransport()
  const c = new Connection(tr, { ...defaultConnectionOptions(), clientId: 'me', heartbeatIntervalMs: 0 })
  const msgs: Buffer[] = []
  const nonFatal: string[] = []
  let closedWith: Error | null | undefined
  const hs = c.handshake({ onMessage: (d) => { msgs.push(Buffer.from(d)) }, onNonFatalError: (e) => { nonFatal.push(e.code) }, onClose: (e) => { closedWith = e } })
  await tick()
  const first = tr.all
  t.equal(first.subarray(0, 4).toString(), '  V2')
  t.equal(first.subarray(4, 13).toString(), 'IDENTIFY\n')
  const json = JSON.parse(first.subarray(17).toString())
  t.equal(json.feature_negotiation, true)
  t.equal(json.client_id, 'me')
  tr.frame(FRAME_TYPE_RESPONSE, JSON.stringify({ max_rdy_count: 99, version: '1.3.0', max_msg_timeout: 5000, msg_timeout: 2000, tls_v1: false, snappy: false, deflate: false, auth_required: false }))
  const id = await hs
  t.equal(id.maxRdyCount, 99)
  t.equal(id.msgTimeoutMs, 2000)
  t.equal(c.state, 'ready')

  tr.writes = []
  const results: string[] = []
  for (let i = 0; i < 3; i++) c.pub('t', `m${i}`, (err) => { results.push(err === null ? `ok${i}` : `${(err as ProtocolError).code}${i}`) })
  c.mpub('t', [Buffer.from('a'), Buffer.from('bc')], (err) => { results.push(err === null ? 'okM' : 'errM') })
  c.dpub('t', 1500, 'late', (err) => { results.push(err === null ? 'okD' : 'errD') })
  c.command('FIN 0123456789abcdef')
  await tick()
  t.equal(tr.writes.length, 1, 'five requests and a FIN in one write')
  const expected = Buffer.concat([cmd.pub('t', 'm0'), cmd.pub('t', 'm1'), cmd.pub('t', 'm2'), cmd.mpub('t', ['a', 'bc']), cmd.dpub('t', 1500, 'late'), cmd.fin('0123456789abcdef')])
  t.same(tr.all, expected, 'bytes equal the wire encoder')

  tr.writes = []
  tr.frame(FRAME_TYPE_RESPONSE, 'OK')
  tr.frame(FRAME_TYPE_RESPONSE, '_heartbeat_')
  tr.frame(FRAME_TYPE_ERROR, 'E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight')
  tr.frame(FRAME_TYPE_RESPONSE, 'OK')
  tr.sink?.onData(encodeFrame(FRAME_TYPE_MESSAGE, encodeMessage(1e18, 2, '0123456789abcdef', Buffer.from('body'))))
  t.same(results, ['ok0', 'ok1'])
  t.same(nonFatal, ['E_FIN_FAILED'], 'non-fatal error does not take a pending answer')
  t.equal(msgs.length, 1)
  await tick()
  t.same(tr.all, cmd.NOP, 'heartbeat answered with NOP')
  tr.frame(FRAME_TYPE_ERROR, 'E_PUB_FAILED PUB failed exiting')
  await tick()
  t.same(results.slice(2), ['E_PUB_FAILED2', 'errM', 'errD'], 'fatal error answers the oldest; the rest fail on close')
  t.equal(c.state, 'closed')
  t.type(closedWith, ProtocolError)
  let late: Error | null = null
  c.pub('t', 'x', (err) => { late = err })
  t.type(late, NsqClientError)
  t.equal((late as unknown as NsqClientError).code, 'CONNECTION_CLOSED')
})

t.test('connection: plain OK identify, garbage frames, handshake timeout, no upgrade support', async (t) => {
  t.equal(parseIdentify(Buffer.from('OK')).maxRdyCount, 2500)
  t.equal(parseIdentify(Buffer.from('{bad')).maxMsgTimeoutMs, 900000)

  const tr = new FakeTransport()
  const c = new Connection(tr, { ...defaultConnectionOptions(), heartbeatIntervalMs: 0 })
  const hs = c.handshake({ onMessage () {}, onNonFatalError () {}, onClose () {} })
  tr.sink?.onData(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])) // size 1: impossible
  await t.rejects(hs, { code: 'HANDSHAKE_FAILED' })
  t.equal(c.closeError instanceof NsqClientError && c.closeError.code, 'BAD_FRAME')

  const tr2 = new FakeTransport()
  const c2 = new Connection(tr2, { ...defaultConnectionOptions(), heartbeatIntervalMs: 0, handshakeTimeoutMs: 30 })
  await t.rejects(c2.handshake({ onMessage () {}, onNonFatalError () {}, onClose () {} }), { code: 'HANDSHAKE_FAILED', message: /no answer to IDENTIFY within 30ms/ })

  const tr3 = new FakeTransport()
  const c3 = new Connection(tr3, { ...defaultConnectionOptions(), heartbeatIntervalMs: 0, snappy: true })
  const hs3 = c3.handshake({ onMessage () {}, onNonFatalError () {}, onClose () {} })
  tr3.frame(FRAME_TYPE_RESPONSE, JSON.stringify({ max_rdy_count: 2500, snappy: true }))
  await t.rejects(hs3, { code: 'HANDSHAKE_FAILED', message: /negotiated snappy/ })

  const tr4 = new FakeTransport()
  const c4 = new Connection(tr4, { ...defaultConnectionOptions(), heartbeatIntervalMs: 0 })
  const hs4 = c4.handshake({ onMessage () {}, onNonFatalError () {}, onClose () {} })
  tr4.frame(FRAME_TYPE_ERROR, 'E_BAD_BODY IDENTIFY heartbeat interval (5) is invalid')
  await t.rejects(hs4, new ProtocolError('E_BAD_BODY', 'IDENTIFY heartbeat interval (5) is invalid'))

  const tr5 = new FakeTransport()
  const c5 = new Connection(tr5, { ...defaultConnectionOptions(), heartbeatIntervalMs: 0, authSecret: 's3cret' })
  const hs5 = c5.handshake({ onMessage () {}, onNonFatalError () {}, onClose () {} })
  tr5.frame(FRAME_TYPE_RESPONSE, JSON.stringify({ auth_required: true }))
  await tick()
  t.ok(tr5.all.includes(Buffer.concat([Buffer.from('AUTH\n'), cmd.auth('s3cret').subarray(5)])), 'AUTH sent with the secret')
  tr5.frame(FRAME_TYPE_RESPONSE, '{"identity":"x","identity_url":"","permission_count":1}')
  await hs5
  t.equal(c5.state, 'ready')
})

t.test('out buffer and fifo', async (t) => {
  const o = new OutBuffer()
  o.line('RDY 5')
  const a = o.take()
  o.line('NOP')
  const big = Buffer.alloc(100_000, 7)
  o.sized(big)
  const b = o.take()
  t.equal(a.toString(), 'RDY 5\n', 'earlier view not overwritten')
  t.equal(b.length, 4 + 4 + 100_000)
  t.equal(o.take().length, 0)
  const f = new Fifo<number>()
  for (let i = 0; i < 3000; i++) f.push(i)
  let ok = true
  for (let i = 0; i < 2500; i++) if (f.shift() !== i) ok = false
  t.ok(ok)
  t.equal(f.length, 500)
  t.same(f.drain().slice(0, 2), [2500, 2501])
  t.same(splitHostPort('[::1]:4150'), { host: '::1', port: 4150 })
  t.throws(() => splitHostPort('nohost'))
})

t.test('codec: json, msgpack, custom, decode failures', async (t) => {
  t.same(encodePayload('héllo', 'json'), Buffer.from('héllo'))
  t.equal(encodePayload({ a: 1 }, 'json').toString(), '{"a":1}')
  const mp = encodePayload({ a: [1, 'x'] }, 'msgpack')
  t.same(decodeBody(mp, 'msgpack'), { a: [1, 'x'] })
  t.same(decodeBody(Buffer.from('{"k":2}'), 'json'), { k: 2 })
  t.throws(() => decodeBody(Buffer.from('{nope'), 'json', 'abc'), { code: 'DECODE_FAILED', message: /message abc .* as json/ })
  t.throws(() => decodeBody(Buffer.from([0x92, 1]), 'msgpack'), { code: 'DECODE_FAILED' })
  t.throws(() => decodeBody(Buffer.from('x'), () => { throw new Error('nope') }), { message: /custom decoder: nope/ })
  t.throws(() => decodeBody(Buffer.from('{"a":1}'), 'msgpack'), { code: 'DECODE_FAILED' }, 'JSON text is not msgpack')
})

t.test('producer: client-side checks use nsqd codes and texts', async (t) => {
  const p = new Producer('127.0.0.1:1', { logger: silentLogger, retries: 0, connectTimeoutMs: 200 })
  await t.rejects(p.publish('bad topic', 'x'), new ProtocolError('E_BAD_TOPIC', 'PUB topic name "bad topic" is not valid'))
  await t.rejects(p.publishMany('bad/t', ['x']), new ProtocolError('E_BAD_TOPIC', 'E_BAD_TOPIC MPUB topic name "bad/t" is not valid'))
  await t.rejects(p.publish('ok', ''), new ProtocolError('E_BAD_MESSAGE', 'PUB invalid message body size 0'))
  await t.rejects(p.publishMany('ok', []), new ProtocolError('E_BAD_BODY', 'MPUB invalid message count 0'))
  await t.rejects(p.publishDeferred('ok', -1, 'x'), { code: 'INVALID_ARGUMENT' })
  await t.rejects(p.publish('ok', 'x'), { code: 'CONNECT_FAILED' }, 'nothing listening')
  await p.close()
  await t.rejects(p.publish('ok', 'x'), { code: 'CLOSED' })
})

t.test('lookup: urls, merging, 404, garbage, timeouts', async (t) => {
  t.equal(lookupdUrl('127.0.0.1:4161', '/lookup', { topic: 'a' }), 'http://127.0.0.1:4161/lookup?topic=a')
  t.equal(lookupdUrl('http://h:1/custom?x=1', '/lookup', { topic: 'a' }), 'http://h:1/custom?x=1&topic=a')
  const peer = (port: number) => ({ remote_address: 'x', hostname: 'h', broadcast_address: '127.0.0.1', tcp_port: port, http_port: port + 1, version: '1.3.0' })
  const routes: Record<string, (res: http.ServerResponse) => void> = {
    '/a': (res) => { res.setHeader('X-NSQ-Content-Type', 'nsq; version=1.0'); res.end(JSON.stringify({ channels: [], producers: [peer(4150), peer(4152)] })) },
    '/b': (res) => { res.end(JSON.stringify({ status_code: 200, data: { producers: [peer(4152), peer(4154)] } })) },
    '/garbage': (res) => { res.end('<html>nope') },
    '/badshape': (res) => { res.end(JSON.stringify({ producers: [{ hostname: 'x' }] })) },
    '/404': (res) => { res.statusCode = 404; res.end('{"message":"TOPIC_NOT_FOUND"}') },
    '/500': (res) => { res.statusCode = 500; res.end('{"message":"INTERNAL_ERROR"}') },
    '/slow': () => {},
    '/topics': (res) => { res.end('{"topics":["x","y"]}') }
  }
  const server = http.createServer((req, res) => { (routes[new URL(req.url ?? '/', 'http://x').pathname] ?? routes['/404']!)(res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const base = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const o = { timeoutMs: 200 }
  t.same((await lookupTopic(`${base}/a`, 't', o)).map((p) => p.tcpAddress), ['127.0.0.1:4150', '127.0.0.1:4152'])
  t.same(await lookupTopic(`${base}/404`, 't', o), [], '404 = no producers')
  await t.rejects(lookupTopic(`${base}/garbage`, 't', o), { code: 'LOOKUP_FAILED', message: /invalid JSON/ })
  await t.rejects(lookupTopic(`${base}/badshape`, 't', o), { code: 'LOOKUP_FAILED', message: /without broadcast_address/ })
  await t.rejects(lookupTopic(`${base}/500`, 't', o), { code: 'LOOKUP_FAILED', message: /returned 500/ })
  await t.rejects(lookupTopic(`${base}/slow`, 't', o), { code: 'LOOKUP_FAILED', message: /timed out after 200ms/ })
  await t.rejects(lookupTopic('127.0.0.1:1', 't', o), { code: 'LOOKUP_FAILED' })
  const merged = await lookupAll([`${base}/a`, `${base}/b`, `${base}/garbage`], 't', o)
  t.ok(merged.ok)
  t.same([...merged.producers.keys()].sort(), ['127.0.0.1:4150', '127.0.0.1:4152', '127.0.0.1:4154'], 'union, deduplicated')
  t.equal(merged.errors.length, 1)
  const none = await lookupAll([`${base}/garbage`], 't', o)
  t.equal(none.ok, false)
  t.same(await lookupdTopics(base, o), ['x', 'y'])
  t.throws(() => parseProducers('x', { nope: 1 }), { code: 'LOOKUP_FAILED' })
})
