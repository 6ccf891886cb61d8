// Transport benchmark (issue 9): MPUB and consume throughput over plain TCP, TLS, snappy, deflate
// and TLS + snappy, with ratios to plain TCP. nsqd runs as its own process (with a certificate made
// by openssl); this process drives it with our client. Bodies are 200-byte JSON-like documents
// (compressible, as real payloads usually are).
// Run: npx tsx test/bench/transport.ts [--seconds N] [--only snappy]

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Producer, Consumer, silentLogger } from '../../client/index.js'
import type { ProducerOptions } from '../../client/index.js'
import { makeCerts } from '../helpers/certs.js'
import { startNsqdProcess, type NsqdProcess } from './spawn.js'

const argv = process.argv.slice(2)
const seconds = Number(argv[argv.indexOf('--seconds') + 1] ?? 0) || 4
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined
const BATCH = 100
const IN_FLIGHT = 8

const cleanups: Array<() => unknown> = []
const certs = makeCerts({ teardown: (fn) => { cleanups.push(fn) } })

function startNSQD (): Promise<NsqdProcess> {
  return startNsqdProcess(['--http-address=', '--https-address=127.0.0.1:0', '--mem-queue-size=10000000',
    `--tls-cert=${certs.certFile}`, `--tls-key=${certs.keyFile}`], fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-tls-')))
}

function body (i: number): Buffer {
  const s = JSON.stringify({ id: i, user: `user-${i % 1000}`, event: 'page_view', path: `/products/${i % 500}/details`, ts: 1700000000000 + i, agent: 'Mozilla/5.0 (X11; Linux x86_64)' })
  return Buffer.from(s.padEnd(200, ' '))
}

interface Mode { name: string, opts: Partial<ProducerOptions> }

const MODES: Mode[] = [
  { name: 'plain', opts: {} },
  { name: 'tls', opts: { tlsV1: true, tlsOptions: { ca: certs.ca } } },
  { name: 'snappy', opts: { snappy: true } },
  { name: 'deflate', opts: { deflate: true, deflateLevel: 6 } },
  { name: 'deflate-1', opts: { deflate: true, deflateLevel: 1 } },
  { name: 'tls+snappy', opts: { tlsV1: true, snappy: true, tlsOptions: { ca: certs.ca } } }
]

async function mpub (tcp: string, topic: string, m: Mode, forSeconds = seconds): Promise<{ msgs: number, ms: number }> {
  const p = new Producer(tcp, { logger: silentLogger, ...m.opts })
  await p.connect()
  const batch = Array.from({ length: BATCH }, (_, i) => body(i))
  const start = Date.now()
  const end = start + forSeconds * 1000
  let msgs = 0
  const loop = async (): Promise<void> => {
    while (Date.now() < end) {
      await p.publishMany(topic, batch)
      msgs += BATCH
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop))
  const ms = Date.now() - start
  await p.close()
  return { msgs, ms }
}

async function consume (tcp: string, topic: string, total: number, m: Mode): Promise<{ msgs: number, ms: number }> {
  const c = new Consumer<Buffer>({ topic, channel: 'bench', nsqdTcpAddresses: [tcp], maxInFlight: 2500, logger: silentLogger, ...m.opts })
  let n = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => { done = resolve })
  c.handle(() => { if (++n === total) done() })
  const start = Date.now()
  await c.connect()
  const limit = new Promise<void>((resolve) => setTimeout(resolve, seconds * 3000).unref())
  await Promise.race([finished, limit])
  const ms = Date.now() - start
  await c.close()
  return { msgs: n, ms }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11)

async function main (): Promise<void> {
  const nsqd = await startNSQD()
  const rows: Array<{ name: string, pub: number, sub: number }> = []
  try {
    process.stdout.write(`nsqd ${nsqd.tcp}; ${seconds} s of MPUB (${BATCH} x 200 B, ${IN_FLIGHT} in flight), then consume them (max-in-flight 2500)\n`)
    // warm-up (JIT, first connections), not reported
    const warm = `bench_warmup_${Date.now()}`
    await consume(nsqd.tcp, warm, (await mpub(nsqd.tcp, warm, { name: 'warm-up', opts: {} }, 1)).msgs, MODES[0]!)
    for (const m of MODES) {
      if (only !== undefined && m.name !== only && m.name !== 'plain') continue
      const topic = `bench_${m.name.replace(/\W/g, '_')}_${Date.now()}`
      const p = await mpub(nsqd.tcp, topic, m)
      const c = await consume(nsqd.tcp, topic, p.msgs, m)
      const pub = p.msgs / (p.ms / 1000)
      const sub = c.msgs / (c.ms / 1000)
      rows.push({ name: m.name, pub, sub })
      process.stdout.write(`${m.name.padEnd(11)} MPUB ${fmt(pub)} msgs/s   consume ${fmt(sub)} msgs/s (${c.msgs}/${p.msgs} in ${(c.ms / 1000).toFixed(1)} s)\n`)
    }
    const base = rows[0]!
    process.stdout.write('\nratio to plain TCP:\n')
    for (const r of rows) process.stdout.write(`${r.name.padEnd(11)} MPUB ${(r.pub / base.pub).toFixed(2)}   consume ${(r.sub / base.sub).toFixed(2)}\n`)
  } finally {
    nsqd.proc.kill('SIGTERM')
    await new Promise((resolve) => nsqd.proc.once('exit', resolve))
    fs.rmSync(nsqd.dir, { recursive: true, force: true })
    for (const fn of cleanups) fn()
  }
}

await main()
