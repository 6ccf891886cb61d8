// The message layout (tcp-protocol.md §5), shared by the wire and by message records at rest:
// [int64 timestamp ns][uint16 attempts][16 bytes ASCII hex id][body].

export const MESSAGE_HEADER_SIZE = 26
export const MESSAGE_ID_LENGTH = 16

const TWO_32 = 4294967296

/**
 * Writes the 26-byte header at `offset`. Timestamps are JS numbers of nanoseconds: exact to
 * 256 ns at today's epoch values, which is finer than anything NSQ reports.
 */
export function writeMessageHeader (buf: Buffer, offset: number, timestampNs: number, attempts: number, id: string): number {
  const hi = Math.floor(timestampNs / TWO_32)
  buf.writeUInt32BE(hi >>> 0, offset)
  buf.writeUInt32BE((timestampNs - hi * TWO_32) >>> 0, offset + 4)
  buf.writeUInt16BE(attempts & 0xffff, offset + 8)
  buf.write(id, offset + 10, MESSAGE_ID_LENGTH, 'latin1')
  return offset + MESSAGE_HEADER_SIZE
}

export function readTimestamp (buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4)
}

export interface DecodedMessage {
  timestamp: number
  attempts: number
  id: string
  body: Buffer
}

/** Decodes a message payload (frame data or record); throws RangeError when shorter than a header. */
export function decodeMessage (data: Buffer): DecodedMessage {
  if (data.length < MESSAGE_HEADER_SIZE) throw new RangeError(`message payload too short: ${data.length} bytes`)
  return {
    timestamp: readTimestamp(data, 0),
    attempts: data.readUInt16BE(8),
    id: data.toString('latin1', 10, 26),
    body: data.subarray(MESSAGE_HEADER_SIZE)
  }
}

/** Encodes header + body into one new Buffer. */
export function encodeMessage (timestampNs: number, attempts: number, id: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_HEADER_SIZE + body.length)
  writeMessageHeader(out, 0, timestampNs, attempts, id)
  body.copy(out, MESSAGE_HEADER_SIZE)
  return out
}
