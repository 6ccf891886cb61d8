// A load process for the connections benchmark: holds `count` idle consumers on one nsqd (IDENTIFY
// with a heartbeat interval, SUB, RDY 1), answers every heartbeat with NOP as clients do, and
// measures the gap between successive heartbeats on each connection. Driven over IPC:
// parent → {measure} starts recording, {stop} ends it; worker → {ready}, then {result}.
// Usage (spawned by connections.ts): idle-conn-worker <host:port> <topic> <count> <heartbeatMs>

import net from 'node:net'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import * as cmd from '../../client/wire/commands.js'
import { MAGIC_V2, FRAME_TYPE_ERROR } from '../../client/wire/frames.js'

const [addr, topic, countArg, hbArg] = process.argv.slice(2) as [string, string, string, string]
const count = Number(countArg)
const heartbeatMs = Number(hbArg)
const i = addr.lastIndexOf(':')
const host = addr.slice(0, i)
const port = Number(addr.slice(i + 1))

const NOP = cmd.NOP
const HELLO = Buffer.concat([MAGIC_V2, cmd.identify({ client_id: 'idle', heartbeat_interval: heartbeatMs }), cmd.sub(topic, 'idle'), cmd.rdy(1)])

let measuring = false
/** Gaps between successive heartbeats (ms) while measuring. */
const gaps: number[] = []
let heartbeats = 0
let closedEarly = 0
let errors = 0
const sockets: net.Socket[] = []

function open (): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host)
    let oks = 0
    let last = 0
    const dec = new FrameDecoder((type, data) => {
      if (type === FRAME_TYPE_ERROR) { errors++; process.stderr.write(`error frame: ${data.toString()}\n`); return }
      if (data.length === 11 && data[0] === 0x5f) { // _heartbeat_
        const now = performance.now()
        if (measuring && last !== 0) { gaps.push(now - last); heartbeats++ }
        last = now
        s.write(NOP)
        return
      }
      if (++oks === 2) resolve() // IDENTIFY and SUB answered
    })
    s.on('data', (c: Buffer) => { dec.push(c) })
    s.on('error', (err) => { if (oks < 2) reject(err) })
    s.on('close', () => { if (!stopping) closedEarly++ })
    s.setNoDelay(true)
    s.write(HELLO)
    sockets.push(s)
  })
}

let stopping = false
const PARALLEL = 200
let next = 0
await Promise.all(Array.from({ length: PARALLEL }, async () => {
  while (next < count) { next++; await open() }
}))
process.send!({ type: 'ready', count: sockets.length })

process.on('message', (m: { type: string }) => {
  if (m.type === 'measure') { measuring = true; return }
  if (m.type === 'stop') {
    measuring = false
    stopping = true
    gaps.sort((a, b) => a - b)
    const q = (p: number): number => gaps.length === 0 ? NaN : gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))]!
    process.send!({ type: 'result', heartbeats, closedEarly, errors, p50: q(0.5), p99: q(0.99), max: q(1), min: gaps[0] ?? NaN, over: gaps.filter((g) => g > heartbeatMs * 1.5).length },
      () => { for (const s of sockets) s.destroy(); process.exit(0) })
  }
})
