// AUTH against a small auth server started by the test: the request nsqd sends (GET query, POST
// JSON, Accept header, remote_ip/tls/secret/common_name), the response and permission checks,
// every AUTH error where the spec puts it, re-auth after the ttl, servers that fail or are down,
// TLS client certificates' CommonName, and the HTTP publish/admin extension (--http-auth).

import t from 'tap'
import http from 'node:http'
import https from 'node:https'
import { startNSQD, uniq, until, RawConn } from '../helpers/nsqd.js'
import { makeCerts } from '../helpers/certs.js'
import { LayeredConn } from '../helpers/transport.js'
import * as cmd from '../../client/wire/commands.js'
import { compileGoRegex, parseAuthResponse } from '../../nsqd/auth.js'
import { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'

interface Seen { method: string, query: URLSearchParams, body: string, accept: string | undefined, contentType: string | undefined }

interface AuthServer {
  addr: string
  seen: Seen[]
  /** secret → [status, body] */
  answers: Map<string, [number, string]>
}

const grant = (authorizations: unknown[], ttl = 3600): [number, string] =>
  [200, JSON.stringify({ ttl, identity: 'alice', identity_url: 'https://id.example/alice', authorizations })]

async function authServer (t: { teardown (fn: () => unknown): void }): Promise<AuthServer> {
  const seen: Seen[] = []
  const answers = new Map<string, [number, string]>()
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => {
      const body = Buffer.concat(parts).toString()
      const url = new URL(req.url ?? '/', 'http://x')
      seen.push({ method: req.method ?? '', query: url.searchParams, body, accept: req.headers.accept, contentType: req.headers['content-type'] })
      let secret = url.searchParams.get('secret') ?? ''
      if (req.method === 'POST') secret = (JSON.parse(body) as { secret: string[] }).secret[0] ?? ''
      const [status, text] = answers.get(secret) ?? [403, '{"message":"FORBIDDEN"}']
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(text)
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const a = server.address() as { port: number }
  return { addr: `127.0.0.1:${a.port}`, seen, answers }
}

const PUB_ORDERS = { topic: '^orders$', channels: ['.*'], permissions: ['publish'] }
const SUB_ORDERS = { topic: 'orders', channels: ['^billing$'], permissions: ['subscribe'] }

async function authed (t: Parameters<typeof RawConn.connect>[0], nsqd: NSQD, secret: string): Promise<RawConn> {
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(cmd.auth(secret))
  const r = await c.response()
  if (!r.startsWith('{')) throw new Error(`AUTH answered ${r}`)
  return c
}

t.test('Go regexes: unanchored, flags, RE2-only syntax, rejects what RE2 rejects', async (t) => {
  t.ok(compileGoRegex('orders').test('old_orders_v2'), 'unanchored')
  t.notOk(compileGoRegex('^orders$').test('old_orders_v2'))
  t.ok(compileGoRegex('(?i)^ORDERS$').test('orders'))
  t.ok(compileGoRegex('^[[:alpha:]]+$').test('abc'))
  t.notOk(compileGoRegex('^[[:digit:]]+$').test('abc'))
  t.ok(compileGoRegex('\\Aab\\z').test('ab'))
  t.ok(compileGoRegex('(?P<name>x)').test('x'))
  for (const bad of ['(a)\\1', 'a(?=b)', 'a(?!b)', '(?<=a)b', '[', '\\']) t.throws(() => compileGoRegex(bad), bad)
  t.throws(() => parseAuthResponse('{"ttl":0,"authorizations":[]}', 0), /invalid TTL 0/)
  t.throws(() => parseAuthResponse('{"ttl":1,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["admin"]}]}', 0), /unknown permission admin/)
  t.throws(() => parseAuthResponse('{"ttl":1,"authorizations":[{"topic":"(","channels":[]}]}', 0), /unable to compile topic/)
  t.throws(() => parseAuthResponse('{"ttl":1,"authorizations":[{"topic":"a","channels":["["]}]}', 0), /unable to compile channel/)
  t.throws(() => parseAuthResponse('not json', 0), /decode/)
  const s = parseAuthResponse(JSON.stringify({ ttl: 5, authorizations: [PUB_ORDERS, SUB_ORDERS, { topic: 'x', channels: [], permissions: ['publish'] }] }), 1000)
  t.equal(s.expiresAtMs, 6000)
  t.ok(s.isAllowed('orders', ''))
  t.notOk(s.isAllowed('orders2', ''))
  t.ok(s.isAllowed('orders', 'billing'))
  t.notOk(s.isAllowed('orders', 'billing2'))
  t.notOk(s.isAllowed('x', ''), 'an empty channels list grants no publish rights')
})

t.test('AUTH disabled, AUTH_FIRST before SUB/PUB/MPUB/DPUB, auth_required in IDENTIFY', async (t) => {
  const off = await startNSQD(t)
  let c = await RawConn.connect(t, off.tcpAddress)
  c.write(cmd.auth('s'))
  t.equal(await c.error(), 'E_AUTH_DISABLED AUTH disabled')
  await c.waitClosed()

  const as = await authServer(t)
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr] })
  c = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(JSON.parse(await c.identify()).auth_required, true)
  for (const [name, bytes] of [['SUB', cmd.sub('orders', 'billing')], ['PUB', cmd.pub('orders', 'x')], ['MPUB', cmd.mpub('orders', ['x'])], ['DPUB', cmd.dpub('orders', 10, 'x')]] as const) {
    const k = await RawConn.connect(t, nsqd.tcpAddress)
    k.write(bytes)
    t.equal(await k.error(), `E_AUTH_FIRST AUTH required before ${name}`)
    await k.waitClosed()
  }
  c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(Buffer.from('AUTH extra\n'))
  t.equal(await c.error(), 'E_INVALID AUTH invalid number of parameters')
  t.equal(as.seen.length, 0, 'the auth server was never asked')
})

