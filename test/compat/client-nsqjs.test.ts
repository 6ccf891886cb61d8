// Interop with nsqjs (the most used Node client) through our nsqd, both ways:
// nsqjs Writer → our Consumer, our Producer → nsqjs Reader.

import t from 'tap'
import { createRequire } from 'node:module'
import { startNSQD, uniq, until } from '../helpers/nsqd.js'
import { Producer, Consumer, silentLogger } from '../../client/index.js'

const require = createRequire(import.meta.url)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nsq = require('nsqjs') as {
  Writer: new (host: string, port: number, o?: Record<string, unknown>) => NsqjsWriter
  Reader: new (topic: string, channel: string, o: Record<string, unknown>) => NsqjsReader
}
interface NsqjsWriter {
  connect (): void
  on (ev: string, fn: (...a: unknown[]) => void): void
  publish (topic: string, msgs: unknown, cb?: (err?: Error) => void): void
  deferPublish (topic: string, msgs: unknown, ms: number, cb?: (err?: Error) => void): void
  close (): void
}
interface NsqjsMessage { body: Buffer, attempts: number, finish (): void, requeue (delay?: number, backoff?: boolean): void }
interface NsqjsReader {
  connect (): void
  on (ev: string, fn: (...a: any[]) => void): void
  close (): void
}

function hostPort (addr: string): [string, number] {
  const i = addr.lastIndexOf(':')
  return [addr.slice(0, i), Number(addr.slice(i + 1))]
}

t.test('nsqjs Writer → our Consumer', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const [host, port] = hostPort(n.tcpAddress)
  const w = new nsq.Writer(host, port)
  t.teardown(() => { w.close() })
  await new Promise<void>((resolve, reject) => { w.on('ready', () => resolve()); w.on('error', (e) => reject(e)); w.connect() })
  const pub = (msgs: unknown): Promise<void> => new Promise((resolve, reject) => { w.publish(topic, msgs, (err) => { if (err) reject(err); else resolve() }) })
  await pub('single')
  await pub(['m1', 'm2', Buffer.from([0, 255])])
  await pub({ json: true }) // nsqjs serializes objects as JSON
  await new Promise<void>((resolve, reject) => { w.deferPublish(topic, ['deferred'], 50, (err) => { if (err) reject(err); else resolve() }) })
  const got: string[] = []
  const c = new Consumer({ logger: silentLogger, topic, channel: 'ours', nsqdTcpAddresses: [n.tcpAddress], maxInFlight: 10 })
  t.teardown(() => c.close())
  c.handle((m) => { got.push(m.body.toString('hex')) })
  await c.connect()
  await until(() => got.length === 6, 'six messages')
  const hex = (s: string | Buffer) => (Buffer.isBuffer(s) ? s : Buffer.from(s)).toString('hex')
  t.same(got.sort(), [hex('single'), hex('m1'), hex('m2'), hex(Buffer.from([0, 255])), hex('{"json":true}'), hex('deferred')].sort())
})

t.test('our Producer → nsqjs Reader (requeue and attempts included)', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const p = new Producer(n.tcpAddress, { logger: silentLogger })
  t.teardown(() => p.close())
  const bodies = Array.from({ length: 200 }, (_, i) => `p${i}`)
  await Promise.all(bodies.slice(0, 100).map((b) => p.publish(topic, b)))
  await p.publishMany(topic, bodies.slice(100))
  await p.publishDeferred(topic, 20, 'late')
  const r = new nsq.Reader(topic, 'theirs', { nsqdTCPAddresses: [n.tcpAddress], maxInFlight: 20 })
  t.teardown(() => { r.close() })
  const seen = new Set<string>()
  let requeuedOnce = false
  let secondAttempt = 0
  r.on('message', (m: NsqjsMessage) => {
    const s = m.body.toString()
    if (s === 'p7' && !requeuedOnce) { requeuedOnce = true; m.requeue(0, false); return }
    if (s === 'p7') secondAttempt = m.attempts
    seen.add(s)
    m.finish()
  })
  r.on('error', () => {})
  r.connect()
  await until(() => seen.size === 201, `all messages (${seen.size})`, 10000)
  t.equal(secondAttempt, 2, 'requeued message comes back with attempts 2')
  t.ok(seen.has('late'))
})
