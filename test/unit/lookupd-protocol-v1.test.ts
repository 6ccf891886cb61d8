// nsqlookupd TCP protocol V1 over a duplexPair (and once over a real socket): the spec's wire
// example byte for byte at every split, every error text (each fatal: frame, then close), the
// registration effects, and garbage / negative / oversized sizes ending in an error, never a crash.

import t from 'tap'
import net from 'node:net'
import http from 'node:http'
import { duplexPair } from 'node:stream'
import type { Duplex } from 'node:stream'
import { LookupConnectionV1, decodeIdentify, encodeV1Response } from '../../lookupd/protocol-v1.js'
import type { ProtocolContext } from '../../lookupd/protocol-v1.js'
import { CATEGORY, RegistrationDB } from '../../lookupd/registration-db.js'
import { createCapturingLogger } from '../../lookupd/logger.js'
import { NSQLookupd } from '../../lookupd/nsqlookupd.js'

const IDENTIFY_RESPONSE = '{"broadcast_address":"lookupd1","hostname":"lookupd1","http_port":4161,"tcp_port":4160,"version":"1.3.0"}'
const NSQD_IDENTIFY = { broadcast_address: 'nsqd1.example', hostname: 'nsqd1', http_port: 4151, tcp_port: 4150, topology_region: '', topology_zone: '', version: '1.3.0' }

function makeCtx (maxIdentifyBodySize = 4096): ProtocolContext & { clock: { now: number }, db: RegistrationDB } {
  const clock = { now: 1000 }
  return {
    db: new RegistrationDB(),
    logger: createCapturingLogger('debug'),
    now: () => clock.now,
    identifyResponse: () => Buffer.from(IDENTIFY_RESPONSE),
    maxIdentifyBodySize,
    clock
  }
}

function identifyCmd (body: object | string): Buffer {
  const b = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
  const size = Buffer.alloc(4)
  size.writeInt32BE(b.length)
  return Buffer.concat([Buffer.from('IDENTIFY\n'), size, b])
}

function sizeFrame (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

/** A client end: collects response frames and notices when the server closes. */
class TestClient {
  readonly sock: Duplex
  frames: string[] = []
  ended = false
  private buf = Buffer.alloc(0)
  private waiters: Array<() => void> = []

  constructor (sock: Duplex) {
    this.sock = sock
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      while (this.buf.length >= 4) {
        const n = this.buf.readInt32BE(0)
        if (this.buf.length < 4 + n) break
        this.frames.push(this.buf.subarray(4, 4 + n).toString('latin1'))
        this.buf = this.buf.subarray(4 + n)
      }
      this.wake()
    })
    sock.on('end', () => { this.ended = true; this.wake() })
    sock.on('close', () => { this.ended = true; this.wake() })
    sock.on('error', () => {})
  }

  private wake (): void {
    for (const w of this.waiters.splice(0)) w()
  }

  async until (pred: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames=${JSON.stringify(this.frames)} ended=${this.ended}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }

  frameCount (n: number): Promise<void> { return this.until(() => this.frames.length >= n, `${n} frames`) }
  closed (): Promise<void> { return this.until(() => this.ended, 'close') }
}

function connect (ctx: ProtocolContext, remote = '10.0.0.7:51544'): { client: TestClient, conn: LookupConnectionV1 } {
  const [a, b] = duplexPair()
  const conn = new LookupConnectionV1(b, remote, ctx)
  return { client: new TestClient(a), conn }
}

function splits (buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf], [...buf].map((x) => Buffer.from([x]))]
  for (let i = 1; i < buf.length; i += 3) out.push([buf.subarray(0, i), buf.subarray(i)])
  return out
}

t.test('the spec wire example, whole, byte by byte and split at offsets', async (t) => {
  const input = Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), Buffer.from('REGISTER orders billing\nPING\n')])
  const expected = Buffer.concat([encodeV1Response(IDENTIFY_RESPONSE), encodeV1Response('OK'), encodeV1Response('OK')])
  t.equal(expected.subarray(0, 4).toString('hex'), '00000069', 'IDENTIFY response size as in the spec')
  for (const chunks of splits(input)) {
    const ctx = makeCtx()
    const [a, b] = duplexPair()
    new LookupConnectionV1(b, '10.0.0.7:51544', ctx) // eslint-disable-line no-new
    const got: Buffer[] = []
    a.on('data', (d: Buffer) => got.push(d))
    for (const c of chunks) a.write(c)
    const client = new TestClient(a)
    await client.until(() => Buffer.concat(got).length >= expected.length, 'responses')
    if (!Buffer.concat(got).equals(expected)) {
      t.fail(`mismatch for split ${chunks.map((c) => c.length).join('+')}`)
      break
    }
    t.same(ctx.db.topics(), ['orders'])
    t.same(ctx.db.channels('orders'), ['billing'])
    a.destroy()
  }
  t.pass('all splits produce the exact bytes')
})