t.test('AUTH: the request nsqd sends, the response, permissions, AUTH already set', async (t) => {
  const as = await authServer(t)
  as.answers.set('good', grant([PUB_ORDERS, SUB_ORDERS]))
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr] })
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(cmd.auth('good'))
  t.equal(await c.response(), '{"identity":"alice","identity_url":"https://id.example/alice","permission_count":2}')
  const req = as.seen[0]!
  t.equal(req.method, 'GET')
  t.same(Object.fromEntries(req.query), { remote_ip: '127.0.0.1', tls: 'false', secret: 'good', common_name: '' })
  t.equal(req.accept, 'application/vnd.nsq; version=1.0')
  c.write(cmd.pub('orders', 'ok'))
  t.equal(await c.response(), 'OK', 'PUB allowed')
  c.write(cmd.mpub('orders', ['a', 'b']))
  t.equal(await c.response(), 'OK', 'MPUB allowed')
  c.write(cmd.auth('good'))
  t.equal(await c.error(), 'E_INVALID AUTH already set')
  await c.waitClosed()

  const p = await authed(t, nsqd, 'good')
  p.write(cmd.pub('old_orders', 'x'))
  t.equal(await p.error(), 'E_UNAUTHORIZED AUTH failed for PUB on "old_orders" ""')
  await p.waitClosed()
  const d = await authed(t, nsqd, 'good')
  d.write(cmd.dpub('nope', 100, 'x'))
  t.equal(await d.error(), 'E_UNAUTHORIZED AUTH failed for DPUB on "nope" ""')
  const m = await authed(t, nsqd, 'good')
  m.write(cmd.mpub('nope', ['x']))
  t.equal(await m.error(), 'E_UNAUTHORIZED AUTH failed for MPUB on "nope" ""')
  const s = await authed(t, nsqd, 'good')
  s.write(cmd.sub('orders', 'shipping'))
  t.equal(await s.error(), 'E_UNAUTHORIZED AUTH failed for SUB on "orders" "shipping"')
  const ok = await authed(t, nsqd, 'good')
  await ok.subscribe('orders', 'billing', 10)
  const msg = await ok.message()
  t.equal(msg.body.toString(), 'ok', 'an authorized subscriber receives')
  const stats = [...nsqd.clients.values()].find((x) => x.client.state === 3)!.client
  t.equal(stats.authed, true)
  t.equal(stats.authIdentity, 'alice')
  t.equal(stats.authIdentityUrl, 'https://id.example/alice')
})

