// The browser gateway (--http-gateway) over real sockets: WebSocket clients (the `ws` package) and
// SSE readers (fetch streaming) against an in-process nsqd on port 0, messages published over TCP
// by nsqjs; FIN/REQ/TOUCH, credit, /stats, redelivery after a vanished client, publish acks,
// limits and the routes being absent without the flag.

import t from 'tap'
import nsq from 'nsqjs'
import WebSocket from 'ws'
import { startNSQD, uniq, until, hostPort } from '../helpers/nsqd.js'
import { NSQD } from '../../nsqd/nsqd.js'
import http from 'node:http'
import { sseEvent } from '../../nsqd/gateway/sse.js'

interface Frame { type: string, [k: string]: any }

/** A WebSocket client that queues the JSON frames it receives. */
class WsClient {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  closed = false
  closeCode = 0

  constructor (nsqd: NSQD, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`ws://${nsqd.httpAddress}/ws`, { headers })
    this.ws.on('message', (d, isBinary) => { this.frames.push(isBinary ? { type: 'binary', data: d as Buffer } : JSON.parse(d.toString())) })
    this.ws.on('close', (code) => { this.closed = true; this.closeCode = code })
    this.ws.on('error', () => {})
  }

  async open (): Promise<this> {
    await new Promise<void>((resolve, reject) => { this.ws.once('open', () => { resolve() }); this.ws.once('unexpected-response', (_req, res) => { reject(new Error(`status ${res.statusCode ?? 0}`)) }); this.ws.once('error', reject) })
    return this
  }

  send (f: Record<string, unknown>): void { this.ws.send(JSON.stringify(f)) }

  /** The next frame matching `pred`, removed from the queue. */
  async next (pred: (f: Frame) => boolean = () => true, what = 'frame'): Promise<Frame> {
    const i = await until(() => { const k = this.frames.findIndex(pred); return k >= 0 ? k + 1 : 0 }, what)
    return this.frames.splice(i - 1, 1)[0] as Frame
  }

  async msgs (n: number): Promise<Frame[]> {
    const out: Frame[] = []
    for (let i = 0; i < n; i++) out.push(await this.next((f) => f.type === 'msg', `message ${i + 1}/${n}`))
    return out
  }

  close (): void { this.ws.terminate() }
}

async function writer (t: any, nsqd: NSQD): Promise<any> {
  const { host, port } = hostPort(nsqd.tcpAddress)
  const w = new nsq.Writer(host, port)
  w.connect()
  await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
  t.teardown(() => { w.close() })
  return w
}

async function publish (w: any, topic: string, bodies: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => { w.publish(topic, bodies, (err?: Error) => { if (err) reject(err); else resolve() }) })
}

async function channelStats (nsqd: NSQD, topic: string, channel: string): Promise<any> {
  const res = await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}&channel=${channel}`)
  const doc = await res.json() as any
  return doc.topics[0]?.channels[0]
}

/** Reads SSE events from a streaming fetch. */
class SseReader {
  private buf = ''
  readonly events: Array<{ id: string, data: string }> = []
  readonly res: Response
  private readonly ctrl: AbortController

  private constructor (res: Response, ctrl: AbortController) {
    this.res = res
    this.ctrl = ctrl
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const dec = new TextDecoder()
    const pump = async (): Promise<void> => {
      while (true) {
        const { done, value } = await reader.read()
        if (done) return
        this.buf += dec.decode(value, { stream: true })
        let k: number
        while ((k = this.buf.indexOf('\n\n')) >= 0) {
          const block = this.buf.slice(0, k)
          this.buf = this.buf.slice(k + 2)
          let id = ''
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length > 0) this.events.push({ id, data: data.join('\n') })
        }
      }
    }
    pump().catch(() => {})
  }

  static async open (nsqd: NSQD, query: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const ctrl = new AbortController()
    const res = await fetch(`http://${nsqd.httpAddress}/sse?${query}`, { signal: ctrl.signal, headers })
    return new SseReader(res, ctrl)
  }

  close (): void { this.ctrl.abort() }
}