t.test('IDENTIFY registers the peer under client with socket address and all fields; PING refreshes it', async (t) => {
  const ctx = makeCtx()
  const { client, conn } = connect(ctx)
  client.sock.write('  V1PING\n') // allowed before IDENTIFY
  await client.frameCount(1)
  t.same(client.frames, ['OK'])
  client.sock.write(identifyCmd({ ...NSQD_IDENTIFY, remote_address: 'spoofed:1', topology_zone: 'z1', topology_region: 'r1', unknown_field: [1, 2] }))
  await client.frameCount(2)
  t.equal(client.frames[1], IDENTIFY_RESPONSE)
  const peers = ctx.db.activePeers(1000, 10)
  t.equal(peers.length, 1)
  t.match(peers[0], {
    id: '10.0.0.7:51544', remoteAddress: '10.0.0.7:51544', hostname: 'nsqd1', broadcastAddress: 'nsqd1.example',
    tcpPort: 4150, httpPort: 4151, version: '1.3.0', topologyZone: 'z1', topologyRegion: 'r1', lastUpdateMs: 1000
  })
  t.equal(conn.peer, peers[0])
  ctx.clock.now = 5000
  client.sock.write('PING\r\n')
  await client.frameCount(3)
  t.equal(peers[0]?.lastUpdateMs, 5000, 'PING updates last_update')
  client.sock.write('  PING \t\n') // trimmed at both ends
  await client.frameCount(4)
  t.equal(client.frames[3], 'OK')
  t.equal(client.ended, false)
})

t.test('REGISTER / UNREGISTER effects, ephemeral cleanup and disconnect cleanup', async (t) => {
  const ctx = makeCtx()
  const db = ctx.db
  const { client } = connect(ctx)
  client.sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY)]))
  await client.frameCount(1)
  const send = async (line: string): Promise<void> => {
    const n = client.frames.length + 1
    client.sock.write(line + '\n')
    await client.frameCount(n)
    t.equal(client.frames[n - 1], 'OK', line)
  }
  await send('REGISTER t1')
  await send('REGISTER t1 c1')
  await send('REGISTER t1 c1') // idempotent
  await send('REGISTER t1 e#ephemeral')
  await send('REGISTER t2#ephemeral c2')
  t.same(db.topics().sort(), ['t1', 't2#ephemeral'])
  t.same(db.channels('t1').sort(), ['c1', 'e#ephemeral'])
  t.equal(db.producers(CATEGORY.TOPIC, 't1', '').length, 1)

  await send('UNREGISTER t1 c1')
  t.same(db.channels('t1').sort(), ['c1', 'e#ephemeral'], 'non-ephemeral channel registration stays, empty')
  t.equal(db.producers(CATEGORY.CHANNEL, 't1', 'c1').length, 0)
  await send('UNREGISTER t1 e#ephemeral')
  t.same(db.channels('t1'), ['c1'], 'ephemeral channel with no producers is removed')
  await send('UNREGISTER t1 nope#ephemeral')

  await send('UNREGISTER t2#ephemeral')
  t.same(db.topics(), ['t1'], 'ephemeral topic removed')
  t.same(db.channels('t2#ephemeral'), ['c2'], 'its channel registration is left (empty)')
  t.equal(db.producers(CATEGORY.CHANNEL, 't2#ephemeral', 'c2').length, 0, 'producer removed from channels of the topic')

  await send('REGISTER t3 c3')
  await send('UNREGISTER t3')
  t.same(db.topics().sort(), ['t1', 't3'], 'non-ephemeral topic stays')
  t.equal(db.producers(CATEGORY.CHANNEL, 't3', 'c3').length, 0)

  await send('REGISTER t4 c4#ephemeral')
  client.sock.end()
  await client.closed()
  const deadline = Date.now() + 2000
  while (db.activePeers(1000, 10).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  t.same(db.activePeers(1000, 10), [], 'peer removed from client registration on disconnect')
  t.equal(db.producers(CATEGORY.TOPIC, 't4', '').length, 0)
  t.same(db.channels('t4'), ['c4#ephemeral'], 'ephemeral registrations are not cleaned up on disconnect')
  t.same(db.registrationsOf('10.0.0.7:51544'), [])
})

