// to_nsq and nsq_tail as separate processes against our nsqd: a 1,000-line round trip, -n,
// -print-topic, several nsqds, flag mistakes.

import t from 'tap'
import { startNSQD, uniq, until } from '../helpers/nsqd.js'
import { startTool } from '../helpers/tools.js'
import type { ToolRun } from '../helpers/tools.js'
import { Producer, silentLogger } from '../../client/index.js'

function kill (t: Tap, run: ToolRun): void {
  t.teardown(() => { if (run.child.exitCode === null) run.child.kill('SIGKILL') })
}
type Tap = { teardown (fn: () => unknown): void }

t.test('to_nsq → nsq_tail round trip of 1,000 lines', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)} ✓`)
  const tail = startTool('nsq_tail', ['-topic', topic, '--nsqd-tcp-address', n.tcpAddress, '-n', '1000'])
  kill(t, tail)
  // the tail's channel must exist before publishing (ephemeral channel, created by its SUB)
  await until(() => (n.topics.get(topic)?.channels.size ?? 0) > 0, 'nsq_tail subscribed', 10000)
  const pub = startTool('to_nsq', ['-topic', topic, '-nsqd-tcp-address', n.tcpAddress, '-status-every', '500'], lines.join('\n') + '\n\n')
  kill(t, pub)
  t.equal(await pub.done, 0, `to_nsq exits 0 ${pub.err()}`)
  t.match(pub.err(), /published 1000 messages/)
  t.equal(await tail.done, 0, `nsq_tail exits 0 after -n messages ${tail.err()}`)
  t.equal(tail.out(), lines.join('\n') + '\n', 'every line, in order, byte for byte')
})

t.test('nsq_tail: -print-topic, several topics, -n caps max-in-flight; to_nsq to several nsqds', async (t) => {
  const n1 = await startNSQD(t)
  const n2 = await startNSQD(t)
  const [a, b] = [uniq('a'), uniq('b')]
  const tail = startTool('nsq_tail', ['-topic', a, '-topic', b, '-nsqd-tcp-address', n1.tcpAddress, '-nsqd-tcp-address', n2.tcpAddress, '-print-topic', '-n', '5', '-channel', 'tailch'])
  kill(t, tail)
  await until(() => n1.topics.get(a)?.channels.has('tailch') === true && n2.topics.get(b)?.channels.has('tailch') === true, 'subscribed', 10000)
  const pub = startTool('to_nsq', ['--topic=' + a, '--nsqd-tcp-address=' + n1.tcpAddress, '--nsqd-tcp-address=' + n2.tcpAddress, '--delimiter=,'], 'x,y')
  kill(t, pub)
  t.equal(await pub.done, 0, pub.err())
  t.equal(n1.topics.get(a)?.messageCount, 2, 'every record to every nsqd (and the last one without delimiter kept)')
  t.equal(n2.topics.get(a)?.messageCount, 2)
  const p = new Producer(n2.tcpAddress, { logger: silentLogger })
  await p.publish(b, 'z')
  await p.close()
  t.equal(await tail.done, 0, tail.err())
  const out = tail.out().split('\n').filter((l) => l !== '').sort()
  t.same(out, [`${a} | x`, `${a} | x`, `${a} | y`, `${a} | y`, `${b} | z`], 'each line prefixed with its topic')
})

t.test('flag mistakes give clear errors and non-zero exits', async (t) => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ['nsq_tail', ['-nope'], 2, /flag provided but not defined: -nope\nUsage of nsq_tail:/],
    ['nsq_tail', ['-topic', 'a'], 1, /--nsqd-tcp-address or --lookupd-http-address required/],
    ['nsq_tail', ['-topic', 'a', '-nsqd-tcp-address', 'x:1', '-lookupd-http-address', 'y:2'], 1, /use --nsqd-tcp-address or --lookupd-http-address not both/],
    ['nsq_tail', ['-nsqd-tcp-address', 'x:1'], 1, /--topic is required/],
    ['nsq_tail', ['-topic', 'a', '-nsqd-tcp-address', 'x:1', '-max-in-flight', 'lots'], 2, /invalid value "lots" for flag -max-in-flight/],
    ['nsq_tail', ['-topic', 'a', '-nsqd-tcp-address', 'x:1', '-consumer-opt', 'bogus,1'], 1, /invalid option bogus/],
    ['to_nsq', ['-topic', 't'], 1, /--nsqd-tcp-address required/],
    ['to_nsq', ['-topic', 't', '-nsqd-tcp-address', '127.0.0.1:1', '-delimiter', 'ab'], 1, /--delimiter must be a single byte/],
    ['to_nsq', ['-topic', 't', '-nsqd-tcp-address', '127.0.0.1:1'], 1, /failed to connect to 127.0.0.1:1/],
    ['nsq_stat', ['-topic', 't'], 1, /--topic and --channel are required/],
    ['nsq_stat', ['-topic', 't', '-channel', 'c', '-nsqd-http-address', 'http://x:1'], 1, /address should not contain scheme/],
    ['nsq_to_file', ['-topic', 't', '-nsqd-tcp-address', 'x:1', '-gzip', '-filename-format', '<TOPIC>.log'], 1, /must contain <REV>/],
    ['nsq_to_file', ['-nsqd-tcp-address', 'x:1'], 1, /--topic is required unless --lookupd-http-address/]
  ]
  await Promise.all(cases.map(async ([tool, args, code, re]) => {
    const r = startTool(tool, args, '')
    kill(t, r)
    const got = await r.done
    t.equal(got, code, `${tool} ${args.join(' ')} exits ${code}`)
    t.match(r.err(), re)
  }))
  const v = startTool('nsq_tail', ['--version'])
  t.equal(await v.done, 0)
  t.equal(v.out(), 'nsq_tail v1.3.0\n')
})

t.test('to_nsq -rate throttles publishing (a one-second burst, then n per second)', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const lines = Array.from({ length: 30 }, (_, i) => `r${i}`)
  const pub = startTool('to_nsq', ['-topic', topic, '-nsqd-tcp-address', n.tcpAddress, '-rate', '20'], lines.join('\n') + '\n')
  kill(t, pub)
  t.equal(await pub.done, 0, `to_nsq exits 0 ${pub.err()}`)
  const queued = n.topics.get(topic)!.memQueue.drain()
  t.same(queued.map((m) => m.body.toString()), lines, 'every line published, in order')
  // 20 tokens at start, the other 10 at 20/s: those take about 0.5 s after the burst
  const ms = (a: number, b: number): number => (queued[b]!.timestamp - queued[a]!.timestamp) / 1e6
  const throttledMs = ms(19, 29)
  t.ok(throttledMs >= 400, `the last 10 publishes spread over ${throttledMs.toFixed(0)} ms`)
  t.ok(ms(0, 19) < throttledMs, `the first 20 went out as a burst (${ms(0, 19).toFixed(0)} ms), faster than the throttled rest`)
})
