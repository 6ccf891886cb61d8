// nsqd's HTTP API through fastify.inject (routes, status codes, tokens, headers) plus a few checks
// over the real listener (bounded body reading).

import t from 'tap'
import type { Test } from 'tap'
import net from 'node:net'
import fs from 'node:fs'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { startNSQD, uniq, until, hostPort, RawConn } from '../helpers/nsqd.js'
import { buildHttpApp } from '../../nsqd/http/server.js'
import { HTTP_ERRORS } from '../../nsqd/http/errors.js'
import { DRAIN_LIMITS } from '../../nsqd/http/body.js'
import { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'
import { createCapturingLogger } from '../../nsqd/logger.js'
import { makeCerts } from '../helpers/certs.js'

interface TapLike { teardown (fn: () => unknown): void }

const V1 = 'nsq; version=1.0'

async function api (t: TapLike, opts: Partial<Options> = {}): Promise<{ nsqd: NSQD, app: FastifyInstance }> {
  const nsqd = await startNSQD(t, { httpAddress: '', ...opts })
  const app = buildHttpApp(nsqd)
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { nsqd, app }
}

function isError (t: Test, res: LightMyRequestResponse, status: number, token: string, what = ''): void {
  t.equal(res.statusCode, status, `${what} status ${status}`)
  t.equal(res.body, JSON.stringify({ message: token }), `${what} ${token}`)
  t.equal(res.headers['x-nsq-content-type'], V1, `${what} X-NSQ-Content-Type`)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
}

function isOk (t: Test, res: LightMyRequestResponse, body = 'OK'): void {
  t.equal(res.statusCode, 200, `200 (${res.body})`)
  t.equal(res.body, body)
  t.equal(res.headers['x-nsq-content-type'], V1)
}

t.test('/ping and /info', async (t) => {
  const { nsqd, app } = await api(t, { topologyZone: 'z1', topologyRegion: 'r1' })
  let res = await app.inject('/ping')
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'OK')
  t.equal(res.headers['x-nsq-content-type'], undefined, '/ping is plain text')
  nsqd.healthError = 'failed to write to backend x'
  res = await app.inject('/ping')
  t.equal(res.statusCode, 500)
  t.equal(res.body, 'NOK - failed to write to backend x')
  const stats = JSON.parse((await app.inject('/stats?format=json')).body)
  t.equal(stats.health, 'NOK - failed to write to backend x')
  nsqd.healthError = null

  res = await app.inject('/info')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-nsq-content-type'], V1)
  const info = JSON.parse(res.body)
  t.same(Object.keys(info), ['version', 'broadcast_address', 'hostname', 'http_port', 'tcp_port', 'start_time',
    'max_heartbeat_interval', 'max_output_buffer_size', 'max_output_buffer_timeout', 'max_deflate_level', 'topology_zone', 'topology_region'])
  t.equal(info.version, '1.3.0')
  t.equal(info.tcp_port, hostPort(nsqd.tcpAddress).port)
  t.equal(info.max_heartbeat_interval, 60e9, 'nanoseconds')
  t.equal(info.max_output_buffer_timeout, 30e9)
  t.equal(info.start_time, Math.floor(nsqd.startTime / 1000))
  t.equal(info.topology_zone, 'z1')
  t.equal(info.topology_region, 'r1')
})

t.test('JSON answers escape operator strings as Go json.Marshal does: /info, /stats health, the IDENTIFY response', async (t) => {
  const { nsqd, app } = await api(t, { broadcastAddress: 'b<1>&', topologyZone: 'z\u2028', topologyRegion: 'r\b' })
  const info = (await app.inject('/info')).body
  t.ok(info.includes('"broadcast_address":"b\\u003c1\\u003e\\u0026"'), info)
  t.ok(info.includes('"topology_zone":"z\\u2028","topology_region":"r\\u0008"}'), info)
  nsqd.healthError = 'disk <full> & more'
  const stats = (await app.inject('/stats?format=json')).body
  t.ok(stats.includes('"health":"NOK - disk \\u003cfull\\u003e \\u0026 more"'))
  nsqd.healthError = null
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  const ident = await c.identify({})
  t.ok(ident.endsWith('"topology_region":"r\\u0008","topology_zone":"z\\u2028"}'), ident)
})