const IDENT = Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY)])
const cases: Array<[string, Buffer, string[]]> = [
  ['bad magic', Buffer.from('  V2PING\n'), ['E_BAD_PROTOCOL']],
  ['garbage magic', Buffer.from([0xff, 0, 1, 2]), ['E_BAD_PROTOCOL']],
  ['REGISTER before IDENTIFY', Buffer.from('  V1REGISTER t\n'), ['E_INVALID client must IDENTIFY']],
  ['UNREGISTER before IDENTIFY', Buffer.from('  V1UNREGISTER t c\n'), ['E_INVALID client must IDENTIFY']],
  ['unknown command', Buffer.from('  V1FOO bar\n'), ['E_INVALID invalid command FOO']],
  ['lower-case command', Buffer.from('  V1ping\n'), ['E_INVALID invalid command ping']],
  ['empty line', Buffer.from('  V1\n'), ['E_INVALID invalid command ']],
  ['nsqd V2 verb', Buffer.from('  V1SUB t c\n'), ['E_INVALID invalid command SUB']],
  ['IDENTIFY again', Buffer.concat([IDENT, identifyCmd(NSQD_IDENTIFY)]), [IDENTIFY_RESPONSE, 'E_INVALID cannot IDENTIFY again']],
  ['REGISTER no params', Buffer.concat([IDENT, Buffer.from('REGISTER\n')]), [IDENTIFY_RESPONSE, 'E_INVALID REGISTER insufficient number of params']],
  ['REGISTER trailing space only', Buffer.concat([IDENT, Buffer.from('REGISTER   \n')]), [IDENTIFY_RESPONSE, 'E_INVALID REGISTER insufficient number of params']],
  ['UNREGISTER no params', Buffer.concat([IDENT, Buffer.from('UNREGISTER\n')]), [IDENTIFY_RESPONSE, 'E_INVALID UNREGISTER insufficient number of params']],
  ['REGISTER bad topic', Buffer.concat([IDENT, Buffer.from('REGISTER bad!topic\n')]), [IDENTIFY_RESPONSE, "E_BAD_TOPIC REGISTER topic name 'bad!topic' is not valid"]],
  ['REGISTER empty topic (double space)', Buffer.concat([IDENT, Buffer.from('REGISTER  c\n')]), [IDENTIFY_RESPONSE, "E_BAD_TOPIC REGISTER topic name '' is not valid"]],
  ['REGISTER too long topic', Buffer.concat([IDENT, Buffer.from(`REGISTER ${'a'.repeat(65)}\n`)]), [IDENTIFY_RESPONSE, `E_BAD_TOPIC REGISTER topic name '${'a'.repeat(65)}' is not valid`]],
  ['REGISTER bad channel', Buffer.concat([IDENT, Buffer.from('REGISTER t bad/ch\n')]), [IDENTIFY_RESPONSE, "E_BAD_CHANNEL REGISTER channel name 'bad/ch' is not valid"]],
  ['UNREGISTER bad topic', Buffer.concat([IDENT, Buffer.from('UNREGISTER x*y\n')]), [IDENTIFY_RESPONSE, "E_BAD_TOPIC UNREGISTER topic name 'x*y' is not valid"]],
  ['UNREGISTER bad channel', Buffer.concat([IDENT, Buffer.from('UNREGISTER t c#ephemeralx\n')]), [IDENTIFY_RESPONSE, "E_BAD_CHANNEL UNREGISTER channel name 'c#ephemeralx' is not valid"]],
  ['IDENTIFY negative size', Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(-1)]), ['E_BAD_BODY IDENTIFY invalid body size -1']],
  ['IDENTIFY most negative size', Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(-2147483648)]), ['E_BAD_BODY IDENTIFY invalid body size -2147483648']],
  ['IDENTIFY zero size (an empty body fails to decode, as in NSQ)', Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(0)]), ['E_BAD_BODY IDENTIFY failed to decode JSON body']],
  ['IDENTIFY oversized', Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(4097)]), ['E_BAD_BODY IDENTIFY body too big 4097 > 4096']],
  ['IDENTIFY huge', Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(0x7fffffff)]), ['E_BAD_BODY IDENTIFY body too big 2147483647 > 4096']],
  ['IDENTIFY bad JSON', Buffer.concat([Buffer.from('  V1'), identifyCmd('{not json')]), ['E_BAD_BODY IDENTIFY failed to decode JSON body']],
  ['IDENTIFY JSON array', Buffer.concat([Buffer.from('  V1'), identifyCmd('[1,2]')]), ['E_BAD_BODY IDENTIFY failed to decode JSON body']],
  ['IDENTIFY port as string', Buffer.concat([Buffer.from('  V1'), identifyCmd({ ...NSQD_IDENTIFY, tcp_port: '4150' })]), ['E_BAD_BODY IDENTIFY failed to decode JSON body']],
  ['IDENTIFY fractional port', Buffer.concat([Buffer.from('  V1'), identifyCmd({ ...NSQD_IDENTIFY, http_port: 1.5 })]), ['E_BAD_BODY IDENTIFY failed to decode JSON body']],
  ['IDENTIFY null body', Buffer.concat([Buffer.from('  V1'), identifyCmd('null')]), ['E_BAD_BODY IDENTIFY missing fields']],
  ['IDENTIFY missing version', Buffer.concat([Buffer.from('  V1'), identifyCmd({ ...NSQD_IDENTIFY, version: '' })]), ['E_BAD_BODY IDENTIFY missing fields']],
  ['IDENTIFY missing broadcast_address', Buffer.concat([Buffer.from('  V1'), identifyCmd({ tcp_port: 1, http_port: 2, version: 'v' })]), ['E_BAD_BODY IDENTIFY missing fields']],
  ['IDENTIFY zero tcp_port', Buffer.concat([Buffer.from('  V1'), identifyCmd({ ...NSQD_IDENTIFY, tcp_port: 0 })]), ['E_BAD_BODY IDENTIFY missing fields']],
  ['IDENTIFY zero http_port', Buffer.concat([Buffer.from('  V1'), identifyCmd({ ...NSQD_IDENTIFY, http_port: 0 })]), ['E_BAD_BODY IDENTIFY missing fields']],
  ['commands after a fatal error are ignored', Buffer.from('  V1NOPE\nPING\nPING\n'), ['E_INVALID invalid command NOPE']]
]

