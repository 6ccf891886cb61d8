// /stats, /metrics and statsd against an in-process nsqd over real sockets: HTTP publishes consumed
// by nsqjs over TCP, exact counters after publishes, FINs, REQs and timeouts, /metrics parsed as
// Prometheus text and compared with /stats, statsd datagrams received on a local UDP socket.

import t from 'tap'
import dgram from 'node:dgram'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { startNSQD, RawConn, uniq, until, hostPort } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import { Registry, type Metric } from 'prom-client'
import { MetricsFormatter } from '../../nsqd/http/metrics.js'
import { getStats, type StatsSnapshot, type TopicStats, type ChannelStats } from '../../nsqd/stats.js'
import { VERSION } from '../../nsqd/options.js'

async function http (nsqd: NSQD, method: string, path: string, body?: string | Buffer): Promise<{ status: number, text: string, type: string | null }> {
  const res = await fetch(`http://${nsqd.httpAddress}${path}`, { method, body })
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') }
}

async function stats (nsqd: NSQD, query = ''): Promise<any> {
  const res = await http(nsqd, 'GET', `/stats?format=json${query}`)
  if (res.status !== 200) throw new Error(`/stats answered ${res.status}`)
  return JSON.parse(res.text)
}

/** A strict parser for the Prometheus text format (0.0.4): samples keyed `name{a="x",b="y"}`. */
function parsePrometheus (text: string): { samples: Map<string, number>, types: Map<string, string> } {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`)
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    const ty = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line)
    if (ty !== null) { types.set(ty[1]!, ty[2]!); continue }
    if (line.startsWith('#')) throw new Error(`bad comment line: ${line}`)
    const m = sampleRe.exec(line)
    if (m === null) throw new Error(`bad sample line: ${line}`)
    const labels: string[] = []
    if (m[2] !== undefined && m[2] !== '') {
      labelRe.lastIndex = 0
      while (labelRe.lastIndex < m[2].length) {
        const l = labelRe.exec(m[2])
        if (l === null) throw new Error(`bad labels: ${line}`)
        labels.push(`${l[1]}="${l[2]}"`)
      }
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value: ${line}`)
    samples.set(`${m[1]}{${labels.sort().join(',')}}`, value)
  }
  return { samples, types }
}

/**
 * The nsq_* families as /metrics printed them through prom-client's Registry before issue 14 (the
 * reference the hand-written formatter must match byte for byte): metric objects whose get()
 * returns the snapshot's rows, formatted by Registry.metrics().
 */
