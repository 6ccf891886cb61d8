// Peek/browse and dead-letter replay (issue 17, not in NSQ): GET /channel/peek, /topic/peek and
// POST /topic/replay over real sockets against an in-process nsqd on port 0 with its LevelDB store.

import t from 'tap'
import type { Test } from 'tap'
import { startNSQD, RawConn, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'

interface TapT { teardown (fn: () => unknown): void }

interface PeekMsg {
  id: string
  timestamp: number
  attempts: number
  state: string
  position?: number
  deferred_until?: number
  timeout_at?: number
  body_size: number
  body: string
  body_truncated?: boolean
}

interface PeekAnswer {
  topic: string
  channel?: string
  state: string
  depth: number
  count: number
  messages: PeekMsg[]
  message?: PeekMsg
}

async function http (nsqd: NSQD, method: string, path: string, body?: string | Buffer): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${nsqd.httpAddress}${path}`, { method, body })
  return { status: res.status, text: await res.text() }
}

async function ok (nsqd: NSQD, method: string, path: string, body?: string | Buffer): Promise<string> {
  const r = await http(nsqd, method, path, body)
  if (r.status !== 200) throw new Error(`${method} ${path} answered ${r.status} ${r.text}`)
  return r.text
}

async function peek (nsqd: NSQD, path: string): Promise<PeekAnswer> {
  return JSON.parse(await ok(nsqd, 'GET', path)) as PeekAnswer
}

async function createChannel (nsqd: NSQD, topic: string, channel: string): Promise<void> {
  await ok(nsqd, 'POST', `/topic/create?topic=${topic}`)
  await ok(nsqd, 'POST', `/channel/create?topic=${topic}&channel=${channel}`)
}

const text = (m: PeekMsg): string => Buffer.from(m.body, 'base64').toString()

async function consumer (t: TapT, nsqd: NSQD, topic: string, channel: string, rdy = 1): Promise<RawConn> {
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, channel, rdy)
  return c
}

async function channelStats (nsqd: NSQD, topic: string, channel: string): Promise<Record<string, unknown>> {
  const snap = JSON.parse(await ok(nsqd, 'GET', `/stats?format=json&topic=${topic}&channel=${channel}`)) as { topics: Array<{ channels: Array<Record<string, unknown>> }> }
  return snap.topics[0]!.channels[0]!
}

/** Every key and value of the node's LevelDB, once pending writes are committed. */
async function storeDump (nsqd: NSQD): Promise<string[]> {
  const store = nsqd.store!.store
  await store.whenCommitted()
  const out: string[] = []
  for await (const [k, v] of store.db.iterator()) out.push(`${k}=${v.toString('hex')}`)
  return out
}

const N = 40

/**
 * The same workload with or without peeks: 40 messages through a channel with --mem-queue-size=3
 * (most of them on disk), one consumer with RDY 1 that REQs every fifth message once, plus one
 * long-deferred message. Returns what the consumer saw and the channel's closing stats.
 */
async function workload (t: Test, peeks: boolean): Promise<{ seen: string[], stats: Record<string, unknown> }> {
  const nsqd = await startNSQD(t, { memQueueSize: 3 })
  const topic = uniq('pk')
  await createChannel(nsqd, topic, 'c')
  const bodies = Array.from({ length: N }, (_, i) => `m${i}`)
  await ok(nsqd, 'POST', `/mpub?topic=${topic}`, bodies.join('\n'))
  await ok(nsqd, 'POST', `/pub?topic=${topic}&defer=600000`, 'later')
  await until(async () => (await channelStats(nsqd, topic, 'c')).depth === N, 'channel depth')
  if (peeks) {
    const before = await storeDump(nsqd)
    const all = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&n=1000`)
    t.same(all.messages.map(text), bodies, 'queued view: every message, in publish order, memory then disk')
    t.same(all.messages.map((m) => m.position), bodies.map((_, i) => i), 'positions 0..n-1')
    t.equal(all.depth, N, 'depth reported')
    const d = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&state=deferred`)
    t.equal(d.count, 1, 'deferred view: the DPUB')
    t.ok(d.messages[0]!.deferred_until! > Date.now() + 500000, 'with its due time (ms)')
    const mid = all.messages[25]!
    const byId = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&id=${mid.id}`)
    t.same(byId.message, mid, 'lookup by id (on disk) finds it with the same fields')
    const later = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&id=${d.messages[0]!.id}`)
    t.equal(later.message?.state, 'deferred', 'lookup by id of a deferred message')
    await peek(nsqd, `/topic/peek?topic=${topic}&n=1000`)
    await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&n=7&offset=30&encoding=text`)
    t.same(await storeDump(nsqd), before, 'the store is byte-for-byte unchanged by the peeks')
    t.equal((await channelStats(nsqd, topic, 'c')).depth, N, 'depth unchanged')
  }
  const c = await consumer(t, nsqd, topic, 'c')
  const seen: string[] = []
  const total = N + N / 5
  let predicted: string | null = null
  for (let i = 0; i < total; i++) {
    const m = await c.message(5000)
    const body = m.body.toString()
    seen.push(`${body}/${m.attempts}`)
    if (peeks) {
      if (predicted !== null) t.equal(m.id, predicted, `delivery ${i} is the message peek said was next`)
      const inFlight = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&state=in_flight`)
      t.same(inFlight.messages.map((x) => x.id), [m.id], 'in-flight view: the one delivered')
      const next = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&n=2`)
      predicted = next.messages[0]?.id ?? null
      // REQ puts it back at the end: then the next delivery is still the head seen now
    }
    const n = Number(body.slice(1))
    if (n % 5 === 0 && m.attempts === 1) c.write(cmd.req(m.id, 0))
    else c.write(cmd.fin(m.id))
  }
  t.ok(await c.quiet(100), 'nothing more delivered')
  const s = await channelStats(nsqd, topic, 'c')
  const stats = { depth: s.depth, in_flight_count: s.in_flight_count, deferred_count: s.deferred_count, message_count: s.message_count, requeue_count: s.requeue_count, timeout_count: s.timeout_count }
  return { seen, stats }
}