t.test('exact errors; each is fatal (frame, then close)', async (t) => {
  for (const [name, input, expected] of cases) {
    const ctx = makeCtx()
    const { client } = connect(ctx)
    client.sock.write(input)
    await client.closed()
    t.same(client.frames, expected, name)
  }
})

t.test('a body cut short by the end of the stream gets NSQ read errors', async (t) => {
  const inputs: Array<[Buffer, string[]]> = [
    [Buffer.from('  V1IDENTIFY\n\x00\x00'), ['E_BAD_BODY IDENTIFY failed to read body size']],
    [Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(10), Buffer.from('{"a"')]), ['E_BAD_BODY IDENTIFY failed to read body']],
    [Buffer.from('  V1PING'), []],
    [Buffer.from('  V'), []]
  ]
  for (const [input, expected] of inputs) {
    const { client } = connect(makeCtx())
    client.sock.end(input)
    await client.closed()
    t.same(client.frames, expected)
  }
})

t.test('a line longer than the limit closes without buffering forever', async (t) => {
  const { client } = connect(makeCtx())
  client.sock.write('  V1')
  client.sock.write(Buffer.alloc(64 * 1024, 0x41))
  await client.closed()
  t.same(client.frames, [])
})

t.test('lines are trimmed as Go strings.TrimSpace does: Unicode spaces too, never a lone byte', async (t) => {
  const u = (s: string): Buffer => Buffer.from(s, 'utf8')
  const x = (hex: string): Buffer => Buffer.from(hex, 'hex')
  const inputs: Array<[string, Buffer, string[]]> = [
    ['NBSP after', Buffer.concat([u('PING\u00a0\n')]), ['OK']],
    ['NEL, ideographic space, line separator', u('\u0085\u3000PING\u2028\u2029 \r\n'), ['OK']],
    ['U+1680, U+2000, U+200A, U+202F, U+205F', u('\u1680\u2000PING\u200a\u202f\u205f\n'), ['OK']],
    ['a lone 0xa0 byte is not a space', Buffer.concat([u('PING'), x('a0'), u('\n')]), ['E_INVALID invalid command PING\u00a0']],
    ['nor a cut-off sequence', Buffer.concat([u('PING'), x('e280'), u('\n')]), ['E_INVALID invalid command PING\u00e2\u0080']],
    ['U+200B is not a space', u('PING\u200b\n'), ['E_INVALID invalid command PING\u00e2\u0080\u008b']],
    ['U+180E is not a space', u('\u180ePING\n'), ['E_INVALID invalid command \u00e1\u00a0\u008ePING']],
    ['spaces between words stay', u('\u00a0FOO\u00a0BAR\u00a0\n'), ['E_INVALID invalid command FOO\u00c2\u00a0BAR']],
    ['only spaces', u('\u3000\u00a0\t\n'), ['E_INVALID invalid command ']]
  ]
  for (const [name, line, expected] of inputs) {
    const { client } = connect(makeCtx())
    client.sock.write(Buffer.concat([Buffer.from('  V1'), line]))
    if (expected[0] === 'OK') {
      await client.frameCount(1)
      client.sock.end()
    }
    await client.closed()
    t.same(client.frames, expected, name)
  }
  const after: Array<[string, Buffer, string]> = [
    ['U+3000 inside the line is no separator', u('REGISTER orders\u3000billing\u00a0\n'), "E_BAD_TOPIC REGISTER topic name 'orders\u00e3\u0080\u0080billing' is not valid"],
    ['an NBSP name at the end is trimmed away', u('REGISTER \u00a0\n'), 'E_INVALID REGISTER insufficient number of params'],
    ['in the middle it is a name', u('UNREGISTER \u00a0 c\n'), "E_BAD_TOPIC UNREGISTER topic name '\u00c2\u00a0' is not valid"]
  ]
  for (const [name, line, expected] of after) {
    const { client } = connect(makeCtx())
    client.sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), line]))
    await client.closed()
    t.same(client.frames.slice(1), [expected], name)
  }
  const ctx2 = makeCtx()
  const c2 = connect(ctx2).client
  c2.sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), u('REGISTER orders billing\u00a0\n')]))
  await c2.frameCount(2)
  t.same(ctx2.db.channels('orders'), ['billing'], 'a trailing NBSP is trimmed off the channel name')
  c2.sock.end()
})

