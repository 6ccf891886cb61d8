// nsqadmin's pure parts: the history ring, cross-node aggregation (sums, paused OR, e2e merge),
// the sampler's per-node rates (a restarted node never yields a negative or huge rate), version
// ordering and --base-path normalisation.

import t from 'tap'
import { History } from '../../admin/history.js'
import { aggregateTopic, mergeE2e, nodeTopic } from '../../admin/aggregate.js'
import { compareVersions } from '../../admin/cluster-info.js'
import type { ClusterInfo, NodeStats } from '../../admin/cluster-info.js'
import { normaliseBasePath } from '../../admin/options.js'
import { Sampler } from '../../admin/sampler.js'
import { createCapturingLogger } from '../../admin/logger.js'
import type { NsqdChannel, NsqdTopic } from '../../admin/types.js'

t.test('history ring keeps the last window, aligns series, nulls gaps, drops dead series', async (t) => {
  const h = new History(5000, 1000) // 5 slots
  for (let i = 1; i <= 7; i++) {
    const v = new Map<string, number>([['a|x', i]])
    if (i === 3) v.set('b|y', 30)
    h.record(i * 1000, v)
  }
  const s = h.snapshot('')
  t.same(s.timestamps, [3000, 4000, 5000, 6000, 7000], 'oldest samples overwritten')
  t.same(s.series['a|x'], [3, 4, 5, 6, 7])
  t.same(s.series['b|y'], [30, null, null, null, null], 'missing samples are null')
  t.equal(h.latest('a|x'), 7)
  t.equal(h.latest('b|y'), null)
  t.same(h.snapshot('a|').series, { x: [3, 4, 5, 6, 7] }, 'prefix selects and strips')
  t.same(h.snapshot('a|', 5000).timestamps, [6000, 7000], 'since')
  for (let i = 8; i <= 12; i++) h.record(i * 1000, new Map([['a|x', i]]))
  t.equal(h.seriesCount, 1, 'a series empty for a whole window is dropped')
})

const channel = (name: string, over: Partial<NsqdChannel> = {}): NsqdChannel => ({
  channel_name: name, depth: 0, backend_depth: 0, in_flight_count: 0, deferred_count: 0, message_count: 0,
  requeue_count: 0, timeout_count: 0, client_count: 0, clients: [], paused: false, ...over
})
const topic = (over: Partial<NsqdTopic> = {}): NsqdTopic => ({
  topic_name: 't', channels: [], depth: 0, backend_depth: 0, message_count: 0, paused: false, ...over
})

t.test('policies: per node where nsqd reports them, counters summed over nodes, a differing setting is "varies"', async (t) => {
  const pol = { max_attempts: 5, message_ttl_ms: 60000, dead_letter_topic: 't.dead', dead_letter_count: 2, expired_count: 1, queue_bytes: 10, max_queue_messages: 100, max_queue_bytes: 0, queue_full_policy: 'refuse', full_drop_count: 0 }
  const topicCap = { queue_bytes: 4, max_queue_messages: 0, max_queue_bytes: 1024, queue_full_policy: 'drop-oldest', full_drop_count: 3, full_refused_count: 0 }
  const n1 = nodeTopic({ node: 'a:1', hostname: 'a', topic: topic({ ...topicCap, channels: [channel('c', pol), channel('plain')] }) }, 0)
  const n2 = nodeTopic({ node: 'b:1', hostname: 'b', topic: topic({ ...topicCap, full_refused_count: 7, channels: [channel('c', { ...pol, max_attempts: 3, dead_letter_count: 5, full_drop_count: 4 })] }) }, 0)
  t.same(n1.channels![0]!.policy, pol, 'per node: as nsqd reported it')
  t.equal(n1.channels![1]!.policy, undefined, 'none where nsqd reports none')
  const agg = aggregateTopic('t', [n1, n2])
  const c = agg.channels!.find((x) => x.channel_name === 'c')!
  t.same(c.policy, { ...pol, max_attempts: -1, dead_letter_count: 7, expired_count: 2, queue_bytes: 20, full_drop_count: 4 })
  t.equal(agg.channels!.find((x) => x.channel_name === 'plain')!.policy, undefined)
  t.same(agg.policy, { ...topicCap, queue_bytes: 8, full_drop_count: 6, full_refused_count: 7 })
  t.equal(aggregateTopic('t', [nodeTopic({ node: 'x:1', hostname: 'x', topic: topic() }, 0)]).policy, undefined, 'a cluster without policies: no policy key')
})

