// Client throughput: our Producer/Consumer beside nsqjs Writer/Reader, against the same nsqd
// (its own process) in the same run. Each case is bounded (~10 s).
// A last case runs both consumers against a stub server (test/bench/client-stub-server.ts) that
// keeps the RDY window full without any queueing, to show the clients' own ceilings.
// Run: npx tsx test/bench/client.ts [--count N] [--size BYTES]

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Producer, Consumer, silentLogger } from '../../client/index.js'
import { startNsqdProcess, type NsqdProcess } from './spawn.js'

const require = createRequire(import.meta.url)
const nsq = require('nsqjs') as { Writer: any, Reader: any }

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const arg = (name: string, d: number): number => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : d }
const COUNT = arg('--count', 200_000)
const SIZE = arg('--size', 100)
const CAP_MS = 10_000
const body = Buffer.alloc(SIZE, 'x')

function startNSQD (): Promise<NsqdProcess> {
  return startNsqdProcess(['--mem-queue-size=2000000'], fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-cbench-')))
}

function hostPort (addr: string): [string, number] {
  const i = addr.lastIndexOf(':')
  return [addr.slice(0, i), Number(addr.slice(i + 1))]
}

interface Result { msgs: number, ms: number, cpuMs: number }
const rate = (r: Result): number => Math.round(r.msgs / (r.ms / 1000))
/** Client CPU per message (this process), µs. */
const cpuPerMsg = (r: Result): string => (r.cpuMs * 1000 / Math.max(1, r.msgs)).toFixed(2)

function cpuNowMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function withCpu (f: () => Promise<{ msgs: number, ms: number }>): Promise<Result> {
  const c0 = cpuNowMs()
  const r = await f()
  return { ...r, cpuMs: cpuNowMs() - c0 }
}

async function post (http: string, pathAndQuery: string): Promise<void> {
  const res = await fetch(`http://${http}${pathAndQuery}`, { method: 'POST' })
  await res.text()
  if (res.status !== 200) throw new Error(`POST ${pathAndQuery}: ${res.status}`)
}

/** Keeps `window` publishes outstanding until `count` are acknowledged or the cap passes. */
function pump (count: number, window: number, send: (done: (err?: Error | null) => void) => void): Promise<{ msgs: number, ms: number }> {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    let sent = 0
    let acked = 0
    let stop = false
    const done = (err?: Error | null): void => {
      if (err) { reject(err); return }
      acked++
      if (acked === sent && (stop || sent >= count)) { resolve({ msgs: acked, ms: Date.now() - start }); return }
      if (!stop && Date.now() - start > CAP_MS) stop = true
      if (!stop && sent < count) { sent++; send(done) }
    }
    for (; sent < Math.min(window, count);) { sent++; send(done) }
  })
}

async function oursPub (tcp: string, topic: string, batch: number): Promise<{ msgs: number, ms: number }> {
  const p = new Producer(tcp, { logger: silentLogger })
  await p.connect()
  const bodies = Array.from({ length: batch }, () => body)
  const r = batch === 1
    ? await pump(COUNT, 1000, (done) => { p.publishCb(topic, body, done) })
    : await pump(COUNT / batch, 20, (done) => { p.publishManyCb(topic, bodies, done) })
  await p.close()
  return { msgs: r.msgs * batch, ms: r.ms }
}

async function nsqjsPub (tcp: string, topic: string, batch: number): Promise<{ msgs: number, ms: number }> {
  const [host, port] = hostPort(tcp)
  const w = new nsq.Writer(host, port)
  await new Promise<void>((resolve, reject) => { w.on('ready', resolve); w.on('error', reject); w.connect() })
  const bodies = Array.from({ length: batch }, () => body)
  const r = batch === 1
    ? await pump(COUNT, 1000, (done) => { w.publish(topic, body, done) })
    : await pump(COUNT / batch, 20, (done) => { w.publish(topic, bodies, done) })
  w.close()
  return { msgs: r.msgs * batch, ms: r.ms }
}

async function prefill (tcp: string, http: string, topic: string, channels: string[]): Promise<void> {
  await post(http, `/topic/create?topic=${topic}`)
  for (const ch of channels) await post(http, `/channel/create?topic=${topic}&channel=${ch}`)
  const p = new Producer(tcp, { logger: silentLogger })
  const bodies = Array.from({ length: 500 }, () => body)
  await pump(COUNT / 500, 20, (done) => { p.publishManyCb(topic, bodies, done) })
  await p.close()
}

