// Bounded queues (issue 16, not in NSQ): max_queue_messages / max_queue_bytes per topic and channel
// with "refuse" (E_PUB_FAILED / E_MPUB_FAILED with the reason, HTTP 503 QUEUE_FULL) or "drop-oldest",
// counting memory and disk, across a restart. Real sockets on port 0, in process, LevelDB store.

import t from 'tap'
import { startNSQD, RawConn, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'
import { NSQD as NSQDClass } from '../../nsqd/nsqd.js'

interface TapT { teardown (fn: () => unknown): void }

async function http (nsqd: NSQD, method: string, path: string, body?: string): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${nsqd.httpAddress}${path}`, { method, body })
  return { status: res.status, text: await res.text() }
}

async function stats (nsqd: NSQD, topic: string): Promise<any> {
  const snap = JSON.parse((await http(nsqd, 'GET', `/stats?format=json&topic=${topic}`)).text)
  return snap.topics[0]
}

async function createChannel (nsqd: NSQD, topic: string, channel: string): Promise<void> {
  await http(nsqd, 'POST', `/topic/create?topic=${topic}`)
  const r = await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=${channel}`)
  if (r.status !== 200) throw new Error(`channel/create answered ${r.status}`)
}

async function setConfig (nsqd: NSQD, topic: string, channel: string, config: unknown): Promise<{ status: number, text: string }> {
  return await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=${channel}`, JSON.stringify(config))
}

async function producer (t: TapT, nsqd: NSQD): Promise<RawConn> {
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  return c
}

/** Subscribes with RDY n and reads n messages, FINing each; returns their bodies. */
async function consumeAll (t: TapT, nsqd: NSQD, topic: string, channel: string, n: number): Promise<string[]> {
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, channel, n)
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const m = await c.message(5000)
    out.push(m.body.toString())
    c.write(cmd.fin(m.id))
  }
  return out
}

async function restart (t: TapT, old: NSQD, options: Partial<Options> = {}): Promise<NSQD> {
  await old.close()
  return await startNSQD(t, { ...options, dataPath: old.options.dataPath })
}

t.test('refuse: a full channel refuses PUB, MPUB (all or nothing) and HTTP publishes with the reason; memory overflows to disk', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 2 })
  const topic = uniq('ref')
  const other = uniq('other')
  await createChannel(nsqd, topic, 'ch')
  await createChannel(nsqd, topic, 'free')
  await createChannel(nsqd, other, 'ch')
  const r = await setConfig(nsqd, topic, 'ch', { max_queue_messages: 5 })
  t.equal(r.status, 200, r.text)
  t.match(JSON.parse(r.text).effective, { max_queue_messages: 5, max_queue_bytes: 0, queue_full_policy: 'refuse' })
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!

  const pub = await producer(t, nsqd)
  for (let i = 0; i < 3; i++) t.equal(await pub.publish(topic, `m${i}`), 'OK')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'm3')).status, 200)
  await until(() => ch.backend.depth() === 2, 'two messages on disk')
  // MPUB of 2 with room for 1: refused as a whole
  pub.write(cmd.mpub(topic, ['x1', 'x2']))
  t.equal(await pub.error(), `E_MPUB_FAILED MPUB failed queue full: channel ${topic}:ch holds 4 of max 5 messages`)
  await pub.waitClosed()
  t.equal(ch.depth, 4, 'nothing of the refused MPUB was queued')
  t.equal(nsqd.getExistingTopic(topic)!.getExistingChannel('free')!.depth, 4, 'nor in the other channel')

  const pub2 = await producer(t, nsqd)
  t.equal(await pub2.publish(topic, 'm4'), 'OK', 'the fifth fits')
  pub2.write(cmd.pub(topic, 'm5'))
  t.equal(await pub2.error(), `E_PUB_FAILED PUB failed queue full: channel ${topic}:ch holds 5 of max 5 messages`)
  await pub2.waitClosed()
  const pub3 = await producer(t, nsqd)
  pub3.write(cmd.dpub(topic, 1000, 'late'))
  t.match(await pub3.error(), /^E_DPUB_FAILED DPUB failed queue full: /)
  t.same(await http(nsqd, 'POST', `/pub?topic=${topic}`, 'm5'), { status: 503, text: '{"message":"QUEUE_FULL"}' })
  t.same(await http(nsqd, 'POST', `/mpub?topic=${topic}`, 'a\nb'), { status: 503, text: '{"message":"QUEUE_FULL"}' })

  // other topics are unaffected
  t.equal((await http(nsqd, 'POST', `/pub?topic=${other}`, 'fine')).status, 200)
  const s = await stats(nsqd, topic)
  const sc = s.channels.find((c: any) => c.channel_name === 'ch')
  t.match(sc, { depth: 5, max_queue_messages: 5, max_queue_bytes: 0, queue_full_policy: 'refuse', full_drop_count: 0, queue_bytes: 10 })
  t.notOk('max_queue_messages' in s.channels.find((c: any) => c.channel_name === 'free'), 'a channel without a cap has no cap keys')
  t.equal(s.full_refused_count, 7, 'messages refused (2 + 1 + 1 + 1 + 2), counted on the topic')
  t.notOk('full_refused_count' in (await stats(nsqd, other)), 'nor a topic without any')
  const text = (await http(nsqd, 'GET', '/stats')).text
  t.match(text, /\[ch\s*\] depth: 5 .* limit: 5 msgs 0 bytes refuse bytes: 10 dropped: 0/)
  const metrics = (await http(nsqd, 'GET', '/metrics')).text
  t.match(metrics, new RegExp(`nsq_channel_max_queue_messages\\{topic="${topic}",channel="ch"\\} 5`))
  t.match(metrics, new RegExp(`nsq_topic_full_refused_total\\{topic="${topic}"\\} 7`))

  // consuming makes room again, and every accepted message is there, in order
  t.same(await consumeAll(t, nsqd, topic, 'ch', 1), ['m0'])
  await until(() => ch.depth === 4, 'room for one')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'm5')).status, 200)
  t.same(await consumeAll(t, nsqd, topic, 'free', 6), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
})

t.test('drop-oldest: the oldest queued messages go (memory first, then disk), counted; bytes cap; TCP, MPUB and HTTP', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 2 })
  const topic = uniq('drop')
  await createChannel(nsqd, topic, 'ch')
  await createChannel(nsqd, topic, 'bytes')
  await createChannel(nsqd, topic, 'all')
  t.equal((await setConfig(nsqd, topic, 'ch', { max_queue_messages: 5, queue_full_policy: 'drop-oldest' })).status, 200)
  // bodies are 2 bytes: 7 bytes hold 3 of them
  t.equal((await setConfig(nsqd, topic, 'bytes', { max_queue_bytes: 7, queue_full_policy: 'drop-oldest' })).status, 200)
  const tp = nsqd.getExistingTopic(topic)!
  const ch = tp.getExistingChannel('ch')!
  const by = tp.getExistingChannel('bytes')!
  const pub = await producer(t, nsqd)
  for (let i = 0; i < 4; i++) t.equal(await pub.publish(topic, `m${i}`), 'OK')
  pub.write(cmd.mpub(topic, ['m4', 'm5', 'm6']))
  t.equal(await pub.response(), 'OK', 'drop-oldest never refuses')
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}`, 'm7\nm8')).status, 200)
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'm9')).status, 200)
  await until(() => ch.depth === 5 && by.depth === 3, 'trimmed to the caps')
  t.equal(ch.fullDropCount, 5)
  t.equal(by.fullDropCount, 7)
  t.equal(by.depthBytes, 6)
  const s = await stats(nsqd, topic)
  t.match(s.channels.find((c: any) => c.channel_name === 'ch'), { depth: 5, full_drop_count: 5, queue_full_policy: 'drop-oldest', max_queue_messages: 5 })
  t.match(s.channels.find((c: any) => c.channel_name === 'bytes'), { depth: 3, full_drop_count: 7, queue_bytes: 6, max_queue_bytes: 7 })
  t.match((await http(nsqd, 'GET', '/metrics')).text, new RegExp(`nsq_channel_full_drops_total\\{topic="${topic}",channel="ch"\\} 5`))
  t.same(await consumeAll(t, nsqd, topic, 'ch', 5), ['m5', 'm6', 'm7', 'm8', 'm9'], 'the newest five, in order')
  t.same(await consumeAll(t, nsqd, topic, 'bytes', 3), ['m7', 'm8', 'm9'])
  t.equal(tp.getExistingChannel('all')!.depth, 10, 'a channel without a cap keeps everything')
})

