// The snappy framing format NSQ speaks after a snappy upgrade (tcp-protocol.md §10.3): a stream
// identifier chunk, then compressed (0x00) or uncompressed (0x01) chunks of at most 65536
// uncompressed bytes, each carrying the masked CRC-32C of its uncompressed data. Built on the
// snappy package's block codec (its own stream API never flushes small writes). Pure: bytes in,
// bytes out; no sockets.

import { createRequire } from 'node:module'
import { Accumulator } from './accumulator.js'
import { maskedCrc32c } from './crc32c.js'

/** The snappy package (a native addon, ~5 MB of RSS) loads on the first snappy stream, not at start. */
let codec: typeof import('snappy') | null = null
function snappy (): typeof import('snappy') {
  if (codec === null) codec = createRequire(import.meta.url)('snappy') as typeof import('snappy')
  return codec
}

export const SNAPPY_STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])

const CHUNK_COMPRESSED = 0x00
const CHUNK_UNCOMPRESSED = 0x01
const CHUNK_PADDING = 0xfe
const CHUNK_STREAM_IDENTIFIER = 0xff
/** Most uncompressed bytes in one chunk. */
export const MAX_BLOCK_SIZE = 65536
/** Snappy's bound on a compressed block of MAX_BLOCK_SIZE bytes: 32 + n + n/6. */
const MAX_COMPRESSED_BLOCK = 32 + MAX_BLOCK_SIZE + Math.floor(MAX_BLOCK_SIZE / 6)
/** Blocks shorter than this are not worth compressing (as golang/snappy). */
const MIN_COMPRESS = 17

export class SnappyStreamError extends Error {
  constructor (message: string) {
    super(`snappy: ${message}`)
    this.name = 'SnappyStreamError'
  }
}

/**
 * Frames outgoing bytes. Each `encode()` call emits complete chunks (one flush), the stream
 * identifier before the first one. Output buffers are appended to `out`; data blocks taken from a
 * single input buffer are not copied.
 */
export class SnappyFrameEncoder {
  private started = false

  /** Frames `bufs` (in order) into `out`; small neighbouring buffers share one chunk. */
  encode (bufs: readonly Buffer[], out: Buffer[]): void {
    if (!this.started) {
      this.started = true
      out.push(SNAPPY_STREAM_IDENTIFIER)
    }
    let pending: Buffer[] = []
    let pendingLen = 0
    for (const buf of bufs) {
      let off = 0
      while (off < buf.length) {
        const room = MAX_BLOCK_SIZE - pendingLen
        const take = Math.min(room, buf.length - off)
        // a whole block from one buffer: frame it in place
        if (pendingLen === 0 && take === MAX_BLOCK_SIZE) {
          this.block(buf.subarray(off, off + take), out)
        } else {
          pending.push(buf.subarray(off, off + take))
          pendingLen += take
          if (pendingLen === MAX_BLOCK_SIZE) {
            this.block(pending.length === 1 ? pending[0] as Buffer : Buffer.concat(pending, pendingLen), out)
            pending = []
            pendingLen = 0
          }
        }
        off += take
      }
    }
    if (pendingLen > 0) this.block(pending.length === 1 ? pending[0] as Buffer : Buffer.concat(pending, pendingLen), out)
  }

  private block (data: Buffer, out: Buffer[]): void {
    const crc = maskedCrc32c(data)
    let type = CHUNK_UNCOMPRESSED
    let payload = data
    if (data.length >= MIN_COMPRESS) {
      const c = snappy().compressSync(data)
      if (c.length < data.length - (data.length >>> 3)) {
        type = CHUNK_COMPRESSED
        payload = c
      }
    }
    const head = Buffer.allocUnsafe(8)
    const len = payload.length + 4
    head[0] = type
    head[1] = len & 0xff
    head[2] = (len >>> 8) & 0xff
    head[3] = (len >>> 16) & 0xff
    head.writeUInt32LE(crc, 4)
    out.push(head, payload)
  }
}

/** Convenience: frames one buffer into one Buffer (tests, one-off writes). */
export function snappyFrame (encoder: SnappyFrameEncoder, data: Buffer): Buffer {
  const out: Buffer[] = []
  encoder.encode([data], out)
  return Buffer.concat(out)
}

