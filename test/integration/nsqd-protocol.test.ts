// The V2 protocol over real sockets against an in-process nsqd on port 0.

import t from 'tap'
import net from 'node:net'
import { hostPort } from '../helpers/nsqd.js'
import { startNSQD, RawConn, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import { FRAME_TYPE_ERROR } from '../../client/wire/frames.js'

t.test('magic: anything but "  V2" gets E_BAD_PROTOCOL and a close', async (t) => {
  const nsqd = await startNSQD(t)
  const c = await RawConn.connect(t, nsqd.tcpAddress, Buffer.from('  V1'))
  const f = await c.next()
  t.equal(f.type, FRAME_TYPE_ERROR)
  t.equal(f.data.toString(), 'E_BAD_PROTOCOL')
  await c.waitClosed()
})

t.test('IDENTIFY: negotiation response, plain OK, validation', async (t) => {
  const nsqd = await startNSQD(t)
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  const json = await c.identify({ client_id: 'x', hostname: 'h', user_agent: 'test/1.0', tls_v1: true, deflate_level: 9 })
  t.equal(json, '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250,"topology_region":"","topology_zone":""}')
  const client = [...nsqd.clients.values()][0]!.client
  t.equal(client.clientId, 'x')
  t.equal(client.userAgent, 'test/1.0')

  const plain = await RawConn.connect(t, nsqd.tcpAddress)
  plain.write(cmd.identify({ heartbeat_interval: 5000 }))
  t.equal(await plain.response(), 'OK')

  const bad: Array<[Record<string, unknown> | string, string]> = [
    [{ heartbeat_interval: 300001 }, 'E_BAD_BODY IDENTIFY heartbeat interval (300001) is invalid'],
    [{ heartbeat_interval: 999 }, 'E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid'],
    [{ output_buffer_timeout: 30001 }, 'E_BAD_BODY IDENTIFY output buffer timeout (30001) is invalid'],
    [{ output_buffer_size: 63 }, 'E_BAD_BODY IDENTIFY output buffer size (63) is invalid'],
    [{ sample_rate: 100 }, 'E_BAD_BODY IDENTIFY sample rate (100) is invalid'],
    [{ msg_timeout: 999 }, 'E_BAD_BODY IDENTIFY msg timeout (999) is invalid'],
    [{ heartbeat_interval: '30000' }, 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    [{ feature_negotiation: 'true' }, 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{not json', 'E_BAD_BODY IDENTIFY failed to decode JSON body']
  ]
  for (const [body, want] of bad) {
    const b = await RawConn.connect(t, nsqd.tcpAddress)
    if (typeof body === 'string') {
      const raw = Buffer.from(body)
      const size = Buffer.alloc(4); size.writeInt32BE(raw.length)
      b.write(Buffer.concat([Buffer.from('IDENTIFY\n'), size, raw]))
    } else {
      b.write(cmd.identify(body))
    }
    t.equal(await b.error(), want)
    await b.waitClosed()
  }
  // case-insensitive keys, null keeps the default
  const ci = await RawConn.connect(t, nsqd.tcpAddress)
  const r = JSON.parse(await ci.identify({ MSG_TIMEOUT: 5000, sample_rate: null }))
  t.equal(r.msg_timeout, 5000)
  t.equal(r.sample_rate, 0)
  // IDENTIFY after SUB is in the wrong state
  ci.write(cmd.sub(uniq(), 'c'))
  t.equal(await ci.response(), 'OK')
  ci.write(cmd.identify({}))
  t.equal(await ci.error(), 'E_INVALID cannot IDENTIFY in current state')
})

/** Magic + `IDENTIFY` with a raw JSON body; every byte the server sends until it closes. */
async function identifyRaw (addr: string, json: string | Buffer): Promise<Buffer> {
  const { host, port } = hostPort(addr)
  const raw = typeof json === 'string' ? Buffer.from(json) : json
  const size = Buffer.alloc(4); size.writeInt32BE(raw.length)
  const socket = net.connect(port, host)
  const got: Buffer[] = []
  socket.on('data', (d) => { got.push(d) })
  socket.write(Buffer.concat([Buffer.from('  V2IDENTIFY\n'), size, raw]))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no close within 3 s')) }, 3000)
    socket.on('close', () => { clearTimeout(timer); resolve() })
    socket.on('error', () => {})
  })
  return Buffer.concat(got)
}

function errorFrame (text: string): Buffer {
  const head = Buffer.alloc(8)
  head.writeInt32BE(text.length + 4, 0)
  head.writeInt32BE(1, 4)
  return Buffer.concat([head, Buffer.from(text)])
}

/** IDENTIFY with a raw JSON body on an open connection. */
function writeIdentify (c: RawConn, json: string): void {
  const raw = Buffer.from(json)
  const size = Buffer.alloc(4); size.writeInt32BE(raw.length)
  c.write(Buffer.concat([Buffer.from('IDENTIFY\n'), size, raw]))
}

t.test('IDENTIFY is decoded by Go encoding/json rules: exact error frames, then close', async (t) => {
  const nsqd = await startNSQD(t)
  const cases: Array<[string, string]> = [
    ['{"heartbeat_interval":1e3}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"heartbeat_interval":1000.0}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"msg_timeout":9223372036854775808}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"sample_rate":2147483648}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"output_buffer_size":65537,"heartbeat_interval":1e3}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"heartbeat_interval":"x","heartbeat_interval":1000}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"client_id":"a"} {}', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['[{"client_id":"a"}]', 'E_BAD_BODY IDENTIFY failed to decode JSON body'],
    ['{"heartbeat_interval":9223372036854775807}', 'E_BAD_BODY IDENTIFY heartbeat interval (9223372036854775807) is invalid'],
    ['{"output_buffer_size":65537}', 'E_BAD_BODY IDENTIFY output buffer size (65537) is invalid'],
    ['{"Msg_Timeout":-9223372036854775808}', 'E_BAD_BODY IDENTIFY msg timeout (-9223372036854775808) is invalid']
  ]
  for (const [json, text] of cases) {
    t.same(await identifyRaw(nsqd.tcpAddress, json), errorFrame(text), json)
  }
})

t.test('IDENTIFY sets client_id and hostname (the remote IP before it; "" when missing)', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const clients = async (): Promise<Array<{ client_id: string, hostname: string, user_agent: string }>> => {
    const s = await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}`)).json() as { topics: Array<{ channels: Array<{ clients: Array<{ client_id: string, hostname: string, user_agent: string, remote_address: string }> }> }> }
    return s.topics[0]!.channels[0]!.clients.sort((a, b) => a.remote_address < b.remote_address ? -1 : 1)
  }
  const plain = await RawConn.connect(t, nsqd.tcpAddress)
  await plain.subscribe(topic, 'ch')
  t.same((await clients()).map((c) => [c.client_id, c.hostname]), [['127.0.0.1', '127.0.0.1']], 'no IDENTIFY: the remote IP')

  const h1 = await RawConn.connect(t, nsqd.tcpAddress)
  writeIdentify(h1, '{"hostname":"h1"}')
  t.equal(await h1.response(), 'OK')
  const last = await RawConn.connect(t, nsqd.tcpAddress)
  writeIdentify(last, '{"client_id":"a","CLIENT_ID":"b","client_id":"c","ho\u017ftname":"long-s","user_agent":null}')
  t.equal(await last.response(), 'OK')
  await h1.subscribe(topic, 'ch')
  await last.subscribe(topic, 'ch')
  const ids = (await clients()).map((c) => `${c.client_id}|${c.hostname}|${c.user_agent}`).sort()
  t.same(ids, ['127.0.0.1|127.0.0.1|', 'c|long-s|', '|h1|'].sort())
})

t.test('IDENTIFY: null keeps the earlier value (msg_timeout 5000, not the default)', async (t) => {
  const nsqd = await startNSQD(t, { msgTimeoutMs: 2000 })
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  writeIdentify(c, '{"feature_negotiation":true,"msg_timeout":5000,"msg_timeout":null,"sample_rate":7,"SAMPLE_RATE":null}')
  const r = JSON.parse(await c.response()) as { msg_timeout: number, sample_rate: number }
  t.equal(r.msg_timeout, 5000)
  t.equal(r.sample_rate, 7)
  t.equal([...nsqd.clients.values()][0]!.client.msgTimeoutMs, 5000, 'the connection uses it')
})

t.test('publish, consume, FIN, REQ and the non-fatal errors', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 1)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await p.publish(topic, 'hello'), 'OK')
  const m = await c.message()
  t.equal(m.body.toString(), 'hello')
  t.equal(m.attempts, 1)
  t.match(m.id, /^[0-9a-f]{16}$/)
  t.ok(Math.abs(m.timestamp / 1e6 - Date.now()) < 5000, 'timestamp is ns since the epoch')

  c.write(cmd.req(m.id, 0))
  const again = await c.message()
  t.equal(again.id, m.id)
  t.equal(again.attempts, 2, 'REQ redelivers with attempts+1')
  c.write(cmd.fin(m.id))
  c.write(cmd.fin(m.id))
  t.equal(await c.error(), `E_FIN_FAILED FIN ${m.id} failed ID not in flight`)
  c.write(cmd.req(m.id, 0))
  t.equal(await c.error(), `E_REQ_FAILED REQ ${m.id} failed ID not in flight`)
  c.write(cmd.touch(m.id))
  t.equal(await c.error(), `E_TOUCH_FAILED TOUCH ${m.id} failed ID not in flight`)
  t.equal(await p.publish(topic, 'still open'), 'OK')
  t.equal((await c.message()).body.toString(), 'still open', 'the connection survived non-fatal errors')

  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.requeueCount, 1)
  t.equal(ch.messageCount, 2)
})

t.test('another connection cannot FIN a message it does not own', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const a = await RawConn.connect(t, nsqd.tcpAddress)
  await a.subscribe(topic, 'ch', 1)
  const b = await RawConn.connect(t, nsqd.tcpAddress)
  await b.subscribe(topic, 'ch', 0)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  await p.publish(topic, 'x')
  const m = await a.message()
  b.write(cmd.fin(m.id))
  t.equal(await b.error(), `E_FIN_FAILED FIN ${m.id} failed client does not own message`)
})

t.test('RDY is a window; two channels each get every message; one channel shares', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const a1 = await RawConn.connect(t, nsqd.tcpAddress)
  await a1.subscribe(topic, 'A', 2)
  const b1 = await RawConn.connect(t, nsqd.tcpAddress)
  await b1.subscribe(topic, 'B', 100)
  const b2 = await RawConn.connect(t, nsqd.tcpAddress)
  await b2.subscribe(topic, 'B', 100)
  await until(() => [...nsqd.clients.values()].filter((x) => x.client.readyCount === 100).length === 2, 'both B consumers ready')
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  p.write(cmd.mpub(topic, ['1', '2', '3', '4', '5', '6']))
  t.equal(await p.response(), 'OK')
  const a = [await a1.message(), await a1.message()]
  t.ok(await a1.quiet(100), 'RDY 2 with 2 in flight: nothing more')
  a1.write(cmd.fin(a[0]!.id))
  a.push(await a1.message())
  t.same(a.map((m) => m.body.toString()), ['1', '2', '3'])
  const chB = nsqd.getExistingTopic(topic)!.getExistingChannel('B')!
  await until(() => chB.inFlight.size === 6, 'six in flight on B')
  const bs = [...nsqd.clients.values()].filter((x) => x.client.channel === chB).map((x) => x.client)
  const c1 = bs[0]!
  t.equal(c1.inFlightCount, 3, 'round robin')
  t.ok(c1.inFlightCount >= 1 && c1.inFlightCount <= 5, `shared: ${c1.inFlightCount} of 6 on one consumer`)
})

t.test('timeouts: an un-FINed message returns after msg timeout; TOUCH holds it', async (t) => {
  const nsqd = await startNSQD(t, { msgTimeoutMs: 300 })
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 1)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  await p.publish(topic, 'late')
  const m = await c.message()
  const t0 = Date.now()
  const again = await c.message(3000)
  t.equal(again.id, m.id)
  t.equal(again.attempts, 2)
  t.ok(Date.now() - t0 >= 250, 'not before the timeout')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.timeoutCount, 1)
  t.equal(ch.requeueCount, 0, 'timeouts are not requeues')

  // TOUCH every 100 ms for 900 ms: no redelivery
  const end = Date.now() + 900
  while (Date.now() < end) {
    c.write(cmd.touch(again.id))
    t.ok(await c.quiet(100))
  }
  c.write(cmd.fin(again.id))
  t.ok(await c.quiet(400), 'FIN after TOUCH: gone for good')
  t.equal(ch.timeoutCount, 1)
})

t.test('a vanished consumer\'s messages time out and go to another', async (t) => {
  const nsqd = await startNSQD(t, { msgTimeoutMs: 200 })
  const topic = uniq()
  const a = await RawConn.connect(t, nsqd.tcpAddress)
  await a.subscribe(topic, 'ch', 1)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  await p.publish(topic, 'orphan')
  const m = await a.message()
  a.socket.destroy()
  const b = await RawConn.connect(t, nsqd.tcpAddress)
  await b.subscribe(topic, 'ch', 1)
  const got = await b.message(3000)
  t.equal(got.id, m.id)
  t.equal(got.attempts, 2)
})

t.test('deferred: REQ with delay and DPUB', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 10)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  p.write(cmd.dpub(topic, 300, 'deferred'))
  t.equal(await p.response(), 'OK')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.deferred.size, 1)
  t.equal(ch.depth, 0, 'deferred messages are not in depth')
  const t0 = Date.now()
  const m = await c.message()
  t.ok(Date.now() - t0 >= 250, 'delivered after the delay')
  t.equal(m.body.toString(), 'deferred')
  c.write(cmd.req(m.id, 200))
  await until(() => ch.deferred.size === 1, 'requeued into deferred')
  const again = await c.message()
  t.equal(again.attempts, 2)

  p.write(cmd.dpub(topic, 3600001, 'x'))
  t.equal(await p.error(), 'E_INVALID DPUB timeout 3600001 out of range 0-3600000')
  await p.waitClosed()
  const p2 = await RawConn.connect(t, nsqd.tcpAddress)
  p2.write('DPUB ' + topic + ' -5\n')
  t.equal(await p2.error(), 'E_INVALID DPUB could not parse timeout -5')
})

t.test('a topic with no channels buffers until the first channel; pause holds delivery', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  p.write(cmd.mpub(topic, ['a', 'b', 'c']))
  t.equal(await p.response(), 'OK')
  t.equal(nsqd.getExistingTopic(topic)!.depth, 3)
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 10)
  const got = [await c.message(), await c.message(), await c.message()].map((m) => m.body.toString())
  t.same(got, ['a', 'b', 'c'])
  const tp = nsqd.getExistingTopic(topic)!
  const ch = tp.getExistingChannel('ch')!
  nsqd.setPaused(tp, ch, true)
  await p.publish(topic, 'held')
  t.ok(await c.quiet(150), 'paused channel delivers nothing')
  t.equal(ch.depth, 1)
  nsqd.setPaused(tp, ch, false)
  t.equal((await c.message()).body.toString(), 'held')
})

t.test('ephemeral channels go away with their last client', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'tail#ephemeral', 1)
  t.ok(nsqd.getExistingTopic(topic)!.getExistingChannel('tail#ephemeral'))
  c.socket.destroy()
  await until(() => nsqd.getExistingTopic(topic)!.getExistingChannel('tail#ephemeral') === undefined, 'ephemeral channel deleted')
  const et = uniq() + '#ephemeral'
  const d = await RawConn.connect(t, nsqd.tcpAddress)
  await d.subscribe(et, 'c#ephemeral', 1)
  d.socket.destroy()
  await until(() => nsqd.getExistingTopic(et) === undefined, 'ephemeral topic deleted with its last channel')
})

t.test('CLS: CLOSE_WAIT, RDY ignored, in-flight can still be FINed, second CLS fatal', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 1)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  await p.publish(topic, 'x')
  const m = await c.message()
  c.write(cmd.CLS)
  t.equal(await c.response(), 'CLOSE_WAIT')
  c.write(cmd.rdy(5))
  c.write(cmd.fin(m.id))
  t.ok(await c.quiet(100), 'RDY ignored, FIN accepted silently')
  c.write(cmd.CLS)
  t.equal(await c.error(), 'E_INVALID cannot CLS in current state')
  await c.waitClosed()
})

t.test('heartbeats, and a silent client is closed after two intervals', async (t) => {
  const nsqd = await startNSQD(t, { clientTimeoutMs: 400 })
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(cmd.NOP)
  const hb = await c.next(2000, false)
  t.equal(hb.data.toString(), '_heartbeat_')
  await c.waitClosed(3000)
  t.pass('closed after missing heartbeats')
  // heartbeats can be disabled, but then SUB is refused
  const d = await RawConn.connect(t, nsqd.tcpAddress)
  d.write(cmd.identify({ heartbeat_interval: -1 }))
  t.equal(await d.response(), 'OK')
  d.write(cmd.sub(uniq(), 'c'))
  t.equal(await d.error(), 'E_INVALID cannot SUB with heartbeats disabled')
})

t.test('fatal errors: exact strings and the connection closes', async (t) => {
  const nsqd = await startNSQD(t, { maxMsgSize: 100 })
  const topic = uniq()
  const id = '0123456789abcdef'
  const cases: Array<[string | Buffer, string, boolean?]> = [
    ['ASDF\n', 'E_INVALID invalid command ASDF'],
    ['pub x\n', 'E_INVALID invalid command pub'],
    ['SUB a\n', 'E_INVALID SUB insufficient number of parameters'],
    ['SUB bad!topic c\n', 'E_BAD_TOPIC SUB topic name "bad!topic" is not valid'],
    [`SUB ${topic} bad/chan\n`, 'E_BAD_CHANNEL SUB channel name "bad/chan" is not valid'],
    ['RDY 1\n', 'E_INVALID cannot RDY in current state'],
    [`FIN ${id}\n`, 'E_INVALID cannot FIN in current state'],
    [`REQ ${id} 1\n`, 'E_INVALID cannot REQ in current state'],
    [`TOUCH ${id}\n`, 'E_INVALID cannot TOUCH in current state'],
    ['CLS\n', 'E_INVALID cannot CLS in current state'],
    ['PUB\n', 'E_INVALID PUB insufficient number of parameters'],
    ['PUB a*b\n', 'E_BAD_TOPIC PUB topic name "a*b" is not valid'],
    [cmd.pub(topic, Buffer.alloc(101)), 'E_BAD_MESSAGE PUB message too big 101 > 100'],
    ['MPUB\n', 'E_INVALID MPUB insufficient number of parameters'],
    ['MPUB a*b\n', 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a*b" is not valid'],
    [cmd.mpub(topic, ['ok', Buffer.alloc(101)]), 'E_BAD_MESSAGE MPUB message too big 101 > 100'],
    ['DPUB t\n', 'E_INVALID DPUB insufficient number of parameters'],
    ['DPUB t x\n', 'E_INVALID DPUB could not parse timeout x'],
    ['AUTH x\n', 'E_INVALID AUTH invalid number of parameters'],
    [cmd.auth('secret'), 'E_AUTH_DISABLED AUTH disabled'],
    [Buffer.concat([Buffer.from('PUB t\n'), Buffer.from([0xff, 0xff, 0xff, 0xf0])]), 'E_BAD_MESSAGE PUB invalid message body size -16']
  ]
  for (const [input, want] of cases) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    c.write(input)
    t.equal(await c.error(), want)
    await c.waitClosed()
  }
  const sub = async (): Promise<RawConn> => { const c = await RawConn.connect(t, nsqd.tcpAddress); await c.subscribe(topic, 'ch'); return c }
  const subCases: Array<[string, string]> = [
    ['RDY x\n', 'E_INVALID RDY could not parse count x'],
    ['RDY 2501\n', 'E_INVALID RDY count 2501 out of range 0-2500'],
    ['FIN\n', 'E_INVALID FIN insufficient number of params'],
    ['FIN abc\n', 'E_INVALID invalid message ID'],
    [`REQ ${id}\n`, 'E_INVALID REQ insufficient number of params'],
    [`REQ ${id} -1\n`, 'E_INVALID REQ could not parse timeout -1'],
    ['TOUCH\n', 'E_INVALID TOUCH insufficient number of params'],
    [`SUB ${topic} ch\n`, 'E_INVALID cannot SUB in current state']
  ]
  for (const [input, want] of subCases) {
    const c = await sub()
    c.write(input)
    t.equal(await c.error(), want)
    await c.waitClosed()
  }
  // a message of exactly max size is fine, RDY with no count means 1
  const ok = await sub()
  ok.write('RDY\n')
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await p.publish(topic, Buffer.alloc(100, 0x61)), 'OK')
  t.equal((await ok.message()).body.length, 100)
})

t.test('an invalid name with non-ASCII or control bytes comes back quoted as Go %q quotes the raw bytes', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  // [name bytes, quoted bytes as nsqd sends them]
  const names: Array<[number[], number[]]> = [
    [[0xff, 0xfe], [...Buffer.from('"\\xff\\xfe"')]],
    [[0xc3, 0xa9], [0x22, 0xc3, 0xa9, 0x22]],
    [[0x61, 0x07, 0x01], [...Buffer.from('"a\\a\\x01"')]],
    [[0xc2, 0xa0], [...Buffer.from('"\\u00a0"')]],
    [[0xe2, 0x80, 0x8b], [...Buffer.from('"\\u200b"')]]
  ]
  const b = (s: string): Buffer => Buffer.from(s, 'latin1')
  for (const [raw, quoted] of names) {
    const name = Buffer.from(raw)
    const q = Buffer.from(quoted)
    const cases: Array<[Buffer, Buffer]> = [
      [Buffer.concat([b('SUB '), name, b(' ch\n')]), Buffer.concat([b('E_BAD_TOPIC SUB topic name '), q, b(' is not valid')])],
      [Buffer.concat([b(`SUB ${topic} `), name, b('\n')]), Buffer.concat([b('E_BAD_CHANNEL SUB channel name '), q, b(' is not valid')])],
      [Buffer.concat([b('PUB '), name, b('\n')]), Buffer.concat([b('E_BAD_TOPIC PUB topic name '), q, b(' is not valid')])],
      [Buffer.concat([b('MPUB '), name, b('\n')]), Buffer.concat([b('E_BAD_TOPIC E_BAD_TOPIC MPUB topic name '), q, b(' is not valid')])],
      [Buffer.concat([b('DPUB '), name, b(' 100\n')]), Buffer.concat([b('E_BAD_TOPIC DPUB topic name '), q, b(' is not valid')])]
    ]
    for (const [input, want] of cases) {
      const c = await RawConn.connect(t, nsqd.tcpAddress)
      c.write(input)
      const f = await c.next()
      t.equal(f.type, FRAME_TYPE_ERROR)
      t.equal(f.data.toString('hex'), want.toString('hex'), want.toString('latin1'))
      await c.waitClosed()
    }
  }
  // an unknown verb is echoed with %s: its raw bytes, unquoted
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(Buffer.from([0xff, 0xc3, 0xa9, 0x0a]))
  t.equal((await c.next()).data.toString('hex'), Buffer.concat([b('E_INVALID invalid command '), Buffer.from([0xff, 0xc3, 0xa9])]).toString('hex'))
  await c.waitClosed()
})

t.test('garbage from many clients: each gets an error or a close, everyone else is served', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const good = await RawConn.connect(t, nsqd.tcpAddress)
  await good.subscribe(topic, 'ch', 1000)
  let seed = 7
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  const conns: RawConn[] = []
  for (let i = 0; i < 60; i++) {
    const c = await RawConn.connect(t, nsqd.tcpAddress, i % 5 === 0 ? null : undefined)
    const len = 1 + (rnd() % 300)
    const buf = Buffer.alloc(len)
    for (let j = 0; j < len; j++) buf[j] = rnd() & 0xff
    if (i % 4 === 1) buf.write('PUB ' + topic + '\n', 0)
    if (i % 4 === 2) buf.write('MPUB ' + topic + '\n', 0)
    if (i % 7 === 3) buf[buf.length - 1] = 0x0a
    c.write(buf)
    conns.push(c)
  }
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  for (let i = 0; i < 20; i++) t.equal(await p.publish(topic, `ok${i}`), 'OK')
  const bodies = new Set<string>()
  while (bodies.size < 20) {
    const m = await good.message()
    bodies.add(m.body.toString())
    good.write(cmd.fin(m.id))
  }
  t.equal(bodies.size, 20, 'the well-behaved clients were served throughout')
  for (const c of conns) c.socket.destroy()
})

t.test('a consumer that stops reading is cut off; everyone else keeps being served', async (t) => {
  const nsqd = await startNSQD(t, { clientTimeoutMs: 1000, msgTimeoutMs: 60000 })
  const topic = uniq()
  const stuck = await RawConn.connect(t, nsqd.tcpAddress)
  await stuck.subscribe(topic, 'ch', 2500)
  await until(() => [...nsqd.clients.values()].some((p) => p.client.readyCount === 2500), 'stuck consumer ready')
  stuck.socket.pause() // stops reading: the kernel buffers fill, then nsqd's writes back up
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  const big = Buffer.alloc(64 * 1024, 0x62)
  for (let i = 0; i < 100; i++) t.equal(await p.publish(topic, big), 'OK', `publish ${i}`)
  const stuckClient = [...nsqd.clients.values()].find((x) => x.client.readyCount === 2500)!.client
  t.ok(stuckClient.inFlightCount < 100, `delivery to the stuck consumer stopped at ${stuckClient.inFlightCount}`)
  // another consumer on another channel is served meanwhile
  const other = await RawConn.connect(t, nsqd.tcpAddress)
  await other.subscribe(topic, 'other', 10)
  t.equal(await p.publish(topic, 'x'), 'OK')
  t.equal((await other.message()).body.toString(), 'x')
  // the stuck one is closed after its write deadline, and its messages go to the next consumer
  await until(() => stuckClient.closed, 'stuck consumer closed', 5000)
  const next = await RawConn.connect(t, nsqd.tcpAddress)
  await next.subscribe(topic, 'ch', 2500)
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  nsqd.queueScan(Date.now() + 61000) // the stuck consumer's in-flight messages time out
  let n = 0
  while (n < 101) { const m = await next.message(); next.write(cmd.fin(m.id)); n++ }
  t.equal(n, 101, 'nothing was lost: 100 big messages and the small one')
  await until(() => ch.inFlight.size === 0 && ch.depth === 0, 'channel drained')
})

t.test('--max-channel-consumers and sample_rate', async (t) => {
  const nsqd = await startNSQD(t, { maxChannelConsumers: 1 })
  const topic = uniq()
  const a = await RawConn.connect(t, nsqd.tcpAddress)
  await a.subscribe(topic, 'ch')
  const b = await RawConn.connect(t, nsqd.tcpAddress)
  b.write(cmd.sub(topic, 'ch'))
  t.equal(await b.error(), `E_SUB_FAILED SUB failed consumers for ${topic}:ch exceeds limit of 1`)
  await b.waitClosed()

  const s = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(JSON.parse(await s.identify({ sample_rate: 20 })).sample_rate, 20)
  const st = uniq()
  await s.subscribe(st, 'ch', 2500)
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  p.write(cmd.mpub(st, Array.from({ length: 1000 }, (_, i) => `m${i}`)))
  t.equal(await p.response(), 'OK')
  let got = 0
  while (!(await s.quiet(200))) got++
  t.ok(got > 100 && got < 330, `about a fifth delivered (${got} of 1000)`)
})

t.test('runtime log level changes take effect', async (t) => {
  const nsqd = await startNSQD(t, { logLevel: 'debug' })
  const lines = (nsqd.logger as unknown as { lines: string[] }).lines
  nsqd.swapOptions({ ...nsqd.options, logLevel: 'error' })
  const before = lines.length
  nsqd.logger.info('hidden')
  nsqd.logger.error('shown')
  t.same(lines.slice(before).map((l) => l.replace(/^.*: /, '').trim()), ['shown'])
})

t.test('/stats reports global_msg_count (deliveries from memory) only once there are some, after message_count', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.subscribe(topic, 'ch', 0)
  const stats = async (): Promise<string> => await (await fetch(`http://${nsqd.httpAddress}/stats?format=json&topic=${topic}`)).text()
  t.notMatch(await stats(), /global_msg_count/, 'absent while 0')
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  await p.publish(topic, 'x')
  c.write(cmd.rdy(1))
  await c.message()
  t.match(await stats(), /"message_count":1,"global_msg_count":1,"requeue_count":0/)
})

t.test('answers to a pipelined burst leave in one write', async (t) => {
  const { Duplex } = await import('node:stream')
  const { ProtocolV2 } = await import('../../nsqd/tcp/protocol-v2.js')
  const nsqd = await startNSQD(t)
  const writes: Buffer[] = []
  const conn = new Duplex({
    read () {},
    write (chunk: Buffer, _enc, cb) { writes.push(Buffer.from(chunk)); cb() },
    writev (chunks, cb) { writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer))); cb() }
  })
  const p = new ProtocolV2(999_999, conn, '127.0.0.1:1', nsqd)
  t.teardown(() => { p.client.close() })
  const topic = uniq()
  p.push(Buffer.concat(Array.from({ length: 100 }, (_, i) => cmd.pub(topic, `m${i}`))))
  t.equal(writes.length, 1, 'one write for 100 answers')
  t.equal(writes[0]!.length, 100 * 10, 'holding 100 OK frames')
  t.equal(nsqd.getExistingTopic(topic)!.messageCount, 100)
  p.push(Buffer.from('NOP\n'))
  t.equal(writes.length, 1, 'nothing to write, nothing written')
})