async function promClientText (nsqd: NSQD, snap: StatsSnapshot): Promise<string> {
  type Row = { labels: Record<string, string>, value: number }
  const registry = new Registry()
  const add = (name: string, help: string, type: string, rows: () => Row[]): void => {
    registry.registerMetric({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, values: rows(), aggregator: 'sum' }) } as unknown as Metric<string>)
  }
  const topics = snap.topics ?? []
  const topic = (type: string, name: string, help: string, pick: (t: TopicStats) => number): void =>
    add(name, help, type, () => topics.map((t) => ({ labels: { topic: t.topic_name }, value: pick(t) })))
  const channelRows = (pick: (c: ChannelStats) => number): Row[] =>
    topics.flatMap((t) => t.channels.map((c) => ({ labels: { topic: t.topic_name, channel: c.channel_name }, value: pick(c) })))
  const channel = (type: string, name: string, help: string, pick: (c: ChannelStats) => number): void => add(name, help, type, () => channelRows(pick))
  topic('gauge', 'nsq_topic_depth', 'Messages queued at the topic (memory + disk)', (t) => t.depth)
  topic('gauge', 'nsq_topic_backend_depth', 'Messages queued at the topic on disk', (t) => t.backend_depth)
  topic('counter', 'nsq_topic_messages_total', 'Messages published to the topic since start', (t) => t.message_count)
  topic('counter', 'nsq_topic_message_bytes_total', 'Message body bytes published to the topic since start', (t) => t.message_bytes)
  topic('gauge', 'nsq_topic_paused', '1 when the topic is paused', (t) => t.paused ? 1 : 0)
  topic('gauge', 'nsq_topic_channels', 'Channels of the topic', (t) => t.channels.length)
  topic('gauge', 'nsq_topic_queue_bytes', 'Message body bytes queued at the topic (memory + disk); 0 where no bounded-queue cap applies', (t) => t.queue_bytes ?? 0)
  topic('gauge', 'nsq_topic_max_queue_messages', 'Bounded-queue cap of the topic\'s own backlog in messages (0 = none)', (t) => t.max_queue_messages ?? 0)
  topic('gauge', 'nsq_topic_max_queue_bytes', 'Bounded-queue cap of the topic\'s own backlog in body bytes (0 = none)', (t) => t.max_queue_bytes ?? 0)
  topic('counter', 'nsq_topic_full_drops_total', 'Oldest messages dropped from the topic\'s full backlog (drop-oldest) since start', (t) => t.full_drop_count ?? 0)
  topic('counter', 'nsq_topic_full_refused_total', 'Messages refused because the topic or one of its channels was full (refuse) since start', (t) => t.full_refused_count ?? 0)
  channel('gauge', 'nsq_channel_depth', 'Messages queued in the channel (memory + disk), not in flight or deferred', (c) => c.depth)
  channel('gauge', 'nsq_channel_backend_depth', 'Messages queued in the channel on disk', (c) => c.backend_depth)
  channel('gauge', 'nsq_channel_in_flight', 'Messages delivered and awaiting FIN, REQ or timeout', (c) => c.in_flight_count)
  channel('gauge', 'nsq_channel_deferred', 'Messages waiting for a REQ delay or a publish deferral', (c) => c.deferred_count)
  channel('counter', 'nsq_channel_messages_total', 'Messages the channel received from its topic since start', (c) => c.message_count)
  channel('counter', 'nsq_channel_requeues_total', 'Explicit REQs since start', (c) => c.requeue_count)
  channel('counter', 'nsq_channel_timeouts_total', 'In-flight timeouts since start', (c) => c.timeout_count)
  channel('counter', 'nsq_channel_dead_letters_total', 'Messages moved to the dead-letter topic since start (max attempts or TTL)', (c) => c.dead_letter_count ?? 0)
  channel('counter', 'nsq_channel_expired_total', 'Messages not delivered because they outlived their TTL, since start', (c) => c.expired_count ?? 0)
  channel('gauge', 'nsq_channel_queue_bytes', 'Message body bytes queued in the channel (memory + disk); 0 where no bounded-queue cap applies', (c) => c.queue_bytes ?? 0)
  channel('gauge', 'nsq_channel_max_queue_messages', 'Bounded-queue cap of the channel in messages (0 = none)', (c) => c.max_queue_messages ?? 0)
  channel('gauge', 'nsq_channel_max_queue_bytes', 'Bounded-queue cap of the channel in body bytes (0 = none)', (c) => c.max_queue_bytes ?? 0)
  channel('counter', 'nsq_channel_full_drops_total', 'Oldest messages dropped from the full channel (drop-oldest, or an ephemeral channel at its cap) since start', (c) => c.full_drop_count ?? 0)
  channel('gauge', 'nsq_channel_clients', 'Connected subscribers', (c) => c.client_count)
  channel('gauge', 'nsq_channel_paused', '1 when the channel is paused', (c) => c.paused ? 1 : 0)
  if (nsqd.e2e.enabled) {
    add('nsq_topic_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window, merged over the topic\'s channels', 'gauge', () =>
      topics.flatMap((t) => (t.e2e_processing_latency.percentiles ?? []).map((p) => ({ labels: { topic: t.topic_name, quantile: String(p.quantile) }, value: p.value / 1e9 }))))
    add('nsq_channel_e2e_processing_latency_seconds', 'End-to-end (publish to FIN) latency quantiles over the rolling window', 'gauge', () =>
      topics.flatMap((t) => t.channels.flatMap((c) => (c.e2e_processing_latency.percentiles ?? []).map((p) => ({ labels: { topic: t.topic_name, channel: c.channel_name, quantile: String(p.quantile) }, value: p.value / 1e9 })))))
    channel('gauge', 'nsq_channel_e2e_processing_latency_samples', 'FINs in the current latency window', (c) => c.e2e_processing_latency.count)
  }
  add('nsq_info', 'Always 1; the labels describe the node', 'gauge', () => [{ labels: { version: VERSION, broadcast_address: nsqd.options.broadcastAddress }, value: 1 }])
  const one = (name: string, help: string, value: number): void => add(name, help, 'gauge', () => [{ labels: {}, value }])
  one('nsq_healthy', '1 when the node is healthy (last disk write succeeded)', nsqd.healthError === null ? 1 : 0)
  one('nsq_start_time_seconds', 'Start time of the node (Unix seconds)', Math.floor(nsqd.startTime / 1000))
  one('nsq_topics', 'Topics on the node', nsqd.topics.size)
  one('nsq_clients', 'Connected TCP clients', nsqd.clients.size)
  one('nsq_producers', 'TCP connections that have published', [...nsqd.clients.values()].filter((p) => p.client.pubCounts.size > 0).length)
  return await registry.metrics()
}