t.test('AUTH failures: rejected secret, no authorizations, bad answers, server down; POST method; several servers', async (t) => {
  const as = await authServer(t)
  as.answers.set('none', grant([]))
  as.answers.set('badjson', [200, '{nope'])
  as.answers.set('perm', grant([{ topic: '.*', channels: ['.*'], permissions: ['admin'] }]))
  as.answers.set('regex', grant([{ topic: '(', channels: ['.*'], permissions: ['publish'] }]))
  as.answers.set('ttl', grant([PUB_ORDERS], 0))
  as.answers.set('e500', [500, 'oops'])
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr] })
  for (const secret of ['rejected', 'badjson', 'perm', 'regex', 'ttl', 'e500']) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    c.write(cmd.auth(secret))
    t.equal(await c.error(), 'E_AUTH_FAILED AUTH failed', secret)
    await c.waitClosed()
  }
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  c.write(cmd.auth('none'))
  t.equal(await c.error(), 'E_UNAUTHORIZED AUTH no authorizations found')
  await c.waitClosed()

  // nothing listens on the first address; the second answers (tried in turn from a random start)
  const dead = await new Promise<string>((resolve) => {
    const s = http.createServer()
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => { resolve(`127.0.0.1:${p}`) }) })
  })
  as.answers.set('good', grant([PUB_ORDERS]))
  const two = await startNSQD(t, { authHttpAddresses: [dead, as.addr] })
  for (let i = 0; i < 4; i++) await authed(t, two, 'good')
  t.pass('a down server is skipped')
  const down = await startNSQD(t, { authHttpAddresses: [dead], httpClientConnectTimeoutMs: 500 })
  const d = await RawConn.connect(t, down.tcpAddress)
  d.write(cmd.auth('good'))
  t.equal(await d.error(), 'E_AUTH_FAILED AUTH failed', 'all servers down')
  await d.waitClosed()

  // a server that accepts but never answers: the request timeout ends the wait
  const hung = http.createServer(() => {})
  await new Promise<void>((resolve) => { hung.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { hung.closeAllConnections(); hung.close() })
  const slow = await startNSQD(t, { authHttpAddresses: [`127.0.0.1:${(hung.address() as { port: number }).port}`], httpClientRequestTimeoutMs: 300 })
  const h = await RawConn.connect(t, slow.tcpAddress)
  h.write(cmd.auth('good'))
  t.equal(await h.error(), 'E_AUTH_FAILED AUTH failed', 'hung auth server')

  const post = await startNSQD(t, { authHttpAddresses: [`http://${as.addr}/auth`], authHttpRequestMethod: 'post' })
  await authed(t, post, 'good')
  const last = as.seen[as.seen.length - 1]!
  t.equal(last.method, 'POST')
  t.equal(last.contentType, 'application/json')
  t.equal(last.body, '{"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["good"],"tls":["false"]}')
  await until(() => nsqd.clients.size === 0 && down.clients.size === 0, 'failed clients are gone')
})

t.test('re-auth when the ttl has passed; a failing re-query ends the connection', async (t) => {
  const as = await authServer(t)
  as.answers.set('short', grant([PUB_ORDERS], 1))
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr] })
  const c = await authed(t, nsqd, 'short')
  const at = Date.now()
  c.write(cmd.pub('orders', 'first'))
  t.equal(await c.response(), 'OK')
  t.equal(as.seen.length, 1, 'cached within the ttl')
  await until(() => Date.now() - at > 1100, 'ttl passed', 3000, 50)
  // commands queued behind the re-query keep their order
  c.write(Buffer.concat([cmd.pub('orders', 'second'), cmd.pub('orders', 'third')]))
  t.equal(await c.response(), 'OK')
  t.equal(await c.response(), 'OK')
  t.equal(as.seen.length, 2, 're-queried once after expiry')
  t.equal(nsqd.getExistingTopic('orders')!.messageCount, 3)
  as.answers.set('short', [403, 'revoked'])
  await until(() => Date.now() - at > 2300, 'ttl passed again', 4000, 50)
  c.write(cmd.pub('orders', 'fourth'))
  t.equal(await c.error(), 'E_AUTH_FAILED AUTH failed')
  await c.waitClosed()
})