t.test('off by default: /ws and /sse are 404 and an upgrade is refused', async (t) => {
  const nsqd = await startNSQD(t)
  for (const path of ['/ws', '/sse?topic=a&channel=b']) {
    const res = await fetch(`http://${nsqd.httpAddress}${path}`)
    t.equal(res.status, 404, path)
    t.same(await res.json(), { message: 'NOT_FOUND' })
  }
  const c = new WsClient(nsqd)
  await t.rejects(c.open(), 'the upgrade fails')
  t.equal(nsqd.gateway, null)
})

t.test('WebSocket: subscribe, receive TCP publishes, fin / req / touch, credit and /stats', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const w = await writer(t, nsqd)
  const c = await new WsClient(nsqd, { 'User-Agent': 'test-browser' }).open()
  t.teardown(() => { c.close() })
  c.send({ op: 'sub', topic, channel: 'web', ref: 's1' })
  t.same(await c.next(), { type: 'ok', op: 'sub', ref: 's1' })
  await publish(w, topic, ['one', 'two', 'three', 'four', 'five'])
  // no credit yet: nothing arrives; RDY 2 gives exactly two in flight
  c.send({ op: 'rdy', count: 2 })
  const [m1, m2] = await c.msgs(2)
  t.match(m1, { type: 'msg', id: /^[0-9a-f]{16}$/, attempts: 1, body: 'one' })
  t.ok(Math.abs((m1?.timestamp as number) - Date.now()) < 60_000, 'timestamp in ms')
  t.equal(m2?.body, 'two')
  let st = await channelStats(nsqd, topic, 'web')
  t.equal(st.in_flight_count, 2)
  t.equal(st.clients.length, 1)
  t.match(st.clients[0], { ready_count: 2, in_flight_count: 2, message_count: 2, state: 3, user_agent: 'websocket (test-browser)', hostname: '127.0.0.1' })
  t.equal(c.frames.length, 0, 'the window holds further messages back')
  // touch, fin one, requeue the other: the window reopens and the requeued one comes back
  c.send({ op: 'touch', id: m1?.id, ref: 't1' })
  t.same(await c.next(), { type: 'ok', op: 'touch', ref: 't1' })
  c.send({ op: 'fin', id: m1?.id, ref: 'f1' })
  t.same(await c.next(), { type: 'ok', op: 'fin', ref: 'f1' })
  c.send({ op: 'req', id: m2?.id, delay: 0 })
  // as on TCP, a requeued message goes to the back of the queue
  const got = await c.msgs(2)
  t.same(got.map((m) => m.body), ['three', 'four'])
  // a FIN of an id not in flight is answered and leaves the socket open
  c.send({ op: 'fin', id: m1?.id, ref: 'f2' })
  t.same(await c.next(), { type: 'error', code: 'E_FIN_FAILED', message: `FIN ${m1?.id as string} failed ID not in flight`, ref: 'f2' })
  for (const m of got) c.send({ op: 'fin', id: m.id })
  const rest = await c.msgs(2)
  t.same(rest.map((m) => m.body), ['five', 'two'])
  t.same(rest.map((m) => m.attempts), [1, 2], 'the requeued one is a second attempt')
  for (const m of rest) c.send({ op: 'fin', id: m.id })
  st = await until(async () => { const s = await channelStats(nsqd, topic, 'web'); return s.clients[0].finish_count === 5 ? s : null }, 'five FINs')
  t.match(st, { depth: 0, in_flight_count: 0, message_count: 5, requeue_count: 1 })
  t.match(st.clients[0], { finish_count: 5, requeue_count: 1, message_count: 6, in_flight_count: 0 })
  t.notOk(c.closed)
})