t.test('messages published over HTTP are consumed by an nsqjs Reader over TCP', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const want = new Set<string>()
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'single')).text, 'OK')
  want.add('single')
  const lines = Array.from({ length: 100 }, (_, i) => `text-${i}`)
  lines.forEach((l) => want.add(l))
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}`, lines.join('\n') + '\n')).text, 'OK')
  const bin = Array.from({ length: 50 }, (_, i) => Buffer.from(`bin-${i}\nwith newline`))
  bin.forEach((b) => want.add(b.toString()))
  const parts = [Buffer.alloc(4)]
  parts[0]!.writeInt32BE(bin.length)
  for (const b of bin) { const s = Buffer.alloc(4); s.writeInt32BE(b.length); parts.push(s, b) }
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}&binary=true`, Buffer.concat(parts))).text, 'OK')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}&defer=50`, 'deferred')).text, 'OK')
  want.add('deferred')

  const seen = new Set<string>()
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [nsqd.tcpAddress], maxInFlight: 50 })
  r.on('error', () => {})
  t.teardown(() => { r.close() })
  await new Promise<void>((resolve) => {
    r.on('message', (m: Nsq.Message) => {
      seen.add(m.body.toString())
      m.finish()
      if (seen.size === want.size) resolve()
    })
    r.connect()
  })
  t.same([...seen].sort(), [...want].sort(), 'every message arrived once')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.inFlight.size === 0, 'all FINed')
  const s = await stats(nsqd, `&topic=${topic}`)
  t.equal(s.topics[0].message_count, want.size)
  t.equal(s.topics[0].channels[0].message_count, want.size)
  t.equal(s.topics[0].channels[0].depth, 0)
})

t.test('/stats numbers follow publishes, FINs, REQs and timeouts exactly; /metrics agrees', async (t) => {
  const nsqd = await startNSQD(t, { msgTimeoutMs: 400, queueScanIntervalMs: 10, e2eProcessingLatencyPercentiles: [0.5, 1.0] })
  const topic = uniq()
  t.equal((await http(nsqd, 'POST', `/topic/create?topic=${topic}`)).status, 200)
  t.equal((await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=ch`)).status, 200)
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}`, 'm0\nm1\nm2\nm3\nm4')).text, 'OK')

  let s = await stats(nsqd)
  t.same(Object.keys(s), ['version', 'health', 'start_time', 'topics', 'memory', 'producers'])
  t.equal(s.health, 'OK')
  t.equal(s.producers, null)
  const tp = () => s.topics.find((x: any) => x.topic_name === topic)
  const chs = () => tp().channels[0]
  t.same(Object.keys(tp()), ['topic_name', 'channels', 'depth', 'backend_depth', 'message_count', 'message_bytes', 'paused', 'e2e_processing_latency'])
  t.match(tp(), { depth: 0, backend_depth: 0, message_count: 5, message_bytes: 10, paused: false })
  t.same(Object.keys(chs()), ['channel_name', 'depth', 'backend_depth', 'in_flight_count', 'deferred_count', 'message_count',
    'requeue_count', 'timeout_count', 'client_count', 'clients', 'paused', 'e2e_processing_latency'])
  t.match(chs(), { channel_name: 'ch', depth: 5, in_flight_count: 0, deferred_count: 0, message_count: 5, requeue_count: 0, timeout_count: 0, client_count: 0, clients: [] })
  t.same(chs().e2e_processing_latency, { count: 0, percentiles: [{ quantile: 1, value: 0 }, { quantile: 0.5, value: 0 }] }, 'every quantile from creation on, sorted descending')

  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify({ client_id: 'stats-test', hostname: 'worker.local', user_agent: 'stats-test/1.0' })
  await c.subscribe(topic, 'ch', 5)
  const msgs = []
  for (let i = 0; i < 5; i++) msgs.push(await c.message())
  s = await stats(nsqd)
  t.match(chs(), { depth: 0, in_flight_count: 5, message_count: 5, client_count: 1 })
  const client = chs().clients[0]
  t.same(Object.keys(client), ['client_id', 'hostname', 'version', 'remote_address', 'state', 'ready_count', 'in_flight_count',
    'message_count', 'finish_count', 'requeue_count', 'connect_ts', 'sample_rate', 'deflate', 'snappy', 'user_agent',
    'topology_zone', 'topology_region', 'tls', 'tls_cipher_suite', 'tls_version', 'tls_negotiated_protocol', 'tls_negotiated_protocol_is_mutual'])
  t.match(client, { client_id: 'stats-test', hostname: 'worker.local', version: 'V2', state: 3, ready_count: 5, in_flight_count: 5, message_count: 5, finish_count: 0, requeue_count: 0, user_agent: 'stats-test/1.0' })
  t.equal(client.remote_address, `127.0.0.1:${c.socket.localPort}`)

  c.write(cmd.rdy(0))
  c.write(cmd.fin(msgs[0]!.id))
  c.write(cmd.fin(msgs[1]!.id))
  c.write(cmd.req(msgs[2]!.id, 0))
  c.write(cmd.req(msgs[3]!.id, 60_000))
  await until(async () => { s = await stats(nsqd); return chs().requeue_count === 2 && chs().clients[0].finish_count === 2 }, 'FINs and REQs counted')
  t.match(chs(), { depth: 1, in_flight_count: 1, deferred_count: 1, message_count: 5, requeue_count: 2, timeout_count: 0 })
  t.match(chs().clients[0], { ready_count: 0, in_flight_count: 1, message_count: 5, finish_count: 2, requeue_count: 2 })
  t.equal(chs().e2e_processing_latency.count, 2, 'one latency sample per FIN')

  await until(async () => { s = await stats(nsqd); return chs().timeout_count === 1 }, 'the last message timed out', 5000, 20)
  t.match(chs(), { depth: 2, in_flight_count: 0, deferred_count: 1, requeue_count: 2, timeout_count: 1, message_count: 5 })
  t.match(chs().clients[0], { in_flight_count: 0, finish_count: 2, requeue_count: 2 })
  const e2e = chs().e2e_processing_latency
  t.equal(e2e.count, 2)
  t.ok(e2e.percentiles[0].value > 0 && e2e.percentiles[0].value >= e2e.percentiles[1].value, 'max >= median > 0')
  t.ok(e2e.percentiles[0].value < 60e9, 'latency in nanoseconds')
  t.same(tp().e2e_processing_latency, e2e, 'a topic with one channel reports that channel')

  // a TCP publisher shows up under producers with its pub counts
  const p = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await p.publish(topic, 'from-tcp'), 'OK')
  s = await stats(nsqd)
  t.equal(s.producers.length, 1)
  t.same(s.producers[0].pub_counts, [{ topic, count: 1 }])
  t.equal(tp().message_count, 6)
  t.equal(tp().message_bytes, 18)

  // filters
  const other = uniq()
  await http(nsqd, 'POST', `/pub?topic=${other}`, 'x')
  let f = await stats(nsqd, `&topic=${topic}&include_clients=false&include_mem=0`)
  t.same(Object.keys(f), ['version', 'health', 'start_time', 'topics', 'producers'])
  t.equal(f.topics.length, 1)
  t.equal(f.topics[0].channels[0].clients, null)
  t.equal(f.topics[0].channels[0].client_count, 1)
  t.equal(f.producers, null)
  f = await stats(nsqd, '&topic=missing')
  t.equal(f.topics, null)
  f = await stats(nsqd, '&channel=ch')
  t.same(f.topics.map((x: any) => x.topic_name), [topic], 'topics without the channel are left out')
  f = await stats(nsqd)
  t.same(f.topics.map((x: any) => x.topic_name), [topic, other].sort(), 'sorted by name')

  const text = await http(nsqd, 'GET', `/stats?topic=${topic}`)
  t.equal(text.type, 'text/plain; charset=utf-8')
  t.match(text.text, /^nsqd v1\.3\.0 /)
  t.match(text.text, /\nHealth: OK\n/)
  t.match(text.text, new RegExp(`\\n   \\[${topic}\\s*\\] depth: 0 +be-depth: 0 +msgs: 6 +e2e%: \\S+, \\S+\\n`))
  t.match(text.text, /\n {6}\[ch {23}\] depth: 3 +be-depth: 0 +inflt: 0 +def: 1 +re-q: 2 +timeout: 1 +msgs: 6 /)
  t.match(text.text, /\n {8}\[V2 worker\.local:\d+ stats-test\/1\.0\] state: 3 inflt: 0 +rdy: 0 +fin: 2 +re-q: 2 +msgs: 5 /)
  t.match(text.text, /\nProducers:\n {3}\[V2 127\.0\.0\.1:\d+ +\] msgs: 1 +topics: \S+=1 connected: \d+s\n/)
  t.match(text.text, /\nuptime \d+(\.\d+)?(ms|s)\n/)
  t.equal(text.text.length, Buffer.byteLength(text.text), 'ASCII only here')

  // /metrics: parsed as Prometheus text, the same numbers as /stats
  const metrics = await http(nsqd, 'GET', '/metrics')
  t.equal(metrics.status, 200)
  t.match(metrics.type, /^text\/plain; version=0\.0\.4/)
  const { samples, types } = parsePrometheus(metrics.text)
  const key = (name: string, labels: Record<string, string>): string =>
    `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`
  s = await stats(nsqd)
  t.equal(types.get('nsq_topic_messages_total'), 'counter')
  t.equal(types.get('nsq_channel_timeouts_total'), 'counter')
  t.equal(types.get('nsq_channel_depth'), 'gauge')
  for (const top of s.topics) {
    const tl = `topic="${top.topic_name}"`
    t.equal(samples.get(`nsq_topic_depth{${tl}}`), top.depth)
    t.equal(samples.get(`nsq_topic_backend_depth{${tl}}`), top.backend_depth)
    t.equal(samples.get(`nsq_topic_messages_total{${tl}}`), top.message_count)
    t.equal(samples.get(`nsq_topic_message_bytes_total{${tl}}`), top.message_bytes)
    t.equal(samples.get(`nsq_topic_paused{${tl}}`), top.paused ? 1 : 0)
    for (const ch of top.channels) {
      const cl = `channel="${ch.channel_name}",${tl}`
      t.equal(samples.get(`nsq_channel_depth{${cl}}`), ch.depth, 'depth')
      t.equal(samples.get(`nsq_channel_backend_depth{${cl}}`), ch.backend_depth)
      t.equal(samples.get(`nsq_channel_in_flight{${cl}}`), ch.in_flight_count)
      t.equal(samples.get(`nsq_channel_deferred{${cl}}`), ch.deferred_count, 'deferred')
      t.equal(samples.get(`nsq_channel_messages_total{${cl}}`), ch.message_count)
      t.equal(samples.get(`nsq_channel_requeues_total{${cl}}`), ch.requeue_count, 'requeues')
      t.equal(samples.get(`nsq_channel_timeouts_total{${cl}}`), ch.timeout_count, 'timeouts')
      t.equal(samples.get(`nsq_channel_clients{${cl}}`), ch.client_count)
      t.equal(samples.get(`nsq_channel_e2e_processing_latency_samples{${cl}}`), ch.e2e_processing_latency.count)
      for (const pc of ch.e2e_processing_latency.percentiles) {
        t.equal(samples.get(key('nsq_channel_e2e_processing_latency_seconds', { topic: top.topic_name, channel: ch.channel_name, quantile: String(pc.quantile) })), pc.value / 1e9, `q${pc.quantile}`)
      }
    }
    for (const pc of top.e2e_processing_latency.percentiles ?? []) {
      t.equal(samples.get(key('nsq_topic_e2e_processing_latency_seconds', { topic: top.topic_name, quantile: String(pc.quantile) })), pc.value / 1e9)
    }
  }
  t.equal(samples.get('nsq_healthy{}'), 1)
  t.equal(samples.get('nsq_producers{}'), 1)
  t.equal(samples.get('nsq_topics{}'), s.topics.length)
  t.equal(samples.get('nsq_start_time_seconds{}'), s.start_time)
  t.ok([...samples.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total')), 'default process metrics')
})

t.test('/metrics: the nsq_* text is byte for byte what prom-client printed for the same snapshot, as topics and values change', async (t) => {
  // a broadcast address with the characters the text format escapes in a label value
  const nsqd = await startNSQD(t, { msgTimeoutMs: 60_000, e2eProcessingLatencyPercentiles: [0.99, 0.5], broadcastAddress: 'node "a"\\b\nc' })
  const formatter = new MetricsFormatter()
  const compare = async (what: string): Promise<void> => {
    const snap = getStats(nsqd, { includeClients: false })
    const ours = Buffer.concat(formatter.format(nsqd, snap)).toString() + '\n'
    const theirs = await promClientText(nsqd, snap)
    t.equal(ours, theirs, what)
  }
  const [a, b, c] = [uniq(), uniq(), uniq()]
  await compare('no topics')
  for (const topic of [a, b]) {
    t.equal((await http(nsqd, 'POST', `/topic/create?topic=${topic}`)).status, 200)
    t.equal((await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=x`)).status, 200)
    t.equal((await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=y%23ephemeral`)).status, 200)
  }
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${a}`, 'm0\nm1\nm2\nm3')).text, 'OK')
  await compare('two topics, two channels each')
  await compare('the same values again (cached lines)')

  // consume and FIN two messages on a/x (latency quantiles appear), REQ one with a delay, pause b and a/y
  const conn = await RawConn.connect(t, nsqd.tcpAddress)
  await conn.subscribe(a, 'x', 3)
  const msgs = [await conn.message(), await conn.message(), await conn.message()]
  conn.write(cmd.rdy(0))
  conn.write(cmd.fin(msgs[0]!.id))
  conn.write(cmd.fin(msgs[1]!.id))
  conn.write(cmd.req(msgs[2]!.id, 60_000))
  const ax = (): ChannelStats => getStats(nsqd, { topic: a, includeClients: false }).topics![0]!.channels.find((c) => c.channel_name === 'x')!
  await until(() => ax().in_flight_count === 0 && ax().deferred_count === 1, `FINs and REQ applied`)
  t.equal((await http(nsqd, 'POST', `/topic/pause?topic=${b}`)).status, 200)
  t.equal((await http(nsqd, 'POST', `/channel/pause?topic=${a}&channel=y%23ephemeral`)).status, 200)
  const snap = getStats(nsqd, { includeClients: false })
  t.ok((snap.topics!.find((x) => x.topic_name === a)!.channels[0]!.e2e_processing_latency.percentiles ?? []).some((p) => p.value > 0), 'latency recorded')
  await compare('after FINs, a REQ and pauses')

  // a topic deleted, a channel deleted, a new topic between them: the cached series follow
  t.equal((await http(nsqd, 'POST', `/topic/delete?topic=${b}`)).status, 200)
  t.equal((await http(nsqd, 'POST', `/channel/delete?topic=${a}&channel=x`)).status, 200)
  t.equal((await http(nsqd, 'POST', `/pub?topic=${c}`, 'late')).text, 'OK')
  await compare('after deletes and a new topic')

  // over HTTP: the nsq_* part of the body is that text, prom-client's default metrics follow
  const res = await http(nsqd, 'GET', '/metrics')
  t.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8')
  const cut = res.text.indexOf('\n\n# HELP process_')
  t.ok(cut > 0, 'default metrics after the nsq_* families')
  t.equal(res.text.slice(0, cut + 1), await promClientText(nsqd, getStats(nsqd, { includeClients: false })))
  t.ok(res.text.endsWith('\n') && !res.text.endsWith('\n\n'), 'one trailing newline')
  t.match(res.text, /\nnsq_info\{version="[^"]+",broadcast_address="node \\"a\\"\\\\b\\nc"\} 1\n/, 'label value escaped')
})

