// The replication stream's framing and the position record: frames read back whole however the
// bytes are cut, from a read buffer the socket reuses; positions in both formats.

import t from 'tap'
import {
  FrameReader, decodeFrame, decodePos, encodeBatch, encodeJson, encodeMark, encodePos, encodeResume,
  T_ACK, T_BATCH, T_HELLO, T_RESUME
} from '../../nsqd/replication/protocol.js'

const big = Buffer.alloc(200_000)
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
const frames = [
  encodeJson(T_HELLO, { id: 'a:4153', epoch: 3, pos: null }),
  encodeBatch(3, 41, true, [{ type: 'put', key: 'q/t/0000000000000001', value: big }, { type: 'del', key: 'r/t' }]),
  encodeMark(T_ACK, 3, 41),
  encodeBatch(3, 42, false, [{ type: 'put', key: 'b/t', value: Buffer.from('x') }])
]
const stream = Buffer.concat(frames)

/** Feeds `stream` in pieces of `size` through one reused read buffer, overwritten after each push. */
function feed (size: number): Buffer[] {
  const got: Buffer[] = []
  const reader = new FrameReader((f) => { got.push(f) })
  const readBuffer = Buffer.alloc(size)
  for (let off = 0; off < stream.length; off += size) {
    const n = stream.copy(readBuffer, 0, off, Math.min(stream.length, off + size))
    reader.push(readBuffer.subarray(0, n))
    readBuffer.fill(0xee) // the socket's next read
  }
  return got
}

t.test('frames come out whole and unchanged, whatever the read size, from a reused read buffer', async (t) => {
  for (const size of [1, 2, 3, 4, 5, 7, 64, 1000, 65536, 262144, stream.length]) {
    const got = feed(size)
    t.equal(got.length, frames.length, `read size ${size}: ${frames.length} frames`)
    t.ok(got.every((f, i) => f.equals((frames[i] as Buffer).subarray(4))), `read size ${size}: each frame byte for byte`)
  }
  const [batch] = feed(4096).filter(f => f[0] === T_BATCH)
  const d = decodeFrame(batch as Buffer, false)
  t.same([d.seq, d.sync, d.ops.length, d.size], [41, true, 2, (batch as Buffer).length])
  t.ok((d.ops[0] as { value: Buffer }).value.equals(big), 'a put value decodes to the bytes sent')
  t.equal((batch as Buffer).buffer.byteLength, (batch as Buffer).length, 'a big frame has a buffer of its own (the tail keeps it without pinning more)')
})

t.test('a bad length is refused', async (t) => {
  const reader = new FrameReader(() => {})
  t.throws(() => { reader.push(Buffer.from([0, 0, 0, 0])) }, /bad replication frame length 0/)
})

t.test('positions: exact or a lower bound; the first format is exact', async (t) => {
  t.same(decodePos(encodePos(7, 123456789)), { epoch: 7, seq: 123456789, exact: false })
  t.same(decodePos(encodePos(7, 5, true)), { epoch: 7, seq: 5, exact: true })
  const first = Buffer.alloc(10)
  first.writeUInt32BE(2, 0)
  first.writeUIntBE(99, 4, 6)
  t.same(decodePos(first), { epoch: 2, seq: 99, exact: true }, 'written with every batch by earlier versions')
  t.equal(decodePos(Buffer.alloc(3)), null)
  t.equal(decodePos(undefined), null)
})

t.test('RESUME names the primary\'s newest batch; one from an earlier version does not', async (t) => {
  const r = decodeFrame(encodeResume(4, 100, 250).subarray(4))
  t.same([r.type, r.epoch, r.seq, r.upTo], [T_RESUME, 4, 100, 250])
  const old = decodeFrame(encodeMark(T_RESUME, 4, 100).subarray(4))
  t.same([old.type, old.epoch, old.seq, old.upTo], [T_RESUME, 4, 100, 0])
})