t.test('a bug while handling one connection closes that connection, not the node', async (t) => {
  const nsqd = await startNSQD(t)
  const getTopic = nsqd.getTopic.bind(nsqd)
  nsqd.getTopic = (name: string) => { if (name === 'boom') throw new Error('injected failure'); return getTopic(name) }
  const bad = await RawConn.connect(t, nsqd.tcpAddress)
  bad.write(cmd.pub('boom', 'x'))
  await bad.waitClosed()
  const good = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await good.publish(uniq(), 'fine'), 'OK', 'others are served')
  const lines = (nsqd.logger as unknown as { lines: string[] }).lines.join('')
  t.match(lines, /internal error, closing - Error: injected failure/)
})

const int32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
const bytes = (...parts: Array<Buffer | string>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)))

/** Every frame until the server closes: "E:<error>" or "R:<response>". */
async function framesUntilClosed (c: RawConn): Promise<string[]> {
  const out: string[] = []
  while (true) {
    try {
      const f = await c.next(3000)
      out.push(`${f.type === FRAME_TYPE_ERROR ? 'E' : 'R'}:${f.data.toString()}`)
    } catch (err) {
      if ((err as Error).message === 'connection closed') return out
      throw err
    }
  }
}

t.test('half-closed commands: EOF after a command line gets nsqd\'s read error, then the close', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const cases: Array<[Buffer | string, string[]]> = [
    [`PUB ${topic}\n`, ['E:E_BAD_MESSAGE PUB failed to read message body size']],
    [bytes(`PUB ${topic}\n`, Buffer.from([0, 0])), ['E:E_BAD_MESSAGE PUB failed to read message body size']],
    [bytes(`PUB ${topic}\n`, int32(5), 'he'), ['E:E_BAD_MESSAGE PUB failed to read message body']],
    [`DPUB ${topic} 10\n`, ['E:E_BAD_MESSAGE DPUB failed to read message body size']],
    [bytes(`DPUB ${topic} 10\n`, int32(5)), ['E:E_BAD_MESSAGE DPUB failed to read message body']],
    [`MPUB ${topic}\n`, ['E:E_BAD_BODY MPUB failed to read body size']],
    [bytes(`MPUB ${topic}\n`, int32(15)), ['E:E_BAD_BODY MPUB failed to read message count']],
    [bytes(`MPUB ${topic}\n`, int32(15), int32(2), Buffer.from([0])), ['E:E_BAD_MESSAGE MPUB failed to read message(0) body size']],
    [bytes(`MPUB ${topic}\n`, int32(15), int32(2), int32(1)), ['E:E_BAD_MESSAGE MPUB failed to read message body']],
    [bytes(`MPUB ${topic}\n`, int32(15), int32(2), int32(1), 'a'), ['E:E_BAD_MESSAGE MPUB failed to read message(1) body size']],
    [bytes(`MPUB ${topic}\n`, int32(15), int32(2), int32(1), 'a', int32(2), 'b'), ['E:E_BAD_MESSAGE MPUB failed to read message body']],
    ['IDENTIFY\n', ['E:E_BAD_BODY IDENTIFY failed to read body size']],
    [bytes('IDENTIFY\n', int32(2), '{'), ['E:E_BAD_BODY IDENTIFY failed to read body']],
    ['AUTH\n', ['E:E_BAD_BODY AUTH failed to read body size']],
    [bytes('AUTH\n', int32(6), 'sec'), ['E:E_BAD_BODY AUTH failed to read body']],
    // inside or between command lines: a silent close
    [`PUB ${topic}`, []],
    ['NOP\n', []],
    ['', []],
    [bytes(`PUB ${topic}\n`, int32(2), 'hi'), ['R:OK']],
    [bytes(`PUB ${topic}\n`, int32(2), 'hi', `PUB ${topic}\n`, int32(9)), ['R:OK', 'E:E_BAD_MESSAGE PUB failed to read message body']]
  ]
  for (const [input, want] of cases) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    c.write(input)
    c.socket.end() // half-close: the client still reads
    t.same(await framesUntilClosed(c), want, JSON.stringify(input.toString('latin1').replaceAll(topic, 'T')))
  }
  t.equal(nsqd.getExistingTopic(topic)!.messageCount, 2, 'the complete PUBs were published')
})

