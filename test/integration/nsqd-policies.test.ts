// Server-side delivery policies (issue 16, not in NSQ): max attempts with a dead-letter topic, message
// TTL, per-channel config over HTTP persisted in the metadata. Real sockets on port 0, in process.

import t from 'tap'
import { startNSQD, RawConn, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'

interface TapT { teardown (fn: () => unknown): void }

async function http (nsqd: NSQD, method: string, path: string, body?: string): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${nsqd.httpAddress}${path}`, { method, body })
  return { status: res.status, text: await res.text() }
}

async function channelStats (nsqd: NSQD, topic: string, channel: string): Promise<Record<string, unknown>> {
  const res = await http(nsqd, 'GET', `/stats?format=json&topic=${topic}&channel=${channel}`)
  const snap = JSON.parse(res.text) as { topics: Array<{ channels: Array<Record<string, unknown>> }> }
  return snap.topics[0]!.channels[0]!
}

async function createChannel (nsqd: NSQD, topic: string, channel: string): Promise<void> {
  await http(nsqd, 'POST', `/topic/create?topic=${topic}`)
  const r = await http(nsqd, 'POST', `/channel/create?topic=${topic}&channel=${channel}`)
  if (r.status !== 200) throw new Error(`channel/create answered ${r.status}`)
}

async function setConfig (nsqd: NSQD, topic: string, channel: string, config: unknown): Promise<{ status: number, text: string }> {
  return await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=${channel}`, JSON.stringify(config))
}

async function consumer (t: TapT, nsqd: NSQD, topic: string, channel: string, rdy = 1): Promise<RawConn> {
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, channel, rdy)
  return c
}

/** Receives the message and REQs it (no delay) `times` times; returns the attempts seen. */
async function failRepeatedly (c: RawConn, times: number): Promise<number[]> {
  const seen: number[] = []
  for (let i = 0; i < times; i++) {
    const m = await c.message(5000)
    seen.push(m.attempts)
    c.write(cmd.req(m.id, 0))
  }
  return seen
}

async function restart (t: TapT, old: NSQD, options: Partial<Options> = {}): Promise<NSQD> {
  await old.close()
  return await startNSQD(t, { ...options, dataPath: old.options.dataPath })
}

t.test('max_attempts over HTTP: the delivery after the last attempt goes to <topic>.dead, body unchanged, counted', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq('ma')
  const c = await consumer(t, nsqd, topic, 'ch')
  const r = await setConfig(nsqd, topic, 'ch', { max_attempts: 3 })
  t.equal(r.status, 200, r.text)
  t.same(JSON.parse(r.text).effective, { max_attempts: 3, dead_letter_topic: `${topic}.dead`, message_ttl_ms: 0, dead_letter_envelope: 'none', max_queue_messages: 0, max_queue_bytes: 0, queue_full_policy: 'refuse' })
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'payload-1'), 'OK')
  t.same(await failRepeatedly(c, 3), [1, 2, 3], 'exactly max_attempts deliveries')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.deadLetterCount === 1, 'the dead letter')
  t.ok(await c.quiet(50), 'attempt 4 is never delivered')
  t.equal(ch.depth + ch.inFlight.size + ch.deferred.size, 0, 'the channel no longer has it')

  const dead = await consumer(t, nsqd, `${topic}.dead`, 'inspect')
  const m = await dead.message(5000)
  t.equal(m.body.toString(), 'payload-1', 'same body')
  t.equal(m.attempts, 1, 'a fresh message in the dead-letter topic')
  dead.write(cmd.fin(m.id))

  const s = await channelStats(nsqd, topic, 'ch')
  t.equal(s.dead_letter_count, 1, '/stats JSON dead_letter_count')
  t.equal(s.expired_count, 0)
  t.match((await http(nsqd, 'GET', '/stats')).text, /dead: 1 expired: 0/, '/stats text')
  t.match((await http(nsqd, 'GET', '/metrics')).text, new RegExp(`nsq_channel_dead_letters_total\\{[^}]*channel="ch"[^}]*\\} 1`), '/metrics')
  const got = JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text)
  t.same(got.config, { max_attempts: 3 })
  t.equal(got.dead_letter_count, 1)
})

