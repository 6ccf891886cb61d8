// nsqadmin's JSON API through inject(), against a real nsqlookupd and real nsqd nodes started
// in-process (registered with lookupd over TCP): reads, aggregation, actions and their effect
// on nsqd, permissions, notifications, bad input, and the built-in history.

import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import { publish, startAdmin, startLookupd, startNode, until } from '../helpers/admin-cluster.js'
import { RawConn, tmpDir, uniq } from '../helpers/nsqd.js'
import type { NSQAdmin } from '../../admin/nsqadmin.js'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { FAILURE_WINDOW_MS, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER, hashPassword, parseUsers, verifyPassword } from '../../admin/auth.js'

async function api (admin: NSQAdmin, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any, headers: Record<string, unknown> }> {
  const res = await admin.httpServer.inject({
    method,
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  let json: any = null
  try { json = JSON.parse(res.body) } catch { json = res.body }
  return { status: res.statusCode, json, headers: res.headers }
}

async function nsqdStats (httpAddress: string, topic: string): Promise<any> {
  const res = await fetch(`http://${httpAddress}/stats?format=json&topic=${topic}`)
  return await res.json()
}

async function lookupdJson (httpAddress: string, path: string): Promise<any> {
  const res = await fetch(`http://${httpAddress}${path}`)
  return await res.json()
}

t.test('reads: topics, topic, channel, nodes, node, counter aggregate every nsqd', async (t) => {
  const lookupd = await startLookupd(t)
  const [a, b] = await Promise.all([startNode(t, [lookupd]), startNode(t, [lookupd])])
  const topic = uniq('orders')
  await fetch(`http://${a.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })
  await fetch(`http://${a.httpAddress}/channel/create?topic=${topic}&channel=billing`, { method: 'POST' })
  await fetch(`http://${b.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })
  await fetch(`http://${b.httpAddress}/channel/create?topic=${topic}&channel=billing`, { method: 'POST' })
  for (let i = 0; i < 3; i++) await publish(a.httpAddress, topic, `a${i}`)
  for (let i = 0; i < 2; i++) await publish(b.httpAddress, topic, `b${i}`)
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}`)).json.nodes?.length === 2, 'both nodes registered')

  const topics = await api(admin, 'GET', '/api/topics')
  t.equal(topics.status, 200)
  t.equal(topics.headers['x-nsq-content-type'], 'nsq; version=1.0')
  t.ok(topics.json.topics.includes(topic))
  t.equal(topics.json.message, '')

  const top = (await api(admin, 'GET', `/api/topics/${topic}`)).json
  t.equal(top.node, '*')
  t.equal(top.topic_name, topic)
  t.equal(top.message_count, 5, 'message counts summed over nodes')
  t.same(top.nodes.map((n: any) => n.node).sort(), [a.node, b.node].sort())
  t.equal(top.channels.length, 1)
  t.equal(top.channels[0].channel_name, 'billing')
  t.equal(top.channels[0].depth, 5, 'channel depth summed')
  t.equal(top.channels[0].nodes.length, 2)
  t.equal(top.paused, false)

  const ch = (await api(admin, 'GET', `/api/topics/${topic}/billing`)).json
  t.equal(ch.depth, 5)
  t.equal(ch.message_count, 5)
  t.equal(ch.nodes.length, 2)
  t.same(ch.clients, [])

  const nodes = (await api(admin, 'GET', '/api/nodes')).json
  t.equal(nodes.nodes.length, 2)
  for (const n of nodes.nodes) {
    t.equal(n.broadcast_address, '127.0.0.1')
    t.same(n.topics, [{ topic, tombstoned: false }])
    t.equal(n.remote_addresses.length, 1)
    t.equal(n.out_of_date, false)
  }

  const node = (await api(admin, 'GET', `/api/nodes/${a.node}`)).json
  t.equal(node.node, a.node)
  t.equal(node.total_messages, 3)
  t.equal(node.topics[0].channels[0].channel_name, 'billing')

  const counter = (await api(admin, 'GET', '/api/counter')).json
  t.equal(counter.stats[`${topic}:billing:${a.node}`].message_count, 3)
  t.equal(counter.stats[`${topic}:billing:${b.node}`].message_count, 2)

  const summary = (await api(admin, 'GET', '/api/topics?stats=true')).json
  const row = summary.topics.find((r: any) => r.topic_name === topic)
  t.equal(row.channel_depth, 5)
  t.equal(row.nodes.length, 2)
})

t.test('bad input and missing things get clear JSON errors, never a stack trace', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const topic = uniq('known')
  await publish(a.httpAddress, topic, 'x')
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}`)).json.nodes?.length === 1, 'registered')

  const cases: Array<[string, string, number, string]> = [
    ['GET', '/api/topics/no_such_topic', 404, 'TOPIC_NOT_FOUND'],
    ['GET', `/api/topics/${topic}/no_such_channel`, 404, 'CHANNEL_NOT_FOUND'],
    ['GET', '/api/topics/bad%20name!', 400, 'INVALID_TOPIC'],
    ['GET', '/api/nodes/10.9.9.9:4151', 404, 'NODE_NOT_FOUND'],
    ['GET', '/api/nope', 404, 'NOT_FOUND'],
    ['PUT', '/api/counter', 405, 'METHOD_NOT_ALLOWED'],
    ['GET', '/api/graphite?metric=nope', 400, 'INVALID_ARG_METRIC']
  ]
  for (const [method, url, status, message] of cases) {
    const res = await admin.httpServer.inject({ method: method as 'GET', url })
    t.equal(res.statusCode, status, `${method} ${url} status`)
    t.equal(JSON.parse(res.body).message, message, `${method} ${url} message`)
  }
  let r = await api(admin, 'POST', `/api/topics/${topic}`, '{not json')
  t.equal(r.status, 400)
  t.notMatch(r.json.message, /at .*\.ts/, 'no stack trace')
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'explode' })
  t.same([r.status, r.json.message], [400, 'INVALID_ACTION'])
  r = await api(admin, 'POST', '/api/topics', { topic: 'bad name' })
  t.same([r.status, r.json.message], [400, 'INVALID_TOPIC'])
  r = await api(admin, 'POST', '/api/topics', { topic: 'ok', channel: 'bad/channel' })
  t.same([r.status, r.json.message], [400, 'INVALID_CHANNEL'])
  r = await api(admin, 'DELETE', `/api/nodes/${a.node}`, 'nope')
  t.same([r.status, r.json.message], [400, 'INVALID_BODY'])
  // pausing a topic no node has: the nsqd says TOPIC_NOT_FOUND, so the action fails visibly
  r = await api(admin, 'POST', '/api/topics/nobody_has_it', { action: 'pause' })
  t.equal(r.status, 404)
})

