// The snappy framing codec: CRC-32C against known vectors, the exact bytes nsqd 1.3.0 sends for a
// post-upgrade OK, round trips fed whole / byte by byte / split at every offset, interop with
// snappystream (what nsqjs uses) both ways, and corrupted input failing cleanly.

import t from 'tap'
import crypto from 'node:crypto'
import { createRequire } from 'node:module'
import { crc32c, maskedCrc32c } from '../../client/wire/crc32c.js'
import { SnappyFrameEncoder, SnappyFrameDecoder, SnappyStreamError, snappyFrame, SNAPPY_STREAM_IDENTIFIER } from '../../client/wire/snappy-stream.js'
import { FRAME_OK } from '../../client/wire/frames.js'

const require = createRequire(import.meta.url)
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function decodeAll (chunks: Buffer[]): Buffer {
  const out: Buffer[] = []
  const d = new SnappyFrameDecoder((b) => { out.push(Buffer.from(b)) })
  for (const c of chunks) d.push(c)
  return Buffer.concat(out)
}

t.test('crc32c vectors and masking', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
  t.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa)
  t.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43)
  const inc = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
  t.equal(crc32c(inc), 0x46dd794e)
  // a range gives the same as the sliced buffer, for every alignment
  const big = crypto.randomBytes(1000)
  for (let s = 0; s < 9; s++) t.equal(crc32c(big, s, 1000 - s), crc32c(Buffer.from(big.subarray(s, 1000 - s))))
  const c = crc32c(Buffer.from('OK'))
  t.equal(maskedCrc32c(Buffer.from('OK')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0)
})

t.test('the post-upgrade OK is framed as nsqd 1.3.0 frames it', async (t) => {
  const enc = new SnappyFrameEncoder()
  const bytes = snappyFrame(enc, FRAME_OK)
  t.same(bytes.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER)
  t.same(bytes.subarray(10, 14), hex('01 0e 00 00'), 'uncompressed chunk of 4 + 10 bytes')
  t.equal(bytes.readUInt32LE(14), maskedCrc32c(FRAME_OK))
  t.same(bytes.subarray(18), FRAME_OK)
  // the identifier is sent once per stream
  const again = snappyFrame(enc, FRAME_OK)
  t.same(again.subarray(0, 4), hex('01 0e 00 00'))
})

t.test('round trips: compressible, random, large, many small buffers, split at every offset', async (t) => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(5000))
  const random = crypto.randomBytes(200_000)
  for (const [name, data] of [['text', text], ['random', random]] as const) {
    const framed = snappyFrame(new SnappyFrameEncoder(), data)
    t.same(decodeAll([framed]), data, `${name} whole`)
    const pieces: Buffer[] = []
    for (let o = 0; o < framed.length; o += 997) pieces.push(framed.subarray(o, o + 997))
    t.same(decodeAll(pieces), data, `${name} in odd pieces`)
    // every chunk is at most 64 KiB uncompressed
    t.ok(framed.length < data.length + 16 * Math.ceil(data.length / 65536) + 10)
  }
  t.ok(snappyFrame(new SnappyFrameEncoder(), text).length < text.length / 5, 'text really compresses')

  const small = Array.from({ length: 300 }, (_, i) => Buffer.from(`message-${i};`))
  const out: Buffer[] = []
  new SnappyFrameEncoder().encode(small, out)
  t.equal(out.length, 3, 'identifier + one chunk (head, payload) for many small buffers')
  t.same(decodeAll([Buffer.concat(out)]), Buffer.concat(small))

  const msg = snappyFrame(new SnappyFrameEncoder(), Buffer.from('hello snappy, hello snappy, hello snappy'))
  for (let i = 1; i < msg.length; i++) {
    t.same(decodeAll([msg.subarray(0, i), msg.subarray(i)]).toString(), 'hello snappy, hello snappy, hello snappy')
  }
  t.same(decodeAll([...msg].map((b) => Buffer.from([b]))).toString(), 'hello snappy, hello snappy, hello snappy', 'byte by byte')
})