t.test('random garbage never crashes the protocol', async (t) => {
  let seed = 42
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const words = ['IDENTIFY\n', 'REGISTER ', 'UNREGISTER ', 'PING\n', '\n', ' ', 't', '#ephemeral', '\r']
  for (let i = 0; i < 300; i++) {
    const ctx = makeCtx(1024)
    const { client } = connect(ctx)
    const parts: Buffer[] = [Buffer.from(rand(4) === 0 ? 'XXXX' : '  V1')]
    const n = 1 + rand(12)
    for (let j = 0; j < n; j++) {
      if (rand(3) === 0) parts.push(Buffer.from(words[rand(words.length)] as string))
      else parts.push(Buffer.from(Array.from({ length: rand(16) }, () => rand(256))))
    }
    const all = Buffer.concat(parts)
    let o = 0
    while (o < all.length) {
      const k = 1 + rand(8)
      client.sock.write(all.subarray(o, o + k))
      o += k
    }
    client.sock.end()
    await client.closed()
    for (const f of client.frames) {
      if (!(f === 'OK' || f === 'E_BAD_PROTOCOL' || f.startsWith('E_') || f === IDENTIFY_RESPONSE)) t.fail(`unexpected frame ${JSON.stringify(f)}`)
    }
    const errors = client.frames.filter((f) => f.startsWith('E_'))
    t.ok(errors.length <= 1, 'at most one error, then closed')
  }
})

t.test('decodeIdentify follows Go encoding/json: case-insensitive keys, null leaves fields unset', async (t) => {
  const p = decodeIdentify(Buffer.from('{"BROADCAST_ADDRESS":"b","Tcp_Port":1,"http_port":2,"version":"v","hostname":null}'), 'r:1')
  t.match(p, { broadcastAddress: 'b', tcpPort: 1, httpPort: 2, version: 'v', hostname: '', remoteAddress: 'r:1', id: 'r:1' })
  t.equal(decodeIdentify(Buffer.from('"str"'), 'r:1'), null)
  t.equal(decodeIdentify(Buffer.from('{"version":5}'), 'r:1'), null)
  t.equal(decodeIdentify(Buffer.from('{"tcp_port":1e400}'), 'r:1'), null)
})

t.test('over a real socket: a negative IDENTIFY size is answered with an error and the daemon lives on', async (t) => {
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: 'lk', logger: createCapturingLogger() })
  await lookupd.start()
  t.teardown(() => lookupd.close())
  const talk = async (input: Buffer): Promise<string[]> => {
    const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
    const client = new TestClient(sock)
    sock.write(input)
    await client.closed()
    return client.frames
  }
  t.same(await talk(Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(-5)])), ['E_BAD_BODY IDENTIFY invalid body size -5'])
  t.same(await talk(Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(2 * 1024 * 1024)])), ['E_BAD_BODY IDENTIFY body too big 2097152 > 1048576'])
  // half-close mid-size: the error still comes back (allowHalfOpen)
  const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
  const client = new TestClient(sock)
  sock.end(Buffer.from('  V1IDENTIFY\n\x00'))
  await client.closed()
  t.same(client.frames, ['E_BAD_BODY IDENTIFY failed to read body size'])

  const frames = await talk(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), Buffer.from('REGISTER a b\nBAD\n')]))
  const ident = JSON.parse(frames[0] as string)
  t.same(Object.keys(ident), ['broadcast_address', 'hostname', 'http_port', 'tcp_port', 'version'])
  t.match(ident, { broadcast_address: 'lk', http_port: lookupd.httpAddress.port, tcp_port: lookupd.tcpAddress.port, version: '1.3.0' })
  t.same(frames.slice(1), ['OK', 'E_INVALID invalid command BAD'])
  const res = await lookupd.httpServer.inject({ method: 'GET', url: '/topics' })
  t.same(res.json(), { topics: ['a'] }, 'still serving')
})

