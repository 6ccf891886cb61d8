// Server → client frames (tcp-protocol.md §4): [int32 size = 4 + len(data)][int32 type][data].

export const FRAME_TYPE_RESPONSE = 0
export const FRAME_TYPE_ERROR = 1
export const FRAME_TYPE_MESSAGE = 2

export const MAGIC_V2 = Buffer.from('  V2', 'latin1')
export const MAGIC_V1 = Buffer.from('  V1', 'latin1')

export function encodeFrame (frameType: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const out = Buffer.allocUnsafe(8 + body.length)
  out.writeInt32BE(4 + body.length, 0)
  out.writeInt32BE(frameType, 4)
  body.copy(out, 8)
  return out
}

export const FRAME_OK = encodeFrame(FRAME_TYPE_RESPONSE, 'OK')
export const FRAME_HEARTBEAT = encodeFrame(FRAME_TYPE_RESPONSE, '_heartbeat_')
export const FRAME_CLOSE_WAIT = encodeFrame(FRAME_TYPE_RESPONSE, 'CLOSE_WAIT')
export const HEARTBEAT = '_heartbeat_'