t.test('actions reach nsqd and lookupd: create, pause/unpause, empty, delete, tombstone', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  const topic = uniq('act')

  // create topic + channel: lookupd learns both; nsqd has no topic yet, so nothing to create there
  let r = await api(admin, 'POST', '/api/topics', { topic, channel: 'audit' })
  t.same([r.status, r.json.message], [200, ''])
  t.ok((await lookupdJson(lookupd.httpAddress.address, '/topics')).topics.includes(topic))
  t.same((await lookupdJson(lookupd.httpAddress.address, `/channels?topic=${topic}`)).channels, ['audit'])
  const inactive = (await api(admin, 'GET', '/api/topics?inactive=true')).json
  t.same(inactive.topics[topic], ['audit'], 'listed as inactive (no producer yet)')

  await publish(a.httpAddress, topic, 'one')
  await fetch(`http://${a.httpAddress}/channel/create?topic=${topic}&channel=work`, { method: 'POST' })
  await publish(a.httpAddress, topic, 'two')
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}`)).json.nodes?.length === 1, 'producer registered')

  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' })
  t.equal(r.status, 200)
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, true, 'nsqd reports the topic paused')
  t.equal((await api(admin, 'GET', `/api/topics/${topic}`)).json.paused, true)
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'unpause' })
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, false)

  r = await api(admin, 'POST', `/api/topics/${topic}/work`, { action: 'pause' })
  t.equal(r.status, 200)
  const chPaused = (await nsqdStats(a.httpAddress, topic)).topics[0].channels.find((c: any) => c.channel_name === 'work')
  t.equal(chPaused.paused, true)
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}/work`)).json.depth > 0, 'channel has messages')
  r = await api(admin, 'POST', `/api/topics/${topic}/work`, { action: 'empty' })
  t.equal(r.status, 200)
  t.equal((await api(admin, 'GET', `/api/topics/${topic}/work`)).json.depth, 0, 'channel emptied')

  r = await api(admin, 'DELETE', `/api/topics/${topic}/work`)
  t.same([r.status, r.json.message], [200, ''])
  const chans = (await nsqdStats(a.httpAddress, topic)).topics[0].channels.map((c: any) => c.channel_name)
  t.notOk(chans.includes('work'), 'channel deleted on nsqd')
  r = await api(admin, 'GET', `/api/topics/${topic}/work`)
  t.equal(r.status, 404)

  // tombstone the producer: lookupd marks it, nsqd deletes the topic
  r = await api(admin, 'DELETE', `/api/nodes/${a.node}`, { topic })
  t.same([r.status, r.json.message], [200, ''])
  t.same((await nsqdStats(a.httpAddress, topic)).topics, null, 'topic deleted on that nsqd')

  const topic2 = uniq('del')
  await publish(a.httpAddress, topic2, 'x')
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic2}`)).json.nodes?.length === 1, 'producer registered')
  r = await api(admin, 'DELETE', `/api/topics/${topic2}`)
  t.same([r.status, r.json.message], [200, ''])
  t.same((await nsqdStats(a.httpAddress, topic2)).topics, null, 'topic deleted on nsqd')
  t.notOk((await lookupdJson(lookupd.httpAddress.address, '/topics')).topics.includes(topic2), 'and in lookupd')
})

t.test('drain action: POST /api/nodes/:node {"action":"drain"} puts that nsqd in drain mode; nodes list and node page mark it', async (t) => {
  const lookupd = await startLookupd(t)
  const [a, b] = await Promise.all([startNode(t, [lookupd]), startNode(t, [lookupd])])
  const topic = uniq('drain')
  await fetch(`http://${a.httpAddress}/topic/create?topic=${topic}`, { method: 'POST' })
  await fetch(`http://${a.httpAddress}/channel/create?topic=${topic}&channel=ch`, { method: 'POST' })
  await publish(a.httpAddress, topic, 'left')
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  await until(async () => (await api(admin, 'GET', '/api/nodes')).json.nodes?.length === 2, 'both nodes registered')
  for (const n of (await api(admin, 'GET', '/api/nodes')).json.nodes) t.notOk('draining' in n, 'no draining field on a normal node')
  t.notOk('draining' in (await api(admin, 'GET', `/api/nodes/${a.node}`)).json)

  t.same((await api(admin, 'POST', `/api/nodes/${a.node}`, { action: 'undrain' })).status, 400)
  t.same((await api(admin, 'POST', '/api/nodes/127.0.0.1:1', { action: 'drain' })).json.message, 'NODE_NOT_FOUND')
  t.equal(a.nsqd.draining, false, 'refused actions changed nothing')

  const r = await api(admin, 'POST', `/api/nodes/${a.node}`, { action: 'drain' })
  t.same([r.status, r.json.message], [200, ''])
  t.equal(a.nsqd.draining, true, 'the nsqd is draining')
  t.equal(b.nsqd.draining, false, 'the other node is not')
  t.equal((await fetch(`http://${a.httpAddress}/pub?topic=${topic}`, { method: 'POST', body: 'x' })).status, 503)

  const nodes = (await api(admin, 'GET', '/api/nodes')).json.nodes
  t.same(nodes.filter((n: any) => n.draining === true).map((n: any) => `127.0.0.1:${n.http_port}`), [a.node], 'only the draining node is marked')
  const page = (await api(admin, 'GET', `/api/nodes/${a.node}`)).json
  t.equal(page.draining, true)
  t.equal(page.drain_remaining, 1, 'one message still to deliver')
  t.same(page.drain_stuck_topics, [])
})

