// Store throughput: messages/s put (until committed) and taken back, through one level queue.
// `npx tsx test/bench/store.ts [count]` — cases: 100 B and 1 KiB bodies, default sync policy
// (--sync-every 2500) and durable (every batch synced). Bodies are random (incompressible).

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { Message } from '../../nsqd/core/message.js'
import { Store } from '../../nsqd/store/store.js'

const total = Number(process.argv[2] ?? 1_000_000)

async function runCase (bodySize: number, count: number, durable: boolean): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-bench-store-'))
  try {
    const store = await Store.open({ path: path.join(dir, 'db'), syncEvery: durable ? 1 : 2500, syncTimeoutMs: 2000 })
    const q = store.openQueue('bench')
    const pool = crypto.randomBytes(bodySize * 64)
    const msgs: Message[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const off = (i % 64) * bodySize
      msgs[i] = new Message(i.toString(16).padStart(16, '0'), pool.subarray(off, off + bodySize), Date.now() * 1e6)
    }
    // producers put in bursts of 200 per tick (like MPUBs arriving), the writer group-commits
    const burst = 200
    let t0 = performance.now()
    for (let i = 0; i < count; i += burst) {
      const end = Math.min(count, i + burst)
      for (let j = i; j < end; j++) q.put(msgs[j])
      if ((i / burst) % 50 === 49) await new Promise(resolve => setImmediate(resolve))
    }
    await q.whenCommitted()
    const putS = (performance.now() - t0) / 1000
    t0 = performance.now()
    let got = 0
    while (got < count) {
      const m = q.shift()
      if (m !== undefined) { got++; continue }
      await new Promise<void>(resolve => { q.onReadable = resolve })
    }
    await q.whenCommitted()
    const getS = (performance.now() - t0) / 1000
    await store.close()
    const mb = (count * bodySize) / 1e6
    console.log(`${durable ? 'durable' : 'default'} ${String(bodySize).padStart(5)} B  put ${fmt(count / putS)} msg/s (${(mb / putS).toFixed(0)} MB/s)  take ${fmt(count / getS)} msg/s`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function fmt (n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`
}

for (const durable of [false, true]) {
  await runCase(100, total, durable)
  await runCase(1024, Math.max(1000, Math.floor(total / 5)), durable)
}
