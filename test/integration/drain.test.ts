// Drain mode (nsqd/drain.ts) against an in-process nsqd over real sockets: the exact refusals over
// TCP and HTTP, GET/PUT /config/draining, the /info and /stats fields (absent on a normal node),
// what keeps a drain waiting (queued, in flight, deferred, a topic without channels), cancelling.

import t from 'tap'
import { startNSQD, RawConn, uniq, until } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'
import type { NSQD } from '../../nsqd/nsqd.js'

async function http (nsqd: NSQD, method: string, path: string, body?: string): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${nsqd.httpAddress}${path}`, { method, body })
  return { status: res.status, text: await res.text() }
}

async function stats (nsqd: NSQD): Promise<any> {
  return JSON.parse((await http(nsqd, 'GET', '/stats?format=json')).text)
}

t.test('a normal node: no draining field in /info or /stats, GET /config/draining is false', async (t) => {
  const nsqd = await startNSQD(t)
  const info = JSON.parse((await http(nsqd, 'GET', '/info')).text)
  t.notOk('draining' in info, '/info has no draining field')
  const s = await stats(nsqd)
  t.notOk('draining' in s, '/stats has no draining field')
  t.same(await http(nsqd, 'GET', '/config/draining'), { status: 200, text: 'false' })
  t.same(await http(nsqd, 'PUT', '/config/draining', 'yes'), { status: 400, text: '{"message":"INVALID_VALUE"}' })
  t.same(await http(nsqd, 'PUT', '/config/draining', 'false'), { status: 200, text: 'false' }, 'false on a normal node changes nothing')
})

t.test('draining: publishes and SUBs refused with exact errors, consumers finish, then drained', async (t) => {
  const nsqd = await startNSQD(t)
  let drained = 0
  nsqd.drain.onDrained = () => { drained++ }
  const topic = uniq('drain')
  const consumer = await RawConn.connect(t, nsqd.tcpAddress)
  await consumer.identify()
  await consumer.subscribe(topic, 'ch')
  for (let i = 0; i < 3; i++) t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, `m${i}`)).status, 200)
  t.same(await http(nsqd, 'PUT', '/config/draining', 'true'), { status: 200, text: 'true' })
  t.same(await http(nsqd, 'GET', '/config/draining'), { status: 200, text: 'true' })

  // HTTP publishes: 503 DRAINING, and no topic is created for them
  t.same(await http(nsqd, 'POST', `/pub?topic=${topic}`, 'late'), { status: 503, text: '{"message":"DRAINING"}' })
  t.same(await http(nsqd, 'POST', `/mpub?topic=${topic}`, 'a\nb'), { status: 503, text: '{"message":"DRAINING"}' })
  t.equal((await http(nsqd, 'POST', '/pub?topic=never_made', 'x')).status, 503)
  t.notOk(nsqd.topics.has('never_made'))

  // TCP: each refusal is the verb's E_*_FAILED with the reason, and closes the connection (as nsqd's FATAL errors)
  const refusals: Array<[Buffer, string]> = [
    [cmd.pub(topic, 'late'), 'E_PUB_FAILED PUB failed draining'],
    [cmd.mpub(topic, ['a', 'b']), 'E_MPUB_FAILED MPUB failed draining'],
    [cmd.dpub(topic, 1000, 'late'), 'E_DPUB_FAILED DPUB failed draining'],
    [cmd.sub(topic, 'other'), 'E_SUB_FAILED SUB failed draining']
  ]
  for (const [command, expected] of refusals) {
    const c = await RawConn.connect(t, nsqd.tcpAddress)
    await c.identify()
    c.write(command)
    t.equal(await c.error(), expected)
    await c.waitClosed()
  }
  t.notOk(nsqd.getExistingTopic(topic)!.channels.has('other'), 'the refused SUB made no channel')

  // /info and /stats say so; 3 messages still to deliver
  t.equal(JSON.parse((await http(nsqd, 'GET', '/info')).text).draining, true)
  let s = await stats(nsqd)
  t.equal(s.draining, true)
  t.equal(s.drain_remaining, 3)
  t.same(s.drain_stuck_topics, [])

  // the connected consumer still gets every message; one REQ'd with a delay (deferred) keeps the drain waiting
  consumer.write(cmd.rdy(10))
  const got: string[] = []
  const first = await consumer.message()
  consumer.write(cmd.req(first.id.toString(), 200))
  for (let i = 0; i < 2; i++) {
    const m = await consumer.message()
    got.push(m.body.toString())
    consumer.write(cmd.fin(m.id.toString()))
  }
  await until(async () => (await stats(nsqd)).drain_remaining === 1, 'two finished, one deferred')
  t.equal(drained, 0, 'a deferred message keeps the drain waiting')
  const again = await consumer.message()
  t.equal(again.id.toString(), first.id.toString())
  t.equal(drained, 0, 'an in-flight message keeps the drain waiting')
  got.push(again.body.toString())
  consumer.write(cmd.fin(again.id.toString()))
  await until(() => drained === 1, 'drained')
  t.same(got.sort(), ['m0', 'm1', 'm2'], 'nothing lost')
  s = await stats(nsqd)
  t.equal(s.drain_remaining, 0)
  t.same(await http(nsqd, 'PUT', '/config/draining', 'false'), { status: 400, text: '{"message":"INVALID_VALUE"}' }, 'a finished drain cannot be cancelled')
  t.equal(drained, 1, 'onDrained runs once')
})

t.test('a topic without channels keeps the drain waiting and is reported; a cancelled drain takes publishes again', async (t) => {
  const nsqd = await startNSQD(t)
  let drained = 0
  nsqd.drain.onDrained = () => { drained++ }
  const topic = uniq('stuck')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'orphan')).status, 200)
  t.equal((await http(nsqd, 'PUT', '/config/draining', 'true')).status, 200)
  const s = await stats(nsqd)
  t.equal(s.drain_remaining, 1)
  t.same(s.drain_stuck_topics, [topic])
  // several drain checks (every 100 ms) pass without finishing
  const c0 = await RawConn.connect(t, nsqd.tcpAddress)
  t.ok(await c0.quiet(300), 'idle')
  t.equal(drained, 0, 'not drained while the topic holds a message')
  t.same(await http(nsqd, 'PUT', '/config/draining', 'false'), { status: 200, text: 'false' })
  t.notOk('draining' in (await stats(nsqd)))
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'again')).status, 200, 'publishes taken again')
  // a consumer can subscribe again, and the topic's messages reach it
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 5)
  t.equal((await c.message()).body.toString(), 'orphan')
  t.equal(drained, 0)
})

t.test('a dead-letter topic without channels does not hold a drain up: reported, logged, left in the store', async (t) => {
  const nsqd = await startNSQD(t)
  let drained = 0
  nsqd.drain.onDrained = () => { drained++ }
  const topic = uniq('dlq')
  const c = await RawConn.connect(t, nsqd.tcpAddress)
  await c.identify()
  await c.subscribe(topic, 'ch', 1)
  t.equal((await http(nsqd, 'POST', `/channel/config?topic=${topic}&channel=ch`, '{"max_attempts":1}')).status, 200)
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'poison')).status, 200)
  const first = await c.message()
  t.equal(first.body.toString(), 'poison')
  c.write(cmd.req(first.id, 0))
  await until(() => nsqd.getExistingTopic(`${topic}.dead`)?.depth === 1, 'the dead letter')
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}`, 'fine')).status, 200)
  const second = await c.message()
  t.equal(second.body.toString(), 'fine')
  // an ordinary topic without channels still blocks
  t.equal((await http(nsqd, 'POST', `/pub?topic=${topic}_orphan`, 'x')).status, 200)

  t.equal((await http(nsqd, 'PUT', '/config/draining', 'true')).status, 200)
  let s = await stats(nsqd)
  t.same(s.drain_stuck_topics, [`${topic}_orphan`])
  t.same(s.drain_dead_letter_topics, [`${topic}.dead`])
  t.equal(s.drain_remaining, 2, 'the orphan and the in-flight message, not the dead letter')
  t.equal((await http(nsqd, 'POST', `/topic/delete?topic=${topic}_orphan`)).status, 200)
  c.write(cmd.fin(second.id))
  await until(() => drained === 1, 'drained with the dead letter still parked')
  s = await stats(nsqd)
  t.equal(s.drain_remaining, 0)
  t.same(s.drain_dead_letter_topics, [`${topic}.dead`])
  t.equal(nsqd.getExistingTopic(`${topic}.dead`)!.depth, 1, 'the dead letter is kept')
  const lines = (nsqd.logger as unknown as { lines: string[] }).lines.join('')
  t.match(lines, `NSQ: drained: every message delivered; dead letters left in the store: ${topic}.dead (1)`)
})