t.test('over TLS: tls=true and the client certificate CommonName go to the auth server', async (t) => {
  const certs = makeCerts(t)
  const as = await authServer(t)
  as.answers.set('tls-secret', grant([PUB_ORDERS]))
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr], tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caFile })
  const c = await LayeredConn.connect(t, nsqd.tcpAddress)
  const resp = JSON.parse((await c.identify({ tls_v1: true })).data.toString())
  t.equal(resp.auth_required, true)
  await c.startTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
  t.equal(await c.response(), 'OK')
  c.continuePlain()
  c.write(cmd.auth('tls-secret'))
  t.match(await c.response(), /"permission_count":1/)
  t.same(Object.fromEntries(as.seen[0]!.query), { remote_ip: '127.0.0.1', tls: 'true', secret: 'tls-secret', common_name: 'client-1' })

  // EOF (close_notify) while the auth server is being asked: the AUTH answer, then the cut-off PUB's error
  const h = await LayeredConn.connect(t, nsqd.tcpAddress)
  await h.identify({ tls_v1: true })
  await h.startTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
  t.equal(await h.response(), 'OK')
  h.continuePlain()
  h.write(Buffer.concat([cmd.auth('tls-secret'), Buffer.from('PUB orders\n')]))
  h.end()
  t.match(await h.response(), /"permission_count":1/, 'half-closed during AUTH: the answer first')
  t.equal(await h.error(), 'E_BAD_MESSAGE PUB failed to read message body size')
  await h.waitClosed()
})

