// Pure pieces behind nsqd's HTTP API and stats: the e2e latency estimator and its two-half window,
// the Go-style query parser, /mpub text splitting and defer parsing, statsd naming and packing.

import t from 'tap'
import { LatencyWindow, mergeQuantiles, E2eLatency } from '../../nsqd/e2e-latency.js'
import { Query, unescapeQuery, queryBool } from '../../nsqd/http/query.js'
import { HttpApiError } from '../../nsqd/http/errors.js'
import { splitLines, parseDefer } from '../../nsqd/http/pub.js'
import { percentileName, statsdPrefix, packLines, statsdLines } from '../../nsqd/statsd.js'
import type { ClientStats, StatsSnapshot } from '../../nsqd/stats.js'
import type { LatencyResult } from '../../nsqd/e2e-latency.js'
import { statsText } from '../../nsqd/http/stats-text.js'
import { detectContentType } from '../../nsqd/http/sniff.js'
import { GoRouter, goEscapePath, goUnescapePath, redirectBody, routerCleanPath } from '../../client/daemon/http-router.js'
import type { Channel } from '../../nsqd/core/channel.js'

function token (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof HttpApiError) return `${err.statusCode} ${err.token}`
    throw err
  }
  return 'no error'
}

t.test('e2e estimator: quantiles within 2% of the exact ones, q=1 exact, merge of windows', async (t) => {
  let seed = 42
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const now = 1_000_000
  const a = new LatencyWindow(600_000, now)
  const b = new LatencyWindow(600_000, now)
  const all: number[] = []
  for (let i = 0; i < 20000; i++) {
    // log-uniform between 10 µs and 10 s
    const v = Math.round(Math.exp(Math.log(1e4) + rnd() * Math.log(1e6)))
    all.push(v);
    (i % 3 === 0 ? a : b).record(v, now)
  }
  all.sort((x, y) => x - y)
  const qs = [1, 0.99, 0.95, 0.5, 0.1]
  const r = mergeQuantiles([a, b], qs, now)
  t.equal(r.count, 20000)
  t.same(r.percentiles!.map((p) => p.quantile), qs, 'in the requested order')
  for (const p of r.percentiles!) {
    const exact = all[Math.max(0, Math.ceil(p.quantile * all.length) - 1)]!
    t.ok(Math.abs(p.value - exact) / exact < 0.02, `q${p.quantile}: ${p.value} vs ${exact}`)
  }
  t.equal(r.percentiles![0]!.value, all[all.length - 1], 'q=1 is the exact maximum')
  const one = new LatencyWindow(1000, now)
  one.record(123456, now)
  t.same(mergeQuantiles([one], [0.5, 1], now).percentiles, [{ quantile: 0.5, value: 123456 }, { quantile: 1, value: 123456 }], 'one sample is exact')
  t.same(mergeQuantiles([new LatencyWindow(1000, now)], [0.99], now), { count: 0, percentiles: [{ quantile: 0.99, value: 0 }] })
  const z = new LatencyWindow(1000, now)
  z.record(0, now)
  z.record(-5, now)
  t.equal(mergeQuantiles([z], [1], now).count, 2, 'zero and negative (clock skew) samples are counted')
})

t.test('e2e window: two halves; the older half is dropped every half-window', async (t) => {
  const w = new LatencyWindow(1000, 0)
  w.record(10, 100)
  t.equal(w.count, 1)
  w.record(20, 600) // second half starts after 500 ms
  t.equal(w.count, 2, 'both halves count')
  w.record(30, 1001) // third half: the first one is dropped
  t.equal(w.count, 2)
  t.equal(mergeQuantiles([w], [1], 1001).percentiles![0]!.value, 30)
  t.equal(mergeQuantiles([w], [0.01], 1001).percentiles![0]!.value, 20, 'the sample of 100 ms is gone')
  t.equal(mergeQuantiles([w], [1], 1600).count, 1, 'a query rotates too')
  t.equal(mergeQuantiles([w], [1], 100_000).count, 0, 'after a long idle period nothing is left')
  w.record(40, 100_001)
  t.equal(w.count, 1)

  const e = new E2eLatency([0.5, 1, 0.99], 60_000)
  t.same(e.quantiles, [1, 0.99, 0.5], 'sorted descending')
  const ch = {} as Channel
  t.same(e.forTopic([], 0), { count: 0, percentiles: null }, 'a topic without channels')
  e.record(ch, 5000, 0)
  t.equal(e.forChannel(ch, 0).count, 1)
  t.same(new E2eLatency([], 1000).forChannel(ch), { count: 0, percentiles: null }, 'disabled')
})