t.test('/stats producers with topic= and channel= filters: every publisher listed, pub_counts narrowed (nsqd-http.md §6)', async (t) => {
  const nsqd = await startNSQD(t)
  const a = uniq()
  const b = uniq()
  const both = await RawConn.connect(t, nsqd.tcpAddress)
  await both.identify({ client_id: 'both' })
  t.equal(await both.publish(a, 'x'), 'OK')
  t.equal(await both.publish(b, 'x'), 'OK')
  t.equal(await both.publish(b, 'x'), 'OK')
  const onlyB = await RawConn.connect(t, nsqd.tcpAddress)
  await onlyB.identify({ client_id: 'onlyB' })
  t.equal(await onlyB.publish(b, 'y'), 'OK')
  const consumer = await RawConn.connect(t, nsqd.tcpAddress)
  await consumer.identify({ client_id: 'consumer' })
  await consumer.subscribe(a, 'ch')

  const byId = (doc: any): Record<string, any> => Object.fromEntries((doc.producers ?? []).map((p: any) => [p.client_id, p]))
  let p = byId(await stats(nsqd))
  t.same(Object.keys(p).sort(), ['both', 'onlyB'], 'a consumer that never published is no producer')
  t.same(p.both.pub_counts.sort((x: any, y: any) => x.topic < y.topic ? -1 : 1), [{ topic: a, count: 1 }, { topic: b, count: 2 }].sort((x, y) => x.topic < y.topic ? -1 : 1))

  let doc = await stats(nsqd, `&topic=${a}`)
  p = byId(doc)
  t.same(Object.keys(p).sort(), ['both', 'onlyB'], 'the topic filter lists every producer')
  t.same(p.both.pub_counts, [{ topic: a, count: 1 }], 'narrowed to the filtered topic')
  t.notOk('pub_counts' in p.onlyB, 'no count left: the key is omitted')
  const raw = await http(nsqd, 'GET', `/stats?format=json&topic=${a}`)
  t.match(raw.text, /"client_id":"onlyB",[^}]*"topology_region":"","tls":false,/, 'omitted, not null or []')

  doc = await stats(nsqd, `&topic=${b}&channel=nope`)
  t.same(doc.topics, [])
  p = byId(doc)
  t.same(p.both.pub_counts, [{ topic: b, count: 2 }])
  t.same(p.onlyB.pub_counts, [{ topic: b, count: 1 }])

  doc = await stats(nsqd, '&channel=ch')
  t.same(doc.topics.map((x: any) => x.topic_name), [a])
  t.equal(byId(doc).both.pub_counts.length, 2, 'a channel filter does not narrow pub_counts')

  doc = await stats(nsqd, '&topic=missing')
  t.equal(doc.topics, null)
  t.equal(doc.producers, null, 'a missing topic: no producers either')
  doc = await stats(nsqd, `&topic=${a}&include_clients=false`)
  t.equal(doc.producers, null)

  // text: the same producers, each with its narrowed counts
  const text = (await http(nsqd, 'GET', `/stats?topic=${a}`)).text
  const lines = text.slice(text.indexOf('\nProducers:\n') + 12).trim().split('\n')
  t.equal(lines.length, 2)
  t.ok(lines.some((l) => new RegExp(`msgs: 1 +topics: ${a}=1 connected`).test(l)), 'both: only the filtered topic')
  // nsqd's ClientStats.String picks its form by pub_counts: none left means the consumer form
  t.ok(lines.some((l) => /\] state: \d inflt: 0 +rdy: 0 +fin: 0 +re-q: 0 +msgs: 0 +connected: \d+s$/.test(l)), 'onlyB: listed, no counts left, so in the consumer form')
})

