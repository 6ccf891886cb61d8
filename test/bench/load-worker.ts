// A load generator process for the nsqd benchmark: raw sockets and our wire codec, batched writes.
// Usage: load-worker <pub|mpub|sub> <host:port> <topic> <bodyBytes> <seconds|count> [connections] [batch]
// Prints one JSON line: { msgs, bytes, ms }.

import net from 'node:net'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import * as cmd from '../../client/wire/commands.js'
import { MAGIC_V2, FRAME_TYPE_MESSAGE, FRAME_TYPE_ERROR } from '../../client/wire/frames.js'

const [mode, addr, topic, sizeArg, amountArg, connsArg, batchArg] = process.argv.slice(2) as string[]
const size = Number(sizeArg)
const amount = Number(amountArg)
const conns = Number(connsArg ?? 1)
const batch = Number(batchArg ?? 200)
const i = addr!.lastIndexOf(':')
const host = addr!.slice(0, i)
const port = Number(addr!.slice(i + 1))
const body = Buffer.alloc(size, 0x61)

function connect (): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => { s.setNoDelay(true); s.write(MAGIC_V2); resolve(s) })
    s.once('error', reject)
  })
}

async function publishers (): Promise<void> {
  const frame = mode === 'pub' ? cmd.pub(topic!, body) : cmd.mpub(topic!, Array.from({ length: batch }, () => body))
  const per = mode === 'pub' ? 1 : batch
  const deadline = Date.now() + amount * 1000
  let msgs = 0
  const t0 = Date.now()
  await Promise.all(Array.from({ length: conns }, async () => {
    const s = await connect()
    await new Promise<void>((resolve, reject) => {
      const dec = new FrameDecoder((type, data) => {
        if (type === FRAME_TYPE_ERROR) { reject(new Error(data.toString())); return }
        if (data.length === 11) return // _heartbeat_
        msgs += per
        if (Date.now() >= deadline) { s.end(); resolve(); return }
        s.write(frame)
      })
      s.on('data', (c) => { dec.push(c) })
      s.write(frame)
    })
  }))
  const ms = Date.now() - t0
  process.stdout.write(JSON.stringify({ msgs, bytes: msgs * size, ms }) + '\n')
}

async function subscriber (): Promise<void> {
  const s = await connect()
  let msgs = 0
  let t0 = 0
  let last = 0
  // FIN lines are written straight into one buffer per read: "FIN " + 16-byte id + "\n"
  let fins = Buffer.allocUnsafe(21 * 4096)
  let finPos = 0
  await new Promise<void>((resolve, reject) => {
    // Frames are scanned in place (no per-frame objects); only a partial frame is carried over.
    let pending: Buffer | null = null
    s.on('data', (chunk: Buffer) => {
      const buf = pending === null ? chunk : Buffer.concat([pending, chunk])
      pending = null
      let o = 0
      let n = 0
      while (buf.length - o >= 8) {
        const size = buf.readInt32BE(o)
        if (buf.length - o < 4 + size) break
        const type = buf.readInt32BE(o + 4)
        if (type === FRAME_TYPE_MESSAGE) {
          if (finPos + 21 > fins.length) { const nb = Buffer.allocUnsafe(fins.length * 2); fins.copy(nb, 0, 0, finPos); fins = nb }
          fins[finPos] = 0x46; fins[finPos + 1] = 0x49; fins[finPos + 2] = 0x4e; fins[finPos + 3] = 0x20
          buf.copy(fins, finPos + 4, o + 18, o + 34)
          fins[finPos + 20] = 0x0a
          finPos += 21
          n++
        } else if (type === FRAME_TYPE_ERROR) {
          reject(new Error(buf.toString('utf8', o + 8, o + 4 + size)))
        }
        o += 4 + size
      }
      if (o < buf.length) pending = Buffer.from(buf.subarray(o))
      if (n > 0) {
        const now = Date.now()
        if (t0 === 0) t0 = now
        last = now
        msgs += n
      }
      if (finPos > 0) { s.write(fins.subarray(0, finPos)); fins = Buffer.allocUnsafe(fins.length); finPos = 0 }
    })
    s.on('close', () => { resolve() })
    // Consumers sharing a channel split it unevenly: stop once the channel has gone quiet.
    const idle = setInterval(() => {
      if (t0 !== 0 && Date.now() - last > 1000) { clearInterval(idle); s.end(); resolve() }
    }, 200)
    s.write(Buffer.concat([cmd.sub(topic!, 'bench'), cmd.rdy(2500)]))
  })
  const ms = Math.max(1, last - t0)
  process.stdout.write(JSON.stringify({ msgs, bytes: msgs * size, ms }) + '\n')
}

if (mode === 'sub') await subscriber()
else await publishers()
process.exit(0)