t.test('WebSocket: base64 bodies, ephemeral channels, TCP-fatal errors close the socket', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true, maxRdyCount: 10 })
  const topic = uniq()
  const w = await writer(t, nsqd)
  const c = await new WsClient(nsqd).open()
  t.teardown(() => { c.close() })
  c.send({ op: 'sub', topic, channel: 'tab1#ephemeral', encoding: 'base64', rdy: 5 })
  await c.next((f) => f.type === 'ok')
  await publish(w, topic, ['\u00ffbin'])
  const [m] = await c.msgs(1)
  t.equal(Buffer.from(m?.body as string, 'base64').toString(), '\u00ffbin')
  t.ok(nsqd.getExistingTopic(topic)?.getExistingChannel('tab1#ephemeral'), 'ephemeral channel exists')
  c.close()
  await until(() => nsqd.getExistingTopic(topic)?.getExistingChannel('tab1#ephemeral') === undefined, 'ephemeral channel gone')

  // binary form: NSQ's message layout (8-byte ns timestamp, 2-byte attempts, 16-byte id, body)
  const bin = await new WsClient(nsqd).open()
  t.teardown(() => { bin.close() })
  bin.send({ op: 'sub', topic, channel: 'bin', format: 'binary', rdy: 1 })
  await bin.next((f) => f.type === 'ok')
  const before = Date.now()
  await publish(w, topic, ['\u0000\u0001raw'])
  const bf = await bin.next((f) => f.type === 'binary', 'binary frame')
  const data = bf.data as Buffer
  const tsMs = (data.readUInt32BE(0) * 2 ** 32 + data.readUInt32BE(4)) / 1e6
  t.ok(tsMs >= before - 5 && tsMs <= Date.now() + 5, 'nanosecond timestamp')
  t.equal(data.readUInt16BE(8), 1, 'attempts')
  t.match(data.subarray(10, 26).toString('latin1'), /^[0-9a-f]{16}$/)
  t.same(data.subarray(26), Buffer.from('\u0000\u0001raw'))
  bin.send({ op: 'fin', id: data.subarray(10, 26).toString('latin1'), ref: 'bf' })
  t.same(await bin.next(), { type: 'ok', op: 'fin', ref: 'bf' })

  const bad = await new WsClient(nsqd).open()
  bad.send({ op: 'sub', topic: 'bad topic!', channel: 'c', ref: 9 })
  t.same(await bad.next(), { type: 'error', code: 'E_BAD_TOPIC', message: 'SUB topic name "bad topic!" is not valid', ref: 9 })
  await until(() => bad.closed, 'closed after a fatal error')
  t.equal(bad.closeCode, 1008)

  const over = await new WsClient(nsqd).open()
  over.send({ op: 'sub', topic, channel: 'c' })
  await over.next()
  over.send({ op: 'rdy', count: 11 })
  t.same(await over.next(), { type: 'error', code: 'E_INVALID', message: 'RDY count 11 out of range 0-10' })
  await until(() => over.closed, 'closed after a bad RDY')

  const early = await new WsClient(nsqd).open()
  early.send({ op: 'fin', id: '0123456789abcdef' })
  t.same(await early.next(), { type: 'error', code: 'E_INVALID', message: 'cannot FIN in current state' })
  await until(() => early.closed, 'closed')
})

t.test('a WebSocket client that vanishes mid-flight: its messages go to another subscriber', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true, msgTimeoutMs: 300 })
  const topic = uniq()
  const w = await writer(t, nsqd)
  const a = await new WsClient(nsqd).open()
  a.send({ op: 'sub', topic, channel: 'shared', rdy: 10 })
  await a.next()
  await publish(w, topic, ['x1', 'x2', 'x3'])
  const held = await a.msgs(3)
  a.close()
  const b = await new WsClient(nsqd).open()
  t.teardown(() => { b.close() })
  b.send({ op: 'sub', topic, channel: 'shared', rdy: 10 })
  await b.next()
  const again = await b.msgs(3)
  t.same(again.map((m) => m.id).sort(), held.map((m) => m.id).sort(), 'the same messages')
  t.ok(again.every((m) => m.attempts === 2), 'second attempts')
  const st = await channelStats(nsqd, topic, 'shared')
  t.equal(st.timeout_count, 3)
  t.equal(st.clients.length, 1)
})