t.test('--http-auth: publish and admin endpoints ask the auth server (Bearer secret)', async (t) => {
  const certs = makeCerts(t)
  const as = await authServer(t)
  as.answers.set('pub', grant([PUB_ORDERS, SUB_ORDERS]))
  as.answers.set('none', grant([]))
  const base: Partial<Options> = { authHttpAddresses: [as.addr] }
  const call = async (n: NSQD, method: string, path: string, secret?: string, body = 'x'): Promise<[number, string]> => {
    const headers: Record<string, string> = secret !== undefined ? { Authorization: `Bearer ${secret}` } : {}
    const res = await fetch(`http://${n.httpAddress}${path}`, { method, headers, ...(method === 'GET' ? {} : { body }) })
    return [res.status, await res.text()]
  }
  const open = await startNSQD(t, base)
  t.same(await call(open, 'POST', '/pub?topic=anything'), [200, 'OK'], 'off by default')

  const pub = await startNSQD(t, { ...base, httpAuth: 'publish' })
  t.same(await call(pub, 'POST', '/pub?topic=orders'), [401, '{"message":"AUTH_REQUIRED"}'])
  t.same(await call(pub, 'POST', '/pub?topic=orders', 'wrong'), [401, '{"message":"AUTH_FAILED"}'])
  t.same(await call(pub, 'POST', '/pub?topic=orders', 'none'), [401, '{"message":"AUTH_FAILED"}'])
  t.same(await call(pub, 'POST', '/pub?topic=orders', 'pub'), [200, 'OK'])
  t.same(await call(pub, 'POST', '/mpub?topic=orders', 'pub', 'a\nb'), [200, 'OK'])
  t.same(await call(pub, 'POST', '/pub?topic=other', 'pub'), [403, '{"message":"UNAUTHORIZED"}'])
  t.same(await call(pub, 'POST', '/pub', 'pub'), [400, '{"message":"MISSING_ARG_TOPIC"}'], 'route errors still apply')
  t.same(await call(pub, 'POST', '/topic/create?topic=other'), [200, ''], 'publish policy leaves admin open')
  t.equal((await call(pub, 'GET', '/stats?format=json&topic=orders'))[0], 200, 'reads stay open')
  const before = as.seen.length
  for (let i = 0; i < 5; i++) await call(pub, 'POST', '/pub?topic=orders', 'pub')
  t.equal(as.seen.length, before, 'answers are cached for their ttl')
  t.equal(pub.getExistingTopic('orders')!.messageCount, 8)

  const all = await startNSQD(t, { ...base, httpAuth: 'all' })
  t.same(await call(all, 'POST', '/topic/create?topic=orders'), [401, '{"message":"AUTH_REQUIRED"}'])
  t.same(await call(all, 'POST', '/topic/create?topic=orders', 'pub'), [200, ''])
  t.same(await call(all, 'POST', '/topic/delete?topic=other', 'pub'), [403, '{"message":"UNAUTHORIZED"}'])
  t.same(await call(all, 'POST', '/channel/create?topic=orders&channel=billing', 'pub'), [200, ''])
  t.same(await call(all, 'POST', '/channel/empty?topic=orders&channel=shipping', 'pub'), [403, '{"message":"UNAUTHORIZED"}'])
  t.same(await call(all, 'PUT', '/config/log_level', undefined, 'debug'), [401, '{"message":"AUTH_REQUIRED"}'])
  t.equal((await call(all, 'PUT', '/config/log_level', 'pub', 'debug'))[0], 200)
  t.same(await call(all, 'GET', '/ping'), [200, 'OK'], 'reads stay open')
  t.same(await call(all, 'GET', '/channel/peek?topic=orders&channel=billing'), [401, '{"message":"AUTH_REQUIRED"}'], 'a peek shows bodies: guarded')
  t.equal((await call(all, 'GET', '/channel/peek?topic=orders&channel=billing', 'pub'))[0], 200, 'allowed with subscribe on topic and channel')
  t.same(await call(all, 'GET', '/topic/peek?topic=other', 'pub'), [403, '{"message":"UNAUTHORIZED"}'], 'topic peek needs publish on the topic')
  t.same(await call(all, 'POST', '/topic/replay?topic=other.dead', 'pub'), [403, '{"message":"UNAUTHORIZED"}'], 'replay is a topic action')
  t.equal((await call(all, 'GET', '/config/http_auth'))[1], 'all', 'a string option answers raw (nsqd-http.md §5)')

  // over HTTPS the auth server sees tls=true
  const sec = await startNSQD(t, { ...base, httpAuth: 'publish', tlsCert: certs.certFile, tlsKey: certs.keyFile, httpsAddress: '127.0.0.1:0' })
  const port = sec.httpsAddress.slice(sec.httpsAddress.lastIndexOf(':') + 1)
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request(`https://localhost:${port}/pub?topic=orders`, { method: 'POST', ca: certs.ca, agent: false, headers: { Authorization: 'Bearer pub' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end('over https')
  })
  t.equal(status, 200)
  t.equal(as.seen[as.seen.length - 1]!.query.get('tls'), 'true')

  t.throws(() => new NSQD({ tcpAddress: '127.0.0.1:0', httpAuth: 'publish' }), /--http-auth needs --auth-http-address/)
  t.throws(() => new NSQD({ tcpAddress: '127.0.0.1:0', ...base, httpAuth: 'everything' }), /--http-auth must be publish or all/)
})

t.test('nsqjs with authSecret publishes and consumes through AUTH', async (t) => {
  const nsq = (await import('nsqjs')).default
  const as = await authServer(t)
  as.answers.set('js', grant([{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }]))
  const nsqd = await startNSQD(t, { authHttpAddresses: [as.addr] })
  const topic = uniq()
  const { host, port } = { host: '127.0.0.1', port: Number(nsqd.tcpAddress.split(':')[1]) }
  const w = new nsq.Writer(host, port, { authSecret: 'js' } as never)
  w.connect()
  await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
  t.teardown(() => { w.close() })
  await new Promise<void>((resolve, reject) => { w.publish(topic, 'authed hello', (err?: Error) => { if (err) reject(err); else resolve() }) })
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [nsqd.tcpAddress], authSecret: 'js' } as never)
  t.teardown(() => { r.close() })
  const body = await new Promise<string>((resolve, reject) => {
    r.on('message', (m: { body: Buffer, finish (): void }) => { m.finish(); resolve(m.body.toString()) })
    r.on('error', reject)
    r.connect()
  })
  t.equal(body, 'authed hello')
  t.ok(as.seen.length >= 2)
})
