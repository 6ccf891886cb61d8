// nsqlookupd's HTTP API: every route and error token with exact bodies and headers (fastify inject),
// NSQ's router behaviour (404/405/OPTIONS/redirects/bad query), a few requests over the real
// listener as go-nsq sends them, and liveness (inactive producers, tombstones) with short intervals.

import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import { NSQLookupd } from '../../lookupd/nsqlookupd.js'
import type { Options } from '../../lookupd/options.js'
import { createCapturingLogger } from '../../lookupd/logger.js'
import { HTTP_ERRORS } from '../../lookupd/http/errors.js'
import fs from 'node:fs'

const V1 = 'nsq; version=1.0'
const JSON_CT = 'application/json; charset=utf-8'

interface TapLike {
  teardown (fn: () => unknown): void
  passing (): boolean
}

async function startLookupd (t: TapLike, opts: Partial<Options> = {}): Promise<NSQLookupd> {
  const logger = createCapturingLogger()
  const l = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', logger, ...opts })
  await l.start()
  t.teardown(async () => {
    await l.close()
    if (t.passing() === false) process.stderr.write(logger.lines.join(''))
  })
  return l
}

async function until (pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A fake nsqd over a real socket: IDENTIFY plus lines; resolves once all responses arrived. */
async function fakeNsqd (l: NSQLookupd, ident: Record<string, unknown>, lines: string[]): Promise<{ sock: net.Socket, frames: string[], send: (line: string) => Promise<string> }> {
  const sock = net.connect(l.tcpAddress.port, '127.0.0.1')
  await new Promise((resolve) => sock.once('connect', resolve))
  const frames: string[] = []
  let buf = Buffer.alloc(0)
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const n = buf.readInt32BE(0)
      frames.push(buf.subarray(4, 4 + n).toString())
      buf = buf.subarray(4 + n)
    }
  })
  sock.on('error', () => {})
  const body = Buffer.from(JSON.stringify(ident))
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length)
  sock.write(Buffer.concat([Buffer.from('  V1IDENTIFY\n'), size, body, Buffer.from(lines.map((x) => x + '\n').join(''))]))
  await until(() => frames.length >= 1 + lines.length, 'fake nsqd responses')
  const send = async (line: string): Promise<string> => {
    const n = frames.length
    sock.write(line + '\n')
    await until(() => frames.length > n, line)
    return frames[n] as string
  }
  return { sock, frames, send }
}

const NSQD1 = { broadcast_address: 'nsqd1.example', hostname: 'nsqd1', http_port: 4151, tcp_port: 4150, version: '1.3.0', topology_zone: 'z', topology_region: 'r' }
const NSQD2 = { broadcast_address: 'nsqd2.example', hostname: 'nsqd2', http_port: 5151, tcp_port: 5150, version: '1.3.0' }

