// Drain mode with separate processes: nsqlookupd + nsqd, a slow consumer found through lookupd,
// a drain started over HTTP (and by SIGUSR2): publishes and new SUBs refused, the consumer gets
// every message, lookupd stops listing the node, and the node exits 0 by itself (or, with
// --drain-exit=false, stays up empty).

import t from 'tap'
import nsq from 'nsqjs'
import type * as Nsq from 'nsqjs'
import { spawnDaemon, getJson, type Daemon } from '../helpers/procs.js'
import { RawConn, tmpDir, until, uniq } from '../helpers/nsqd.js'
import * as cmd from '../../client/wire/commands.js'

const producers = async (lookupd: Daemon, topic: string): Promise<number> => {
  const r = await getJson(`http://${lookupd.http}/lookup?topic=${topic}`)
  return (r?.producers ?? []).length
}

async function http (addr: string, method: string, path: string, body?: string): Promise<{ status: number, text: string }> {
  const res = await fetch(`http://${addr}${path}`, { method, body })
  return { status: res.status, text: await res.text() }
}

t.test('drain over HTTP: refusals, the slow consumer finishes, lookupd forgets the node, exit 0, nothing lost', async (t) => {
  const lookupd = await spawnDaemon(t, 'lookupd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', '--log-level=warn'])
  const node = await spawnDaemon(t, 'nsqd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1',
    `--data-path=${tmpDir(t)}`, '--lookupd-ping-interval=250ms', '--log-level=info', `--lookupd-tcp-address=${lookupd.tcp}`])
  const topic = uniq('drain')
  const N = 60
  const bodies = Array.from({ length: N }, (_, i) => `msg-${i}`)
  t.equal((await http(node.http, 'POST', `/topic/create?topic=${topic}`)).status, 200)
  t.equal((await http(node.http, 'POST', `/channel/create?topic=${topic}&channel=ch`)).status, 200)
  t.equal((await http(node.http, 'POST', `/mpub?topic=${topic}`, bodies.join('\n'))).status, 200)
  await until(async () => (await producers(lookupd, topic)) === 1, 'lookupd lists the node', 8000)

  // a consumer that knows only lookupd, one message at a time, each finished 25 ms later
  const got: string[] = []
  const reader = new nsq.Reader(topic, 'ch', { lookupdHTTPAddresses: [lookupd.http], lookupdPollInterval: 1, maxInFlight: 1 })
  reader.on('error', () => {})
  t.teardown(() => { reader.close() })
  reader.on('message', (m: Nsq.Message) => {
    setTimeout(() => { got.push(m.body.toString()); m.finish() }, 25)
  })
  reader.connect()
  await until(() => got.length >= 5, 'the consumer started', 8000)

  t.same(await http(node.http, 'PUT', '/config/draining', 'true'), { status: 200, text: 'true' })
  t.ok(got.length < N, `the drain started with messages left (${N - got.length})`)
  t.same(await http(node.http, 'POST', `/pub?topic=${topic}`, 'late'), { status: 503, text: '{"message":"DRAINING"}' })
  const pub = await RawConn.connect(t, node.tcp)
  await pub.identify()
  t.equal(await pub.publish(topic, 'late'), 'E_PUB_FAILED PUB failed draining')
  const sub = await RawConn.connect(t, node.tcp)
  await sub.identify()
  sub.write(cmd.sub(topic, 'late_ch'))
  t.equal(await sub.error(), 'E_SUB_FAILED SUB failed draining')
  await until(async () => (await producers(lookupd, topic)) === 0, 'lookupd stops listing the node for the topic', 8000)

  // the consumer still gets everything, then the node exits 0 by itself
  await until(() => node.proc.exitCode !== null, 'the node exits by itself', 20000, 20)
  t.equal(node.proc.exitCode, 0)
  t.same([...got].sort(), [...bodies].sort(), 'every message delivered exactly once')
  t.match(node.output(), /NSQ: drained: every message delivered/)
  t.equal(await producers(lookupd, topic), 0, 'still not listed after the exit')
})

t.test('SIGUSR2 starts a drain; --drain-exit=false keeps the empty node running', async (t) => {
  const node = await spawnDaemon(t, 'nsqd/main.ts', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0',
    `--data-path=${tmpDir(t)}`, '--drain-exit=false', '--log-level=info'])
  const topic = uniq('usr2')
  t.equal((await http(node.http, 'POST', `/topic/create?topic=${topic}`)).status, 200)
  t.equal((await http(node.http, 'POST', `/channel/create?topic=${topic}&channel=ch`)).status, 200)
  t.equal((await http(node.http, 'POST', `/mpub?topic=${topic}`, 'a\nb')).status, 200)
  t.notOk('draining' in (await getJson(`http://${node.http}/info`)))
  t.same(await http(node.http, 'GET', '/config/drain_exit'), { status: 200, text: 'false' })

  const consumer = await RawConn.connect(t, node.tcp)
  await consumer.identify()
  await consumer.subscribe(topic, 'ch')

  node.proc.kill('SIGUSR2')
  await until(async () => (await getJson(`http://${node.http}/info`)).draining === true, '/info says draining', 8000)
  const s = await getJson(`http://${node.http}/stats?format=json`)
  t.equal(s.draining, true)
  t.equal(s.drain_remaining, 2)
  t.same(await http(node.http, 'GET', '/config/draining'), { status: 200, text: 'true' })
  t.match(node.output(), /NSQ: draining \(SIGUSR2\)/)

  const c = await RawConn.connect(t, node.tcp)
  await c.identify()
  t.equal(await c.publish(topic, 'late'), 'E_PUB_FAILED PUB failed draining')
  const late = await RawConn.connect(t, node.tcp)
  await late.identify()
  late.write(cmd.sub(topic, 'ch'))
  t.equal(await late.error(), 'E_SUB_FAILED SUB failed draining', 'a new SUB is refused even on an existing channel')

  // the consumer subscribed before the drain gets both messages; then the drain completes
  consumer.write(cmd.rdy(5))
  const got: string[] = []
  for (let i = 0; i < 2; i++) {
    const m = await consumer.message()
    got.push(m.body.toString())
    consumer.write(cmd.fin(m.id.toString()))
  }
  t.same(got.sort(), ['a', 'b'])
  await until(() => /NSQ: drained/.test(node.output()), 'drained', 8000)
  t.equal((await getJson(`http://${node.http}/stats?format=json`)).drain_remaining, 0)
  t.same(await http(node.http, 'GET', '/ping'), { status: 200, text: 'OK' }, 'still running')
  t.equal(node.proc.exitCode, null)
  t.equal(await node.stop('SIGTERM'), 0)
})
