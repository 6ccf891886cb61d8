// Client → server command encoder (tcp-protocol.md §3, §8). A separate implementation from the
// server's decoder; tests check the two against each other and against the spec's byte examples.

const NL = 0x0a

function line (text: string): Buffer {
  return Buffer.from(text + '\n', 'latin1')
}

function withBody (head: string, body: Buffer): Buffer {
  const headLen = Buffer.byteLength(head, 'latin1')
  const out = Buffer.allocUnsafe(headLen + 1 + 4 + body.length)
  out.write(head, 0, 'latin1')
  out[headLen] = NL
  out.writeInt32BE(body.length, headLen + 1)
  body.copy(out, headLen + 5)
  return out
}

export type Body = Buffer | string | Uint8Array

export function toBuffer (b: Body): Buffer {
  if (Buffer.isBuffer(b)) return b
  if (typeof b === 'string') return Buffer.from(b, 'utf8')
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

export const NOP = line('NOP')
export const CLS = line('CLS')

export function identify (data: Record<string, unknown>): Buffer {
  return withBody('IDENTIFY', Buffer.from(JSON.stringify(data), 'utf8'))
}

export function auth (secret: Body): Buffer {
  return withBody('AUTH', toBuffer(secret))
}

export function sub (topic: string, channel: string): Buffer {
  return line(`SUB ${topic} ${channel}`)
}

export function rdy (count: number): Buffer {
  return line(`RDY ${count}`)
}

export function fin (id: string): Buffer {
  return line(`FIN ${id}`)
}

export function req (id: string, timeoutMs: number): Buffer {
  return line(`REQ ${id} ${Math.max(0, Math.floor(timeoutMs))}`)
}

export function touch (id: string): Buffer {
  return line(`TOUCH ${id}`)
}

export function pub (topic: string, body: Body): Buffer {
  return withBody(`PUB ${topic}`, toBuffer(body))
}

export function dpub (topic: string, deferMs: number, body: Body): Buffer {
  return withBody(`DPUB ${topic} ${Math.max(0, Math.floor(deferMs))}`, toBuffer(body))
}

export function mpub (topic: string, bodies: readonly Body[]): Buffer {
  const bufs = bodies.map(toBuffer)
  let size = 4
  for (const b of bufs) size += 4 + b.length
  const head = `MPUB ${topic}\n`
  const headLen = Buffer.byteLength(head, 'latin1')
  const out = Buffer.allocUnsafe(headLen + 4 + size)
  out.write(head, 0, 'latin1')
  let o = headLen
  out.writeInt32BE(size, o); o += 4
  out.writeInt32BE(bufs.length, o); o += 4
  for (const b of bufs) {
    out.writeInt32BE(b.length, o); o += 4
    b.copy(out, o); o += b.length
  }
  return out
}