t.test('peek leaves the channel byte-for-byte unchanged: later deliveries match a run without peeks', async (t) => {
  const plain = await workload(t, false)
  const peeked = await workload(t, true)
  t.equal(plain.seen.length, N + N / 5, 'every delivery happened')
  t.same(peeked.seen, plain.seen, 'same bodies in the same order with the same attempts')
  t.same(peeked.stats, plain.stats, 'same closing channel stats')
  t.same(plain.stats, { depth: 0, in_flight_count: 0, deferred_count: 1, message_count: N + 1, requeue_count: N / 5, timeout_count: 0 }, 'the stats are the expected ones')
})

t.test('peek: bodies as base64 or text, truncated to max_body, n capped, ids, errors', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 2 })
  const topic = uniq('pb')
  await createChannel(nsqd, topic, 'c')
  const big = 'x'.repeat(5000)
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe])
  await ok(nsqd, 'POST', `/pub?topic=${topic}`, 'héllo')
  await ok(nsqd, 'POST', `/pub?topic=${topic}`, big)
  await ok(nsqd, 'POST', `/pub?topic=${topic}`, bin)
  await until(async () => (await channelStats(nsqd, topic, 'c')).depth === 3, 'depth 3')
  const b64 = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c`)
  t.equal(b64.count, 3)
  t.equal(Buffer.from(b64.messages[0]!.body, 'base64').toString(), 'héllo', 'base64 by default')
  t.equal(b64.messages[1]!.body_size, 5000, 'body_size is the full size')
  t.equal(Buffer.from(b64.messages[1]!.body, 'base64').length, 4096, 'body cut at the default 4096 bytes')
  t.equal(b64.messages[1]!.body_truncated, true, 'and flagged')
  t.same(Buffer.from(b64.messages[2]!.body, 'base64'), bin, 'binary body intact in base64 (from disk)')
  t.equal(b64.messages[0]!.body_truncated, undefined, 'no flag when whole')
  t.match(b64.messages[0]!, { attempts: 0, state: 'queued', position: 0 })
  t.ok(Math.abs(b64.messages[0]!.timestamp / 1e6 - Date.now()) < 60000, 'timestamp in ns')
  const txt = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&encoding=text&max_body=3&n=1`)
  t.equal(txt.count, 1, 'n=1')
  t.equal(txt.messages[0]!.body, 'hé', 'text encoding, cut at 3 bytes')
  const topicPeek = await peek(nsqd, `/topic/peek?topic=${topic}`)
  t.equal(topicPeek.count, 0, 'the topic queue itself is empty (everything went to the channel)')

  const bad: Array<[string, number, string]> = [
    ['/channel/peek?channel=c', 400, 'MISSING_ARG_TOPIC'],
    ['/channel/peek?topic=a!b&channel=c', 400, 'INVALID_ARG_TOPIC'],
    [`/channel/peek?topic=${topic}`, 400, 'MISSING_ARG_CHANNEL'],
    [`/channel/peek?topic=${uniq('none')}&channel=c`, 404, 'TOPIC_NOT_FOUND'],
    [`/channel/peek?topic=${topic}&channel=nope`, 404, 'CHANNEL_NOT_FOUND'],
    [`/channel/peek?topic=${topic}&channel=c&n=0`, 400, 'INVALID_N'],
    [`/channel/peek?topic=${topic}&channel=c&n=1001`, 400, 'INVALID_N'],
    [`/channel/peek?topic=${topic}&channel=c&n=x`, 400, 'INVALID_N'],
    [`/channel/peek?topic=${topic}&channel=c&max_body=-1`, 400, 'INVALID_MAX_BODY'],
    [`/channel/peek?topic=${topic}&channel=c&encoding=hex`, 400, 'INVALID_ENCODING'],
    [`/channel/peek?topic=${topic}&channel=c&state=gone`, 400, 'INVALID_STATE'],
    [`/channel/peek?topic=${topic}&channel=c&offset=-2`, 400, 'INVALID_OFFSET'],
    [`/channel/peek?topic=${topic}&channel=c&id=123`, 400, 'INVALID_MESSAGE_ID'],
    [`/channel/peek?topic=${topic}&channel=c&id=0123456789abcdef`, 404, 'MESSAGE_NOT_FOUND'],
    [`/topic/peek?topic=${topic}&state=deferred`, 400, 'INVALID_STATE'],
    ['/topic/peek', 400, 'MISSING_ARG_TOPIC']
  ]
  for (const [path, status, token] of bad) {
    const r = await http(nsqd, 'GET', path)
    t.equal(r.status, status, `${path} → ${status}`)
    t.equal(r.text, `{"message":"${token}"}`, `${path} → ${token}`)
  }
  const n1000 = await peek(nsqd, `/channel/peek?topic=${topic}&channel=c&n=1000`)
  t.equal(n1000.count, 3, 'n=1000 allowed')
  t.equal((await channelStats(nsqd, topic, 'c')).depth, 3, 'still 3 queued')
})