t.test('--max-attempts node-wide, a configured dead-letter topic and the JSON envelope', async (t) => {
  const nsqd = await startNSQD(t, { maxAttempts: 2 })
  const topic = uniq('nw')
  const c = await consumer(t, nsqd, topic, 'ch')
  const other = await consumer(t, nsqd, topic, 'plain')
  t.equal((await setConfig(nsqd, topic, 'ch', { dead_letter_topic: 'graveyard', dead_letter_envelope: 'json' })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'x'), 'OK')
  t.same(await failRepeatedly(c, 2), [1, 2], 'the flag applies')
  t.same(await failRepeatedly(other, 2), [1, 2], 'and to a channel without config')
  const grave = await consumer(t, nsqd, 'graveyard', 'g')
  const m = await grave.message(5000)
  const env = JSON.parse(m.body.toString())
  t.match(env, { topic, channel: 'ch', attempts: 2, reason: 'max_attempts', last_error: 'requeued' })
  t.equal(Buffer.from(env.body, 'base64').toString(), 'x')
  t.type(env.timestamp, 'number')
  await until(() => nsqd.getExistingTopic(`${topic}.dead`) !== undefined, 'plain channel dead letter')
  t.equal(nsqd.getExistingTopic(topic)!.getExistingChannel('plain')!.deadLetterCount, 1)
})

t.test('the JSON envelope names a timeout as the last error; a TTL expiry before any attempt has none', async (t) => {
  const nsqd = await startNSQD(t, { queueScanIntervalMs: 10 })
  const topic = uniq('le')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify({ msg_timeout: 1000 })
  await c.subscribe(topic, 'ch', 1)
  t.equal((await setConfig(nsqd, topic, 'ch', { max_attempts: 1, dead_letter_topic: 'le_grave', dead_letter_envelope: 'json' })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'slow'), 'OK')
  const first = await c.message(5000)
  t.equal(first.attempts, 1)
  // never FINed: msg_timeout ends the attempt, and the next delivery goes to the dead-letter topic
  const grave = await consumer(t, nsqd, 'le_grave', 'g')
  const dl = await grave.message(5000)
  grave.write(cmd.fin(dl.id))
  t.match(JSON.parse(dl.body.toString()), { topic, channel: 'ch', attempts: 1, reason: 'max_attempts', last_error: 'timeout' })

  await createChannel(nsqd, topic, 'ttl')
  t.equal((await setConfig(nsqd, topic, 'ttl', { message_ttl_ms: 1, dead_letter_topic: 'le_grave', dead_letter_envelope: 'json' })).status, 200)
  const sent = Date.now()
  t.equal(await pub.publish(topic, 'old'), 'OK')
  await until(() => Date.now() > sent + 3, 'the TTL to pass')
  await consumer(t, nsqd, topic, 'ttl')
  const env2 = JSON.parse((await grave.message(5000)).body.toString())
  t.match(env2, { channel: 'ttl', attempts: 0, reason: 'ttl', last_error: null })
})

t.test('off by default: attempts keep counting past any limit, no dead-letter topic, /stats as NSQ', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq('off')
  const c = await consumer(t, nsqd, topic, 'ch')
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'y'), 'OK')
  t.same(await failRepeatedly(c, 6), [1, 2, 3, 4, 5, 6])
  t.equal(nsqd.getExistingTopic(`${topic}.dead`), undefined)
  const s = await channelStats(nsqd, topic, 'ch')
  t.notOk('dead_letter_count' in s, 'no extra stats keys')
  t.notOk('expired_count' in s)
  t.notMatch((await http(nsqd, 'GET', '/stats')).text, /dead:/)
})

t.test('bad config: 400 with a token, nothing changes', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq('bad')
  await createChannel(nsqd, topic, 'ch')
  t.equal((await setConfig(nsqd, topic, 'ch', { max_attempts: 4 })).status, 200)
  const cases: Array<[string, string]> = [
    ['{"max_attempts":-1}', 'INVALID_MAX_ATTEMPTS'],
    ['{"max_attempts":"5"}', 'INVALID_MAX_ATTEMPTS'],
    ['{"max_attempts":70000}', 'INVALID_MAX_ATTEMPTS'],
    [`{"dead_letter_topic":"${topic}"}`, 'INVALID_DEAD_LETTER_TOPIC'],
    ['{"dead_letter_topic":"bad name!"}', 'INVALID_DEAD_LETTER_TOPIC'],
    ['{"message_ttl_ms":1.5}', 'INVALID_MESSAGE_TTL'],
    ['{"dead_letter_envelope":"xml"}', 'INVALID_ENVELOPE'],
    ['{"max_attempt":3}', 'INVALID_CONFIG_KEY'],
    ['[1]', 'INVALID_JSON'],
    ['{not json', 'INVALID_JSON']
  ]
  for (const [body, token] of cases) {
    const r = await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=ch`, body)
    t.equal(r.status, 400, body)
    t.same(JSON.parse(r.text), { message: token }, body)
  }
  t.equal((await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=nope`, '{}')).status, 404)
  t.same(JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text).config, { max_attempts: 4 }, 'unchanged')
})