t.test('/stats JSON escapes client strings as Go json.Marshal does (nsqd-http.md §2)', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify({ client_id: 'c<1>&', hostname: 'h\u2028\u2029\b\f', user_agent: 'ua\u0001"\\' })
  t.equal(await c.publish(topic, 'x'), 'OK')
  await c.subscribe(topic, 'ch')
  const res = await http(nsqd, 'GET', '/stats?format=json')
  t.equal(res.type, 'application/json; charset=utf-8')
  const want = '"client_id":"c\\u003c1\\u003e\\u0026","hostname":"h\\u2028\\u2029\\u0008\\u000c"'
  t.equal(res.text.split(want).length, 3, 'under the channel and under producers')
  t.ok(res.text.includes('"user_agent":"ua\\u0001\\"\\\\"'))
  t.notOk(/[<>&\u2028\u2029]/.test(res.text), 'no raw <, >, &, U+2028, U+2029 anywhere')
  t.equal(JSON.parse(res.text).producers[0].client_id, 'c<1>&', 'still the same JSON value')
})

t.test('statsd: NSQ lines, counter deltas, datagrams within --statsd-udp-packet-size', async (t) => {
  const udp = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => { udp.bind(0, '127.0.0.1', resolve) })
  t.teardown(() => { udp.close() })
  const datagrams: string[] = []
  udp.on('message', (m) => { datagrams.push(m.toString()) })
  const nsqd = await startNSQD(t, {
    statsdAddress: `127.0.0.1:${udp.address().port}`,
    statsdIntervalMs: 50,
    statsdUdpPacketSize: 200,
    broadcastAddress: 'my.host',
    e2eProcessingLatencyPercentiles: [0.99]
  })
  const topic = uniq('s')
  await http(nsqd, 'POST', `/topic/create?topic=${topic}`)
  await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=c`)
  await http(nsqd, 'POST', `/mpub?topic=${topic}`, 'a\nbb\nccc')
  const prefix = `nsq.my_host_${hostPort(nsqd.httpAddress).port}.`
  const lines = (): string[] => datagrams.flatMap((d) => d.split('\n').filter((l) => l !== ''))
  const tk = `${prefix}topic.${topic}`
  await until(() => lines().includes(`${tk}.channel.c.depth:3|g`), 'channel depth gauge', 5000, 10)
  const sum = (name: string): number => lines().filter((l) => l.startsWith(`${name}:`)).reduce((n, l) => n + Number(l.slice(name.length + 1, -2)), 0)
  await until(() => sum(`${tk}.message_count`) === 3, 'topic counter deltas add up', 5000, 10)
  t.equal(sum(`${tk}.message_bytes`), 6)
  t.equal(sum(`${tk}.channel.c.message_count`), 3)
  const n = datagrams.length
  await until(() => datagrams.length > n + 2, 'later pushes')
  t.ok(lines().slice(-200).includes(`${tk}.message_count:0|c`), 'counters are deltas: 0 without new publishes')
  for (const d of datagrams) {
    t.ok(Buffer.byteLength(d) <= 200, 'datagram within the packet size')
    t.ok(d.endsWith('\n'), 'lines are not split')
  }
  const all = lines()
  for (const name of ['depth:0|g', 'backend_depth:0|g', 'e2e_processing_latency_99:0|g']) t.ok(all.includes(`${tk}.${name}`), name)
  for (const name of ['in_flight_count:0|g', 'deferred_count:0|g', 'requeue_count:0|c', 'timeout_count:0|c', 'clients:0|g', 'backend_depth:0|g']) {
    t.ok(all.includes(`${tk}.channel.c.${name}`), name)
  }
  t.ok(all.some((l) => l.startsWith(`${prefix}mem.heap_in_use_bytes:`) && l.endsWith('|g')), 'mem gauges')
  t.ok(all.some((l) => l.startsWith(`${prefix}mem.gc_runs:`) && l.endsWith('|c')), 'gc_runs counter')
  for (const l of all) t.match(l, /^[^:]+:-?\d+\|[cg]$/, 'statsd line format')
})
