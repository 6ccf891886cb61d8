// nsq_to_file and nsq_stat as separate processes against our nsqd: output files checked byte for
// byte (plain, gzip with rotation and a work dir), messages FINed only after the write; nsq_stat's
// header and rows.

import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { startNSQD, tmpDir, uniq, until } from '../helpers/nsqd.js'
import { startTool } from '../helpers/tools.js'
import type { ToolRun } from '../helpers/tools.js'
import { Producer, silentLogger } from '../../client/index.js'

type Tap = { teardown (fn: () => unknown): void }
function kill (t: Tap, run: ToolRun): void {
  t.teardown(() => { if (run.child.exitCode === null) run.child.kill('SIGKILL') })
}

async function publish (addr: string, topic: string, bodies: Array<string | Buffer>): Promise<void> {
  const p = new Producer(addr, { logger: silentLogger })
  await p.publishMany(topic, bodies)
  await p.close()
}

t.test('nsq_to_file: plain output byte for byte, FIN after write, clean shutdown', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const out = tmpDir(t)
  const bodies = Array.from({ length: 500 }, (_, i) => i % 7 === 0 ? Buffer.from([0, 1, 2, 255, i & 0xff]) : `msg ${i} éü`)
  await publish(n.tcpAddress, topic, bodies)
  const run = startTool('nsq_to_file', ['-topic', topic, '-nsqd-tcp-address', n.tcpAddress, '-output-dir', out,
    '-filename-format', '<TOPIC>.<HOST><REV>.log', '-host-identifier', 'box', '-max-in-flight', '50', '-sync-interval', '100ms'])
  kill(t, run)
  const ch = (): { depth: number, inFlight: Map<string, unknown> } | undefined => n.topics.get(topic)?.channels.get('nsq_to_file')
  await until(() => ch() !== undefined && ch()!.depth === 0 && ch()!.inFlight.size === 0, 'all consumed and FINed', 10000)
  run.child.kill('SIGTERM')
  t.equal(await run.done, 0, run.err())
  const file = path.join(out, `${topic}.box.log`)
  const expected = Buffer.concat(bodies.flatMap((b) => [Buffer.isBuffer(b) ? b : Buffer.from(b), Buffer.from('\n')]))
  t.same(fs.readFileSync(file), expected, 'file content equals the bodies, each plus a newline')
  t.match(run.err(), /wrote 500 messages/)
  // a second run appends to the same file (no <REV> needed without gzip/rotation/work-dir)
  await publish(n.tcpAddress, topic, ['tail'])
  const run2 = startTool('nsq_to_file', ['-topic', topic, '-nsqd-tcp-address', n.tcpAddress, '-output-dir', out,
    '-filename-format', '<TOPIC>.<HOST><REV>.log', '-host-identifier', 'box', '-sync-interval', '50ms'])
  kill(t, run2)
  await until(() => fs.readFileSync(file).length === expected.length + 5, 'appended', 10000)
  run2.child.kill('SIGINT')
  t.equal(await run2.done, 0)
})

t.test('nsq_to_file: gzip members, rotation by size, work dir → output dir, <REV> bumped', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  const out = tmpDir(t)
  const work = tmpDir(t)
  const bodies = Array.from({ length: 300 }, (_, i) => `gz-${i}-${'y'.repeat(20)}`)
  await publish(n.tcpAddress, topic, bodies)
  fs.writeFileSync(path.join(out, `${topic}-000000.log.gz`), 'taken')
  const run = startTool('nsq_to_file', ['-topic', topic, '-nsqd-tcp-address', n.tcpAddress, '-output-dir', out, '-work-dir', work,
    '-filename-format', '<TOPIC><REV>.log', '-gzip', '-rotate-size', '3000', '-max-in-flight', '20', '-sync-interval', '100ms'])
  kill(t, run)
  const ch = (): { depth: number, inFlight: Map<string, unknown> } | undefined => n.topics.get(topic)?.channels.get('nsq_to_file')
  await until(() => ch() !== undefined && ch()!.depth === 0 && ch()!.inFlight.size === 0, 'all consumed', 10000)
  run.child.kill('SIGTERM')
  t.equal(await run.done, 0, run.err())
  t.same(fs.readdirSync(work), [], 'work dir emptied')
  const files = fs.readdirSync(out).filter((f) => f !== `${topic}-000000.log.gz`).sort()
  t.ok(files.length > 1, `rotated by size into ${files.length} files`)
  t.equal(files[0], `${topic}-000001.log.gz`, 'existing name skipped: <REV> bumped')
  const all = Buffer.concat(files.map((f) => zlib.gunzipSync(fs.readFileSync(path.join(out, f)))))
  t.equal(all.toString(), bodies.join('\n') + '\n', 'decompressed content equals the bodies in order')
  for (const f of files.slice(0, -1)) {
    t.ok(zlib.gunzipSync(fs.readFileSync(path.join(out, f))).length <= 3000 + 200, `${f} rotated near the size bound`)
  }
})