t.test('/pub: publishes, defers, validates in nsqd order', async (t) => {
  const { nsqd, app } = await api(t, { maxMsgSize: 100, maxReqTimeoutMs: 10_000 })
  const topic = uniq()
  isOk(t, await app.inject({ method: 'POST', url: `/pub?topic=${topic}`, payload: 'hello' }))
  const tp = nsqd.getExistingTopic(topic)!
  t.equal(tp.messageCount, 1)
  t.equal(tp.messageBytes, 5)
  const ch = tp.getChannel('c')
  await until(() => ch.depth === 1, 'backlog moved to the channel')
  isOk(t, await app.inject({ method: 'POST', url: `/pub?topic=${topic}&defer=5000`, payload: 'later' }))
  t.equal(ch.deferred.size, 1, 'defer= puts the message in the deferred queue')
  isOk(t, await app.inject({ method: 'POST', url: `/pub?topic=${topic}&defer=0`, payload: 'now' }))
  t.equal(ch.depth, 2)
  // content types do not matter; the body is taken verbatim
  isOk(t, await app.inject({ method: 'POST', url: `/pub?topic=${topic}`, payload: '{"a":1}', headers: { 'content-type': 'application/json' } }))
  t.equal(ch.memQueue.length, 3)

  const post = async (url: string, payload: string | Buffer = 'x', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url, payload, headers })
  isError(t, await post('/pub', 'x'), 400, 'MISSING_ARG_TOPIC')
  isError(t, await post('/pub?topic=bad!name'), 400, 'INVALID_TOPIC')
  isError(t, await post(`/pub?topic=${'a'.repeat(65)}`), 400, 'INVALID_TOPIC')
  isError(t, await post('/pub?topic='), 400, 'INVALID_TOPIC')
  isError(t, await post('/pub?topic=a%zz'), 400, 'INVALID_REQUEST')
  isError(t, await post('/pub?topic=a;b'), 400, 'INVALID_REQUEST')
  isError(t, await post(`/pub?topic=${topic}`, ''), 400, 'MSG_EMPTY')
  isError(t, await post(`/pub?topic=${topic}`, 'x'.repeat(101)), 413, 'MSG_TOO_BIG')
  isOk(t, await post(`/pub?topic=${topic}`, 'x'.repeat(100)))
  // body checks come before query checks
  isError(t, await post('/pub', 'x'.repeat(101)), 413, 'MSG_TOO_BIG', 'too big without topic')
  isError(t, await post('/pub', ''), 400, 'MSG_EMPTY', 'empty without topic')
  for (const d of ['x', '1.5', '', '-1', '10001', '99999999999999999999', ' 5']) {
    isError(t, await post(`/pub?topic=${topic}&defer=${encodeURIComponent(d)}`), 400, 'INVALID_DEFER', `defer=${d}`)
  }
  isOk(t, await post(`/pub?topic=${topic}&defer=%2B10`), 'OK')
  // Go multiplies the int64 ms into int64 ns, wrapping: 18446744073710 ms is 448384 ns, accepted
  const before = ch.deferred.size + ch.depth
  isOk(t, await post(`/pub?topic=${topic}&defer=18446744073710`), 'OK')
  t.equal(ch.deferred.size + ch.depth, before + 1, 'published, deferred by the wrapped 0.448 ms')
  isError(t, await post(`/pub?topic=${topic}&defer=9223372036855`), 400, 'INVALID_DEFER', 'wraps negative')
  const fresh = uniq()
  isError(t, await post(`/pub?topic=${fresh}&defer=x`), 400, 'INVALID_DEFER')
  t.ok(nsqd.getExistingTopic(fresh), 'the topic was created before defer was checked (as nsqd)')
  // repeated parameters: the first wins
  isOk(t, await post(`/pub?topic=${topic}&topic=bad!`))
  // exiting topic → 503 EXITING
  const dying = nsqd.getTopic(uniq())
  dying.exiting = true
  isError(t, await post(`/pub?topic=${dying.name}`), 503, 'EXITING')
})

t.test('/mpub: text and binary modes', async (t) => {
  const { nsqd, app } = await api(t, { maxMsgSize: 10, maxBodySize: 100 })
  const topic = uniq()
  const post = async (url: string, payload: string | Buffer): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url, payload })
  isOk(t, await post(`/mpub?topic=${topic}`, 'one\ntwo\n\nthree\r\n'))
  const tp = nsqd.getExistingTopic(topic)!
  t.equal(tp.messageCount, 3, 'empty lines are skipped')
  t.same(tp.memQueue.drain().map((m) => m.body.toString()), ['one', 'two', 'three\r'], '\\r is kept')
  isOk(t, await post(`/mpub?topic=${topic}`, ''))
  t.equal(tp.messageCount, 3, 'an empty body publishes nothing')
  isOk(t, await post(`/mpub?topic=${topic}&binary=false`, 'a\nb'))
  t.equal(tp.messageCount, 5)
  isError(t, await post(`/mpub?topic=${topic}`, 'short\n' + 'x'.repeat(11) + '\n'), 413, 'MSG_TOO_BIG')
  isError(t, await post(`/mpub?topic=${topic}`, 'x\n'.repeat(51)), 413, 'BODY_TOO_BIG')
  isOk(t, await post(`/mpub?topic=${topic}`, 'x\n'.repeat(50)))
  t.equal(tp.messageCount, 55)
  isError(t, await post('/mpub', 'a'), 400, 'MISSING_ARG_TOPIC')
  isError(t, await post('/mpub?topic=b@d', 'a'), 400, 'INVALID_TOPIC')

  const bin = (...bodies: Array<string | Buffer>): Buffer => {
    const parts = [Buffer.alloc(4)]
    parts[0]!.writeInt32BE(bodies.length)
    for (const b of bodies) {
      const size = Buffer.alloc(4)
      size.writeInt32BE(Buffer.byteLength(b))
      parts.push(size, Buffer.from(b))
    }
    return Buffer.concat(parts)
  }
  tp.memQueue.clear()
  for (const mode of ['true', '1', 'yes']) {
    isOk(t, await post(`/mpub?topic=${topic}&binary=${mode}`, bin('a\nb', 'c')))
  }
  t.same(tp.memQueue.drain().map((m) => m.body.toString()), ['a\nb', 'c', 'a\nb', 'c', 'a\nb', 'c'])
  const zero = Buffer.alloc(4)
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, zero), 413, 'BAD_BODY', 'count 0')
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, Buffer.alloc(2)), 413, 'BAD_BODY', 'no count')
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, bin('x'.repeat(11))), 413, 'BAD_MESSAGE', 'message too big')
  const truncated = bin('abc', 'def').subarray(0, 12)
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, truncated), 413, 'BAD_MESSAGE', 'truncated')
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, Buffer.alloc(101)), 413, 'BODY_TOO_BIG')
  isError(t, await post(`/mpub?topic=${topic}&binary=true`, Buffer.alloc(0)), 413, 'BODY_TOO_BIG', 'an empty binary body')
  isError(t, await post(`/mpub?topic=${topic}&binary=x`, Buffer.alloc(0)), 413, 'BODY_TOO_BIG', 'an empty binary body (deprecated value)')
  tp.memQueue.clear()
  isOk(t, await post(`/mpub?topic=${topic}&binary=true`, Buffer.concat([bin('a'), Buffer.from('trailing junk')])))
  t.same(tp.memQueue.drain().map((m) => m.body.toString()), ['a'], 'bytes after the last message are ignored')
})

