// nsqd HTTP API benchmark (issue 4): /mpub throughput with 100-byte bodies, 200 per request, and
// the cost of /stats?format=json with 1,000 topics × 2 channels (over HTTP, and building the
// document in-process), and of /metrics on the same node. nsqd runs as its own process; the load comes from this one.
// Run: npx tsx test/bench/http.ts [--seconds N] [--concurrency N] [--only mpub|stats]

import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { NSQD } from '../../nsqd/nsqd.js'
import { statsDocument, statsJson } from '../../nsqd/stats.js'
import { createCapturingLogger } from '../../nsqd/logger.js'
import { startNsqdProcess, type NsqdProcess } from './spawn.js'

const argv = process.argv.slice(2)
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(name)
  return i >= 0 ? Number(argv[i + 1]) : def
}
const seconds = arg('--seconds', 5)
const concurrency = arg('--concurrency', 8)
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined

function startNSQD (dir: string): Promise<NsqdProcess> {
  return startNsqdProcess([], dir)
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })

function request (addr: string, method: string, url: string, body?: Buffer): Promise<{ status: number, body: string }> {
  return requestRaw(addr, method, url, body, true) as Promise<{ status: number, body: string }>
}

/** `decode` false: the body is only counted (its length in bytes), so timing a large GET measures the server. */
function requestRaw (addr: string, method: string, url: string, body: Buffer | undefined, decode: boolean): Promise<{ status: number, body: string | number }> {
  const i = addr.lastIndexOf(':')
  return new Promise((resolve, reject) => {
    const req = http.request({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), method, path: url, agent, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = []
      let n = 0
      res.on('data', (c: Buffer) => { if (decode) chunks.push(c); n += c.length })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: decode ? Buffer.concat(chunks).toString() : n }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function mpubThroughput (addr: string): Promise<void> {
  const perRequest = 200
  const line = Buffer.alloc(100, 'x')
  const lines: Buffer[] = []
  for (let i = 0; i < perRequest; i++) lines.push(line, Buffer.from('\n'))
  const body = Buffer.concat(lines)
  // an ephemeral topic without channels keeps --mem-queue-size messages and drops the rest:
  // the benchmark measures the HTTP publish path, not the disk
  const url = '/mpub?topic=bench_mpub%23ephemeral'
  const end = Date.now() + seconds * 1000
  let requests = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      const r = await request(addr, 'POST', url, body)
      if (r.status !== 200) throw new Error(`/mpub answered ${r.status} ${r.body}`)
      requests++
    }
  }))
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const msgs = requests * perRequest
  console.log(`/mpub (100 B × ${perRequest} per request, ${concurrency} concurrent): ${Math.round(msgs / s).toLocaleString('en')} msgs/s, ${Math.round(requests / s).toLocaleString('en')} requests/s, ${(msgs * 100 / s / 1e6).toFixed(1)} MB/s`)
}

async function statsCost (addr: string): Promise<void> {
  const topics = 1000
  for (let i = 0; i < topics; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, k) => {
      const t = `stats_bench_${i + k}`
      await request(addr, 'POST', `/topic/create?topic=${t}`)
      await request(addr, 'POST', `/channel/create?topic=${t}&channel=a`)
      await request(addr, 'POST', `/channel/create?topic=${t}&channel=b`)
    }))
  }
  const first = await request(addr, 'GET', '/stats?format=json')
  const doc = JSON.parse(first.body)
  const n = doc.topics.filter((t: { topic_name: string }) => t.topic_name.startsWith('stats_bench_')).length
  if (n !== topics) throw new Error(`expected ${topics} topics, got ${n}`)
  const calls = 50
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await request(addr, 'GET', '/stats?format=json')
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / calls
  console.log(`/stats?format=json over HTTP, ${topics} topics × 2 channels (${(first.body.length / 1024).toFixed(0)} KiB): ${ms.toFixed(2)} ms per call`)
  let size = 0
  for (let i = 0; i < 5; i++) size = (await requestRaw(addr, 'GET', '/metrics', undefined, false)).body as number
  const times: number[] = []
  for (let i = 0; i < 30; i++) {
    const m0 = process.hrtime.bigint()
    await requestRaw(addr, 'GET', '/metrics', undefined, false)
    times.push(Number(process.hrtime.bigint() - m0) / 1e6)
  }
  times.sort((a, b) => a - b)
  const mean = times.reduce((a, b) => a + b, 0) / times.length
  console.log(`/metrics over HTTP, same node (${(size / 1024).toFixed(0)} KiB): ${mean.toFixed(2)} ms per call (median ${times[times.length >> 1]!.toFixed(2)}, min ${times[0]!.toFixed(2)})`)
}

/**
 * A function building the /metrics body in-process, whichever implementation the checkout has (the
 * prom-client registry before issue 14, the formatter after), so one benchmark compares both.
 */
async function metricsScraper (m: Record<string, any>, nsqd: NSQD): Promise<() => Promise<number>> {
  if (typeof m.MetricsFormatter === 'function') {
    const { Registry, collectDefaultMetrics } = await import('prom-client')
    const defaults = new Registry()
    collectDefaultMetrics({ register: defaults })
    const f = new m.MetricsFormatter()
    return async () => (await m.metricsBody(nsqd, f, defaults)).length
  }
  const { getStats } = await import('../../nsqd/stats.js')
  let current = m.scrapeOf({ topics: [], producers: null })
  const registry = m.buildMetricsRegistry(nsqd, () => current)
  return async () => {
    current = m.scrapeOf(getStats(nsqd, { includeClients: false }))
    return Buffer.byteLength(await registry.metrics())
  }
}

async function statsInProcess (): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-'))
  const nsqd = new NSQD({ tcpAddress: '127.0.0.1:0', httpAddress: '', dataPath: dir, logger: createCapturingLogger('warn') })
  await nsqd.start()
  for (let i = 0; i < 1000; i++) {
    const t = nsqd.getTopic(`stats_bench_${i}`)
    t.getChannel('a')
    t.getChannel('b')
  }
  const filter = { includeClients: true }
  for (let i = 0; i < 20; i++) statsJson(statsDocument(nsqd, '1.3.0', filter, true))
  const calls = 200
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) statsJson(statsDocument(nsqd, '1.3.0', filter, true))
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / calls
  console.log(`stats document built + serialised in-process, 1000 topics × 2 channels: ${ms.toFixed(2)} ms per call`)
  // the /metrics body as its route builds it (prom-client's default metrics included), in-process
  const metrics = await import('../../nsqd/http/metrics.js')
  const scrape = await metricsScraper(metrics, nsqd)
  for (let i = 0; i < 20; i++) await scrape()
  const m0 = process.hrtime.bigint()
  let size = 0
  for (let i = 0; i < calls; i++) size = await scrape()
  const mms = Number(process.hrtime.bigint() - m0) / 1e6 / calls
  console.log(`/metrics body built in-process, same topics (${(size / 1024).toFixed(0)} KiB): ${mms.toFixed(2)} ms per call`)
  await nsqd.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

async function main (): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-'))
  const { proc, http: addr } = await startNSQD(dir)
  try {
    if (only === undefined || only === 'mpub') await mpubThroughput(addr)
    if (only === undefined || only === 'stats') await statsCost(addr)
  } finally {
    agent.destroy()
    proc.kill('SIGTERM')
    await new Promise((resolve) => proc.once('exit', resolve))
    fs.rmSync(dir, { recursive: true, force: true })
  }
  if (only === undefined || only === 'stats') await statsInProcess()
}

main().catch((err: Error) => {
  console.error(err)
  process.exit(1)
})