t.test('MPUB reads its count and messages from the stream; the body size does not bound them', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const consumer = await RawConn.connect(t, nsqd.tcpAddress)
  await consumer.subscribe(topic, 'ch', 100)
  const bodies = async (n: number): Promise<string[]> => {
    const out: string[] = []
    for (let i = 0; i < n; i++) { const m = await consumer.message(); consumer.write(cmd.fin(m.id)); out.push(m.body.toString()) }
    return out
  }

  // a count larger than the body holds waits for more bytes
  const a = await RawConn.connect(t, nsqd.tcpAddress)
  a.write(bytes(`MPUB ${topic}\n`, int32(9), int32(2), int32(1), 'a'))
  t.ok(await a.quiet(100), 'no answer while message 1 is missing')
  a.write(bytes(int32(2), 'bc'))
  t.equal(await a.response(), 'OK')
  t.same(await bodies(2), ['a', 'bc'])

  // the next command's bytes become message data
  const b = await RawConn.connect(t, nsqd.tcpAddress)
  b.write(bytes(`MPUB ${topic}\n`, int32(9), int32(2), int32(1), 'a', int32(4), 'NOP\n', 'NOP\n'))
  t.equal(await b.response(), 'OK')
  t.same(await bodies(2), ['a', 'NOP\n'])
  b.write(bytes(`MPUB ${topic}\n`, int32(9), int32(2), int32(1), 'a', `PUB ${topic}\n`, int32(1), 'z'))
  t.equal(await b.error(), 'E_BAD_MESSAGE MPUB message too big 1347764768 > 1048576', '"PUB " read as message(1)\'s size')
  await b.waitClosed()

  // a message that overruns the body continues into the following bytes
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(bytes(`MPUB ${topic}\n`, int32(9), int32(1), int32(5), 'hello'))
  t.equal(await c.response(), 'OK')
  t.same(await bodies(1), ['hello'])

  // bytes left after the count-th message are read as the next command line
  c.write(bytes(`MPUB ${topic}\n`, int32(40), int32(1), int32(1), 'x', `PUB ${topic}\n`, int32(1), 'y'))
  t.equal(await c.response(), 'OK')
  t.equal(await c.response(), 'OK')
  t.same(await bodies(2), ['x', 'y'])

  // validation texts, in nsqd's order
  const cases: Array<[Buffer, string]> = [
    [bytes(`MPUB ${topic}\n`, int32(0)), 'E_BAD_BODY MPUB invalid body size 0'],
    [bytes(`MPUB ${topic}\n`, int32(5242881)), 'E_BAD_BODY MPUB body too big 5242881 > 5242880'],
    [bytes(`MPUB ${topic}\n`, int32(8), int32(0)), 'E_BAD_BODY MPUB invalid message count 0'],
    [bytes(`MPUB ${topic}\n`, int32(8), int32(1048576)), 'E_BAD_BODY MPUB invalid message count 1048576'],
    [bytes(`MPUB ${topic}\n`, int32(20), int32(3), int32(1), 'a', int32(-1)), 'E_BAD_MESSAGE MPUB invalid message(1) body size -1'],
    [bytes(`MPUB ${topic}\n`, int32(20), int32(2), int32(1048577)), 'E_BAD_MESSAGE MPUB message too big 1048577 > 1048576']
  ]
  for (const [input, want] of cases) {
    const p = await RawConn.connect(t, nsqd.tcpAddress)
    p.write(input)
    t.equal(await p.error(), want)
    await p.waitClosed()
  }
  t.ok(await consumer.quiet(50), 'nothing from the failed MPUBs was published')
})

