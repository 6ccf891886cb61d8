// The replication wire: length-prefixed frames between a primary and its standbys.
//
//   frame    = [u32 length of type + payload][u8 type][payload]
//   HELLO    standby → primary: JSON {id, epoch, pos, tcp_address, http_address, hostname}
//            (epoch: the newest the standby knows; pos: {epoch, seq} of the last batch it holds,
//            null when it holds no complete copy; the addresses are for /info and nsqadmin)
//   REJECT   either way: JSON {reason, epoch}                 then the sender closes
//   SNAP_BEGIN primary → standby: [u32 epoch][u48 seq]       state as of batch `seq` follows
//   SNAP_DATA  [u32 epoch][ops]                              puts of the snapshot
//   SNAP_END   [u32 epoch][u48 seq][u32 entry epoch]         (the epoch that wrote batch `seq`)
//   RESUME     [u32 epoch][u48 seq]                          incremental catch-up: the standby's
//                                                            copy is our history up to `seq`;
//                                                            the batches after it follow
//   BATCH      [u32 entry epoch][u48 seq][u8 sync][ops]      one store batch, applied atomically
//   CLEAR      [u32 entry epoch][u48 seq][u32 n][gte][u32 n][lt]   one range deletion
//   ACK      standby → primary: [u32 epoch][u48 seq]         everything up to seq is applied
//   ops      = [u32 count] then per op [u8 0=put|1=del][u32 n][key utf8] (put: [u32 n][value])
//
// Positions: batch sequence numbers continue across elections (a new primary goes on from the last
// batch it applied), and each batch carries the epoch of the primary that wrote it: (epoch, seq)
// names one batch of the group's history, as a (term, index) names one Raft log entry. BATCH and
// CLEAR carry that entry epoch (a replayed batch keeps its own); the session's epoch, the one
// fenced on, is the SNAP_BEGIN's or RESUME's.

import type { StoreOp } from '../store/store.js'

export const T_HELLO = 1
export const T_REJECT = 2
export const T_SNAP_BEGIN = 3
export const T_SNAP_DATA = 4
export const T_SNAP_END = 5
export const T_BATCH = 6
export const T_CLEAR = 7
export const T_ACK = 8
export const T_RESUME = 9

/** Largest frame accepted (a batch holds at most a tick's worth of chunks). */
export const MAX_FRAME = 512 * 1024 * 1024

export interface Frame {
  type: number
  epoch: number
  seq: number
  /** SNAP_END: the epoch that wrote batch `seq`. */
  entryEpoch: number
  sync: boolean
  ops: StoreOp[]
  gte: string
  lt: string
  json: any
  /** Bytes of the frame (type + payload). */
  size: number
  /** RESUME: the primary's newest batch as it resumed (0: not said, an earlier version). */
  upTo: number
}

function header (type: number, payloadLen: number): Buffer {
  const b = Buffer.allocUnsafe(5 + payloadLen)
  b.writeUInt32BE(1 + payloadLen, 0)
  b[4] = type
  return b
}

export function encodeJson (type: number, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value))
  const b = header(type, json.length)
  json.copy(b, 5)
  return b
}

function opsSize (ops: readonly StoreOp[]): number {
  let n = 4
  for (const op of ops) {
    n += 1 + 4 + Buffer.byteLength(op.key)
    if (op.type === 'put') n += 4 + op.value.length
  }
  return n
}

function writeOps (b: Buffer, at: number, ops: readonly StoreOp[]): number {
  b.writeUInt32BE(ops.length, at)
  at += 4
  for (const op of ops) {
    b[at] = op.type === 'put' ? 0 : 1
    const klen = b.write(op.key, at + 5)
    b.writeUInt32BE(klen, at + 1)
    at += 5 + klen
    if (op.type === 'put') {
      b.writeUInt32BE(op.value.length, at)
      op.value.copy(b, at + 4)
      at += 4 + op.value.length
    }
  }
  return at
}

