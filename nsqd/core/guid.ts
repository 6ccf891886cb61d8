// Per-topic message IDs (tcp-protocol.md §5): a 64-bit value
// ((tick - EPOCH) << 22) | (nodeId << 12) | sequence, tick = unix ns >> 20, rendered as 16 hex chars.
// When a tick's 4096 sequence numbers are used up, the generator moves on to the next tick
// instead of sleeping, so IDs stay unique and increasing.

const TWEPOCH_TICKS = 1288834974288
const SEQUENCE_MASK = 0xfff
const NS_PER_TICK = 1048576
/** Character codes of the lowercase hex digits. */
const HEX: number[] = Array.from({ length: 16 }, (_, i) => i.toString(16).charCodeAt(0))

export class GuidFactory {
  private readonly nodeBits: number
  private lastTick = -1
  private sequence = 0
  /** Hex digit codes of the high 32 bits (they change once per tick). */
  private readonly hi: number[] = new Array<number>(8).fill(0x30)
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
      const hi = Math.floor(delta / 1024)
      for (let i = 0; i < 8; i++) this.hi[i] = HEX[(hi >>> (28 - 4 * i)) & 15]!
      this.loBase = (delta % 1024) * 4194304 + this.nodeBits
    }
    // one flat 16-character string: a concatenation would keep a cons string and its two parts
    // (56 bytes instead of 32 per message) and be flattened again when used as a map key
    const h = this.hi
    const lo = this.loBase + this.sequence
    return String.fromCharCode(h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!,
      HEX[(lo >>> 28) & 15]!, HEX[(lo >>> 24) & 15]!, HEX[(lo >>> 20) & 15]!, HEX[(lo >>> 16) & 15]!,
      HEX[(lo >>> 12) & 15]!, HEX[(lo >>> 8) & 15]!, HEX[(lo >>> 4) & 15]!, HEX[lo & 15]!)
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