t.test('aggregation sums nodes, ORs paused, merges channels by name, sorts nodes by hostname', async (t) => {
  const n1 = nodeTopic({ node: 'b:1', hostname: 'zeta', topic: topic({ depth: 5, backend_depth: 2, message_count: 10, channels: [channel('c', { depth: 3, in_flight_count: 1, global_msg_count: 4 })] }) }, 0)
  const n2 = nodeTopic({ node: 'a:1', hostname: 'alpha', topic: topic({ depth: 1, message_count: 7, paused: true, channels: [channel('c', { depth: 2 }), channel('d')] }) }, 0)
  const agg = aggregateTopic('t', [n1, n2])
  t.equal(agg.node, '*')
  t.equal(agg.depth, 6)
  t.equal(agg.memory_depth, 4)
  t.equal(agg.backend_depth, 2)
  t.equal(agg.message_count, 17)
  t.equal(agg.paused, true)
  t.same(agg.nodes!.map((n) => n.hostname), ['alpha', 'zeta'])
  t.same(agg.channels!.map((c) => [c.channel_name, c.depth, c.nodes!.length]), [['c', 5, 2], ['d', 0, 1]])
  t.equal(agg.channels![0]!.global_msg_count, 4)
  t.equal(agg.channels![0]!.delivery_msg_count, 4)
  t.equal(agg.channels![1]!.global_msg_count, undefined, 'zero topology counts omitted')
  const empty = aggregateTopic('t', [])
  t.same([empty.node, empty.nodes, empty.channels], ['', null, null])
})

t.test('e2e latency merge: max of maxima, min of minima, count-weighted mean, quantiles descending', async (t) => {
  const mk = (count: number, pairs: Array<[number, number]>) => ({
    count, topic: 't', channel: '', host: 'h',
    percentiles: pairs.map(([q, v]) => ({ quantile: q, value: v, min: v, max: v, average: v, count }))
  })
  const m = mergeE2e([mk(1, [[0.5, 100], [0.99, 400]]), mk(3, [[0.99, 200], [0.5, 50]]), null], 't', '')!
  t.equal(m.count, 4)
  t.equal(m.host, '*')
  t.same(m.percentiles.map((p) => p.quantile), [0.99, 0.5])
  t.same(m.percentiles[0], { quantile: 0.99, max: 400, min: 200, average: 250, count: 4 })
  t.equal(mergeE2e([null], 't', ''), null)
})

t.test('sampler rates are per node: a new or restarted node never makes a spike or a negative', async (t) => {
  const cluster = { } as unknown as ClusterInfo
  const s = new Sampler(cluster, createCapturingLogger(), 1000, 60_000)
  const stats = (node: string, count: number): NodeStats => ({
    ref: { node, httpAddress: node, hostname: node },
    stats: { version: '1.3.0', health: 'OK', start_time: 0, topics: [topic({ message_count: count, depth: count, channels: [channel('c', { message_count: count })] })] }
  })
  s.record(1000, [stats('a:1', 100)])
  t.equal(s.history.latest('t/t|rate'), null, 'no rate from one sample')
  s.record(2000, [stats('a:1', 150)])
  t.equal(s.history.latest('t/t|rate'), 50)
  s.record(3000, [stats('a:1', 200), stats('b:1', 1_000_000)])
  t.equal(s.history.latest('t/t|rate'), 50, 'a node appearing with a big counter adds nothing yet')
  s.record(4000, [stats('a:1', 10), stats('b:1', 1_000_010)])
  t.equal(s.history.latest('t/t|rate'), 10, 'a restarted node (counter went down) counts 0, not negative')
  t.equal(s.history.latest('c/t/c|rate'), 10)
  t.equal(s.history.latest('cluster|nodes'), 2)
  t.equal(s.topicNodeRates.get('t\u0000b:1'), 10)
  s.record(5000, [stats('a:1', 20)])
  t.equal(s.history.latest('n/b:1|depth'), null, 'a gone node has no value')
  t.equal(s.seen.get('b:1')?.lastSeenMs, 4000, 'but is remembered with when it was last seen')
})

t.test('versions compare numerically; base paths normalise', async (t) => {
  t.equal(compareVersions('1.10.0', '1.9.2'), 1)
  t.equal(compareVersions('1.3.0', '1.3.0'), 0)
  t.equal(compareVersions('1.2.1-alpha', '1.3.0'), -1)
  t.equal(normaliseBasePath('/'), '')
  t.equal(normaliseBasePath('admin/'), '/admin')
  t.equal(normaliseBasePath('//a/./b/../c/'), '/a/c')
})