t.test('drain mode: gateway publishes and new subscriptions are refused as over TCP', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const c = await new WsClient(nsqd).open()
  t.teardown(() => { c.close() })
  nsqd.drain.start('test')
  c.send({ op: 'pub', topic, body: 'x', ref: 'd1' })
  c.send({ op: 'pub', topic, body: 'x', defer: 1000, ref: 'd2' })
  c.send({ op: 'mpub', topic, bodies: ['a', 'b'], ref: 'd3' })
  t.same(await c.next((f) => f.ref === 'd1'), { type: 'error', code: 'E_PUB_FAILED', message: 'PUB failed draining', ref: 'd1' })
  t.same(await c.next((f) => f.ref === 'd2'), { type: 'error', code: 'E_DPUB_FAILED', message: 'DPUB failed draining', ref: 'd2' })
  t.same(await c.next((f) => f.ref === 'd3'), { type: 'error', code: 'E_MPUB_FAILED', message: 'MPUB failed draining', ref: 'd3' })
  c.send({ op: 'sub', topic, channel: 'ch', ref: 'd4' })
  t.match(await c.next((f) => f.ref === 'd4'), { type: 'error', code: 'E_SUB_FAILED', message: 'SUB failed draining' })
  const sse = await fetch(`http://${nsqd.httpAddress}/sse?topic=${topic}&channel=ch`)
  t.same([sse.status, await sse.text()], [503, '{"message":"DRAINING"}'])
  t.notOk(nsqd.topics.has(topic), 'no topic was created')
})

t.test('bounded queue under refuse: gateway publishes get the TCP queue-full errors', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true, maxQueueMessages: 2 })
  const topic = uniq()
  await fetch(`http://${nsqd.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })
  await fetch(`http://${nsqd.httpAddress}/channel/create?topic=${topic}&channel=ch`, { method: 'POST' })
  const c = await new WsClient(nsqd).open()
  t.teardown(() => { c.close() })
  c.send({ op: 'mpub', topic, bodies: ['a', 'b'], ref: 'q1' })
  t.match(await c.next((f) => f.ref === 'q1'), { type: 'ack' })
  c.send({ op: 'pub', topic, body: 'x', ref: 'q2' })
  c.send({ op: 'mpub', topic, bodies: ['y', 'z'], ref: 'q3' })
  t.same(await c.next((f) => f.ref === 'q2'), { type: 'error', code: 'E_PUB_FAILED', message: `PUB failed queue full: channel ${topic}:ch holds 2 of max 2 messages`, ref: 'q2' })
  t.same(await c.next((f) => f.ref === 'q3'), { type: 'error', code: 'E_MPUB_FAILED', message: `MPUB failed queue full: channel ${topic}:ch holds 2 of max 2 messages`, ref: 'q3' })
  t.equal(nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!.depth, 2)
})