t.test('RDY, REQ and DPUB numbers follow Go\'s uint64/int64 arithmetic, printed exactly', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const id = '0123456789abcdef'
  const sub = async (): Promise<RawConn> => { const c = await RawConn.connect(t, nsqd.tcpAddress); await c.subscribe(topic, 'ch'); return c }
  const rdyCases: Array<[string, string]> = [
    ['RDY 9223372036854775808\n', 'E_INVALID RDY count -9223372036854775808 out of range 0-2500'],
    ['RDY 100000000000000020000\n', 'E_INVALID RDY count 7766279631452261920 out of range 0-2500'],
    ['RDY 1111111111111111111111111111111111111111\n', 'E_INVALID RDY count -560780128307875385 out of range 0-2500'],
    ['RDY 999999999999999\n', 'E_INVALID RDY count 999999999999999 out of range 0-2500'],
    ['RDY 1e3\n', 'E_INVALID RDY could not parse count 1e3'],
    ['RDY 12345678901234567890x\n', 'E_INVALID RDY could not parse count 12345678901234567890x'],
    [`REQ ${id} 99999999999999999999x\n`, `E_INVALID REQ could not parse timeout 99999999999999999999x`]
  ]
  for (const [input, want] of rdyCases) {
    const c = await sub()
    c.write(input)
    t.equal(await c.error(), want)
    await c.waitClosed()
  }
  // 2^64 wraps to 0: accepted as RDY 0
  const z = await sub()
  const subscribed = [...nsqd.clients.values()].map((x) => x.client).filter((c) => c.channel !== null && !c.closed)
  t.equal(subscribed.length, 1)
  const zc = subscribed[0]!
  z.write('RDY 5\n')
  await until(() => zc.readyCount === 5, 'RDY 5')
  z.write('RDY 18446744073709551616\n')
  await until(() => zc.readyCount === 0, 'RDY 2^64 taken as RDY 0')
  t.notOk(zc.closed)
  z.write('RDY 00000000000000000000001\n')
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await p.publish(topic, 'one'), 'OK')
  const m = await z.message()
  t.equal(m.body.toString(), 'one', 'a 23-digit RDY 1 works')

  // REQ: a duration that wraps negative requeues at once
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  z.write(`REQ ${m.id} 9223372036855\n`)
  const again = await z.message()
  t.equal(again.id, m.id)
  t.equal(again.attempts, 2, 'redelivered at once')
  t.equal(ch.deferred.size, 0)
  // one less does not wrap: clamped to --max-req-timeout, deferred
  z.write(`REQ ${m.id} 9223372036854\n`)
  await until(() => ch.deferred.size === 1, 'deferred')

  // DPUB: range-checked on the wrapped duration, the uint64 ms printed
  const dpubCases: Array<[string, string]> = [
    [`DPUB ${topic} 100000000000000020000\n`, 'E_INVALID DPUB timeout 7766279631452261920 out of range 0-3600000'],
    [`DPUB ${topic} 1111111111111111111111111111111111111111\n`, 'E_INVALID DPUB timeout 17885963945401676231 out of range 0-3600000'],
    [`DPUB ${topic} 9223372036855\n`, 'E_INVALID DPUB timeout 9223372036855 out of range 0-3600000'],
    [`DPUB ${topic} 1.5\n`, 'E_INVALID DPUB could not parse timeout 1.5']
  ]
  for (const [input, want] of dpubCases) {
    const d = await RawConn.connect(t, nsqd.tcpAddress)
    d.write(input)
    t.equal(await d.error(), want)
    await d.waitClosed()
  }
  // 2^63 ms is 0 ns in Go's int64: accepted, not deferred
  const d = await RawConn.connect(t, nsqd.tcpAddress)
  const other = uniq()
  const oc = await RawConn.connect(t, nsqd.tcpAddress)
  await oc.subscribe(other, 'ch', 1)
  d.write(bytes(`DPUB ${other} 9223372036854775808\n`, int32(3), 'now'))
  t.equal(await d.response(), 'OK')
  t.equal((await oc.message()).body.toString(), 'now')
})