t.test('topic endpoints', async (t) => {
  const { nsqd, app } = await api(t)
  const post = async (url: string): Promise<LightMyRequestResponse> => await app.inject({ method: 'POST', url, payload: 'ignored' })
  const topic = uniq()
  const res = await post(`/topic/create?topic=${topic}`)
  t.equal(res.statusCode, 200)
  t.equal(res.body, '')
  t.equal(res.headers['content-type'], undefined, 'empty success has no Content-Type')
  t.equal(res.headers['x-nsq-content-type'], V1)
  t.equal((await post(`/topic/create?topic=${topic}`)).statusCode, 200, 'idempotent')
  isError(t, await post('/topic/create'), 400, 'MISSING_ARG_TOPIC')
  isError(t, await post('/topic/create?topic=a/b'), 400, 'INVALID_TOPIC')
  isError(t, await post('/topic/create?topic=%'), 400, 'INVALID_REQUEST')

  const tp = nsqd.getExistingTopic(topic)!
  await app.inject({ method: 'POST', url: `/pub?topic=${topic}`, payload: 'm' })
  t.equal(tp.depth, 1)
  t.equal((await post(`/topic/empty?topic=${topic}`)).statusCode, 200)
  t.equal(tp.depth, 0)
  isError(t, await post('/topic/empty?topic=bad!'), 400, 'INVALID_TOPIC')
  isError(t, await post('/topic/empty?topic=nope'), 404, 'TOPIC_NOT_FOUND')

  const changes: string[] = []
  nsqd.onChange((kind, tt) => { if (tt === tp) changes.push(kind) })
  t.equal((await post(`/topic/pause?topic=${topic}`)).statusCode, 200)
  t.equal(tp.paused, true)
  t.equal((await post(`/topic/unpause?topic=${topic}`)).statusCode, 200)
  t.equal(tp.paused, false)
  t.same(changes, ['paused', 'unpaused'], 'pause goes through NSQD.setPaused (metadata)')
  isError(t, await post('/topic/pause?topic=nope'), 404, 'TOPIC_NOT_FOUND')
  isError(t, await post('/topic/pause?topic=bad!'), 404, 'TOPIC_NOT_FOUND', 'pause does not validate the name')
  isError(t, await post('/topic/unpause'), 400, 'MISSING_ARG_TOPIC')

  isError(t, await post('/topic/delete?topic=bad!'), 404, 'TOPIC_NOT_FOUND')
  t.equal((await post(`/topic/delete?topic=${topic}`)).statusCode, 200)
  t.equal(nsqd.getExistingTopic(topic), undefined)
  isError(t, await post(`/topic/delete?topic=${topic}`), 404, 'TOPIC_NOT_FOUND')
  isError(t, await app.inject({ method: 'GET', url: `/topic/create?topic=${topic}` }), 405, 'METHOD_NOT_ALLOWED')

  // an empty value is a value (`topic=`, `topic`), not a missing argument
  for (const q of ['topic=', 'topic', 'topic=&topic=x']) {
    isError(t, await post(`/topic/create?${q}`), 400, 'INVALID_TOPIC', q)
    isError(t, await post(`/topic/empty?${q}`), 400, 'INVALID_TOPIC', q)
    isError(t, await post(`/topic/delete?${q}`), 404, 'TOPIC_NOT_FOUND', q)
    isError(t, await post(`/topic/pause?${q}`), 404, 'TOPIC_NOT_FOUND', q)
    isError(t, await post(`/channel/create?${q}&channel=c`), 400, 'INVALID_ARG_TOPIC', q)
  }
  isError(t, await post(`/channel/create?topic=${topic}&channel=`), 400, 'INVALID_ARG_CHANNEL')
  isError(t, await post('/topic/create?%74opic=b%21'), 400, 'INVALID_TOPIC', 'keys are unescaped too')
  // /stats: an empty topic= or channel= is no filter (nsqd's GetStats treats "" as all)
  const kept = uniq()
  await post(`/topic/create?topic=${kept}`)
  const all = JSON.parse((await app.inject('/stats?format=json&include_mem=false')).body)
  for (const q of ['topic=', 'channel=', 'topic=&channel=', 'topic=&topic=x']) {
    const doc = JSON.parse((await app.inject(`/stats?format=json&include_mem=false&${q}`)).body)
    t.same(doc.topics.map((x: { topic_name: string }) => x.topic_name), all.topics.map((x: { topic_name: string }) => x.topic_name), `${q}: every topic (the first value wins)`)
  }
  t.match((await app.inject('/stats?format=JSON')).body, /^nsqd v/, 'format is case-sensitive: text')
  t.equal((await app.inject('/stats?format=json&format=text')).body[0], '{', 'the first format wins')
})