t.test('padding and skippable chunks are skipped, even split', async (t) => {
  const enc = new SnappyFrameEncoder()
  const a = snappyFrame(enc, Buffer.from('first'))
  const b = snappyFrame(enc, Buffer.from('second'))
  const padding = Buffer.concat([hex('fe 03 00 00'), Buffer.alloc(3)])
  const skippable = Buffer.concat([hex('80 00 01 00'), Buffer.alloc(256, 1)])
  const stream = Buffer.concat([a, padding, skippable, b])
  t.equal(decodeAll([stream]).toString(), 'firstsecond')
  for (let i = 1; i < stream.length; i += 7) t.equal(decodeAll([stream.subarray(0, i), stream.subarray(i)]).toString(), 'firstsecond')
})

t.test('corrupted input throws SnappyStreamError, never crashes', async (t) => {
  const good = snappyFrame(new SnappyFrameEncoder(), Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(20)))
  const bad = (name: string, bytes: Buffer, re: RegExp): void => {
    let caught: unknown = null
    try { decodeAll([bytes]) } catch (err) { caught = err }
    t.ok(caught instanceof SnappyStreamError && re.test(caught.message), `${name}: ${String(caught)}`)
  }
  bad('no identifier', good.subarray(10), /missing stream identifier/)
  const wrongId = Buffer.from(good); wrongId[5] = 0x41
  bad('wrong identifier', wrongId, /invalid stream identifier/)
  const crc = Buffer.from(good); crc[14] ^= 0xff
  bad('checksum', crc, /checksum mismatch/)
  const body = Buffer.from(good); body[good.length - 3] ^= 0x55
  bad('flipped payload byte', body, /checksum mismatch|corrupt/)
  bad('reserved unskippable type', Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('02 04 00 00 00 00 00 00')]), /unsupported chunk type/)
  bad('oversized uncompressed chunk', Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('01 05 00 01')]), /invalid chunk length/)
  bad('chunk shorter than its checksum', Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('00 02 00 00 00 00')]), /invalid chunk length/)
  bad('garbage compressed block', Buffer.concat([SNAPPY_STREAM_IDENTIFIER, hex('00 0a 00 00 00 00 00 00 ff ff ff ff 0f 00')]), /corrupt|invalid compressed/)
  // random garbage after the identifier
  for (let i = 0; i < 200; i++) {
    const g = Buffer.concat([SNAPPY_STREAM_IDENTIFIER, crypto.randomBytes(1 + (i % 60))])
    try { decodeAll([g]) } catch (err) { t.ok(err instanceof SnappyStreamError) || t.fail(String(err)) }
  }
  // a failed decoder stays failed
  const d = new SnappyFrameDecoder(() => {})
  t.throws(() => { d.push(crc) })
  t.throws(() => { d.push(good) }, /already failed/)
})

t.test('interop with snappystream (nsqjs) both ways', async (t) => {
  const { SnappyStream, UnsnappyStream } = require('snappystream') as { SnappyStream: new () => NodeJS.ReadWriteStream, UnsnappyStream: new () => NodeJS.ReadWriteStream }
  const data = Buffer.concat([Buffer.from('x'.repeat(100_000)), crypto.randomBytes(100_000)])
  // ours -> theirs
  const un = new UnsnappyStream()
  const got: Buffer[] = []
  un.on('data', (b: Buffer) => got.push(b))
  const framed = snappyFrame(new SnappyFrameEncoder(), data)
  await new Promise<void>((resolve) => { un.end(framed, () => { resolve() }) })
  await new Promise((r) => setImmediate(r))
  t.same(Buffer.concat(got), data, 'snappystream decodes our frames')
  // theirs -> ours
  const sn = new SnappyStream()
  const parts: Buffer[] = []
  sn.on('data', (b: Buffer) => parts.push(b))
  await new Promise<void>((resolve) => { sn.on('end', resolve); sn.end(data) })
  t.same(decodeAll(parts), data, 'we decode snappystream frames')
})
