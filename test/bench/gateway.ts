// Browser gateway benchmark (issue 18): messages per second delivered to 1, 100 and 1,000
// WebSocket subscribers (100 B bodies, each subscriber on its own #ephemeral channel, so every
// message goes to every subscriber, each finished), and p50/p99 publish-to-subscriber latency of
// a single message published while nothing else is in flight.
// nsqd runs as its own process with --http-gateway; the publisher (HTTP /mpub) and the
// subscribers (the `ws` package) share this one, so at 1,000 subscribers this process's JSON
// parsing is part of what is measured. Closed loop: a batch is published once every subscriber
// has received the previous one (no drops from full ephemeral queues).
// Run: npx tsx test/bench/gateway.ts [--seconds N] [--subscribers 1,100,1000]

import http from 'node:http'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { startNsqdProcess } from './spawn.js'

const argv = process.argv.slice(2)
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] as string : def
}
const seconds = Number(arg('--seconds', '5'))
const counts = arg('--subscribers', '1,100,1000').split(',').map(Number)
const BATCH = 100

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

async function mpub (addr: string, topic: string, body: Buffer): Promise<void> {
  const i = addr.lastIndexOf(':')
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), method: 'POST', path: `/mpub?topic=${topic}`, agent, headers: { 'content-length': body.length } }, (res) => {
      res.resume()
      res.on('end', () => { if (res.statusCode === 200) resolve(); else reject(new Error(`mpub ${res.statusCode ?? 0}`)) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

function quantile (sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

async function run (addr: string, n: number): Promise<void> {
  const topic = `bench_gw_${n}_${Date.now()}`
  const sockets: WebSocket[] = []
  let subscribed = 0
  let delivered = 0
  const latencies: number[] = []
  const sampleEvery = Math.max(1, Math.floor(n / 10))
  for (let i = 0; i < n; i += 100) {
    const batch: Array<Promise<void>> = []
    for (let k = i; k < Math.min(n, i + 100); k++) {
      const ws = new WebSocket(`ws://${addr}/ws`)
      sockets.push(ws)
      const sample = k % sampleEvery === 0
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString())
        if (f.type === 'ok') { subscribed++; return }
        if (f.type !== 'msg') return
        delivered++
        if (sample) latencies.push(performance.now() - Number((f.body as string).slice(0, 20)))
        ws.send(`{"op":"fin","id":"${f.id as string}"}`)
      })
      batch.push(new Promise<void>((resolve, reject) => {
        ws.once('open', () => { ws.send(JSON.stringify({ op: 'sub', topic, channel: `s${k}#ephemeral`, rdy: 200 })); resolve() })
        ws.once('error', reject)
      }))
    }
    await Promise.all(batch)
  }
  while (subscribed < n) await new Promise((resolve) => setTimeout(resolve, 5))
  const end = performance.now() + seconds * 1000
  const t0 = performance.now()
  let published = 0
  while (performance.now() < end) {
    // each body starts with the publish time (ms, this process's clock), padded to 100 bytes
    const stamp = performance.now().toFixed(6).padStart(20, '0')
    const line = (stamp + ' ').padEnd(100, 'x')
    const body = Buffer.from(Array.from({ length: BATCH }, () => line).join('\n'))
    await mpub(addr, topic, body)
    published += BATCH
    const want = published * n
    while (delivered < want) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const elapsed = (performance.now() - t0) / 1000
  const rate = Math.round(delivered / elapsed)
  // latency: single messages, the next once every subscriber has the previous one (no queueing
  // behind a batch), sampled at a tenth of the subscribers
  latencies.length = 0
  for (let r = 0; r < 50; r++) {
    const stamp = performance.now().toFixed(6).padStart(20, '0')
    await mpub(addr, topic, Buffer.from((stamp + ' ').padEnd(100, 'x')))
    published++
    const want = published * n
    while (delivered < want) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  latencies.sort((a, b) => a - b)
  process.stdout.write(`${String(n).padStart(5)} subscribers: ${rate.toLocaleString('en-US').padStart(9)} msg/s delivered (${published - 50} published in batches, ${n * (published - 50)} deliveries in ${elapsed.toFixed(1)} s); one message to all: p50 ${quantile(latencies, 0.5).toFixed(2)} ms, p99 ${quantile(latencies, 0.99).toFixed(2)} ms (publish to subscriber, ${latencies.length} samples)\n`)
  for (const s of sockets) s.terminate()
}

const d = await startNsqdProcess(['--http-gateway', '--gateway-max-connections=0'])
try {
  process.stdout.write(`gateway: WebSocket subscribers, 100 B messages, /mpub batches of ${BATCH}, ${seconds} s each\n`)
  for (const n of counts) await run(d.http, n)
} finally {
  d.proc.kill('SIGKILL')
  agent.destroy()
}