t.test('admin users: non-admins are refused, admins pass; every action is notified', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const got: any[] = []
  const sink = Fastify()
  sink.post('/notify', async (req) => { got.push({ body: req.body, type: req.headers['content-type'] }); return 'ok' })
  await sink.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => sink.close())
  const sinkUrl = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}/notify`
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], adminUsers: ['alice'], notificationHttpEndpoint: sinkUrl })
  const topic = uniq('acl')
  await publish(a.httpAddress, topic, 'x')
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}`)).json.nodes?.length === 1, 'registered')

  let r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' })
  t.same([r.status, r.json.message], [403, 'FORBIDDEN'], 'no user header')
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { 'X-Forwarded-User': 'mallory' })
  t.same([r.status, r.json.message], [403, 'FORBIDDEN'], 'wrong user')
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, false, 'nothing happened')
  const page = await admin.httpServer.inject({ url: '/', headers: { 'X-Forwarded-User': 'mallory' } })
  t.match(page.body, /"IS_ADMIN":false/)

  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { 'X-Forwarded-User': 'alice', authorization: 'Basic ' + Buffer.from('alice:pw').toString('base64') })
  t.equal(r.status, 200)
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, true)
  await until(() => got.length === 1, 'notification')
  const doc = got[0].body
  t.match(got[0].type, /application\/json/)
  t.same(Object.keys(doc), ['action', 'topic', 'timestamp', 'user', 'remote_ip', 'user_agent', 'url', 'via'])
  t.equal(doc.action, 'pause_topic')
  t.equal(doc.topic, topic)
  t.equal(doc.user, 'alice')
  t.match(doc.url, new RegExp(`/api/topics/${topic}$`))

  r = await api(admin, 'POST', '/api/topics', { topic, channel: 'c1' }, { 'X-Forwarded-User': 'alice' })
  t.equal(r.status, 200)
  await until(() => got.length === 3, 'create notifications')
  t.same(got.slice(1).map((g) => [g.body.action, g.body.channel]), [['create_topic', undefined], ['create_channel', 'c1']])
})