t.test('WebSocket publish: single, deferred and batch, each acknowledged with its ref', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const c = await new WsClient(nsqd).open()
  t.teardown(() => { c.close() })
  c.send({ op: 'pub', topic, body: 'hello', ref: 'p1' })
  c.send({ op: 'mpub', topic, bodies: ['aGk=', 'Ynll'], encoding: 'base64', ref: 'p2' })
  c.send({ op: 'pub', topic, body: 'later', defer: 60_000, ref: 'p3' })
  c.send({ op: 'pub', topic: 'no good', body: 'x', ref: 'p4' })
  c.send({ op: 'pub', topic, body: '', ref: 'p5' })
  t.same(await c.next((f) => f.ref === 'p1'), { type: 'ack', ref: 'p1' })
  t.same(await c.next((f) => f.ref === 'p2'), { type: 'ack', ref: 'p2' })
  t.same(await c.next((f) => f.ref === 'p3'), { type: 'ack', ref: 'p3' })
  t.same(await c.next((f) => f.ref === 'p4'), { type: 'error', code: 'E_BAD_TOPIC', message: 'PUB topic name "no good" is not valid', ref: 'p4' })
  t.same(await c.next((f) => f.ref === 'p5'), { type: 'error', code: 'E_BAD_MESSAGE', message: 'PUB invalid message body size 0', ref: 'p5' })
  t.notOk(c.closed, 'publish errors leave the socket open')
  // the messages are there for a TCP consumer
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [nsqd.tcpAddress], maxInFlight: 10 } as never)
  t.teardown(() => { r.close() })
  const bodies: string[] = []
  r.on('message', (m: { body: Buffer, finish (): void }) => { bodies.push(m.body.toString()); m.finish() })
  r.connect()
  await until(() => bodies.length >= 3, 'three messages over TCP')
  t.same(bodies.sort(), ['bye', 'hello', 'hi'])
  const doc = await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}`)).json() as any
  t.equal(doc.topics[0].channels[0].deferred_count, 1)
  // the publishing socket is listed among the producers with its counts, as a TCP publisher is
  const mine = doc.producers.filter((p: any) => p.user_agent === 'websocket')
  t.equal(mine.length, 1)
  t.same(mine[0].pub_counts, [{ topic, count: 4 }])
})

t.test('SSE: auto-finished UTF-8 events, multi-line bodies, format=json, stats', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const w = await writer(t, nsqd)
  const s = await SseReader.open(nsqd, `topic=${topic}&channel=feed`, { 'User-Agent': 'sse-test' })
  t.teardown(() => { s.close() })
  t.equal(s.res.status, 200)
  t.match(s.res.headers.get('content-type'), /^text\/event-stream/)
  await until(async () => (await channelStats(nsqd, topic, 'feed'))?.clients?.length === 1, 'subscribed')
  await publish(w, topic, ['plain', 'line1\nline2\r\nline3', 'h\u00e9llo'])
  await until(() => s.events.length >= 3, 'three events')
  t.same(s.events.map((e) => e.data), ['plain', 'line1\nline2\nline3', 'h\u00e9llo'])
  t.ok(s.events.every((e) => /^[0-9a-f]{16}$/.test(e.id)))
  const st = await until(async () => { const x = await channelStats(nsqd, topic, 'feed'); return x.clients[0].finish_count === 3 ? x : null }, 'finished once written')
  t.match(st, { in_flight_count: 0, depth: 0 })
  t.match(st.clients[0], { user_agent: 'sse (sse-test)', message_count: 3, finish_count: 3 })

  const j = await SseReader.open(nsqd, `topic=${topic}&channel=json&format=json`)
  t.teardown(() => { j.close() })
  await until(async () => (await channelStats(nsqd, topic, 'json'))?.clients?.length === 1, 'subscribed json')
  await publish(w, topic, ['j1'])
  await until(() => j.events.length >= 1, 'json event')
  t.match(JSON.parse(j.events[0]?.data as string), { id: j.events[0]?.id, attempts: 1, body: 'j1' })
  t.equal(sseEvent('0123456789abcdef', 'a\rb'), 'id: 0123456789abcdef\ndata: a\ndata: b\n\n')
})

t.test('SSE ack=manual: messages stay in flight until POST /sse/fin or /sse/req', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const w = await writer(t, nsqd)
  const s = await SseReader.open(nsqd, `topic=${topic}&channel=m&ack=manual&rdy=2`)
  t.teardown(() => { s.close() })
  await until(async () => (await channelStats(nsqd, topic, 'm'))?.clients?.length === 1, 'subscribed')
  await publish(w, topic, ['a', 'b', 'c'])
  await until(() => s.events.length >= 2, 'two events')
  t.equal((await channelStats(nsqd, topic, 'm')).in_flight_count, 2, 'window of 2')
  const post = async (path: string): Promise<number> => (await fetch(`http://${nsqd.httpAddress}${path}`, { method: 'POST' })).status
  t.equal(await post(`/sse/fin?topic=${topic}&channel=m&id=${s.events[0]?.id as string}`), 200)
  t.equal(await post(`/sse/fin?topic=${topic}&channel=m&id=${s.events[0]?.id as string}`), 400, 'not in flight any more')
  t.equal(await post(`/sse/req?topic=${topic}&channel=m&id=${s.events[1]?.id as string}&delay=0`), 200)
  await until(() => s.events.length >= 4, 'c and b again')
  t.same(s.events.map((e) => e.data).slice(2).sort(), ['b', 'c'])
  const st = await channelStats(nsqd, topic, 'm')
  t.match(st.clients[0], { finish_count: 1, requeue_count: 1, in_flight_count: 2 })
})