t.test('a command line, its \\n included, must fit in 16384 bytes', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const line = (n: number): string => 'NOP ' + 'A'.repeat(n - 4)
  const ok = await RawConn.connect(t, nsqd.tcpAddress)
  ok.write(line(16383) + '\n')
  t.equal(await ok.publish(topic, 'x'), 'OK', '16383 bytes + \\n is a command')
  const cases: Array<[string, string]> = [
    [line(16384) + '\n', 'the \\n in the same read'],
    ['A'.repeat(16384) + '\n', 'an unknown verb is not echoed'],
    [line(16384), 'no \\n at all'],
    ['NOP\n' + 'B'.repeat(20000), 'after a valid command']
  ]
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  p.write(Buffer.concat([cmd.pub(topic, 'y'), Buffer.from(line(16384) + '\n')]))
  t.same(await framesUntilClosed(p), ['R:OK'], 'the answer to the command before the long line still goes out')
  for (const [input, name] of cases) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    c.write(input)
    t.same(await framesUntilClosed(c), [], `${name}: closed without a frame`)
  }
  const split = await RawConn.connect(t, nsqd.tcpAddress)
  split.write(line(10000))
  t.ok(await split.quiet(50), 'a partial line waits')
  split.write('A'.repeat(6384))
  t.same(await framesUntilClosed(split), [], 'the line grows past the limit across reads: closed without a frame')
})