t.test('history samples rates and depths; live stream announces samples', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const topic = uniq('hist')
  await publish(a.httpAddress, topic, 'x')
  await fetch(`http://${a.httpAddress}/channel/create?topic=${topic}&channel=c`, { method: 'POST' })
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], historyIntervalMs: 60_000 })
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}`)).json.nodes?.length === 1, 'registered')
  await admin.sampler.sampleNow()
  for (let i = 0; i < 10; i++) await publish(a.httpAddress, topic, `m${i}`)
  await admin.sampler.sampleNow()
  const h = (await api(admin, 'GET', `/api/history/topics/${topic}`)).json
  t.ok(h.timestamps.length >= 2)
  const rates = h.series.rate.filter((x: number | null) => x !== null)
  t.ok(rates.length >= 1 && rates[rates.length - 1] > 0, `publish rate seen (${JSON.stringify(h.series.rate)})`)
  const ch = (await api(admin, 'GET', `/api/history/topics/${topic}/c`)).json
  t.equal(ch.series.depth[ch.series.depth.length - 1], 11, 'channel depth sampled (the buffered first message plus 10)')
  const node = (await api(admin, 'GET', `/api/history/nodes/${a.node}`)).json
  t.ok(node.series.depth.length >= 2)
  const topicRow = (await api(admin, 'GET', '/api/topics?stats=true')).json.topics.find((r: any) => r.topic_name === topic)
  t.ok(topicRow.rate > 0, 'topics list carries the latest rate')

  // live stream over a real socket
  const ctrl = new AbortController()
  const res = await fetch(`http://${admin.httpAddress.address}/api/events`, { signal: ctrl.signal })
  t.match(res.headers.get('content-type'), /text\/event-stream/)
  const reader = res.body!.getReader()
  let text = ''
  const readUntil = async (re: RegExp): Promise<void> => {
    while (!re.test(text)) {
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      text += Buffer.from(value).toString('utf8')
    }
  }
  await readUntil(/event: hello/)
  void admin.sampler.sampleNow()
  await readUntil(/event: sample\ndata: \{"ts":\d+/)
  t.pass('sample event received')
  ctrl.abort()
})