t.test('limits: connection cap, allowed origins, write deadline for a reader that stops reading', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true, gatewayMaxConnections: 2, wsAllowedOrigins: ['http://good.example,http://also.example'], clientTimeoutMs: 400, msgTimeoutMs: 60_000 })
  const origin = { Origin: 'http://good.example' }
  await t.rejects(new WsClient(nsqd, { Origin: 'http://evil.example' }).open(), /status 403/)
  await t.rejects(new WsClient(nsqd).open(), /status 403/, 'no Origin with a list set')
  const r = await fetch(`http://${nsqd.httpAddress}/sse?topic=x&channel=y`, { headers: { Origin: 'http://evil.example' } })
  t.equal(r.status, 403)
  const a = await new WsClient(nsqd, origin).open()
  const b = await new WsClient(nsqd, { Origin: 'http://also.example' }).open()
  t.teardown(() => { a.close(); b.close() })
  await t.rejects(new WsClient(nsqd, origin).open(), /status 503/, 'third connection refused')
  const full = await fetch(`http://${nsqd.httpAddress}/sse?topic=x&channel=y`, { headers: origin })
  t.equal(full.status, 503)
  t.same(await full.json(), { message: 'TOO_MANY_CONNECTIONS' })
  b.close()
  await until(() => nsqd.gateway?.clients.size === 1, 'slot freed')

  // a subscriber that never reads: the socket buffer fills, the write deadline closes it, and the
  // read deadline (no frames, no pongs) would too; its messages stay in flight until their timeout
  const topic = uniq()
  a.send({ op: 'sub', topic, channel: 'slow', rdy: 1000 })
  await a.next()
  a.ws.pause()
  ;(a.ws as unknown as { _socket: { pause (): void } })._socket.pause()
  const big = 'z'.repeat(64 * 1024)
  const tp = nsqd.getTopic(topic)
  for (let i = 0; i < 200; i++) tp.put(tp.newMessage(Buffer.from(big), Date.now() * 1e6))
  await until(() => nsqd.gateway?.clients.size === 0, 'slow reader cut off', 5000)
  t.ok((nsqd.logger as unknown as { lines: string[] }).lines.some((l) => l.includes('write timeout, closing')), 'by the write deadline')
  const ch = tp.getExistingChannel('slow')
  t.equal(ch?.clientCount, 0)
  t.ok((ch?.inFlight.size ?? 0) > 0, 'its messages are in flight, to be redelivered on timeout')
})

t.test('WebSocket heartbeats: the server pings, a client that answers stays connected', async (t) => {
  const nsqd = await startNSQD(t, { httpGateway: true, clientTimeoutMs: 200 })
  const c = await new WsClient(nsqd).open()
  t.teardown(() => { c.close() })
  let pings = 0
  c.ws.on('ping', () => { pings++ })
  await until(() => pings >= 3, 'three pings')
  t.notOk(c.closed, 'pongs (sent by ws automatically) keep it open past the 200 ms read deadline')
})