/** Publishes `bodies` to `<topic>.dead` directly (as dead letters would arrive) and waits for them. */
async function fillDead (nsqd: NSQD, dead: string, bodies: string[]): Promise<void> {
  await ok(nsqd, 'POST', `/mpub?topic=${dead}`, bodies.join('\n'))
  await until(async () => (await peek(nsqd, `/topic/peek?topic=${dead}&n=1000`)).depth === bodies.length, 'dead topic depth')
}

async function replayReq (nsqd: NSQD, query: string): Promise<{ status: number, moved?: number, text: string }> {
  const r = await http(nsqd, 'POST', `/topic/replay?${query}`)
  return { status: r.status, text: r.text, moved: r.status === 200 ? (JSON.parse(r.text) as { moved: number }).moved : undefined }
}

async function topicBodies (nsqd: NSQD, topic: string): Promise<string[]> {
  return (await peek(nsqd, `/topic/peek?topic=${topic}&n=1000&encoding=text`)).messages.map((m) => m.body)
}

t.test('replay: all, n, selected ids from the middle of memory and disk (order kept), to=, errors', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 3 })
  const origin = uniq('rp')
  const dead = `${origin}.dead`
  const bodies = Array.from({ length: 12 }, (_, i) => `d${i}`)
  await fillDead(nsqd, dead, bodies)
  const list = (await peek(nsqd, `/topic/peek?topic=${dead}&n=1000`)).messages
  // d1 is in memory, d5 and d9 on disk
  const pick = [list[1]!.id, list[5]!.id, list[9]!.id]
  const sel = await replayReq(nsqd, `topic=${dead}&${pick.map((id) => `id=${id}`).join('&')}`)
  t.equal(sel.moved, 3, 'three selected moved')
  t.same(await topicBodies(nsqd, origin), ['d1', 'd5', 'd9'], 'to the origin (".dead" stripped), in queue order')
  const rest = bodies.filter((b) => !['d1', 'd5', 'd9'].includes(b))
  t.same(await topicBodies(nsqd, dead), rest, 'the rest keep their order')
  t.equal((await peek(nsqd, `/topic/peek?topic=${dead}`)).depth, 9, 'depth 9')
  const again = await replayReq(nsqd, `topic=${dead}&id=${pick[1]!}`)
  t.equal(again.moved, 0, 'a message already moved is not moved again')

  const two = await replayReq(nsqd, `topic=${dead}&n=2`)
  t.equal(two.moved, 2, 'n=2 moves two from the head')
  t.same(await topicBodies(nsqd, origin), ['d1', 'd5', 'd9', 'd0', 'd2'])
  const other = uniq('other')
  const toOther = await replayReq(nsqd, `topic=${dead}&n=1&to=${other}`)
  t.equal(toOther.moved, 1, 'to= names another target')
  t.same(await topicBodies(nsqd, other), ['d3'])

  // a clean restart keeps the removals from the middle (tombstones) and the order
  await nsqd.close()
  const n2 = await startNSQD(t, { memQueueSize: 3, dataPath: nsqd.options.dataPath })
  t.same(await topicBodies(n2, dead), ['d4', 'd6', 'd7', 'd8', 'd10', 'd11'], 'after a restart the dead topic holds exactly the rest')
  const all = await replayReq(n2, `topic=${dead}`)
  t.equal(all.moved, 6, 'replay of all moves the rest')
  const inOrigin = await topicBodies(n2, origin)
  t.same([...inOrigin].sort(), bodies.filter((b) => b !== 'd3').sort(), 'origin holds each once')
  t.same(inOrigin.slice(5), ['d4', 'd6', 'd7', 'd8', 'd10', 'd11'], 'the last replay appended in queue order')
  t.equal((await peek(n2, `/topic/peek?topic=${dead}`)).depth, 0, 'dead topic empty')
  t.equal((await replayReq(n2, `topic=${dead}`)).moved, 0, 'nothing left to move')
  t.same(JSON.parse((await replayReq(n2, `topic=${origin}`)).text), { moved: 0 }, 'plain bodies with no target (no ".dead", no to=, no envelope) stay')
  // two replays at once never move a message twice
  await fillDead(n2, dead, Array.from({ length: 600 }, (_, i) => `c${i}`))
  const [r1, r2] = await Promise.all([replayReq(n2, `topic=${dead}&to=${other}`), replayReq(n2, `topic=${dead}&to=${other}`)])
  t.equal(r1.moved! + r2.moved!, 600, `concurrent replays moved ${r1.moved} + ${r2.moved}: each message once`)
  const got = await peek(n2, `/topic/peek?topic=${other}&n=1000&encoding=text`)
  t.equal(new Set(got.messages.map((m) => m.body)).size, 601, 'no body twice in the target')
  const keys = (await storeDump(n2)).filter((k) => k.startsWith(`x/${dead}/`))
  t.same(keys, [], 'no tombstone left once the read position passed them')

  const bad: Array<[string, number, string]> = [
    ['', 400, 'MISSING_ARG_TOPIC'],
    [`topic=${dead}&to=${dead}`, 400, 'INVALID_ARG_TO'],
    [`topic=${dead}&to=a!b`, 400, 'INVALID_ARG_TO'],
    [`topic=${dead}&id=xyz`, 400, 'INVALID_MESSAGE_ID'],
    [`topic=${dead}&n=0`, 400, 'INVALID_N'],
    [`topic=${dead}&channel=nope`, 404, 'CHANNEL_NOT_FOUND'],
    [`topic=${uniq('nx')}.dead`, 404, 'TOPIC_NOT_FOUND']
  ]
  for (const [q, status, token] of bad) {
    const r = await replayReq(n2, q)
    t.equal(r.status, status, `${q} → ${status}`)
    t.equal(r.text, `{"message":"${token}"}`, `${q} → ${token}`)
  }
})