t.test('channel endpoints', async (t) => {
  const { nsqd, app } = await api(t)
  const post = async (url: string): Promise<LightMyRequestResponse> => await app.inject({ method: 'POST', url })
  const topic = uniq()
  for (const op of ['create', 'delete', 'empty', 'pause', 'unpause']) {
    isError(t, await post(`/channel/${op}`), 400, 'MISSING_ARG_TOPIC', op)
    isError(t, await post(`/channel/${op}?topic=b!`), 400, 'INVALID_ARG_TOPIC', op)
    isError(t, await post(`/channel/${op}?topic=${topic}`), 400, 'MISSING_ARG_CHANNEL', op)
    isError(t, await post(`/channel/${op}?topic=${topic}&channel=c!`), 400, 'INVALID_ARG_CHANNEL', op)
    isError(t, await post(`/channel/${op}?topic=${topic}&channel=c`), 404, 'TOPIC_NOT_FOUND', op)
    isError(t, await post(`/channel/${op}?topic=%zz&channel=c`), 400, 'INVALID_REQUEST', op)
  }
  await post(`/topic/create?topic=${topic}`)
  const tp = nsqd.getExistingTopic(topic)!
  for (const op of ['delete', 'empty', 'pause', 'unpause']) {
    isError(t, await post(`/channel/${op}?topic=${topic}&channel=c`), 404, 'CHANNEL_NOT_FOUND', op)
  }
  t.equal((await post(`/channel/create?topic=${topic}&channel=c`)).statusCode, 200)
  const ch = tp.getExistingChannel('c')!
  t.ok(ch)
  await app.inject({ method: 'POST', url: `/mpub?topic=${topic}`, payload: 'a\nb\nc' })
  await app.inject({ method: 'POST', url: `/pub?topic=${topic}&defer=60000`, payload: 'd' })
  await until(() => ch.depth === 3 && ch.deferred.size === 1, 'channel filled')
  t.equal((await post(`/channel/pause?topic=${topic}&channel=c`)).statusCode, 200)
  t.equal(ch.paused, true)
  t.equal((await post(`/channel/unpause?topic=${topic}&channel=c`)).statusCode, 200)
  t.equal(ch.paused, false)
  t.equal((await post(`/channel/empty?topic=${topic}&channel=c`)).statusCode, 200)
  t.equal(ch.depth, 0)
  t.equal(ch.deferred.size, 0, 'empty drops deferred messages too')
  t.equal((await post(`/channel/delete?topic=${topic}&channel=c`)).statusCode, 200)
  t.equal(tp.getExistingChannel('c'), undefined)
  isError(t, await app.inject({ method: 'GET', url: `/channel/delete?topic=${topic}&channel=c` }), 405, 'METHOD_NOT_ALLOWED')
})

t.test('/config/:opt', async (t) => {
  const { nsqd, app } = await api(t, { e2eProcessingLatencyPercentiles: [0.5, 0.99], nodeId: 7, lookupdTcpAddresses: [] })
  const get = async (name: string): Promise<LightMyRequestResponse> => await app.inject(`/config/${name}`)
  const val = async (name: string): Promise<unknown> => {
    const res = await get(name)
    t.equal(res.statusCode, 200, name)
    t.equal(res.headers['x-nsq-content-type'], V1)
    return JSON.parse(res.body)
  }
  t.equal(await val('msg_timeout'), 60e9, 'durations in ns')
  t.equal(await val('log_level'), 2, 'info = 2')
  t.same(await val('nsqlookupd_tcp_addresses'), [])
  t.equal(await val('id'), 7)
  t.equal(await val('mem_queue_size'), 10000)
  t.equal(await val('tls_required'), 0)
  t.equal(await val('tls_min_version'), 0x0301)
  t.equal(await val('statsd_mem_stats'), true)
  t.same(await val('e2e_processing_latency_percentiles'), [0.5, 0.99])
  t.equal(await val('http_client_connect_timeout'), 2e9)
  isError(t, await get('node_id'), 400, 'INVALID_OPTION', 'flag name is not the config name')
  isError(t, await get('nope'), 400, 'INVALID_OPTION')

  const put = async (name: string, payload: string): Promise<LightMyRequestResponse> => await app.inject({ method: 'PUT', url: `/config/${name}`, payload })
  let res = await put('nsqlookupd_tcp_addresses', '["127.0.0.1:4160","127.0.0.2:4160"]')
  isOk(t, res, '["127.0.0.1:4160","127.0.0.2:4160"]')
  t.same(nsqd.options.lookupdTcpAddresses, ['127.0.0.1:4160', '127.0.0.2:4160'], 'swapped in')
  res = await put('log_level', 'WARN')
  isOk(t, res, '3')
  t.equal(nsqd.options.logLevel, 'warn')
  isError(t, await put('log_level', 'loud'), 400, 'INVALID_VALUE')
  isError(t, await put('nsqlookupd_tcp_addresses', '[1,2]'), 400, 'INVALID_VALUE')
  isError(t, await put('nsqlookupd_tcp_addresses', 'not json'), 400, 'INVALID_VALUE')
  isError(t, await put('log_level', ''), 413, 'INVALID_VALUE')
  isError(t, await put('msg_timeout', '1'), 400, 'INVALID_OPTION')
  isError(t, await put('nope', ''), 413, 'INVALID_VALUE', 'the body is checked before the name')
  // Go's json.Unmarshal into the []string: null is a nil slice (shown as null), a null element
  // keeps the element at that index, anything but strings and null fails
  isOk(t, await put('nsqlookupd_tcp_addresses', '["127.0.0.1:4160","127.0.0.2:4160"]'), '["127.0.0.1:4160","127.0.0.2:4160"]')
  isOk(t, await put('nsqlookupd_tcp_addresses', ' [ "127.0.0.3:4160" , null ] '), '["127.0.0.3:4160","127.0.0.2:4160"]')
  t.same(nsqd.options.lookupdTcpAddresses, ['127.0.0.3:4160', '127.0.0.2:4160'])
  isError(t, await put('nsqlookupd_tcp_addresses', '["a",true]'), 400, 'INVALID_VALUE')
  isError(t, await put('nsqlookupd_tcp_addresses', '{"a":"b"}'), 400, 'INVALID_VALUE')
  isError(t, await put('nsqlookupd_tcp_addresses', '["a"] x'), 400, 'INVALID_VALUE')
  isOk(t, await put('nsqlookupd_tcp_addresses', 'null'), 'null')
  t.same(nsqd.options.lookupdTcpAddresses, [])
  t.equal((await get('nsqlookupd_tcp_addresses')).body, 'null', 'a nil slice stays null')
  isOk(t, await put('log_level', 'info'), '2')
  t.equal((await get('nsqlookupd_tcp_addresses')).body, 'null', 'through other changes too')
  isOk(t, await put('nsqlookupd_tcp_addresses', '[null]'), '[""]') // past the old end a null element is ""

  isOk(t, await put('nsqlookupd_tcp_addresses', '[]'), '[]')
  // the level is lowered as Go's strings.ToLower: U+0130 is i
  isOk(t, await put('log_level', '\u0130NFO'), '2')
  isOk(t, await put('log_level', 'Error'), '4')
  isError(t, await put('log_level', 'info\n'), 400, 'INVALID_VALUE')
  isError(t, await put('log_level', '"info"'), 400, 'INVALID_VALUE')
  isError(t, await app.inject({ method: 'POST', url: '/config/log_level' }), 405, 'METHOD_NOT_ALLOWED')
})