/** Reads the varint uncompressed length at the head of a snappy block; -1 if malformed. */
function blockLength (buf: Buffer, start: number, end: number): number {
  let n = 0
  let shift = 0
  for (let i = start; i < end && i < start + 5; i++) {
    const b = buf[i] as number
    n += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return n
    shift += 7
  }
  return -1
}

/**
 * Incremental reader of the framing format. `push()` hands each chunk's uncompressed data to
 * `onData` (views into the input where a chunk was stored uncompressed) and throws a
 * SnappyStreamError on anything malformed: a missing or wrong stream identifier, a bad checksum, an
 * oversized chunk, a reserved unskippable chunk type, or a block that does not decompress.
 */
export class SnappyFrameDecoder {
  private readonly acc = new Accumulator()
  private sawIdentifier = false
  /** Bytes of a skippable chunk still to discard. */
  private skip = 0
  /** Size of the chunk being accumulated, so it grows into one allocation. */
  private want = 0
  private failed = false
  private readonly onData: (data: Buffer) => void

  constructor (onData: (data: Buffer) => void) {
    this.onData = onData
  }

  push (chunk: Buffer): void {
    if (this.failed) throw new SnappyStreamError('stream already failed')
    try {
      this.run(chunk)
    } catch (err) {
      this.failed = true
      this.acc.clear()
      throw err
    }
  }

  private run (chunk: Buffer): void {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length)
      this.skip -= n
      chunk = chunk.subarray(n)
      if (chunk.length === 0) return
    }
    const acc = this.acc
    acc.push(chunk, this.want)
    this.want = 0
    while (acc.end - acc.start >= 4) {
      const buf = acc.buf
      const s = acc.start
      const type = buf[s] as number
      const len = (buf[s + 1] as number) | ((buf[s + 2] as number) << 8) | ((buf[s + 3] as number) << 16)
      if (!this.sawIdentifier && type !== CHUNK_STREAM_IDENTIFIER) throw new SnappyStreamError('missing stream identifier')
      if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
        const max = type === CHUNK_COMPRESSED ? MAX_COMPRESSED_BLOCK : MAX_BLOCK_SIZE
        if (len < 4 || len - 4 > max) throw new SnappyStreamError(`invalid chunk length ${len}`)
      } else if (type === CHUNK_STREAM_IDENTIFIER) {
        if (len !== 6) throw new SnappyStreamError('invalid stream identifier')
      } else if (type < 0x80) {
        throw new SnappyStreamError(`unsupported chunk type 0x${type.toString(16)}`)
      } else if (acc.end - s < 4 + len) {
        // padding or a skippable chunk: discard without buffering it
        this.skip = 4 + len - (acc.end - s)
        acc.clear()
        return
      }
      if (acc.end - s < 4 + len) {
        this.want = 4 + len
        break
      }
      acc.start = s + 4 + len
      if (type === CHUNK_STREAM_IDENTIFIER) {
        if (!buf.subarray(s, s + 10).equals(SNAPPY_STREAM_IDENTIFIER)) throw new SnappyStreamError('invalid stream identifier')
        this.sawIdentifier = true
        continue
      }
      if (type === CHUNK_PADDING || type >= 0x80) continue
      const crc = buf.readUInt32LE(s + 4)
      let data: Buffer
      if (type === CHUNK_UNCOMPRESSED) {
        data = buf.subarray(s + 8, s + 4 + len)
      } else {
        const n = blockLength(buf, s + 8, s + 4 + len)
        if (n < 0 || n > MAX_BLOCK_SIZE) throw new SnappyStreamError('invalid compressed block length')
        try {
          data = snappy().uncompressSync(buf.subarray(s + 8, s + 4 + len), { asBuffer: true }) as Buffer
        } catch (err) {
          throw new SnappyStreamError(`corrupt compressed block (${(err as Error).message})`)
        }
      }
      if (maskedCrc32c(data) !== crc) throw new SnappyStreamError('checksum mismatch')
      if (data.length > 0) this.onData(data)
    }
    if (acc.start === acc.end) acc.clear()
  }
}
