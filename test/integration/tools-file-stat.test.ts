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