t.test('JSON answers escape strings as Go json.Marshal does: a client_id with <, >, & and U+2028', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const topic = uniq('esc')
  const c = await RawConn.connect(t, a.nsqd.tcpAddress)
  await c.identify({ client_id: 'c<1>&', hostname: 'h\u2028\u2029\b' })
  await c.subscribe(topic, 'ch')
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  await until(async () => (await api(admin, 'GET', `/api/topics/${topic}/ch`)).json.clients?.length === 1, 'client visible')
  const res = await admin.httpServer.inject({ method: 'GET', url: `/api/topics/${topic}/ch` })
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.ok(res.body.includes('"client_id":"c\\u003c1\\u003e\\u0026"'), res.body)
  t.ok(res.body.includes('"hostname":"h\\u2028\\u2029\\u0008"'))
  t.notOk(/[<>&\u2028\u2029\b]/.test(res.body), 'nothing raw')
  t.equal(JSON.parse(res.body).clients[0].client_id, 'c<1>&')
})

// ---- login and roles (--users-file; beyond NSQ, issue 17) -------------------------------------

async function usersFile (t: Parameters<typeof tmpDir>[0], lines: string[]): Promise<string> {
  const file = path.join(tmpDir(t), 'users')
  fs.writeFileSync(file, ['# name:role:hash', ...lines, ''].join('\n'))
  return file
}

function cookieOf (r: { headers: Record<string, unknown> }): string {
  const c = r.headers['set-cookie']
  return String(Array.isArray(c) ? c[0] : c ?? '')
}

t.test('login: scrypt hashes, users file, --hash-password', async (t) => {
  const hash = await hashPassword('s3cret')
  t.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  t.equal(await verifyPassword('s3cret', hash), true)
  t.equal(await verifyPassword('s3cret ', hash), false)
  t.not(await hashPassword('s3cret'), hash, 'salted')
  t.throws(() => parseUsers(`bob:root:${hash}`), /role must be admin or viewer/)
  t.throws(() => parseUsers('bob:admin:plaintext'), /not a scrypt hash/)
  t.throws(() => parseUsers('# nobody'), /no users/)
  t.same([...parseUsers(`a:admin:${hash}\n\n# c\nb:viewer:${hash}`).values()].map((u) => [u.name, u.role]), [['a', 'admin'], ['b', 'viewer']])
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'admin/main.ts', '--hash-password'], { input: 'pw from stdin\n' }).toString().trim()
  t.equal(await verifyPassword('pw from stdin', out), true, 'nsqadmin --hash-password prints a hash of stdin without its newline')
})