/** A local auth server: secret -> JSON answer; counts the queries. */
async function authServer (t: any): Promise<{ addr: string, answers: Map<string, string>, queries: () => number }> {
  const answers = new Map<string, string>()
  let n = 0
  const server = http.createServer((req, res) => {
    n++
    const secret = new URL(req.url ?? '/', 'http://x').searchParams.get('secret') ?? ''
    const body = answers.get(secret)
    res.writeHead(body === undefined ? 403 : 200, { 'Content-Type': 'application/json' })
    res.end(body ?? '{"message":"FORBIDDEN"}')
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  return { addr: `127.0.0.1:${(server.address() as { port: number }).port}`, answers, queries: () => n }
}

function grant (ttl: number, auths: unknown[]): string {
  return JSON.stringify({ ttl, identity: 'alice', identity_url: 'http://id/alice', authorizations: auths })
}

t.test('auth: auth_secret is asked about; SUB and publishes are checked as on TCP; /stats shows the identity', async (t) => {
  const as = await authServer(t)
  as.answers.set('s1', grant(1, [
    { topic: '^orders$', channels: ['^billing$'], permissions: ['subscribe'] },
    { topic: '^events$', channels: ['.*'], permissions: ['publish'] }
  ]))
  const nsqd = await startNSQD(t, { httpGateway: true, authHttpAddresses: [as.addr] })
  await t.rejects(new WsClient(nsqd).open(), /status 401/, 'no secret')
  const refused = new WebSocket(`ws://${nsqd.httpAddress}/ws?auth_secret=nope`)
  refused.on('error', () => {})
  t.equal(await new Promise((resolve) => { refused.once('unexpected-response', (_q, res) => { resolve(res.statusCode) }) }), 401, 'refused secret')

  const ws = new WebSocket(`ws://${nsqd.httpAddress}/ws?auth_secret=s1`)
  const frames: Frame[] = []
  ws.on('message', (d) => { frames.push(JSON.parse(d.toString())) })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve() }); ws.once('error', reject) })
  t.teardown(() => { ws.terminate() })
  const next = async (): Promise<Frame> => { await until(() => frames.length > 0, 'frame'); return frames.shift() as Frame }
  ws.send(JSON.stringify({ op: 'pub', topic: 'orders', body: 'x', ref: 1 }))
  t.same(await next(), { type: 'error', code: 'E_UNAUTHORIZED', message: 'AUTH failed for PUB on "orders" ""', ref: 1 })
  ws.send(JSON.stringify({ op: 'pub', topic: 'events', body: 'x', ref: 2 }))
  t.same(await next(), { type: 'ack', ref: 2 })
  ws.send(JSON.stringify({ op: 'sub', topic: 'orders', channel: 'billing', ref: 3 }))
  t.same(await next(), { type: 'ok', op: 'sub', ref: 3 })
  const st = await channelStats(nsqd, 'orders', 'billing')
  t.match(st.clients[0], { authed: true, auth_identity: 'alice', auth_identity_url: 'http://id/alice' })

  // an expired answer (ttl 1 s) is asked for again before the next checked command
  const other = new WebSocket(`ws://${nsqd.httpAddress}/ws?auth_secret=s1`)
  const oframes: Frame[] = []
  other.on('message', (d) => { oframes.push(JSON.parse(d.toString())) })
  other.on('error', () => {})
  await new Promise<void>((resolve) => { other.once('open', () => { resolve() }) })
  const before = as.queries()
  const end = Date.now() + 1100
  await until(() => Date.now() > end, 'ttl passed', 3000, 50)
  other.send(JSON.stringify({ op: 'sub', topic: 'orders', channel: 'shipping', ref: 4 }))
  await until(() => oframes.length > 0, 'answer')
  t.equal(as.queries(), before + 1, 'asked again')
  t.same(oframes[0], { type: 'error', code: 'E_UNAUTHORIZED', message: 'AUTH failed for SUB on "orders" "shipping"', ref: 4 })
  await until(() => other.readyState === other.CLOSED, 'SUB refusal is fatal')

  // SSE: the same secret parameter; a channel it may not read is 403
  t.equal((await fetch(`http://${nsqd.httpAddress}/sse?topic=orders&channel=billing`)).status, 401)
  t.equal((await fetch(`http://${nsqd.httpAddress}/sse?topic=orders&channel=shipping&auth_secret=s1`)).status, 403)
  const s = await SseReader.open(nsqd, 'topic=orders&channel=billing&auth_secret=s1&ack=manual')
  t.teardown(() => { s.close() })
  t.equal(s.res.status, 200)
  t.equal((await fetch(`http://${nsqd.httpAddress}/sse/fin?topic=orders&channel=billing&id=0123456789abcdef`, { method: 'POST' })).status, 401, 'fin needs the secret too')
})