t.test('routes, bodies and headers', async (t) => {
  const l = await startLookupd(t)
  const app = l.httpServer
  const req = (method: 'GET' | 'POST', url: string) => app.inject({ method, url })
  const expectError = async (method: 'GET' | 'POST', url: string, status: number, token: string): Promise<void> => {
    const r = await req(method, url)
    t.equal(r.statusCode, status, `${method} ${url} status`)
    t.equal(r.body, `{"message":"${token}"}`, `${method} ${url} body`)
    t.equal(r.headers['x-nsq-content-type'], V1)
    t.equal(r.headers['content-type'], JSON_CT)
  }
  const expectJson = async (url: string, body: string): Promise<void> => {
    const r = await req('GET', url)
    t.equal(r.statusCode, 200, url)
    t.equal(r.body, body, url)
    t.equal(r.headers['x-nsq-content-type'], V1)
    t.equal(r.headers['content-type'], JSON_CT)
  }
  const expectEmpty = async (url: string): Promise<void> => {
    const r = await req('POST', url)
    t.equal(r.statusCode, 200, url)
    t.equal(r.body, '', url)
    t.equal(r.headers['x-nsq-content-type'], V1)
    t.equal(r.headers['content-type'], undefined, 'no content type on an empty body')
  }

  const ping = await req('GET', '/ping')
  t.equal(ping.statusCode, 200)
  t.equal(ping.body, 'OK')
  t.equal(ping.headers['x-nsq-content-type'], undefined, '/ping is plain text')
  t.match(ping.headers['content-type'], /^text\/plain/)
  await expectJson('/info', '{"version":"1.3.0"}')

  await expectError('GET', '/lookup', 400, 'MISSING_ARG_TOPIC')
  await expectError('GET', '/lookup?topic=nope', 404, 'TOPIC_NOT_FOUND')
  await expectError('GET', '/lookup?topic=bad!name', 404, 'TOPIC_NOT_FOUND')
  await expectError('GET', '/lookup?topic=', 404, 'TOPIC_NOT_FOUND')
  await expectError('GET', '/channels', 400, 'MISSING_ARG_TOPIC')
  await expectJson('/channels?topic=nope', '{"channels":[]}')
  await expectJson('/topics', '{"topics":[]}')
  await expectJson('/nodes', '{"producers":[]}')

  await expectError('POST', '/topic/create', 400, 'MISSING_ARG_TOPIC')
  await expectError('POST', '/topic/create?topic=bad!', 400, 'INVALID_ARG_TOPIC')
  await expectError('POST', '/topic/create?topic=', 400, 'INVALID_ARG_TOPIC')
  await expectEmpty('/topic/create?topic=t1')
  await expectEmpty('/topic/create?topic=t1')
  await expectJson('/topics', '{"topics":["t1"]}')
  await expectJson('/lookup?topic=t1', '{"channels":[],"producers":[]}')

  await expectError('POST', '/channel/create', 400, 'MISSING_ARG_TOPIC')
  await expectError('POST', '/channel/create?channel=c', 400, 'MISSING_ARG_TOPIC')
  await expectError('POST', '/channel/create?topic=b@d&channel=c', 400, 'INVALID_ARG_TOPIC')
  await expectError('POST', '/channel/create?topic=t2', 400, 'MISSING_ARG_CHANNEL')
  await expectError('POST', '/channel/create?topic=t2&channel=c%20d', 400, 'INVALID_ARG_CHANNEL')
  await expectEmpty('/channel/create?topic=t2&channel=c1')
  await expectEmpty('/channel/create?topic=t2&channel=c2%23ephemeral')
  await expectJson('/lookup?topic=t2', '{"channels":["c1","c2#ephemeral"],"producers":[]}')
  await expectJson('/channels?topic=t2', '{"channels":["c1","c2#ephemeral"]}')
  await expectJson('/topics', '{"topics":["t1","t2"]}')

  await expectError('POST', '/channel/delete', 400, 'MISSING_ARG_TOPIC')
  await expectError('POST', '/channel/delete?topic=t2', 400, 'MISSING_ARG_CHANNEL')
  await expectError('POST', '/channel/delete?topic=t2&channel=x!', 400, 'INVALID_ARG_CHANNEL')
  await expectError('POST', '/channel/delete?topic=t2&channel=nope', 404, 'CHANNEL_NOT_FOUND')
  await expectEmpty('/channel/delete?topic=t2&channel=c1')
  await expectError('POST', '/channel/delete?topic=t2&channel=c1', 404, 'CHANNEL_NOT_FOUND')
  await expectJson('/channels?topic=t2', '{"channels":["c2#ephemeral"]}')

  await expectError('POST', '/topic/delete', 400, 'MISSING_ARG_TOPIC')
  await expectEmpty('/topic/delete?topic=never-existed')
  await expectEmpty('/topic/delete?topic=t2')
  await expectJson('/channels?topic=t2', '{"channels":[]}')
  await expectJson('/topics', '{"topics":["t1"]}')

  await expectError('POST', '/topic/tombstone', 400, 'MISSING_ARG_TOPIC')
  await expectError('POST', '/topic/tombstone?topic=t1', 400, 'MISSING_ARG_NODE')
  await expectEmpty('/topic/tombstone?topic=t1&node=nobody:1')
  await expectEmpty('/topic/tombstone?topic=unknown&node=nobody:1')

  // first value wins; parameters only from the query string
  await expectJson('/channels?topic=t1&topic=t2', '{"channels":[]}')
  const post = await app.inject({ method: 'POST', url: '/topic/create?topic=t3', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(post.statusCode, 200, 'request body is ignored whatever its type')
  const post2 = await app.inject({ method: 'POST', url: '/topic/create?topic=t4', payload: 'topic=zzz' })
  t.equal(post2.statusCode, 200)
  await expectJson('/topics', '{"topics":["t1","t3","t4"]}')
})

t.test('router behaviour: 404, 405, HEAD, OPTIONS, redirects, malformed query', async (t) => {
  const l = await startLookupd(t)
  const app = l.httpServer
  const nf = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(nf.statusCode, 404)
  t.equal(nf.body, '{"message":"NOT_FOUND"}')
  t.equal(nf.headers['x-nsq-content-type'], V1)
  t.equal((await app.inject({ method: 'GET', url: '/delete_topic?topic=x' })).statusCode, 404, 'pre-1.0 routes are gone')

  for (const [method, url, allow] of [['POST', '/lookup', 'GET, OPTIONS'], ['GET', '/topic/create', 'OPTIONS, POST'], ['HEAD', '/ping', 'GET, OPTIONS'], ['PUT', '/topics', 'GET, OPTIONS'], ['DELETE', '/channel/delete', 'OPTIONS, POST']] as const) {
    const r = await app.inject({ method, url })
    t.equal(r.statusCode, 405, `${method} ${url}`)
    if (method !== 'HEAD') t.equal(r.body, '{"message":"METHOD_NOT_ALLOWED"}')
    t.equal(r.headers.allow, allow)
    t.equal(r.headers['x-nsq-content-type'], V1)
  }
  const opt = await app.inject({ method: 'OPTIONS', url: '/lookup' })
  t.equal(opt.statusCode, 200)
  t.equal(opt.headers.allow, 'GET, OPTIONS')

  const r1 = await app.inject({ method: 'GET', url: '/lookup/?topic=a' })
  t.equal(r1.statusCode, 301)
  t.equal(r1.headers.location, '/lookup?topic=a')
  const r2 = await app.inject({ method: 'POST', url: '/Topic/Create?topic=a' })
  t.equal(r2.statusCode, 307)
  t.equal(r2.headers.location, '/topic/create?topic=a')

  // Go's router rules (the same module as nsqd's): per-method lookup, Go's redirect body
  const r3 = await app.inject({ method: 'GET', url: '//Lookup?topic=a&b=c' })
  t.equal(r3.statusCode, 301, '//Lookup: cleaned and case-fixed')
  t.equal(r3.headers.location, '/lookup?topic=a&b=c')
  t.equal(r3.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(r3.body, '<a href="/lookup?topic=a&amp;b=c">Moved Permanently</a>.\n\n')
  const r4 = await app.inject({ method: 'GET', url: '/Topic/Create' })
  t.equal(r4.statusCode, 404, 'GET /Topic/Create: only POST has it')
  t.equal(r4.body, '{"message":"NOT_FOUND"}')
  const r5 = await app.inject({ method: 'DELETE', url: '/Ping' })
  t.equal(r5.statusCode, 404, 'DELETE /Ping: no DELETE routes')
  t.equal(r2.body, '', '307: no body')
  t.equal(r2.headers['content-type'], undefined, '307: no type')

  for (const q of ['topic=%zz', 'topic=a%', 'topic=a;b=c']) {
    const r = await app.inject({ method: 'GET', url: `/lookup?${q}` })
    t.equal(r.statusCode, 400, q)
    t.equal(r.body, '{"message":"INVALID_REQUEST"}')
  }
  const plus = await app.inject({ method: 'POST', url: '/topic/create?topic=a+b' })
  t.equal(plus.body, '{"message":"INVALID_ARG_TOPIC"}', '+ decodes to a space')
})

t.test('producers in /lookup, /nodes, /debug and tombstones', async (t) => {
  const l = await startLookupd(t)
  const app = l.httpServer
  const n1 = await fakeNsqd(l, NSQD1, ['REGISTER orders billing', 'REGISTER orders archive', 'REGISTER clicks'])
  const n2 = await fakeNsqd(l, NSQD2, ['REGISTER orders'])
  t.same(n1.frames.slice(1), ['OK', 'OK', 'OK'])
  const remote1 = `127.0.0.1:${n1.sock.localPort ?? 0}`
  const remote2 = `127.0.0.1:${n2.sock.localPort ?? 0}`

  const lookup = (await app.inject({ method: 'GET', url: '/lookup?topic=orders' })).json()
  t.same(Object.keys(lookup), ['channels', 'producers'])
  t.same(lookup.channels.sort(), ['archive', 'billing'])
  t.same(lookup.producers.map((p: { hostname: string }) => p.hostname).sort(), ['nsqd1', 'nsqd2'])
  const p1 = lookup.producers.find((p: { hostname: string }) => p.hostname === 'nsqd1')
  t.equal(JSON.stringify(p1), `{"remote_address":"${remote1}","hostname":"nsqd1","broadcast_address":"nsqd1.example","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z","topology_region":"r"}`)

  const nodes = (await app.inject({ method: 'GET', url: '/nodes' })).json().producers
  t.equal(nodes.length, 2)
  const node1 = nodes.find((n: { hostname: string }) => n.hostname === 'nsqd1')
  t.same(Object.keys(node1), ['remote_address', 'hostname', 'broadcast_address', 'tcp_port', 'http_port', 'version', 'topology_zone', 'topology_region', 'tombstones', 'topics'])
  t.same([...node1.topics].sort(), ['clicks', 'orders'])
  t.same(node1.tombstones, [false, false])

  const tomb = await app.inject({ method: 'POST', url: '/topic/tombstone?topic=orders&node=nsqd1.example:4151' })
  t.equal(tomb.statusCode, 200)
  const after = (await app.inject({ method: 'GET', url: '/lookup?topic=orders' })).json()
  t.same(after.producers.map((p: { hostname: string }) => p.hostname), ['nsqd2'], 'tombstoned producer hidden from /lookup')
  const node1b = (await app.inject({ method: 'GET', url: '/nodes' })).json().producers.find((n: { hostname: string }) => n.hostname === 'nsqd1')
  t.equal(node1b.tombstones[node1b.topics.indexOf('orders')], true, '/nodes shows the tombstone')
  t.equal(node1b.tombstones[node1b.topics.indexOf('clicks')], false)
  t.equal(await n1.send('REGISTER orders'), 'OK')
  t.equal((await app.inject({ method: 'GET', url: '/lookup?topic=orders' })).json().producers.length, 1, 're-REGISTER does not clear the tombstone')

  const debug = await app.inject({ method: 'GET', url: '/debug' })
  t.equal(debug.statusCode, 200)
  t.equal(debug.headers['x-nsq-content-type'], V1)
  t.match(debug.body, /"tombstoned_at":-6795364578871345152/, 'never-tombstoned producers have Go zero time')
  t.match(debug.body, /"last_update":\d{19}/, 'nanoseconds')
  const dbg = JSON.parse(debug.body.replace(/:(-?\d{16,})/g, ':"$1"'))
  t.same(Object.keys(dbg), ['channel:orders:archive', 'channel:orders:billing', 'client::', 'topic:clicks:', 'topic:orders:'])
  t.same(dbg['client::'].map((p: { id: string }) => p.id).sort(), [remote1, remote2].sort())
  t.same(Object.keys(dbg['topic:clicks:'][0]), ['broadcast_address', 'hostname', 'http_port', 'id', 'last_update', 'tcp_port', 'tombstoned', 'tombstoned_at', 'topology_region', 'topology_zone', 'version'])

  // UNREGISTER removes the producer entirely; disconnect removes the peer everywhere
  t.equal(await n2.send('UNREGISTER orders'), 'OK')
  t.same((await app.inject({ method: 'GET', url: '/lookup?topic=orders' })).json().producers, [])
  n1.sock.destroy()
  await until(async () => (await app.inject({ method: 'GET', url: '/nodes' })).json().producers.length === 1, 'nsqd1 gone from /nodes')
  t.same((await app.inject({ method: 'GET', url: '/lookup?topic=clicks' })).json(), { channels: [], producers: [] }, 'topic stays without producers')
  n2.sock.destroy()
})

t.test('inactive producers drop out; tombstones expire', async (t) => {
  const l = await startLookupd(t, { inactiveProducerTimeoutMs: 300, tombstoneLifetimeMs: 400 })
  const app = l.httpServer
  // taken before the peer's last message, so the producer cannot go inactive earlier than 300 ms after it
  const started = Date.now()
  const n1 = await fakeNsqd(l, NSQD1, ['REGISTER live'])
  t.teardown(() => { n1.sock.destroy() })
  const producers = async (): Promise<number> => (await app.inject({ method: 'GET', url: '/lookup?topic=live' })).json().producers.length
  const nodes = async (): Promise<number> => (await app.inject({ method: 'GET', url: '/nodes' })).json().producers.length
  t.equal(await producers(), 1)
  await until(async () => (await producers()) === 0, 'producer to go inactive')
  t.ok(Date.now() - started >= 295, 'not before the timeout')
  t.equal(await nodes(), 0, 'inactive producer hidden from /nodes too')
  t.equal(await n1.send('PING'), 'OK')
  t.equal(await producers(), 1, 'a PING brings it back')
  t.equal(await nodes(), 1)

  await app.inject({ method: 'POST', url: '/topic/tombstone?topic=live&node=nsqd1.example:4151' })
  t.equal(await producers(), 0)
  const tombAt = Date.now()
  // keep it active while the tombstone runs out
  const pinger = setInterval(() => { n1.sock.write('PING\n') }, 50)
  t.teardown(() => clearInterval(pinger))
  await until(async () => (await producers()) === 1, 'tombstone to expire')
  t.ok(Date.now() - tombAt >= 350, 'hidden for the tombstone lifetime')
  clearInterval(pinger)
})

t.test('over the real listener, as go-nsq asks', async (t) => {
  const l = await startLookupd(t)
  await l.httpServer.inject({ method: 'POST', url: '/topic/create?topic=real' })
  const get = (path: string): Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }> => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: l.httpAddress.port, path, agent: false, headers: { Accept: 'application/vnd.nsq; version=1.0' } }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    }).on('error', reject)
  })
  const ok = await get('/lookup?topic=real')
  t.equal(ok.status, 200)
  t.equal(ok.headers['x-nsq-content-type'], 'nsq; version=1.0')
  t.equal(ok.body, '{"channels":[],"producers":[]}')
  const missing = await get('/lookup?topic=missing')
  t.equal(missing.status, 404)
  t.equal(missing.body, '{"message":"TOPIC_NOT_FOUND"}')
  t.equal((await get('/ping')).body, 'OK')
  const kept = await fetch(`http://127.0.0.1:${l.httpAddress.port}/ping`)
  t.equal(kept.headers.get('keep-alive'), null, 'a keep-alive request: no Keep-Alive header, as Go')
  t.equal(kept.headers.get('connection'), 'keep-alive')
  await kept.text()
  const raw = await new Promise<string>((resolve) => {
    const sock = net.connect(l.httpAddress.port, '127.0.0.1')
    let got = ''
    sock.on('data', (d) => { got += d.toString('latin1') })
    sock.on('close', () => { resolve(got) })
    sock.write('GET /ping HTTP/1.1\r\nBad Header\r\n\r\nGET /ping HTTP/1.1\r\n\r\n')
  })
  t.equal(raw, 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request', 'an unparsable request gets Go\'s plain-text 400, then the connection closes')
  const noHost = await new Promise<string>((resolve) => {
    const sock = net.connect(l.httpAddress.port, '127.0.0.1')
    let got = ''
    sock.on('data', (d) => { got += d.toString('latin1') })
    sock.on('close', () => { resolve(got) })
    sock.write('GET /lookup?topic=real HTTP/1.1\r\n\r\n')
  })
  // framing as Go's server: a body over 2048 bytes goes out as one chunk
  for (let i = 0; i < 100; i++) await l.httpServer.inject({ method: 'POST', url: `/topic/create?topic=framing-topic-${String(i).padStart(4, '0')}` })
  const topics = await get('/topics')
  t.equal(topics.headers['transfer-encoding'], 'chunked')
  t.equal(topics.headers['content-length'], undefined)
  t.equal(JSON.parse(topics.body).topics.length, 101)
  t.equal(noHost, 'HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header')
})