t.test('login off by default: no login routes, no cookies, NSQ rules unchanged', async (t) => {
  const admin = await startAdmin(t, { nsqdHttpAddresses: ['127.0.0.1:1'] })
  const r = await api(admin, 'POST', '/api/login', { user: 'a', password: 'b' })
  t.equal(r.status, 404)
  const page = await admin.httpServer.inject({ url: '/' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['set-cookie'], undefined)
  t.match(page.body, /"IS_ADMIN":true/)
  t.notMatch(page.body, /LOGIN_ENABLED|CSRF_TOKEN/)
  t.equal((await admin.httpServer.inject({ url: '/login' })).statusCode, 404)
})

t.test('login, session cookie, CSRF, viewer refused, admin allowed, logout', async (t) => {
  const lookupd = await startLookupd(t)
  const a = await startNode(t, [lookupd])
  const file = await usersFile(t, [`alice:admin:${await hashPassword('alice-pw')}`, `victor:viewer:${await hashPassword('victor-pw')}`])
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], usersFile: file, adminUsers: ['mallory'] })
  const topic = uniq('login')
  await publish(a.httpAddress, topic, 'x')

  t.same([(await api(admin, 'GET', '/api/topics')).status, (await api(admin, 'GET', '/api/topics')).json.message], [401, 'UNAUTHORIZED'], 'API needs a session')
  const redirect = await admin.httpServer.inject({ url: '/topics' })
  t.same([redirect.statusCode, redirect.headers.location], [302, '/login'], 'UI pages go to the login page')
  const login = await admin.httpServer.inject({ url: '/login' })
  t.equal(login.statusCode, 200)
  t.match(login.body, /id="login-form"/)
  t.equal((await admin.httpServer.inject({ url: '/static/app.css' })).statusCode, 200, 'static files stay public')
  t.equal((await admin.httpServer.inject({ url: '/ping' })).statusCode, 200)
  t.equal((await api(admin, 'GET', '/api/topics', undefined, { 'X-Forwarded-User': 'mallory' })).status, 401, 'the ACL header is no way in')

  let r = await api(admin, 'POST', '/api/login', { user: 'alice', password: 'wrong' })
  t.same([r.status, r.json.message], [401, 'LOGIN_FAILED'])
  t.equal(r.headers['set-cookie'], undefined)
  t.ok(admin.lines.some((l) => l.includes('LOGIN: failed for "alice" from 127.0.0.1 - wrong password')), 'failure logged')
  r = await api(admin, 'POST', '/api/login', { user: 'nobody', password: 'x' })
  t.same([r.status, r.json.message], [401, 'LOGIN_FAILED'], 'unknown user: same answer')
  t.equal((await api(admin, 'POST', '/api/login', 'not json')).status, 400)

  r = await api(admin, 'POST', '/api/login', { user: 'victor', password: 'victor-pw' })
  t.same([r.status, r.json.user, r.json.role], [200, 'victor', 'viewer'])
  const vCsrf = r.json.csrf_token as string
  const vSet = cookieOf(r)
  t.match(vSet, /^nsqadmin_session=[\w-]+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/, 'HttpOnly, SameSite=Strict, no Secure without TLS')
  const vCookie = vSet.split(';')[0] as string
  const tls = await api(admin, 'POST', '/api/login', { user: 'victor', password: 'victor-pw' }, { 'X-Forwarded-Proto': 'https' })
  t.match(cookieOf(tls), /; Secure$/, 'Secure under TLS (here: a TLS-terminating proxy)')

  r = await api(admin, 'GET', `/api/topics/${topic}`, undefined, { cookie: vCookie })
  t.equal(r.status, 200, 'a viewer sees everything')
  const page = await admin.httpServer.inject({ url: '/', headers: { cookie: vCookie } })
  t.match(page.body, /"IS_ADMIN":false/)
  t.match(page.body, /"ROLE":"viewer"/)
  t.equal((await api(admin, 'GET', '/api/session', undefined, { cookie: vCookie })).json.csrf_token, vCsrf)
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { cookie: vCookie, 'X-CSRF-Token': vCsrf })
  t.same([r.status, r.json.message], [403, 'FORBIDDEN'], 'a viewer may not act')
  r = await api(admin, 'DELETE', `/api/topics/${topic}`, undefined, { cookie: vCookie, 'X-CSRF-Token': vCsrf })
  t.same([r.status, r.json.message], [403, 'FORBIDDEN'])
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, false, 'nothing happened')

  r = await api(admin, 'POST', '/api/login', { user: 'alice', password: 'alice-pw' })
  t.equal(r.json.role, 'admin')
  const aCsrf = r.json.csrf_token as string
  const aCookie = cookieOf(r).split(';')[0] as string
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { cookie: aCookie })
  t.same([r.status, r.json.message], [403, 'CSRF_TOKEN_INVALID'], 'no CSRF token')
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { cookie: aCookie, 'X-CSRF-Token': vCsrf })
  t.same([r.status, r.json.message], [403, 'CSRF_TOKEN_INVALID'], 'another session\'s token')
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, false)
  r = await api(admin, 'POST', `/api/topics/${topic}`, { action: 'pause' }, { cookie: aCookie, 'X-CSRF-Token': aCsrf })
  t.equal(r.status, 200, 'an admin with the token acts')
  t.equal((await nsqdStats(a.httpAddress, topic)).topics[0].paused, true)
  t.match((await admin.httpServer.inject({ url: '/', headers: { cookie: aCookie } })).body, /"IS_ADMIN":true/)

  const [id] = aCookie.slice('nsqadmin_session='.length).split('.')
  t.equal((await api(admin, 'GET', '/api/topics', undefined, { cookie: `nsqadmin_session=${id as string}.forged` })).status, 401, 'a bad signature is no session')

  r = await api(admin, 'POST', '/api/logout', undefined, { cookie: vCookie })
  t.equal(r.status, 403, 'logout needs the CSRF token too')
  r = await api(admin, 'POST', '/api/logout', undefined, { cookie: vCookie, 'X-CSRF-Token': vCsrf })
  t.equal(r.status, 200)
  t.match(cookieOf(r), /^nsqadmin_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/)
  t.equal((await api(admin, 'GET', '/api/topics', undefined, { cookie: vCookie })).status, 401, 'the old cookie is dead after logout')
  t.equal((await api(admin, 'GET', '/api/topics', undefined, { cookie: aCookie })).status, 200, 'other sessions live on')
})