t.test('replay of real dead letters: JSON envelope restores body and origin; from a channel of the dead topic', async (t) => {
  const opts: Partial<Options> = { memQueueSize: 2 }
  const nsqd = await startNSQD(t, opts)
  const origin = uniq('env')
  await createChannel(nsqd, origin, 'work')
  await ok(nsqd, 'POST', `/channel/config?topic=${origin}&channel=work`, JSON.stringify({ max_attempts: 1, dead_letter_topic: 'shared_dlq', dead_letter_envelope: 'json' }))
  const c = await consumer(t, nsqd, origin, 'work', 10)
  for (let i = 0; i < 4; i++) await ok(nsqd, 'POST', `/pub?topic=${origin}`, `job${i}`)
  for (let i = 0; i < 4; i++) { const m = await c.message(); c.write(cmd.req(m.id, 0)) }
  await until(async () => (await peek(nsqd, '/topic/peek?topic=shared_dlq')).depth === 4, 'four dead letters')
  const env = await peek(nsqd, '/topic/peek?topic=shared_dlq&encoding=text&n=1')
  t.match(JSON.parse(env.messages[0]!.body), { topic: origin, channel: 'work', reason: 'max_attempts' }, 'peek shows the envelope')
  c.socket.destroy()
  // a consumer on a fresh channel of the origin receives what is replayed
  await ok(nsqd, 'POST', `/channel/config?topic=${origin}&channel=work`, '{}')
  await ok(nsqd, 'POST', `/channel/delete?topic=${origin}&channel=work`)
  await createChannel(nsqd, origin, 'again')
  const r = await replayReq(nsqd, 'topic=shared_dlq&n=3')
  t.equal(r.moved, 3, 'no ".dead" suffix, no to=: the envelope names the origin')
  const chPeek = await peek(nsqd, `/channel/peek?topic=${origin}&channel=again&encoding=text`)
  t.same(chPeek.messages.map((m) => m.body), ['job0', 'job1', 'job2'], 'original bodies restored, in order')
  t.same(chPeek.messages.map((m) => m.attempts), [0, 0, 0], 'as new messages')

  // a dead topic with a channel: replay from that channel's queue
  await createChannel(nsqd, 'shared_dlq', 'inspect')
  await until(async () => (await peek(nsqd, '/channel/peek?topic=shared_dlq&channel=inspect')).depth === 1, 'the last dead letter flowed to the channel')
  const fromCh = await replayReq(nsqd, 'topic=shared_dlq&channel=inspect')
  t.equal(fromCh.moved, 1, 'moved from the channel queue')
  t.same((await peek(nsqd, `/channel/peek?topic=${origin}&channel=again&encoding=text`)).messages.map((m) => m.body), ['job0', 'job1', 'job2', 'job3'])
  t.equal((await peek(nsqd, '/channel/peek?topic=shared_dlq&channel=inspect')).depth, 0, 'the dead channel is empty')
})