t.test('nsq_stat: header, baseline, rows with channel counters', async (t) => {
  const n = await startNSQD(t)
  const topic = uniq()
  await publish(n.tcpAddress, topic, ['a'])
  n.topics.get(topic)?.getChannel('ch')
  await publish(n.tcpAddress, topic, ['b', 'c', 'd'])
  const run = startTool('nsq_stat', ['-topic', topic, '-channel', 'ch', '-nsqd-http-address', n.httpAddress, '-interval', '200ms', '-count', '2'])
  kill(t, run)
  await until(() => run.stdout.length > 0, 'first report', 10000)
  await publish(n.tcpAddress, topic, ['e', 'f'])
  t.equal(await run.done, 0, run.err())
  const lines = run.out().split('\n')
  t.equal(lines[0], '------rate------+----------------depth----------------+--------------metadata---------------')
  t.equal(lines[1], 'ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients')
  t.equal(lines.length, 5, 'header, two rows, trailing newline')
  const cols = (l: string): number[] => l.replace(/\|/g, ' ').trim().split(/\s+/).map(Number)
  const last = cols(lines[3] as string)
  t.equal(last[2], 6, 'depth total (the message published before the channel existed included)')
  t.equal(last[9], 6, 'channel message count')
  t.equal(last[10], 0, 'clients')
  t.equal(last[0], 10, 'ingress = 2 new messages / 0.2 s')
  const missing = startTool('nsq_stat', ['-topic', topic, '-channel', 'nope', '-nsqd-http-address', n.httpAddress, '-count', '1'])
  kill(t, missing)
  t.equal(await missing.done, 1)
  t.match(missing.err(), /channel .*\/nope not found/)
})

t.test('nsq_to_file: topics discovered through lookupd and filtered by -topic-pattern; SIGHUP reopens the file', async (t) => {
  const { NSQLookupd } = await import('../../lookupd/nsqlookupd.js')
  const { createCapturingLogger } = await import('../../lookupd/logger.js')
  const lookupd = new NSQLookupd({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', logger: createCapturingLogger() })
  await lookupd.start()
  t.teardown(async () => { await lookupd.close() })
  const n = await startNSQD(t, { lookupdTcpAddresses: [lookupd.tcpAddress.address], broadcastAddress: '127.0.0.1' })
  const wanted = uniq('disc_a')
  const other = uniq('disc_b')
  await publish(n.tcpAddress, wanted, ['a1', 'a2'])
  await publish(n.tcpAddress, other, ['b1'])
  const out = tmpDir(t)
  const run = startTool('nsq_to_file', ['-lookupd-http-address', lookupd.httpAddress.address, '-topic-pattern', '^disc_a',
    '-topic-refresh', '200ms', '-output-dir', out, '-filename-format', '<TOPIC><REV>.log', '-sync-interval', '50ms'])
  kill(t, run)
  const file = path.join(out, `${wanted}.log`)
  await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') === 'a1\na2\n', 'the matching topic written', 10000)
  // a topic created after start is picked up at the next refresh
  const later = uniq('disc_a')
  await publish(n.tcpAddress, later, ['late'])
  await until(() => fs.existsSync(path.join(out, `${later}.log`)) && fs.readFileSync(path.join(out, `${later}.log`), 'utf8') === 'late\n', 'a new matching topic discovered', 10000)
  t.notOk(fs.readdirSync(out).some((f) => f.includes('disc_b')), 'the non-matching topic is not consumed')
  t.equal(n.topics.get(other)?.channels.size ?? 0, 0, 'no channel was made on it')
  // logrotate style: move the file away, SIGHUP, and new messages go to a new file
  fs.renameSync(file, file + '.1')
  run.child.kill('SIGHUP')
  await until(() => fs.existsSync(file), 'file reopened after SIGHUP', 10000)
  await publish(n.tcpAddress, wanted, ['a3'])
  await until(() => fs.readFileSync(file, 'utf8') === 'a3\n', 'new messages in the reopened file', 10000)
  t.equal(fs.readFileSync(file + '.1', 'utf8'), 'a1\na2\n', 'the rotated file keeps what it had')
  run.child.kill('SIGTERM')
  t.equal(await run.done, 0, run.err())
})
