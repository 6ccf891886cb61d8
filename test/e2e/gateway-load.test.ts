// 2,000 concurrent gateway connections on loopback against nsqd as its own process (so its memory
// is its own): every connection subscribes to its own ephemeral channel (a push to 2,000 browser
// sessions), one publish reaches all of them, and nsqd's memory (RSS from /proc and the heap from
// /stats) is reported before and after.

import t from 'tap'
import fs from 'node:fs'
import WebSocket from 'ws'
import { spawnDaemon, getJson } from '../helpers/procs.js'
import { tmpDir, uniq, until } from '../helpers/nsqd.js'

const N = 2000

function rssMiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? -1 : Math.round(Number(m[1]) / 1024)
}

t.test(`${N} concurrent WebSocket subscribers, one publish delivered to each; nsqd memory reported`, async (t) => {
  const d = await spawnDaemon(t, 'nsqd/main.ts', ['--http-gateway', `--gateway-max-connections=${N + 10}`, '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${tmpDir(t)}`, '--log-level=warn'])
  const pid = d.proc.pid as number
  const heap = async (): Promise<number> => Math.round((await getJson(`http://${d.http}/stats?format=json`)).memory.heap_in_use_bytes / 1048576)
  const rss0 = rssMiB(pid)
  const heap0 = await heap()
  const topic = uniq('push')
  const sockets: WebSocket[] = []
  t.teardown(() => { for (const s of sockets) s.terminate() })
  let subscribed = 0
  let received = 0
  const started = Date.now()
  // in batches, so the listen backlog is never the limit
  for (let i = 0; i < N; i += 200) {
    const batch: Array<Promise<void>> = []
    for (let k = i; k < Math.min(N, i + 200); k++) {
      const ws = new WebSocket(`ws://${d.http}/ws`)
      sockets.push(ws)
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString())
        if (f.type === 'ok') subscribed++
        else if (f.type === 'msg') { received++; ws.send(JSON.stringify({ op: 'fin', id: f.id })) }
      })
      batch.push(new Promise<void>((resolve, reject) => {
        ws.once('open', () => { ws.send(JSON.stringify({ op: 'sub', topic, channel: `s${k}#ephemeral`, rdy: 1 })); resolve() })
        ws.once('error', reject)
      }))
    }
    await Promise.all(batch)
  }
  await until(() => subscribed === N, `${N} subscriptions`, 60_000, 20)
  const connectMs = Date.now() - started
  const rss1 = rssMiB(pid)
  const heap1 = await heap()
  const pubAt = Date.now()
  const res = await fetch(`http://${d.http}/pub?topic=${topic}`, { method: 'POST', body: 'x'.repeat(100) })
  t.equal(res.status, 200)
  await until(() => received === N, `the message at all ${N} subscribers`, 60_000, 5)
  const fanoutMs = Date.now() - pubAt
  const stats = await getJson(`http://${d.http}/stats?format=json&topic=${topic}&include_clients=false`)
  const channels = stats.topics[0].channels as Array<{ client_count: number, message_count: number }>
  t.equal(channels.length, N, 'a channel per connection')
  t.ok(channels.every((c) => c.client_count === 1 && c.message_count === 1))
  t.comment(`${N} connections subscribed in ${connectMs} ms; one 100 B publish reached all in ${fanoutMs} ms`)
  t.comment(`nsqd RSS ${rss0} MiB -> ${rss1} MiB (${((rss1 - rss0) * 1024 / N).toFixed(1)} KiB per connection); heap in use ${heap0} -> ${heap1} MiB`)
})