t.test('replay into an origin that refuses (bounded queue): the rest stay in the dead-letter topic, none lost', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 3 })
  const origin = uniq('rpfull')
  const dead = `${origin}.dead`
  await ok(nsqd, 'POST', `/topic/create?topic=${origin}`)
  await ok(nsqd, 'POST', `/channel/create?topic=${origin}&channel=c`)
  await ok(nsqd, 'POST', `/channel/config?topic=${origin}&channel=c`, JSON.stringify({ max_queue_messages: 3, queue_full_policy: 'refuse' }))
  const bodies = Array.from({ length: 6 }, (_, i) => `f${i}`)
  await fillDead(nsqd, dead, bodies)
  const r = await http(nsqd, 'POST', `/topic/replay?topic=${dead}`)
  t.equal(r.status, 200)
  const doc = JSON.parse(r.text) as { moved: number, stopped?: string }
  t.equal(doc.moved, 3, 'three fit under the cap')
  t.match(doc.stopped, /failed to publish to/, 'the replay says why it stopped')
  t.equal(nsqd.topics.get(origin)!.channels.get('c')!.depth, 3, 'the origin channel holds its cap')
  t.same((await topicBodies(nsqd, dead)).sort(), ['f3', 'f4', 'f5'], 'the refused message went back to the dead-letter topic, with the rest')
})
