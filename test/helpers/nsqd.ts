// Test helpers: an in-process nsqd on port 0 and a raw V2 wire connection that reads frames.

import net from 'node:net'
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import { NSQD } from '../../nsqd/nsqd.js'
import type { Options } from '../../nsqd/options.js'
import { createCapturingLogger } from '../../nsqd/logger.js'
import { FrameDecoder } from '../../client/wire/frame-decoder.js'
import { MAGIC_V2, FRAME_TYPE_RESPONSE, FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE } from '../../client/wire/frames.js'
import { decodeMessage, type DecodedMessage } from '../../client/wire/message.js'
import * as cmd from '../../client/wire/commands.js'

interface TapLike {
  teardown (fn: () => unknown): void
  passing? (): boolean
  comment? (...args: unknown[]): void
}

let seq = 0
/** A topic or channel name unique to this process and call. */
export function uniq (prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now() % 100000}_${++seq}`
}

export function tmpDir (t: TapLike): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsq-test-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export async function startNSQD (t: TapLike, options: Partial<Options> = {}): Promise<NSQD> {
  const logger = createCapturingLogger('debug')
  const nsqd = new NSQD({
    tcpAddress: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    httpsAddress: '127.0.0.1:0',
    dataPath: options.dataPath ?? tmpDir(t),
    queueScanIntervalMs: 20,
    logger,
    ...options
  })
  await nsqd.start()
  t.teardown(async () => {
    await nsqd.close()
    if (t.passing !== undefined && !t.passing() && process.env.NSQ_TEST_LOGS !== undefined) {
      process.stderr.write(logger.lines.join(''))
    }
  })
  return nsqd
}

export function hostPort (addr: string): { host: string, port: number } {
  const i = addr.lastIndexOf(':')
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) }
}

export interface Frame {
  type: number
  data: Buffer
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function until<T> (fn: () => T | Promise<T>, what = 'condition', timeoutMs = 5000, everyMs = 5): Promise<T> {
  const end = Date.now() + timeoutMs
  while (true) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/**
 * Frames received on a test connection, awaited one at a time with a deadline. Heartbeats are
 * skipped (answered by `onHeartbeat`, a no-op unless a subclass replies with NOP).
 */
export class FrameQueue {
  protected readonly frames: Frame[] = []
  private waiter: (() => void) | null = null
  closed = false

  protected received (frame: Frame): void {
    this.frames.push(frame)
    this.wake()
  }

  protected markClosed (): void {
    this.closed = true
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = null
    if (w !== null) w()
  }

  protected onHeartbeat (): void {}

  /** Next frame; skips heartbeats unless asked for. */
  async next (timeoutMs = 3000, skipHeartbeats = true): Promise<Frame> {
    const end = Date.now() + timeoutMs
    while (true) {
      const f = this.frames.shift()
      if (f !== undefined) {
        if (skipHeartbeats && f.type === FRAME_TYPE_RESPONSE && f.data.toString() === '_heartbeat_') { this.onHeartbeat(); continue }
        return f
      }
      if (this.closed) throw new Error('connection closed')
      const left = end - Date.now()
      if (left <= 0) throw new Error('timed out waiting for a frame')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiter = null; resolve() }, left)
        this.waiter = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  async response (): Promise<string> {
    const f = await this.next()
    if (f.type !== FRAME_TYPE_RESPONSE) throw new Error(`expected a response, got type ${f.type}: ${f.data.toString()}`)
    return f.data.toString()
  }

  async error (): Promise<string> {
    const f = await this.next()
    if (f.type !== FRAME_TYPE_ERROR) throw new Error(`expected an error, got type ${f.type}: ${f.data.toString()}`)
    return f.data.toString()
  }

  async message (timeoutMs = 3000): Promise<DecodedMessage> {
    const f = await this.next(timeoutMs)
    if (f.type !== FRAME_TYPE_MESSAGE) throw new Error(`expected a message, got type ${f.type}: ${f.data.toString()}`)
    return decodeMessage(f.data)
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed (timeoutMs = 3000): Promise<void> {
    await until(() => this.closed, 'connection close', timeoutMs)
  }

  /** True if no frame arrives within `ms` (for asserting silence). */
  async quiet (ms: number): Promise<boolean> {
    try {
      await this.next(ms)
      return false
    } catch (err) {
      return (err as Error).message.startsWith('timed out')
    }
  }
}

/** A raw connection speaking the V2 wire protocol through our client-side codec. */
export class RawConn extends FrameQueue {
  readonly socket: net.Socket
  private readonly decoder: FrameDecoder

  private constructor (socket: net.Socket) {
    super()
    this.socket = socket
    this.decoder = new FrameDecoder((type, data) => { this.received({ type, data: Buffer.from(data) }) })
    socket.on('data', (c) => { this.decoder.push(c) })
    socket.on('close', () => { this.markClosed() })
    socket.on('error', () => {})
  }

  static async connect (t: TapLike, addr: string, magic: Buffer | null = MAGIC_V2): Promise<RawConn> {
    const { host, port } = hostPort(addr)
    const socket = net.connect(port, host)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => { resolve() })
      socket.once('error', reject)
    })
    const c = new RawConn(socket)
    t.teardown(() => { socket.destroy() })
    if (magic !== null) socket.write(magic)
    return c
  }

  write (b: Buffer | string): void {
    this.socket.write(b)
  }

  async identify (data: Record<string, unknown> = {}): Promise<string> {
    this.write(cmd.identify({ feature_negotiation: true, ...data }))
    return await this.response()
  }

  async subscribe (topic: string, channel: string, rdy = 0): Promise<void> {
    this.write(cmd.sub(topic, channel))
    const r = await this.response()
    if (r !== 'OK') throw new Error(`SUB answered ${r}`)
    if (rdy > 0) this.write(cmd.rdy(rdy))
  }

  async publish (topic: string, body: string | Buffer): Promise<string> {
    this.write(cmd.pub(topic, body))
    const f = await this.next()
    return f.data.toString()
  }
}