t.test('restart in the middle: caps, queued bytes, counters and every acknowledged message survive; refusal resumes', async (t) => {
  let nsqd = await startNSQD(t, { memQueueSize: 1 })
  const topic = uniq('rs')
  await createChannel(nsqd, topic, 'ch')
  await createChannel(nsqd, topic, 'lossy')
  t.equal((await setConfig(nsqd, topic, 'lossy', { max_queue_messages: 1, queue_full_policy: 'drop-oldest' })).status, 200)
  t.equal((await setConfig(nsqd, topic, 'ch', { max_queue_bytes: 30, queue_full_policy: 'refuse' })).status, 200)
  // the topic's keys are defaults for its channels: ch takes max_queue_messages from it
  t.equal((await http(nsqd, 'POST', `/topic/config?topic=${topic}`, JSON.stringify({ max_queue_messages: 10, queue_full_policy: 'drop-oldest' }))).status, 200)
  const pub = await producer(t, nsqd)
  const sent: string[] = []
  for (let i = 0; i < 10; i++) {
    const body = `msg-${i}-xxxx` // 10 bytes
    pub.write(cmd.pub(topic, body))
    const f = await pub.next()
    if (f.type !== 0) { t.match(f.data.toString(), /^E_PUB_FAILED PUB failed queue full: channel .*:ch holds 30 of max 30 bytes$/); break }
    sent.push(body)
  }
  t.equal(sent.length, 3)
  let ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.depthBytes, 30)
  const lossy = nsqd.getExistingTopic(topic)!.getExistingChannel('lossy')!
  await until(() => lossy.depth === 1, 'lossy trimmed (its oldest is read back from disk first)')
  const before = await stats(nsqd, topic)
  t.match(before, { full_refused_count: 1 })
  t.match(before.channels.find((c: any) => c.channel_name === 'lossy'), { depth: 1, full_drop_count: 2 })
  nsqd = await restart(t, nsqd, { memQueueSize: 1 })
  ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal(ch.depth, 3, 'queued messages back')
  t.equal(ch.depthBytes, 30, 'their bytes known after the restart (b/ key)')
  const after = await stats(nsqd, topic)
  t.match(after, { full_refused_count: 1 }, 'the topic\'s refusal count survives')
  t.match(after.channels.find((c: any) => c.channel_name === 'lossy'), { depth: 1, full_drop_count: 2 }, 'the drop count survives')
  t.match(JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text),
    { config: { max_queue_bytes: 30, queue_full_policy: 'refuse' }, effective: { max_queue_bytes: 30, max_queue_messages: 10, queue_full_policy: 'refuse' } })
  t.same(await http(nsqd, 'POST', `/pub?topic=${topic}`, 'over-cap-1'), { status: 503, text: '{"message":"QUEUE_FULL"}' }, 'still full')
  // (a clean shutdown writes the memory queue after the disk backlog, as NSQ: order may change)
  t.same((await consumeAll(t, nsqd, topic, 'ch', 3)).sort(), sent, 'nothing acknowledged was lost')
  await until(() => ch.depthBytes === 0, 'bytes back to 0')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'room-again')).status, 200)
})