t.test('browser helper (client/browser/gateway-client.ts): subscribe, finish, publish with acks, reconnect and resubscribe', async (t) => {
  const { NsqGatewayClient, GatewayPublishError } = await import('../../client/browser/gateway-client.js')
  const nsqd = await startNSQD(t, { httpGateway: true })
  const topic = uniq()
  const got: string[] = []
  let opens = 0
  let closes = 0
  const client = new NsqGatewayClient({
    url: `ws://${nsqd.httpAddress}/ws`,
    WebSocket: WebSocket as never,
    subscribe: { topic, channel: 'helper', rdy: 5 },
    reconnectMinMs: 20,
    onOpen: () => { opens++ },
    onClose: () => { closes++ },
    onMessage: (m) => { got.push(`${m.body}/${m.attempts}`); m.finish() }
  })
  t.teardown(() => { client.close() })
  await until(() => opens === 1, 'subscribed')
  await client.publish(topic, 'one')
  await client.publish(topic, ['two', 'three'])
  await until(() => got.length === 3, 'three messages')
  t.same(got, ['one/1', 'two/1', 'three/1'])
  const err = await client.publish('bad topic', 'x').catch((e: unknown) => e)
  t.ok(err instanceof GatewayPublishError)
  t.equal((err as InstanceType<typeof GatewayPublishError>).code, 'E_BAD_TOPIC')
  await until(async () => (await channelStats(nsqd, topic, 'helper'))?.clients?.[0]?.finish_count === 3, 'three FINs')
  // deleting the channel closes its consumers: the helper reconnects and subscribes again
  t.equal((await fetch(`http://${nsqd.httpAddress}/channel/delete?topic=${topic}&channel=helper`, { method: 'POST' })).status, 200)
  await until(() => closes === 1 && opens === 2, 'reconnected and subscribed again')
  await client.publish(topic, 'four')
  await until(() => got.length === 4, 'a message after the reconnect')
  t.equal(got[3], 'four/1')
})

t.test('targeted push: a message published to user.U on node A reaches U connected to node B; waits while U is offline', async (t) => {
  const { startLookupd } = await import('../helpers/admin-cluster.js')
  const lookupd = await startLookupd(t)
  const as = await authServer(t)
  as.answers.set('u-secret', JSON.stringify({ ttl: 3600, identity: 'u42', identity_url: '', authorizations: [{ topic: '^user\\.u42$', channels: ['.*'], permissions: ['subscribe', 'publish'] }] }))
  const cluster = { lookupdTcpAddresses: [lookupd.tcpAddress.address], broadcastAddress: '127.0.0.1', lookupdPingIntervalMs: 200 }
  const a = await startNSQD(t, cluster)
  const b = await startNSQD(t, { ...cluster, httpGateway: true, gatewayUserPush: true, gatewayUserPushPollMs: 100, authHttpAddresses: [as.addr] })
  t.throws(() => new NSQD({ httpGateway: true, gatewayUserPush: true }), /--gateway-user-push needs --http-gateway and --auth-http-address/)
  // published on A while U is connected nowhere: it waits there
  t.equal((await fetch(`http://${a.httpAddress}/pub?topic=user.u42`, { method: 'POST', body: 'while offline' })).status, 200)
  const frames: Frame[] = []
  const ws = new WebSocket(`ws://${b.httpAddress}/ws?auth_secret=u-secret`)
  ws.on('message', (d) => { frames.push(JSON.parse(d.toString())) })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve() }); ws.once('error', reject) })
  t.teardown(() => { ws.terminate() })
  await until(() => frames.length >= 1, 'the waiting message pushed', 10_000)
  t.match(frames[0], { type: 'push', topic: 'user.u42', attempts: 1, body: 'while offline' })
  t.equal((await fetch(`http://${a.httpAddress}/pub?topic=user.u42`, { method: 'POST', body: 'while online' })).status, 200)
  await until(() => frames.length >= 2, 'the live message pushed', 10_000)
  t.match(frames[1], { type: 'push', topic: 'user.u42', body: 'while online' })
  const st = await channelStats(a, 'user.u42', 'gateway')
  await until(async () => (await channelStats(a, 'user.u42', 'gateway')).message_count === 2 && (await channelStats(a, 'user.u42', 'gateway')).in_flight_count === 0, 'finished on A', 5000)
  t.equal(st.depth, 0)
  // U leaves: B stops consuming, later messages wait on A
  ws.terminate()
  await until(async () => ((await channelStats(a, 'user.u42', 'gateway'))?.clients?.length ?? 0) === 0, 'B stopped consuming', 10_000)
  await fetch(`http://${a.httpAddress}/pub?topic=user.u42`, { method: 'POST', body: 'later' })
  await until(async () => (await channelStats(a, 'user.u42', 'gateway')).depth === 1, 'waiting on A', 5000)
})