t.test('start-up validation and port conflicts', async (t) => {
  t.throws(() => new NSQLookupd({ logLevel: 'loud' }), /--log-level/)
  t.throws(() => new NSQLookupd({ tcpAddress: 'nohostport' }), /--tcp-address/)
  t.throws(() => new NSQLookupd({ tombstoneLifetimeMs: -1 }), /--tombstone-lifetime/)
  const l = await startLookupd(t)
  const clash = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: `127.0.0.1:${l.httpAddress.port}`, logger: createCapturingLogger() })
  await t.rejects(clash.start(), /EADDRINUSE/)
})

t.test('main: flags, the start-up line, SIGTERM', async (t) => {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['--import', 'tsx', 'lookupd/main.ts', '-tcp-address', '127.0.0.1:0', '--http-address=127.0.0.1:0', '--log-level', 'warn', '--tombstone-lifetime', '1m30s'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  await until(() => out.includes('\n'), 'start-up line', 15_000)
  const m = /^nsqlookupd listening tcp=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)\n$/.exec(out)
  t.ok(m, `start-up line: ${JSON.stringify(out)}`)
  const res = await fetch(`http://127.0.0.1:${m?.[2] ?? 0}/info`)
  t.equal(await res.text(), '{"version":"1.3.0"}')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'clean exit on SIGTERM')
})