t.test('the config survives a restart (metadata) and still applies', async (t) => {
  let nsqd = await startNSQD(t)
  const topic = uniq('persist')
  await createChannel(nsqd, topic, 'ch')
  t.equal((await setConfig(nsqd, topic, 'ch', { max_attempts: 1, dead_letter_topic: 'persist_dead', message_ttl_ms: 600000 })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'kept'), 'OK')
  nsqd = await restart(t, nsqd)
  const got = JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text)
  t.same(got.config, { max_attempts: 1, dead_letter_topic: 'persist_dead', message_ttl_ms: 600000 })
  const c = await consumer(t, nsqd, topic, 'ch')
  t.same(await failRepeatedly(c, 1), [1])
  const dead = await consumer(t, nsqd, 'persist_dead', 'd')
  t.equal((await dead.message(5000)).body.toString(), 'kept')
  t.equal((await setConfig(nsqd, topic, 'ch', {})).status, 200, 'an empty object clears it')
  nsqd = await restart(t, nsqd)
  t.same(JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=ch`)).text).config, {})
})

t.test('durable mode: a dead letter and its removal from the channel survive a restart together', async (t) => {
  const durable = { memQueueSize: 0, syncEvery: 1 }
  let nsqd = await startNSQD(t, durable)
  const topic = uniq('dur')
  const c = await consumer(t, nsqd, topic, 'ch')
  t.equal((await setConfig(nsqd, topic, 'ch', { max_attempts: 2 })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'd1'), 'OK')
  t.same(await failRepeatedly(c, 2), [1, 2])
  await until(() => nsqd.getExistingTopic(`${topic}.dead`)?.depth === 1, 'dead letter stored')
  nsqd = await restart(t, nsqd, durable)
  t.equal(nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!.depth, 0, 'not back in the channel')
  t.equal((await channelStats(nsqd, topic, 'ch')).dead_letter_count, 1, 'dead_letter_count survives the restart (stored with the queue)')
  const dead = await consumer(t, nsqd, `${topic}.dead`, 'd')
  t.equal((await dead.message(5000)).body.toString(), 'd1', 'in the dead-letter topic')
})

t.test('TTL: an expired message is dropped, or dead-lettered when dead-lettering is on; expired_count', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq('ttl')
  await createChannel(nsqd, topic, 'drop')
  await createChannel(nsqd, topic, 'dl')
  t.equal((await setConfig(nsqd, topic, 'drop', { message_ttl_ms: 50 })).status, 200)
  t.equal((await setConfig(nsqd, topic, 'dl', { message_ttl_ms: 50, dead_letter_topic: `${topic}.exp` })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'old'), 'OK')
  const published = Date.now()
  await until(() => Date.now() - published > 120, 'the TTL to pass', 2000)
  t.equal(await pub.publish(topic, 'fresh'), 'OK')
  const drop = await consumer(t, nsqd, topic, 'drop', 10)
  const dl = await consumer(t, nsqd, topic, 'dl', 10)
  t.equal((await drop.message(5000)).body.toString(), 'fresh', 'the expired one is skipped')
  t.equal((await dl.message(5000)).body.toString(), 'fresh')
  const sd = await channelStats(nsqd, topic, 'drop')
  t.equal(sd.expired_count, 1)
  t.equal(sd.dead_letter_count, 0, 'dropped')
  const sl = await channelStats(nsqd, topic, 'dl')
  t.equal(sl.expired_count, 1)
  t.equal(sl.dead_letter_count, 1)
  const exp = await consumer(t, nsqd, `${topic}.exp`, 'e')
  t.equal((await exp.message(5000)).body.toString(), 'old')
  t.match((await http(nsqd, 'GET', '/metrics')).text, new RegExp(`nsq_channel_expired_total\\{[^}]*channel="drop"[^}]*\\} 1`))
})

t.test('TTL across a restart: a backlogged and a deferred message that expired while nsqd was down are not delivered', async (t) => {
  const opts = { memQueueSize: 1 }
  let nsqd = await startNSQD(t, opts)
  const topic = uniq('ttlrestart')
  await createChannel(nsqd, topic, 'ch')
  t.equal((await setConfig(nsqd, topic, 'ch', { message_ttl_ms: 300, dead_letter_topic: `${topic}.exp` })).status, 200)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  pub.write(cmd.mpub(topic, ['old1', 'old2', 'old3'])) // one in memory, two on disk
  t.equal((await pub.next()).data.toString(), 'OK')
  pub.write(cmd.dpub(topic, 100, 'deferred'))
  t.equal((await pub.next()).data.toString(), 'OK')
  const published = Date.now()
  nsqd = await restart(t, nsqd, opts)
  await until(() => Date.now() - published > 400, 'the TTL to pass', 2000)
  const pub2 = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub2.publish(topic, 'fresh'), 'OK')
  const c = await consumer(t, nsqd, topic, 'ch', 10)
  t.equal((await c.message(5000)).body.toString(), 'fresh', 'only the message published after the restart is delivered')
  t.ok(await c.quiet(150), 'nothing else')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.expiredCount === 4, 'all four expired', 5000)
  const exp = await consumer(t, nsqd, `${topic}.exp`, 'e', 10)
  const dead: string[] = []
  for (let i = 0; i < 4; i++) dead.push((await exp.message(5000)).body.toString())
  t.same(dead.sort(), ['deferred', 'old1', 'old2', 'old3'], 'the config survived the restart: all four went to the dead-letter topic')
})

t.test('--message-ttl node-wide expires a deferred message at its delivery', async (t) => {
  const nsqd = await startNSQD(t, { messageTtlMs: 100 })
  const topic = uniq('ttlflag')
  const c = await consumer(t, nsqd, topic, 'ch', 10)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  pub.write(cmd.dpub(topic, 200, 'late'))
  t.equal((await pub.next()).data.toString(), 'OK')
  t.equal(await pub.publish(topic, 'now'), 'OK')
  t.equal((await c.message(5000)).body.toString(), 'now')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.expiredCount === 1, 'the deferred message to expire', 5000)
  t.ok(await c.quiet(50), 'never delivered')
  t.equal(ch.deadLetterCount, 0)
  t.equal(nsqd.getExistingTopic(`${topic}.dead`), undefined, 'dropped: dead-lettering is off')
})

t.test('--max-defer-timeout: DPUB, /pub?defer= and /mpub?defer= up to it; REQ keeps --max-req-timeout', async (t) => {
  const hour = 3600_000
  const nsqd = await startNSQD(t, { maxDeferTimeoutMs: 2 * hour })
  const topic = uniq('defer')
  await createChannel(nsqd, topic, 'ch')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  pub.write(cmd.dpub(topic, 1.5 * hour, 'long'))
  t.equal(await pub.response(), 'OK', 'DPUB past --max-req-timeout')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}&defer=${1.5 * hour}`, 'p')).status, 200)
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}&defer=${hour + 1}`, 'a\nb')).status, 200)
  t.same(JSON.parse((await http(nsqd, 'POST', `/mpub?topic=${topic}&defer=${2 * hour + 1}`, 'c')).text), { message: 'INVALID_DEFER' })
  t.same(JSON.parse((await http(nsqd, 'POST', `/pub?topic=${topic}&defer=${2 * hour + 1}`, 'c')).text), { message: 'INVALID_DEFER' })
  await until(() => ch.deferred.size === 4, 'four deferred messages')
  t.equal(ch.depth, 0, 'none delivered early')
  pub.write(cmd.dpub(topic, 2 * hour + 1, 'too long'))
  t.equal((await pub.error()), `E_INVALID DPUB timeout ${2 * hour + 1} out of range 0-${2 * hour}`)
  await pub.waitClosed()
  t.equal(nsqd.options.maxReqTimeoutMs, hour, 'REQ keeps its own cap')
})

t.test('without --max-defer-timeout: NSQ 1.3 (DPUB capped by --max-req-timeout, /mpub ignores defer)', async (t) => {
  const hour = 3600_000
  const nsqd = await startNSQD(t)
  const topic = uniq('defer0')
  await createChannel(nsqd, topic, 'ch')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  t.equal((await http(nsqd, 'POST', `/mpub?topic=${topic}&defer=5000`, 'a\nb')).status, 200)
  await until(() => ch.depth === 2, 'delivered at once')
  t.equal(ch.deferred.size, 0)
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  pub.write(cmd.dpub(topic, hour + 1, 'x'))
  t.equal(await pub.error(), `E_INVALID DPUB timeout ${hour + 1} out of range 0-${hour}`)
})

t.test('/topic/config: defaults for every channel of the topic, a channel key wins, persisted', async (t) => {
  let nsqd = await startNSQD(t)
  const topic = uniq('tc')
  await createChannel(nsqd, topic, 'a')
  await createChannel(nsqd, topic, 'b')
  let r = await http(nsqd, 'POST', `/topic/config?topic=${topic}`, JSON.stringify({ max_attempts: 1, message_ttl_ms: 3600000 }))
  t.equal(r.status, 200, r.text)
  t.equal((await setConfig(nsqd, topic, 'b', { max_attempts: 0 })).status, 200, 'b: unlimited, overriding the topic')
  await createChannel(nsqd, topic, 'c')
  const view = async (ch: string): Promise<{ max_attempts: number, message_ttl_ms: number }> =>
    JSON.parse((await http(nsqd, 'GET', `/channel/config?topic=${topic}&channel=${ch}`)).text).effective
  t.match(await view('a'), { max_attempts: 1, message_ttl_ms: 3600000 })
  t.match(await view('b'), { max_attempts: 0, message_ttl_ms: 3600000 })
  t.match(await view('c'), { max_attempts: 1 }, 'a channel created later gets the topic config')
  r = await http(nsqd, 'POST', `/topic/config?topic=${topic}`, JSON.stringify({ dead_letter_topic: topic }))
  t.same([r.status, JSON.parse(r.text)], [400, { message: 'INVALID_DEAD_LETTER_TOPIC' }])
  t.equal((await http(nsqd, 'POST', `/topic/config?topic=${uniq('none')}`, '{}')).status, 404)
  nsqd = await restart(t, nsqd)
  t.same(JSON.parse((await http(nsqd, 'GET', `/topic/config?topic=${topic}`)).text).config, { max_attempts: 1, message_ttl_ms: 3600000 })
  t.match(await view('a'), { max_attempts: 1 })
  t.match(await view('b'), { max_attempts: 0 })
  const pub = await RawConn.connect(t, nsqd.tcpAddress)
  t.equal(await pub.publish(topic, 'one'), 'OK')
  const ca = await consumer(t, nsqd, topic, 'a')
  const cb = await consumer(t, nsqd, topic, 'b')
  t.same(await failRepeatedly(ca, 1), [1])
  t.same(await failRepeatedly(cb, 3), [1, 2, 3], 'b keeps redelivering')
  await until(() => nsqd.getExistingTopic(topic)!.getExistingChannel('a')!.deadLetterCount === 1, 'a dead-letters')
})

t.test('metadata: configs round-trip; a damaged stored config is ignored with a warning, the channel kept', async (t) => {
  const { encodeMetadata, decodeMetadata } = await import('../../nsqd/store/metadata.js')
  const { Packr } = await import('msgpackr')
  const meta = { topics: [{ name: 'a', paused: false, config: { message_ttl_ms: 5 }, channels: [{ name: 'c', paused: true, config: { max_attempts: 2, dead_letter_envelope: 'json' as const } }, { name: 'd', paused: false }] }] }
  t.same(decodeMetadata(encodeMetadata(meta)), meta)
  const warnings: string[] = []
  const logger = { info: () => {}, warn: (m: string) => { warnings.push(m) }, error: () => {} }
  const bad = new Packr({ useRecords: false }).pack({ version: 1, topics: [{ name: 'a', paused: false, channels: [{ name: 'c', paused: false, config: { max_attempts: -3 } }] }] })
  t.same(decodeMetadata(bad, logger as never), { topics: [{ name: 'a', paused: false, channels: [{ name: 'c', paused: false }] }] })
  t.match(warnings.join('\n'), /ignoring the stored config of channel a:c - INVALID_MAX_ATTEMPTS/)
})