t.test('over a real socket: an invalid name is echoed as its raw bytes in single quotes (lookupd.md §3.4)', async (t) => {
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: 'lk', logger: createCapturingLogger() })
  await lookupd.start()
  t.teardown(() => lookupd.close())
  // (U+00A0 at the end of a line is white space to Go's TrimSpace: see the trimming test)
  const names = [[0xff, 0xfe], [0xc3, 0xa9], [0x61, 0x07, 0x01], [0xc2, 0xa0, 0x61], [0xe2, 0x80, 0x8b]]
  for (const raw of names) {
    const name = Buffer.from(raw)
    const lines: Array<[Buffer, string]> = [
      [Buffer.concat([Buffer.from('REGISTER '), name, Buffer.from('\n')]), 'E_BAD_TOPIC REGISTER topic name'],
      [Buffer.concat([Buffer.from('UNREGISTER '), name, Buffer.from(' c\n')]), 'E_BAD_TOPIC UNREGISTER topic name'],
      [Buffer.concat([Buffer.from('REGISTER t '), name, Buffer.from('\n')]), 'E_BAD_CHANNEL REGISTER channel name'],
      [Buffer.concat([Buffer.from('UNREGISTER t '), name, Buffer.from('\n')]), 'E_BAD_CHANNEL UNREGISTER channel name']
    ]
    for (const [line, prefix] of lines) {
      const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
      const client = new TestClient(sock)
      sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), line]))
      await client.closed()
      const want = Buffer.concat([Buffer.from(`${prefix} '`), name, Buffer.from("' is not valid")])
      t.equal(Buffer.from(client.frames[1] ?? '', 'latin1').toString('hex'), want.toString('hex'), want.toString('latin1'))
    }
  }
})

t.test('a bug while handling one peer closes that peer and is logged; the daemon goes on', async (t) => {
  const ctx = makeCtx()
  const db = ctx.db as RegistrationDB
  const orig = db.addRegistration.bind(db)
  db.addRegistration = (...args: Parameters<RegistrationDB['addRegistration']>) => {
    if (JSON.stringify(args).includes('boom')) throw new Error('injected failure')
    return orig(...args)
  }
  const { client } = connect(ctx)
  client.sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), Buffer.from('REGISTER boom\n')]))
  await client.until(() => client.ended, 'the peer closed')
  t.match((ctx.logger as unknown as { lines: string[] }).lines.join(''), /internal error, closing - Error: injected failure/)
  const other = connect(ctx, '10.0.0.8:1').client
  other.sock.write(Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY), Buffer.from('REGISTER fine\n')]))
  await other.until(() => other.frames.length === 2, 'the other peer is served')
  t.equal(other.frames[1], 'OK')
})

/** GET over a real socket: status, headers and the exact body bytes. */
function httpGet (port: number, path: string): Promise<{ status: number, headers: http.IncomingHttpHeaders, body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
    }).on('error', reject)
  })
}