t.test('login: failures rate-limited per user and per IP, and logged', async (t) => {
  const file = await usersFile(t, [`alice:admin:${await hashPassword('alice-pw')}`, `victor:viewer:${await hashPassword('victor-pw')}`])
  const admin = await startAdmin(t, { nsqdHttpAddresses: ['127.0.0.1:1'], usersFile: file })
  const login = async (user: string, password: string, ip: string): Promise<{ status: number, message: string, retry: unknown }> => {
    const res = await admin.httpServer.inject({ method: 'POST', url: '/api/login', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ user, password }) })
    return { status: res.statusCode, message: JSON.parse(res.body).message, retry: res.headers['retry-after'] }
  }
  for (let i = 0; i < MAX_FAILURES_PER_USER; i++) t.equal((await login('alice', `bad${i}`, `10.0.0.${i + 1}`)).status, 401)
  let r = await login('alice', 'alice-pw', '10.0.0.50')
  t.same([r.status, r.message], [429, 'TOO_MANY_ATTEMPTS'], 'per user: even the right password, from a new IP')
  t.ok(Number(r.retry) > 0 && Number(r.retry) <= FAILURE_WINDOW_MS / 1000, 'Retry-After')
  t.ok(admin.lines.some((l) => l.includes('LOGIN: refused "alice" from 10.0.0.50 - too many failed attempts')), 'refusal logged')
  t.equal((await login('victor', 'victor-pw', '10.0.0.50')).status, 200, 'other users unaffected')

  for (let i = 0; i < MAX_FAILURES_PER_IP; i++) t.equal((await login(`guess${i}`, 'x', '10.0.1.1')).status, 401)
  r = await login('victor', 'victor-pw', '10.0.1.1')
  t.same([r.status, r.message], [429, 'TOO_MANY_ATTEMPTS'], 'per IP: many names from one address')
  t.equal((await login('victor', 'victor-pw', '10.0.1.2')).status, 200, 'other addresses unaffected')
})

t.test('login under --base-path: redirect, cookie path and routes follow the prefix', async (t) => {
  const file = await usersFile(t, [`alice:admin:${await hashPassword('alice-pw')}`])
  const admin = await startAdmin(t, { nsqdHttpAddresses: ['127.0.0.1:1'], usersFile: file, basePath: '/ops/admin/' })
  const page = await admin.httpServer.inject({ url: '/ops/admin/nodes' })
  t.same([page.statusCode, page.headers.location], [302, '/ops/admin/login'])
  t.match((await admin.httpServer.inject({ url: '/ops/admin/login' })).body, /src="\/ops\/admin\/static\/js\/login\.js"/)
  const r = await api(admin, 'POST', '/ops/admin/api/login', { user: 'alice', password: 'alice-pw' })
  t.match(cookieOf(r), /; Path=\/ops\/admin; /)
  const cookie = cookieOf(r).split(';')[0] as string
  t.equal((await api(admin, 'GET', '/ops/admin/api/session', undefined, { cookie })).json.user, 'alice')
  t.equal((await admin.httpServer.inject({ url: '/ops/admin/nodes', headers: { cookie } })).statusCode, 200)
})