t.test('query strings as Go parses them', async (t) => {
  const q = new Query('/pub?topic=a+b&x=%41%42&topic=second&empty=&flag&u=%E2%9C%93')
  t.equal(q.get('topic'), 'a b', 'first value wins, + is a space')
  t.equal(q.get('x'), 'AB')
  t.equal(q.get('empty'), '')
  t.equal(q.get('flag'), '')
  t.equal(q.get('missing'), undefined)
  t.equal(q.get('u'), '✓')
  t.equal(new Query('/stats').get('topic'), undefined)
  for (const bad of ['/x?a=%', '/x?a=%4', '/x?a=%zz', '/x?a=1;b=2', '/x?%=1']) {
    t.equal(token(() => new Query(bad)), '400 INVALID_REQUEST', bad)
  }
  t.equal(unescapeQuery('é%20'), 'é ')
  t.equal(queryBool('1', false), true)
  t.equal(queryBool('false', true), false)
  t.equal(queryBool('yes', true), true)
  t.equal(queryBool(undefined, false), false)
})

t.test('/mpub text splitting and defer parsing', async (t) => {
  const lines = (s: string, readMax = 1000, maxMsg = 10): string[] => splitLines(Buffer.from(s), readMax, maxMsg).map((b) => b.toString())
  t.same(lines('a\nb\n\nc'), ['a', 'b', 'c'])
  t.same(lines('a\r\n'), ['a\r'])
  t.same(lines(''), [])
  t.same(lines('\n\n'), [])
  t.equal(token(() => lines('0123456789x\n')), '413 MSG_TOO_BIG')
  t.same(lines('0123456789\n'), ['0123456789'])
  // readMax = max-body-size + 1: reaching it means the body was too big
  t.equal(token(() => lines('aaaa\nbbbb', 9)), '413 BODY_TOO_BIG')
  t.same(lines('aaaa\nbbb', 9), ['aaaa', 'bbb'])
  t.equal(token(() => lines('0123456789x\nb', 13)), '413 MSG_TOO_BIG', 'a long line before the end wins')

  t.equal(parseDefer(undefined, 100), 0)
  t.equal(parseDefer('100', 100), 100)
  t.equal(parseDefer('+7', 100), 7)
  t.equal(parseDefer('-0', 100), 0)
  for (const bad of ['101', '-1', 'x', '1e3', '', '1.0', '0x10']) t.equal(token(() => parseDefer(bad, 100)), '400 INVALID_DEFER', bad)
  // Go: strconv.ParseInt, then time.Duration(ms) * time.Millisecond wrapping mod 2^64 (int64 ns)
  const HOUR = 3600000
  t.equal(parseDefer('18446744073710', HOUR), 0.448384, '18446744073710 ms wraps to 448384 ns')
  t.equal(parseDefer('+18446744073710', HOUR), 0.448384)
  t.equal(parseDefer('000000000000000000005', HOUR), 5, 'leading zeros: still 5')
  t.equal(parseDefer('-18446744073709', HOUR), 0.551616, '-18446744073709 ms wraps to +551616 ns')
  for (const bad of ['9223372036855', '9223372036854775807', '9223372036854775808', '-9223372036854775809', '18446744073709551616', '1000000000000']) {
    t.equal(token(() => parseDefer(bad, HOUR)), '400 INVALID_DEFER', bad)
  }
})

