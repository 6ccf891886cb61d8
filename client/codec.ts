// Payload encoding for publishers and the matching decoding for consumers: raw bytes and strings
// pass through; objects become JSON or MessagePack (msgpackr, plain maps so any msgpack reader
// can read them).

import { Packr, Unpackr } from 'msgpackr'
import { NsqClientError } from './errors.js'

/** What a publish accepts: bytes, a string (UTF-8), or a value encoded with `objectEncoding`. */
export type Payload = Buffer | Uint8Array | string | number | boolean | null | object

export type ObjectEncoding = 'json' | 'msgpack'

/** How a consumer decodes bodies before the handler sees them (`message.data`). */
export type BodyDecoder = 'raw' | 'text' | 'json' | 'msgpack' | ((body: Buffer) => unknown)

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false })

export function encodePayload (value: Payload, encoding: ObjectEncoding): Buffer {
  if (Buffer.isBuffer(value)) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (encoding === 'msgpack') return packr.pack(value)
  const json = JSON.stringify(value)
  if (json === undefined) throw new NsqClientError('INVALID_ARGUMENT', 'payload cannot be encoded as JSON')
  return Buffer.from(json, 'utf8')
}

export function msgpackEncode (value: unknown): Buffer {
  return packr.pack(value)
}

export function msgpackDecode (body: Buffer): unknown {
  return unpackr.unpack(body)
}

/** Decodes a body; throws NsqClientError DECODE_FAILED saying why. */
export function decodeBody (body: Buffer, decoder: BodyDecoder, id = ''): unknown {
  try {
    switch (decoder) {
      case 'raw': return body
      case 'text': return body.toString('utf8')
      case 'json': return JSON.parse(body.toString('utf8'))
      case 'msgpack': return unpackr.unpack(body)
      default: return decoder(body)
    }
  } catch (err) {
    const what = typeof decoder === 'function' ? 'custom decoder' : decoder
    const where = id === '' ? '' : ` of message ${id}`
    throw new NsqClientError('DECODE_FAILED', `cannot decode body${where} (${body.length} bytes) as ${what}: ${(err as Error).message}`, '', { cause: err })
  }
}