/** BATCH or SNAP_DATA (seq/sync unused for SNAP_DATA). */
export function encodeBatch (epoch: number, seq: number, sync: boolean, ops: readonly StoreOp[]): Buffer {
  const b = header(T_BATCH, 4 + 6 + 1 + opsSize(ops))
  b.writeUInt32BE(epoch, 5)
  b.writeUIntBE(seq, 9, 6)
  b[15] = sync ? 1 : 0
  writeOps(b, 16, ops)
  return b
}

export function encodeSnapData (epoch: number, ops: readonly StoreOp[]): Buffer {
  const b = header(T_SNAP_DATA, 4 + opsSize(ops))
  b.writeUInt32BE(epoch, 5)
  writeOps(b, 9, ops)
  return b
}

export function encodeSnapEnd (epoch: number, seq: number, entryEpoch: number): Buffer {
  const b = header(T_SNAP_END, 14)
  b.writeUInt32BE(epoch, 5)
  b.writeUIntBE(seq, 9, 6)
  b.writeUInt32BE(entryEpoch, 15)
  return b
}

/** SNAP_BEGIN, RESUME or ACK. */
export function encodeMark (type: number, epoch: number, seq: number): Buffer {
  const b = header(type, 10)
  b.writeUInt32BE(epoch, 5)
  b.writeUIntBE(seq, 9, 6)
  return b
}

/**
 * RESUME from batch `seq`; `upTo` is the primary's newest batch: a standby resuming from a lower
 * bound holds nothing of this primary's beyond it, so its position is exact again once it applied
 * `upTo`. (An earlier version sends the mark alone.)
 */
export function encodeResume (epoch: number, seq: number, upTo: number): Buffer {
  const b = header(T_RESUME, 16)
  b.writeUInt32BE(epoch, 5)
  b.writeUIntBE(seq, 9, 6)
  b.writeUIntBE(upTo, 15, 6)
  return b
}

export function encodeClear (epoch: number, seq: number, gte: string, lt: string): Buffer {
  const g = Buffer.from(gte)
  const l = Buffer.from(lt)
  const b = header(T_CLEAR, 10 + 8 + g.length + l.length)
  b.writeUInt32BE(epoch, 5)
  b.writeUIntBE(seq, 9, 6)
  b.writeUInt32BE(g.length, 15)
  g.copy(b, 19)
  b.writeUInt32BE(l.length, 19 + g.length)
  l.copy(b, 23 + g.length)
  return b
}

function readOps (b: Buffer, at: number, copy: boolean): StoreOp[] {
  const n = b.readUInt32BE(at)
  at += 4
  const ops: StoreOp[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const kind = b[at]
    const klen = b.readUInt32BE(at + 1)
    const key = b.toString('utf8', at + 5, at + 5 + klen)
    at += 5 + klen
    if (kind === 0) {
      const vlen = b.readUInt32BE(at)
      // a copy unless the caller keeps the frame itself: a slice would pin the socket's chunk
      const value = b.subarray(at + 4, at + 4 + vlen)
      ops[i] = { type: 'put', key, value: copy ? Buffer.from(value) : value }
      at += 4 + vlen
    } else {
      ops[i] = { type: 'del', key }
    }
  }
  return ops
}

/**
 * Decodes one frame's type + payload. Throws on a malformed frame. `copy` false: put values are
 * slices of `b` (the caller owns `b`, e.g. a copy it keeps).
 */
export function decodeFrame (b: Buffer, copy = true): Frame {
  const f: Frame = { type: b[0] as number, epoch: 0, seq: 0, entryEpoch: 0, sync: false, ops: [], gte: '', lt: '', json: null, size: b.length, upTo: 0 }
  switch (f.type) {
    case T_HELLO:
    case T_REJECT:
      f.json = JSON.parse(b.toString('utf8', 1))
      break
    case T_SNAP_BEGIN:
    case T_RESUME:
    case T_ACK:
      f.epoch = b.readUInt32BE(1)
      f.seq = b.readUIntBE(5, 6)
      if (f.type === T_RESUME && b.length >= 17) f.upTo = b.readUIntBE(11, 6)
      break
    case T_SNAP_END:
      f.epoch = b.readUInt32BE(1)
      f.seq = b.readUIntBE(5, 6)
      f.entryEpoch = b.readUInt32BE(11)
      break
    case T_SNAP_DATA:
      f.epoch = b.readUInt32BE(1)
      f.ops = readOps(b, 5, copy)
      break
    case T_BATCH:
      f.epoch = b.readUInt32BE(1)
      f.seq = b.readUIntBE(5, 6)
      f.sync = b[11] === 1
      f.ops = readOps(b, 12, copy)
      break
    case T_CLEAR: {
      f.epoch = b.readUInt32BE(1)
      f.seq = b.readUIntBE(5, 6)
      const gl = b.readUInt32BE(11)
      f.gte = b.toString('utf8', 15, 15 + gl)
      const ll = b.readUInt32BE(15 + gl)
      f.lt = b.toString('utf8', 19 + gl, 19 + gl + ll)
      break
    }
    default:
      throw new Error(`unknown replication frame type ${f.type}`)
  }
  return f
}