t.test('over real sockets: IDENTIFY is decoded by Go encoding/json rules into lookupd\'s typed fields', async (t) => {
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: 'lk', logger: createCapturingLogger() })
  await lookupd.start()
  t.teardown(() => lookupd.close())
  const DECODE_FAILED = 'E_BAD_BODY IDENTIFY failed to decode JSON body'
  const MISSING = 'E_BAD_BODY IDENTIFY missing fields'
  const REST = '"broadcast_address":"b","tcp_port":4150,"http_port":4151,"version":"v"'
  /** The first frame answering this IDENTIFY body, or the /nodes body while the peer is connected. */
  const identify = async (body: string | Buffer): Promise<{ frame: string, nodes: Buffer | null }> => {
    const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
    const client = new TestClient(sock)
    const b = typeof body === 'string' ? Buffer.from(body) : body
    sock.write(Buffer.concat([Buffer.from('  V1IDENTIFY\n'), sizeFrame(b.length), b]))
    await client.until(() => client.frames.length >= 1 || client.ended, 'an answer')
    const frame = client.frames[0] ?? '(closed)'
    let nodes: Buffer | null = null
    if (frame.startsWith('{')) nodes = (await httpGet(lookupd.httpAddress.port, '/nodes')).body
    sock.destroy()
    await client.closed()
    const deadline = Date.now() + 2000
    while (lookupd.db.activePeers(Date.now(), 1e9).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    return { frame, nodes }
  }
  /** The one node of /nodes, as latin1 text (so raw UTF-8 bytes are visible one by one). */
  const node = async (body: string | Buffer): Promise<string> => {
    const { frame, nodes } = await identify(body)
    if (nodes === null) return frame
    return nodes.toString('latin1').replace(/^\{"producers":\[/, '').replace(/\]\}$/, '').replace(/"remote_address":"127\.0\.0\.1:\d+"/, '"remote_address":R')
  }
  const nodeOf = (fields: string): string =>
    `{"remote_address":R,${fields},"tombstones":[],"topics":[]}`

  t.equal(await node(`{${REST},"hostname":"h"}`), nodeOf('"hostname":"h","broadcast_address":"b","tcp_port":4150,"http_port":4151,"version":"v","topology_zone":"","topology_region":""'))

  // wrong JSON types fail the whole body, remote_address included (it is a field, then overwritten)
  for (const bad of ['"broadcast_address":5', '"version":true', '"hostname":["h"]', '"tcp_port":"4150"', '"http_port":{}', '"remote_address":1', '"topology_zone":0', '"tcp_port":true']) {
    t.equal((await identify(`{${REST},${bad}}`)).frame, DECODE_FAILED, bad)
  }
  t.equal((await identify(`{${REST},"remote_address":"spoof:1"}`)).frame.startsWith('{'), true, 'a string remote_address is accepted (and replaced)')

  // integers: only integer literals that fit int64
  for (const bad of ['9223372036854775808', '-9223372036854775809', '1e3', '4150.0', '4150e0', '-', '01']) {
    t.equal((await identify(`{${REST},"tcp_port":${bad}}`)).frame, DECODE_FAILED, `tcp_port ${bad}`)
  }
  t.equal(await node(`{${REST},"tcp_port":9223372036854775807,"http_port":-9223372036854775808}`),
    nodeOf('"hostname":"","broadcast_address":"b","tcp_port":9223372036854775807,"http_port":-9223372036854775808,"version":"v","topology_zone":"","topology_region":""'),
    'int64 extremes are kept and printed exactly')
  t.equal(await node(`{${REST},"tcp_port":-0,"tcp_port":9007199254740993}`),
    nodeOf('"hostname":"","broadcast_address":"b","tcp_port":9007199254740993,"http_port":4151,"version":"v","topology_zone":"","topology_region":""'))
  t.equal((await identify(`{${REST},"tcp_port":-0}`)).frame, MISSING, '-0 is a zero port')

  // duplicate keys: document order, the last wins; a wrong type anywhere fails even if a later one is right
  t.equal((await identify(`{${REST},"tcp_port":"x","tcp_port":4150}`)).frame, DECODE_FAILED)
  t.equal((await identify(`{${REST},"hostname":1,"hostname":"h"}`)).frame, DECODE_FAILED)
  t.match(await node(`{${REST},"version":"a","VERSION":"b","version":"c"}`), /"version":"c"/)
  t.match(await node(`{${REST},"hostname":"a","HostName":"b"}`), /"hostname":"b"/)

  // case folding: ASCII letters and U+017F (long s) fold onto s; other look-alikes do not
  t.match(await node(`{"BROADCAST_ADDRESS":"B1","TCP_PORT":1,"Http_Port":2,"Version":"v","ho\u017ftname":"long s"}`), /"hostname":"long s","broadcast_address":"B1","tcp_port":1,"http_port":2/)
  t.match(await node(`{${REST},"broadca\u017ft_addre\u017f\u017f":"folded"}`), /"broadcast_address":"folded"/)
  t.match(await node(`{${REST},"h\u00f6stname":"x","hostnam\u0435":"cyrillic e","host_name":"y"}`), /"hostname":""/)
  t.match(await node(`{${REST},"ho\\u0073tname":"escaped key"}`), /"hostname":"escaped key"/)

  // null keeps the zero (or earlier) value; a top-level null is all zero values
  t.match(await node(`{${REST},"hostname":"h","hostname":null,"topology_zone":null}`), /"hostname":"h",.*"topology_zone":""/)
  t.equal((await identify('{"broadcast_address":"b","http_port":1,"version":"v","tcp_port":null}')).frame, MISSING)
  t.match(await node(`{${REST},"tcp_port":null,"version":null}`), /"tcp_port":4150,"http_port":4151,"version":"v"/, 'null keeps the earlier port and version')
  t.equal((await identify('null')).frame, MISSING)
  t.equal((await identify(' \t\r\nnull\n')).frame, MISSING)
  for (const bad of ['', ' ', '"x"', '[]', '5', 'true', `{${REST}} x`, `{${REST},}`, `{${REST},"a":[1,}`, `{${REST},"a":"\\x"}`, `{${REST},"a":nul}`]) {
    t.equal((await identify(bad)).frame, DECODE_FAILED, JSON.stringify(bad))
  }
  t.equal((await identify(`{${REST},"unknown":{"deep":[1,2.5e-3,null,true,"s"]}}`)).frame.startsWith('{'), true, 'unknown keys take any valid value')

  // invalid UTF-8: one U+FFFD per byte; a lone surrogate escape is U+FFFD; valid UTF-8 passes raw
  const raw = Buffer.concat([Buffer.from(`{${REST},"hostname":"h`), Buffer.from([0xff, 0xe2, 0x82, 0xc3, 0xa9, 0xed, 0xa0, 0x80]), Buffer.from('\\ud800x\\u00e9","broadcast_address":"b'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])
  const FFFD = '\xef\xbf\xbd'
  t.equal(await node(raw), nodeOf(`"hostname":"h${FFFD}${FFFD}${FFFD}\xc3\xa9${FFFD}${FFFD}${FFFD}${FFFD}x\xc3\xa9","broadcast_address":"b${FFFD}${FFFD}","tcp_port":4150,"http_port":4151,"version":"v","topology_zone":"","topology_region":""`))
  // Go's json.Marshal escapes on the way out
  t.match(await node(`{${REST},"hostname":"<a&b>\\u2028\\u0008"}`), /"hostname":"\\u003ca\\u0026b\\u003e\\u2028\\u0008"/)
})