t.test('peek and replay through the API: merged over nodes, by id, n across nodes, bad input, --admin-user', async (t) => {
  const lookupd = await startLookupd(t)
  const [a, b] = await Promise.all([startNode(t, [lookupd]), startNode(t, [lookupd])])
  const origin = uniq('pay')
  const dead = `${origin}.dead`
  for (const [n, bodies] of [[a, ['a0', 'a1', 'a2']], [b, ['b0', 'b1']]] as const) {
    for (const body of bodies) await publish(n.httpAddress, dead, body)
  }
  const admin = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address] })
  await until(async () => (await api(admin, 'GET', `/api/topics/${dead}`)).json.nodes?.length === 2, 'both nodes registered')
  const peek = await api(admin, 'GET', `/api/peek/${dead}?n=10`)
  t.equal(peek.status, 200)
  const text = (m: any): string => Buffer.from(m.body, 'base64').toString()
  t.same(peek.json.messages.map(text).sort(), ['a0', 'a1', 'a2', 'b0', 'b1'], 'messages of both nodes')
  t.same(peek.json.nodes.map((n: any) => n.depth).sort(), [2, 3], 'per-node depth')
  t.ok(peek.json.messages.every((m: any) => m.node === a.node || m.node === b.node), 'each tagged with its node')
  const one = peek.json.messages.find((m: any) => text(m) === 'b1')
  const byId = await api(admin, 'GET', `/api/peek/${dead}?id=${one.id}`)
  t.same([byId.status, text(byId.json.found), byId.json.found.node], [200, 'b1', b.node], 'found by id on its node')
  t.same([(await api(admin, 'GET', `/api/peek/${dead}?id=0123456789abcdef`)).status], [404], 'unknown id')
  const badN = await api(admin, 'GET', `/api/peek/${dead}?n=0`)
  t.same([badN.status, badN.json.message], [400, 'INVALID_N'], 'nsqd\'s 400 token passed on')
  t.equal((await api(admin, 'GET', `/api/peek/${dead}/nochannel`)).json.nodes.length, 0, 'a channel no node has: empty, not an error')

  const bad: Array<[unknown, string]> = [
    [{ ids: ['xyz'] }, 'INVALID_IDS'],
    [{ ids: 'a' }, 'INVALID_IDS'],
    [{ n: 0 }, 'INVALID_N'],
    [{ n: 1.5 }, 'INVALID_N'],
    [{ to: dead }, 'INVALID_TO'],
    [{ to: 'a!b' }, 'INVALID_TO'],
    [{ channel: 'a!b' }, 'INVALID_CHANNEL'],
    ['[1]', 'INVALID_BODY'],
    ['{', 'INVALID_BODY']
  ]
  for (const [body, token] of bad) {
    const r = await api(admin, 'POST', `/api/replay/${dead}`, body)
    t.same([r.status, r.json.message], [400, token], `${JSON.stringify(body)} → ${token}`)
  }
  t.equal((await api(admin, 'POST', `/api/replay/${uniq('none')}.dead`, {})).status, 404, 'unknown topic')

  const sel = await api(admin, 'POST', `/api/replay/${dead}`, { ids: [one.id] })
  t.same([sel.status, sel.json.moved, sel.json.message], [200, 1, ''], 'one id replayed (the other node moved none)')
  const four = await api(admin, 'POST', `/api/replay/${dead}`, { n: 3 })
  t.equal(four.json.moved, 3, 'n counts across the nodes')
  const left = await api(admin, 'GET', `/api/peek/${dead}`)
  t.equal(left.json.messages.length, 1, 'one left')
  const guarded = await startAdmin(t, { lookupdHttpAddresses: [lookupd.httpAddress.address], adminUsers: ['alice'] })
  t.same([(await api(guarded, 'POST', `/api/replay/${dead}`, {}, { 'X-Forwarded-User': 'bob' })).status], [403], 'a non-admin may not replay')
  t.equal((await api(guarded, 'GET', `/api/peek/${dead}`, undefined, { 'X-Forwarded-User': 'bob' })).status, 200, 'but may peek')
  const all = await api(guarded, 'POST', `/api/replay/${dead}`, {}, { 'X-Forwarded-User': 'alice' })
  t.equal(all.json.moved, 1, 'an admin replays the rest')
  const inOrigin = [...(await (await fetch(`http://${a.httpAddress}/topic/peek?topic=${origin}&encoding=text`)).json() as any).messages, ...(await (await fetch(`http://${b.httpAddress}/topic/peek?topic=${origin}&encoding=text`)).json() as any).messages]
  t.same(inOrigin.map((m: any) => m.body).sort(), ['a0', 'a1', 'a2', 'b0', 'b1'], 'every message in the origin once')
})