t.test('/config/<opt> over HTTP: strings raw, empty string bare, start-up values (statsd_prefix, broadcast ports)', async (t) => {
  const nsqd = await startNSQD(t, { broadcastAddress: '127.0.0.1', statsdPrefix: 'nsq.%s' })
  const { port } = hostPort(nsqd.httpAddress)
  const get = async (name: string): Promise<{ status: number, type: string | null, v1: string | null, body: string }> => {
    const res = await fetch(`http://${nsqd.httpAddress}/config/${name}`)
    return { status: res.status, type: res.headers.get('content-type'), v1: res.headers.get('x-nsq-content-type'), body: await res.text() }
  }
  const TEXT = 'text/plain; charset=utf-8'
  t.same(await get('http_address'), { status: 200, type: TEXT, v1: V1, body: '127.0.0.1:0' }, 'the flag value, raw text')
  t.same(await get('broadcast_address'), { status: 200, type: TEXT, v1: V1, body: '127.0.0.1' })
  t.same(await get('statsd_prefix'), { status: 200, type: TEXT, v1: V1, body: `nsq.127_0_0_1_${port}.` }, '%s expanded, trailing dot')
  t.same(await get('tls_cert'), { status: 200, type: null, v1: V1, body: '' }, 'empty string: no body, no Content-Type')
  t.same(await get('broadcast_http_port'), { status: 200, type: 'application/json; charset=utf-8', v1: V1, body: String(port) }, '0 shows the bound port')
  t.equal((await get('broadcast_tcp_port')).body, String(hostPort(nsqd.tcpAddress).port))
  t.same(await get('mem_queue_size'), { status: 200, type: 'application/json; charset=utf-8', v1: V1, body: '10000' }, 'numbers stay JSON')
  t.equal((await get('nsqlookupd_tcp_addresses')).body, '[]', 'lists stay JSON')

  const other = await startNSQD(t, { broadcastAddress: 'h.example', broadcastHttpPort: 80, statsdPrefix: 'a.%s.b.%s' })
  const res = await fetch(`http://${other.httpAddress}/config/statsd_prefix`)
  t.equal(await res.text(), 'a.h_example_80.b.h_example_80.', 'every %s, with --broadcast-http-port')
  // the type Go's server sniffs from the raw string
  const odd = await startNSQD(t, { logPrefix: '<html> ', statsdPrefix: '%PDF-%s' })
  const sniffed = async (name: string): Promise<[string | null, string]> => {
    const r = await fetch(`http://${odd.httpAddress}/config/${name}`)
    return [r.headers.get('content-type'), await r.text()]
  }
  t.same(await sniffed('log_prefix'), ['text/html; charset=utf-8', '<html> '])
  t.equal((await fetch(`http://${odd.httpAddress}/ping`)).headers.get('keep-alive'), null, 'no Keep-Alive header (Go sends none; idle connections stay open)')
  t.same((await sniffed('statsd_prefix'))[0], 'application/pdf')
  const none = await startNSQD(t, { statsdPrefix: '' })
  const empty = await fetch(`http://${none.httpAddress}/config/statsd_prefix`)
  t.equal(empty.headers.get('content-type'), null)
  t.equal(await empty.text(), '', 'an empty prefix stays empty')
})