t.test('text /stats: nsqd printStats bytes (ClientStats.String, NanoSecondToHuman, RFC3339 local start time)', async (t) => {
  const e2e = (values: number[] | null): LatencyResult => ({ count: 0, percentiles: values === null ? null : values.map((value, i) => ({ quantile: 0.9 - i / 10, value })) })
  const client = (over: Partial<ClientStats>): ClientStats => ({
    client_id: 'c', hostname: 'h', version: 'V2', remote_address: '127.0.0.1:5000', state: 3, ready_count: 1, in_flight_count: 2, message_count: 3, finish_count: 4, requeue_count: 5,
    connect_ts: 1000, sample_rate: 0, deflate: false, snappy: false, user_agent: 'ua', topology_zone: '', topology_region: '', tls: false, tls_cipher_suite: '', tls_version: '', tls_negotiated_protocol: '', tls_negotiated_protocol_is_mutual: false, ...over
  })
  const snap: StatsSnapshot = {
    topics: [{
      topic_name: 't1', depth: 1, backend_depth: 0, message_count: 7, message_bytes: 70, paused: true, e2e_processing_latency: e2e([1e9, 1000000000.5, 1250, 1e3, 0.25]),
      channels: [{
        channel_name: 'c1', depth: 1, backend_depth: 0, in_flight_count: 2, deferred_count: 0, message_count: 7, requeue_count: 0, timeout_count: 0, client_count: 2, paused: false,
        e2e_processing_latency: e2e(null),
        clients: [client({}), client({ hostname: '\u{1F600}\u00e9', user_agent: '', pub_counts: [{ topic: 't1', count: 2 }, { topic: 't2', count: 3 }] })]
      }]
    }],
    producers: [client({ hostname: 'p', remote_address: '[::1]:6000', user_agent: 'go-nsq/1.1.0' })]
  } as unknown as StatsSnapshot
  const prevTz = process.env.TZ
  process.env.TZ = 'Asia/Kolkata'
  t.teardown(() => { process.env.TZ = prevTz })
  const start = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
  const text = statsText('1.3.0', snap, null, 'OK', start, start + 61_000.125)
  t.equal(text,
    `nsqd v1.3.0 (built w/node ${process.version})\n` +
    'start_time 2024-01-02T08:34:05+05:30\n' +
    'uptime 1m1.000125s\n' +
    '\nHealth: OK\n' +
    '\nTopics:' +
    '\n*P [t1             ] depth: 1     be-depth: 0     msgs: 7        e2e%: 1000.0ms, 1.0s, 1.2us, 1000.0ns, 0.2ns\n' +
    '      [c1                       ] depth: 1     be-depth: 0     inflt: 2    def: 0    re-q: 0     timeout: 0     msgs: 7        e2e%: \n' +
    `        [V2 h:5000 ua            ] state: 3 inflt: 2    rdy: 1    fin: 4        re-q: 5        msgs: 3        connected: ${Math.floor((start + 61_000) / 1000) - 1000}s\n`.replace(/connected: (\d+)s/, (_m, n: string) => `connected: ${fmtSeconds(Number(n))}`) +
    `        [V2 \u{1F600}\u00e9:5000              ] msgs: 5        topics: t1=2,t2=3 connected: ${fmtSeconds(Math.floor((start + 61_000) / 1000) - 1000)}\n` +
    '\nProducers:\n' +
    `   [V2 p:6000 go-nsq/1.1.0  ] state: 3 inflt: 2    rdy: 1    fin: 4        re-q: 5        msgs: 3        connected: ${fmtSeconds(Math.floor((start + 61_000) / 1000) - 1000)}\n`)
  process.env.TZ = 'UTC'
  t.match(statsText('1.3.0', { topics: [], producers: null } as unknown as StatsSnapshot, null, 'OK', start, start), /^nsqd v1\.3\.0 \(built w\/node v[\d.]+\)\nstart_time 2024-01-02T03:04:05Z\nuptime 0s\n\nHealth: OK\n\nTopics: None\n\nProducers: None\n$/)
})

t.test('detectContentType: Go http.DetectContentType for a body written without a type', async (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1:4151', 'text/plain; charset=utf-8'],
    ['[nsqd] ', 'text/plain; charset=utf-8'],
    ['nsq.%s', 'text/plain; charset=utf-8'],
    ['<html>', 'text/html; charset=utf-8'],
    [' \n<HtMl x', 'text/html; charset=utf-8'],
    ['<b>bold', 'text/html; charset=utf-8'],
    ['<!-- c -->', 'text/html; charset=utf-8'],
    ['<br/>', 'text/plain; charset=utf-8'],
    ['<a', 'text/plain; charset=utf-8'],
    ['<?xml version="1.0"?>', 'text/xml; charset=utf-8'],
    ['%PDF-1.4', 'application/pdf'],
    ['%!PS-Adobe-3.0', 'application/postscript'],
    ['GIF89a...', 'image/gif'],
    ['BMx', 'image/bmp'],
    ['ID3x', 'audio/mpeg'],
    ['OTTOx', 'font/otf'],
    ['wOF2', 'font/woff2'],
    ['RIFF1234WAVEfmt ', 'audio/wave'],
    ['RIFF1234WEBPVP8 ', 'image/webp'],
    ['FORM1234AIFF', 'audio/aiff'],
    ['x'.repeat(34) + 'LPx', 'application/vnd.ms-fontobject'],
    ['\ufeffabc', 'text/plain; charset=utf-8'],
    ['a\u0001b', 'application/octet-stream'],
    ['a\u001bb', 'text/plain; charset=utf-8'],
    ['\u00e9t\u00e9', 'text/plain; charset=utf-8'],
    [' '.repeat(600) + '<html>', 'text/plain; charset=utf-8']
  ]
  for (const [body, type] of cases) t.equal(detectContentType(Buffer.from(body)), type, JSON.stringify(body))
  t.equal(detectContentType(Buffer.from([0xfe, 0xff, 0x00, 0x41])), 'text/plain; charset=utf-16be')
  t.equal(detectContentType(Buffer.from([0xfe, 0xff])), 'text/plain; charset=utf-8', 'a BOM pattern needs 4 bytes')
  t.equal(detectContentType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'image/png')
})