/** Splits a byte stream into frames (type + payload); chunks are joined once per frame, not per chunk. */
export class FrameReader {
  private readonly head = Buffer.alloc(4)
  private headHave = 0
  /** The frame being filled (type + payload), null between frames. */
  private frame: Buffer | null = null
  private filled = 0
  private readonly onFrame: (frame: Buffer) => void
  constructor (onFrame: (frame: Buffer) => void) { this.onFrame = onFrame }

  /**
   * Each frame is copied out of the chunks into a buffer of its own, exactly its size: nothing
   * keeps a chunk alive (the caller may reuse it at once) and a frame the tail keeps pins only
   * itself. One copy per byte, rather than socket chunk + concatenation + a trimmed copy: big
   * allocations are what drive V8's full collections on a busy standby.
   */
  push (chunk: Buffer): void {
    let off = 0
    while (off < chunk.length) {
      if (this.frame === null) {
        const n = Math.min(4 - this.headHave, chunk.length - off)
        chunk.copy(this.head, this.headHave, off, off + n)
        this.headHave += n
        off += n
        if (this.headHave < 4) return
        this.headHave = 0
        const len = this.head.readUInt32BE(0)
        if (len < 1 || len > MAX_FRAME) throw new Error(`bad replication frame length ${len}`)
        this.frame = Buffer.allocUnsafe(len)
        this.filled = 0
      }
      const f = this.frame
      const n = Math.min(f.length - this.filled, chunk.length - off)
      chunk.copy(f, this.filled, off, off + n)
      this.filled += n
      off += n
      if (this.filled === f.length) {
        this.frame = null
        this.onFrame(f)
      }
    }
  }
}

/** Length prefix of a frame kept as type + payload (a tail entry). */
export function frameLength (body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(body.length, 0)
  return b
}

/**
 * The key under which a node keeps its replication position in its own LevelDB: [u32 entry
 * epoch][u48 seq][u8 flags]. Not part of a snapshot (each node writes its own). While a node runs
 * it is written in the same atomic batch as the data, but only in the first batch after the node
 * (re)started or changed role and then after every POS_EVERY_BYTES of batches: so it is a lower
 * bound of what the store holds (flags 0). A key written in every batch would make every LevelDB
 * table overlap every other one (no trivial moves: compactions rewrite everything). A clean stop
 * writes the exact position (flags POS_EXACT). A 10-byte value (the first format, written with
 * every batch) is exact.
 */
export const POS_KEY = 'p/replication'
export const POS_EXACT = 1
/** A running node rewrites its position after this many bytes of batches (a quarter of the default tail). */
export const POS_EVERY_BYTES = 8 * 1024 * 1024

export interface Position { epoch: number, seq: number, exact: boolean }

export function encodePos (epoch: number, seq: number, exact = false): Buffer {
  const b = Buffer.allocUnsafe(11)
  b.writeUInt32BE(epoch, 0)
  b.writeUIntBE(seq, 4, 6)
  b[10] = exact ? POS_EXACT : 0
  return b
}

export function decodePos (b: Buffer | undefined): Position | null {
  if (b === undefined || (b.length !== 10 && b.length !== 11)) return null
  return { epoch: b.readUInt32BE(0), seq: b.readUIntBE(4, 6), exact: b.length === 10 || (b[10]! & POS_EXACT) !== 0 }
}