t.test('node-wide flags: a topic without channels (a dead-letter topic) keeps its newest messages under drop-oldest', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 2, maxQueueMessages: 4, queueFullPolicy: 'drop-oldest' })
  const topic = uniq('nw')
  const pub = await producer(t, nsqd)
  for (let i = 0; i < 10; i++) t.equal(await pub.publish(topic, `d${i}`), 'OK')
  const tp = nsqd.getExistingTopic(topic)!
  await until(() => tp.depth === 4, 'the topic trimmed to 4')
  t.equal(tp.fullDropCount, 6)
  const s = await stats(nsqd, topic)
  t.match(s, { depth: 4, max_queue_messages: 4, queue_full_policy: 'drop-oldest', full_drop_count: 6, full_refused_count: 0 })
  t.match((await http(nsqd, 'GET', '/stats')).text, new RegExp(`\\[${topic}\\s*\\] depth: 4 .* limit: 4 msgs 0 bytes drop-oldest bytes: 8 dropped: 6 refused: 0`))
  t.same(await consumeAll(t, nsqd, topic, 'late', 4), ['d6', 'd7', 'd8', 'd9'])
})

t.test('restart with a node-wide drop-oldest cap: a channel exempted by its stored config loses nothing', async (t) => {
  const flags = { memQueueSize: 1, maxQueueMessages: 2, queueFullPolicy: 'drop-oldest' as const }
  let nsqd = await startNSQD(t, flags)
  const topic = uniq('exempt')
  await createChannel(nsqd, topic, 'keep')
  await createChannel(nsqd, topic, 'capped')
  t.equal((await setConfig(nsqd, topic, 'keep', { max_queue_messages: 0 })).status, 200)
  const pub = await producer(t, nsqd)
  for (let i = 0; i < 5; i++) t.equal(await pub.publish(topic, `e${i}`), 'OK')
  const tp = nsqd.getExistingTopic(topic)!
  await until(() => tp.getExistingChannel('capped')!.depth === 2, 'capped trimmed')
  t.equal(tp.getExistingChannel('keep')!.depth, 5)
  nsqd = await restart(t, nsqd, flags)
  const keep = nsqd.getExistingTopic(topic)!.getExistingChannel('keep')!
  // the flags apply before the stored config is loaded: nothing may be trimmed in between
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(keep.depth, 5, 'all five kept after the restart')
  t.equal(keep.fullDropCount, 0)
  t.same((await consumeAll(t, nsqd, topic, 'keep', 5)).sort(), ['e0', 'e1', 'e2', 'e3', 'e4'])
})

