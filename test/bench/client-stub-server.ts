// A minimal V2 server for the client benchmark: answers IDENTIFY/SUB, then keeps every
// connection's RDY window full of pre-encoded 100-byte messages and counts FINs. It does no
// queueing at all, so consume throughput measures the client, not the broker.
// Prints "port=<n>" when listening.

import net from 'node:net'
import { encodeFrame, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE } from '../../client/wire/frames.js'
import { encodeMessage } from '../../client/wire/message.js'

const SIZE = Number(process.argv[2] ?? 100)
const frame = encodeFrame(FRAME_TYPE_MESSAGE, encodeMessage(Date.now() * 1e6, 1, '0123456789abcdef', Buffer.alloc(SIZE, 'x')))
const BLOCK = 2500
const block = Buffer.concat(Array.from({ length: BLOCK }, () => frame))
const OK = encodeFrame(FRAME_TYPE_RESPONSE, 'OK')
const IDENT = encodeFrame(FRAME_TYPE_RESPONSE, JSON.stringify({ max_rdy_count: 2500, version: '1.3.0', max_msg_timeout: 900000, msg_timeout: 60000, tls_v1: false, deflate: false, deflate_level: 6, max_deflate_level: 6, snappy: false, sample_rate: 0, auth_required: false, output_buffer_size: 16384, output_buffer_timeout: 250 }))

const server = net.createServer((sock) => {
  sock.setNoDelay(true)
  let buf: Buffer = Buffer.alloc(0)
  let magic = false
  let rdy = 0
  let inFlight = 0
  const fill = (): void => {
    let n = rdy - inFlight
    if (n <= 0) return
    inFlight += n
    while (n > 0) {
      const k = Math.min(n, BLOCK)
      sock.write(k === BLOCK ? block : block.subarray(0, k * frame.length))
      n -= k
    }
  }
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    let off = 0
    if (!magic) {
      if (buf.length < 4) return
      magic = true
      off = 4
    }
    while (true) {
      const nl = buf.indexOf(10, off)
      if (nl < 0) break
      const c0 = buf[off]
      if (c0 === 0x46) { inFlight--; off = nl + 1; continue } // FIN
      const line = buf.toString('latin1', off, nl)
      if (line === 'IDENTIFY') {
        if (buf.length < nl + 5) break
        const size = buf.readInt32BE(nl + 1)
        if (buf.length < nl + 5 + size) break
        off = nl + 5 + size
        sock.write(IDENT)
        continue
      }
      off = nl + 1
      if (line.startsWith('SUB ')) sock.write(OK)
      else if (line.startsWith('RDY ')) rdy = Number(line.slice(4))
      else if (line === 'CLS') { rdy = 0; sock.write(encodeFrame(FRAME_TYPE_RESPONSE, 'CLOSE_WAIT')) }
      else if (line.startsWith('REQ ')) inFlight--
    }
    buf = off >= buf.length ? Buffer.alloc(0) : buf.subarray(off)
    fill()
  })
  sock.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port=${(server.address() as net.AddressInfo).port}\n`)
})