t.test('over a real socket: a command line is trimmed as Go strings.TrimSpace trims (Unicode white space too)', async (t) => {
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: 'lk', logger: createCapturingLogger() })
  await lookupd.start()
  t.teardown(() => lookupd.close())
  const talk = async (line: Buffer): Promise<string[]> => {
    const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
    const client = new TestClient(sock)
    sock.write(Buffer.concat([Buffer.from('  V1'), line, Buffer.from('BAD\n')]))
    await client.closed()
    return client.frames
  }
  const spaces = [[0xc2, 0x85], [0xc2, 0xa0], [0xe1, 0x9a, 0x80], [0xe2, 0x80, 0x80], [0xe2, 0x80, 0x8a], [0xe2, 0x80, 0xa8], [0xe2, 0x80, 0xa9], [0xe2, 0x80, 0xaf], [0xe2, 0x81, 0x9f], [0xe3, 0x80, 0x80]]
  for (const sp of spaces) {
    const b = Buffer.from(sp)
    t.same(await talk(Buffer.concat([b, Buffer.from('PING'), b, Buffer.from(' \r'), b, Buffer.from('\n')])), ['OK', 'E_INVALID invalid command BAD'], Buffer.from(sp).toString('hex'))
  }
  // not white space: U+200B, a lone 0xc2, and a space rune inside the line
  for (const [line, verb] of [[[0xe2, 0x80, 0x8b], 'PING\xe2\x80\x8b'], [[0xc2], 'PING\xc2'], [[0xa0], 'PING\xa0']] as Array<[number[], string]>) {
    t.same(await talk(Buffer.concat([Buffer.from('PING'), Buffer.from(line), Buffer.from('\n')])), [`E_INVALID invalid command ${verb}`])
  }
  t.same(await talk(Buffer.from('PING\xc2\xa0x\n', 'latin1')), ['E_INVALID invalid command PING\xc2\xa0x'])
  t.same(await talk(Buffer.from('REGISTER\xc2\xa0t\n', 'latin1')), ['E_INVALID invalid command REGISTER\xc2\xa0t'], 'only single ASCII spaces split')
  const ident = Buffer.concat([Buffer.from('  V1'), identifyCmd(NSQD_IDENTIFY)])
  const afterIdentify = async (line: string): Promise<string[]> => {
    const sock = net.connect(lookupd.tcpAddress.port, '127.0.0.1')
    const client = new TestClient(sock)
    sock.write(Buffer.concat([ident, Buffer.from(line, 'latin1'), Buffer.from('BAD\n')]))
    await client.closed()
    return client.frames.slice(1)
  }
  t.same(await afterIdentify('REGISTER \xc2\xa0\n'), ['E_INVALID REGISTER insufficient number of params'], 'a trailing U+00A0 is trimmed, leaving no topic')
  t.same(await afterIdentify('REGISTER t \xe3\x80\x80\n'), ['OK', 'E_INVALID invalid command BAD'], 'a trailing U+3000 is trimmed, leaving no channel')
  t.same(await afterIdentify('REGISTER t\xc2\xa0\xc2\xa0x\n'), ["E_BAD_TOPIC REGISTER topic name 't\xc2\xa0\xc2\xa0x' is not valid"])
})