// Issue 14: message bodies are views into the buffers they arrived in (no copy per message). That is
// safe only while nothing writes into those bytes again: neither the socket (Node hands each read a
// buffer of its own; a reader that reused one buffer for every read, as `onread` allows, would
// rewrite queued bodies) nor our accumulator (it appends the next read after the bytes it handed
// out, into spare capacity, and compacts into a fresh buffer). The test records every buffer nsqd's
// socket delivered, keeps a copy, sends "the next reads" on the same connection (more commands, and
// frames split at odd offsets so the accumulator appends into its own buffer), then checks that no
// recorded buffer changed and that consumers receive exactly the published bytes.
t.test('zero-copy bodies: later reads never rewrite the bytes of queued messages', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 100000 })
  const recorded: Array<[Buffer, Buffer]> = []
  const server = (nsqd as unknown as { tcpServer: net.Server }).tcpServer
  server.prependListener('connection', (socket: net.Socket) => {
    socket.prependListener('data', (chunk: Buffer) => { recorded.push([chunk, Buffer.from(chunk)]) })
  })
  const topic = uniq('zc')
  const pubc = await RawConn.connect(t, nsqd.tcpAddress)
  await pubc.identify()
  const want: string[] = []
  let n = 0
  const body = (size: number): Buffer => {
    const b = Buffer.alloc(size)
    const tag = `m${n++}:`
    b.fill(tag)
    want.push(b.toString('latin1'))
    return b
  }
  // whole MPUBs in one write (bodies are views into the socket's chunk)
  for (let i = 0; i < 5; i++) {
    pubc.write(cmd.mpub(topic, Array.from({ length: 50 }, (_, k) => body(100 + k * 7))))
    t.equal(await pubc.response(), 'OK')
  }
  // MPUBs and PUBs split at odd offsets, each piece its own read: the accumulator copies the partial
  // frame into a buffer it owns and appends the following reads into its spare capacity
  for (let i = 0; i < 6; i++) {
    const frame = i % 2 === 0
      ? cmd.mpub(topic, Array.from({ length: 20 }, (_, k) => body(300 + k * 13)))
      : Buffer.concat([cmd.pub(topic, body(1000)), cmd.pub(topic, body(17))])
    const cuts = [0, 13 + i, Math.floor(frame.length / 3) + i, Math.floor(frame.length * 2 / 3) - i, frame.length]
    for (let c = 0; c + 1 < cuts.length; c++) {
      const seen = recorded.length
      pubc.write(frame.subarray(cuts[c], cuts[c + 1]))
      await until(() => recorded.length > seen, 'nsqd to read the piece')
    }
    t.equal(await pubc.response(), 'OK')
    if (i % 2 === 1) t.equal(await pubc.response(), 'OK')
  }
  // a stream of frames cut across frame boundaries: a read completes one frame and starts the next,
  // so the accumulator keeps a leftover while earlier bodies in the same buffer are queued
  let seed = 7
  const rand = (k: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k }
  for (let round = 0; round < 8; round++) {
    const frames = Array.from({ length: 6 }, (_, i) => i % 3 === 0
      ? cmd.mpub(topic, Array.from({ length: 3 + rand(10) }, () => body(50 + rand(1500))))
      : cmd.pub(topic, body(1 + rand(3000))))
    const stream = Buffer.concat(frames)
    let at = 0
    while (at < stream.length) {
      const next = Math.min(stream.length, at + 1 + rand(2500))
      const seen = recorded.length
      pubc.write(stream.subarray(at, next))
      await until(() => recorded.length > seen, 'nsqd to read the piece')
      at = next
    }
    for (let i = 0; i < frames.length; i++) t.equal(await pubc.response(), 'OK')
  }
  const queued = want.length
  await until(() => nsqd.topics.get(topic)?.depth === queued, 'all bodies queued')
  // the next reads: more traffic of other bytes on the same connection after the bodies are queued
  const other = `${topic}_other`
  for (let i = 0; i < 20; i++) {
    const junk = Buffer.alloc(700 + i, 0xee)
    const frame = cmd.mpub(other, [junk, junk, junk])
    const seen = recorded.length
    pubc.write(frame.subarray(0, 11 + i))
    await until(() => recorded.length > seen, 'nsqd to read the piece')
    pubc.write(frame.subarray(11 + i))
    t.equal(await pubc.response(), 'OK')
  }
  let rewritten = 0
  for (const [chunk, copy] of recorded) if (!chunk.equals(copy)) rewritten++
  t.equal(rewritten, 0, `none of the ${recorded.length} buffers nsqd read was written again`)
  const sub = await RawConn.connect(t, nsqd.tcpAddress)
  await sub.identify()
  await sub.subscribe(topic, 'c', 2500)
  const got: string[] = []
  for (let i = 0; i < queued; i++) {
    const m = await sub.message()
    got.push(m.body.toString('latin1'))
    sub.write(cmd.fin(m.id))
  }
  t.same(got, want, `all ${queued} bodies arrive exactly as published`)
})