t.test('every HTTP error token is documented in lookupd/README.md', async (t) => {
  const doc = fs.readFileSync(new URL('../../lookupd/README.md', import.meta.url), 'utf8')
  for (const [token, status] of Object.entries(HTTP_ERRORS)) {
    t.match(doc, new RegExp(`\\| \`${token}\` \\| ${status} \\|`), token)
  }
})

t.test('JSON answers escape strings as Go json.Marshal does: /lookup, /nodes, /debug, IDENTIFY', async (t) => {
  const l = await startLookupd(t, { broadcastAddress: 'lk&1' })
  const ident = { broadcast_address: 'b<1>&', hostname: 'h\u2028\u2029', http_port: 4151, tcp_port: 4150, version: '1.3.0\b', topology_zone: 'z\f', topology_region: 'r\u0001' }
  const { frames } = await fakeNsqd(l, ident, ['REGISTER esc_t esc_c'])
  t.match(frames[0], /^\{"broadcast_address":"lk\\u00261","hostname":/, 'the IDENTIFY response too')
  const fields = ['"broadcast_address":"b\\u003c1\\u003e\\u0026"', '"hostname":"h\\u2028\\u2029"', '"version":"1.3.0\\u0008"']
  for (const url of ['/lookup?topic=esc_t', '/nodes', '/debug']) {
    const res = await new Promise<{ body: string, type: string | undefined }>((resolve, reject) => {
      http.get(`http://127.0.0.1:${l.httpAddress.port}${url}`, (r) => {
        let body = ''
        r.setEncoding('utf8')
        r.on('data', (d: string) => { body += d })
        r.on('end', () => resolve({ body, type: r.headers['content-type'] }))
      }).on('error', reject)
    })
    t.equal(res.type, JSON_CT, url)
    for (const f of fields) t.ok(res.body.includes(f), `${url}: ${f}`)
    t.notOk(/[<>&\u2028\u2029\b]/.test(res.body), `${url}: nothing raw`)
  }
  const debug = await l.httpServer.inject({ method: 'GET', url: '/debug' })
  t.match(debug.body, /"topology_region":"r\\u0001","topology_zone":"z\\u000c"/)
})

t.test('topic=* is Go\'s registration wildcard: /lookup, /channels, /topic/tombstone and /topic/delete act on every topic', async (t) => {
  const l = await startLookupd(t)
  const app = l.httpServer
  const get = async (url: string): Promise<{ status: number, body: string }> => {
    const r = await app.inject({ method: 'GET', url })
    return { status: r.statusCode, body: r.body }
  }
  t.same(await get('/lookup?topic=*'), { status: 404, body: '{"message":"TOPIC_NOT_FOUND"}' }, 'no topic at all: not found')
  t.same(await get('/channels?topic=*'), { status: 200, body: '{"channels":[]}' })
  const n1 = await fakeNsqd(l, NSQD1, ['REGISTER orders billing', 'REGISTER clicks archive'])
  t.teardown(() => { n1.sock.destroy() })
  await app.inject({ method: 'POST', url: '/channel/create?topic=empty&channel=billing' })
  const remote1 = `127.0.0.1:${n1.sock.localPort ?? 0}`
  const peer1 = `{"remote_address":"${remote1}","hostname":"nsqd1","broadcast_address":"nsqd1.example","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z","topology_region":"r"}`

  const all = await get('/lookup?topic=*')
  t.equal(all.status, 200)
  const parsed = JSON.parse(all.body)
  t.same(parsed.channels.sort(), ['archive', 'billing', 'billing'], 'every channel registration, a name once per topic')
  t.equal(all.body.slice(all.body.indexOf('"producers"')), `"producers":[${peer1}]}`, 'each producer once, though it has two topics')
  t.same(JSON.parse((await get('/channels?topic=*')).body).channels.sort(), ['archive', 'billing', 'billing'])
  t.same(await get('/lookup?topic=%2A'), all, 'percent-encoded too')
  t.same(await get('/lookup?topic=**'), { status: 404, body: '{"message":"TOPIC_NOT_FOUND"}' }, 'only a lone * is the wildcard')

  // tombstone: one producer entry per peer (Go's FindProducers dedupes by peer), which hides it from topic=*
  t.equal((await app.inject({ method: 'POST', url: '/topic/tombstone?topic=*&node=nsqd1.example:4151' })).statusCode, 200)
  t.equal((await get('/lookup?topic=*')).body.endsWith('"producers":[]}'), true)
  const tomb = JSON.parse((await get('/nodes')).body).producers[0].tombstones as boolean[]
  t.same(tomb.filter((x) => x), [true], 'exactly one of its two topic entries is tombstoned')

  // delete: every channel and topic registration goes
  t.equal((await app.inject({ method: 'POST', url: '/topic/delete?topic=*' })).statusCode, 200)
  t.same(await get('/topics'), { status: 200, body: '{"topics":[]}' })
  t.same(await get('/channels?topic=*'), { status: 200, body: '{"channels":[]}' })
  t.same(await get('/channels?topic=orders'), { status: 200, body: '{"channels":[]}' })
  t.same((await app.inject({ method: 'POST', url: '/topic/create?topic=*' })).body, '{"message":"INVALID_ARG_TOPIC"}', 'a * registration cannot be made')
})
