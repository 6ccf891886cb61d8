// Per-topic message IDs (tcp-protocol.md §5): a 64-bit value
// ((tick - EPOCH) << 22) | (nodeId << 12) | sequence, tick = unix ns >> 20, rendered as 16 hex chars.
// When a tick's 4096 sequence numbers are used up, the generator moves on to the next tick
// instead of sleeping, so IDs stay unique and increasing.

const TWEPOCH_TICKS = 1288834974288
const SEQUENCE_MASK = 0xfff
const NS_PER_TICK = 1048576
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** 8 lowercase hex digits of an unsigned 32-bit value, by table. */
function hex8 (v: number): string {
  return HEX2[(v >>> 24) & 255]! + HEX2[(v >>> 16) & 255]! + HEX2[(v >>> 8) & 255]! + HEX2[v & 255]!
}

export class GuidFactory {
  private readonly nodeBits: number
  private lastTick = -1
  private sequence = 0
  private hiHex = ''
  private loBase = 0

  constructor (nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 1023) throw new RangeError('--node-id must be [0,1024)')
    this.nodeBits = nodeId << 12
  }

  next (nowMs = Date.now()): string {
    let tick = Math.floor((nowMs * 1e6) / NS_PER_TICK)
    if (tick < this.lastTick) tick = this.lastTick
    if (tick === this.lastTick) {
      this.sequence = (this.sequence + 1) & SEQUENCE_MASK
      if (this.sequence === 0) tick = this.lastTick + 1
    } else {
      this.sequence = 0
    }
    if (tick !== this.lastTick) {
      this.lastTick = tick
      const delta = tick - TWEPOCH_TICKS
      // high 32 bits = delta >> 10; low 32 bits = (delta & 1023) << 22 | node | seq
      this.hiHex = hex8(Math.floor(delta / 1024))
      this.loBase = (delta % 1024) * 4194304 + this.nodeBits
    }
    return this.hiHex + hex8(this.loBase + this.sequence)
  }
}

/** NSQ's default node id: a stable number in [0,1024) derived from the host name. */
export function defaultNodeId (hostname: string): number {
  let h = 2166136261
  for (let i = 0; i < hostname.length; i++) {
    h ^= hostname.charCodeAt(i)
    h = Math.imul(h, 16777619) >>> 0
  }
  return h % 1024
}