t.test('router: 404, 405 with Allow, OPTIONS, redirects, HEAD, TLS_REQUIRED', async (t) => {
  const { app } = await api(t)
  isError(t, await app.inject('/nope'), 404, 'NOT_FOUND')
  let res = await app.inject({ method: 'POST', url: '/stats' })
  isError(t, res, 405, 'METHOD_NOT_ALLOWED')
  t.equal(res.headers.allow, 'GET, OPTIONS')
  res = await app.inject({ method: 'HEAD', url: '/ping' })
  t.equal(res.statusCode, 405, 'HEAD is not mapped to GET')
  t.equal(res.headers.allow, 'GET, OPTIONS')
  res = await app.inject({ method: 'OPTIONS', url: '/pub' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers.allow, 'OPTIONS, POST')
  res = await app.inject('/stats/?format=json')
  t.equal(res.statusCode, 301)
  t.equal(res.headers.location, '/stats?format=json')
  res = await app.inject({ method: 'POST', url: '/PUB?topic=x' })
  t.equal(res.statusCode, 307)
  t.equal(res.headers.location, '/pub?topic=x')

  const logger = createCapturingLogger()
  const certs = makeCerts(t)
  const tls = new NSQD({ tcpAddress: '127.0.0.1:0', httpAddress: '', tlsRequired: 2, tlsCert: certs.certFile, tlsKey: certs.keyFile, logger })
  const tlsApp = buildHttpApp(tls)
  t.teardown(async () => { await tlsApp.close() })
  for (const url of ['/ping', '/stats', '/nope']) {
    res = await tlsApp.inject(url)
    t.equal(res.statusCode, 403)
    t.equal(res.body, '{"message": "TLS_REQUIRED", "https_port": 0}')
    t.equal(res.headers['x-nsq-content-type'], V1)
  }
})

t.test("router: Go httprouter's rules on exact bytes (per-method lookup, cleaned / slash / case redirects, 405, 404)", async (t) => {
  const { app } = await api(t)
  const HTML = 'text/html; charset=utf-8'
  const redirect = async (method: string, url: string, status: number, location: string, what = `${method} ${url}`): Promise<void> => {
    const res = await app.inject({ method: method as 'GET', url })
    t.equal(res.statusCode, status, `${what}: ${status}`)
    t.equal(res.headers.location, location, `${what}: Location`)
    t.equal(res.headers['x-nsq-content-type'], undefined, `${what}: no X-NSQ-Content-Type`)
    if (method === 'GET') {
      t.equal(res.headers['content-type'], HTML, `${what}: html type`)
      t.equal(res.body, `<a href="${location.replace(/&/g, '&amp;')}">Moved Permanently</a>.\n\n`, `${what}: Go's redirect body`)
    } else {
      t.equal(res.headers['content-type'], method === 'HEAD' ? HTML : undefined, `${what}: type`)
      t.equal(res.body, '', `${what}: no body`)
    }
  }
  await redirect('GET', '//ping', 301, '/ping')
  await redirect('GET', '/Ping', 301, '/ping')
  await redirect('GET', '/ping/', 301, '/ping')
  await redirect('PUT', '/Config/log_level', 307, '/config/log_level')
  await redirect('GET', '/Config/Log_Level', 301, '/config/Log_Level', 'a :param keeps its case')
  await redirect('GET', '/config/msg_timeout/', 301, '/config/msg_timeout')
  await redirect('GET', '/config//', 301, '/config/', 'an empty last :param with a trailing slash (httprouter)')
  await redirect('GET', '/STATS/?format=json&topic=a', 301, '/stats?format=json&topic=a', 'query kept, & escaped in the body')
  await redirect('POST', '/Topic//Create?topic=x', 307, '/topic/create?topic=x')

  const res0 = await app.inject({ method: 'HEAD', url: '/Ping' })
  t.equal(res0.statusCode, 404, 'HEAD /Ping: no HEAD routes, and no method has /Ping')
  t.equal(res0.headers['x-nsq-content-type'], V1)
  for (const [method, url] of [['DELETE', '/Ping'], ['GET', '/Topic/Create'], ['GET', '/config/'], ['GET', '/config'], ['OPTIONS', '/Ping'], ['GET', '/ping/x']] as const) {
    isError(t, await app.inject({ method, url }), 404, 'NOT_FOUND', `${method} ${url}`)
  }
  for (const [method, url, allow] of [['HEAD', '/ping', 'GET, OPTIONS'], ['POST', '/config/x', 'GET, OPTIONS, PUT'], ['DELETE', '/pub', 'OPTIONS, POST'], ['GET', '/topic/create', 'OPTIONS, POST']] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.equal(res.headers.allow, allow, `${method} ${url}: Allow`)
    if (method !== 'HEAD') isError(t, res, 405, 'METHOD_NOT_ALLOWED', `${method} ${url}`)
  }
  const opt = await app.inject({ method: 'OPTIONS', url: '/config/x' })
  t.equal(opt.statusCode, 200)
  t.equal(opt.headers.allow, 'GET, OPTIONS, PUT')
  t.equal(opt.body, '')
  t.equal(opt.headers['content-type'], undefined)

  // the path is percent-decoded before routing, %2F included; a bad escape is Go's bare 400
  let res = await app.inject('/p%69ng')
  t.equal(res.body, 'OK', '/p%69ng is /ping')
  res = await app.inject('/config%2Fmsg_timeout')
  t.equal(res.body, '60000000000', '%2F is a slash')
  res = await app.inject('/config/a%3Fb')
  isError(t, res, 400, 'INVALID_OPTION', 'an escaped ? stays in the :param')
  isError(t, await app.inject(`/config/${'x'.repeat(300)}`), 400, 'INVALID_OPTION', 'a long :param is still routed')
  res = await app.inject('/p%zzing')
  t.equal(res.statusCode, 400)
  t.equal(res.body, '400 Bad Request')
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
})

t.test('router over the real listener: dot segments, *, absolute-form', async (t) => {
  const nsqd = await startNSQD(t)
  const { host, port } = hostPort(nsqd.httpAddress)
  const raw = async (line: string): Promise<string> => await new Promise<string>((resolve) => {
    const sock = net.connect(port, host)
    let got = ''
    sock.on('data', (d) => { got += d.toString('latin1') })
    sock.on('close', () => { resolve(got) })
    sock.write(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`)
  })
  const answer = (res: string): { status: string, headers: string, body: string } => {
    const [head, body] = res.split('\r\n\r\n', 2) as [string, string]
    return { status: head.split('\r\n')[0]!, headers: head.toLowerCase(), body }
  }
  let a = answer(await raw('GET /a/../ping HTTP/1.1'))
  t.equal(a.status, 'HTTP/1.1 301 Moved Permanently')
  t.match(a.headers, /\r\nlocation: \/ping\r\n/)
  t.equal(a.body, '<a href="/ping">Moved Permanently</a>.\n\n')
  a = answer(await raw('GET /a/../ping HTTP/1.1'.replace('GET', 'POST')))
  t.equal(a.status, 'HTTP/1.1 404 Not Found', 'POST has no /ping, and no method has /a/../ping')
  a = answer(await raw('GET /config/../ HTTP/1.1'))
  t.match(a.headers, /\r\nlocation: \/\r\n/, 'trailing-slash fix to /config/.., then cleaned by the redirect')
  a = answer(await raw('GET /Ping? HTTP/1.1'))
  t.match(a.headers, /\r\nlocation: \/ping\?\r\n/, 'a bare ? is kept')
  a = answer(await raw('GET * HTTP/1.1'))
  t.equal(a.status, 'HTTP/1.1 405 Method Not Allowed')
  t.match(a.headers, /\r\nallow: get, options, post, put\r\n/)
  a = answer(await raw('OPTIONS * HTTP/1.1'))
  t.equal(a.status, 'HTTP/1.1 200 OK')
  t.notMatch(a.headers, /allow:/)
  a = answer(await raw('GET http://h:1/Ping?q HTTP/1.1'))
  t.match(a.headers, /\r\nlocation: http:\/\/h:1\/ping\?q\r\n/)
  a = answer(await raw('GET http://h:1/ping HTTP/1.1'))
  t.equal(a.body, 'OK', 'absolute-form request target')
  // Go's reason phrase for 413 (Node's own is "Payload Too Large")
  a = answer(await raw('POST /pub?topic=t HTTP/1.1\r\nContent-Length: 2000000000'))
  t.equal(a.status, 'HTTP/1.1 413 Request Entity Too Large')
  t.equal(a.body, '{"message":"MSG_TOO_BIG"}')
  // a request that cannot be parsed gets Go's plain-text answer, then the connection closes
  t.equal(await raw('GARBAGE'), 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request')
  t.equal(await raw(`GET /ping HTTP/1.1\r\nX: ${'a'.repeat(20000)}`),
    'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large')
  t.equal(answer(await raw('GET /ping HTTP/1.1')).body, 'OK', 'still serving')
  // Go's checks before routing: Transfer-Encoding, protocol version, Host
  const exact = async (request: string): Promise<string> => await new Promise((resolve) => {
    const sock = net.connect(port, host)
    let got = ''
    sock.on('data', (d) => { got += d.toString('latin1') })
    sock.on('close', () => { resolve(got) })
    sock.write(request)
    setTimeout(() => { sock.end() }, 500)
  })
  const TE = 'HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nUnsupported transfer encoding'
  t.equal(await exact('POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'), TE, 'Node\'s parser refuses it: 501 as Go')
  t.equal(await exact('POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'), TE, 'Node would accept it; Go takes only chunked')
  t.match(await exact('POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n1\r\nx\r\n0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nOK$/)
  t.equal(await exact('GET /ping HTTP/2.0\r\nHost: x\r\n\r\n'),
    'HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n505 HTTP Version Not Supported: unsupported protocol version')
  t.equal(await exact('GET /ping HTTP/1.1\r\n\r\n'),
    'HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header')
  t.match(await exact('GET /ping HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nOK$/, 'HTTP/1.0 needs no Host')
  const expect = answer(await exact('GET /ping HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n'))
  t.equal(expect.status, 'HTTP/1.1 417 Expectation Failed')
  t.match(expect.headers, /\r\nconnection: close\r\n/)
  t.match(expect.headers, /\r\ncontent-length: 0(\r\n|$)/)
  t.equal(expect.body, '')

  // framing as Go's server: up to 2048 bytes with Content-Length, longer as one chunk
  const small = answer(await raw('GET /stats?format=json&include_mem=false HTTP/1.1'))
  t.match(small.headers, new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(small.body)}(\\r\\n|$)`))
  t.notMatch(small.headers, /transfer-encoding/)
  for (let i = 0; i < 40; i++) nsqd.getTopic(`framing-topic-${String(i).padStart(3, '0')}`)
  const bigRaw = await raw('GET /stats?format=json&include_mem=false HTTP/1.1')
  const big = { headers: bigRaw.slice(0, bigRaw.indexOf('\r\n\r\n')).toLowerCase(), body: bigRaw.slice(bigRaw.indexOf('\r\n\r\n') + 4) }
  t.match(big.headers, /\r\ntransfer-encoding: chunked(\r\n|$)/)
  t.notMatch(big.headers, /content-length/)
  const m = /^([0-9a-f]+)\r\n/.exec(big.body)
  t.ok(m !== null, 'a chunk size line')
  const size = parseInt(m![1]!, 16)
  t.ok(size > 2048)
  t.equal(big.body.length, m![0].length + size + '\r\n0\r\n\r\n'.length, 'one chunk with the whole body, then the last chunk')
  t.equal(big.body.slice(m![0].length + size), '\r\n0\r\n\r\n')
  t.equal(JSON.parse(big.body.slice(m![0].length, m![0].length + size)).topics.length >= 40, true)
})

t.test('real listener: oversized bodies are refused without being read whole; the daemon keeps serving', async (t) => {
  const nsqd = await startNSQD(t, { maxMsgSize: 1024, maxBodySize: 4096 })
  const { host, port } = hostPort(nsqd.httpAddress)
  const raw = async (head: string, body: Buffer | null, keepSending: boolean): Promise<string> => {
    const sock = net.connect(port, host)
    t.teardown(() => { sock.destroy() })
    let got = ''
    let timer: NodeJS.Timeout | null = null
    const done = new Promise<string>((resolve) => {
      sock.on('data', (d) => { got += d.toString() })
      sock.on('close', () => { if (timer !== null) clearInterval(timer); resolve(got) })
      sock.on('error', () => {})
    })
    sock.write(head)
    if (body !== null) sock.write(body)
    // a client that would keep sending forever: the server must answer and close anyway
    if (keepSending) timer = setInterval(() => { if (sock.writable) sock.write('400\r\n' + 'x'.repeat(1024) + '\r\n') }, 5)
    return await done
  }
  let res = await raw(`POST /pub?topic=big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n`, Buffer.alloc(10), false)
  t.match(res, /^HTTP\/1.1 413/, 'declared length over --max-msg-size: 413 at once')
  t.match(res, /\{"message":"MSG_TOO_BIG"\}/)
  res = await raw(`POST /pub?topic=big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, null, true)
  t.match(res, /^HTTP\/1.1 413/, 'chunked body over --max-msg-size: 413')
  t.match(res, /\{"message":"MSG_TOO_BIG"\}/)
  res = await raw(`POST /mpub?topic=big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`, null, true)
  t.match(res, /\{"message":"BODY_TOO_BIG"\}/, 'chunked mpub body over --max-body-size')
  t.equal(nsqd.getExistingTopic('big')?.messageCount ?? 0, 0, 'nothing published')
  const ping = await fetch(`http://${nsqd.httpAddress}/ping`)
  t.equal(await ping.text(), 'OK', 'still serving')
  const pub = await fetch(`http://${nsqd.httpAddress}/pub?topic=big`, { method: 'POST', body: 'fits' })
  t.equal(await pub.text(), 'OK')
})

t.test('real listener: a 10 MB upload refused with 413 is drained, so fetch reads the answer every time (30 uploads)', async (t) => {
  const nsqd = await startNSQD(t, { maxMsgSize: 1024 * 1024, maxBodySize: 5 * 1024 * 1024 })
  const body = Buffer.alloc(10 * 1024 * 1024, 0x61)
  const answers: string[] = []
  for (let i = 0; i < 30; i++) {
    const pub = i % 2 === 0
    // half the uploads declare Content-Length (refused before reading), half are chunked (refused mid-body)
    const chunked = i % 4 >= 2
    const init = chunked
      ? { method: 'POST', duplex: 'half', body: new ReadableStream({ start (c) { for (let k = 0; k < 10; k++) c.enqueue(body.subarray(k << 20, (k + 1) << 20)); c.close() } }) }
      : { method: 'POST', body }
    try {
      const res = await fetch(`http://${nsqd.httpAddress}/${pub ? 'pub' : 'mpub'}?topic=big`, init as RequestInit)
      answers.push(`${res.status} ${res.headers.get('content-type') ?? ''} ${await res.text()}`)
    } catch (err) {
      answers.push(`${(err as Error).message}: ${String(((err as Error).cause as NodeJS.ErrnoException | undefined)?.code)}`)
    }
    t.equal(answers[i], `413 application/json; charset=utf-8 {"message":"${pub ? 'MSG_TOO_BIG' : 'BODY_TOO_BIG'}"}`, `upload ${i} (${pub ? '/pub' : '/mpub'}, ${chunked ? 'chunked' : 'Content-Length'})`)
  }
  t.equal(answers.filter((a) => a.startsWith('413')).length, 30, 'every upload read its 413')
  t.equal(nsqd.getExistingTopic('big')?.messageCount ?? 0, 0, 'nothing published')
})

t.test('real listener: a client that never stops sending after the 413 is cut off (byte bound, time bound)', async (t) => {
  const nsqd = await startNSQD(t, { maxMsgSize: 1024 })
  const { host, port } = hostPort(nsqd.httpAddress)
  // a client that ignores the server's FIN and keeps writing chunks
  const endless = async (chunkSize: number, everyMs: number): Promise<{ got: string, sent: number, ms: number }> => {
    const sock = net.connect({ port, host, allowHalfOpen: true })
    t.teardown(() => { sock.destroy() })
    const start = Date.now()
    let got = ''
    let sent = 0
    const chunk = Buffer.from(chunkSize.toString(16) + '\r\n' + 'x'.repeat(chunkSize) + '\r\n')
    const timer = setInterval(() => {
      for (let k = 0; k < 8 && !sock.destroyed && sock.writableLength < 1 << 20; k++) {
        sock.write(chunk)
        sent += chunkSize
      }
    }, everyMs)
    return await new Promise((resolve) => {
      sock.on('data', (d) => { got += d.toString() })
      sock.on('error', () => {})
      sock.on('close', () => { clearInterval(timer); resolve({ got, sent, ms: Date.now() - start }) })
      sock.write('POST /pub?topic=big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    })
  }
  const fast = await endless(64 * 1024, 1)
  t.match(fast.got, /^HTTP\/1.1 413 [^]*\{"message":"MSG_TOO_BIG"\}$/, 'fast sender read the 413')
  t.ok(fast.sent >= DRAIN_LIMITS.bytes, `cut off after the byte bound (${fast.sent} bytes sent in ${fast.ms} ms)`)
  t.ok(fast.sent < DRAIN_LIMITS.bytes + 64 * 1024 * 1024, 'and not much later')

  const saved = DRAIN_LIMITS.ms
  DRAIN_LIMITS.ms = 300
  t.teardown(() => { DRAIN_LIMITS.ms = saved })
  const slow = await endless(1024, 20)
  t.match(slow.got, /\{"message":"MSG_TOO_BIG"\}$/, 'slow sender read the 413')
  t.ok(slow.ms >= 300 && slow.ms < 3000, `cut off after the time bound (${slow.ms} ms)`)
  const ping = await fetch(`http://${nsqd.httpAddress}/ping`)
  t.equal(await ping.text(), 'OK', 'still serving')
})

t.test('error catalogue: every token documented, every use in the code listed with its status', async (t) => {
  const dir = new URL('../../nsqd/http/', import.meta.url)
  const doc = fs.readFileSync(new URL('README.md', dir), 'utf8')
  for (const token of Object.keys(HTTP_ERRORS)) t.ok(doc.includes(`\`${token}\``), `${token} documented`)
  const used = new Set<string>()
  // the browser gateway (nsqd/gateway) answers with catalogue tokens too
  const gwDir = new URL('../gateway/', dir)
  const files = [...fs.readdirSync(dir).filter((n) => n.endsWith('.ts')).map((n) => new URL(n, dir)), ...fs.readdirSync(gwDir).filter((n) => n.endsWith('.ts')).map((n) => new URL(n, gwDir))]
  for (const u of files) {
    const f = u.pathname.slice(u.pathname.lastIndexOf('/') + 1)
    const src = fs.readFileSync(u, 'utf8')
    for (const m of src.matchAll(/new HttpApiError\((\d+), '([A-Z_]+)'/g)) {
      used.add(m[2]!)
      t.ok((HTTP_ERRORS as Record<string, readonly number[]>)[m[2]!]?.includes(Number(m[1])), `${f}: ${m[1]} ${m[2]} is in the catalogue`)
    }
    for (const m of src.matchAll(/sendError\(reply, (\d+), '([A-Z_]+)'\)/g)) used.add(m[2]!)
    for (const m of src.matchAll(/"message": "([A-Z_]+)"/g)) used.add(m[1]!)
  }
  used.add('BAD_BODY').add('BAD_MESSAGE') // from the TCP path's ProtocolError codes (E_ stripped)
  t.same([...used].filter((x) => !(x in HTTP_ERRORS)), [], 'no token outside the catalogue')
  t.same(Object.keys(HTTP_ERRORS).filter((x) => !used.has(x)), [], 'no unused token in the catalogue')
})