async function oursConsume (tcp: string, topic: string, channel: string): Promise<{ msgs: number, ms: number }> {
  const c = new Consumer({ logger: silentLogger, topic, channel, nsqdTcpAddresses: [tcp], maxInFlight: 2500 })
  let got = 0
  const start = Date.now()
  const r = await new Promise<{ msgs: number, ms: number }>((resolve) => {
    const timer = setTimeout(() => { resolve({ msgs: got, ms: Date.now() - start }) }, CAP_MS)
    c.handle(() => {
      if (++got === COUNT) { clearTimeout(timer); resolve({ msgs: got, ms: Date.now() - start }) }
    })
    void c.connect()
  })
  await c.close()
  return r
}

async function nsqjsConsume (tcp: string, topic: string, channel: string): Promise<{ msgs: number, ms: number }> {
  const r = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [tcp], maxInFlight: 2500 })
  let got = 0
  const start = Date.now()
  const res = await new Promise<{ msgs: number, ms: number }>((resolve) => {
    const timer = setTimeout(() => { resolve({ msgs: got, ms: Date.now() - start }) }, CAP_MS)
    r.on('message', (m: { finish (): void }) => {
      m.finish()
      if (++got === COUNT) { clearTimeout(timer); resolve({ msgs: got, ms: Date.now() - start }) }
    })
    r.on('error', () => {})
    r.connect()
  })
  r.close()
  return res
}

function startStub (): Promise<{ proc: ChildProcess, tcp: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/bench/client-stub-server.ts'), String(SIZE)],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /port=(\d+)/.exec(out)
      if (m) resolve({ proc, tcp: `127.0.0.1:${m[1]}` })
    })
    proc.once('exit', (code) => { reject(new Error(`stub exited ${code}`)) })
  })
}

async function main (): Promise<void> {
  const n = await startNSQD()
  process.stdout.write(`nsqd ${n.tcp} (child process); ${COUNT} messages of ${SIZE} B per case, cap ${CAP_MS / 1000} s\n\n`)
  const rows: Array<[string, Result, Result]> = []
  const line = (name: string, ours: Result, theirs: Result): void => {
    rows.push([name, ours, theirs])
    process.stdout.write(`${name.padEnd(24)} ours ${String(rate(ours)).padStart(8)} msgs/s ${cpuPerMsg(ours).padStart(6)} µs cpu/msg | ` +
      `nsqjs ${String(rate(theirs)).padStart(8)} msgs/s ${cpuPerMsg(theirs).padStart(6)} µs cpu/msg | ` +
      `×${(rate(ours) / Math.max(1, rate(theirs))).toFixed(1)} msgs/s, ×${(Number(cpuPerMsg(theirs)) / Math.max(0.001, Number(cpuPerMsg(ours)))).toFixed(1)} less cpu\n`)
  }
  // Publish into a topic with no channel would pile messages up in nsqd: each case gets a channel
  // (consumed by nobody) and its topic is deleted afterwards.
  const pubCase = async (name: string, batch: number): Promise<void> => {
    const ours = await withCpu(() => oursPub(n.tcp, `bench_${batch}_ours`, batch))
    await post(n.http, `/topic/delete?topic=bench_${batch}_ours`)
    const theirs = await withCpu(() => nsqjsPub(n.tcp, `bench_${batch}_nsqjs`, batch))
    await post(n.http, `/topic/delete?topic=bench_${batch}_nsqjs`)
    line(name, ours, theirs)
  }
  await pubCase('publish (PUB, 1000 out)', 1)
  await pubCase('publish (MPUB of 100)', 100)
  await prefill(n.tcp, n.http, 'bench_consume', ['ours', 'nsqjs'])
  const oc = await withCpu(() => oursConsume(n.tcp, 'bench_consume', 'ours'))
  const tc = await withCpu(() => nsqjsConsume(n.tcp, 'bench_consume', 'nsqjs'))
  line('consume (RDY 2500)', oc, tc)
  // The same consumers against a stub server that never runs out of messages and does no
  // queueing: the client's own ceiling.
  const stub = await startStub()
  line('consume (stub server)', await withCpu(() => oursConsume(stub.tcp, 'stub', 'ours')), await withCpu(() => nsqjsConsume(stub.tcp, 'stub', 'nsqjs')))
  stub.proc.kill('SIGTERM')
  n.proc.kill('SIGTERM')
  await new Promise((resolve) => n.proc.once('exit', resolve))
  fs.rmSync(n.dir, { recursive: true, force: true })
  process.exit(0)
}

void main()
