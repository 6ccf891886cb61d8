// Load generator for the disk benchmark (test/bench/nsqd-disk.ts). Publishers keep `depth` MPUBs
// in flight per connection (durable mode answers once a synced batch holds them).
// Usage: disk-load-worker mpub <host:port> <topic> <bodyBytes> <seconds> <connections> <batch> <depth>
//        disk-load-worker sub  <host:port> <topic> <bodyBytes> <count> <connections>
// Prints one JSON line: { msgs, bytes, ms }.

import net from 'node:net'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import * as cmd from '../../client/wire/commands.js'
import { MAGIC_V2, FRAME_TYPE_MESSAGE, FRAME_TYPE_ERROR } from '../../client/wire/frames.js'

const [mode, addr, topic, sizeArg, amountArg, connsArg, batchArg, depthArg] = process.argv.slice(2) as string[]
const size = Number(sizeArg)
const amount = Number(amountArg)
const i = addr.lastIndexOf(':')
const host = addr.slice(0, i)
const port = Number(addr.slice(i + 1))
const body = Buffer.alloc(size, 0x61)

async function connect (): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => { s.setNoDelay(true); s.write(MAGIC_V2); resolve(s) })
    s.once('error', reject)
  })
}

async function publish (): Promise<void> {
  const conns = Number(connsArg ?? 1)
  const batch = Number(batchArg ?? 200)
  const depth = Number(depthArg ?? 1)
  const frame = cmd.mpub(topic, Array.from({ length: batch }, () => body))
  const deadline = Date.now() + amount * 1000
  let msgs = 0
  const t0 = Date.now()
  await Promise.all(Array.from({ length: conns }, async () => {
    const s = await connect()
    await new Promise<void>((resolve, reject) => {
      let outstanding = 0
      let stopping = false
      const dec = new FrameDecoder((type, data) => {
        if (type === FRAME_TYPE_ERROR) { reject(new Error(data.toString())); return }
        if (data.length === 11) return // _heartbeat_
        msgs += batch
        outstanding--
        if (Date.now() >= deadline) stopping = true
        if (!stopping) { s.write(frame); outstanding++ } else if (outstanding === 0) { s.end(); resolve() }
      })
      s.on('data', (c) => { dec.push(c) })
      for (let k = 0; k < depth; k++) { s.write(frame); outstanding++ }
    })
  }))
  process.stdout.write(JSON.stringify({ msgs, bytes: msgs * size, ms: Date.now() - t0 }) + '\n')
}

async function subscribe (): Promise<void> {
  // several connections share one count, so no connection quits holding messages in flight
  const conns = Number(connsArg ?? 1)
  const sockets = await Promise.all(Array.from({ length: conns }, connect))
  let msgs = 0
  let t0 = 0
  await new Promise<void>((resolve, reject) => {
    for (const s of sockets) {
      const fins: Buffer[] = []
      const dec = new FrameDecoder((type, data) => {
        if (type === FRAME_TYPE_MESSAGE) {
          if (t0 === 0) t0 = Date.now()
          msgs++
          fins.push(cmd.fin(data.toString('latin1', 10, 26)))
        } else if (type === FRAME_TYPE_ERROR) {
          reject(new Error(data.toString()))
        }
      })
      s.on('data', (c) => {
        dec.push(c)
        if (fins.length > 0) { s.write(Buffer.concat(fins)); fins.length = 0 }
        if (msgs >= amount) resolve()
      })
      s.on('close', () => { resolve() })
      s.write(Buffer.concat([cmd.sub(topic, 'bench'), cmd.rdy(2500)]))
    }
  })
  const ms = Date.now() - t0
  for (const s of sockets) s.destroy()
  process.stdout.write(JSON.stringify({ msgs, bytes: msgs * size, ms }) + '\n')
}

if (mode === 'sub') await subscribe()
else await publish()
process.exit(0)