t.test('node-wide refuse cap, a dead-letter topic that is full keeps the message in its channel', async (t) => {
  const nsqd = await startNSQD(t, { maxQueueMessages: 1, maxAttempts: 1 })
  const topic = uniq('dlfull')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 1)
  const pub = await producer(t, nsqd)
  t.equal(await pub.publish(topic, 'p1'), 'OK')
  const m1 = await c.message()
  c.write(cmd.req(m1.id, 0))
  const tp = nsqd.getExistingTopic(topic)!
  await until(() => nsqd.getExistingTopic(`${topic}.dead`)?.depth === 1, 'first dead letter')
  t.equal(await pub.publish(topic, 'p2'), 'OK')
  const m2 = await c.message()
  t.equal(m2.body.toString(), 'p2')
  c.write(cmd.req(m2.id, 0))
  // the dead-letter topic is full (1 of max 1): p2 is delivered again rather than lost
  const again = await c.message()
  t.same([again.body.toString(), again.attempts], ['p2', 2])
  t.equal(tp.getExistingChannel('ch')!.deadLetterCount, 1)
})

t.test('bad config and flags: 400 with a token, nothing changes; startup refuses bad flags', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq('bad')
  await createChannel(nsqd, topic, 'ch')
  t.equal((await setConfig(nsqd, topic, 'ch', { max_queue_messages: 10 })).status, 200)
  const cases: Array<[string, string]> = [
    ['{"max_queue_messages":-1}', 'INVALID_MAX_QUEUE_MESSAGES'],
    ['{"max_queue_messages":"10"}', 'INVALID_MAX_QUEUE_MESSAGES'],
    ['{"max_queue_messages":1.5}', 'INVALID_MAX_QUEUE_MESSAGES'],
    ['{"max_queue_bytes":-5}', 'INVALID_MAX_QUEUE_BYTES'],
    ['{"max_queue_bytes":null}', 'INVALID_MAX_QUEUE_BYTES'],
    ['{"queue_full_policy":"block"}', 'INVALID_QUEUE_FULL_POLICY'],
    ['{"queue_full_policy":1}', 'INVALID_QUEUE_FULL_POLICY'],
    ['{"max_queue_size":10}', 'INVALID_CONFIG_KEY']
  ]
  for (const [body, token] of cases) {
    const r = await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=ch`, body)
    t.same([r.status, JSON.parse(r.text)], [400, { message: token }], body)
    const rt = await http(nsqd, 'POST', `/topic/config?topic=${topic}`, body)
    t.same([rt.status, JSON.parse(rt.text)], [400, { message: token }], `topic ${body}`)
  }
  const got = JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text)
  t.same(got.config, { max_queue_messages: 10 }, 'unchanged')
  t.same(JSON.parse((await http(nsqd, 'GET', `/topic/config?topic=${topic}`)).text).config, {})
  t.throws(() => new NSQDClass({ maxQueueMessages: -1 }), /--max-queue-messages must be >= 0/)
  t.throws(() => new NSQDClass({ maxQueueBytes: -1 }), /--max-queue-bytes must be >= 0/)
  t.throws(() => new NSQDClass({ queueFullPolicy: 'block' as never }), /--queue-full-policy must be refuse or drop-oldest/)
})

t.test('off by default: no cap keys in /stats, publishes never refused for size', async (t) => {
  const nsqd = await startNSQD(t, { memQueueSize: 1 })
  const topic = uniq('off')
  await createChannel(nsqd, topic, 'ch')
  const pub = await producer(t, nsqd)
  for (let i = 0; i < 20; i++) t.equal(await pub.publish(topic, `x${i}`), 'OK')
  const s = await stats(nsqd, topic)
  t.notOk('full_refused_count' in s)
  t.notOk('max_queue_messages' in s.channels[0])
  t.notOk('dead_letter_count' in s.channels[0])
  t.notMatch((await http(nsqd, 'GET', '/stats')).text, /limit:/)
})
