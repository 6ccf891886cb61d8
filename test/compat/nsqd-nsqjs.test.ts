// Compatibility with the real nsqjs client from npm against our nsqd.

import t from 'tap'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { startNSQD, uniq, until, hostPort } from '../helpers/nsqd.js'
import type { NSQD } from '../../nsqd/nsqd.js'

type NsqjsMessage = Nsq.Message
interface TapLike { teardown (fn: () => unknown): void }

async function writer (t: TapLike, nsqd: NSQD): Promise<Nsq.Writer> {
  const { host, port } = hostPort(nsqd.tcpAddress)
  const w = new nsq.Writer(host, port)
  w.connect()
  await new Promise<void>((resolve, reject) => { w.once('ready', () => { resolve() }); w.once('error', reject) })
  t.teardown(() => { w.close() })
  return w
}

function publish (w: Nsq.Writer, topic: string, msgs: string | string[]): Promise<void> {
  return new Promise((resolve, reject) => { w.publish(topic, msgs, (err?: Error) => { if (err) reject(err); else resolve() }) })
}

function reader (t: TapLike, nsqd: NSQD, topic: string, channel: string, opts: Record<string, unknown> = {}): Nsq.Reader {
  const r = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [nsqd.tcpAddress], maxInFlight: 100, ...opts })
  r.on('error', () => {})
  t.teardown(() => { r.close() })
  return r
}

t.test('a Writer publishes 10,000 messages and a Reader consumes them all with FIN', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const w = await writer(t, nsqd)
  const N = 10000
  for (let i = 0; i < N; i += 200) {
    await publish(w, topic, Array.from({ length: 200 }, (_, k) => `msg-${i + k}`))
  }
  const seen = new Set<string>()
  const r = reader(t, nsqd, topic, 'ch', { maxInFlight: 500 })
  await new Promise<void>((resolve) => {
    r.on('message', (m: NsqjsMessage) => {
      seen.add(m.body.toString())
      m.finish()
      if (seen.size === N) resolve()
    })
    r.connect()
  })
  t.equal(seen.size, N, 'every message arrived')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.inFlight.size === 0, 'all FINed')
  t.equal(ch.depth, 0)
  t.equal(ch.messageCount, N)
})

t.test('REQ redelivers with attempts+1', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const w = await writer(t, nsqd)
  await publish(w, topic, 'again')
  const attempts: number[] = []
  const r = reader(t, nsqd, topic, 'ch')
  await new Promise<void>((resolve) => {
    r.on('message', (m: NsqjsMessage) => {
      attempts.push(m.attempts)
      if (m.attempts < 3) m.requeue(0, false)
      else { m.finish(); resolve() }
    })
    r.connect()
  })
  t.same(attempts, [1, 2, 3])
})

t.test('an un-FINed message comes back after msg_timeout; TOUCH holds it', async (t) => {
  const nsqd = await startNSQD(t, { msgTimeoutMs: 400 })
  const topic = uniq()
  const w = await writer(t, nsqd)
  await publish(w, topic, 'slow')
  const deliveries: Array<{ attempts: number, at: number }> = []
  const r = reader(t, nsqd, topic, 'ch')
  await new Promise<void>((resolve) => {
    r.on('message', (m: NsqjsMessage) => {
      deliveries.push({ attempts: m.attempts, at: Date.now() })
      if (m.attempts === 1) return // let it time out
      // second delivery: keep it alive with TOUCH for 3 timeouts, then FIN
      const timer = setInterval(() => { m.touch() }, 120)
      setTimeout(() => { clearInterval(timer); m.finish(); resolve() }, 1200)
    })
    r.connect()
  })
  t.equal(deliveries.length, 2, 'exactly one redelivery: the touched one did not time out')
  t.equal(deliveries[1]!.attempts, 2)
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.inFlight.size === 0, 'FINed')
  t.equal(ch.timeoutCount, 1)
})

t.test('two channels each get every message; two Readers on one channel share without loss', async (t) => {
  const nsqd = await startNSQD(t)
  const topic = uniq()
  const N = 2000
  const a = new Set<string>()
  const b1: string[] = []
  const b2: string[] = []
  const ra = reader(t, nsqd, topic, 'A')
  const rb1 = reader(t, nsqd, topic, 'B', { maxInFlight: 10 })
  const rb2 = reader(t, nsqd, topic, 'B', { maxInFlight: 10 })
  const done = new Promise<void>((resolve) => {
    const check = (): void => { if (a.size === N && new Set([...b1, ...b2]).size === N) resolve() }
    ra.on('message', (m: NsqjsMessage) => { a.add(m.body.toString()); m.finish(); check() })
    rb1.on('message', (m: NsqjsMessage) => { b1.push(m.body.toString()); m.finish(); check() })
    rb2.on('message', (m: NsqjsMessage) => { b2.push(m.body.toString()); m.finish(); check() })
  })
  await Promise.all([ra, rb1, rb2].map((r) => new Promise<void>((resolve) => { r.once('nsqd_connected', () => { resolve() }); r.connect() })))
  await until(() => nsqd.getExistingTopic(topic)?.getExistingChannel('B')?.clientCount === 2, 'both B readers subscribed')
  const w = await writer(t, nsqd)
  for (let i = 0; i < N; i += 100) await publish(w, topic, Array.from({ length: 100 }, (_, k) => `m${i + k}`))
  await done
  t.equal(a.size, N, 'channel A got every message')
  t.equal(new Set([...b1, ...b2]).size, N, 'channel B got every message')
  t.ok(b1.length > 0 && b2.length > 0, `both B readers got a share (${b1.length}/${b2.length})`)
})

t.test('delivery policies: an always-failing nsqjs handler sees exactly max_attempts deliveries, then the message is in <topic>.dead', async (t) => {
  const nsqd = await startNSQD(t, { maxAttempts: 3 })
  const topic = uniq()
  const w = await writer(t, nsqd)
  await publish(w, topic, 'doomed')
  const attempts: number[] = []
  const errors: Error[] = []
  const r = reader(t, nsqd, topic, 'ch')
  r.on('error', (e: Error) => { errors.push(e) })
  r.on('message', (m: NsqjsMessage) => {
    if (m.body.toString() === 'doomed') { attempts.push(m.attempts); m.requeue(0, false) } else m.finish()
  })
  r.connect()
  await until(() => nsqd.getExistingTopic(topic)?.getExistingChannel('ch') !== undefined, 'the channel')
  const ch = nsqd.getExistingTopic(topic)!.getExistingChannel('ch')!
  await until(() => ch.deadLetterCount === 1, 'the dead letter', 10_000)
  t.same(attempts, [1, 2, 3], 'exactly max_attempts deliveries')
  const dead = reader(t, nsqd, `${topic}.dead`, 'inspect')
  const body = await new Promise<string>((resolve) => {
    dead.on('message', (m: NsqjsMessage) => { m.finish(); resolve(m.body.toString()) })
    dead.connect()
  })
  t.equal(body, 'doomed', 'the plain body, readable by nsqjs')
  // the failing reader is still healthy: a later message reaches it and is FINed
  await publish(w, topic, 'fine')
  await until(() => ch.messageCount === 2 && ch.depth === 0 && ch.inFlight.size === 0, 'the next message consumed', 10_000)
  t.same(attempts, [1, 2, 3], 'no further delivery of the dead letter')
  t.same(errors, [], 'no error on the nsqjs reader')
})