/** Go's Duration.String of whole seconds. */
function fmtSeconds (s: number): string {
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`
}

t.test('statsd: names, prefix, packing, deltas', async (t) => {
  t.equal(percentileName(0.99), '99')
  t.equal(percentileName(0.5), '50')
  t.equal(percentileName(1), '100')
  t.equal(percentileName(0.999), '100')
  t.equal(percentileName(0.125), '12', 'half to even, as Go')
  t.equal(statsdPrefix('nsq.%s', 'host.example.com', 4151), 'nsq.host_example_com_4151.')
  t.equal(statsdPrefix('nsq.%s.', 'h', 1), 'nsq.h_1.')
  t.equal(statsdPrefix('fixed', 'h', 1), 'fixed.')
  t.equal(statsdPrefix('%s.x.%s', 'h', 1), 'h_1.x.h_1.', 'every %s')
  t.equal(statsdPrefix('', 'h', 1), '')
  t.equal(statsdPrefix('%s', '::1', 4151), '[__1]_4151.')

  const lines = Array.from({ length: 30 }, (_, i) => `nsq.x.topic.t${i}.depth:${i}|g\n`)
  const packets = packLines(lines, 100)
  t.same(packets.map((p) => p.toString()).join(''), lines.join(''), 'nothing lost, order kept')
  for (const p of packets) t.ok(p.length <= 100)
  t.equal(packLines(['x'.repeat(150) + '\n'], 100).length, 1, 'an over-long line goes alone')

  const snap = (count: number, requeues: number): StatsSnapshot => ({
    producers: null,
    topics: [{
      topic_name: 't', depth: 1, backend_depth: 0, message_count: count, message_bytes: count * 2, paused: false,
      e2e_processing_latency: { count: 0, percentiles: [{ quantile: 0.99, value: 1500.7 }] },
      channels: [{ channel_name: 'c', depth: 2, backend_depth: 0, in_flight_count: 3, deferred_count: 4, message_count: count,
        requeue_count: requeues, timeout_count: 0, client_count: 1, clients: null, paused: false,
        e2e_processing_latency: { count: 0, percentiles: null } },
      { channel_name: 'x#ephemeral', depth: 0, backend_depth: 0, in_flight_count: 0, deferred_count: 0, message_count: 0,
        requeue_count: 0, timeout_count: 0, client_count: 0, clients: null, paused: false,
        e2e_processing_latency: { count: 0, percentiles: null } }]
    }]
  })
  const prev = { topics: new Map(), channels: new Map(), gcRuns: 0 }
  const opts = { prefix: 'p.', memStats: false, excludeEphemeral: true }
  const first = statsdLines(snap(10, 1), prev, opts)
  t.same(first, [
    'p.topic.t.message_count:10|c\n', 'p.topic.t.message_bytes:20|c\n', 'p.topic.t.depth:1|g\n', 'p.topic.t.backend_depth:0|g\n',
    'p.topic.t.e2e_processing_latency_99:1500|g\n',
    'p.topic.t.channel.c.message_count:10|c\n', 'p.topic.t.channel.c.depth:2|g\n', 'p.topic.t.channel.c.backend_depth:0|g\n',
    'p.topic.t.channel.c.in_flight_count:3|g\n', 'p.topic.t.channel.c.deferred_count:4|g\n', 'p.topic.t.channel.c.requeue_count:1|c\n',
    'p.topic.t.channel.c.timeout_count:0|c\n', 'p.topic.t.channel.c.clients:1|g\n'
  ], 'first push: totals; ephemeral channel excluded')
  const second = statsdLines(snap(15, 1), prev, opts)
  t.ok(second.includes('p.topic.t.message_count:5|c\n'), 'then deltas')
  t.ok(second.includes('p.topic.t.channel.c.requeue_count:0|c\n'))
  const withMem = statsdLines(snap(15, 1), prev, { ...opts, memStats: true })
  t.ok(withMem.some((l) => l.startsWith('p.mem.heap_in_use_bytes:')))
  t.ok(withMem.some((l) => /^p\.mem\.gc_runs:\d+\|c\n$/.test(l)))
  t.notOk(first.some((l) => /dead_letter|expired|full_|queue_bytes/.test(l)), 'no policy lines without a policy')

  // delivery policies and bounded queues: their counters as deltas, queue bytes as a gauge
  const withPolicy = (dead: number, drops: number, refused: number): StatsSnapshot => {
    const s = snap(20, 1)
    const tp = s.topics![0]!
    Object.assign(tp, { queue_bytes: 0, max_queue_messages: 0, max_queue_bytes: 0, queue_full_policy: 'refuse', full_drop_count: 0, full_refused_count: refused })
    Object.assign(tp.channels[0]!, { dead_letter_count: dead, expired_count: 1, queue_bytes: 42, max_queue_messages: 5, max_queue_bytes: 0, queue_full_policy: 'drop-oldest', full_drop_count: drops })
    return s
  }
  const p1 = statsdLines(withPolicy(3, 7, 2), prev, opts)
  for (const l of ['p.topic.t.queue_bytes:0|g\n', 'p.topic.t.full_drop_count:0|c\n', 'p.topic.t.full_refused_count:2|c\n',
    'p.topic.t.channel.c.dead_letter_count:3|c\n', 'p.topic.t.channel.c.expired_count:1|c\n',
    'p.topic.t.channel.c.queue_bytes:42|g\n', 'p.topic.t.channel.c.full_drop_count:7|c\n']) t.ok(p1.includes(l), l)
  const p2 = statsdLines(withPolicy(5, 7, 6), prev, opts)
  t.ok(p2.includes('p.topic.t.channel.c.dead_letter_count:2|c\n'), 'dead letters: delta')
  t.ok(p2.includes('p.topic.t.channel.c.full_drop_count:0|c\n'), 'drops: delta')
  t.ok(p2.includes('p.topic.t.full_refused_count:4|c\n'), 'refusals: delta')
})

t.test("Go router helpers: path unescape/escape, httprouter's CleanPath, the redirect body, decide()", async (t) => {
  t.equal(goUnescapePath('/p%69ng%2Fx+y'), '/ping/x+y', 'every %XX decoded, + kept')
  t.equal(goUnescapePath('/a%zz'), null)
  t.equal(goUnescapePath('/a%4'), null)
  t.equal(goUnescapePath('/%ff'), '/\xff', 'a byte, not UTF-8')
  t.equal(goEscapePath("/a b?c!d'é$&+,:;=@~"), "/a%20b%3Fc%21d%27%E9$&+,:;=@~", 'bytes as %XX')
  t.equal(routerCleanPath('//a/./b/../c/'), '/a/c/')
  t.equal(routerCleanPath('/a/.'), '/a/')
  t.equal(routerCleanPath('/a/b/..'), '/a')
  t.equal(routerCleanPath('a/../..'), '/')
  t.equal(redirectBody('/x?a=1&b="2"', 301), '<a href="/x?a=1&amp;b=&#34;2&#34;">Moved Permanently</a>.\n\n')
  const r = new GoRouter([{ method: 'GET', url: '/ping' }, { method: 'GET', url: '/config/:opt' }, { method: 'PUT', url: '/config/:opt' }, { method: 'POST', url: '/pub' }])
  t.equal(r.decide('GET', '/ping?x'), '/ping?x', 'the common case: the URL unchanged')
  t.equal(r.decide('GET', '/config/a%20b%23c?x'), '/config/a%20b%23c?x', 'a :param re-encoded for Fastify')
  t.same(r.decide('PUT', '/CONFIG/X/'), { kind: 'redirect', status: 307, location: '/config/X' })
  t.same(r.decide('POST', '/ping'), { kind: 'method-not-allowed', allow: 'GET, OPTIONS' })
  t.same(r.decide('OPTIONS', '/config/z'), { kind: 'options', allow: 'GET, OPTIONS, PUT' })
  t.same(r.decide('HEAD', '/Ping'), { kind: 'not-found' })
  t.same(r.decide('CONNECT', '/Ping'), { kind: 'not-found' }, 'no redirect for CONNECT')
  t.same(r.decide('GET', '/%'), { kind: 'bad-request' })
})
