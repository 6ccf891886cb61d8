// Compression layers for an NSQ connection after a snappy or deflate upgrade (tcp-protocol.md
// §10.3), shared by nsqd and the client's Node transport. Outgoing: a Duplex whose writes are
// compressed into the layer below (a socket or a TLS socket); every write batch ends a flush unit
// (a snappy chunk boundary, a deflate sync flush), so the peer can decode each batch at once.
// Incoming: an Inflow that turns compressed bytes back into the plain stream.

import { Duplex } from 'node:stream'
import zlib from 'node:zlib'
import { SnappyFrameEncoder, SnappyFrameDecoder } from './wire/snappy-stream.js'

export type Compression = 'snappy' | 'deflate'

const HIGH_WATER_MARK = 256 * 1024

type Callback = (err?: Error | null) => void

/** Writes compressed bytes into `under`. Reading from it yields nothing (reads go through an Inflow). */
export class CompressedWriter extends Duplex {
  readonly kind: Compression
  private readonly under: Duplex
  private readonly snappy: SnappyFrameEncoder | null = null
  private readonly deflate: zlib.DeflateRaw | null = null
  private readonly scratch: Buffer[] = []

  constructor (under: Duplex, kind: Compression, deflateLevel = 6) {
    super({ writableHighWaterMark: HIGH_WATER_MARK, allowHalfOpen: true, decodeStrings: true })
    this.kind = kind
    this.under = under
    if (kind === 'snappy') {
      this.snappy = new SnappyFrameEncoder()
    } else {
      const z = zlib.createDeflateRaw({ level: deflateLevel })
      this.deflate = z
      z.on('data', (d: Buffer) => {
        if (!under.write(d)) {
          z.pause()
          under.once('drain', () => { z.resume() })
        }
      })
      z.on('error', (err) => { this.destroy(err) })
    }
  }

  override _read (): void {}

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    this.scratch.length = 0
    this.scratch.push(chunk)
    this.send(this.scratch, cb)
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, cb: Callback): void {
    const bufs = this.scratch
    bufs.length = 0
    for (let i = 0; i < chunks.length; i++) bufs.push((chunks[i] as { chunk: Buffer }).chunk)
    this.send(bufs, cb)
  }

  private send (bufs: Buffer[], cb: Callback): void {
    const z = this.deflate
    if (z !== null) {
      for (let i = 0; i < bufs.length; i++) z.write(bufs[i] as Buffer)
      bufs.length = 0
      z.flush(zlib.constants.Z_SYNC_FLUSH, () => { cb() })
      return
    }
    const out: Buffer[] = []
    ;(this.snappy as SnappyFrameEncoder).encode(bufs, out)
    bufs.length = 0
    const under = this.under
    let ok = true
    under.cork()
    for (let i = 0; i < out.length; i++) ok = under.write(out[i])
    under.uncork()
    if (ok) cb()
    else under.once('drain', () => { cb() })
  }

  override _final (cb: Callback): void {
    const z = this.deflate
    if (z === null) {
      this.under.end()
      cb()
      return
    }
    z.once('end', () => { this.under.end(); cb() })
    z.end()
  }

  override _destroy (err: Error | null, cb: Callback): void {
    if (this.deflate !== null) this.deflate.destroy()
    this.under.destroy()
    cb(err)
  }
}

/** Incoming side of a compressed connection. */
export interface Inflow {
  push (chunk: Buffer): void
  /**
   * The compressed input has ended: `onEnd` runs once every plain byte it held has gone to
   * `onData` (at once for snappy, after the decompressor catches up for deflate); never after a
   * stream error or destroy().
   */
  end (onEnd: () => void): void
  destroy (): void
}

/**
 * Decompresses what `push()` is given and hands plain bytes to `onData` in order; a corrupted
 * stream reports once through `onError` and ignores everything after it.
 */
export function createInflow (kind: Compression, onData: (data: Buffer) => void, onError: (err: Error) => void): Inflow {
  let failed = false
  const fail = (err: Error): void => {
    if (failed) return
    failed = true
    onError(err)
  }
  if (kind === 'snappy') {
    const d = new SnappyFrameDecoder(onData)
    return {
      push (chunk) {
        if (failed) return
        try { d.push(chunk) } catch (err) { fail(err as Error) }
      },
      end (onEnd) { if (!failed) onEnd() },
      destroy () { failed = true }
    }
  }
  const z = zlib.createInflateRaw({ finishFlush: zlib.constants.Z_SYNC_FLUSH })
  let ended = false
  z.on('data', (d: Buffer) => { if (!failed) onData(d) })
  z.on('error', (err) => { fail(new Error(`deflate: ${err.message}`)) })
  return {
    push (chunk) { if (!failed && !ended) z.write(chunk) },
    end (onEnd) {
      if (failed || ended) return
      ended = true
      // 'end' follows the last 'data'; a stream cut mid-block just stops there (sync flush, no error)
      z.once('end', () => { if (!failed) onEnd() })
      z.end()
    },
    destroy () { failed = true; z.destroy() }
  }
}
